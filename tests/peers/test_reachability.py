#!/usr/bin/python3
"""Daemons that keep finding each other: an interface that comes late or is renamed, a LAN
address on a bridge, container bridges left alone, peers that pause, die or come back, and
peers named by address where multicast does not pass.
Usage: test_reachability.py --tool <lanspread binary>"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from harness import measured  # noqa: E402

PEERS = "/api/v1/peers"
STATUS = "/api/v1/status"


def listed(daemon, other, state=None):
    """The entry of `other` in daemon's /api/v1/peers, or None."""
    body = daemon.api.try_json(PEERS)
    for p in (body or {}).get("peers", []):
        if p["id"] == other.peer_id and (state is None or p["state"] == state):
            return p
    return None


def available_from(daemon, other, game):
    body = daemon.api.try_json(f"/api/v1/games/{game}")
    return bool(body) and other.peer_id in body.get("latest_peers", [])


class Reachability(harness.TestCase):
    def wait_listed(self, daemon, other, timeout=30.0):
        got = harness.wait_until(lambda: listed(daemon, other), timeout)
        self.assertTrue(got, f"{daemon.name} never listed {other.name}; its peers: "
                        f"{daemon.api.try_json(PEERS)}")
        return got

    def wait_gone(self, daemon, other, timeout):
        gone = harness.wait_until(lambda: listed(daemon, other) is None, timeout)
        self.assertTrue(gone, f"{daemon.name} still lists {other.name}")

    def discovery(self, daemon):
        return daemon.api.json(STATUS)["discovery"]

    def test_a_late_interface_is_used_when_it_comes(self):
        """Guards against a daemon started before its network (no link, no address) never
        finding peers once the link comes up."""
        lan = self.lan()
        late, other = lan.host("late", links=[]), lan.host("other")
        l, o = self.serve(late), self.serve(other)
        self.assertEqual(self.discovery(l), {"state": "waiting_for_interface", "interfaces": []})
        plugged = time.monotonic()
        late.attach("br0")
        self.wait_listed(l, o)
        self.wait_listed(o, l)
        measured("peers listed after the late link came up", time.monotonic() - plugged)
        self.assertEqual(self.discovery(l), {"state": "running", "interfaces": ["eth0"]})

    def test_a_renamed_interface_keeps_working(self):
        """Guards against mDNS staying bound to an interface name that no longer exists, so
        peers are lost for good after a rename."""
        lan = self.lan()
        a, b = lan.host("a"), lan.host("b")
        da, db = self.serve(a), self.serve(b)
        self.wait_listed(da, db)
        a.rename("eth0", "lan0")
        self.assertTrue(da.api.wait_until(
            lambda s: s["discovery"]["interfaces"] == ["lan0"], 20, path=STATUS),
            f"status after the rename: {da.api.try_json(STATUS)}")
        self.wait_listed(da, db)
        self.wait_listed(db, da)

    def test_a_lan_address_on_a_bridge_is_used(self):
        """Guards against skipping every bridge: a machine whose LAN address sits on `br0`
        (a VM host's usual setup) would find nobody."""
        lan = self.lan()
        bridged, plain = lan.host("bridged", host_bridge="br0"), lan.host("plain")
        db, dp = self.serve(bridged), self.serve(plain)
        self.wait_listed(db, dp)
        self.wait_listed(dp, db)
        self.assertEqual(self.discovery(db)["interfaces"], ["br0"])

    def test_a_docker_bridge_is_skipped_unless_named(self):
        """Guards against advertising on container bridges (peers would get addresses they
        cannot reach), and against `--interface` being unable to opt one in."""
        lan = self.lan()
        dock, plain = lan.host("dock", host_bridge="docker0"), lan.host("plain")
        dd, dp = self.serve(dock), self.serve(plain)
        self.assertEqual(self.discovery(dd), {"state": "waiting_for_interface", "interfaces": []})
        dd.stop()
        dd.args = ["--interface", "docker0"]
        dd.start()
        self.assertEqual(self.discovery(dd)["interfaces"], ["docker0"])
        self.wait_listed(dp, dd)

    def test_a_paused_peer_is_unreachable_then_back(self):
        """Guards against a peer that stops answering being shown as fine, and against one
        that answers again staying away (or its games staying unavailable)."""
        lan = self.lan()
        seed, leech = lan.host("seed"), lan.host("leech")
        harness.make_game(self.work.sub("seed", "games"), "openarena", "1", {"data.pak": 4096})
        ds, dl = self.serve(seed), self.serve(leech)
        self.wait_listed(dl, ds)
        self.assertTrue(harness.wait_until(lambda: available_from(dl, ds, "openarena"), 30))
        ds.pause()
        paused = time.monotonic()
        try:
            self.assertTrue(harness.wait_until(lambda: listed(dl, ds, "unreachable"), 15),
                            "the paused peer was never shown as unreachable")
            # It leaves the list (10 s at most) and is probed while its record lives.
            self.wait_gone(dl, ds, 15)
            time.sleep(max(0.0, paused + 20 - time.monotonic()))
        finally:
            ds.resume()
        resumed = time.monotonic()
        back = harness.wait_until(
            lambda: listed(dl, ds, "reachable") and available_from(dl, ds, "openarena"), 5.0)
        measured("paused peer listed again after resuming", time.monotonic() - resumed)
        self.assertTrue(back, f"not back within 5 s of resuming: {dl.api.try_json(PEERS)}")

    def test_a_killed_peer_leaves_within_ten_seconds(self):
        """Guards against a crashed peer (no goodbye, its mDNS record still cached) staying
        listed, so downloads would be planned from it."""
        lan = self.lan()
        a, b = lan.host("a"), lan.host("b")
        da, db = self.serve(a), self.serve(b)
        self.wait_listed(da, db)
        db.kill()
        killed = time.monotonic()
        self.wait_gone(da, db, 10.0)
        measured("killed peer left the list after", time.monotonic() - killed)

    def test_peers_by_address_where_multicast_is_blocked(self):
        """Guards against two machines on a network that drops multicast never meeting:
        `--peer` on both sides must list them and carry a download."""
        lan = self.lan()
        seed = lan.host("seed", block_multicast=True)
        leech = lan.host("leech", block_multicast=True)
        harness.make_game(self.work.sub("seed", "games"), "openarena", "1",
                          {"data/a.pak": 2 * harness.CHUNK + 5, "b.txt": b"hello"})
        ds = self.serve(seed, args=["--peer", leech.ip()])
        dl = self.serve(leech, args=["--peer", f"{seed.ip()}:7979"])
        entry = self.wait_listed(dl, ds, 40)
        self.assertTrue(entry["manual"])
        self.wait_listed(ds, dl, 40)
        self.assertTrue(harness.wait_until(lambda: available_from(dl, ds, "openarena"), 30))
        events = dl.api.event_stream()
        self.assertEqual(dl.api.post("/api/v1/games/openarena/download").status, 202)
        end = events.of_type("operation_finished", "operation_failed", timeout=60,
                             kind="download")
        self.assertEqual(end["type"], "operation_finished", end)
        # The install that follows works in the game folder: compared once it has ended.
        end = events.of_type("operation_finished", "operation_failed", timeout=60,
                             kind="install")
        self.assertEqual(end["type"], "operation_finished", end)
        harness.assert_same_tree(os.path.join(ds.games, "openarena"),
                                 os.path.join(dl.games, "openarena"),
                                 ignore=(".lanspread*", "local"))

    def test_manual_peers_through_the_api_persist(self):
        """Guards against a peer added through the API being forgotten on restart, against
        DELETE not forgetting it, and against privileged ports being accepted."""
        lan = self.lan()
        a = lan.host("a", block_multicast=True)
        b = lan.host("b", block_multicast=True)
        da, db = self.serve(a), self.serve(b)
        for bad in (f"{b.ip()}:80", f"{b.ip()}:0", "not a host", ""):
            r = da.api.post(PEERS, {"address": bad})
            self.assertEqual(r.status, 400, f"{bad!r}: {r.text}")
        refused = json.loads(da.api.post(PEERS, {"address": f"{b.ip()}:80"}).text)["error"]
        self.assertEqual(refused["code"], "bad_address")
        self.assertIn("port 80", refused["message"])
        address = f"{b.ip()}:7979"
        r = da.api.post(PEERS, {"address": b.ip()})
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(json.loads(r.text)["address"], address)
        self.wait_listed(da, db)
        with open(os.path.join(da.state, "peers")) as f:
            stored = f.read()
        self.assertIn(address, stored)

        da.restart()
        self.wait_listed(da, db)
        manual = da.api.json(PEERS)["manual"]
        self.assertEqual([m["address"] for m in manual], [address])
        self.assertEqual(manual[0]["peer_id"], db.peer_id)

        r = da.api.delete(f"{PEERS}/{address}")
        self.assertEqual(r.status, 200, r.text)
        self.wait_gone(da, db, 10)
        self.assertEqual(da.api.delete(f"{PEERS}/{address}").status, 404)
        da.restart()
        self.assertEqual(da.api.json(PEERS)["manual"], [])
        self.assertIsNone(listed(da, db))


if __name__ == "__main__":
    harness.main()
