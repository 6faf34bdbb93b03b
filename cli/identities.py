"""Lasting identities on disk, for ``meshchat identity`` and ``join --identity NAME``.

Each is a file in ``$XDG_DATA_HOME/meshchat/identities`` (``~/.local/share`` by
default), ``NAME.key``, in the format of ``mesh/identity_file.py``. The folder is
``0700`` and each file ``0600``, created exclusively and never overwritten; a key file
others may read is refused, as ssh refuses one.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import click

from meshchat.mesh import identity_file
from meshchat.mesh.identity import Identity

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SUFFIX = ".key"


class IdentityProblem(click.ClickException):
    """Why an identity cannot be made, found or opened: one line for the user, which
    click shows as it ends the command (exit 1)."""


def data_folder() -> Path:
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data) / "meshchat"


def folder() -> Path:
    return data_folder() / "identities"


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise IdentityProblem(
            f"invalid identity name {name!r}: 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def path_of(name: str) -> Path:
    return folder() / f"{check_name(name)}{SUFFIX}"


def names() -> list[str]:
    if not folder().is_dir():
        return []
    return sorted(p.name.removesuffix(SUFFIX) for p in folder().glob(f"*{SUFFIX}"))


def create(name: str, passphrase: bytes | None) -> tuple[Identity, Path]:
    """A new identity kept as ``name``; never replaces one."""
    identity = Identity()
    path = path_of(name)
    _write_new(path, identity_file.encode(identity, passphrase))
    return identity, path


def read(name: str) -> bytes:
    """The contents of ``name``'s key file, if only its owner can read it."""
    return read_key_file(path_of(name), name)


def read_key_file(path: Path, name: str | None = None) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        known = ", ".join(names()) or "none yet"
        what = f"no identity called {name!r}" if name else f"no file at {path}"
        raise IdentityProblem(
            f"{what} (identities: {known}); `meshchat identity new NAME` makes one"
        ) from None
    if name is not None and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise IdentityProblem(
            f"{path} can be read by others (mode {stat.S_IMODE(mode):o}); "
            f"`chmod 600 {path}` if it is yours, or make a new identity"
        )
    try:
        with path.open("rb") as file:
            return file.read(identity_file.MAX_FILE_BYTES + 1)
    except OSError as error:
        raise IdentityProblem(f"cannot read {path}: {error.strerror}") from None


def open_identity(contents: bytes, passphrase: bytes | None) -> Identity:
    with _explained():
        return identity_file.decode(contents, passphrase)


def public_of(contents: bytes) -> tuple[str, bytes]:
    with _explained():
        return identity_file.public_of(contents)


def sealed(contents: bytes) -> bool:
    with _explained():
        return identity_file.is_sealed(contents)


@contextlib.contextmanager
def _explained() -> Iterator[None]:
    """What is wrong with a key file, as the user's one line."""
    try:
        yield
    except identity_file.IdentityFileError as error:
        raise IdentityProblem(str(error)) from None


def export_to(name: str, destination: Path) -> None:
    """A copy of ``name``'s file (sealed as it is) at ``destination``, never replacing
    a file there."""
    _write_new(destination, read(name), make_folder=False)


def keep(name: str, contents: bytes, passphrase: bytes | None) -> Identity:
    """The identity in ``contents`` (an exported file) kept as ``name``: checked first
    (opened, if sealed, with ``passphrase``), and written as it came."""
    identity = open_identity(contents, passphrase)
    _write_new(path_of(name), contents)
    return identity


def _write_new(path: Path, contents: bytes, make_folder: bool = True) -> None:
    if make_folder:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.chmod(0o700)  # an older folder made with looser modes
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise IdentityProblem(f"{path} exists already; it is never overwritten") from None
    except OSError as error:
        raise IdentityProblem(f"cannot create {path}: {error.strerror}") from None
    with os.fdopen(descriptor, "wb") as file:
        file.write(contents)
