"""``meshchat join --json`` driven by JSON objects on stdin, process to process over the
real broker: lines of several lines, channel payloads to chosen peers with their
outcome, and requests that make no sense answered with an error, the process serving
on."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import PeerFactory
from .processes import Broker, Peer

pytestmark = pytest.mark.integration


async def test_json_objects_reach_the_room_and_bad_ones_are_explained(
    meshchat_broker: Broker, spawn_peer: PeerFactory
) -> None:
    ana = await spawn_peer(meshchat_broker, "json-in", "ana", "--channel", "moves")
    bo = await spawn_peer(meshchat_broker, "json-in", "bo")
    await bo.wait_for_peers({ana.id})
    await ana.wait_for_peers({bo.id})

    for bad in ('{"say": "a", "quit": true}', '{"channel": "moves"}', "{broken"):
        await bo.command_line(bad)
    await bo.command({"channel": "moves", "data": 1, "to": ["nobody"]})
    await bo.command({"channel": "chat", "data": "hi"})
    await bo.wait_for(lambda _: len(errors_of(bo)) >= 5)
    expected = [
        'name exactly one action: one of {"say": ',
        'a channel message has "data" (a JSON value) or "bytes"',
        "input is not a JSON object (Expecting property name",
        "no peer here is called nobody",
        'the chat channel carries text: send {"say": TEXT}',
    ]
    said = [e["message"] for e in errors_of(bo)]
    assert len(said) == len(expected)
    assert all(message.startswith(start) for message, start in zip(said, expected, strict=True))

    await bo.command({"say": "two\nlines"})
    line = await ana.wait_for(lambda e: e["event"] == "message")
    assert (line["text"], line["sender"], line["from"]) == ("two\nlines", bo.id, bo.id)
    assert line["timestamp_ms"] == line["ts"]

    await bo.command({"channel": "moves", "data": {"x": [1, 2]}, "to": ["ana"]})
    sent = await bo.wait_for(lambda e: e["event"] == "payload-sent")
    assert (sent["channel"], sent["to"]) == ("moves", [ana.id])
    got = await ana.wait_for(lambda e: e["event"] == "payload")
    assert (got["data"], got["sender"], got["nick"], got["id"]) == (
        {"x": [1, 2]},
        bo.id,
        "bo",
        sent["id"],
    )
    delivered = await bo.wait_for(lambda e: e["event"] == "payload-delivered")
    assert (delivered["id"], delivered["peer"]) == (sent["id"], ana.id)

    await bo.command({"channel": "moves", "bytes": "AAEC"})
    raw = await ana.wait_for(lambda e: e["event"] == "payload" and e["kind"] == "bytes")
    assert raw["bytes"] == "AAEC" and raw["size"] == 3
    await bo.command({"quit": True})
    assert await bo.quit() == 0


def errors_of(peer: Peer) -> list[dict[str, Any]]:
    return [e for e in peer.events if e["event"] == "error"]
