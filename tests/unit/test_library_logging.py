"""meshchat is a library too: its log is the application's to show or not."""

from __future__ import annotations

import subprocess
import sys


def test_the_library_prints_nothing_of_its_own_log_unless_the_application_asks() -> None:
    code = (
        "import logging, meshchat.mesh; "
        "logging.getLogger('meshchat.mesh.room').warning('broker connection lost'); "
        "logging.basicConfig(); "
        "logging.getLogger('meshchat.mesh.room').warning('now configured')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stderr == "WARNING:meshchat.mesh.room:now configured\n"
