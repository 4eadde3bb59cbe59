"""Everything a test creates outside its own memory is undone when it exits, however it exits.

- Objects that own such things (namespaces, processes, mounts) register an undo function;
  `undo_all()` runs them newest first. It runs at normal exit (atexit), from the test case's
  cleanups, and from the SIGTERM/SIGHUP handler, which then exits the process.
- A reaper process (reaper.py), started with the first namespace, covers SIGKILL: when the
  test process's pipe to it closes, it kills what runs in the test's namespaces and deletes
  them.
- Namespaces are named <PREFIX><pid>-<name>; `sweep_stale()` deletes those of dead pids
  (left by a run that died before its reaper could act).
"""
import atexit
import os
import re
import signal
import sys
import threading

from .sh import run

PREFIX = "lsh"
PYTHON = "/usr/bin/python3"
_HERE = os.path.dirname(os.path.abspath(__file__))

_lock = threading.RLock()
_undo = {}  # token -> (description, function), run newest first
_next_token = 0
_abort_hooks = []  # called before undo_all() when the process is being terminated
_reaper = None
_installed = False


def ns_name(name):
    """The namespace name for `name` owned by this process."""
    return f"{PREFIX}{os.getpid()}-{name}"


def list_namespaces():
    out = run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.split()]


def delete_namespace(ns):
    """Kills every process inside `ns`, then deletes it. Never raises."""
    try:
        pids = run(["ip", "netns", "pids", ns], check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        run(["ip", "netns", "delete", ns], check=False)
    except Exception as e:  # noqa: BLE001 -- cleanup goes on with the next one
        sys.stderr.write(f"harness: could not delete namespace {ns}: {e}\n")


def delete_namespaces_of(prefix, pid):
    mine = f"{prefix}{pid}-"
    # The switch namespace (holding the bridges) goes last: hosts first.
    names = [n for n in list_namespaces() if n.startswith(mine)]
    for ns in sorted(names, key=lambda n: n.endswith("-switch")):
        delete_namespace(ns)


def sweep_stale():
    """Deletes namespaces left by test processes that no longer exist."""
    for ns in list_namespaces():
        m = re.match(rf"{PREFIX}(\d+)-", ns)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            delete_namespace(ns)


def register(description, function):
    """Registers an undo function; returns a token for `unregister`."""
    global _next_token
    install()
    with _lock:
        _next_token += 1
        _undo[_next_token] = (description, function)
        return _next_token


def unregister(token):
    with _lock:
        _undo.pop(token, None)


def mark():
    """A point in time for undo_since()."""
    with _lock:
        return _next_token


def undo_since(point):
    """Runs the undo functions registered after `point` (see mark()), newest first."""
    while True:
        with _lock:
            newer = [t for t in _undo if t > point]
            if not newer:
                return
            token = max(newer)
            description, function = _undo.pop(token)
        try:
            function()
        except Exception as e:  # noqa: BLE001 -- the others must still run
            sys.stderr.write(f"harness: cleanup of {description} failed: {e}\n")


def undo_all():
    """Runs every registered undo function, newest first; errors are reported, not raised."""
    undo_since(0)


def on_abort(hook):
    """`hook()` runs when the process is terminated by a signal, before the cleanup."""
    _abort_hooks.append(hook)


def _terminate(signum, _frame):
    sys.stderr.write(f"\nharness: {signal.Signals(signum).name} received: cleaning up\n")
    for hook in list(_abort_hooks):
        try:
            hook()
        except Exception as e:  # noqa: BLE001
            sys.stderr.write(f"harness: {e}\n")
    undo_all()
    sys.stderr.flush()
    os._exit(128 + signum)


def install():
    """Installs the exit and signal handlers once (from the main thread)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
        atexit.register(_close_reaper)  # atexit runs last-registered first: after undo_all
        atexit.register(undo_all)
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, _terminate)


def _close_reaper():
    global _reaper
    with _lock:
        if _reaper is not None:
            _reaper.close()  # the reaper wakes, finds nothing left and exits
            _reaper = None


def ensure_reaper():
    """Starts the reaper once; it cleans up if this process dies without doing it."""
    global _reaper
    with _lock:
        if _reaper is not None:
            return
        install()
        # Spawned, never waited for: it must outlive this process, in a session of its own so
        # a terminal's Ctrl-C or a process-group kill does not reach it.
        read_end, write_end = os.pipe()
        devnull = os.open(os.devnull, os.O_RDWR)
        try:
            os.posix_spawn(PYTHON, [PYTHON, os.path.join(_HERE, "reaper.py"), str(os.getpid()),
                                    PREFIX], os.environ,
                           file_actions=[(os.POSIX_SPAWN_DUP2, read_end, 0),
                                         (os.POSIX_SPAWN_DUP2, devnull, 1),
                                         (os.POSIX_SPAWN_DUP2, devnull, 2)],
                           setsid=True)
        finally:
            os.close(read_end)
            os.close(devnull)
        os.set_inheritable(write_end, False)
        _reaper = os.fdopen(write_end, "w", buffering=1)


def tell_reaper(line):
    ensure_reaper()
    with _lock:
        try:
            _reaper.write(line + "\n")
        except OSError:
            pass
