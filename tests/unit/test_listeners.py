"""Who listens on a loopback port (cli/listeners.py), from /proc/net as Linux writes it."""

from __future__ import annotations

from pathlib import Path

from meshchat.cli.listeners import listener_uids

HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"


def table(*rows: tuple[str, str, str, int]) -> str:
    """Rows of (local address, port, state, uid), in hex as the kernel writes them."""
    lines = [
        f"   0: {address}:{port} 00000000:0000 {state} 00000000:00000000 00:00000000 00000000"
        f" {uid} 0 12345 1 0000000000000000 100 0 0 10 0"
        for address, port, state, uid in rows
    ]
    return HEADER + "\n".join(lines) + "\n"


def test_the_owners_of_loopback_and_wildcard_listeners_on_the_port(tmp_path: Path) -> None:
    (tmp_path / "tcp").write_text(
        table(
            ("0100007F", "223D", "0A", 65534),  # 127.0.0.1:8765, listening
            ("0100007F", "223E", "0A", 0),  # another port
            ("0100007F", "223D", "01", 1000),  # a connection, not a listener
            ("0A00000A", "223D", "0A", 1001),  # 10.0.0.10:8765: not reached by loopback
        )
    )
    (tmp_path / "tcp6").write_text(table(("00000000000000000000000000000000", "223D", "0A", 7)))
    assert listener_uids([8765, 8767], tmp_path) == {8765: {65534, 7}, 8767: set()}
    assert listener_uids([8765], tmp_path / "missing") is None
