"""The constants the Python client and the page must agree on are listed once, in
tests/vectors/constants.json; this holds the Python side to it (tests/node/
constants.test.mjs holds the page's)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

CONSTANTS = Path(__file__).resolve().parents[1] / "vectors" / "constants.json"
SHARED: list[dict[str, Any]] = json.loads(CONSTANTS.read_text())["constants"]


def python_value(where: str) -> object:
    """``module:NAME``, or ``module:Class().field`` for a dataclass default."""
    module_name, _, path = where.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in path.split("."):
        value = getattr(value, part[:-2])() if part.endswith("()") else getattr(value, part)
    return value


@pytest.mark.parametrize("constant", SHARED, ids=[row["name"] for row in SHARED])
def test_python_has_the_shared_value(constant: dict[str, Any]) -> None:
    assert python_value(constant["python"]) == constant["value"]


def test_each_constant_is_listed_once() -> None:
    names = [row["name"] for row in SHARED]
    pages = [row["js"] for row in SHARED]
    assert len(set(names)) == len(names) and len(set(pages)) == len(pages)
