"""The history core: what is kept, who is asked, what is believed."""

from __future__ import annotations

import dataclasses
import json

import pytest

from meshchat.mesh.features.history import (
    ASK_AT_MOST,
    ASK_WITHIN,
    HISTORY_CHANNEL,
    MAX_AGE,
    MAX_MESSAGES,
    UNKNOWN_NICK,
    Answer,
    HistoryBook,
    Request,
    parse,
)
from meshchat.mesh.identity import Identity
from meshchat.mesh.link.chat_frames import (
    MAX_TEXT_BYTES,
    ChatMessage,
    encode_chat,
    new_chat_message,
    read_chat_message,
    signed_content,
)
from meshchat.mesh.link.payloads import MAX_JSON_BYTES, check_json_size
from meshchat.mesh.signalling.messages import ProtocolError

ROOM = "lobby"
ANA = Identity()


def signed(text: str, seq: int = 1, author: Identity = ANA, room: str = ROOM) -> ChatMessage:
    message = new_chat_message(author.client_id, "ana", text, 1_780_000_000_000, seq, text)
    return dataclasses.replace(message, signature=author.sign(signed_content(message, room)))


def line(text: str, seq: int = 1, author: Identity = ANA) -> dict[str, object]:
    """A history entry: the author's signed chat frame and its key."""
    return {**json.loads(encode_chat(signed(text, seq, author))), "key": author.public_key_b64}


def test_it_keeps_the_last_lines_and_none_too_old() -> None:
    book = HistoryBook(ROOM)
    book.joined(0.0)
    entries = [line(f"n{n}", n + 1) for n in range(MAX_MESSAGES + 5)]  # ids differ by text
    assert book.should_ask("bo", 0.0)
    shown = book.believe("bo", Answer(entries[:MAX_MESSAGES]), 0.0)
    assert len(shown) == MAX_MESSAGES
    assert book.should_ask("cy", 0.0)
    assert [m.text for m in book.believe("cy", Answer(entries[MAX_MESSAGES:]), 10.0)] == [
        f"n{n}" for n in range(MAX_MESSAGES, MAX_MESSAGES + 5)
    ]
    kept = book.recent(10.0)
    assert len(kept) == MAX_MESSAGES and kept[0].message.text == "n5", "oldest go first"
    assert [k.message.text for k in book.recent(MAX_AGE + 5.0)] == [
        f"n{n}" for n in range(MAX_MESSAGES, MAX_MESSAGES + 5)
    ], "a day after they came, lines are forgotten"


def test_it_asks_the_first_peers_it_meets_and_believes_each_once() -> None:
    book = HistoryBook(ROOM)
    assert not book.should_ask("bo", 0.0), "not before joining"
    book.joined(100.0)
    asked = [peer for peer in ("bo", "cy", "dee") if book.should_ask(peer, 101.0)]
    assert asked == ["bo", "cy"][:ASK_AT_MOST]
    fresh = HistoryBook(ROOM)
    fresh.joined(0.0)
    assert not fresh.should_ask("bo", ASK_WITHIN + 1), "peers met later are not asked"

    answer = Answer([line("hello"), line("hello")])  # the same message twice
    assert [m.text for m in book.believe("bo", answer, 102.0)] == ["hello"], "shown once"
    assert book.believe("bo", Answer([line("again", 2)]), 102.0) == [], "one answer each"
    assert book.believe("mallory", Answer([line("unasked", 3)]), 102.0) == []
    assert book.believe("cy", Answer([line("hello")]), 102.0) == [], "already shown"


def test_entries_that_do_not_verify_are_dropped_and_counted() -> None:
    book = HistoryBook(ROOM)
    book.joined(0.0)
    assert book.should_ask("bo", 1.0)
    genuine = line("genuine")
    altered = {**genuine, "text": "altered"}
    other_key = {**line("mine", author=Identity()), "from": ANA.client_id}
    other_room = HistoryBook("elsewhere")
    garbage = [{"no": "fields"}, "text", {**genuine, "key": 5}, {**genuine, "ts": -1}]
    shown = book.believe("bo", Answer([altered, other_key, *garbage, genuine]), 1.0)
    assert [m.text for m in shown] == ["genuine"]
    assert book.forged == 6
    other_room.joined(0.0)
    other_room.should_ask("bo", 0.0)
    assert other_room.believe("bo", Answer([line("here")]), 0.0) == [], "bound to the room"


