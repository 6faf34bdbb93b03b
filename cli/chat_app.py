"""The terminal app of ``meshchat join`` (Textual): a message log that incoming traffic
never mixes with what you type, a panel of who is here with each link's ICE route and
round trip, a status line, progress bars for files, input history and tab completion.

The app knows the room only as a :class:`~.conversation.Conversation`. It is on the
screen before the room's machinery (aiortc) has even loaded: ``run_app`` opens a
session behind it, and joining shows in the status line.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import re
import signal
import sys
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar

import click
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import Input, Label, ProgressBar, RichLog, Static

from meshchat.mesh.events import PeerLink
from meshchat.wire.redaction import split_token

from .commands import Clear, History, Nothing, Quit, completions, parse
from .conversation import Conversation, RoomStatus
from .join_options import JoinOptions
from .output import NoticeKind, Printer, clock, describe_round_trip
from .terminal_text import for_terminal

log = logging.getLogger(__name__)

# Nick colours, stable per peer id: readable on dark and light backgrounds alike.
PALETTE = (
    "#e06c75",
    "#98c379",
    "#e5c07b",
    "#61afef",
    "#c678dd",
    "#56b6c2",
    "#d19a66",
    "#8fbcbb",
    "#b48ead",
    "#a3be8c",
    "#ebcb8b",
    "#88c0d0",
)
NARROW = 60  # columns below which the side panel makes way for the log
WIDE = 110  # columns from which it gets wider
TRANSFER_LINGER = 5.0  # seconds a finished transfer's bar stays up
WARNING_SHOWN_FOR = 15.0  # seconds a logged warning stays in the status line
# Loggers whose warnings are about the signalling connection: signalling coming back
# ends them at once (a stale "connection lost" beside "signalling ok" would contradict).
SIGNALLING_LOGGERS = ("meshchat.mesh.transports.websocket", "meshchat.mesh.transports.ably", "ably")

# Starts the conversation behind the app: given the printer that the room's events are
# to be shown through; raises click.ClickException if the room cannot be joined.
Opener = Callable[[Printer], Awaitable[Conversation]]


def colour_of(peer_id: str) -> str:
    return PALETTE[zlib.crc32(peer_id.encode()) % len(PALETTE)]


def safe(text: str) -> str:
    """Stranger-chosen text as the terminal may show it: no control sequence survives
    (Rich is given plain Text, never markup, so brackets are just brackets too)."""
    return for_terminal(text)


def mentions(text: str, nick: str) -> bool:
    """Whether ``text`` names ``nick`` as a word (``@ana``, ``ana:``, ``hi ana``)."""
    if not nick:
        return False
    return re.search(rf"(?<![\w]){re.escape(nick)}(?![\w])", text, re.IGNORECASE) is not None


def chat_line(
    timestamp_ms: int, sender: str, label: str, text: str, text_style: str, own: bool = False
) -> Text:
    """``HH:MM nick#tag text``, the nick in its peer's colour (underlined: our own)."""
    nick_style = f"bold {'underline ' if own else ''}{colour_of(sender)}"
    return Text.assemble(
        (f"{clock(timestamp_ms)} ", "dim"),
        (safe(label), nick_style),
        (" ", ""),
        (safe(text), text_style),
    )


class AppSink:
    """The printer's lines for people, drawn into the app's widgets."""

    def __init__(self, app: ChatApp) -> None:
        self._app = app

    def notice(self, text: str, kind: NoticeKind) -> None:
        style = "bold red" if kind == "problem" else "dim italic"
        mark = "!" if kind == "problem" else "*"
        now_ms = int(self._app.clock() * 1000)
        line = Text.assemble((f"{clock(now_ms)} ", "dim"), (f"{mark} {safe(text)}", style))
        self._app.write_line(line)

    def message(self, timestamp_ms: int, sender: str, label: str, text: str, history: bool) -> None:
        highlight = mentions(text, self._app.own_nick) and not history
        line = chat_line(timestamp_ms, sender, label, text, "bold reverse" if highlight else "")
        if history:  # said before we came: dimmed, as the room's past
            line.stylize("dim")
        self._app.write_line(line)

    def own_message(self, timestamp_ms: int, sender: str, label: str, text: str) -> None:
        self._app.write_line(chat_line(timestamp_ms, sender, label, text, "", own=True))

    def progress(self, transfer: str, peer: str, caption: str, done: int, total: int) -> None:
        self._app.show_progress((transfer, peer), safe(caption), done, total)

    def transfer_ended(self, transfer: str, peer: str) -> None:
        self._app.end_progress((transfer, peer))


