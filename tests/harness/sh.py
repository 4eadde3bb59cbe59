"""Bounded subprocess calls: every command the harness runs has a deadline."""
import subprocess

DEFAULT_TIMEOUT = 20.0


class CommandFailed(RuntimeError):
    pass


def run(argv, check=True, timeout=DEFAULT_TIMEOUT, input=None):
    """Runs argv to completion within `timeout` seconds; returns the CompletedProcess (text).

    Raises CommandFailed with the command and its stderr when `check` and it exits non-zero,
    and subprocess.TimeoutExpired (after killing it) when it overruns."""
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, input=input)
    if check and r.returncode != 0:
        raise CommandFailed(f"{' '.join(map(str, argv))} exited {r.returncode}: "
                            f"{r.stderr.strip() or r.stdout.strip()}")
    return r
