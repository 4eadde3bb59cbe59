#!/usr/bin/python3
"""Cleans up after a test process that can no longer do it itself.

Started by the harness in a session of its own with a pipe from the test process on stdin.
The test process writes `mount PATH` lines for mounts it makes. When the pipe closes (the
test process exited, cleanly or killed with SIGKILL by a CTest timeout), every process inside
the test's namespaces is killed, the namespaces are deleted and the mounts are detached.
Usage: reaper.py PID PREFIX"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness.cleanup import delete_namespaces_of  # noqa: E402
from harness.sh import run  # noqa: E402


def main():
    pid, prefix = int(sys.argv[1]), sys.argv[2]
    mounts = []
    for line in sys.stdin:
        kind, _, arg = line.rstrip("\n").partition(" ")
        if kind == "mount":
            mounts.append(arg)
        elif kind == "unmount" and arg in mounts:
            mounts.remove(arg)
    delete_namespaces_of(prefix, pid)
    for m in reversed(mounts):
        try:
            run(["umount", "-l", m], check=False)
        except Exception:  # noqa: BLE001 -- best effort, nothing else can clean it
            pass


if __name__ == "__main__":
    main()
