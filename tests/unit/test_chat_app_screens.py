"""Screenshots of the terminal app at 80x24 and 120x40 (pytest-textual-snapshot; the
SVGs are in __snapshots__/, `pytest --snapshot-update` redraws them after a deliberate
change). The room is a fixed script here, so that every run draws the same screen; the
app in a real room is tested in tests/integration/test_chat_app.py."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual import events

from meshchat.cli.chat_app import ChatApp, ChatInput, ChatLog, PeerPanel, StatusLineHandler
from meshchat.cli.commands import Command, Quit
from meshchat.cli.conversation import Conversation, RoomStatus
from meshchat.cli.output import Printer
from meshchat.mesh.events import (
    FileOffered,
    FileProgress,
    MessageReceived,
    PeerJoined,
    PeerLeft,
    PeerLink,
    SignallingLost,
)
from meshchat.mesh.link.chat_frames import ChatMessage

ANA, BO, CY, DEE = ("a1" * 16, "b2" * 16, "c3" * 16, "d4" * 16)
NOON = 1_780_000_000  # seconds; the clock is UTC in these tests


class ScriptedRoom:
    """A room that already happened: the same events, links and status every time."""

    own_id, own_nick = ANA, "ana"

    def __init__(self, printer: Printer) -> None:
        self.printer = printer
        self.restored_at = float("-inf")

    def status(self) -> RoomStatus:
        return RoomStatus(
            "lobby", False, "ws://127.0.0.1:8765", True, "connected", self.restored_at
        )

    def links(self) -> dict[str, PeerLink]:
        return {
            BO: PeerLink("bo", "host/host", 0.0031),
            CY: PeerLink("cy", "srflx/relay", 0.0874),
            DEE: PeerLink("dee", "host/host", None),
        }

    async def show_events(self) -> None:
        printer, ms = self.printer, NOON * 1000
        printer.ready("lobby", ANA, "ana", "ws://127.0.0.1:8765", True, False)
        for peer, nick in ((BO, "bo"), (CY, "cy"), (DEE, "dee")):
            printer.event(PeerJoined(peer, nick, "host/host"))
        earlier = ChatMessage("m0", BO, "bo", ms - 3_600_000, "said before ana came")
        printer.event(MessageReceived(earlier, history=True))
        printer.event(
            MessageReceived(ChatMessage("m1", BO, "bo", ms, "hi all, is the build green?"))
        )
        printer.event(
            MessageReceived(ChatMessage("m2", CY, "cy", ms + 60_000, "ana: can you look?"))
        )
        printer.event(MessageReceived(ChatMessage("m3", DEE, "dee", ms + 60_000, "\x1b[2J ☕")))
        printer.event(FileOffered("f1", CY, "cy", "build.log", 4_000_000))
        printer.event(FileProgress("f1", CY, False, 1_600_000, 4_000_000))
        printer.event(PeerLeft("e5" * 16, "eve", "silent for 2.1 s"))
        printer.event(SignallingLost("the broker closed the connection", final=False))

    async def execute(self, command: Command) -> bool:
        return not isinstance(command, Quit)

    async def close(self) -> None:
        pass


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if previous is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = previous
    time.tzset()


def scripted_app() -> ChatApp:
    async def opener(printer: Printer) -> Conversation:
        return ScriptedRoom(printer)

    return ChatApp(opener, "joining lobby…", clock=lambda: NOON + 120)


async def typed_and_settled(pilot: Any) -> None:
    # A blinking cursor is drawn or not depending on the moment: hold it still.
    pilot.app.query_one(ChatInput).cursor_blink = False
    await pilot.pause(0.3)
    await pilot.press(*"I am typing")
    await pilot.pause(0.6)  # the panel and status line are drawn twice a second


SnapCompare = Callable[..., bool]


def test_the_main_screen_at_80_by_24(snap_compare: SnapCompare) -> None:
    assert snap_compare(scripted_app(), terminal_size=(80, 24), run_before=typed_and_settled)


def test_the_main_screen_at_120_by_40(snap_compare: SnapCompare) -> None:
    assert snap_compare(scripted_app(), terminal_size=(120, 40), run_before=typed_and_settled)


def test_a_narrow_terminal_gives_the_log_the_whole_width(snap_compare: SnapCompare) -> None:
    assert snap_compare(scripted_app(), terminal_size=(50, 16), run_before=typed_and_settled)


async def test_the_log_is_laid_out_again_when_the_terminal_changes_width() -> None:
    app = scripted_app()
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause(0.3)
        chat_log = app.query_one(ChatLog)
        narrow = len(chat_log.lines)
        await pilot.resize_terminal(140, 30)
        await pilot.pause(0.3)
        width = chat_log.scrollable_content_region.width
        assert len(chat_log.lines) < narrow, "fewer lines wrapped"
        assert all(strip.cell_length <= width for strip in chat_log.lines), "nothing cut off"
        drawn = "".join(segment.text for strip in chat_log.lines for segment in strip)
        assert "reconnecting. Open chats continue; no one new can join" in drawn
        assert app.query_one(PeerPanel).display
        await pilot.resize_terminal(50, 20)
        await pilot.pause(0.3)
        assert app.query_one(PeerPanel).display is False, "a narrow terminal: log only"


async def test_scrolled_back_the_log_stays_put_and_at_the_end_it_follows() -> None:
    app = scripted_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        for n in range(60):
            app.printer.notice(f"line {n}")
        await pilot.pause(0.1)
        chat_log = app.query_one(ChatLog)
        assert chat_log.is_vertical_scroll_end
        await pilot.press("pageup", "pageup")
        await pilot.pause(0.1)
        back = chat_log.scroll_y
        assert back < chat_log.max_scroll_y
        app.printer.notice("while you read")
        await pilot.pause(0.1)
        assert chat_log.scroll_y == back, "a new line does not pull the reader down"
        await pilot.press("pagedown", "pagedown", "pagedown")
        app.printer.notice("now at the end")
        await pilot.pause(0.1)
        assert chat_log.is_vertical_scroll_end, "at the end, new lines are followed"


async def test_ctrl_d_on_an_empty_line_leaves() -> None:
    app = scripted_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        assert app.return_code is None
        await pilot.press("ctrl+d")
        await pilot.pause(0.3)
        assert app.return_code == 0, "the app is on its way out"


async def test_a_logged_warning_shows_in_the_status_line_never_in_the_log() -> None:
    app = scripted_app()
    async with app.run_test(size=(120, 24)) as pilot:
        handler = StatusLineHandler(app, asyncio.get_running_loop())
        logger = logging.getLogger("meshchat.test.status")
        logger.addHandler(handler)
        try:
            await pilot.pause(0.3)
            logger.warning("broker connection lost\nsecond line")
            logger.info("not shown")
            await pilot.pause(0.2)
        finally:
            logger.removeHandler(handler)
        status = str(app.query_one("#status").render())
        assert "⚠ broker connection lost" in status and "second line" not in status
        assert not any(
            "broker connection lost" in line for line in app.query_one(ChatLog).plain_lines()
        )


async def test_a_pasted_block_of_lines_is_kept_whole_in_the_input() -> None:
    app = scripted_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        entry = app.query_one(ChatInput)
        await pilot.press(*"see: ")
        entry.post_message(events.Paste("first line\r\n\n  second line\nthird"))
        await pilot.pause(0.1)
        assert entry.value == "see: first line second line third"


async def test_what_is_typed_right_after_enter_belongs_to_the_next_line() -> None:
    # Keys pressed after Enter reach the input before the app handles the submitted
    # line: clearing the input then wiped them (seen in a real terminal: "/send ..."
    # typed at once after a line arrived as "txt bo").
    typed: list[str] = []

    class Recording(ScriptedRoom):
        async def execute(self, command: Command) -> bool:
            typed.append(getattr(command, "text", ""))
            return True

    async def opener(printer: Printer) -> Conversation:
        return Recording(printer)

    app = ChatApp(opener, "joining lobby…", clock=lambda: NOON)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        # All at once, as a terminal delivers a fast typist's keys (pilot.press would
        # wait for each to be handled).
        for char in "line one\rline two":
            key = "enter" if char == "\r" else ("space" if char == " " else char)
            app.post_message(events.Key(key, char))
        await pilot.pause(0.3)
        assert app.query_one(ChatInput).value == "line two"
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert typed == ["line one", "line two"]
        await pilot.press("up")
        assert app.query_one(ChatInput).value == "line two", "both in the history"


async def test_a_lost_connection_warning_goes_when_signalling_is_back() -> None:
    """It stayed 15 s beside "signalling ok"; an unrelated warning stays its time."""
    app = scripted_app()
    async with app.run_test(size=(160, 24)) as pilot:
        await pilot.pause(0.3)
        room = app.conversation
        assert isinstance(room, ScriptedRoom)
        handler = StatusLineHandler(app, asyncio.get_running_loop())
        transport_log = logging.getLogger("meshchat.mesh.transports.websocket")
        transport_log.addHandler(handler)
        try:
            transport_log.warning("broker connection lost (1006); reconnecting")
            await pilot.pause(0.2)
            assert "⚠ broker connection lost" in str(app.query_one("#status").render())
            room.restored_at = time.monotonic()  # the session saw SignallingRestored
            app.show_warning("peer bo sent a bad frame", "meshchat.mesh.room")
            await pilot.pause(0.2)
            status = str(app.query_one("#status").render())
            assert "broker connection lost" not in status and "signalling ok" in status
            assert "⚠ peer bo sent a bad frame" in status
        finally:
            transport_log.removeHandler(handler)
