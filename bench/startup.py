"""How soon `meshchat join` puts its app on the screen, in a real terminal (tmux).

    python -m bench.startup --rounds 10

Times, per round: the README's command (the `meshchat` script) from launch until the
app's status line is on the screen, and until it says it is in the room (a broker
started by this benchmark, on loopback); against the same round's baseline, a Python
that imports Textual and nothing else (what any Textual app pays before it can draw).
Prints a Markdown table: median and 95th percentile, and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from .harness import BrokerProcess

SCRIPT = str(Path(sys.executable).with_name("meshchat"))


def tmux(socket: str, *args: str) -> str:
    done = subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True)
    return done.stdout


async def until_screen_shows(socket: str, marks: tuple[str, ...], started: float) -> float:
    while not all(mark in tmux(socket, "capture-pane", "-p", "-t", "app") for mark in marks):
        if time.monotonic() - started > 30:
            raise RuntimeError(tmux(socket, "capture-pane", "-p", "-t", "app"))
        await asyncio.sleep(0.005)
    return time.monotonic() - started


async def one_round(broker: BrokerProcess, home: Path) -> tuple[float, float, float]:
    """(Textual's import alone, app on the screen, app in the room), in seconds."""
    started = time.monotonic()
    baseline = await asyncio.create_subprocess_exec(sys.executable, "-c", "import textual.app")
    await baseline.wait()
    textual_alone = time.monotonic() - started

    socket = f"bench-{uuid.uuid4().hex[:8]}"
    env = [f"HOME={home}", f"XDG_STATE_HOME={home}/state", "TERM=xterm-256color"]
    command = [SCRIPT, "join", "bench", "--nick", "ana", "--broker", broker.url]
    command += ["--host-address", "127.0.0.1"]
    started = time.monotonic()
    tmux(socket, "new-session", "-d", "-s", "app", "-x", "80", "-y", "24",
         shlex.join(["env", *env, *command]))  # fmt: skip
    try:
        on_screen = await until_screen_shows(socket, ("> ", "bench"), started)
        in_room = await until_screen_shows(socket, ("signalling ok",), started)
        tmux(socket, "send-keys", "-t", "app", "C-c")
        await asyncio.sleep(0.5)
    finally:
        tmux(socket, "kill-server")
    return textual_alone, on_screen, in_room


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


async def main(rounds: int) -> None:
    broker = await BrokerProcess.start()
    try:
        with tempfile.TemporaryDirectory() as home:
            results = [await one_round(broker, Path(home)) for _ in range(rounds)]
    finally:
        await broker.stop()
    alone, screen, room = (list(column) for column in zip(*results, strict=True))
    print(f"`python -m bench.startup --rounds {rounds}` (80x24 tmux, seconds)\n")
    print("| | median | p95 | median / Textual's import |")
    print("|---|---|---|---|")
    for name, values in (
        ("a Python importing Textual, nothing else (baseline)", alone),
        ("`meshchat join`: the app on the screen", screen),
        ("`meshchat join`: in the room (signalling ok)", room),
    ):
        ratio = statistics.median(values) / statistics.median(alone)
        print(f"| {name} | {statistics.median(values):.3f} | {p95(values):.3f} | {ratio:.2f}x |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    asyncio.run(main(parser.parse_args().rounds))
