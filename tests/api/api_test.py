#!/usr/bin/python3
"""The daemon's HTTP API against its contract with front ends: every endpoint, refusals of bad
JSON and of foreign Host/Origin headers, long-poll wake-up, and event catch-up after a
reconnect (long-poll and WebSocket); and against the API being usable without its key (by
another process, another user, a web page through the browser's cookie) or being exhausted
by connections, WebSocket clients, big requests and messages, or running out of file
descriptors. Runs real `lanspread serve` daemons on hosts of their own (loopback only, so
their mDNS never leaves the machine).
Usage: api_test.py --tool <lanspread binary>"""
import base64
import json
import os
import re
import struct
import sys
import threading
import time
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402


def ws_open(daemon, path, headers=None):
    """Sends a WebSocket upgrade from the daemon's host; returns (socket, status, head)."""
    s = daemon.host.connect(("127.0.0.1", daemon.api.port))
    nonce = base64.b64encode(os.urandom(16)).decode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{daemon.api.port}\r\n"
               f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {nonce}\r\n"
               f"Sec-WebSocket-Version: 13\r\n{extra}\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)
        if not b:
            break
        head += b
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0
    return s, status, head


def ws_connect(daemon, path):
    s, status, head = ws_open(daemon, path, daemon.api.headers())
    assert status == 101, head
    return s


