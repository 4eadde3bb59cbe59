"""Resource use of a running process, read from /proc."""
import collections
import os
import threading
import time

Sample = collections.namedtuple("Sample", "rss peak_rss cpu_seconds threads")
_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def rss_bytes(pid):
    """Resident set size now, in bytes."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def peak_rss_bytes(pid):
    """The highest resident set size so far (VmHWM), in bytes."""
    return int(_status(pid)["VmHWM"].split()[0]) * 1024


def cpu_seconds(pid, children=False):
    """User + system CPU time used so far (with reaped children's when `children`)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3); utime, stime, cutime, cstime are fields 14-17.
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / _TICKS


def sample(pid):
    st = _status(pid)
    return Sample(rss_bytes(pid), int(st["VmHWM"].split()[0]) * 1024, cpu_seconds(pid),
                  int(st["Threads"]))


class Sampler:
    """Samples a process every `interval` seconds on a thread; `max_rss` is the highest
    resident set size seen, `samples` every sample. Use as a context manager or stop()."""

    def __init__(self, pid, interval=0.1):
        self.pid = pid
        self.interval = interval
        self.samples = []
        self.max_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                s = sample(self.pid)
            except (OSError, KeyError, ValueError):
                return  # the process is gone
            self.samples.append((time.monotonic(), s))
            self.max_rss = max(self.max_rss, s.rss)
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
