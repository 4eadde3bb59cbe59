"""Listeners on a host that count what reaches them.

    udp = UdpCounter(target, 7979)          # bound inside target's namespace
    tcp = TcpCounter(target, 8080)
    sniff = Sniffer(target, "eth0")         # every IP packet on the interface, any port
    ... ; udp.count_from("198.18.1.2"); sniff.count(src="198.18.1.2", direction="in")

Each runs a reader thread until close() (also called at cleanup)."""
import ipaddress
import socket
import struct
import threading
import time

from . import cleanup

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


class _Counter:
    def __init__(self, name):
        self.packets = []  # dicts, appended by the reader thread
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._token = cleanup.register(name, self.close)
        self._thread = threading.Thread(target=self._loop, daemon=True, name=name)

    def _add(self, packet):
        with self._lock:
            self.packets.append(packet)

    def matching(self, **fields):
        """The packets whose fields equal every given item (e.g. src="198.18.1.2")."""
        with self._lock:
            return [p for p in self.packets if all(p.get(k) == v for k, v in fields.items())]

    def count(self, **fields):
        return len(self.matching(**fields))

    def count_from(self, ip):
        return self.count(src=ip)

    def wait_count(self, n, timeout, **fields):
        """Waits until at least n matching packets arrived; returns the count reached."""
        deadline = time.monotonic() + timeout
        while self.count(**fields) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.count(**fields)

    def close(self):
        cleanup.unregister(self._token)
        self._closed.set()
        self._thread.join(timeout=5)


class UdpCounter(_Counter):
    """Binds a UDP port on a host and records every datagram: {time, src, sport, size, data}."""

    def __init__(self, host, port, bind=None, family=socket.AF_INET):
        super().__init__(f"udp counter {host.name}:{port}")
        self.sock = host.socket(family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((bind or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.1)
        self._thread.start()

    def _loop(self):
        while not self._closed.is_set():
            try:
                data, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self._add({"time": time.time(), "src": addr[0].split("%")[0], "sport": addr[1],
                       "size": len(data), "data": data})

    def close(self):
        super().close()
        self.sock.close()


class TcpCounter(_Counter):
    """Listens on a TCP port on a host; records each connection as a packet-like entry
    {time, src, sport, size (bytes received until it closed)}. `connections` counts them."""

    def __init__(self, host, port, bind=None, family=socket.AF_INET):
        super().__init__(f"tcp counter {host.name}:{port}")
        self.sock = host.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((bind or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.1)
        self._thread.start()

    @property
    def connections(self):
        return self.count()

    def _loop(self):
        while not self._closed.is_set():
            try:
                conn, addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            entry = {"time": time.time(), "src": addr[0].split("%")[0], "sport": addr[1],
                     "size": 0}
            self._add(entry)
            threading.Thread(target=self._drain, args=(conn, entry), daemon=True).start()

    def _drain(self, conn, entry):
        conn.settimeout(0.2)
        with conn:
            while not self._closed.is_set():
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                with self._lock:
                    entry["size"] += len(data)

    def close(self):
        super().close()
        self.sock.close()


class Sniffer(_Counter):
    """Records every IPv4/IPv6 packet crossing one interface of a host (AF_PACKET), in both
    directions: {time, direction ("in"/"out"), src, dst, proto ("udp"/"tcp"/number), sport,
    dport, size}. Sees packets to ports nobody listens on, unlike the counters above."""

    def __init__(self, host, ifname="eth0"):
        super().__init__(f"sniffer {host.name}:{ifname}")
        self.sock = host.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((ifname, 0))
        self.sock.settimeout(0.1)
        self._thread.start()

    def _loop(self):
        while not self._closed.is_set():
            try:
                frame, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            packet = _parse(frame)
            if packet:
                packet["direction"] = "out" if addr[2] == PACKET_OUTGOING else "in"
                packet["time"] = time.time()
                self._add(packet)

    def close(self):
        super().close()
        self.sock.close()


def _parse(frame):
    if len(frame) < 14:
        return None
    ethertype = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if ethertype == 0x0800 and len(ip) >= 20:
        ihl = (ip[0] & 0x0F) * 4
        proto, src, dst, l4 = ip[9], ip[12:16], ip[16:20], ip[ihl:]
    elif ethertype == 0x86DD and len(ip) >= 40:
        proto, src, dst, l4 = ip[6], ip[8:24], ip[24:40], ip[40:]
    else:
        return None
    p = {"src": str(ipaddress.ip_address(src)), "dst": str(ipaddress.ip_address(dst)),
         "proto": {17: "udp", 6: "tcp"}.get(proto, proto), "size": len(ip),
         "sport": None, "dport": None}
    if proto in (6, 17) and len(l4) >= 4:
        p["sport"], p["dport"] = struct.unpack("!HH", l4[:4])
    return p
