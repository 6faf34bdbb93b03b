"""Who owns the process listening on a loopback port (Linux: /proc/net/tcp).

The embedded default broker lives on a well-known loopback port, and any process of any
user on the machine may grab that port the moment its host leaves. A client therefore
checks, before it trusts what listens there, that the listener is its own user's: a
stranger's process could read all open-room signalling, forward nothing, and cut the
room off without a word.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

LISTEN = "0A"  # the kernel's TCP state for a listening socket
# Addresses a connection to 127.0.0.1 may reach, as /proc/net spells them.
LOOPBACK_OR_ANY = {
    "0100007F",  # 127.0.0.1
    "00000000",  # 0.0.0.0
    "00000000000000000000000001000000",  # ::1
    "00000000000000000000000000000000",  # ::
    "0000000000000000FFFF00000100007F",  # ::ffff:127.0.0.1
}


def listener_uids(
    ports: Iterable[int], proc: Path = Path("/proc/net")
) -> dict[int, set[int]] | None:
    """For each of ``ports``, the user ids of the processes listening on it for
    loopback connections (empty when nobody does), from one reading of the tables;
    None when this system cannot tell (no /proc/net)."""
    uids: dict[int, set[int]] = {port: set() for port in ports}
    readable = False
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / table).read_text().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for line in lines:
            fields = line.split()
            if len(fields) < 8 or fields[3] != LISTEN:
                continue
            address, _, hex_port = fields[1].partition(":")
            listeners = uids.get(int(hex_port, 16))
            if listeners is not None and address.upper() in LOOPBACK_OR_ANY:
                listeners.add(int(fields[7]))
    return uids if readable else None
