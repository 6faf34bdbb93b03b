"""Fetch the page's third-party libraries from npm, pinned, and check them.

    python broker/web/vendor/fetch.py           # (re)write the files from npm
    python broker/web/vendor/fetch.py --check   # only check the files here (no network)

Each library is a pinned npm release; only the files the page imports are kept, exactly
as published, with the licence. ``manifest.json`` records the version and every file's
SHA-256: fetching again must give the same bytes, and the tests check the files in the
repository against it, so they can be updated on purpose and never drift by accident.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
MANIFEST = HERE / "manifest.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check() -> list[str]:
    """What differs between the files here and the manifest (nothing: all is well)."""
    problems = []
    for name, library in json.loads(MANIFEST.read_text()).items():
        for path, digest in library["files"].items():
            local = HERE / name / path
            if not local.exists():
                problems.append(f"{name}/{path} is missing")
            elif sha256(local.read_bytes()) != digest:
                problems.append(
                    f"{name}/{path} differs from {library['package']}@{library['version']}"
                )
    return problems


def fetch() -> None:
    """Download each pinned package with npm (which checks the registry's integrity
    hash), keep the listed files, and insist they match the manifest."""
    manifest = json.loads(MANIFEST.read_text())
    for name, library in manifest.items():
        spec = f"{library['package']}@{library['version']}"
        with tempfile.TemporaryDirectory() as scratch:
            packed = subprocess.run(
                ["npm", "pack", spec, "--silent"],
                cwd=scratch,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()[-1]
            with tarfile.open(Path(scratch) / packed) as archive:
                for path, digest in library["files"].items():
                    member = archive.extractfile(f"package/{path}")
                    assert member is not None, f"{spec} has no {path}"
                    data = member.read()
                    if sha256(data) != digest:
                        raise SystemExit(f"{spec}: {path} is not the file pinned in the manifest")
                    target = HERE / name / path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
        print(f"{spec}: {len(library['files'])} files", file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        if problems := check():
            raise SystemExit("\n".join(problems))
    else:
        fetch()
