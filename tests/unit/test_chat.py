"""Chat envelopes on the data channel: round trip, limits, garbage, duplicates."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshchat.mesh.link.chat_frames import (
    ACK_FRAME,
    BYE_FRAME,
    HEARTBEAT_FRAME,
    MAX_TEXT_BYTES,
    MAX_TIMESTAMP_MS,
    ChannelAck,
    ChannelBye,
    ChatMessage,
    Heartbeat,
    MessageTooLarge,
    RecentIds,
    as_ranges,
    decode_channel_frame,
    decode_channel_message,
    encode_chat,
    new_chat_message,
    new_message_id,
    signed_content,
    with_acks,
)
from meshchat.mesh.signalling.messages import ProtocolError, clean_nick
from meshchat.wire.canonical import canonical

SIG = "A" * 86  # the shape of a signature; whether it verifies is the data plane's check


def test_a_chat_message_survives_the_round_trip() -> None:
    message = new_chat_message("abc", "ana", "héllo <b>", 1_700_000_000_000, 7, new_message_id())
    message = replace(message, signature=SIG)
    assert decode_channel_message(encode_chat(message)) == message
    assert decode_channel_message(encode_chat(message).encode()) == message


def test_each_message_gets_its_own_id() -> None:
    assert new_message_id() != new_message_id()


def test_text_at_the_limit_is_accepted_and_one_byte_more_is_refused_clearly() -> None:
    new_chat_message("a", "n", "x" * MAX_TEXT_BYTES, 0, 1, "m")
    with pytest.raises(MessageTooLarge, match=f"limit is {MAX_TEXT_BYTES} bytes"):
        new_chat_message("a", "n", "é" * (MAX_TEXT_BYTES // 2 + 1), 0, 1, "m")


def test_frames_at_the_byte_limit_pass_in_any_script() -> None:
    for text in ("x" * MAX_TEXT_BYTES, "é" * (MAX_TEXT_BYTES // 2), "€" * (MAX_TEXT_BYTES // 3)):
        message = decode_channel_message(chat(text=text))
        assert isinstance(message, ChatMessage) and message.text == text


def test_whole_numbers_written_as_floats_are_read_as_in_javascript() -> None:
    message = decode_channel_message(chat(seq=3.0, ts=5.0))
    assert isinstance(message, ChatMessage)
    assert (message.seq, message.timestamp_ms) == (3, 5)
    assert type(message.seq) is int and type(message.timestamp_ms) is int


@given(
    text=st.text(),
    room=st.text(min_size=1, max_size=64),
    seq=st.integers(1, 2**53 - 1),
    ts=st.integers(0, MAX_TIMESTAMP_MS),
)
def test_signed_content_is_the_canonical_json_of_the_signed_fields(
    text: str, room: str, seq: int, ts: int
) -> None:
    message = ChatMessage("m-1", "ab_c", "nick", ts, text, seq)
    expected = {"room": room, "channel": "chat", "id": "m-1", "seq": seq}
    expected |= {"from": "ab_c", "ts": ts, "text": text}
    assert signed_content(message, room) == canonical(expected)


@pytest.mark.parametrize(
    ("nick", "shown"),
    [("ana", "ana"), (" ana ", "ana"), ("a\x1b[2Jna", "a[2Jna"), ("\n\t", "anon"), ("", "anon")],
)
def test_nicks_lose_control_characters_and_outer_spaces(nick: str, shown: str) -> None:
    assert clean_nick(nick) == shown


def test_heartbeat_and_bye_frames() -> None:
    assert decode_channel_message(HEARTBEAT_FRAME) == Heartbeat()
    assert decode_channel_message(BYE_FRAME) == ChannelBye()


def chat(**override: object) -> str:
    fields = {
        "type": "chat",
        "id": "m1",
        "seq": 1,
        "from": "abc",
        "nick": "n",
        "ts": 1,
        "text": "t",
        "sig": SIG,
    }
    fields.update(override)
    return json.dumps({k: v for k, v in fields.items() if v is not ...})


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        b"\xff\xfe",
        "[]",
        '{"type":"dance"}',
        chat(id=...),
        chat(id=""),
        chat(**{"from": "bad sender!"}),
        chat(nick=None),
        chat(ts="yesterday"),
        chat(ts=True),
        chat(text=5),
        chat(text="x" * (MAX_TEXT_BYTES + 1)),
        "x" * 70_000,
        # A clock cannot show these; time.localtime raises on them.
        chat(ts=10**20),
        chat(ts=-1),
        chat(ts=MAX_TIMESTAMP_MS + 1),
        # JSON can carry a lone surrogate, which no UTF-8 output can print.
        '{"type":"chat","id":"m1","from":"abc","nick":"n","ts":1,"text":"\\ud800"}',
        chat(text="\ud800"),
        chat(text="x\udfff"),
        chat(text="é" * (MAX_TEXT_BYTES // 2 + 1)),  # short in characters, long in bytes
        chat(id="id with spaces"),
        chat(seq=0),
        chat(sig=...),
        chat(sig="A" * 85),
        chat(sig="A" * 85 + "="),
        chat(seq=...),
        chat(seq=2**53),
        chat(seq="1"),
        chat(acks=[[2, 1]]),
        chat(acks=[[1]]),
        chat(acks=[[0, 1]]),
        chat(acks=[[1, 2]] * 65),
        '{"type":"ack","acks":"all"}',
        # Nested deep enough to exhaust the parser's recursion.
        "[" * 100_000 + "]" * 100_000,
        "[" * 30_000,
    ],
)
def test_invalid_frames_raise_protocol_error(frame: str | bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_channel_message(frame)


def test_recent_ids_drops_duplicates_and_forgets_the_oldest() -> None:
    recent = RecentIds(capacity=2)
    assert recent.seen("ana", "a") is False
    assert recent.seen("ana", "a") is True
    recent.seen("ana", "b")
    recent.seen("ana", "c")  # evicts "a"
    assert recent.seen("ana", "a") is False


def test_an_id_is_a_duplicate_only_from_the_same_sender() -> None:
    recent = RecentIds()
    assert recent.seen("eve", "m1") is False
    assert recent.seen("ana", "m1") is False, "eve reusing ana's id must not hide ana's message"
    assert recent.seen("ana", "m1") is True


def test_acks_ride_on_any_frame_and_are_spliced_in_as_ranges() -> None:
    message = replace(new_chat_message("abc", "ana", "hi", 1, 3, "m"), signature=SIG)
    frame = with_acks(encode_chat(message), as_ranges({1, 2, 3, 7, 9, 10}))
    assert decode_channel_frame(frame) == (message, ((1, 3), (7, 7), (9, 10)))
    assert decode_channel_frame(with_acks(ACK_FRAME, ((4, 4),))) == (ChannelAck(), ((4, 4),))
    assert decode_channel_frame(HEARTBEAT_FRAME) == (Heartbeat(), ())
