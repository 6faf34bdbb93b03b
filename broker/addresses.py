"""Which clients count as one for the per-address limits.

An IPv4 address is one client's (or one network's, behind NAT). An IPv6 host is
handed a whole /64 and may use any address in it, so a /64 counts as one address:
otherwise one host could open the broker's every connection, one address at a time.
"""

from __future__ import annotations

import ipaddress

IPV6_PREFIX = 64


def address_group(address: str) -> str:
    """The key ``address`` is counted under: itself for IPv4 (IPv4-mapped IPv6 too),
    its /64 for IPv6; anything unparseable as it is."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # no zone index
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)
