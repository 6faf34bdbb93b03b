"""Every test: a task that died with an exception nobody retrieved fails the test that
left it. asyncio reports such a task only in a log line ("Task exception was never
retrieved"), which a run would otherwise scroll past."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterator
from typing import Any

import pytest

from meshchat.wire.engines import ENGINE_VARIABLE, ENGINES

_unretrieved: list[str] = []
_report = asyncio.BaseEventLoop.call_exception_handler


def _noting(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    message = str(context.get("message", ""))
    if "never retrieved" in message:
        _unretrieved.append(f"{message}: {context.get('exception')!r}")
    _report(loop, context)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def no_unretrieved_task_exceptions(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setattr(asyncio.BaseEventLoop, "call_exception_handler", _noting)
    _unretrieved.clear()
    yield
    gc.collect()  # a task is reported when it is collected
    # A test that drives a third-party library by hand, outside meshchat, may say so.
    if _unretrieved and request.node.get_closest_marker("third_party_tasks") is None:
        pytest.fail("\n".join(["tasks died and nobody looked:", *_unretrieved]))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine",
        choices=ENGINES,
        help=f"the WebRTC engine of every room and `meshchat join` in the run (sets "
        f"{ENGINE_VARIABLE}; tests/run runs the link tests again with libdatachannel)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # In each xdist worker too: they are configured with the same options.
    if engine := config.getoption("--engine"):
        os.environ[ENGINE_VARIABLE] = engine
