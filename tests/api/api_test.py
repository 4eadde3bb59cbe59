#!/usr/bin/python3
"""The daemon's HTTP API against its contract with front ends: every endpoint, refusals of bad
JSON and of foreign Host/Origin headers, long-poll wake-up, and event catch-up after a
reconnect (long-poll and WebSocket). Runs a real `lanspread serve` on a host of its own
(loopback only, so its mDNS never leaves the machine).
Usage: api_test.py --tool <lanspread binary>"""
import json
import os
import sys
import threading
import time
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402


class Api(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = cls.class_work()
        host = cls.class_lan().host("api", links=[])
        harness.make_game(cls.work.sub("apitest", "games"), "openarena", "20240115", {})
        cls.d = harness.Daemon(host, cls.work, name="apitest", api_port=0, args=["--port", "0"])

    def request(self, method, path, body=None, headers=None, timeout=30):
        r = self.d.api.request(method, path, body=body, headers=headers, timeout=timeout)
        return r.status, r.body

    def test_status_games_peers(self):
        """Guards against status, games or peers answering other fields or values than the
        documented ones (front ends read them as they are)."""
        st, status = self.request("GET", "/api/v1/status")
        self.assertEqual(st, 200)
        self.assertEqual(len(status["peer_id"]), 64)
        self.assertEqual(status["name"], "apitest")
        self.assertEqual(status["games_dir"], self.d.games)
        self.assertGreater(status["quic_port"], 0)
        deadline = time.time() + 10
        while time.time() < deadline:
            st, games = self.request("GET", "/api/v1/games")
            oa = [g for g in games["games"] if g["id"] == "openarena"]
            if oa and oa[0]["downloaded"]:
                break
            time.sleep(0.1)
        self.assertEqual(oa[0]["local_version"], "20240115")
        self.assertEqual(oa[0]["name"], "OpenArena")
        self.assertIn("xonotic", [g["id"] for g in games["games"]])  # catalog-only titles too
        st, peers = self.request("GET", "/api/v1/peers")
        self.assertEqual((st, peers), (200, {"peers": []}))

    def test_refusals(self):
        """Guards against the API serving foreign Host/Origin headers (DNS rebinding, other
        web pages) or accepting bad JSON, unknown paths and wrong methods silently."""
        st, body = self.request("GET", "/api/v1/status", headers={"Host": "evil.example:80"})
        self.assertEqual((st, body["error"]["code"]), (403, "bad_host"))
        st, body = self.request("GET", "/api/v1/status",
                                  headers={"Origin": "http://evil.example"})
        self.assertEqual((st, body["error"]["code"]), (403, "bad_origin"))
        st, body = self.request("PUT", "/api/v1/settings/games-dir", body="{not json")
        self.assertEqual((st, body["error"]["code"]), (400, "bad_request"))
        st, body = self.request("PUT", "/api/v1/settings/games-dir",
                                  body=json.dumps({"path": "/does/not/exist"}))
        self.assertEqual((st, body["error"]["code"]), (400, "games_dir_invalid"))
        self.assertIn("/does/not/exist", body["error"]["message"])
        st, body = self.request("GET", "/api/v1/nothing")
        self.assertEqual(st, 404)
        st, body = self.request("POST", "/api/v1/status")
        self.assertEqual(st, 405)

    def test_events_long_poll_and_catch_up(self):
        """Guards against a long-poll that does not wake on a new event, and against a
        reconnecting client missing the events it was away for."""
        st, first = self.request("GET", "/api/v1/events?since=0&timeout_ms=100")
        self.assertEqual(st, 200)
        self.assertTrue(first["events"])
        seqs = [e["seq"] for e in first["events"]]
        self.assertEqual(seqs, sorted(seqs))
        nxt = first["next"]
        # A long-poll waiting for the next event wakes when the games dir changes.
        result = {}

        def poll():
            result["r"] = self.request("GET", f"/api/v1/events?since={nxt}&timeout_ms=10000")
        t = threading.Thread(target=poll)
        t.start()
        time.sleep(0.3)
        other = self.work.sub("other")
        harness.make_game(other, "xonotic", "0.8.6", {})
        st, body = self.request("PUT", "/api/v1/settings/games-dir",
                                body=json.dumps({"path": other}))
        self.assertEqual(st, 200)
        t.join(15)
        st, polled = result["r"]
        self.assertTrue(polled["events"])
        self.assertGreaterEqual(polled["events"][0]["seq"], nxt)
        # Reconnecting with an old cursor replays what was missed, in order.
        st, again = self.request("GET", f"/api/v1/events?since={nxt}&timeout_ms=100")
        self.assertEqual(again["events"][0]["seq"], nxt)
        types = [e["type"] for e in again["events"]]
        self.assertIn("games_dir_changed", types)
        # Put the games dir back for other tests.
        self.request("PUT", "/api/v1/settings/games-dir",
                     body=json.dumps({"path": self.d.games}))

    def wait_game(self, gid, predicate, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st, games = self.request("GET", "/api/v1/games")
            g = next((g for g in games["games"] if g["id"] == gid), None)
            if g is not None and predicate(g):
                return g
            time.sleep(0.1)
        self.fail(f"{gid} never reached the expected state; last: {g}")

    def test_install_uninstall_remove(self):
        """Guards against install, uninstall and remove running when they must be refused,
        or leaving the game tree other than the action says."""
        root = os.path.join(self.d.games, "teeworlds")
        os.makedirs(root)
        with zipfile.ZipFile(os.path.join(root, "teeworlds.zip"), "w") as z:
            z.writestr("teeworlds/teeworlds", "#!/bin/sh\n")
            z.writestr("teeworlds/data/maps/dm1.map", "map")
        with open(os.path.join(root, "version.ini"), "w") as f:
            f.write("0.7.5\n")
        self.wait_game("teeworlds", lambda g: g["downloaded"])
        st, body = self.request("POST", "/api/v1/games/teeworlds/uninstall")
        self.assertEqual((st, body["error"]["code"]), (409, "refused"))
        st, body = self.request("POST", "/api/v1/games/teeworlds/install")
        self.assertEqual(st, 202, body)
        g = self.wait_game("teeworlds", lambda g: g["installed"] and g["active_operation"] is None)
        self.assertTrue(os.path.isfile(
            os.path.join(root, "local", "teeworlds", "data", "maps", "dm1.map")))
        st, body = self.request("POST", "/api/v1/games/teeworlds/remove")
        self.assertEqual(st, 409)
        self.assertIn("uninstall first", body["error"]["message"])
        st, body = self.request("POST", "/api/v1/games/teeworlds/uninstall")
        self.assertEqual(st, 202, body)
        self.wait_game("teeworlds", lambda g: not g["installed"] and g["active_operation"] is None)
        self.assertTrue(os.path.isfile(os.path.join(root, "teeworlds.zip")))
        st, body = self.request("POST", "/api/v1/games/teeworlds/remove")
        self.assertEqual(st, 202, body)
        self.wait_game("teeworlds", lambda g: not g["downloaded"])
        self.assertFalse(os.path.exists(root))
        st, body = self.request("POST", "/api/v1/games/nosuchgame/install")
        self.assertEqual(st, 404)
        st, body = self.request("GET", "/api/v1/games/teeworlds/install")
        self.assertEqual(st, 405)
        st, events = self.request("GET", "/api/v1/events?since=0&timeout_ms=100")
        types = [e["type"] for e in events["events"]]
        for t in ("operation_begin", "operation_finished", "active_operations"):
            self.assertIn(t, types)

    def test_websocket_replays_from_a_cursor(self):
        """Guards against the WebSocket stream not replaying from the client's cursor, and
        against a client leaving hurting the daemon."""
        s = self.d.api.websocket("/api/v1/events/ws?since=1")
        first = s.read_json()
        self.assertEqual(first["seq"], 1)
        second = s.read_json()
        self.assertEqual(second["seq"], 2)
        s.close()
        st, body = self.request("GET", "/api/v1/status")
        self.assertEqual(st, 200)  # the daemon is unharmed by the client leaving


if __name__ == "__main__":
    harness.main()
