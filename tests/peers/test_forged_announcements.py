#!/usr/bin/python3
"""Forged mDNS announcements against a `lanspread serve` victim: raw DNS-SD responses built
here (PTR, SRV, TXT, A), sent from port 5353 on an attacker host, naming a target address
and port, or a thousand addresses where nobody answers. What reaches the target is counted
by a packet sniffer on the target's interface.
Usage: test_forged_announcements.py --tool <lanspread binary>"""
import ipaddress
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402

SERVICE = ["_lanspread", "_udp", "local"]


def dns_name(labels):
    return b"".join(bytes([len(l)]) + l.encode() for l in labels) + b"\0"


def record(name, rtype, ttl, rdata, flush=True):
    rclass = 0x8001 if flush else 0x0001
    return name + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def announcement(label, peer_id, ip, port, ttl=4500):
    """One unsolicited DNS-SD response announcing instance `label` at ip:port."""
    instance = dns_name([label] + SERVICE)
    host = dns_name([label, "local"])
    txt = b"".join(bytes([len(s)]) + s for s in (b"v=1", b"id=" + peer_id.encode(), b"rev=1"))
    answers = [record(dns_name(SERVICE), 12, ttl, instance, flush=False),
               record(instance, 33, ttl, struct.pack("!HHH", 0, 0, port) + host),
               record(instance, 16, ttl, txt),
               record(host, 1, ttl, socket.inet_aton(ip))]
    return struct.pack("!HHHHHH", 0, 0x8400, 0, len(answers), 0, 0) + b"".join(answers)


class Forger:
    """Sends raw mDNS responses from port 5353 of a host, like any responder would."""

    def __init__(self, host):
        self.sock = host.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", 5353))
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                             socket.inet_aton(host.ip()))
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
        self.sent = []

    def send(self, packet):
        self.sock.sendto(packet, ("224.0.0.251", 5353))
        self.sent.append(len(packet))

    def close(self):
        self.sock.close()


class ForgedAnnouncements(harness.TestCase):
    def test_one_announcement_is_not_a_reflector(self):
        """Guards against one forged announcement making every peer send QUIC Initials to any
        address and port it names (20 to 40 packets a minute, for as long as the record
        lived, privileged ports included): at most 12 packets reach the target in 70 s, and
        none reaches a privileged port."""
        lan = self.lan()
        victim_host, attacker, target = lan.host("victim"), lan.host("attacker"), lan.host("target")
        victim = self.serve(victim_host)
        sniffer = harness.Sniffer(target, "eth0")
        forger = Forger(attacker)
        self.addCleanup(forger.close)
        victim.api.wait_until(lambda b: True, 5, path="/api/v1/status")
        forger.send(announcement("forged-a", "f" * 64, target.ip(), 40000))
        forger.send(announcement("forged-b", "e" * 64, target.ip(), 80))
        harness.measured("forged announcement size", forger.sent[0], "bytes")
        time.sleep(70)
        to_port = sniffer.count(dst=target.ip(), dport=40000, direction="in")
        to_privileged = sniffer.count(dst=target.ip(), dport=80, direction="in")
        harness.measured("packets to the forged target in 70 s", to_port, "")
        self.assertGreaterEqual(to_port, 1, "the victim never acted on the announcement")
        self.assertLessEqual(to_port, 12)
        self.assertEqual(to_privileged, 0)
        peers = victim.api.json("/api/v1/peers")["peers"]
        self.assertEqual(peers, [], "a forged peer was listed")

    def test_a_thousand_forged_peers_do_not_hide_a_real_one(self):
        """Guards against a flood of forged peers (addresses where nobody answers) delaying or
        blocking handshakes with real peers: the victim still lists a real peer that appears
        after the flood, and never lists a forged one."""
        lan = self.lan()
        lan.bridge("br0", subnet="198.18.0.0/16")
        victim_host, attacker, real_host = lan.host("victim"), lan.host("attacker"), lan.host("real")
        victim = self.serve(victim_host)
        forger = Forger(attacker)
        self.addCleanup(forger.close)
        silent = ipaddress.ip_address("198.18.100.1")  # on the link, but no host there
        for i in range(1000):
            forger.send(announcement(f"forged-{i}", f"{i:064x}", str(silent + i), 7979))
        time.sleep(3)  # the victim is busy with the flood now
        harness.make_game(self.work.sub("real", "games"), "xonotic", "0.8.6", {"a.pk3": 1000})
        started = time.monotonic()
        real = self.serve(real_host)

        def listed(body):
            return [p["id"] for p in body["peers"]] == [real.peer_id]
        self.assertIsNotNone(victim.api.wait_until(listed, 90, path="/api/v1/peers"),
                             "the victim never listed the real peer (or listed a forged one)")
        harness.measured("a real peer listed behind 1,000 forged ones",
                         time.monotonic() - started)
        self.assertTrue(victim.running())


if __name__ == "__main__":
    harness.main()
