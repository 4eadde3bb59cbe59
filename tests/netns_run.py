#!/usr/bin/python3
"""Runs a command inside a fresh network namespace that has only a loopback interface, so a
test that starts a real daemon (which announces itself over mDNS) never sends a packet
outside this machine. The namespace is deleted on every exit path.
Usage: netns_run.py COMMAND [ARGS...]"""
import os
import signal
import subprocess
import sys

name = f"lsrun{os.getpid()}"


def delete():
    subprocess.run(["ip", "netns", "delete", name], capture_output=True)


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        proc = subprocess.Popen(["ip", "netns", "exec", name] + sys.argv[1:])
        # Pass a CTest timeout's SIGTERM on, then clean up.
        signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
        return proc.wait()
    finally:
        delete()


if __name__ == "__main__":
    sys.exit(main())
