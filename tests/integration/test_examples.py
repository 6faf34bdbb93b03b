"""The examples in examples/ run as they are, against the real broker, so they never
rot (issue 28)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from meshchat.mesh import MemoryHub, MemoryTransport, MessageReceived, Room

from .processes import EVENT_TIMEOUT, Broker
from .rooms import LOOPBACK

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def test_the_ping_bot_answers_what_is_said_while_it_is_there_and_no_history(
    meshchat_broker: Broker,
) -> None:
    async with Room(meshchat_broker.transport(), "bots", nick="ana", ice=LOOPBACK) as ana:
        await ana.send("!ping")  # before the bot comes: ana's history hands it over
        bot = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLES / "ping_bot.py"),
            meshchat_broker.url,
            "bots",
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert bot.stdout is not None
            said = await asyncio.wait_for(bot.stdout.readline(), EVENT_TIMEOUT)
            assert said.startswith(b"pingbot is ")
            async with asyncio.timeout(EVENT_TIMEOUT):
                await ana.wait_for_peers(1)
            await asyncio.sleep(1.0)  # time for history to reach it, and for a wrong answer
            await ana.send("!ping")
            answers: list[str] = []
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(3):
                    async for event in ana.events():
                        if isinstance(event, MessageReceived):
                            answers.append(event.message.text)
            assert answers == ["pong, ana"]
        finally:
            bot.terminate()
            await bot.wait()


async def test_shared_state_reaches_a_member_who_joins_late() -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        from shared_state import SharedState
    finally:
        sys.path.remove(str(EXAMPLES))
    hub = MemoryHub()
    rooms = {nick: Room(MemoryTransport(hub), "kv", nick=nick) for nick in ("ana", "bo", "cy")}
    states = {nick: SharedState(room) for nick, room in rooms.items()}
    following: list[asyncio.Task[None]] = []
    try:
        for nick in ("ana", "bo"):
            await rooms[nick].join()
            following.append(asyncio.create_task(states[nick].follow()))
        async with asyncio.timeout(EVENT_TIMEOUT):
            await rooms["ana"].wait_for_peers(1)
        await states["ana"].set("topic", "lunch")
        await states["bo"].set("where", {"floor": 3})
        await states["ana"].set("topic", "dinner")  # a later write of the same key
        await rooms["cy"].join()  # late: it was not there for any of it
        following.append(asyncio.create_task(states["cy"].follow()))
        await states["cy"].set("who", ["ana", "bo", "cy"])
        expected = {"topic": "dinner", "where": {"floor": 3}, "who": ["ana", "bo", "cy"]}
        async with asyncio.timeout(EVENT_TIMEOUT):
            while any(state.snapshot() != expected for state in states.values()):
                await asyncio.sleep(0.05)
    finally:
        for room in rooms.values():
            await room.leave()
    async with asyncio.timeout(5):
        await asyncio.gather(*following)  # each ended with its room


async def test_the_json_driver_talks_to_meshchat_join_in_json_objects(
    meshchat_broker: Broker,
) -> None:
    async with Room(meshchat_broker.transport(), "scripts", nick="ana", ice=LOOPBACK) as ana:
        scores = ana.channel("scores")
        lines: list[str] = []
        ana.on(MessageReceived, lambda event: lines.append(event.message.text))
        bin_folder = str(Path(sys.executable).parent)  # where this venv's meshchat is
        driver = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLES / "json_driver.py"),
            meshchat_broker.url,
            "scripts",
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PATH": f"{bin_folder}{os.pathsep}{os.environ['PATH']}"},
        )
        try:
            async with asyncio.timeout(EVENT_TIMEOUT):
                score = await anext(aiter(scores))
            assert score.json() == {"driver": 42} and score.nick == "driver"
            assert lines == ["hello from a script\n(on two lines)"]
            await scores.send({"ana": 7})
            async with asyncio.timeout(EVENT_TIMEOUT):
                said, _ = await driver.communicate()
            assert driver.returncode == 0
            joined, *rest = said.decode().splitlines()
            assert joined.startswith("joined scripts as ")
            assert sorted(rest) == sorted([f"delivered to {ana.id}", 'ana scored {"ana": 7}'])
        finally:
            if driver.returncode is None:
                driver.terminate()
                await driver.wait()
