"""Bulk transfer: 64 MiB from one process to another through a meshchat channel, against
a bare aiortc data channel between two processes in the same run.

    python -m bench.bulk --rounds 3
    python -m bench.bulk --rounds 3 --engine aiortc libdatachannel   (Python 3.12+)

With several engines, each round sends through a meshchat channel over each (both
processes on that engine), and the table compares them with the aiortc one.

The channel adds chunk framing, flow control, the author's signature and the SHA-256
check; the bare channel sends 16 KiB slices with the same flow control and nothing
else. Rounds of the two alternate. Also reports how much each side's RSS grew while
the payload was under way (the payload itself is made before the baseline). Prints a
Markdown table (for docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from meshchat.wire.engines import ENGINE_VARIABLE, ENGINES

from .bulk_worker import SIZE
from .harness import BrokerProcess

TIMEOUT = 300.0
MIB = 1024 * 1024


class Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, *args: str, engine: str = "aiortc") -> Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.bulk_worker",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, ENGINE_VARIABLE: engine},
        )
        return cls(process)

    async def expect(self, event: str) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), TIMEOUT)
        if not line:
            raise RuntimeError(f"bulk worker exited while we waited for {event!r}")
        report: dict[str, Any] = json.loads(line)
        assert report["event"] == event, report
        return report

    async def tell(self, **fields: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(fields).encode() + b"\n")
        await self.process.stdin.drain()

    async def finish(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await asyncio.wait_for(self.process.wait(), TIMEOUT)


@dataclass
class Transfer:
    """One 64 MiB transfer: seconds from the sender's start to the receiver's last
    byte, RSS growth of both, and (through a channel) the CPU seconds both processes
    spent meanwhile by thread name (the sender's payload is made before)."""

    seconds: float
    sender_growth: int
    receiver_growth: int
    threads: Counter[str]


async def transfer(sender: Worker, receiver: Worker) -> Transfer:
    sender_rss = (await sender.expect("rss"))["rss"]
    receiver_rss = (await receiver.expect("rss"))["rss"]
    start = (await sender.expect("start"))["at"]
    done = (await receiver.expect("done"))["at"]
    await asyncio.gather(sender.tell(event="over"), receiver.tell(event="over"))
    sender_peak = await sender.expect("peak")
    receiver_peak = await receiver.expect("peak")
    await asyncio.gather(sender.finish(), receiver.finish())
    threads: Counter[str] = Counter()
    for peak in (sender_peak, receiver_peak):
        threads.update(peak.get("threads", {}))
    return Transfer(
        done - start, sender_peak["rss"] - sender_rss, receiver_peak["rss"] - receiver_rss, threads
    )


async def raw_round() -> Transfer:
    sender, receiver = await Worker.start("raw-send"), await Worker.start("raw-receive")
    offer = await sender.expect("sdp")
    await receiver.tell(sdp=offer["sdp"])
    answer = await receiver.expect("sdp")
    await sender.tell(sdp=answer["sdp"])
    return await transfer(sender, receiver)


async def channel_round(engine: str) -> Transfer:
    broker = await BrokerProcess.start()
    try:
        room = f"bulk{time.monotonic_ns()}"
        receiver = await Worker.start("channel-receive", broker.url, room, engine=engine)
        sender = await Worker.start("channel-send", broker.url, room, engine=engine)
        await asyncio.gather(sender.expect("connected"), receiver.expect("connected"))
        return await transfer(sender, receiver)
    finally:
        await broker.stop()


def row(name: str, results: list[Transfer]) -> tuple[float, str]:
    seconds = statistics.median(r.seconds for r in results)
    grow_sender = max(r.sender_growth for r in results) / MIB
    grow_receiver = max(r.receiver_growth for r in results) / MIB
    rate = SIZE / MIB / seconds
    return rate, (
        f"| {name} | {seconds:.1f} | {rate:.2f} | {grow_sender:.1f} | {grow_receiver:.1f} |"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engine", nargs="+", choices=ENGINES, default=["aiortc"])
    options = parser.parse_args()
    raw: list[Transfer] = []
    channel: dict[str, list[Transfer]] = {e: [] for e in options.engine}
    for n in range(options.rounds):
        raw.append(await raw_round())
        for engine in options.engine:
            channel[engine].append(await channel_round(engine))
        said = ", ".join(f"{e} channel {channel[e][-1].seconds:.1f} s" for e in options.engine)
        print(f"round {n + 1}: raw {raw[-1].seconds:.1f} s, {said}", file=sys.stderr)
    print(
        "| 64 MiB, process to process | median s | MiB/s | sender RSS growth, max (MiB) "
        "| receiver RSS growth, max (MiB) |"
    )
    print("|---|---|---|---|---|")
    raw_rate, raw_row = row("bare aiortc data channel", raw)
    print(raw_row)
    rates = {}
    for engine in options.engine:
        rates[engine], engine_row = row(f"meshchat channel over {engine}", channel[engine])
        print(engine_row)
    for engine, rate in rates.items():
        print(f"\nchannel over {engine} / bare aiortc channel: {rate / raw_rate:.2f}x")
    if "aiortc" in rates and "libdatachannel" in rates:
        ratio = rates["libdatachannel"] / rates["aiortc"]
        print(f"channel over libdatachannel / over aiortc: {ratio:.2f}x")
    print("\n| through a channel over | CPU during a transfer by thread, both processes (mean s) |")
    print("|---|---|")
    for engine, results in channel.items():
        threads: Counter[str] = Counter()
        for result in results:
            threads.update(result.threads)
        said = ", ".join(
            f"{name} {spent / len(results):.2f}" for name, spent in threads.most_common()
        )
        print(f"| {engine} | {said} |")


if __name__ == "__main__":
    asyncio.run(main())
