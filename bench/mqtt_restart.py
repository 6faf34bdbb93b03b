"""How soon a room's connections to a restarted MQTT broker are back: ``--clients``
MqttTransports on one mosquitto (Debian's, started here on loopback), mosquitto killed
and started again on the same port, ``--rounds`` times; the time from mosquitto
listening again to the last client subscribed again (ConnectionRestored).

    python -m bench.mqtt_restart --clients 8 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import time
from pathlib import Path

from meshchat.mesh.identity import Identity
from meshchat.mesh.transports.base import ConnectionLost, ConnectionRestored
from meshchat.mesh.transports.mqtt import MqttTransport


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def listening(config: Path, port: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        "mosquitto", "-c", str(config), stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    while f"port {port}" not in (await process.stderr.readline()).decode():
        assert process.returncode is None, "mosquitto exited"
    return process


async def run(clients: int, rounds: int) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "mosquitto.conf"
        config.write_text(f"allow_anonymous true\npersistence false\nlistener {port} 127.0.0.1\n")
        process = await listening(config, port)
        transports = [MqttTransport(f"mqtt://127.0.0.1:{port}") for _ in range(clients)]
        for transport in transports:
            await transport.connect(Identity())
            await transport.subscribe(["meshchat/bench/global"])
        events = [transport.messages().__aiter__() for transport in transports]
        backs = []
        for _ in range(rounds):
            process.kill()
            await process.wait()
            for stream in events:
                assert isinstance(await anext(stream), ConnectionLost)
            await asyncio.sleep(1.0)  # down for a second
            process = await listening(config, port)
            listening_at = time.monotonic()
            for stream in events:
                assert isinstance(await anext(stream), ConnectionRestored)
            backs.append(time.monotonic() - listening_at)
        for transport in transports:
            await transport.close()
        process.kill()
        await process.wait()
    print(f"{clients} clients, {rounds} restarts (mosquitto down 1 s each)\n")
    print("| last client back after mosquitto listens again (s) | median | max |")
    print("|---|---|---|")
    runs = ", ".join(f"{b:.2f}" for b in backs)
    print(f"| {runs} | {statistics.median(backs):.2f} | {max(backs):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.clients, args.rounds))


if __name__ == "__main__":
    main()
