"""The suite's own guard (tests/conftest.py): a task whose exception nobody retrieved
fails the test that left it."""

from __future__ import annotations

import asyncio
import gc

import pytest

from tests import conftest


async def test_a_task_that_died_unwatched_is_reported() -> None:
    async def dies() -> None:
        raise ConnectionError("Cannot send encrypted data, not connected")

    task = asyncio.ensure_future(dies())
    await asyncio.sleep(0)
    del task
    gc.collect()
    assert conftest._unretrieved and "ConnectionError" in conftest._unretrieved[0]
    conftest._unretrieved.clear()  # seen here on purpose: this test passes


async def test_a_task_whose_exception_was_retrieved_is_not() -> None:
    async def dies() -> None:
        raise ValueError("expected")

    task = asyncio.ensure_future(dies())
    with pytest.raises(ValueError):
        await task
    del task
    gc.collect()
    assert not conftest._unretrieved
