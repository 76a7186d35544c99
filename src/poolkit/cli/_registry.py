"""How a command declares itself: its name, help, arguments and who acts, beside its function.

A command module writes::

    @command("claim", "claim a customer from a public pool", CUSTOMER)
    def claim(ctx: Context, args: argparse.Namespace) -> None: ...

and :func:`poolkit.cli.main.build_parser` turns every registered command into a subparser,
in the order the modules registered them. Adding a command is this one place.
"""

from __future__ import annotations

import argparse
import enum
from collections.abc import Callable
from typing import Any

import attrs

from poolkit.cli._context import Context

__all__ = ["COMMANDS", "Actor", "Arg", "Command", "Interrupted", "Run", "arg", "command"]

Run = Callable[[Context, argparse.Namespace], None]


class Actor(enum.Enum):
    """Whether a command takes ``--as REP``."""

    REQUIRED = "required"  # the rep who acts; their rights are checked
    OPTIONAL = "optional"  # a read limited to what the rep may see
    NONE = "none"


@attrs.frozen
class Arg:
    """The arguments of one ``add_argument`` call, kept until the parser is built."""

    flags: tuple[str, ...]
    options: dict[str, Any] = attrs.field(hash=False)

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(*self.flags, **self.options)


def arg(*flags: str, **options: Any) -> Arg:
    return Arg(flags, options)


@attrs.frozen
class Command:
    name: str
    help: str
    run: Run
    arguments: tuple[Arg, ...]
    actor: Actor


COMMANDS: list[Command] = []


def command(
    name: str, help: str, *arguments: Arg, actor: Actor = Actor.REQUIRED
) -> Callable[[Run], Run]:
    def register(run: Run) -> Run:
        if any(known.name == name for known in COMMANDS):
            raise ValueError(f"two commands are called {name!r}")
        COMMANDS.append(Command(name, help, run, arguments, actor))
        return run

    return register


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what a command had done by then and how to go on (exit code 130)."""
