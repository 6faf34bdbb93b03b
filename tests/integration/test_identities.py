"""Lasting identities through the real command line: ``meshchat identity`` makes, shows,
exports and imports them; ``join --identity`` is the same id every run; every way a
key file can be wrong is one clear line."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from meshchat.wire.keys import b64decode
from meshchat.wire.safety_numbers import fingerprint, grouped

from .conftest import PeerFactory
from .processes import MESHCHAT, Broker, Peer

pytestmark = pytest.mark.integration


def meshchat(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``meshchat ARGS`` with its data (identities) in ``data``, no terminal."""
    return subprocess.run(
        [*MESHCHAT, *args],
        env={**os.environ, "XDG_DATA_HOME": str(data)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_clear_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert expected in result.stderr, result.stderr


def test_make_show_list_export_and_import(tmp_path: Path) -> None:
    made = meshchat(tmp_path, "identity", "new", "ana")
    assert made.returncode == 0, made.stderr
    key_file = tmp_path / "meshchat" / "identities" / "ana.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.parent.stat().st_mode & 0o777 == 0o700
    document = json.loads(key_file.read_text())
    assert f"id           {document['id']}" in made.stdout
    digits = grouped(fingerprint(b64decode(document["public_key"])))
    assert f"fingerprint  {digits}" in made.stdout
    assert meshchat(tmp_path, "identity", "show", "ana").stdout.endswith(f"fingerprint  {digits}\n")
    assert meshchat(tmp_path, "identity", "list").stdout == f"ana  {document['id']}\n"
    one_clear_error(meshchat(tmp_path, "identity", "new", "ana"), "never overwritten")

    backup = tmp_path / "ana-backup.key"
    assert meshchat(tmp_path, "identity", "export", "ana", str(backup)).returncode == 0
    elsewhere = tmp_path / "elsewhere"
    imported = meshchat(elsewhere, "identity", "import", "ana2", str(backup))
    assert imported.returncode == 0, imported.stderr
    assert f"id           {document['id']}" in imported.stdout


def test_a_sealed_identity_opens_only_with_its_passphrase(tmp_path: Path) -> None:
    passphrase, wrong = tmp_path / "pass", tmp_path / "wrong"
    passphrase.write_text("correct horse\n")
    wrong.write_text("battery staple\n")
    made = meshchat(tmp_path, "identity", "new", "bo", "--passphrase-file", str(passphrase))
    assert made.returncode == 0 and "(sealed)" in made.stdout, made.stderr
    key_file = tmp_path / "meshchat" / "identities" / "bo.key"
    assert "private_key" not in key_file.read_text()  # the key is not in the clear

    join = ("join", "lobby", "--identity", "bo", "--json", "--broker", "ws://127.0.0.1:1")
    one_clear_error(meshchat(tmp_path, *join, "--passphrase-file", str(wrong)), "passphrase")
    one_clear_error(meshchat(tmp_path, *join), "sealed: give --passphrase-file")


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (lambda key: key.chmod(0o644), "can be read by others"),
        (lambda key: key.write_text("not json"), "not an identity file"),
        (lambda key: key.write_text('{"meshchat_identity": 2}'), "version 1"),
        (lambda key: key.unlink(), "no identity called 'cy'"),
    ],
)
def test_a_bad_key_file_is_one_clear_line(tmp_path: Path, spoil: object, expected: str) -> None:
    assert meshchat(tmp_path, "identity", "new", "cy").returncode == 0
    key_file = tmp_path / "meshchat" / "identities" / "cy.key"
    assert callable(spoil)
    spoil(key_file)
    join = meshchat(tmp_path, "join", "lobby", "--identity", "cy", "--broker", "ws://127.0.0.1:1")
    one_clear_error(join, expected)


async def test_joining_as_an_identity_is_the_same_id_every_run_and_its_name_by_default(
    meshchat_broker: Broker, spawn_peer: PeerFactory, tmp_path: Path
) -> None:
    assert meshchat(tmp_path, "identity", "new", "dee").returncode == 0
    key = json.loads((tmp_path / "meshchat" / "identities" / "dee.key").read_text())
    join = [*MESHCHAT, "join", "lasting", "--json", "--identity", "dee"]
    join += ["--host-address", "127.0.0.1", *meshchat_broker.join_args]
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    seen = []
    for _ in range(2):
        dee = await Peer.spawn("dee", join, env)
        ready = await dee.wait_for(lambda e: e["event"] == "ready")
        seen.append((ready["id"], ready["nick"]))
        await dee.stop()
    assert seen == [(key["id"], "dee")] * 2
    fresh = await spawn_peer(meshchat_broker, "lasting", "eve")
    assert fresh.id != key["id"]


