"""The shared vectors say what the Python core does (node checks the browser's core
against the same file: tests/node/vectors.test.mjs)."""

from __future__ import annotations

from tests.vectors.make_vectors import HERE, render


def test_the_vectors_file_matches_the_python_core() -> None:
    on_disk = (HERE / "vectors.json").read_text()
    assert on_disk == render(), "run `python -m tests.vectors.make_vectors` and review the diff"
