#!/usr/bin/python3
"""A `lanspread serve` victim against hostile QUIC clients (tests/tools/hostile_client.cpp,
built from the project's own transport): 600 connections from one address, 64 chunk streams
that are never read, connections that never prove the party key, and clients that stop
acknowledging (SIGSTOP) from two addresses, while a well-behaved peer lists and downloads.
Usage: test_budgets_netns.py --tool <lanspread> --tool hostile_client=<hostile_client>"""
import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402

MIB = 1 << 20
# What one hostile stream asks for: a range of a downloaded game twice a stream's send buffer.
REQUEST = 8 * MIB
QUIC_PORT = 7979  # `lanspread serve`'s default
ENDS = ("operation_finished", "operation_failed", "operation_cancelled")
IGNORE = (".lanspread*", "local", ".local.*")  # the downloader installs what it fetched


def game(body, gid="openarena"):
    return next((g for g in body.get("games", []) if g["id"] == gid), {})


class Budgets(harness.TestCase):
    def hostile(self, host, victim, *args, name="hostile"):
        """Starts a hostile client on `host` against `victim`; returns the process."""
        state = self.work.sub(host.name, name + "-state")
        log = self.work.file(host.name, name + ".log")
        self.work.add_log(log)
        return host.spawn([harness.tool("hostile_client"), "--state", state,
                           "--to", f"{victim.host.ip()}:{QUIC_PORT}",
                           "--peer-id", victim.peer_id, *map(str, args)],
                          log=log, name=f"{name} {host.name}")

    def summary(self, proc, timeout):
        got = proc.wait_for(lambda o: "summary" in o, timeout)
        self.assertIsNotNone(got, "the hostile client never finished its connections")
        return got[1]["summary"]

    def download(self, dl, seeder, timeout=120):
        """`dl` downloads openarena from `seeder` (the only source) and gets its exact bytes."""
        self.assertIsNotNone(dl.api.wait_until(
            lambda b: seeder.peer_id in game(b).get("latest_peers", []), 30,
            path="/api/v1/games"), "the good peer never listed the victim's game")
        events = dl.api.event_stream()
        self.assertEqual(dl.api.post("/api/v1/games/openarena/download").status, 202)
        end = events.next(lambda e: e["type"] in ENDS and e["data"]["kind"] == "download",
                          timeout)
        self.assertEqual(end and end["type"], "operation_finished", end)
        harness.assert_same_tree(os.path.join(seeder.games, "openarena"),
                                 os.path.join(dl.games, "openarena"), IGNORE)

    def test_600_connections_from_one_address_leave_room_for_peers(self):
        """Guards against one address taking every connection slot of a peer (it used to
        admit 512 connections from anyone, then refuse everybody): of 600 connections from
        one address at most 8 are admitted, and a well-behaved peer still lists the
        victim's games and downloads one."""
        lan = self.lan()
        harness.make_game(self.work.sub("victim", "games"), "openarena", "1",
                          {"data/big.pak": 2 * REQUEST, "data/small.cfg": "seta name p\n"})
        victim = self.serve(lan.host("victim"))
        flood = self.hostile(lan.host("flood"), victim, "--connections", 600,
                             "--handshake-timeout", 5000)
        got = self.summary(flood, 120)
        harness.measured("connections admitted from the flooding address", got["established"],
                         "of 600")
        self.assertLessEqual(got["established"], 8, got)
        self.assertGreaterEqual(got["established"], 1, got)  # it is served like anyone
        self.download(self.serve(lan.host("good")), victim)
        self.assertTrue(flood.running(), "the flood must still hold its connections")

    def test_never_read_streams_keep_memory_bounded(self):
        """Guards against a reader that never reads making the server queue whole chunks
        for it: 64 streams asking for an 8 MiB chunk each, never read, grow the victim's
        memory by less than 64 MiB (about 256 MiB would be queued without the budget)."""
        lan = self.lan()
        harness.make_game(self.work.sub("victim", "games"), "openarena", "1",
                          {"data/big.pak": REQUEST})
        victim = self.serve(lan.host("victim"))
        before = harness.rss_bytes(victim.pid)
        with harness.Sampler(victim.pid, 0.05) as rss:
            reader = self.hostile(lan.host("reader"), victim, "--streams", 64,
                                  "--game", "openarena", "--path", "data/big.pak",
                                  "--length", REQUEST)
            got = self.summary(reader, 60)
            self.assertEqual(got["requested_streams"], 64, got)
            time.sleep(10)  # the victim serves what it may; the reader reads nothing
        growth = rss.max_rss - before
        harness.measured("victim RSS growth with 64 never-read chunk streams", growth // MIB,
                         "MiB")
        self.assertLess(growth, 64 * MIB)
        self.assertEqual(victim.api.get("/api/v1/status").status, 200)

    def test_connections_that_never_prove_the_party_key_are_closed(self):
        """Guards against a stranger who finishes TLS but never sends the party-key proof
        holding a connection (and its slot) as long as it keeps the connection alive: each
        such connection is closed by the handshake deadline."""
        lan = self.lan()
        passphrase = "lan party 2026"
        key = harness.write_file(self.work.file("party.key"), passphrase + "\n")
        victim = self.serve(lan.host("victim"), args=["--party-key", key])
        mute = self.hostile(lan.host("mute"), victim, "--connections", 8,
                            "--party-key-hex", hashlib.sha256(passphrase.encode()).hexdigest(),
                            "--no-proof")
        got = self.summary(mute, 60)
        # The client sees the victim's proof (same key), so its side is established.
        self.assertEqual(got["established"], 8, got)
        closed = []
        deadline = time.monotonic() + 60
        while len(closed) < 8 and time.monotonic() < deadline:
            mute.wait_for(lambda o: False, 0.5)
            closed = [o for _, o in mute.seen if "closed" in o]
        self.assertEqual(len(closed), 8, "connections without a proof stayed open")
        worst = max(o["after_ms"] for o in closed)
        harness.measured("longest life of a connection without a proof", worst / 1000)
        self.assertLess(worst, 20000, closed)  # the deadline is 2.5 s; generous bound

    def test_clients_that_stop_acknowledging_do_not_stop_a_download(self):
        """Guards against clients that stop reading and acknowledging (frozen with SIGSTOP
        after asking for 512 chunks each, from two addresses) holding the victim's whole
        send budget: a good peer's download from the victim completes, and the victim's
        memory stays bounded."""
        lan = self.lan()
        harness.make_game(self.work.sub("victim", "games"), "openarena", "1",
                          {"data/big.pak": 3 * REQUEST, "data/small.cfg": "seta name p\n"})
        victim = self.serve(lan.host("victim"))
        before = harness.rss_bytes(victim.pid)
        with harness.Sampler(victim.pid, 0.05) as rss:
            frozen = [self.hostile(lan.host(f"frozen{i}"), victim, "--connections", 8,
                                   "--streams", 64, "--game", "openarena",
                                   "--path", "data/big.pak", "--length", REQUEST, "--stop")
                      for i in range(2)]
            for f in frozen:
                got = self.summary(f, 90)
                self.assertEqual(got["established"], 8, got)
            self.download(self.serve(lan.host("good")), victim)
        growth = rss.max_rss - before
        harness.measured("victim RSS growth with 16 frozen connections", growth // MIB, "MiB")
        # Two addresses hold at most their 32 MiB shares of the send budget.
        self.assertLess(growth, 160 * MIB)


if __name__ == "__main__":
    harness.main()
