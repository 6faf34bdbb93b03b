"""Network namespaces and veth links that a test creates for itself (root needed).
Addresses are on links between those namespaces only; nothing leaves the machine."""

from __future__ import annotations

import os
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


@contextmanager
def namespace_link(
    host_address: str, ns_address: str, prefix: int = 30
) -> Iterator[tuple[str, str]]:
    """A namespace joined to this one by a veth pair: yields (namespace, host device)."""
    require_netns()
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
    """An extra address of this namespace (on its loopback device), removed afterwards."""
    require_netns()
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
