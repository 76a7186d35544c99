"""Reading policy and team documents: files into tables, tables into keys.

The reading only finds things (a table, a key, a list of tables) and notes what is missing
or unknown; the values are checked by the classes they are handed to. Problems are
gathered in one list, so a document with several mistakes is refused once, with all of them.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs

from poolkit.errors import ConfigError, InvalidValueError

T = TypeVar("T")
A = TypeVar("A", bound=attrs.AttrsInstance)
Problems = list[tuple[str, str]]
"""Mistakes found, each as (key path, message)."""


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """The table a TOML file holds; a file that cannot be read, is not UTF-8 or is not
    valid TOML is a :class:`~poolkit.errors.ConfigError` naming the file (and the line)."""
    file = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigError("", f"cannot read {what} file: {reason}", file=file) from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ConfigError(
            "",
            f"{what} file is not UTF-8 text (byte {raw[error.start]:#04x} at offset {error.start})",
            file=file,
            line=line,
        ) from error
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # tomllib gives the position only inside its message before Python 3.14.
        found = re.search(r"at line (\d+)", str(error))
        line = int(found.group(1)) if found else text.count("\n") + 1
        raise ConfigError(
            "", f"{what} file is not valid TOML: {error}", file=file, line=line
        ) from error


def load_toml(path: str | Path, what: str, read: Callable[[dict[str, Any]], T]) -> T:
    """``read`` applied to the table of a TOML file; a mistake in the file or in what it
    holds is reported with the file's name (and for a syntax or encoding mistake, the
    line)."""
    data = read_toml(path, what)
    try:
        return read(data)
    except ConfigError as error:
        raise error.in_file(str(path)) from None


class Reader:
    """Reads one table of a document: finds keys, remembers which were read, and notes
    every shape mistake (not a table, unknown key, missing key) in a shared list instead of
    stopping at the first. It checks no value: the classes built from the values do."""

    def __init__(self, data: object, path: str, problems: Problems) -> None:
        self.problems = problems
        self.path = path
        self.seen: set[str] = set()
        # Only a table's own problem is noted for something that is not a table, not one
        # "is required" per key it could not have.
        self.is_table = isinstance(data, Mapping)
        self.data: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        if not self.is_table:
            problems.append((path, f"must be a table, got {type(data).__name__}"))

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def values(self, *keys: str, required: Iterable[str] = ()) -> dict[str, Any]:
        """The given keys that are present (a missing required one is noted)."""
        for key in required:
            if self.is_table and key not in self.data:
                self.problems.append((self.at(key), "is required"))
        self.seen.update(keys)
        return {key: self.data[key] for key in keys if key in self.data}

    def table(self, key: str) -> Reader:
        self.seen.add(key)
        return Reader(self.data.get(key, {}), self.at(key), self.problems)

    def tables(self, key: str) -> list[Reader]:
        self.seen.add(key)
        value = self.data.get(key, [])
        if not isinstance(value, list | tuple):
            self.problems.append(
                (self.at(key), f"must be a list of tables, got {type(value).__name__}")
            )
            return []
        return [
            Reader(item, f"{self.at(key)}[{index}]", self.problems)
            for index, item in enumerate(value)
        ]

    def done(self) -> None:
        for key in sorted(set(self.data) - self.seen, key=str):
            self.problems.append((self.at(str(key)), "unknown key"))

    def build(self, make: Callable[..., T], values: Mapping[str, Any]) -> T | None:
        """``make(**values)``, or None with the problems it raised noted under this path."""
        try:
            return make(**values)
        except ConfigError as error:
            self.problems.extend(
                (self.at(key) if key else self.path, what) for key, what in error.problems
            )
            return None

    def build_value(
        self, cls: type[A], values: Mapping[str, Any], fields: Mapping[str, str]
    ) -> A | None:
        """``cls`` built from the document's ``values`` (``fields`` maps a document key to
        the field it fills when their names differ), or None with every field it refuses
        noted: each field's own converter and validator run, where constructing the value
        would stop at the first refusal."""
        key_of = {field: key for key, field in fields.items()}
        given = {fields.get(key, key): value for key, value in values.items()}
        found: Problems = []
        for attribute in attrs.fields(cls):
            if attribute.name not in given:
                continue
            value = given[attribute.name]
            try:
                if callable(attribute.converter):
                    value = attribute.converter(value)
                if attribute.validator is not None:
                    attribute.validator(None, attribute, value)
            except InvalidValueError as error:
                found.append((key_of.get(attribute.name, attribute.name), error.message))
        if not found:
            try:
                return cls(**given)
            except InvalidValueError as error:
                found.append((key_of.get(error.field, error.field), error.message))
            except ConfigError as error:
                found.extend(error.problems)
        self.problems.extend((self.at(key) if key else self.path, what) for key, what in found)
        return None
