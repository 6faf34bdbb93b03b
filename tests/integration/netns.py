"""Network namespaces and veth links that a test creates for itself (root needed).
Addresses are on links between those namespaces only; nothing leaves the machine."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def require_netns() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        reason = "needs root and iproute2 to create network namespaces"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def _holders(address: str) -> list[str]:
    """The devices of this namespace that carry ``address``."""
    shown = subprocess.run(
        ["ip", "-j", "-4", "addr", "show"], check=True, capture_output=True, timeout=10
    )
    return [
        link["ifname"]
        for link in json.loads(shown.stdout)
        if any(info.get("local") == address for info in link.get("addr_info", []))
    ]


def _release(address: str) -> None:
    """Free ``address`` from a killed earlier run. SIGKILL skips ``finally``: the run's
    namespace stays, and its veth keeps the address and the route here, so a new link
    with the same addresses would route into the dead namespace and fail much later as
    a timeout. A leftover (one of our veths whose namespace runs nothing) is removed;
    anything else that holds the address fails the test, saying what it is."""
    for holder in _holders(address):
        ours = re.fullmatch(r"mch([0-9a-f]{6})", holder)
        namespace = f"mc-{ours.group(1)}" if ours else ""
        if ours:
            pids = subprocess.run(
                ["ip", "netns", "pids", namespace], capture_output=True, text=True, timeout=10
            )
            if not pids.stdout.strip():
                subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=10)
                subprocess.run(["ip", "link", "del", holder], capture_output=True, timeout=10)
                continue
        pytest.fail(f"{address} is taken here by {holder} (a test run still going?)")


@contextmanager
def namespace_link(
    host_address: str, ns_address: str, prefix: int = 30
) -> Iterator[tuple[str, str]]:
    """A namespace joined to this one by a veth pair: yields (namespace, host device)."""
    require_netns()
    _release(host_address)
    tag = uuid.uuid4().hex[:6]
    name, host_dev, ns_dev = f"mc-{tag}", f"mch{tag}", f"mcn{tag}"
    ip("netns", "add", name)
    try:
        ip("link", "add", host_dev, "type", "veth", "peer", "name", ns_dev)
        ip("link", "set", ns_dev, "netns", name)
        ip("addr", "add", f"{host_address}/{prefix}", "dev", host_dev)
        ip("link", "set", host_dev, "up")
        ip("netns", "exec", name, "ip", "addr", "add", f"{ns_address}/{prefix}", "dev", ns_dev)
        ip("netns", "exec", name, "ip", "link", "set", ns_dev, "up")
        ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield name, host_dev
    finally:
        subprocess.run(["ip", "link", "del", host_dev], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


@contextmanager
def local_address(address: str) -> Iterator[str]:
    """An extra address of this namespace (on its loopback device), removed afterwards;
    one a killed run left on the loopback device is taken over."""
    require_netns()
    if "lo" not in _holders(address):
        ip("addr", "add", f"{address}/32", "dev", "lo")
    try:
        yield address
    finally:
        subprocess.run(["ip", "addr", "del", f"{address}/32", "dev", "lo"], capture_output=True)


@contextmanager
def private_loopback() -> Iterator[str]:
    """A namespace with nothing but its own loopback: its default ports are free
    whatever this machine runs. Yields its name."""
    require_netns()
    name = f"mc-{uuid.uuid4().hex[:6]}"
    ip("netns", "add", name)
    try:
        ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
