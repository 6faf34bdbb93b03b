"""Rooms too big for one machine's processes, simulated: every member is the RoomCore
that ``Room`` drives, over the simulated signalling service and links of
``tests/unit/simulation.py``. Deterministic for a seed.

    python -m bench.simulate --peers 1000 --lines 100 [--churn 0.1] [--loss 0.05]
                             [--seed 1] [--json out.json]

Members arrive ``--arrivals`` a second; once all are in and the room has settled,
``--lines`` chat lines are said by members at random, ``--rate`` a second. ``--churn F``:
over the lines, a fraction F of the members leaves (half say bye, half vanish) and as
many newcomers arrive. ``--loss F``: the signalling service loses that fraction of what
is published. Links have ``--latency`` ms one way.

Printed (and written with ``--json``): the fraction of (line, member) pairs delivered,
over the members that were linked when the line was said and stayed to the end;
delivery latency percentiles in simulated ms; data-channel frames sent per line per
member during the lines; resident memory per member.

Signatures: by default a keyed BLAKE2b stands in for Ed25519, which would make a
thousand members check a million hellos at 30-60 µs each (``--real-signatures`` keeps
Ed25519; ``tests/unit/scenarios.py`` says why the stand-in changes cost, not behaviour).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

from tests.unit.scenarios import simulate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", type=int, default=100)
    parser.add_argument("--lines", type=int, default=100)
    parser.add_argument("--churn", type=float, default=0.0)
    parser.add_argument("--loss", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--arrivals", type=float, default=25.0, help="members a second")
    parser.add_argument("--rate", type=float, default=5.0, help="lines a second")
    parser.add_argument("--latency", type=float, default=20.0, help="ms, one way")
    parser.add_argument("--hostile", type=float, default=0.0)
    parser.add_argument("--real-signatures", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument("--verbose", action="store_true", help="the cores' log lines too")
    args = parser.parse_args(argv)
    # A thousand members log what each drops (stale answers, pruned links): only counted.
    logging.basicConfig(level=logging.INFO if args.verbose else logging.CRITICAL)
    result = simulate(
        args.peers,
        args.lines,
        churn=args.churn,
        loss=args.loss,
        seed=args.seed,
        arrivals=args.arrivals,
        rate=args.rate,
        latency_ms=args.latency,
        hostile=args.hostile,
        real_signatures=args.real_signatures,
    )
    latency = result.latency_ms
    print(
        f"{result.peers} peers, {result.lines} lines, churn {result.churn:g},"
        f" loss {result.loss:g}, seed {result.seed} ({result.signatures})\n"
        f"  delivered    {result.delivered:.4f} of {result.pairs} (line, member) pairs\n"
        f"  latency ms   p50 {latency['p50']:.0f}  p90 {latency['p90']:.0f}"
        f"  p99 {latency['p99']:.0f}  max {latency['max']:.0f}\n"
        f"  frames       {result.frames_per_line_per_member:.2f} per line per member\n"
        f"  memory       {result.memory_per_member_kib:.0f} KiB per member\n"
        f"  time         {result.simulated_seconds:.0f} s simulated in"
        f" {result.wall_seconds:.0f} s"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
