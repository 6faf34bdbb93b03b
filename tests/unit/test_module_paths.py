"""The subpackages of meshchat.mesh keep what code written for the flat layout imports:
every public name, and every module by its old path, as the same object."""

from __future__ import annotations

import importlib

import pytest

import meshchat.mesh as mesh

OLD_PATHS = sorted(mesh._MOVED.items())


@pytest.mark.parametrize(("old", "new"), OLD_PATHS)
def test_a_module_s_old_path_imports_the_module_at_its_new_one(old: str, new: str) -> None:
    moved = importlib.import_module(f"meshchat.mesh.{new}")
    assert importlib.import_module(f"meshchat.mesh.{old}") is moved
    assert (mesh.__path__[0] + "/" + new.replace(".", "/") + ".py") == moved.__file__


def test_every_old_path_is_listed_and_none_is_left_behind() -> None:
    # The flat layout's 29 modules that moved, and no file still at an old path.
    assert len(OLD_PATHS) == 29
    for old, _ in OLD_PATHS:
        with pytest.raises(FileNotFoundError):
            open(f"{mesh.__path__[0]}/{old}.py").close()


@pytest.mark.parametrize("name", mesh.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(mesh, name) is not None


def test_an_unknown_module_is_still_not_found() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("meshchat.mesh.no_such_module")


def test_every_subpackage_is_in_the_distribution() -> None:
    """An editable install finds a subpackage pyproject.toml does not list; ``pip install
    .`` leaves it out, and the installed package fails to import."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(project["packages"])
    found = {
        "meshchat." + ".".join(init.parent.relative_to(root).parts)
        for top in ("wire", "mesh", "broker", "cli")
        for init in (root / top).rglob("__init__.py")
    }
    assert found - listed == set()