async def test_verify_shows_both_sides_the_same_safety_number(
    meshchat_broker: Broker, spawn_peer: PeerFactory
) -> None:
    ana = await spawn_peer(meshchat_broker, "verify", "ana")
    bo = await spawn_peer(meshchat_broker, "verify", "bo")
    await ana.wait_for_peers({bo.id})
    await bo.wait_for_peers({ana.id})
    await ana.command_line("/verify bo")
    await bo.command_line(f"/verify {ana.id}")  # by id works too
    got_ana = await ana.wait_for(lambda e: e["event"] == "safety-number")
    got_bo = await bo.wait_for(lambda e: e["event"] == "safety-number")
    assert (got_ana["id"], got_ana["nick"]) == (bo.id, "bo")
    assert (got_bo["id"], got_bo["nick"]) == (ana.id, "ana")
    assert got_ana["number"] == got_bo["number"]
    assert len(got_ana["number"]) == 60 and got_ana["number"].isdigit()
    await ana.command_line("/verify nobody")
    error = await ana.wait_for(lambda e: e["event"] == "error")
    assert "nobody" in error["message"]


async def test_a_trusted_contact_comes_back_verified_and_an_impostor_is_flagged(
    meshchat_broker: Broker, spawn_peer: PeerFactory, tmp_path: Path
) -> None:
    ana_data, bo_data = tmp_path / "ana", tmp_path / "bo"
    for data, name in ((ana_data, "ana"), (bo_data, "bo")):
        assert meshchat(data, "identity", "new", name).returncode == 0

    async def join(data: Path, *extra: str) -> Peer:
        args = [*MESHCHAT, "join", "contacts", "--json", "--host-address", "127.0.0.1"]
        env = {**os.environ, "XDG_DATA_HOME": str(data)}
        return await Peer.spawn(data.name, [*args, *meshchat_broker.join_args, *extra], env)

    ana = await join(ana_data, "--identity", "ana")
    bo = await join(bo_data, "--identity", "bo")
    await ana.wait_for_peers({bo.id})
    first = await ana.wait_for(lambda e: e["event"] == "joined")
    assert first["verified"] is False
    await ana.command_line("/trust bo")
    trusted = await ana.wait_for(lambda e: e["event"] == "trusted")
    assert (trusted["nick"], trusted["id"]) == ("bo", bo.id)
    assert await bo.quit() == 0  # says bye: ana sees bo leave
    await ana.wait_for(lambda e: e["event"] == "left" and e["peer"] == bo.id)

    bo_again = await join(bo_data, "--identity", "bo")
    assert bo_again.id == bo.id  # the same identity, so the same id

    def joins(event: dict[str, Any]) -> bool:
        return bool(event["event"] == "joined" and event["peer"] == bo.id)

    await ana.wait_for(lambda e: joins(e) and e is not first)
    assert [e["verified"] for e in ana.events if joins(e)] == [False, True]
    await bo_again.command({"say": "it is me"})
    line = await ana.wait_for(lambda e: e["event"] == "message")
    assert line["verified"] is True

    impostor = await join(tmp_path / "mallory", "--nick", "bo")  # a fresh key, bo's nick
    flagged = await ana.wait_for(lambda e: e["event"] == "contact-mismatch")
    assert (flagged["nick"], flagged["id"]) == ("bo", impostor.id)
    joined = await ana.wait_for(lambda e: e["event"] == "joined" and e["peer"] == impostor.id)
    assert joined["verified"] is False
    await ana.command_line("/peers")
    peers = await ana.wait_for(lambda e: e["event"] == "peers")
    assert {p["id"]: p["verified"] for p in peers["peers"]} == {
        bo.id: True,
        impostor.id: False,
    }
    for peer in (ana, bo, bo_again, impostor):
        await peer.stop()


async def test_remembered_contacts_catch_a_nick_that_comes_back_with_another_key(
    meshchat_broker: Broker, tmp_path: Path
) -> None:
    assert meshchat(tmp_path / "ana", "identity", "new", "ana").returncode == 0
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "ana")}
    args = [*MESHCHAT, "join", "tofu", "--json", "--host-address", "127.0.0.1"]
    args += [*meshchat_broker.join_args, "--identity", "ana", "--remember-contacts"]
    ana = await Peer.spawn("ana", args, env)
    others = [*MESHCHAT, "join", "tofu", "--json", "--nick", "cy", "--host-address", "127.0.0.1"]
    others += meshchat_broker.join_args
    cy = await Peer.spawn("cy", others, dict(os.environ))
    await ana.wait_for_peers({cy.id})
    await cy.stop()
    cy_again = await Peer.spawn("cy", others, dict(os.environ))  # a fresh key each run
    flagged = await ana.wait_for(lambda e: e["event"] == "contact-mismatch")
    assert (flagged["nick"], flagged["id"]) == ("cy", cy_again.id)
    for peer in (ana, cy_again):
        await peer.stop()
