"""The one check of the arguments every public operation of the service takes.

Each public method of :class:`~poolkit.service.PoolService` is wrapped by :func:`checked`,
which reads the method's annotations once and, before the method runs, refuses with
:class:`~poolkit.errors.InvalidValueError` naming the argument:

- a ``str`` argument that is not a string, or holds a lone surrogate (``"\\ud800"``), which
  no store, JSON encoder or terminal can write; text nested in a list, tuple, set or
  mapping argument (keys, tags, attributes) is checked the same way;
- an ``int`` argument that is not an integer (``True`` is not one) or lies outside the 64
  bits a store keeps (``-2**63 .. 2**63 - 1``);
- a ``bool`` argument that is not ``True`` or ``False``;
- a ``datetime`` argument that is not a timezone-aware datetime, or one that cannot be
  expressed in UTC (a few hours from the ends of the calendar);
- a mapping argument (attributes) that is not a mapping, or a collection of strings
  (tags, grades) that is a lone string or not a collection;
- a value of one of poolkit's classes (a ``Rep``, ``Pool``, ``Team``, ``Policy``) that
  is not one;
- an enum argument (``ReviewStatus``) that is not one of its values; a value given as
  its string is turned into the member.

So a wrong argument ends in a typed poolkit error before any unit of work opens, and the
store is never touched. What the values hold is checked by their own validators, and the
rows of an import one by one (a row that is not an ``ImportRow`` is reported as invalid).
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

import attrs

from poolkit.clock import require_aware
from poolkit.errors import InvalidValueError
from poolkit.model._checks import MAX_INT, MIN_INT, enum_member, is_text, require_text

__all__ = ["check_instant", "check_integer", "checked"]

F = TypeVar("F", bound=Callable[..., Any])
Check = Callable[[str, Any], Any]

_DEPTH = 4  # how deep text is looked for inside collections (keys are pairs in a list)


def check_integer(field: str, value: Any) -> int:
    """``value`` if it is an integer a store can keep (64 bits), else the typed error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValueError(field, f"must be an integer, got {type(value).__name__} {value!r}")
    if not MIN_INT <= value <= MAX_INT:
        raise InvalidValueError(
            field, f"must be an integer from {MIN_INT} to {MAX_INT}, got {value}"
        )
    return value


def check_instant(field: str, value: Any) -> datetime:
    """``value`` if it is an aware datetime that can be expressed in UTC."""
    instant = require_aware(value, field)
    try:
        instant.astimezone(UTC)
    except OverflowError:
        raise InvalidValueError(
            field, f"{instant.isoformat()} cannot be expressed in UTC (outside years 1-9999)"
        ) from None
    return instant


def _check_bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidValueError(
            field, f"must be True or False, got {type(value).__name__} {value!r}"
        )
    return value


def _nested_text(field: str, value: Any, depth: int = 0) -> None:
    """Refuse a lone surrogate in text held by a list, tuple, set or mapping (never a
    generator, which checking would consume)."""
    if isinstance(value, str):
        if not is_text(value):
            require_text(field, value)
        return
    if depth >= _DEPTH:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _nested_text(field, key, depth + 1)
            _nested_text(f"{field}.{key}" if isinstance(key, str) else field, item, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _nested_text(field, item, depth + 1)


def _check_mapping(field: str, value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise InvalidValueError(field, f"must be a mapping, got {type(value).__name__} {value!r}")
    _nested_text(field, value)
    return value


def _check_strings(field: str, value: Any) -> Any:
    """A collection of strings (tags, grades): a lone string is refused, not split into
    its letters."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidValueError(
            field, f"must be a collection of strings, got {type(value).__name__} {value!r}"
        )
    _nested_text(field, value)
    return value


def _instance_check(kind: type) -> Check:
    def check(field: str, value: Any) -> Any:
        if not isinstance(value, kind):
            raise InvalidValueError(
                field, f"must be a {kind.__name__}, got {type(value).__name__} {value!r}"
            )
        return value

    return check


def _enum_check(kind: type[Enum]) -> Check:
    def check(field: str, value: Any) -> Any:
        return value if isinstance(value, kind) else enum_member(kind, field, value)

    return check


def _optional(check: Check) -> Check:
    def check_optional(field: str, value: Any) -> Any:
        return None if value is None else check(field, value)

    return check_optional


def _check_for(hint: Any) -> Check | None:
    """The check of an argument annotated ``hint``, or None when it has none."""
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        optional = len(members) < len(typing.get_args(hint))
        if len(members) != 1:
            return None  # e.g. FollowUpKind | str: the method converts it itself
        hint = members[0]
    check: Check | None = None
    if hint is str:
        check = require_text
    elif hint is bool:
        check = _check_bool
    elif hint is int:
        check = check_integer
    elif hint is datetime:
        check = check_instant
    elif isinstance(hint, type) and issubclass(hint, Enum):
        check = _enum_check(hint)
    elif isinstance(hint, type) and attrs.has(hint):  # a Rep, a Pool, a Team, a Policy
        check = _instance_check(hint)
    elif typing.get_origin(hint) is Mapping:
        check = _check_mapping
    elif typing.get_origin(hint) is Iterable and typing.get_args(hint) == (str,):
        check = _check_strings
    if check is None:
        return None
    return _optional(check) if optional else check


def checked(method: F) -> F:
    """``method`` with its arguments checked first (see the module's docs)."""
    signature = inspect.signature(method)
    try:
        hints = typing.get_type_hints(method)
    except Exception:  # an annotation that cannot be resolved: check text only
        hints = {}
    checks = {
        name: _check_for(hints[name])
        for name in signature.parameters
        if name != "self" and name in hints
    }

    def check(name: str, value: Any) -> Any:
        found = checks.get(name)
        if found is not None:
            return found(name, value)
        _nested_text(name, value)
        return value

    parameters = signature.parameters.values()
    # The names positional arguments fill, in order, and those a keyword may name; a
    # method that takes *args or **kwargs goes through Signature.bind every time.
    positional = [p.name for p in parameters if p.kind in _POSITIONAL]
    by_keyword = {p.name for p in parameters if p.kind in _BY_KEYWORD}
    plain = all(p.kind in _POSITIONAL or p.kind in _BY_KEYWORD for p in parameters)
    self_first = bool(positional) and positional[0] == "self"

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        # The common call (arguments that fill known parameters, none twice) is checked
        # without Signature.bind, which cost as much as a claim's rules.
        if plain and len(args) <= len(positional) and kwargs.keys() <= by_keyword:
            named = positional[: len(args)]
            if not kwargs or kwargs.keys().isdisjoint(named):
                start = 1 if self_first and args else 0
                checked_args = [*args[:start]]
                checked_args += [
                    check(n, v) for n, v in zip(named[start:], args[start:], strict=True)
                ]
                return method(*checked_args, **{n: check(n, v) for n, v in kwargs.items()})
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:  # a missing or unknown argument: Python says which
            return method(*args, **kwargs)
        arguments = bound.arguments
        for name, value in arguments.items():
            if name != "self":
                arguments[name] = check(name, value)
        return method(*bound.args, **bound.kwargs)

    return typing.cast(F, run)


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_BY_KEYWORD = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
