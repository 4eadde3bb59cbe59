"""A peer built on python3-zeroconf, a stack lanspread did not write.

Run inside a test namespace:
  zeroconf_peer.py browse SECONDS        prints one JSON line per resolved lanspread service
  zeroconf_peer.py register SECONDS IP [INSTANCE]
                                         registers a lanspread service, then unregisters
  zeroconf_peer.py types                 prints the service types found by DNS-SD enumeration
"""
import json
import socket
import sys
import time

from zeroconf import (IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf,
                      ZeroconfServiceTypes)

SERVICE = "_lanspread._udp.local."


def emit(obj):
    print(json.dumps(obj), flush=True)


def browse(seconds):
    zc = Zeroconf(ip_version=IPVersion.All)
    seen = set()

    def on_change(zeroconf, service_type, name, state_change):
        if state_change is ServiceStateChange.Removed:
            emit({"event": "removed", "name": name})
            return
        info = zeroconf.get_service_info(service_type, name, timeout=3000)
        if info is None:
            return
        txt = {k.decode(): (v.decode() if v is not None else None)
               for k, v in info.properties.items()}
        record = {"event": "resolved", "name": name, "port": info.port, "server": info.server,
                  "addresses": info.parsed_addresses(), "txt": txt}
        key = json.dumps(record, sort_keys=True)
        if key not in seen:
            seen.add(key)
            emit(record)

    ServiceBrowser(zc, SERVICE, handlers=[on_change])
    time.sleep(seconds)
    zc.close()


def register(seconds, address, instance="zeroconf-peer"):
    zc = Zeroconf(ip_version=IPVersion.V4Only)
    info = ServiceInfo(SERVICE, instance + "." + SERVICE, port=47999,
                       properties={"v": "1", "id": "zc-peer-0001", "rev": "5", "extra": "yes"},
                       server="zeroconf-peer.local.", addresses=[socket.inet_aton(address)])
    zc.register_service(info)
    emit({"event": "registered"})
    time.sleep(seconds)
    zc.unregister_service(info)  # sends the goodbye
    emit({"event": "unregistered"})
    zc.close()


def types():
    emit({"event": "types", "types": sorted(ZeroconfServiceTypes.find(timeout=3))})


if __name__ == "__main__":
    if sys.argv[1] == "browse":
        browse(float(sys.argv[2]))
    elif sys.argv[1] == "types":
        types()
    else:
        register(float(sys.argv[2]), *sys.argv[3:5])
