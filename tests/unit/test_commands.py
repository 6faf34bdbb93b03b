"""Typed lines: commands, completion, history; mentions; where logging goes."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshchat.cli.chat_app import mentions
from meshchat.cli.commands import (
    COMMANDS,
    Clear,
    Contacts,
    Help,
    History,
    Invalid,
    Nothing,
    Peers,
    Quit,
    Say,
    SendFile,
    Trust,
    Untrust,
    Verify,
    completions,
    help_lines,
    parse,
)
from meshchat.cli.logs import log_to_file
from meshchat.cli.output import Printer
from meshchat.mesh.events import PeerLink, SentMessage
from meshchat.mesh.link.chat_frames import ChatMessage


def test_lines_and_commands() -> None:
    assert parse("hello\n") == Say("hello")
    assert parse("   \r\n") == Nothing()
    assert parse("/quit") == parse("/exit") == parse("/QUIT") == Quit()
    assert parse("/peers") == parse("/who") == Peers()
    assert parse("/help") == Help() and parse("/clear") == Clear()
    assert parse("/say /me waves") == Say("/me waves"), "/say sends a line starting with /"
    assert parse('/send "my file.txt" bo#1f0c') == SendFile("my file.txt", "bo#1f0c")
    assert parse("/send notes.txt") == SendFile("notes.txt", None)
    assert parse("/verify bo#1f0c") == Verify("bo#1f0c")
    assert parse("/trust bo") == Trust("bo") and parse("/untrust bo") == Untrust("bo")
    assert parse("/contacts") == Contacts()


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("/dance", "unknown command /dance"),
        ("/send", "usage: /send PATH [NICK]"),
        ("/send a b c", "usage: /send PATH [NICK]"),
        ('/send "unclosed', "No closing quotation"),
        ("/quit now", "/quit takes no arguments"),
        ("/say", "usage: /say TEXT"),
        ("/verify", "usage: /verify NICK"),
        ("/verify bo cy", "usage: /verify NICK"),
        ("/trust", "usage: /trust NICK"),
        ("/contacts all", "/contacts takes no arguments"),
        ("/msg", "usage: /msg NICK TEXT"),
        ("/msg bo", "usage: /msg NICK TEXT"),
        ("/msg bo   ", "usage: /msg NICK TEXT"),
    ],
)
def test_a_mistyped_command_is_explained_and_never_sent_as_chat(line: str, problem: str) -> None:
    command = parse(line)
    assert isinstance(command, Invalid) and problem in command.problem


def test_help_lists_every_command_in_aligned_columns() -> None:
    lines = help_lines()
    assert [line.split()[0] for line in lines] == [
        "/help",
        "/peers",
        "/msg",
        "/send",
        "/verify",
        "/trust",
        "/untrust",
        "/contacts",
        "/say",
        "/clear",
        "/quit",
    ]
    descriptions = [what for _, what in COMMANDS.values()]
    assert len({line.index(what) for line, what in zip(lines, descriptions, strict=True)}) == 1


def test_completion_of_commands_and_nicks() -> None:
    nicks = ["bo", "Bea", "cy"]
    assert completions("/s", nicks) == ["/say", "/send"]
    assert completions("/QU", nicks) == ["/quit"]
    assert completions("b", nicks) == ["Bea", "bo"], "any case"
    assert completions("hi @c", nicks) == ["cy"]
    assert completions("/send notes.txt b", nicks) == ["Bea", "bo"], "the NICK of /send"
    assert completions("hi ", nicks) == [] and completions("zz", nicks) == []


def test_history_walks_back_and_returns_to_the_draft() -> None:
    history = History(limit=3)
    for line in ("one", "two", "two", "", "three", "four"):
        history.add(line)
    assert history.older("draft") == "four"
    assert history.older("four") == "three"
    assert history.older("three") == "two"
    assert history.older("two") is None, "only the last 3, repeats and blanks not kept"
    assert history.newer() == "three"
    assert history.newer() == "four"
    assert history.newer() == "draft"
    assert history.newer() is None


def test_mentions_are_whole_words() -> None:
    assert mentions("ana: look", "ana") and mentions("hi @Ana!", "ana")
    assert not mentions("banana", "ana") and not mentions("anything", "ana")
    assert mentions("a.b? yes", "a.b"), "a nick is matched as text, not a pattern"
    assert not mentions("anything", "")


def test_plain_mode_lists_peers_with_route_and_round_trip() -> None:
    out = io.StringIO()
    printer = Printer(json_mode=False, stream=out)
    printer.peers({"b0" * 16: PeerLink("bo", "host/host", 0.0042)})
    printer.peers({"c1" * 16: PeerLink("cy", "relay/host", None)})
    printer.peers({})
    assert out.getvalue().splitlines() == [
        "* peers: bo#b0b0 (host/host, 4.2 ms)",
        "* peers: cy#c1c1 (relay/host, round trip not yet measured)",
        "* no peers connected",
    ]


def test_plain_mode_does_not_repeat_what_the_user_just_typed() -> None:
    out = io.StringIO()
    printer = Printer(json_mode=False, stream=out)
    message = ChatMessage("m", "a" * 32, "ana", 0, "hi")
    printer.sent(SentMessage(message, ("b" * 32,), ()))
    assert out.getvalue() == ""
    printer.sent(SentMessage(message, (), ()))
    assert out.getvalue() == "* nobody is here yet; the message was not delivered\n"


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_join_logs_to_a_file_and_never_into_the_chat(
    root_logger: logging.Logger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    terminal = io.StringIO()
    root_logger.handlers[:] = [logging.StreamHandler(terminal)]
    root_logger.setLevel(logging.WARNING)
    path = log_to_file(keep_stderr=False)
    logging.getLogger("meshchat.test").warning("lost the broker at ws://h/?token=s3cret")
    assert path == tmp_path / "meshchat" / "join.log"
    assert terminal.getvalue() == ""
    logged = path.read_text()
    assert "WARNING meshchat.test: lost the broker" in logged and "s3cret" not in logged


def test_with_verbose_line_mode_logs_to_stderr_as_well(
    root_logger: logging.Logger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    terminal = io.StringIO()
    root_logger.handlers[:] = [logging.StreamHandler(terminal)]
    log_to_file(keep_stderr=True)
    logging.getLogger("meshchat.test").warning("seen twice")
    assert "seen twice" in terminal.getvalue()
    assert "seen twice" in (tmp_path / "meshchat" / "join.log").read_text()
