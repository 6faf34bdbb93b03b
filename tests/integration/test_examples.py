"""The examples in examples/ run as they are, against the real broker, so they never
rot (issue 28)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from meshchat.mesh import MessageReceived, Room

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
