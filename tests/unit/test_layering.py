"""The layering: cli -> mesh and broker -> wire, never back up; inside mesh, the room
over the cores, and the cores in one order (private, signalling, link, partial, features). The
broker loads no WebRTC, and the wire layer nothing of the others."""

from __future__ import annotations

import ast
import os
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


# What each of mesh's subpackages of sans-I/O cores may import from mesh (a subpackage
# or a top-level module's name); from outside meshchat, none of them imports I/O.
MESH_MAY_IMPORT = {
    "private": {"private", "errors"},
    "signalling": {"signalling", "private", "identity", "errors"},
    "link": {"link", "private", "signalling", "events", "errors"},
    "partial": {"partial", "link", "private", "signalling", "events", "errors"},
    "features": {"features", "link", "signalling", "events", "errors"},
}
IO_MODULES = {"asyncio", "socket", "aiortc", "aioice", "websockets", "ably", "threading"}


def imported_names(path: Path) -> set[str]:
    """The absolute names of the modules ``path`` imports."""
    package = "meshchat." + ".".join(path.relative_to(REPO).parent.parts)
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return names


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
    for path in sorted((REPO / layer).rglob("*.py")):
        wrong = imported_layers(path) - MAY_IMPORT[layer]
        assert not wrong, f"{path.relative_to(REPO)} imports meshchat.{', meshchat.'.join(wrong)}"


@pytest.mark.parametrize("core", sorted(MESH_MAY_IMPORT))
def test_mesh_s_cores_import_the_cores_below_them_and_no_io(core: str) -> None:
    for path in sorted((REPO / "mesh" / core).glob("*.py")):
        if path.name == "file_transfer.py":
            continue  # the disk and the waiting around file_protocol.py: I/O on purpose
        names = imported_names(path)
        mesh = {
            n.split(".")[2]
            for n in names
            if n.startswith("meshchat.mesh.") and n != "meshchat.mesh."
        }
        wrong = mesh - MESH_MAY_IMPORT[core]
        assert not wrong, f"{path.relative_to(REPO)} imports meshchat.mesh.{wrong}"
        io = {n for n in names if n.split(".")[0] in IO_MODULES}
        assert not io, f"{path.relative_to(REPO)} imports {io}"


def loaded_by(imports: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has loaded after ``import {imports}``."""
    code = f"import sys, {imports}; print([m for m in {modules!r} if m in sys.modules])"
    # Unmeasured: coverage, started in every process of a measured run, loads socket.
    unmeasured = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=unmeasured,
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