class ChatInput(Input):
    """The input line: history on Up/Down, completion on Tab, Ctrl-D leaves when empty."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "older", show=False),
        Binding("down", "newer", show=False),
        Binding("tab", "complete", show=False),
        Binding("ctrl+d", "end_of_input", show=False),
    ]

    def __init__(self, nicks: Callable[[], list[str]]) -> None:
        super().__init__(placeholder="type a message, /help for commands", id="input")
        self.history = History()
        self._nicks = nicks
        self._cycle: tuple[str, list[str], int] | None = None  # (value shown, choices, index)

    def _on_paste(self, event: events.Paste) -> None:
        # Input keeps only a paste's first line; a chat line takes all of them, joined,
        # for the user to see before sending (nothing pasted is lost or sent unseen).
        lines = [line.strip() for line in event.text.splitlines() if line.strip()]
        if lines:
            selection = self.selection
            if selection.is_empty:
                self.insert_text_at_cursor(" ".join(lines))
            else:
                self.replace(" ".join(lines), *selection)
        event.prevent_default()  # not Input's own handler after this one
        event.stop()

    async def _on_key(self, event: events.Key) -> None:
        # Enter is taken here, in turn with the keys around it: as a binding it would
        # go round through the app, behind keys typed after it (a fast typist's next
        # line would join this one).
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            await self.action_submit()

    async def action_submit(self) -> None:
        # Cleared here, at the Enter itself: keys typed after it may be handled before
        # the app gets to the submitted line, and belong to the next one.
        line, self.value = self.value, ""
        self.history.add(line)
        self.post_message(self.Submitted(self, line))

    def action_older(self) -> None:
        if (line := self.history.older(self.value)) is not None:
            self._show(line)

    def action_newer(self) -> None:
        if (line := self.history.newer()) is not None:
            self._show(line)

    def action_end_of_input(self) -> None:
        if self.value:
            self.action_delete_right()
        elif isinstance(self.app, ChatApp):
            self.app.leave()

    def action_complete(self) -> None:
        if self._cycle is not None and self._cycle[0] == self.value:
            _, choices, index = self._cycle
            index = (index + 1) % len(choices)
            self._cycle = None
            word_start = self._word_start()
            self._replace_word(word_start, choices, index)
            return
        choices = completions(self.value[: self.cursor_position], self._nicks())
        if choices:
            self._replace_word(self._word_start(), choices, 0)

    def _word_start(self) -> int:
        before = self.value[: self.cursor_position]
        return before.rfind(" ") + 1

    def _replace_word(self, start: int, choices: list[str], index: int) -> None:
        choice = choices[index]
        at_line_start = start == 0 and not choice.startswith("/")
        completed = choice + (": " if at_line_start else " ")
        after = self.value[self.cursor_position :]
        self.value = self.value[:start] + completed + after.lstrip(" ")
        self.cursor_position = start + len(completed)
        self._cycle = (self.value, choices, index) if len(choices) > 1 else None

    def _show(self, line: str) -> None:
        self.value = line
        self.cursor_position = len(line)


class ChatLog(RichLog):
    """The message log: lines are kept as Text and laid out again when the width
    changes (RichLog alone keeps them cut to the width they were first drawn at)."""

    SCROLLBACK = 5000  # lines kept

    def __init__(self) -> None:
        super().__init__(
            id="log",
            wrap=True,
            markup=False,
            highlight=False,
            auto_scroll=False,
            max_lines=4 * self.SCROLLBACK,  # drawn lines: a long message wraps into several
        )
        self._texts: deque[Text] = deque(maxlen=self.SCROLLBACK)
        self._laid_out_for = 0

    def add(self, line: Text) -> None:
        self._texts.append(line)
        if self._laid_out_for:  # before the first layout, on_resize draws it
            # Follow new lines only if the reader is at the bottom: scrolled back, they stay.
            at_end = self.is_vertical_scroll_end or self.max_scroll_y == 0
            self.write(line, width=self._laid_out_for, scroll_end=at_end)

    def forget(self) -> None:
        self._texts.clear()
        self.clear()

    def plain_lines(self) -> list[str]:
        """The log's lines as text, unwrapped (for tests and copying)."""
        return [line.plain for line in self._texts]

    def on_resize(self, event: events.Resize) -> None:
        # Runs before RichLog's own handler, which draws the writes made before the
        # size was known (each with the width given here).
        width = self.scrollable_content_region.width
        if width > 0 and width != self._laid_out_for:
            at_end = self.is_vertical_scroll_end or self.max_scroll_y == 0
            self.clear()
            self._laid_out_for = width
            for line in self._texts:
                self.write(line, width=width, scroll_end=at_end)


