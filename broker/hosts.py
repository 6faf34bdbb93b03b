"""Which names a request may use for the broker (its ``Host`` header).

A page on a stranger's site can make its own name resolve to 127.0.0.1 (DNS
rebinding): the browser then sends ``Host: evil.example`` and ``Origin:
http://evil.example`` to a broker on the user's loopback, and the two agree. So a
broker that listens on loopback alone answers only to loopback names and addresses,
and to the names its operator lists (``--allow-host``). A broker listening on other
addresses is public anyway; with names listed, it answers only to those (and to
addresses).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


def _is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name in a ``Host`` header, without its port or IPv6 brackets, lower case."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


@dataclass(frozen=True)
class HostCheck:
    listen_host: str  # the address given to listen on
    allowed: frozenset[str] = frozenset()  # names the operator listed, lower case

    @property
    def loopback_only(self) -> bool:
        return _is_loopback(self.listen_host)

    def allows(self, header: str) -> bool:
        name = host_name(header)
        if not name:
            return False
        if name in self.allowed or _is_loopback(name):
            return True
        try:
            ipaddress.ip_address(name)
        except ValueError:  # a name: only the listed ones, on loopback or once listed
            return not self.loopback_only and not self.allowed
        return not self.loopback_only  # an address of another interface
