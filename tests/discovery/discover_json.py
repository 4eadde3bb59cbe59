"""`lanspread discover --json` on harness hosts: start it, match its event lines."""
import harness


def discover(host, peer_id, seconds=30, advertise=True, ttl=2, extra=()):
    """Starts `discover --json` on host, advertising as peer_id (named after its prefix)."""
    argv = [harness.tool(), "discover", "--json", "--seconds", str(seconds), "--ttl", str(ttl)]
    if advertise:
        argv += ["--advertise", "--id", peer_id, "--name", peer_id.split("-")[0]]
    return host.spawn(argv + list(extra))


def event_of(kind, peer_id):
    """Predicate for a `discover --json` event line: {"event": {"event": kind, "peer": ...}}."""
    def match(obj):
        ev = obj.get("event")
        return isinstance(ev, dict) and ev.get("event") == kind and ev["peer"]["id"] == peer_id
    return match
