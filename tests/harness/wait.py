"""Polling with a deadline."""
import time


def wait_until(predicate, timeout, interval=0.1):
    """Calls predicate() until it returns a truthy value, which is returned; None when
    `timeout` seconds pass first. Lookup errors on half-built data count as "not yet"."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (KeyError, IndexError, TypeError, AttributeError):
            pass
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)
