"""One harness for every process test and benchmark of lanspread: hosts as network
namespaces on bridges, `lanspread serve` daemons on them, an API client, test data and
measurements. See README.md in this folder."""
from .api import ApiClient, ApiError, EventStream, Response, WebSocket
from .case import TestCase, Workdir, main, measured, parse_args, require_root
from .cleanup import sweep_stale, undo_all
from .config import tool
from .daemon import Daemon, DaemonError
from .downloads import download_all
from .data import (CHUNK, assert_same_tree, deterministic_bytes, make_game, sha256_bytes,
                   sha256_file, tree_differences, write_file)
from .lan import Host, Lan, Link
from .listen import Sniffer, TcpCounter, UdpCounter
from .namespace import in_namespace, ns_connect, ns_socket
from .process import Process
from .procstat import Sampler, cpu_seconds, peak_rss_bytes, rss_bytes, sample
from .sh import CommandFailed, run
from .wait import wait_until

__all__ = [n for n in dir() if not n.startswith("_")]
