"""A client for a daemon's local HTTP API, talking from inside the daemon's host namespace.

Connections are made by sockets created inside the namespace (see namespace.py), so requests
are plain in-process HTTP: fast, with a timeout on every one. When the daemon's
`<state dir>/api-key` file exists its key is sent as `Authorization: Bearer <key>`."""
import base64
import http.client
import json
import os
import socket
import struct
import time

from .namespace import ns_connect

DEFAULT_TIMEOUT = 10.0


class ApiError(RuntimeError):
    pass


class Response:
    """status (int), body (decoded JSON, or None when empty or not JSON), text, headers."""

    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        self.text = raw.decode("utf-8", "replace")
        try:
            self.body = json.loads(raw) if raw else None
        except ValueError:
            self.body = None

    @property
    def ok(self):
        return 200 <= self.status < 300

    def error_code(self):
        """The API's error code ({"error": {"code": ...}}), or None."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return self.body["error"].get("code")
        return None

    def __repr__(self):
        return f"Response({self.status}, {self.text[:300]!r})"


class _Connection(http.client.HTTPConnection):
    def __init__(self, ns, host, port, timeout):
        super().__init__(host, port, timeout=timeout)
        self._ns = ns

    def connect(self):
        self.sock = ns_connect(self._ns, (self.host, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class ApiClient:
    """ApiClient(ns, port, key_file=None, host="127.0.0.1")."""

    def __init__(self, ns, port, key_file=None, host="127.0.0.1"):
        self.ns = ns
        self.port = port
        self.host = host
        self.key_file = key_file

    def anonymous(self):
        """The same client without the API key (to check that the daemon refuses it)."""
        return ApiClient(self.ns, self.port, None, self.host)

    def key(self):
        """The daemon's API key, when its key file exists."""
        if self.key_file and os.path.exists(self.key_file):
            with open(self.key_file) as f:
                return f.read().strip() or None
        return None

    def headers(self, extra=None):
        h = {}
        key = self.key()
        if key:
            h["Authorization"] = f"Bearer {key}"
        h.update(extra or {})
        return h

    def request(self, method, path, body=None, headers=None, timeout=DEFAULT_TIMEOUT):
        """One request; body may be a dict/list (sent as JSON), str or bytes. Raises
        ApiError when the daemon cannot be reached or does not answer within timeout."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        hdrs = self.headers(headers)
        if body is not None and not any(k.lower() == "content-type" for k in hdrs):
            hdrs["Content-Type"] = "application/json"
        conn = _Connection(self.ns, self.host, self.port, timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            return Response(r.status, dict(r.getheaders()), r.read())
        except (OSError, http.client.HTTPException) as e:
            raise ApiError(f"{method} {path} on {self.ns} port {self.port}: {e}") from e
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def json(self, path, timeout=DEFAULT_TIMEOUT):
        """GET path and return the decoded body; ApiError unless the status is 2xx."""
        r = self.get(path, timeout=timeout)
        if not r.ok:
            raise ApiError(f"GET {path}: {r.status} {r.text[:300]}")
        return r.body

    def try_json(self, path, timeout=DEFAULT_TIMEOUT):
        """Like json(), but None when the daemon cannot answer (not started, restarting)."""
        try:
            return self.json(path, timeout=timeout)
        except ApiError:
            return None

    def wait_until(self, predicate, timeout, path=None, interval=0.1):
        """Polls until predicate holds; returns its truthy value (or the matching body when
        `path` is given: predicate(body) is applied to each GET of path), None on timeout.
        Exceptions of the predicate on a half-filled body (KeyError, TypeError, ...) count
        as "not yet"."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if path is None:
                    value = predicate()
                    if value:
                        return value
                else:
                    body = self.try_json(path)
                    if body is not None and predicate(body):
                        return body
            except (KeyError, IndexError, TypeError, AttributeError, ApiError):
                pass
            if time.monotonic() >= deadline:
                return None
            time.sleep(interval)

    # --- events --------------------------------------------------------------------------------
    def events(self, since=0, timeout_ms=1000):
        """One long-poll: the decoded body {"events": [...], "next": N}."""
        return self.json(f"/api/v1/events?since={since}&timeout_ms={timeout_ms}",
                         timeout=timeout_ms / 1000 + DEFAULT_TIMEOUT)

    def event_stream(self, since=1):
        return EventStream(self, since)

    def websocket(self, path="/api/v1/events/ws?since=1", timeout=DEFAULT_TIMEOUT):
        return WebSocket(self, path, timeout)


class EventStream:
    """Reads the event log in order with a cursor: next(predicate, timeout) returns the
    first later event matching, skipping (but keeping in `seen`) the others."""

    def __init__(self, api, since=1):
        self.api = api
        self.since = since
        self.seen = []

    def next(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left_ms = int(max(0.05, min(1.0, deadline - time.monotonic())) * 1000)
            try:
                body = self.api.events(self.since, left_ms)
            except ApiError:
                time.sleep(0.2)
                continue
            for e in body.get("events", []):
                self.since = e["seq"] + 1
                self.seen.append(e)
                if predicate(e):
                    return e
        return None

    def of_type(self, *types, timeout=30.0, **data):
        """The next event of one of `types` whose data contains every item of `data`."""
        def match(e):
            d = e.get("data") or {}
            return e.get("type") in types and all(d.get(k) == v for k, v in data.items())
        return self.next(match, timeout)


class WebSocket:
    """A minimal WebSocket client for the events stream (text frames of JSON)."""

    def __init__(self, api, path, timeout):
        self.sock = ns_connect(api.ns, (api.host, api.port), timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        extra = "".join(f"{k}: {v}\r\n" for k, v in api.headers().items())
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {api.host}:{api.port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           f"{extra}\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ApiError(f"WebSocket {path}: connection closed during the handshake")
            head += chunk
            if len(head) > 65536:
                raise ApiError(f"WebSocket {path}: handshake too long")
        self.status_line = head.split(b"\r\n")[0].decode("latin-1")
        if " 101 " not in self.status_line:
            raise ApiError(f"WebSocket {path}: {self.status_line}")

    def _exact(self, n):
        b = b""
        while len(b) < n:
            chunk = self.sock.recv(n - len(b))
            if not chunk:
                raise EOFError("WebSocket closed")
            b += chunk
        return b

    def read(self):
        """The next message's payload (bytes), across continuation frames."""
        payload = b""
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            payload += self._exact(n)
            if b0 & 0x80:
                return payload

    def read_json(self):
        return json.loads(self.read())

    def close(self):
        self.sock.close()
