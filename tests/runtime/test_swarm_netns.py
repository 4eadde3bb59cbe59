#!/usr/bin/python3
"""Swarming between real `lanspread serve` daemons on hosts in network namespaces: one seeder
on a 100 Mbit/s link and eight downloaders at once, which trade the chunks they have verified
(the small files among them several at once); one of them has its verified chunks and small
files corrupted on disk behind its back. Driven and observed
through each daemon's HTTP API. Usage: test_swarm_netns.py --tool <lanspread binary>"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from harness import CHUNK  # noqa: E402

IGNORE = (".lanspread*", "local", ".local.*")  # the downloaders install what they fetched
PAKS = ("data/a.pak", "data/b.pak")
CHUNKS = 80  # per pak: 320 MiB in all
# 400 small files of 20,000 bytes: fetched about a hundred at once (GetGameFiles).
SMALL = {f"maps/m{i:03}.bsp": 20_000 for i in range(400)}


def game(body, gid="openarena"):
    return next((g for g in body.get("games", []) if g["id"] == gid), {})


def offered(daemon, version="1"):
    return daemon.api.wait_until(
        lambda b: game(b).get("latest_version") == version
        and len(game(b).get("latest_peers", [])) >= 1, 30, path="/api/v1/games")


def corrupt_written_chunks(path):
    """Flips the first 4 KiB of every chunk of `path` that holds data already: what a failing
    disk (or a prankster) does to a peer's verified chunks behind its back."""
    try:
        with open(path, "r+b") as f:
            for k in range(CHUNKS):
                f.seek(k * CHUNK)
                head = f.read(4096)
                if head.count(0) == len(head) or head.startswith(b"\xde\xad\xbe\xef"):
                    continue
                f.seek(k * CHUNK)
                f.write(b"\xde\xad\xbe\xef" * 1024)
    except FileNotFoundError:
        pass


def corrupt_written_files(root):
    """The same for the small files: each that holds data gets its first 4 KiB flipped."""
    for rel in SMALL:
        try:
            with open(os.path.join(root, rel), "r+b") as f:
                head = f.read(4096)
                if len(head) < 4096 or head.count(0) == len(head) \
                        or head.startswith(b"\xde\xad\xbe\xef"):
                    continue
                f.seek(0)
                f.write(b"\xde\xad\xbe\xef" * 1024)
        except FileNotFoundError:
            pass


class Swarm(harness.TestCase):
    def test_eight_downloaders_trade_chunks_and_spare_the_seeder(self):
        """Guards against the seeder uploading one copy per downloader at a LAN party (eight
        copies of a 320 MiB game through one 100 Mbit/s link), and against a peer that serves
        corrupt chunks spoiling anyone's game: the downloaders take chunks from each other, the
        seeder uploads at most three copies, and every downloader but the corrupted one ends
        with the seeder's exact bytes."""
        lan = self.lan()
        seed_host = lan.host("seed", rate="100mbit")
        harness.make_game(self.work.sub("seed", "games"), "openarena", "1",
                          {**{p: CHUNKS * CHUNK for p in PAKS}, **SMALL,
                           "data/small.cfg": "seta name x\n"})
        seeder = self.serve(seed_host)
        source = os.path.join(seeder.games, "openarena")

        downloaders = [self.serve(lan.host(f"dl{i}")) for i in range(8)]
        for d in downloaders:
            self.assertIsNotNone(offered(d), f"{d.name} never saw the game")
        sent_before = seed_host.tx_bytes()
        # dl0's verified chunks go bad on its disk while it serves them to the others.
        bad = [os.path.join(downloaders[0].games, "openarena", p) for p in PAKS]

        def spoil(ends):
            if ends[0] is None:
                for path in bad:
                    corrupt_written_chunks(path)
                corrupt_written_files(os.path.join(downloaders[0].games, "openarena"))

        ends, took, _ = harness.download_all(downloaders, "openarena", 400, while_waiting=spoil)
        uploaded = seed_host.tx_bytes() - sent_before

        for d, e in zip(downloaders, ends):
            self.assertEqual(e and e["type"], "operation_finished", f"{d.name}: {e}")
        for d in downloaders[1:]:
            harness.assert_same_tree(source, os.path.join(d.games, "openarena"), IGNORE)
        size = len(PAKS) * CHUNKS * CHUNK + sum(SMALL.values()) + len("seta name x\n")
        harness.measured("eight downloaders with swarming, the last to finish", max(took))
        harness.measured("copies the seeder uploaded for eight downloaders",
                         f"{uploaded / size:.2f}", "copies")
        self.assertLessEqual(uploaded / size, 3.0)


if __name__ == "__main__":
    harness.main()
