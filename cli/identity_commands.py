"""``meshchat identity``: lasting identities, for those who want to be recognised
(cli/identities.py keeps them). Without one, ``join`` makes a fresh key every run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from meshchat.wire.safety_numbers import fingerprint, grouped

if TYPE_CHECKING:
    from meshchat.mesh.identity import Identity

# cli/identities.py (and the mesh it loads) is imported by each command as it runs:
# `meshchat --help` and the other commands load none of it. Its IdentityProblem is a
# click exception: click shows it as the command's one line of error.


def read_passphrase_file(path: Path) -> bytes:
    try:
        first = path.read_bytes().splitlines()[:1]
    except OSError as error:
        raise click.BadParameter(f"cannot read {path}: {error.strerror}") from None
    if not first or not first[0]:
        raise click.BadParameter(f"{path} holds no passphrase on its first line")
    return first[0]


def on_a_terminal() -> bool:
    return sys.stdin.isatty()


def unlocked(name: str, passphrase_file: Path | None) -> Identity:
    """The identity ``name``, its passphrase from the file or asked for if it is
    sealed. ``IdentityProblem`` (one line for the user) if it cannot be."""
    from . import identities

    contents = identities.read(name)
    passphrase = _passphrase_for(contents, passphrase_file, f"the identity {name!r}")
    return identities.open_identity(contents, passphrase)


def _passphrase_for(contents: bytes, passphrase_file: Path | None, what: str) -> bytes | None:
    """None for a key file in the clear; else the passphrase, from the file given or
    asked for on the terminal."""
    from . import identities

    if not identities.sealed(contents):
        return None
    if passphrase_file is not None:
        return read_passphrase_file(passphrase_file)
    if on_a_terminal():
        typed: str = click.prompt(f"Passphrase of {what}", hide_input=True, err=True)
        return typed.encode()
    raise identities.IdentityProblem(
        f"{what} is sealed: give --passphrase-file (no terminal to ask on)"
    )


@click.group()
def identity() -> None:
    """Lasting identities: the same id every time you join with --identity NAME, so
    others can recognise and verify you. Without one, every join is a new stranger."""


@identity.command()
@click.argument("name")
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Seal the key with the passphrase on this file's first line. Without it, one "
    "is asked for on a terminal (empty: none).",
)
def new(name: str, passphrase_file: Path | None) -> None:
    """Make the identity NAME (a new Ed25519 key), and print its id and fingerprint."""
    from . import identities

    passphrase: bytes | None = None
    if passphrase_file is not None:
        passphrase = read_passphrase_file(passphrase_file)
    elif on_a_terminal():
        typed = click.prompt(
            "Passphrase to seal it with (empty for none)",
            default="",
            show_default=False,
            hide_input=True,
            confirmation_prompt=True,
            err=True,
        )
        passphrase = typed.encode() or None
    made, path = identities.create(name, passphrase)
    click.echo(f"made {name}: {path}" + (" (sealed)" if passphrase else ""))
    _describe(made.client_id, made.public_key)


@identity.command("list")
def list_identities() -> None:
    """The identities kept here, with their ids."""
    from . import identities

    for name in identities.names():
        try:
            client_id, _ = identities.public_of(identities.read(name))
        except identities.IdentityProblem as error:
            click.echo(f"{name}  (unreadable: {error})")
            continue
        click.echo(f"{name}  {client_id}")


@identity.command()
@click.argument("name")
def show(name: str) -> None:
    """NAME's id, fingerprint (the half of a safety number that is yours), and file."""
    from . import identities

    contents = identities.read(name)
    client_id, public_key = identities.public_of(contents)
    sealed = identities.sealed(contents)
    click.echo(f"{name}: {identities.path_of(name)}" + (" (sealed)" if sealed else ""))
    _describe(client_id, public_key)


@identity.command("export")
@click.argument("name")
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
def export_identity(name: str, destination: Path) -> None:
    """Copy NAME's key file to DESTINATION (sealed as it is), to back it up or move it."""
    from . import identities

    identities.export_to(name, destination)
    click.echo(f"{name} exported to {destination}: keep it as safe as the identity")


@identity.command("import")
@click.argument("name")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The sealed file's passphrase, on this file's first line (else asked for).",
)
def import_identity(name: str, source: Path, passphrase_file: Path | None) -> None:
    """Keep the identity in SOURCE (a file `export` wrote) as NAME, after checking it."""
    from . import identities

    contents = identities.read_key_file(source)
    passphrase = _passphrase_for(contents, passphrase_file, str(source))
    imported = identities.keep(name, contents, passphrase)
    click.echo(f"imported {name}")
    _describe(imported.client_id, imported.public_key)


def _describe(client_id: str, public_key: bytes) -> None:
    click.echo(f"id           {client_id}")
    click.echo(f"fingerprint  {grouped(fingerprint(public_key))}")
