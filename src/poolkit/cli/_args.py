"""What the command line accepts, checked where it comes in: text, whole numbers, instants.

A mistake here is the user's, so each check says which argument and why in one line (exit
code 2), before anything reaches the library.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime

from poolkit.errors import UsageError

__all__ = ["LARGEST", "MAX_DAYS", "instant", "pairs", "refuse_undecodable", "whole_number"]

# A count or a limit beyond this is a typo, and the stores take 64-bit integers.
LARGEST = 2**63 - 1


def refuse_undecodable(argv: Sequence[str], environment: Mapping[str, str]) -> None:
    """Refuse an argument that is not text. Python hands over bytes that are not UTF-8 (a
    file name in another encoding, ``$'\\xff'``) as lone surrogates, which no customer
    name, id or note may hold and no output can print."""
    for number, value in enumerate(argv, start=1):
        _text(value, f"argument {number}")
    for name, value in environment.items():
        _text(value, name)


def _text(value: str, where: str) -> None:
    if not any("\ud800" <= ch <= "\udfff" for ch in value):
        return
    try:
        shown = value.encode("utf-8", "surrogateescape")  # the bytes as they were typed
    except UnicodeEncodeError:
        shown = value.encode("utf-8", "backslashreplace")
    raise UsageError(f"{where} is not UTF-8 text: {shown!r}")


# The calendar ends in 9999: ten thousand years of days is past it from any start.
MAX_DAYS = 3_652_500


def whole_number(minimum: int, maximum: int = LARGEST) -> Callable[[str], int]:
    """An argparse type: a whole number from ``minimum`` to ``maximum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {text}")
        return value

    return parse


def instant(text: str, option: str) -> datetime:
    """An ISO 8601 instant with its offset: ``09:00`` alone is another instant in every
    office, so a time without one is refused."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as error:
        raise UsageError(f"{option}: {text!r} is not an ISO 8601 date-time") from error
    if value.tzinfo is None:
        raise UsageError(
            f"{option}: {text!r} has no time zone; add one, e.g. {value.isoformat()}+08:00"
        )
    try:
        value.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00+08:00 is an instant before the first one Python can hold.
        raise UsageError(f"{option}: {text!r} is outside the calendar") from None
    return value


def pairs(items: Iterable[str] | None, option: str, shape: str) -> list[tuple[str, str]]:
    """``NAME=VALUE`` arguments, in order."""
    found: list[tuple[str, str]] = []
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"{option} {item!r}: expected {shape}")
        found.append((name.strip(), value.strip()))
    return found
