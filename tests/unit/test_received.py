"""What arrives on a channel, read as the type the application expects: ``.json()``,
``.bytes()``, ``.text()`` each return their kind and refuse the others."""

from __future__ import annotations

import io

import pytest

from meshchat.mesh import JsonValue, Received


def received(kind: str, **data: object) -> Received:
    return Received("moves", "a" * 32, "ana", 1, "m1", kind=kind, size=3, **data)  # type: ignore[arg-type]


def test_each_kind_reads_as_itself_and_refuses_the_others() -> None:
    value: JsonValue = received("json", data={"x": [1, None]}).json()
    assert value == {"x": [1, None]}
    assert received("bytes", body=io.BytesIO(b"abc")).bytes() == b"abc"
    assert received("text", data="hi").text() == "hi"
    with pytest.raises(TypeError, match="holds bytes, not json"):
        received("bytes", data=b"abc").json()
    with pytest.raises(TypeError, match="holds json, not bytes"):
        received("json", data=[1]).bytes()
    with pytest.raises(TypeError, match="holds json, not text"):
        received("json", data="a string is still json").text()
