"""Channels with real processes, the real broker and real Chromium: three Python peers
and a page exchange JSON values and binary payloads of 1 byte, 16 KiB, 5 MiB and
64 MiB, to everyone and to one peer. Every payload arrives once and intact (each
receiver hashes the bytes itself); a payload with a forged author signature is
dropped and counted; 64 MiB + 1 byte is refused before anything is sent."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from collections import Counter
from typing import Any

import pytest

from meshchat.mesh.webrtc.engines import ENGINE_VARIABLE, default_engine

from .channel_peer import pattern
from .processes import REPO, Broker, Peer
from .test_browser import (
    TIMEOUT_MS,
    loopback_namespace,
    open_page,
    page_id,
    room_setup,
    wait_for_names,
)

pytestmark = pytest.mark.integration
__all__ = ["loopback_namespace", "room_setup"]  # fixtures shared with test_browser

SIZES = [1, 16 * 1024, 5 * 1024 * 1024, 64 * 1024 * 1024]
MOVE = {"move": "e4", "clock": [1, 2], "note": "zoë ♞"}
PAYLOAD_TIMEOUT = 300.0  # 64 MiB through pure-Python SCTP to three peers on two cores

PAGE_SETUP = """() => {
  const hex = (buffer) => [...new Uint8Array(buffer)]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  window.pattern = (size, seed) => {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 255;
    return bytes;
  };
  window.got = [];
  window.files = window.meshchatRoom.channel("files");
  window.files.addEventListener("message", async ({ detail }) => {
    const entry = { from: detail.from, size: detail.size };
    if (detail.data instanceof Uint8Array) {
      entry.sha256 = hex(await crypto.subtle.digest("SHA-256", detail.data));
    } else {
      entry.value = detail.data;
    }
    window.got.push(entry);
  });
}"""

PAGE_SEND = """async ([size, seed, json, to]) => {
  const data = json === null ? window.pattern(size, seed) : json;
  try {
    const sent = await window.files.send(data, { to });
    return { id: sent.header.id };
  } catch (error) {
    return { error: error.message };
  }
}"""


def expected_bytes(sender: str, size: int, seed: int) -> dict[str, Any]:
    return {"from": sender, "size": size, "sha256": hashlib.sha256(pattern(size, seed)).hexdigest()}


def expected_json(sender: str, value: Any) -> dict[str, Any]:
    return {"from": sender, "value": value}


def key(entry: dict[str, Any]) -> str:
    """What identifies a payload as received: its sender, and its bytes' size and hash,
    or its JSON value."""
    fields = ("from", "value") if "value" in entry else ("from", "size", "sha256")
    return repr([(name, entry[name]) for name in fields])


def python_got(peer: Peer) -> list[dict[str, Any]]:
    return [e for e in peer.events if e["event"] == "payload"]


async def page_got(page: Any) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = await page.evaluate("window.got")
    return got


async def wait_until_received(
    pythons: list[Peer], page: Any, expected: dict[str, list[dict[str, Any]]]
) -> None:
    """Wait until each receiver (nick or "page") has at least what it is expected to."""
    async with asyncio.timeout(PAYLOAD_TIMEOUT):
        while True:
            done = True
            for name, wanted in expected.items():
                if name == "page":
                    have = await page_got(page)
                else:
                    have = python_got(next(p for p in pythons if p.nick == name))
                if not Counter(map(key, wanted)) <= Counter(map(key, have)):
                    done = False
            if done:
                return
            await asyncio.sleep(0.2)


async def python_sends(peer: Peer, tag: str, **command: Any) -> dict[str, Any]:
    await peer.command({"tag": tag, **command})
    return await peer.wait_for(
        lambda e: e.get("tag") == tag and e["event"] in ("sent", "error"), within=PAYLOAD_TIMEOUT
    )


async def test_python_peers_and_a_page_exchange_json_and_binary_payloads(
    room_setup: tuple[Broker, Any, list[str]],
) -> None:
    broker, browser, launcher = room_setup
    page = await open_page(browser, broker, "wanda")
    await page.evaluate(PAGE_SETUP)
    command = [*launcher, sys.executable, "-m", "tests.integration.channel_peer", broker.url]
    # Run over libdatachannel (tests/run's second phase), the room mixes all three: ana
    # on aiortc, bo and cy on libdatachannel, and the page.
    engines = {"ana": "aiortc"} if os.environ.get(ENGINE_VARIABLE) == "libdatachannel" else {}
    pythons = [
        await Peer.spawn(
            nick,
            [*command, "web", nick],
            {**os.environ, ENGINE_VARIABLE: engines.get(nick, default_engine())},
            cwd=REPO,
        )
        for nick in ("ana", "bo", "cy")
    ]
    try:
        ana, bo, cy = pythons
        wanda = await page_id(page)
        await wait_for_names(page, ["ana", "bo", "cy"])
        for python in pythons:
            await python.wait_for_peers({wanda, *(p.id for p in pythons if p is not python)})
        expected: dict[str, list[dict[str, Any]]] = {"ana": [], "bo": [], "cy": [], "page": []}

        # Python to everyone: a JSON value, then each size.
        await python_sends(ana, "move", send={"json": MOVE})
        for n in ("bo", "cy", "page"):
            expected[n].append(expected_json(ana.id, MOVE))
        for seed, size in enumerate(SIZES):
            sent = await python_sends(ana, f"all-{size}", send={"size": size, "seed": seed})
            assert sent["event"] == "sent", sent
            for n in ("bo", "cy", "page"):
                expected[n].append(expected_bytes(ana.id, size, seed))
        await wait_until_received(pythons, page, expected)

        # The page to one Python peer: a JSON value, then each size.
        for seed, size in enumerate(SIZES, start=10):
            result = await page.evaluate(PAGE_SEND, [size, seed, None, [ana.id]])
            assert "id" in result, result
            expected["ana"].append(expected_bytes(wanda, size, seed))
        result = await page.evaluate(PAGE_SEND, [0, 0, MOVE, [ana.id]])
        expected["ana"].append(expected_json(wanda, MOVE))
        # ... and a small one to everyone.
        await page.evaluate(PAGE_SEND, [SIZES[1], 30, None, None])
        for n in ("ana", "bo", "cy"):
            expected[n].append(expected_bytes(wanda, SIZES[1], 30))
        # A Python peer to the page alone.
        for seed, size in enumerate(SIZES[:3], start=20):
            await python_sends(bo, f"page-{size}", send={"size": size, "seed": seed}, to=[wanda])
            expected["page"].append(expected_bytes(bo.id, size, seed))
        await wait_until_received(pythons, page, expected)

        # A forgery (signed by a key that is not cy's), then a genuine payload from cy.
        await python_sends(cy, "forged", forge={"json": {"i am": "forged"}})
        await python_sends(cy, "genuine", send={"json": {"i am": "cy"}})
        for n in ("ana", "bo", "page"):
            expected[n].append(expected_json(cy.id, {"i am": "cy"}))
        await wait_until_received(pythons, page, expected)

        # Everything arrived exactly once, and nothing else did.
        for python in pythons:
            got = Counter(map(key, python_got(python)))
            assert got == Counter(map(key, expected[python.nick])), python.nick
        assert Counter(map(key, await page_got(page))) == Counter(map(key, expected["page"]))
        for python in (ana, bo):
            await python.command({"stats": True})
            stats = await python.wait_for(lambda e: e["event"] == "stats")
            assert stats["forged"] == 1, python.nick
        assert await page.evaluate("window.meshchatRoom.forged") == 1

        # One byte over the limit: a clear error, and nothing sent.
        too_big = await python_sends(ana, "too big", send={"size": SIZES[-1] + 1, "seed": 0})
        assert too_big["event"] == "error" and "64 MiB" in too_big["error"]
        result = await page.evaluate(PAGE_SEND, [SIZES[-1] + 1, 0, None, None])
        assert "64 MiB" in result.get("error", ""), result
        await asyncio.sleep(1.0)
        assert len(python_got(bo)) == len(expected["bo"]), "nothing of it arrived"
    finally:
        for python in pythons:
            await python.stop()
        assert TIMEOUT_MS  # the page's own waits use the browser suite's bound
