"""Validators shared by the domain values: they raise poolkit's own typed errors."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from enum import Enum
from types import MappingProxyType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from poolkit.clock import require_aware
from poolkit.errors import InvalidValueError

E = TypeVar("E", bound=Enum)

MAX_INT = 2**63 - 1
"""The largest integer a stored value may hold: SQLite's integers and the JSON readers
stores use keep every integer in [-2**63, 2**63 - 1] exact, and no larger one."""
MIN_INT = -(2**63)


def is_text(value: str) -> bool:
    """Whether ``value`` can be written as UTF-8: no lone surrogate (``"\\ud800"``), which
    no store, JSON encoder or terminal can write."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def require_text(field: str, value: Any) -> str:
    """``value`` if it is a string that can be written as UTF-8, else poolkit's typed error
    naming ``field``: the one check of text every model value and service argument uses."""
    if not isinstance(value, str):
        raise InvalidValueError(field, f"must be a string, got {type(value).__name__} {value!r}")
    if not is_text(value):
        raise InvalidValueError(
            field, f"must be text that can be written as UTF-8 (a lone surrogate?), got {value!r}"
        )
    return value


def identifier(_: Any, attribute: Any, value: Any) -> None:
    """A non-empty, trimmed string id (text without lone surrogates)."""
    # The common case in one expression: every id of every decoded document passes here.
    if type(value) is str and value and value == value.strip() and value.isascii():
        return
    if not isinstance(value, str) or not value or value != value.strip():
        raise InvalidValueError(
            attribute.name, f"must be a non-empty trimmed string, got {value!r}"
        )
    require_text(attribute.name, value)


def optional_identifier(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None:
        identifier(instance, attribute, value)


_ALWAYS_AWARE = (timezone, ZoneInfo)


def aware(_: Any, attribute: Any, value: Any) -> None:
    # A fixed offset or a ZoneInfo zone (what every decoded datetime has) gives every wall
    # time an offset: the check costs no utcoffset call then.
    if type(value) is datetime and type(value.tzinfo) in _ALWAYS_AWARE:
        return
    if not isinstance(value, datetime):
        raise InvalidValueError(attribute.name, f"expected a datetime, got {value!r}")
    require_aware(value, attribute.name)


def optional_aware(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None:
        aware(instance, attribute, value)


def _whole_number(field: str, value: Any, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= MAX_INT:
        raise InvalidValueError(
            field, f"must be a whole number from {least} to {MAX_INT}, got {value!r}"
        )


def positive_int_or_none(_: Any, attribute: Any, value: Any) -> None:
    if value is not None:
        _whole_number(attribute.name, value, 0)


def non_negative_int(_: Any, attribute: Any, value: Any) -> None:
    _whole_number(attribute.name, value, 0)


def at_least_one(_: Any, attribute: Any, value: Any) -> None:
    _whole_number(attribute.name, value, 1)


def enum_member(kind: type[E], field: str, value: Any) -> E:
    """The member of ``kind`` for ``value``; an unknown value raises poolkit's typed error,
    so catching PoolkitError catches it (the enum's own ValueError would escape)."""
    if type(value) is kind:  # already a member, as every decoded or evolved value holds
        return value
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(str(member.value) for member in kind)
        raise InvalidValueError(field, f"must be one of {choices}, got {value!r}") from None


def enum_of(kind: type[E], field: str) -> Callable[[Any], E]:
    """A converter to a member of ``kind`` (see :func:`enum_member`).

    mypy's attrs plugin refuses a converter built by a call ("Unsupported converter"); for
    an attrs field prefer a named function that calls :func:`enum_member`.
    """

    def convert(value: Any) -> E:
        return enum_member(kind, field, value)

    return convert


def ids(values: Iterable[str]) -> frozenset[str]:
    """Converter: any iterable of ids to a frozenset (a lone string is refused)."""
    if isinstance(values, str):
        raise InvalidValueError("ids", f"expected a collection of ids, got the string {values!r}")
    try:
        return frozenset(values)
    except TypeError:  # not iterable, or holding unhashable items
        raise InvalidValueError("ids", f"expected a collection of ids, got {values!r}") from None


def id_set(_: Any, attribute: Any, value: frozenset[str]) -> None:
    for item in value:
        if not isinstance(item, str) or not item or item != item.strip() or not is_text(item):
            raise InvalidValueError(attribute.name, f"contains a bad id {item!r}")


def frozen_map(values: Mapping[str, Any]) -> Mapping[str, Any]:
    """Converter: a read-only copy, so a frozen value cannot be changed through it."""
    return MappingProxyType(dict(values))


def of_type(kind: type) -> Any:
    """Like attrs' instance_of, but raising poolkit's typed error."""

    def check(_: Any, attribute: Any, value: Any) -> None:
        if type(value) is kind and (not isinstance(value, str) or value.isascii()):
            return
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise InvalidValueError(
                attribute.name, f"must be a {kind.__name__}, got {type(value).__name__} {value!r}"
            )
        if kind is str:
            require_text(attribute.name, value)

    return check
