"""The page's third-party files are the pinned npm releases, unmodified."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "broker" / "web" / "vendor"


def test_every_vendored_file_matches_its_pinned_release() -> None:
    spec = importlib.util.spec_from_file_location("vendor_fetch", VENDOR / "fetch.py")
    assert spec is not None and spec.loader is not None
    fetch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fetch)
    assert fetch.check() == []


def test_each_library_ships_its_licence() -> None:
    for name, library in json.loads((VENDOR / "manifest.json").read_text()).items():
        licences = [path for path in library["files"] if path.split(".")[0] == "LICENSE"]
        assert licences, name  # as the package names it: LICENSE, LICENSE.md
        assert all((VENDOR / name / path).read_text().strip() for path in licences)
