"""What the test run covered, per package, and a floor for the sans-I/O cores.

    python -m coverage run -m pytest -n 2 tests/unit
    python -m coverage combine           # one data file per process (pyproject.toml)
    python -m tests.coverage_report      # exits 1 if the cores are under the floor

The unit tests are measured (tests/run): the integration tests run the broker and
``meshchat join`` in processes of their own, which coverage does not follow, so the
command line reads low. The cores are what the floor holds: every decision the
clients make is in them, and the unit tests and the simulation drive them directly.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import coverage

REPO = Path(__file__).resolve().parents[1]
FLOOR = 90.0  # per cent of the cores' lines, all together
# Every module that decides and does no I/O (tests/unit/test_layering.py keeps
# room_core from loading any).
CORES = (
    "wire/*.py",
    "mesh/signalling/admission.py",
    "mesh/signalling/candidates.py",
    "mesh/link/chat_frames.py",
    "mesh/signalling/codec.py",
    "mesh/link/dataplane.py",
    "mesh/link/delivery.py",
    "mesh/features/file_protocol.py",
    "mesh/features/filenames.py",
    "mesh/partial/gossip.py",
    "mesh/features/history.py",
    "mesh/link/liveness.py",
    "mesh/signalling/messages.py",
    "mesh/partial/membership.py",
    "mesh/link/payloads.py",
    "mesh/signalling/protocol.py",
    "mesh/partial/relayed.py",
    "mesh/partial/relayed_parts.py",
    "mesh/partial/relayed_receipts.py",
    "mesh/room_actions.py",
    "mesh/room_core.py",
    "mesh/link/round_trip.py",
    "mesh/signalling/sealing.py",
    "mesh/link/in_flight.py",
)


def main() -> int:
    data = coverage.Coverage(data_file=str(REPO / ".coverage"))
    data.load()
    measured = data.get_data()
    lines: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # package -> [hit, all]
    cores = [0, 0]
    is_core = {path for pattern in CORES for path in REPO.glob(pattern)}
    for filename in sorted(measured.measured_files()):
        path = Path(filename)
        if REPO not in path.parents or "tests" in path.relative_to(REPO).parts:
            continue
        _, statements, _, missing, _ = data.analysis2(filename)
        hit = len(statements) - len(missing)
        package = path.relative_to(REPO).parts[0]
        for tally in (lines[package], *([cores] if path in is_core else [])):
            tally[0] += hit
            tally[1] += len(statements)
    print("coverage of the pytest process's own code, per package:")
    for package, (hit, total) in sorted(lines.items()):
        print(f"  {package:<8} {100 * hit / max(total, 1):5.1f} %  of {total} lines")
    share = 100 * cores[0] / max(cores[1], 1)
    print(f"  the sans-I/O cores: {share:.1f} % of {cores[1]} lines (floor {FLOOR:g} %)")
    if share < FLOOR:
        print(f"the cores' tests cover {share:.1f} % of their lines, under {FLOOR:g} %")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
