"""File transfer: a 200 MiB file from one `meshchat join` process to 1 and to 3
receiver processes (`/send PATH`), against a bare aiortc data channel between two
processes carrying as many bytes, measured in the same run.

    python -m bench.files --rounds 3

The time of a file transfer runs from the `/send` line (so it includes hashing the file
first) to the last receiver's `file-received` (written to disk and verified). RSS is
sampled from /proc every 20 ms for every process: growth is its peak during the
transfer minus its size just before. Prints a Markdown table (for docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from . import bulk
from .harness import BrokerProcess, JoinProcess

MIB = 1024 * 1024
SIZE = 200 * MIB
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_of(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


async def peak_rss(pids: list[int], stop: asyncio.Event) -> dict[int, int]:
    peaks = {pid: 0 for pid in pids}
    while not stop.is_set():
        for pid in pids:
            peaks[pid] = max(peaks[pid], rss_of(pid))
        await asyncio.sleep(0.02)
    return peaks


async def file_round(receivers: int, source: Path, folder: Path) -> tuple[float, int, int]:
    """Seconds for every receiver to have the file; RSS growth of sender, worst receiver."""
    broker = await BrokerProcess.start()
    room = f"files{time.monotonic_ns()}"
    peers: list[JoinProcess] = []
    try:
        sender = await JoinProcess.start(broker, room, "sender")
        peers.append(sender)
        for n in range(receivers):
            downloads = folder / f"receiver-{n}-{time.monotonic_ns()}"
            peers.append(
                await JoinProcess.start(
                    broker, room, f"r{n}", extra=["--downloads", str(downloads)]
                )
            )
        ids = {p.id for p in peers}
        await asyncio.gather(*(p.wait_for_peers(ids - {p.id}) for p in peers))
        pids = [p.process.pid for p in peers]
        before = {pid: rss_of(pid) for pid in pids}
        stop = asyncio.Event()
        sampler = asyncio.create_task(peak_rss(pids, stop))
        assert sender.process.stdin is not None
        start = time.monotonic()
        sender.process.stdin.write(f"/send {source}\n".encode())
        await sender.process.stdin.drain()
        await asyncio.gather(
            *(p.wait_for(lambda e: e["event"] == "file-received", 600) for p in peers[1:])
        )
        elapsed = time.monotonic() - start
        stop.set()
        peaks = await sampler
        growth = [peaks[pid] - before[pid] for pid in pids]
        return elapsed, growth[0], max(growth[1:])
    finally:
        for peer in peers:
            await peer.stop()
        await broker.stop()


async def raw_round() -> float:
    os.environ["MESHCHAT_BENCH_BYTES"] = str(SIZE)  # read by the bulk workers it starts
    return (await bulk.raw_round()).seconds


def write_source(folder: Path) -> Path:
    source = folder / "source.bin"
    with source.open("wb") as file:
        for _ in range(SIZE // MIB):
            file.write(os.urandom(MIB))
    return source


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory(prefix="meshchat-bench-") as tmp:
        folder = Path(tmp)
        source = write_source(folder)
        raw: list[float] = []
        results: dict[int, list[tuple[float, int, int]]] = {1: [], 3: []}
        for n in range(rounds):
            raw.append(await raw_round())
            for receivers in results:
                results[receivers].append(await file_round(receivers, source, folder))
            print(f"round {n + 1} done", file=sys.stderr)
    bare = SIZE / MIB / statistics.median(raw)
    print(
        "| 200 MiB | median s | MiB/s | vs bare channel | sender RSS growth, max (MiB) "
        "| receiver RSS growth, max (MiB) |"
    )
    print("|---|---|---|---|---|---|")
    seconds = statistics.median(raw)
    print(f"| bare aiortc data channel, 2 processes | {seconds:.1f} | {bare:.2f} | 1.00x | | |")
    for receivers, rows in results.items():
        seconds = statistics.median(r[0] for r in rows)
        rate = SIZE / MIB / seconds
        print(
            f"| `/send` to {receivers} receiver process{'es' if receivers > 1 else ''} "
            f"| {seconds:.1f} | {rate:.2f} | {rate / bare:.2f}x "
            f"| {max(r[1] for r in rows) / MIB:.1f} | {max(r[2] for r in rows) / MIB:.1f} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
