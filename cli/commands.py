"""What a typed line means: a chat line or a command. No I/O: ``session.py`` carries
commands out, the plain loop and the terminal app share both."""

from __future__ import annotations

import shlex
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Say:
    text: str


@dataclass(frozen=True, slots=True)
class Whisper:
    """A private line to chosen members, sealed to their keys (``/msg``)."""

    to: tuple[str, ...]  # nicks, nick#tags, or ids
    text: str


@dataclass(frozen=True, slots=True)
class SendFile:
    path: str
    to: str | None  # a nick, or nick#tag; None for everyone


@dataclass(frozen=True, slots=True)
class SendPayload:
    """A JSON value or bytes on a channel (``--json`` input only: json_input.py)."""

    channel: str
    data: object
    to: tuple[str, ...] | None  # ids or nicks; None for everyone


@dataclass(frozen=True, slots=True)
class Peers:
    pass


@dataclass(frozen=True, slots=True)
class Verify:
    who: str  # a nick, nick#tag, or id


@dataclass(frozen=True, slots=True)
class Trust:
    who: str  # as for Verify


@dataclass(frozen=True, slots=True)
class Untrust:
    nick: str  # a contact's


@dataclass(frozen=True, slots=True)
class Contacts:
    pass


@dataclass(frozen=True, slots=True)
class Help:
    pass


@dataclass(frozen=True, slots=True)
class Clear:
    pass


@dataclass(frozen=True, slots=True)
class Quit:
    pass


@dataclass(frozen=True, slots=True)
class Nothing:
    """An empty line: nothing to send."""


@dataclass(frozen=True, slots=True)
class Invalid:
    problem: str


Command = (
    Say
    | Whisper
    | SendFile
    | SendPayload
    | Peers
    | Verify
    | Trust
    | Untrust
    | Contacts
    | Help
    | Clear
    | Quit
    | Nothing
    | Invalid
)

SEND_USAGE = "usage: /send PATH [NICK] (quote a path with spaces)"

# name -> (arguments, what it does), in the order /help lists them
COMMANDS: dict[str, tuple[str, str]] = {
    "/help": ("", "this list"),
    "/peers": ("", "who is here (also /who)"),
    "/msg": ("NICK TEXT", "a private line to NICK only, sealed to their key"),
    "/send": ("PATH [NICK]", "send a file to everyone, or to one peer"),
    "/verify": ("NICK", "the safety number of you and NICK: compare it with theirs"),
    "/trust": ("NICK", "NICK is a verified contact (after /verify); with --identity"),
    "/untrust": ("NICK", "NICK is no longer a contact"),
    "/contacts": ("", "your contacts"),
    "/say": ("TEXT", "send TEXT even if it starts with /"),
    "/clear": ("", "clear the screen"),
    "/quit": ("", "leave the room (also /exit, Ctrl-D, Ctrl-C)"),
}
ALIASES = {"/who": "/peers", "/exit": "/quit"}


def parse(line: str) -> Command:
    text = line.rstrip("\r\n")
    if not text.startswith("/"):
        return Say(text) if text.strip() else Nothing()
    name, _, rest = text.partition(" ")
    name = ALIASES.get(name.lower(), name.lower())
    match name:
        case "/say":
            return Say(rest) if rest.strip() else Invalid("usage: /say TEXT")
        case "/send":
            return _send(rest)
        case "/msg":
            who, _, said = rest.strip().partition(" ")
            if not who or not said.strip():
                return Invalid("usage: /msg NICK TEXT")
            return Whisper((who,), said)
        case "/verify" | "/trust" | "/untrust":
            who = rest.strip()
            if not who or " " in who:
                return Invalid(f"usage: {name} NICK")
            if name == "/verify":
                return Verify(who)
            return Trust(who) if name == "/trust" else Untrust(who)
        case "/peers" | "/help" | "/clear" | "/quit" | "/contacts" if rest.strip():
            return Invalid(f"{name} takes no arguments")
        case "/peers":
            return Peers()
        case "/contacts":
            return Contacts()
        case "/help":
            return Help()
        case "/clear":
            return Clear()
        case "/quit":
            return Quit()
    return Invalid(f"unknown command {name}; /help lists them (/say {name} ... sends it as text)")


def _send(arguments: str) -> Command:
    try:
        words = shlex.split(arguments)
    except ValueError as error:
        return Invalid(f"{error}; {SEND_USAGE}")
    if not 1 <= len(words) <= 2:
        return Invalid(SEND_USAGE)
    return SendFile(words[0], words[1] if len(words) == 2 else None)


def help_lines() -> list[str]:
    width = max(len(f"{name} {arguments}".strip()) for name, (arguments, _) in COMMANDS.items())
    return [
        f"{f'{name} {arguments}'.strip():<{width}}  {what}"
        for name, (arguments, what) in COMMANDS.items()
    ]


def completions(before_cursor: str, nicks: list[str]) -> list[str]:
    """What the word before the cursor may be completed to: a command at the start of
    the line, else a nick (labels such as ``ana#1f0c`` when nicks collide)."""
    head, _, word = before_cursor.rpartition(" ")
    if not head and word.startswith("/"):
        names = [*COMMANDS, *ALIASES]
        return sorted(name for name in names if name.startswith(word.lower()))
    if not word:
        return []
    lowered = word.lower().lstrip("@")
    return sorted({nick for nick in nicks if nick.lower().startswith(lowered)})


class History:
    """Lines entered before, walked with Up and Down as shells do: what was being typed
    is kept and comes back after the newest entry."""

    def __init__(self, limit: int = 500) -> None:
        self._entries: list[str] = []
        self._limit = limit
        self._position: int | None = None  # index into entries while walking
        self._draft = ""

    def add(self, line: str) -> None:
        if line.strip() and (not self._entries or self._entries[-1] != line):
            self._entries.append(line)
            del self._entries[: -self._limit]
        self._position = None

    def older(self, current: str) -> str | None:
        if not self._entries:
            return None
        if self._position is None:
            self._draft = current
            self._position = len(self._entries)
        if self._position == 0:
            return None
        self._position -= 1
        return self._entries[self._position]

    def newer(self) -> str | None:
        if self._position is None:
            return None
        self._position += 1
        if self._position >= len(self._entries):
            self._position = None
            return self._draft
        return self._entries[self._position]
