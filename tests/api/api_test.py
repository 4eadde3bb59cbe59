#!/usr/bin/python3
# Guards against the daemon's HTTP API breaking its contract with front ends: every endpoint,
# refusals of bad JSON and of foreign Host/Origin headers, long-poll wake-up, and event
# catch-up after a reconnect (long-poll and WebSocket). Runs a real `lanspread serve`.
# Usage: api_test.py <lanspread binary>
import base64
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zipfile

BIN = None


class Daemon:
    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="lanspread-api-")
        self.games = os.path.join(self.tmp.name, "games")
        os.makedirs(os.path.join(self.games, "openarena"))
        with open(os.path.join(self.games, "openarena", "version.ini"), "w") as f:
            f.write("20240115\n")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--games", self.games, "--state", os.path.join(self.tmp.name, "state"),
             "--port", "0", "--api", "127.0.0.1:0", "--name", "apitest"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.port = None
        deadline = time.time() + 20
        self.log = []
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.log.append(line)
            m = re.search(r"API on http://127\.0\.0\.1:(\d+)/", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.stop()
            raise RuntimeError("daemon did not start:\n" + "".join(self.log))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stdout:
            self.log.append(line)

    def request(self, method, path, body=None, headers=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, json.loads(data) if data else None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.tmp.cleanup()


def ws_connect(port, path):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert b" 101 " in head.split(b"\r\n")[0], head
    return s


def ws_read(s):
    def exact(n):
        b = b""
        while len(b) < n:
            chunk = s.recv(n - len(b))
            if not chunk:
                raise EOFError
            b += chunk
        return b
    payload = b""
    while True:  # a message may come in several frames (FIN bit on the last)
        b0, b1 = exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", exact(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", exact(8))[0]
        payload += exact(n)
        if b0 & 0x80:
            return json.loads(payload)


class Api(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def test_status_games_peers(self):
        st, status = self.d.request("GET", "/api/v1/status")
        self.assertEqual(st, 200)
        self.assertEqual(len(status["peer_id"]), 64)
        self.assertEqual(status["name"], "apitest")
        self.assertEqual(status["games_dir"], self.d.games)
        self.assertGreater(status["quic_port"], 0)
        deadline = time.time() + 10
        while time.time() < deadline:
            st, games = self.d.request("GET", "/api/v1/games")
            oa = [g for g in games["games"] if g["id"] == "openarena"]
            if oa and oa[0]["downloaded"]:
                break
            time.sleep(0.1)
        self.assertEqual(oa[0]["local_version"], "20240115")
        self.assertEqual(oa[0]["name"], "OpenArena")
        self.assertIn("xonotic", [g["id"] for g in games["games"]])  # catalog-only titles too
        st, peers = self.d.request("GET", "/api/v1/peers")
        self.assertEqual((st, peers), (200, {"peers": []}))

    def test_refusals(self):
        st, body = self.d.request("GET", "/api/v1/status", headers={"Host": "evil.example:80"})
        self.assertEqual((st, body["error"]["code"]), (403, "bad_host"))
        st, body = self.d.request("GET", "/api/v1/status",
                                  headers={"Origin": "http://evil.example"})
        self.assertEqual((st, body["error"]["code"]), (403, "bad_origin"))
        st, body = self.d.request("PUT", "/api/v1/settings/games-dir", body="{not json")
        self.assertEqual((st, body["error"]["code"]), (400, "bad_request"))
        st, body = self.d.request("PUT", "/api/v1/settings/games-dir",
                                  body=json.dumps({"path": "/does/not/exist"}))
        self.assertEqual((st, body["error"]["code"]), (400, "games_dir_invalid"))
        self.assertIn("/does/not/exist", body["error"]["message"])
        st, body = self.d.request("GET", "/api/v1/nothing")
        self.assertEqual(st, 404)
        st, body = self.d.request("POST", "/api/v1/status")
        self.assertEqual(st, 405)

    def test_events_long_poll_and_catch_up(self):
        st, first = self.d.request("GET", "/api/v1/events?since=0&timeout_ms=100")
        self.assertEqual(st, 200)
        self.assertTrue(first["events"])
        seqs = [e["seq"] for e in first["events"]]
        self.assertEqual(seqs, sorted(seqs))
        nxt = first["next"]
        # A long-poll waiting for the next event wakes when the games dir changes.
        result = {}

        def poll():
            result["r"] = self.d.request("GET", f"/api/v1/events?since={nxt}&timeout_ms=10000")
        t = threading.Thread(target=poll)
        t.start()
        time.sleep(0.3)
        other = os.path.join(self.d.tmp.name, "other")
        os.makedirs(os.path.join(other, "xonotic"))
        with open(os.path.join(other, "xonotic", "version.ini"), "w") as f:
            f.write("0.8.6\n")
        st, body = self.d.request("PUT", "/api/v1/settings/games-dir", body=json.dumps({"path": other}))
        self.assertEqual(st, 200)
        t.join(15)
        st, polled = result["r"]
        self.assertTrue(polled["events"])
        self.assertGreaterEqual(polled["events"][0]["seq"], nxt)
        # Reconnecting with an old cursor replays what was missed, in order.
        st, again = self.d.request("GET", f"/api/v1/events?since={nxt}&timeout_ms=100")
        self.assertEqual(again["events"][0]["seq"], nxt)
        types = [e["type"] for e in again["events"]]
        self.assertIn("games_dir_changed", types)
        # Put the games dir back for other tests.
        self.d.request("PUT", "/api/v1/settings/games-dir", body=json.dumps({"path": self.d.games}))

    def wait_game(self, gid, predicate, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st, games = self.d.request("GET", "/api/v1/games")
            g = next((g for g in games["games"] if g["id"] == gid), None)
            if g is not None and predicate(g):
                return g
            time.sleep(0.1)
        self.fail(f"{gid} never reached the expected state; last: {g}")

    def test_install_uninstall_remove(self):
        root = os.path.join(self.d.games, "teeworlds")
        os.makedirs(root)
        with zipfile.ZipFile(os.path.join(root, "teeworlds.zip"), "w") as z:
            z.writestr("teeworlds/teeworlds", "#!/bin/sh\n")
            z.writestr("teeworlds/data/maps/dm1.map", "map")
        with open(os.path.join(root, "version.ini"), "w") as f:
            f.write("0.7.5\n")
        self.wait_game("teeworlds", lambda g: g["downloaded"])
        st, body = self.d.request("POST", "/api/v1/games/teeworlds/uninstall")
        self.assertEqual((st, body["error"]["code"]), (409, "refused"))
        st, body = self.d.request("POST", "/api/v1/games/teeworlds/install")
        self.assertEqual(st, 202, body)
        g = self.wait_game("teeworlds", lambda g: g["installed"] and g["active_operation"] is None)
        self.assertTrue(os.path.isfile(os.path.join(root, "local", "teeworlds", "data", "maps", "dm1.map")))
        st, body = self.d.request("POST", "/api/v1/games/teeworlds/remove")
        self.assertEqual(st, 409)
        self.assertIn("uninstall first", body["error"]["message"])
        st, body = self.d.request("POST", "/api/v1/games/teeworlds/uninstall")
        self.assertEqual(st, 202, body)
        self.wait_game("teeworlds", lambda g: not g["installed"] and g["active_operation"] is None)
        self.assertTrue(os.path.isfile(os.path.join(root, "teeworlds.zip")))
        st, body = self.d.request("POST", "/api/v1/games/teeworlds/remove")
        self.assertEqual(st, 202, body)
        self.wait_game("teeworlds", lambda g: not g["downloaded"])
        self.assertFalse(os.path.exists(root))
        st, body = self.d.request("POST", "/api/v1/games/nosuchgame/install")
        self.assertEqual(st, 404)
        st, body = self.d.request("GET", "/api/v1/games/teeworlds/install")
        self.assertEqual(st, 405)
        st, events = self.d.request("GET", "/api/v1/events?since=0&timeout_ms=100")
        types = [e["type"] for e in events["events"]]
        for t in ("operation_begin", "operation_finished", "active_operations"):
            self.assertIn(t, types)

    def test_websocket_replays_from_a_cursor(self):
        s = ws_connect(self.d.port, "/api/v1/events/ws?since=1")
        first = ws_read(s)
        self.assertEqual(first["seq"], 1)
        second = ws_read(s)
        self.assertEqual(second["seq"], 2)
        s.close()
        st, body = self.d.request("GET", "/api/v1/status")
        self.assertEqual(st, 200)  # the daemon is unharmed by the client leaving


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
