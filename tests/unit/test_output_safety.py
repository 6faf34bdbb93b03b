"""What is printed or logged: no terminal controls from peers, no tokens, bounded logs."""

from __future__ import annotations

import io
import json
import logging

import pytest

from meshchat.cli.output import NickBook, Printer
from meshchat.cli.terminal_text import for_terminal, json_line
from meshchat.mesh import ChatMessage, MessageReceived, PeerJoined, Received
from meshchat.mesh.signalling.sealing import RoomSeal
from meshchat.wire.quietlog import QuietLog
from meshchat.wire.redaction import RedactingFilter, redact, split_token

UNSAFE = [
    "\x1b",
    "\x07",
    "\r",
    "\n",
    "\x00",
    "\x7f",
    "\x9b",
    "\u202e",
    "\u2066",
    "\u2028",
    "\ud800",
    "\U000e0001",
    "\ue000",
]


@pytest.mark.parametrize("char", UNSAFE)
def test_no_unsafe_character_survives_for_the_terminal(char: str) -> None:
    shown = for_terminal(f"a{char}b")
    assert char not in shown and shown.startswith("a\\") and shown.endswith("b")


@pytest.mark.parametrize("char", UNSAFE)
def test_json_lines_escape_unsafe_characters_and_keep_the_value(char: str) -> None:
    line = json_line({"text": f"a{char}b", "nick": "zoë"})
    assert char not in line and "zoë" in line
    assert json.loads(line) == {"text": f"a{char}b", "nick": "zoë"}


def test_ordinary_text_is_untouched() -> None:
    text = "héllo 世界 🙂 <b>&amp;</b>\u00a0tabs?"
    assert for_terminal(text) == text


def message(sender: str, nick: str, text: str, ts: int = 1_700_000_000_000) -> MessageReceived:
    return MessageReceived(ChatMessage("m1", sender, nick, ts, text))


def test_the_printer_shows_an_event_it_cannot_format_and_goes_on() -> None:
    out = io.StringIO()
    printer = Printer(json_mode=False, stream=out)
    printer.event(message("a" * 32, "ana", "far future", ts=10**20))
    printer.event(message("a" * 32, "ana", "next"))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("--:-- <ana#aaaa> far future") and lines[1].endswith("next")


def test_namesakes_get_tags_long_enough_to_tell_them_apart() -> None:
    book = NickBook()
    book.learn("abcd1111" + "0" * 24, "ana")
    book.learn("abcd2222" + "0" * 24, "ana")
    book.learn("ffff0000" + "0" * 24, "bo")
    assert book.label("abcd1111" + "0" * 24) == "ana#abcd11"
    assert book.label("abcd2222" + "0" * 24) == "ana#abcd22"
    assert book.label("ffff0000" + "0" * 24) == "bo#ffff"


def test_the_printer_labels_peers_from_their_join() -> None:
    out = io.StringIO()
    printer = Printer(json_mode=False, stream=out)
    printer.event(PeerJoined("1234" + "0" * 28, "ana\u202e"))
    assert "\u202e" not in out.getvalue() and "ana\\u202e#1234 joined" in out.getvalue()


def test_tokens_are_taken_out_of_urls_and_redacted_in_text() -> None:
    assert split_token("ws://h:1/?room=x&token=s3cret") == ("ws://h:1/?room=x", "s3cret")
    assert split_token("ws://h:1/") == ("ws://h:1/", None)
    assert "s3cret" not in redact("GET /?token=s3cret HTTP/1.1 and Authorization: Bearer s3cret")


def test_the_redacting_filter_cleans_any_library_log_record() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.warning("< GET %s HTTP/1.1", "/?token=s3cret")
    logger.removeHandler(handler)
    assert "s3cret" not in stream.getvalue() and "token=***" in stream.getvalue()


def test_quiet_log_lets_a_few_lines_through_then_counts_the_rest() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("test.quiet")
    logger.addHandler(logging.StreamHandler(stream))
    now = [0.0]
    quiet = QuietLog(logger, lines=3, interval=10.0, clock=lambda: now[0])
    for _ in range(1000):
        quiet.warning("eve", "peer %s: %s", "garbage")
    now[0] = 11.0
    quiet.warning("eve", "peer %s: %s", "garbage")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 and "997 similar lines held back" in lines[-1]


def test_sealed_blobs_do_not_tell_the_length_of_a_nick() -> None:
    seal = RoomSeal("lobby", "secret")
    sizes = {len(seal.seal(b'{"nick":"' + b"x" * n + b'"}')) for n in range(0, 256, 7)}
    assert len(sizes) == 1
    assert seal.open(seal.seal(b'{"a":1}')).rstrip() == b'{"a":1}'


def payload(data: object, channel: str = "moves") -> Received:
    return Received(channel, "a" * 32, "ana", 1, "p1", kind="json", size=10, data=data)


@pytest.mark.parametrize("json_mode", [False, True])
def test_a_channel_value_that_cannot_be_shown_is_reported_and_the_next_one_shows(
    json_mode: bool,
) -> None:
    deep: list[object] = []
    for _ in range(100_000):  # deeper than any encoder goes
        deep = [deep]
    out = io.StringIO()
    printer = Printer(json_mode=json_mode, stream=out)
    printer.payload(payload(deep))
    printer.payload(payload({"x": "\x1b[2J\u202e"}))
    first, second = out.getvalue().splitlines()
    assert "could not show a message on 'moves' (RecursionError)" in first
    assert "\x1b" not in second and "\u202e" not in second
    if json_mode:
        assert json.loads(second)["data"] == {"x": "\x1b[2J\u202e"}
    else:
        assert second.endswith("""ana#aaaa on 'moves': {"x":"\\u001b[2J\\u202e"}""")