class PeerPanel(Static):
    """Who is here: us first, then each peer with its route and round trip."""

    def show(
        self, own: tuple[str, str] | None, labels: dict[str, str], links: dict[str, PeerLink]
    ) -> None:
        text = Text()
        text.append(f"here ({len(links) + (1 if own else 0)})\n", "bold")
        if own is not None:
            own_id, own_label = own
            text.append(safe(own_label), f"bold underline {colour_of(own_id)}")
            text.append(" (you)\n", "dim")
        for peer_id, link in sorted(links.items(), key=lambda item: item[1].nick.lower()):
            text.append(safe(labels.get(peer_id, link.nick)), f"bold {colour_of(peer_id)}")
            rtt = "…" if link.round_trip is None else describe_round_trip(link.round_trip)
            text.append(f"\n  {safe(link.route)} {rtt}\n", "dim")
        self.update(text)


class ChatApp(App[None]):
    TITLE = "meshchat"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    Screen { layout: vertical; }
    #main { height: 1fr; }
    #log {
        width: 1fr; height: 1fr; border: none; padding: 0 0 0 1;
        scrollbar-size-vertical: 1; scrollbar-gutter: stable; overflow-x: hidden;
    }
    #peers { width: 26; height: 1fr; padding: 0 1; border-left: tall $primary-background; }
    #peers.wide { width: 34; }
    #transfers { height: auto; max-height: 6; padding: 0 1; }
    .transfer { height: 1; }
    .transfer > .caption { width: 1fr; }
    .transfer > ProgressBar { width: 30; }
    .transfer Bar { width: 22; }
    #status { height: 1; background: $primary-background; color: $text; padding: 0 1; }
    #prompt { width: 2; height: 1; background: $surface; }
    #entry { height: 1; }
    #input { border: none; height: 1; padding: 0; background: $surface; }
    #input:focus { border: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "leave", "Leave", priority=True),
        Binding("pageup", "scroll_log(-1)", show=False, priority=True),
        Binding("pagedown", "scroll_log(1)", show=False, priority=True),
        Binding("ctrl+l", "clear", show=False),
    ]

    def __init__(
        self, opener: Opener, joining: str, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__()
        self.clock = clock  # when notices happen (fixed in screenshot tests)
        self._opener = opener
        self._joining = joining  # what the status line says until we are in
        self.printer = Printer(json_mode=False, sink=AppSink(self))
        self.conversation: Conversation | None = None
        self.failure: str | None = None  # why the room could not be joined
        self._leaving = False
        self._terminal_gone = False
        self._warning: _Warning | None = None
        self._bars: dict[tuple[str, str], Horizontal] = {}

    # -- layout --

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield ChatLog()
            yield PeerPanel(id="peers")
        yield Vertical(id="transfers")
        yield Static(id="status")
        with Horizontal(id="entry"):
            yield Label("> ", id="prompt")
            yield ChatInput(self._nicks)

    def on_mount(self) -> None:
        self.query_one(ChatInput).focus()
        self._refresh()
        self.set_interval(0.5, self._refresh)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, self.leave)
            loop.add_signal_handler(signal.SIGHUP, self._hung_up)
        self.run_worker(self._converse(), name="conversation")

    def on_resize(self, event: events.Resize) -> None:
        panel = self.query_one(PeerPanel)
        panel.display = event.size.width >= NARROW
        panel.set_class(event.size.width >= WIDE, "wide")

    # -- the conversation --

    async def _converse(self) -> None:
        try:
            self.conversation = await self._opener(self.printer)
        except click.ClickException as error:
            self.failure = error.format_message()
            self.exit(return_code=1)
            return
        except Exception as error:  # shown, not a traceback over the screen
            log.exception("could not join")
            self.failure = f"could not join: {error}"
            self.exit(return_code=1)
            return
        self._refresh()
        try:
            await self.conversation.show_events()
        except Exception as error:
            log.exception("the room's events stopped")
            self.printer.error(f"the room's events stopped: {error}")

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        command = parse(event.value)
        if isinstance(command, Nothing):
            return
        if self.conversation is None and not isinstance(command, Quit | Clear):
            self.printer.error("still joining; the line is kept: send it again in a moment")
            entry = self.query_one(ChatInput)
            if not entry.value:  # unless the next one is being typed already
                entry.value = event.value
            return
        if isinstance(command, Quit):
            self.leave()
        elif isinstance(command, Clear):
            self.action_clear()
        elif self.conversation is not None:
            try:
                staying = await self.conversation.execute(command)
            except Exception as error:  # a failed command is reported; the app goes on
                log.exception("command %r failed", command)
                self.printer.error(f"that did not work: {error}")
                return
            if not staying:
                self.leave()

    def action_leave(self) -> None:
        self.leave()

    async def action_quit(self) -> None:
        self.leave()

    def leave(self) -> None:
        """Leave cleanly: peers are told at once (Ctrl-C, Ctrl-D, /quit, SIGTERM)."""
        if self._leaving:
            return
        self._leaving = True
        self._set_status(Text("leaving…", "bold"))
        self.run_worker(self._close(), name="leave")

    def _hung_up(self) -> None:
        """The terminal is gone (its window closed): say bye, then end the process
        without restoring a terminal that is not there (Textual would wait on it)."""
        self._terminal_gone = True
        self.leave()

    async def _close(self) -> None:
        try:
            await self._close_conversation()
        finally:
            if self._terminal_gone:
                logging.shutdown()
                os._exit(0)
            self.exit()

    async def _close_conversation(self) -> None:
        conversation, self.conversation = self.conversation, None
        if conversation is not None:
            await conversation.close()

    async def on_unmount(self) -> None:
        # However the app ends (an exception, a test's pilot), the room is left.
        await self._close_conversation()

    def action_scroll_log(self, pages: int) -> None:
        chat_log = self.query_one(ChatLog)
        if pages < 0:
            chat_log.scroll_page_up(animate=False)
        else:
            chat_log.scroll_page_down(animate=False)

    def action_clear(self) -> None:
        self.query_one(ChatLog).forget()

    # -- drawing --

    @property
    def own_nick(self) -> str:
        return self.conversation.own_nick if self.conversation is not None else ""

    def write_line(self, line: Text) -> None:
        self.query_one(ChatLog).add(line)

    def show_progress(self, key: tuple[str, str], caption: str, done: int, total: int) -> None:
        row = self._bars.get(key)
        if row is None:
            bar = ProgressBar(total=max(total, 1), show_eta=False)
            bar.progress = done
            row = Horizontal(Label(caption, classes="caption"), bar, classes="transfer")
            self._bars[key] = row
            self.query_one("#transfers", Vertical).mount(row)
        else:
            row.query_one(ProgressBar).update(total=max(total, 1), progress=done)
        if done >= total:
            self.end_progress(key)

    def end_progress(self, key: tuple[str, str]) -> None:
        row = self._bars.get(key)
        if row is not None:
            self.set_timer(TRANSFER_LINGER, lambda: self._remove_bar(key, row))

    def _remove_bar(self, key: tuple[str, str], row: Horizontal) -> None:
        if self._bars.get(key) is row:
            del self._bars[key]
            row.remove()

    def show_warning(self, message: str, source: str = "") -> None:
        """A logged warning (from the logger ``source``): in the status line for a
        while, never in the chat."""
        now = time.monotonic()
        self._warning = _Warning(message, now, now + WARNING_SHOWN_FOR, source)
        self._refresh()

    def _nicks(self) -> list[str]:
        if self.conversation is None:
            return []
        links = self.conversation.links()
        labels = [self.printer.nicks.label(peer_id, link.nick) for peer_id, link in links.items()]
        nicks = [link.nick for link in links.values()]
        unique = [nick for nick in nicks if nicks.count(nick) == 1]
        return unique + [
            label for label, nick in zip(labels, nicks, strict=True) if nicks.count(nick) > 1
        ]

    def _refresh(self) -> None:
        if self._leaving:
            return  # the status line says so
        with contextlib.suppress(NoMatches):  # the app is closing: its widgets are going
            self._redraw_panel_and_status()

    def _redraw_panel_and_status(self) -> None:
        conversation = self.conversation
        panel = self.query_one(PeerPanel)
        if conversation is None:
            panel.show(None, {}, {})
            self._set_status(Text(safe(self._joining), "italic"))
            return
        links = conversation.links()
        for peer_id, link in links.items():
            self.printer.nicks.learn(peer_id, link.nick)
        labels = {
            peer_id: self.printer.nicks.label(peer_id, link.nick) for peer_id, link in links.items()
        }
        own = (conversation.own_id, self.printer.nicks.label(conversation.own_id))
        panel.show(own, labels, links)
        self._set_status(self._status_line(conversation.status(), len(links)))

    def _status_line(self, status: RoomStatus, peers: int) -> Text:
        # Most telling first: on a narrow terminal the end is cut off.
        line = Text()
        line.append(safe(status.room), "bold")
        line.append(" · ")
        line.append("sealed" if status.sealed else "open", "green" if status.sealed else "yellow")
        line.append(f" · {peers} {'peer' if peers == 1 else 'peers'} · ")
        match status.signalling:
            case "connected":
                line.append("signalling ok", "green")
            case "reconnecting":
                line.append("signalling lost, reconnecting", "bold yellow")
            case "lost":
                line.append("signalling lost", "bold red")
        if (warning := self._warning) is not None:
            about_signalling = warning.source.startswith(SIGNALLING_LOGGERS)
            if about_signalling and status.restored_at > warning.logged_at:
                self._warning = None  # signalling came back since: the status says so
            elif time.monotonic() < warning.until:
                line.append(f" · ⚠ {safe(warning.message)}", "yellow")
            else:
                self._warning = None
        line.append(" · ")
        line.append(safe(status.where))
        if status.hosting_broker:
            line.append(" (hosted here)", "dim")
        return line

    def _set_status(self, line: Text) -> None:
        self.query_one("#status", Static).update(line)


