"""Where each option's value comes from: the command line beats the environment, which
beats the config file, for every option that has all three; list-valued environment
variables follow one separator rule."""

from __future__ import annotations

from typing import Any

import click
import pytest

from meshchat.cli.config import KEYS
from meshchat.cli.main import main
from meshchat.cli.options import ListOption, split_list


def sample(param: click.Option, which: int) -> tuple[list[str], str, Any, Any]:
    """For source ``which`` (0 option, 1 env, 2 file): the command-line arguments, the
    environment value, the file value, and the value the command should then see."""
    flag = param.opts[0]
    if isinstance(param, ListOption):
        items = [f"stun:{'abc'[which]}{n}.example:3478" for n in range(2)]
        if param.name == "host_addresses":
            items = [f"10.0.{which}.{n}" for n in range(2)]
        if param.name == "allowed_origins":
            items = [f"https://{'abc'[which]}{n}.example" for n in range(2)]
        args = [part for item in items for part in (flag, item)]
        return args, ", ".join(items), items, tuple(items)
    if isinstance(param.type, click.Choice):
        choice = str(param.type.choices[which % len(param.type.choices)])
        return [flag, choice], choice, choice, choice
    if isinstance(param.type, click.types.IntParamType):
        return [flag, str(100 + which)], str(100 + which), 100 + which, 100 + which
    if isinstance(param.type, click.types.FloatParamType):
        return [flag, f"{which}.5"], f"{which}.5", which + 0.5, which + 0.5
    if isinstance(param.type, click.Path):
        text = f"/tmp/meshchat-precedence-{which}"
        return [flag, text], text, text, param.type.convert(text, param, None)
    text = f"value-{which}"
    if param.name == "broker_url":
        text = f"ws://127.0.0.{which + 1}:8765"
    return [flag, text], text, text, text


def layered_options() -> list[tuple[str, str]]:
    """(command, parameter) for every option that has an env variable and a file key."""
    found = []
    for command_name, keys in KEYS.items():
        command = main.commands[command_name]
        for param in command.params:
            layered = isinstance(param, click.Option) and param.envvar and not param.is_flag
            if layered and param.name in keys.values():
                found.append((command_name, str(param.name)))
    return found


def resolve(command_name: str, args: list[str], file: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``command_name`` would run with (the environment is the process's)."""
    command = main.commands[command_name]
    parent = click.Context(main, info_name="meshchat")
    context = command.make_context(
        command_name,
        [*args, *(["lobby"] if command_name == "join" else [])],
        parent=parent,
        default_map=file,
        auto_envvar_prefix=None,
    )
    return context.params


@pytest.mark.parametrize(("command_name", "name"), layered_options())
def test_option_beats_environment_beats_config_file(
    command_name: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    param = next(p for p in main.commands[command_name].params if p.name == name)
    assert isinstance(param, click.Option) and isinstance(param.envvar, str)
    option_args, _, _, from_option = sample(param, 0)
    _, env_value, _, from_env = sample(param, 1)
    _, _, file_value, from_file = sample(param, 2)
    file = {name: file_value}
    assert resolve(command_name, [], file)[name] == from_file
    monkeypatch.setenv(param.envvar, env_value)
    assert resolve(command_name, [], file)[name] == from_env
    assert resolve(command_name, option_args, file)[name] == from_option


def test_the_options_that_have_all_three_sources_include_the_ice_servers() -> None:
    assert ("join", "ice_servers") in layered_options()
    assert ("broker", "ice_servers") in layered_options()
    assert len(layered_options()) >= 15


@pytest.mark.parametrize("value", ["a,b,c", "a b c", "a, b, c", " a ,b\tc ", "a,,b, ,c", "a\nb\nc"])
def test_a_list_in_an_environment_variable_is_split_on_commas_and_spaces(value: str) -> None:
    assert split_list(value) == ["a", "b", "c"]
