"""Many downloads at once, as at a LAN party: every daemon is asked for the same game in
the same instant and each one's end is awaited on its own event stream."""
import threading
import time

ENDS = ("operation_finished", "operation_failed", "operation_cancelled")


def download_all(daemons, game, timeout, while_waiting=None, poll=0.5):
    """POSTs a download of `game` to every daemon at once and waits for each download's end
    event (at most `timeout` seconds each). `while_waiting()`, if given, is called every
    `poll` seconds until all have ended. Returns (ends, took, streams): each daemon's end
    event (None if none came), the seconds from the first POST to it, and its event stream."""
    streams = [d.api.event_stream() for d in daemons]
    start = time.monotonic()
    for d in daemons:
        status = d.api.post(f"/api/v1/games/{game}/download").status
        if status != 202:
            raise AssertionError(f"{d.name}: download answered {status}, not 202")
    ends, took = [None] * len(daemons), [None] * len(daemons)

    def wait(i):
        ends[i] = streams[i].next(
            lambda e: e["type"] in ENDS and e["data"]["kind"] == "download", timeout)
        took[i] = time.monotonic() - start

    threads = [threading.Thread(target=wait, args=(i,)) for i in range(len(daemons))]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        if while_waiting:
            while_waiting(ends)
        time.sleep(poll)
    return ends, took, streams