@dataclass(frozen=True, slots=True)
class _Warning:
    message: str
    logged_at: float  # time.monotonic()
    until: float
    source: str  # the logger's name


class StatusLineHandler(logging.Handler):
    """Log records of WARNING and above, shown in the app's status line: from any
    thread, at any time (before the app runs they are dropped; the file has them)."""

    def __init__(self, app: ChatApp, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.WARNING)
        self._app = app
        self._loop = loop

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = (
                record.getMessage().splitlines()[0] if record.getMessage() else record.levelname
            )
            self._loop.call_soon_threadsafe(self._app.show_warning, message[:200], record.name)
        except Exception:  # a log record must never take the app down
            self.handleError(record)


def open_session(options: JoinOptions) -> Opener:
    async def opener(printer: Printer) -> Conversation:
        # aiortc and the room load on a thread, so the screen is up and answering
        # while they do (most of a second here); the import lock keeps it one load.
        session_module = await asyncio.to_thread(importlib.import_module, "meshchat.cli.session")
        session: Conversation = await session_module.ChatSession.open(options, printer)
        return session

    return opener


def joining_line(options: JoinOptions) -> str:
    if options.transport_kind == "ably":
        where = "Ably"
    else:
        where = split_token(options.broker_url)[0] if options.broker_url else "the default broker"
    return f"joining {options.room_name} via {where}…"


def run_app(options: JoinOptions) -> None:
    """Run the app until the user leaves; a room that cannot be joined is reported on
    stderr once the terminal is back to normal, with exit status 1."""
    app = ChatApp(open_session(options), joining_line(options))

    async def main() -> None:
        handler = StatusLineHandler(app, asyncio.get_running_loop())
        logging.getLogger().addHandler(handler)
        try:
            await app.run_async()
        finally:
            logging.getLogger().removeHandler(handler)

    asyncio.run(main())
    if app.failure is not None:
        click.echo(f"Error: {app.failure}", err=True)
        sys.exit(1)