def ws_send_text(s, payload):
    """One masked text frame, as a client must send it."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x81])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def ws_read(s):
    """The next message as JSON, or {"type": "close", "code": N} for a close frame."""
    def exact(n):
        b = b""
        while len(b) < n:
            chunk = s.recv(n - len(b))
            if not chunk:
                raise EOFError
            b += chunk
        return b
    payload = b""
    while True:
        b0, b1 = exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", exact(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", exact(8))[0]
        payload += exact(n)
        if b0 & 0x0F == 0x8:
            return {"type": "close", "code": struct.unpack(">H", payload[:2])[0] if n >= 2 else None}
        if b0 & 0x80:
            return json.loads(payload)


class Api(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = cls.class_work()
        host = cls.class_lan().host("api", links=[])
        harness.make_game(cls.work.sub("apitest", "games"), "openarena", "20240115", {})
        # Other users may enter the folders above the state dir (as in a home directory),
        # and the state dir starts loose: only the daemon's own modes keep them out.
        for path in (cls.work.path, cls.work.sub("apitest"), cls.work.sub("apitest", "state")):
            os.chmod(path, 0o755)
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
        self.assertEqual((st, peers), (200, {"peers": [], "manual": []}))
        self.assertIn(status["discovery"]["state"],
                      ("starting", "waiting_for_interface", "running"))

    def test_refusals(self):
        """Guards against the API serving foreign Host/Origin headers (DNS rebinding, other
        web pages) or accepting bad JSON, unknown paths and wrong methods silently."""
        st, body = self.request("GET", "/api/v1/status", headers={"Host": "evil.example:80"})
        self.assertEqual((st, body["error"]["code"]), (403, "bad_host"))
        for hint in ("127.0.0.1", "localhost", str(self.d.api.port)):  # no Host that would pass
            self.assertNotIn(hint, body["error"]["message"])
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

    # ---- authentication ----------------------------------------------------------------

    def test_requests_need_the_key(self):
        """Guards against any local process driving the daemon (e.g. uninstalling a game and
        deleting the player's saves) without the API key, and against either documented
        header not working."""
        anonymous = self.d.api.anonymous()
        r = anonymous.post("/api/v1/games/openarena/uninstall")
        self.assertEqual((r.status, r.error_code()), (401, "unauthorized"))
        self.assertIn(self.d.key_file, r.body["error"]["message"])  # says where the key is
        self.assertEqual(anonymous.get("/api/v1/status").status, 401)
        wrong = anonymous.get("/api/v1/status", headers={"Authorization": "Bearer " + "0" * 64})
        self.assertEqual((wrong.status, wrong.error_code()), (401, "unauthorized"))
        wrong = anonymous.get("/api/v1/status", headers={"X-API-Key": "0" * 64})
        self.assertEqual(wrong.status, 401)
        key = self.d.api.key()
        self.assertRegex(key, r"^[0-9a-f]{64}$")
        ok = anonymous.get("/api/v1/status", headers={"Authorization": f"Bearer {key}"})
        self.assertEqual(ok.status, 200)
        ok = anonymous.get("/api/v1/status", headers={"X-API-Key": key})
        self.assertEqual(ok.status, 200)

    def test_websocket_needs_the_key(self):
        """Guards against the event stream (library, peers, operations) bypassing the key."""
        s, status, head = ws_open(self.d, "/api/v1/events/ws?since=1")
        s.close()
        self.assertEqual(status, 401, head)
        s, status, head = ws_open(self.d, "/api/v1/events/ws?since=1",
                                  {"Authorization": "Bearer " + "f" * 64})
        s.close()
        self.assertEqual(status, 401, head)

    def test_key_file_is_private(self):
        """Guards against another user of the machine reading the key or using the API: the
        state dir is tightened to 0700 (it was 0755), the key file is 0600, and uid 65534
        can neither read it nor get past the API without it."""
        self.assertEqual(os.stat(self.d.state).st_mode & 0o7777, 0o700)
        self.assertEqual(os.stat(self.d.key_file).st_mode & 0o7777, 0o600)
        self.assertFalse(os.path.exists(self.d.key_file + ".tmp"))
        nobody = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
        r = self.d.host.run(nobody + ["cat", self.d.key_file], check=False, timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Permission denied", r.stderr)
        self.assertNotIn(self.d.api.key(), r.stdout)
        probe = ("import http.client\n"
                 f"c = http.client.HTTPConnection('127.0.0.1', {self.d.api.port}, timeout=10)\n"
                 "c.request('POST', '/api/v1/games/openarena/uninstall')\n"
                 "print(c.getresponse().status)\n")
        r = self.d.host.run(nobody + ["/usr/bin/python3", "-c", probe], check=False, timeout=20)
        self.assertEqual(r.stdout.strip(), "401", r.stderr)

    def login_url(self):
        m = re.search(r"web UI login.*: (http://\S+)", self.d.log_text())
        self.assertIsNotNone(m, "serve must log a login link at start")
        return m.group(1)

    def follow(self, url):
        """GETs a login URL once, without the key: (response, session cookie or None)."""
        r = self.d.api.anonymous().get(url.split(f":{self.d.api.port}", 1)[1])
        cookie = next((v for k, v in r.headers.items() if k.lower() == "set-cookie"), None)
        return r, cookie

    def test_login_link_works_once(self):
        """Guards against a login link that can be replayed, a session cookie that scripts
        can read or other sites can send, and cookie requests forged by other pages (CSRF)."""
        url = self.login_url()
        self.assertRegex(url, rf"^http://127\.0\.0\.1:{self.d.api.port}/login\?token=[0-9a-f]{{64}}$")
        r, cookie = self.follow(url)
        self.assertEqual(r.status, 303)
        self.assertEqual(r.headers.get("Location"), "/")
        self.assertRegex(cookie, r"^lanspread_session=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=/$")
        session = cookie.split(";")[0]
        again, again_cookie = self.follow(url)
        self.assertEqual((again.status, again_cookie), (403, None))
        self.assertIn("text/html", again.headers.get("Content-Type"))
        self.assertIn("login-url", again.text)  # says how to get a new link
        self.assertEqual(self.d.api.anonymous().get("/login?token=" + "0" * 64).status, 403)

        # The cookie reads like the key does; changing something also needs our Origin.
        browser = self.d.api.anonymous()
        own = f"http://127.0.0.1:{self.d.api.port}"
        self.assertEqual(browser.get("/api/v1/status", headers={"Cookie": session}).status, 200)
        forged = browser.post("/api/v1/games/openarena/uninstall", headers={"Cookie": session})
        self.assertEqual((forged.status, forged.error_code()), (403, "origin_required"))
        r = browser.post("/api/v1/login-url", headers={"Cookie": session, "Origin": own})
        self.assertEqual(r.status, 200, r)
        s, status, head = ws_open(self.d, "/api/v1/events/ws", {"Cookie": session})
        s.close()
        self.assertEqual(status, 403, head)  # a cookie-opened stream needs our Origin too
        s, status, head = ws_open(self.d, "/api/v1/events/ws", {"Cookie": session, "Origin": own})
        s.close()
        self.assertEqual(status, 101, head)

        # A key holder (a future `lanspread open`) gets fresh links.
        r = self.d.api.post("/api/v1/login-url")
        self.assertEqual(r.status, 200)
        fresh, cookie = self.follow(r.body["url"])
        self.assertEqual(fresh.status, 303)
        self.assertIsNotNone(cookie)
        self.assertEqual(self.d.api.get("/api/v1/login-url").status, 405)

    # ---- limits ------------------------------------------------------------------------

    def test_oversized_requests_are_refused(self):
        """Guards against unbounded request heads and bodies: headers over 8 KiB get 431 and
        bodies over 64 KiB get 413, each with a clear answer, and the daemon keeps serving."""
        r = self.d.api.get("/api/v1/status", headers={"X-Filler": "x" * 9000})
        self.assertEqual((r.status, r.error_code()), (431, "too_large"))
        r = self.d.api.put("/api/v1/settings/games-dir", body="x" * (65 * 1024))
        self.assertEqual((r.status, r.error_code()), (413, "too_large"))
        self.assertEqual(self.d.api.get("/api/v1/status").status, 200)

    def status_request(self):
        return (f"GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:{self.d.api.port}\r\n"
                f"Authorization: Bearer {self.d.api.key()}\r\n\r\n").encode()

    def closed_by_daemon(self, s, timeout=10):
        """True when the daemon closed `s` (EOF or reset) within `timeout` seconds."""
        s.settimeout(timeout)
        try:
            return s.recv(4096) == b""
        except ConnectionResetError:
            return True
        except OSError:
            return False

    def test_idle_strangers_cannot_take_every_connection(self):
        """Guards against another local user locking the user out of the API by holding 64
        idle connections that never authenticate: the user's 65th connection is served,
        and the oldest idle one is closed to make room."""
        address = ("127.0.0.1", self.d.api.port)
        held = [self.d.host.connect(address) for _ in range(64)]
        try:
            time.sleep(0.5)  # all 64 are accepted and wait for a request
            mine = self.d.host.connect(address)
            mine.sendall(self.status_request())
            mine.settimeout(10)
            answer = mine.recv(4096)
            mine.close()
            self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])
            self.assertTrue(self.closed_by_daemon(held[0]),
                            "the oldest idle connection must make room")
        finally:
            for s in held:
                s.close()

    def test_authenticated_connections_are_capped(self):
        """Guards against unbounded connections: with 64 connections that authenticated
        (the user's own) a new connection is closed at once, unanswered, and the API
        serves again when they go."""
        address = ("127.0.0.1", self.d.api.port)
        held = []
        try:
            for _ in range(64):
                s = self.d.host.connect(address)
                s.sendall(self.status_request())
                s.settimeout(10)
                self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 200"))
                held.append(s)  # keep-alive: stays open, authenticated
            extra = self.d.host.connect(address)
            extra.sendall(self.status_request())
            self.assertTrue(self.closed_by_daemon(extra),
                            "the 65th connection must be closed unanswered")
            extra.close()
        finally:
            for s in held:
                s.close()
        self.assertTrue(self.d.api.wait_until(
            lambda: self.d.api.get("/api/v1/status").status == 200, 10))

    def test_websocket_clients_are_capped(self):
        """Guards against WebSocket clients without bound: the 33rd is refused with a clear
        answer, and a slot freed by a client that leaves is usable again."""
        held = [ws_connect(self.d, "/api/v1/events/ws") for _ in range(32)]
        try:
            s, status, head = ws_open(self.d, "/api/v1/events/ws", self.d.api.headers())
            body = s.recv(4096)
            s.close()
            self.assertEqual(status, 503, head)
            self.assertIn(b"too_many_streams", body)
            held.pop().close()
            deadline = time.time() + 10
            while True:
                s, status, head = ws_open(self.d, "/api/v1/events/ws", self.d.api.headers())
                if status == 101 or time.time() > deadline:
                    break
                s.close()
                time.sleep(0.1)
            held.append(s)
            self.assertEqual(status, 101, head)
        finally:
            for s in held:
                s.close()

    def test_oversized_websocket_message_closes_that_client_only(self):
        """Guards against a client sending huge messages: one over 4 KiB closes that client
        (1009, message too big) and the others keep receiving events."""
        since = self.d.api.json("/api/v1/status")["event_seq"] + 1
        bad = ws_connect(self.d, f"/api/v1/events/ws?since={since}")
        good = ws_connect(self.d, f"/api/v1/events/ws?since={since}")
        try:
            ws_send_text(bad, b"x" * 5000)
            self.assertEqual(ws_read(bad), {"type": "close", "code": 1009})
            r = self.d.api.put("/api/v1/settings/games-dir", body={"path": self.d.games})
            self.assertEqual(r.status, 200)
            self.assertGreaterEqual(ws_read(good)["seq"], since)
        finally:
            bad.close()
            good.close()


class WildcardDaemon(harness.Daemon):
    """serve with --api 0.0.0.0:7878 (inside its own namespace)."""

    def argv(self):
        return [a.replace("127.0.0.1:", "0.0.0.0:") for a in super().argv()]


class LowFileLimitDaemon(harness.Daemon):
    """serve started with a soft open-file limit of 200 and a hard one of 300."""

    def argv(self):
        return ["prlimit", "--nofile=200:300", *super().argv()]


class Exposure(harness.TestCase):
    def test_wildcard_bind_warns_and_still_needs_the_key(self):
        """Guards against exposing the API to the LAN silently: binding it to a non-loopback
        address logs a warning that says what is exposed, and the key is still required."""
        host = self.lan().host("wild", links=[])
        d = WildcardDaemon(host, self.work, name="wild", args=["--port", "0"])
        self.addCleanup(d.close)
        self.assertRegex(d.log_text(), r"warn.*not on loopback.*still needs the API key")
        self.assertEqual(d.api.anonymous().get("/api/v1/status").status, 401)
        self.assertEqual(d.api.get("/api/v1/status").status, 200)


class OutOfDescriptors(harness.TestCase):
    def test_accept_loop_backs_off_on_emfile_and_recovers(self):
        """Guards against the accept loop spinning at full CPU when the process runs out of
        file descriptors (EMFILE leaves the connection in the backlog, so an immediate retry
        fails again), and against it not serving again once descriptors are free. Also
        checks that `serve` raises its soft open-file limit to the hard one."""
        host = self.lan().host("nofile", links=[])
        d = LowFileLimitDaemon(host, self.work, name="nofile", api_port=0, args=["--port", "0"])
        self.addCleanup(d.close)
        self.assertIn("open files: limit raised from 200 to 300", d.log_text())
        with open(f"/proc/{d.pid}/limits") as f:
            line = next(l for l in f if l.startswith("Max open files"))
        self.assertEqual(line.split()[3:5], ["300", "300"])
        # Leave the daemon a few descriptors, then hold more connections than that.
        limit = len(os.listdir(f"/proc/{d.pid}/fd")) + 6
        harness.run(["prlimit", f"--pid={d.pid}", f"--nofile={limit}:{limit}"])
        held = []
        try:
            for _ in range(30):
                held.append(host.connect(("127.0.0.1", d.api.port)))
            self.assertTrue(harness.wait_until(
                lambda: len(os.listdir(f"/proc/{d.pid}/fd")) >= limit, 10),
                "the daemon should have used up its descriptors")
            before = harness.cpu_seconds(d.pid)
            time.sleep(3)
            spent = harness.cpu_seconds(d.pid) - before
            harness.measured("CPU used in 3 s while out of descriptors", spent, "s")
            self.assertLess(spent, 0.5, f"the daemon used {spent:.2f} s of CPU in 3 s while "
                                        "out of descriptors")
            self.assertIn("cannot accept connections", d.log_text())
        finally:
            for s in held:
                s.close()
        self.assertTrue(d.api.wait_until(
            lambda: d.api.try_json("/api/v1/status") is not None, 15),
            "the API must serve again once descriptors are free")
        self.assertIn("accepting connections again", d.log_text())


if __name__ == "__main__":
    harness.main()
