"""A child process with a log file, bounded waits and guaranteed cleanup.

stdout and stderr go to `log` (a file path; default: none kept). With capture=True stdout
and stderr are also read by threads: stdout lines are parsed as JSON when they are JSON
(else {"text": line}) and kept with their arrival time for `wait_for`; stderr lines are kept
in `stderr`."""
import json
import os
import queue
import signal
import subprocess
import threading
import time

from . import cleanup


class Process:
    def __init__(self, argv, log=None, capture=True, env=None, name=None):
        self.argv = [str(a) for a in argv]
        self.name = name or os.path.basename(self.argv[0])
        self.log = log
        self.started = time.time()
        self.lines = queue.Queue()
        self.seen = []
        self.stderr = []
        self._readers = []
        self._log_lock = threading.Lock()
        self._log_file = open(log, "a", buffering=1) if log else None
        env = None if env is None else {**os.environ, **env}
        if capture:
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True, env=env,
                                         errors="replace")
            self._readers = [threading.Thread(target=self._read_out, daemon=True),
                             threading.Thread(target=self._read_err, daemon=True)]
            for r in self._readers:
                r.start()
        else:
            out = self._log_file or subprocess.DEVNULL
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                         env=env)
        self._token = cleanup.register(f"process {self.name} ({self.proc.pid})", self.close)

    @property
    def pid(self):
        return self.proc.pid

    def _logged(self, line):
        if self._log_file:
            with self._log_lock:
                self._log_file.write(line if line.endswith("\n") else line + "\n")

    def _read_out(self):
        for line in self.proc.stdout:
            self._logged(line)
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                obj = {"text": line}
            if not isinstance(obj, dict):
                obj = {"value": obj}
            self.lines.put((time.time(), obj))

    def _read_err(self):
        for line in self.proc.stderr:
            self._logged(line)
            self.stderr.append(line)

    def wait_for(self, predicate, timeout):
        """(arrival time, object) of the first stdout line matching predicate (looking at
        lines already seen first), or None when none arrives within `timeout` seconds."""
        for t, obj in self.seen:
            if predicate(obj):
                return t, obj
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            try:
                t, obj = self.lines.get(timeout=max(left, 0)) if left > 0 else \
                    self.lines.get_nowait()
            except queue.Empty:
                return None
            self.seen.append((t, obj))
            if predicate(obj):
                return t, obj

    def running(self):
        return self.proc.poll() is None

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def pause(self):
        """SIGSTOP: the process freezes (its sockets stay open, nothing answers)."""
        self.signal(signal.SIGSTOP)

    def resume(self):
        self.signal(signal.SIGCONT)

    def wait(self, timeout):
        """The exit code, or None (after killing it) when it does not exit within timeout."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL when it has not exited after `timeout` seconds. Returns the
        exit code of a clean exit, None when it had to be killed."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.resume()  # a stopped process cannot handle SIGTERM
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self):
        """SIGKILL (kill -9) and reap."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def close(self):
        """Kills it if still running, joins the readers, closes the log."""
        cleanup.unregister(self._token)
        self.kill()
        for r in self._readers:
            r.join(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        if self._log_file:
            self._log_file.close()
            self._log_file = None
