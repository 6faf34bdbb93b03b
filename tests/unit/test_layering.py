"""The layering: cli -> mesh and broker -> wire, never back up. The broker loads no
WebRTC, and the wire layer nothing of the others."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAY_IMPORT = {
    "wire": {"wire"},
    "mesh": {"wire", "mesh"},
    "broker": {"wire", "broker"},
    "cli": {"wire", "mesh", "broker", "cli"},
}


def imported_layers(path: Path) -> set[str]:
    """The meshchat layers a module imports, absolute or relative."""
    layers: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [f"meshchat.{path.parent.name}"]
        else:
            names = (
                [f"meshchat.{node.module}"]
                if isinstance(node, ast.ImportFrom) and node.module
                else []
            )
        for name in names:
            parts = name.split(".")
            if parts[0] == "meshchat" and len(parts) > 1:
                layers.add(parts[1])
    return layers


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_each_layer_imports_only_the_layers_below_it(layer: str) -> None:
    for path in sorted((REPO / layer).glob("*.py")):
        wrong = imported_layers(path) - MAY_IMPORT[layer]
        assert not wrong, f"{path.relative_to(REPO)} imports meshchat.{', meshchat.'.join(wrong)}"


def loaded_by(imports: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has loaded after ``import {imports}``."""
    code = f"import sys, {imports}; print([m for m in {modules!r} if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = ast.literal_eval(result.stdout.strip())
    return loaded


def test_the_broker_loads_no_webrtc_and_no_ably() -> None:
    modules = ("aiortc", "aioice", "av", "ably")
    assert loaded_by("meshchat.broker, meshchat.broker.server", modules) == []


def test_the_command_line_loads_each_command_s_dependencies_only_when_it_runs() -> None:
    modules = ("aiortc", "ably", "redis", "meshchat.broker.server", "meshchat.mesh")
    assert loaded_by("meshchat.cli.main", modules) == []


def test_nothing_in_the_repository_root_shadows_the_installed_package() -> None:
    # `python -m meshchat` run in the root would import this instead of the package.
    assert not (REPO / "meshchat").exists() and not (REPO / "meshchat.py").exists()


def test_the_image_builds_from_every_folder_the_package_is_made_of() -> None:
    import tomllib

    folders = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-dir"
    ].values()
    dockerfile = (REPO / "Dockerfile").read_text()
    for folder in folders:
        assert f"COPY {folder} {folder}" in dockerfile, folder


def test_the_room_core_and_its_simulation_load_no_webrtc_and_do_no_io() -> None:
    # The core decides; only the driver (room.py) and the engine touch aiortc,
    # sockets and event loops.
    modules = ("aiortc", "aioice", "asyncio", "socket", "meshchat.mesh.room")
    assert loaded_by("meshchat.mesh.room_core, tests.unit.simulation", modules) == []
