"""Hosts in network namespaces joined by bridges, for discovery integration tests.

Every namespace is named lsdt<pid>-<name>, so tests running in parallel never meet, and a run
that was killed (CTest timeout) is swept by the next one. Nothing touches the host's own
network namespace.
"""
import atexit
import json
import os
import queue
import re
import signal
import subprocess
import threading
import time

PREFIX = "lsdt"


def _run(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, timeout=20)


def sweep_stale():
    """Deletes namespaces left by test processes that no longer exist."""
    out = _run("ip", "netns", "list", check=False).stdout
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.match(rf"{PREFIX}(\d+)-", name)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            _run("ip", "netns", "delete", name, check=False)


class Lan:
    """A switch namespace holding bridges, and hosts attached to them by veth pairs."""

    def __init__(self):
        sweep_stale()
        self.tag = f"{PREFIX}{os.getpid()}-"
        self.namespaces = []
        self.processes = []
        self.bridges = {}
        self.switch = self._namespace("sw")
        atexit.register(self.close)

    def _namespace(self, name):
        ns = self.tag + name
        _run("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        # Addresses usable at once: no duplicate address detection delay for IPv6.
        _run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
             "net.ipv6.conf.default.accept_dad=0")
        _run("ip", "-n", ns, "link", "set", "lo", "up")
        return ns

    def bridge(self, name):
        if name not in self.bridges:
            _run("ip", "-n", self.switch, "link", "add", name, "type", "bridge")
            # Forward multicast at once (no snooping, no STP listening delay).
            _run("ip", "-n", self.switch, "link", "set", name, "type", "bridge",
                 "mcast_snooping", "0", "stp_state", "0", "forward_delay", "0")
            _run("ip", "-n", self.switch, "link", "set", name, "up")
            self.bridges[name] = 0
        return name

    def host(self, name, links):
        """links: list of (bridge, "198.18.1.2/24"); interfaces are eth0, eth1, ..."""
        ns = self._namespace(name)
        for i, (br, cidr) in enumerate(links):
            self.attach(ns, f"eth{i}", br, cidr)
        return ns

    def attach(self, ns, ifname, br, cidr):
        """Plugs a new interface of host `ns` into bridge `br` (also while programs run)."""
        self.bridge(br)
        self.bridges[br] += 1
        port = f"{br}p{self.bridges[br]}"
        _run("ip", "link", "add", ifname, "netns", ns, "type", "veth", "peer", "name", port,
             "netns", self.switch)
        _run("ip", "-n", self.switch, "link", "set", port, "master", br)
        _run("ip", "-n", self.switch, "link", "set", port, "up")
        _run("ip", "-n", ns, "addr", "add", cidr, "dev", ifname)
        _run("ip", "-n", ns, "link", "set", ifname, "up")

    def detach(self, ns, ifname):
        _run("ip", "-n", ns, "link", "delete", ifname)

    def spawn(self, ns, argv):
        proc = Process(["ip", "netns", "exec", ns] + argv)
        self.processes.append(proc)
        return proc

    def close(self):
        for p in self.processes:
            p.close()
        self.processes = []
        for ns in reversed(self.namespaces):
            _run("ip", "netns", "delete", ns, check=False)
        self.namespaces = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Process:
    """A child whose stdout JSON lines are collected with the time they arrived."""

    def __init__(self, argv):
        self.started = time.time()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.lines = queue.Queue()
        self.seen = []
        self.stderr = []
        self.readers = [threading.Thread(target=self._read, daemon=True),
                        threading.Thread(target=self._read_err, daemon=True)]
        for r in self.readers:
            r.start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                obj = {"text": line}
            self.lines.put((time.time(), obj))

    def _read_err(self):
        for line in self.proc.stderr:
            self.stderr.append(line)

    def wait_for(self, predicate, timeout):
        """Returns (arrival time, object) of the first line matching, or None on timeout."""
        for t, obj in self.seen:
            if predicate(obj):
                return t, obj
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                return None
            try:
                t, obj = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            self.seen.append((t, obj))
            if predicate(obj):
                return t, obj

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def close(self):
        self.kill()
        for r in self.readers:
            r.join(timeout=5)
        self.proc.stdout.close()
        self.proc.stderr.close()


def event_of(kind, peer_id):
    """Predicate for a `discover --json` event line."""
    def match(obj):
        ev = obj.get("event")
        return isinstance(ev, dict) and ev.get("event") == kind and ev["peer"]["id"] == peer_id
    return match
