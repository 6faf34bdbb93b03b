"""Remote ICE candidates kept to what a real peer can have.

Every candidate we accept makes our ICE agent send connectivity checks to the address
and port it names. A hostile peer could list hundreds and turn us into a UDP prober of
ports of its choosing. So per peer connection we accept a bounded number, a few per
address, UDP only (the only transport aioice checks) on unprivileged ports, and only
addresses a peer could hold: unicast IPs or a browser's mDNS ``*.local`` name, never
another host name (that would make us resolve names of the peer's choosing).
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass, field

MAX_PER_CONNECTION = 16  # host, srflx and relay, over a few interfaces and IP versions
MAX_PER_ADDRESS = 4
MIN_PORT = 1024
MDNS_NAME = re.compile(r"^[0-9a-fA-F-]{1,64}\.local$")


@dataclass
class CandidateBudget:
    """What one peer connection has accepted so far."""

    accepted: int = 0
    per_address: Counter[str] = field(default_factory=Counter)

    def admit(self, candidate: str) -> str | None:
        """Count ``candidate`` (the text after ``candidate:``, or a whole SDP
        ``a=candidate:`` line) in; None if accepted, else why not."""
        reason = unusable(candidate)
        if reason is not None:
            return reason
        address = candidate.split()[4].lower()
        if self.accepted >= MAX_PER_CONNECTION:
            return f"more than {MAX_PER_CONNECTION} candidates"
        if self.per_address[address] >= MAX_PER_ADDRESS:
            return f"more than {MAX_PER_ADDRESS} candidates for {address}"
        self.accepted += 1
        self.per_address[address] += 1
        return None


def unusable(candidate: str) -> str | None:
    """Why ``candidate`` cannot be a real peer's UDP candidate, or None if it can."""
    fields = candidate.removeprefix("a=").removeprefix("candidate:").split()
    if len(fields) < 8 or fields[6] != "typ":
        return "malformed candidate"
    transport, address, port = fields[2].lower(), fields[4], fields[5]
    if transport != "udp":
        return f"{transport} candidate (only UDP is checked)"
    if not port.isdigit() or not MIN_PORT <= int(port) <= 65535:
        return f"port {port[:8]} is not an unprivileged port"
    if MDNS_NAME.match(address):
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "address is neither an IP nor an mDNS name"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return f"{address} is not a unicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip == ipaddress.IPv4Address("255.255.255.255"):
        return "broadcast address"
    return None


def limit_sdp(sdp: str, budget: CandidateBudget) -> tuple[str, list[str]]:
    """``sdp`` with the candidate lines ``budget`` refuses taken out, and the reasons."""
    kept, refused = [], []
    for line in sdp.splitlines(keepends=True):
        if line.startswith("a=candidate:"):
            reason = budget.admit(line.strip())
            if reason is not None:
                refused.append(reason)
                continue
        kept.append(line)
    return "".join(kept), refused
