"""The MQTT transport without a broker: which URLs it takes and how it shows them, the
topic prefix, and a broker's refusal in words. (Against a real mosquitto:
tests/integration/test_mqtt.py and the transport conformance suite.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from meshchat.cli.join_options import mqtt_settings
from meshchat.mesh.transports.base import TransportError
from meshchat.mesh.transports.mqtt import MqttTransport


@pytest.mark.parametrize(
    ("url", "host", "port", "websockets", "tls", "path"),
    [
        ("mqtt://broker.example", "broker.example", 1883, False, False, "/"),
        ("mqtts://broker.example", "broker.example", 8883, False, True, "/"),
        ("ws://127.0.0.1:9001/mqtt", "127.0.0.1", 9001, True, False, "/mqtt"),
        ("wss://x.hivemq.cloud:8884/mqtt", "x.hivemq.cloud", 8884, True, True, "/mqtt"),
        ("MQTT://[::1]:1884", "::1", 1884, False, False, "/"),
    ],
)
def test_the_url_says_where_and_how(
    url: str, host: str, port: int, websockets: bool, tls: bool, path: str
) -> None:
    transport = MqttTransport(url)
    assert (transport._host, transport._port, transport._websockets) == (host, port, websockets)
    assert (transport._tls, transport._path) == (tls, path)


@pytest.mark.parametrize(
    "url", ["http://broker.example", "mqtt://", "broker.example:1883", "mqtt://h:70000", ""]
)
def test_a_url_that_is_not_an_mqtt_broker_s_is_refused_at_once(url: str) -> None:
    with pytest.raises(TransportError, match="invalid MQTT URL"):
        MqttTransport(url)


def test_a_password_in_the_url_is_used_and_never_shown() -> None:
    transport = MqttTransport("mqtt://ana:s%40cret@broker.example")
    assert (transport._username, transport._password) == ("ana", "s@cret")
    assert transport.url == "mqtt://ana:***@broker.example" and "cret" not in transport.url
    given = MqttTransport("mqtt://ana:old@broker.example", username="bo", password="new")
    assert (given._username, given._password) == ("bo", "new")


def test_topics_go_under_the_prefix_and_come_back_as_the_mesh_names_them() -> None:
    assert MqttTransport("mqtt://h")._mapped("meshchat/lobby/global") == "meshchat/lobby/global"
    acme = MqttTransport("mqtt://h", prefix="acme/chat/")
    assert acme._mapped("meshchat/s-0a1b/client-ff") == "acme/chat/s-0a1b/client-ff"
    for prefix in ("acme", "acme/+/", "acme/#/", "$SYS/"):
        with pytest.raises(TransportError, match="prefix"):
            MqttTransport("mqtt://h", prefix=prefix)


def test_the_password_comes_from_its_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESHCHAT_MQTT_PASSWORD", "from-env")
    assert mqtt_settings(None, None, None, "meshchat/") is None
    from_env = mqtt_settings("mqtt://h", "ana", None, "meshchat/")
    assert from_env is not None and from_env.password == "from-env"
    (tmp_path / "pw").write_text("from-file\nignored\n")
    from_file = mqtt_settings("mqtt://h", "ana", tmp_path / "pw", "meshchat/")
    assert from_file is not None and from_file.password == "from-file"
    with pytest.raises(ValueError, match="cannot read the MQTT password file"):
        mqtt_settings("mqtt://h", "ana", tmp_path / "missing", "meshchat/")
