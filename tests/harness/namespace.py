"""Running code inside a network namespace from this process.

A network namespace is a property of a thread, and a socket belongs for life to the
namespace it was created in. So a socket for a host is created on a short-lived thread that
has joined the host's namespace (setns) and is then used from any thread."""
import ctypes
import os
import socket
import threading

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def in_namespace(ns, function, timeout=10.0):
    """Returns function() run on a fresh thread inside network namespace `ns`."""
    box = {}

    def body():
        try:
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into {ns}: {os.strerror(err)}")
            finally:
                os.close(fd)
            box["value"] = function()
        except BaseException as e:  # noqa: BLE001 -- handed to the caller
            box["error"] = e

    t = threading.Thread(target=body, name=f"netns:{ns}", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError(f"work inside namespace {ns} took longer than {timeout} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def ns_socket(ns, family=socket.AF_INET, type=socket.SOCK_STREAM, proto=0):
    """A socket that lives in network namespace `ns`."""
    return in_namespace(ns, lambda: socket.socket(family, type, proto))


def ns_connect(ns, address, timeout=10.0):
    """A TCP connection from inside `ns` to (host, port) as seen from inside `ns`."""
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    s = ns_socket(ns, family, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect(address)
        return s
    except BaseException:
        s.close()
        raise
