"""The ``poolkit`` command: its shared options, its parser, and errors turned into exit codes.

The commands themselves live one group per module (:mod:`.setup`, :mod:`.customers`,
:mod:`.moves`, :mod:`.reviews`, :mod:`.importing`, :mod:`.sweeping`, :mod:`.reporting`,
:mod:`.demo`), each declaring its arguments beside its function with
:func:`poolkit.cli._registry.command`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sqlite3
import sys
from collections.abc import Sequence
from contextlib import redirect_stdout
from typing import NoReturn, TextIO

from poolkit.cli._args import refuse_undecodable
from poolkit.cli._context import Context
from poolkit.cli._registry import COMMANDS, Actor, Interrupted
from poolkit.errors import (
    CapExceeded,
    ClaimLimitExceeded,
    CollisionError,
    ConfigError,
    CooldownActive,
    DuplicateIdError,
    InvalidValueError,
    NotFoundError,
    PermissionDenied,
    PoolkitError,
    RepInactiveError,
    UsageError,
    WrongStateError,
)

__all__ = ["DEFAULT_DB", "EXIT_CODES", "build_parser", "entry_point", "exit_code", "main"]

# The modules of commands, in the order ``poolkit --help`` lists them; importing one
# registers its commands.
GROUPS = ("setup", "importing", "customers", "moves", "reviews", "sweeping", "reporting", "demo")
for _group in GROUPS:
    importlib.import_module(f"poolkit.cli.{_group}")

DEFAULT_DB = "poolkit.db"
ENVIRONMENT = ("POOLKIT_DB", "POOLKIT_NOW")
INTERRUPTED = 130  # what a shell reports for a command ended by Ctrl-C (128 + SIGINT)

EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (NotFoundError, 3),
    (PermissionDenied, 4),
    (RepInactiveError, 4),
    (CapExceeded, 5),
    (ClaimLimitExceeded, 5),
    (CooldownActive, 5),
    (CollisionError, 5),
    (DuplicateIdError, 5),
    (WrongStateError, 5),
    (ConfigError, 2),
    (InvalidValueError, 2),
    (UsageError, 2),
    (PoolkitError, 1),
]


def exit_code(error: BaseException) -> int:
    for kind, code in EXIT_CODES:
        if isinstance(error, kind):
            return code
    return 1


class _Parser(argparse.ArgumentParser):
    """Reports a usage mistake like every other error: one line, exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _shared_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """``--db``, ``--now`` and ``--json``, declared once. They are accepted before the
    command and after it; after it they are optional extras, so a value given before the
    command is not reset to the default."""

    def default(value: str | bool | None) -> object:
        return value if top else argparse.SUPPRESS

    parser.add_argument(
        "--db",
        default=default(os.environ.get("POOLKIT_DB", DEFAULT_DB)),
        help="database file, or a postgresql:// URL (env POOLKIT_DB; default poolkit.db)",
    )
    parser.add_argument(
        "--json", action="store_true", default=default(False), help="print JSON for scripts"
    )
    parser.add_argument(
        "--now",
        default=default(os.environ.get("POOLKIT_NOW")),
        help="pretend the time is this ISO 8601 instant (env POOLKIT_NOW)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="poolkit",
        description=(
            "Public and private customer pools (公海/私海) on a SQLite file or a "
            "PostgreSQL database."
        ),
    )
    _shared_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for declared in COMMANDS:
        sub = commands.add_parser(declared.name, help=declared.help, description=declared.help)
        sub.set_defaults(run=declared.run)
        if declared.actor is Actor.REQUIRED:
            sub.add_argument(
                "--as", dest="actor", required=True, metavar="REP", help="the rep who acts"
            )
        elif declared.actor is Actor.OPTIONAL:
            sub.add_argument(
                "--as", dest="actor", metavar="REP", help="show only what this rep may see"
            )
        for argument in declared.arguments:
            argument.add_to(sub)
        _shared_options(sub, top=False)
    return parser


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run one command; its exit code. ``out`` and ``err`` default to the process's."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        return _run(list(sys.argv[1:] if argv is None else argv), out, err)
    except Interrupted as interrupted:
        err.write(f"error: {interrupted}\n")
    except KeyboardInterrupt:
        err.write("error: interrupted\n")
    return INTERRUPTED


def _run(argv: list[str], out: TextIO, err: TextIO) -> int:
    try:
        refuse_undecodable(
            argv, {name: os.environ[name] for name in ENVIRONMENT if name in os.environ}
        )
        parser = build_parser()
        try:
            # --help prints to stdout, which is ``out`` here.
            with redirect_stdout(out):
                args = parser.parse_args(argv)
        except SystemExit as exit:
            return int(exit.code or 0)
        ctx = Context(args, out, err)
        try:
            args.run(ctx, args)
        finally:
            ctx.close()
    except PoolkitError as error:
        err.write(f"error: {error}\n")
        return exit_code(error)
    except sqlite3.Error as error:
        # The database failed under us (disk full, file removed...): not a user mistake,
        # but still one line rather than a traceback.
        err.write(f"error: database: {error}\n")
        return 1
    except OverflowError as error:
        # A date past the ends of the calendar, reached by adding a rule's days to a time
        # the user gave (the arguments themselves are checked when parsed). The library
        # should refuse these itself; until it does, they are bad input, said in one line.
        err.write(f"error: a date or number is out of range: {error}\n")
        return 2
    return 0


def entry_point() -> None:
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`poolkit list | head`): stop quietly, as other tools do,
        # with stdout pointed at /dev/null so that the flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    sys.exit(code)
