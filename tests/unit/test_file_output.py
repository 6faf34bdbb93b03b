"""How file transfers look in the terminal and in --json: a bar at each quarter, a
notice with the saved path, and nothing a stranger chose reaching the terminal raw."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from meshchat.cli.options import byte_size, human_size
from meshchat.cli.output import Printer
from meshchat.mesh import (
    EventsMissed,
    FileFailed,
    FileOffered,
    FileProgress,
    FileReceived,
    PeerJoined,
)

BO = "b0" * 16
TRANSFER = "ab" * 16


def shown(json_mode: bool, *events: object) -> list[str]:
    out = io.StringIO()
    printer = Printer(json_mode=json_mode, stream=out)
    for event in events:
        printer.event(event)  # type: ignore[arg-type]
    return out.getvalue().splitlines()


def test_plain_mode_draws_a_bar_at_each_quarter_and_names_the_saved_file() -> None:
    size = 400
    lines = shown(
        False,
        PeerJoined(BO, "bo\x1b[2J"),
        FileOffered(TRANSFER, BO, "bo\x1b[2J", "report.pdf", size),
        *(FileProgress(TRANSFER, BO, False, done, size) for done in range(0, size + 1, 20)),
        FileReceived(TRANSFER, BO, "bo", Path("/tmp/d/report.pdf"), size, "00" * 32),
    )
    bars = [line for line in lines if line.startswith("  [")]
    assert [bar.split("] ")[1].split("%")[0].strip() for bar in bars] == ["25", "50", "75", "100"]
    assert bars[1].startswith("  [##########----------]") and "report.pdf from bo" in bars[1]
    assert "* saved /tmp/d/report.pdf (400 B) from bo#b0b0" in lines[-1]
    assert not any("\x1b" in line for line in lines)


def test_json_mode_reports_every_file_event_with_its_fields() -> None:
    events = [
        json.loads(line)
        for line in shown(
            True,
            FileOffered(TRANSFER, BO, "bo", "a.txt", 5),
            FileProgress(TRANSFER, BO, False, 5, 5),
            FileReceived(TRANSFER, BO, "bo", Path("/tmp/a.txt"), 5, "cd" * 32),
            FileFailed(TRANSFER, BO, True, "refused: too big"),
        )
    ]
    assert [e["event"] for e in events] == [
        "file-offered",
        "file-progress",
        "file-received",
        "file-failed",
    ]
    assert events[0]["from"] == BO and events[0]["size"] == 5
    assert events[2]["path"] == "/tmp/a.txt" and events[2]["bytes"] == 5
    assert events[3]["reason"] == "refused: too big" and events[3]["sending"] is True


def test_sizes_read_and_written_for_people() -> None:
    assert [byte_size(v) for v in ("500000", "500K", "64M", "4G", "1.5GiB")] == [
        500_000,
        500 * 1024,
        64 * 1024**2,
        4 * 1024**3,
        int(1.5 * 1024**3),
    ]
    assert [human_size(n) for n in (999, 1536, 5 * 1024**2, 3 * 1024**4)] == [
        "999 B",
        "1.5 KiB",
        "5.0 MiB",
        "3072.0 GiB",
    ]


@pytest.mark.parametrize("value", ["lots", "-5M", "4X", ""])
def test_a_size_that_is_not_one_says_so(value: str) -> None:
    with pytest.raises(ValueError, match="is not a size"):
        byte_size(value)


def test_a_display_that_fell_behind_says_how_much_it_missed() -> None:
    assert json.loads(shown(True, EventsMissed(12))[0]) == {"event": "events-missed", "count": 12}
    assert "12 events were not shown" in shown(False, EventsMissed(12))[0]