def test_answers_are_limited_and_turned_off_means_nothing() -> None:
    book = HistoryBook(ROOM)
    book.keep(signed("x"), ANA.public_key_b64, 0.0)
    first = book.answer_for("bo", 0.0)
    assert first is not None and len(first["messages"]) == 1
    assert book.answer_for("bo", 30.0) is None, "once a minute per peer"
    off = HistoryBook(ROOM, keep=False)
    off.joined(0.0)
    off.keep(signed("x"), ANA.public_key_b64, 0.0)
    assert not off.should_ask("bo", 0.0) and off.recent(0.0) == []


@pytest.mark.parametrize(
    "value",
    [[], "request", {"type": "dance"}, {"type": "messages"}, {"type": "messages", "messages": 5}],
)
def test_malformed_history_messages_are_refused(value: object) -> None:
    with pytest.raises(ProtocolError):
        parse(value)


def test_the_two_forms() -> None:
    assert parse({"type": "request"}) == Request()
    assert parse({"type": "messages", "messages": []}) == Answer([])
    with pytest.raises(ProtocolError):
        parse({"type": "messages", "messages": [{}] * (MAX_MESSAGES + 1)})


def test_an_answer_of_long_lines_keeps_the_newest_that_fit_in_one_json_value() -> None:
    book = HistoryBook(ROOM)
    for n in range(MAX_MESSAGES):
        long_line = f"{n:04} " + "é" * (MAX_TEXT_BYTES // 2 - 3)
        book.keep(signed(long_line, n + 1), ANA.public_key_b64, 0.0)
    answer = book.answer_for("bo", 0.0)
    assert answer is not None
    size = len(json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode())
    assert MAX_JSON_BYTES - 2 * MAX_TEXT_BYTES < size <= MAX_JSON_BYTES, "one line short at most"
    kept = [entry["text"][:4] for entry in answer["messages"]]
    assert kept[-1] == f"{MAX_MESSAGES - 1:04}" and kept == sorted(kept), "the newest, in order"
    check_json_size(HISTORY_CHANNEL, size)  # the data plane sends it


def test_an_answer_cannot_relabel_reorder_or_backdate_another_author_s_lines() -> None:
    """An answerer showed alice's genuine lines as from "bank-admin", in the order 1, 3,
    2: the nick is not signed and was believed, and the answer's order was kept."""
    book = HistoryBook(ROOM)
    book.joined(0.0)
    assert book.should_ask("mallory", 0.0)
    now_ms = 1_780_000_000_000 + 60_000
    lines = [line(f"alice-{n}", n) for n in (1, 3, 2)]
    for entry in lines:
        entry["nick"] = "bank-admin"
    old = line("a-day-ago", 4)
    old["ts"] = now_ms - int(MAX_AGE * 1000) - 1
    ahead = line("ahead", 5)
    ahead["ts"] = now_ms + 3_600_000
    for entry in (old, ahead):  # re-signed by alice: genuine, only said at odd times
        message = read_chat_message(entry)
        signature = ANA.sign(signed_content(message, ROOM))
        entry["sig"] = signature
    nicks = {ANA.client_id: "alice"}
    shown = book.believe(
        "mallory", Answer([*lines, old, ahead]), 1.0, now_ms=now_ms, nick_of=nicks.get
    )
    assert [(m.nick, m.text) for m in shown] == [
        ("alice", "alice-1"),
        ("alice", "alice-2"),
        ("alice", "alice-3"),
    ]
    assert book.stale == 2 and book.forged == 0


def test_an_author_the_room_does_not_know_shows_without_a_borrowed_nick() -> None:
    book = HistoryBook(ROOM)
    book.joined(0.0)
    assert book.should_ask("bo", 0.0)
    entry = line("hello")
    entry["nick"] = "admin"
    (shown,) = book.believe("bo", Answer([entry]), 1.0, nick_of=lambda author: None)
    assert shown.nick == UNKNOWN_NICK
