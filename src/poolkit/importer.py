"""The import values under their first home (``poolkit.importer``), kept for the callers
that import them from here; new code imports from :mod:`poolkit.importing`."""

from __future__ import annotations

from pathlib import Path

from poolkit.errors import ConfigError
from poolkit.importing import ImportFile, ImportReport, ImportRow, Outcome, RowResult, read_file
from poolkit.importing.rows import KEY_COLUMNS, RESERVED_COLUMNS

__all__ = [
    "KEY_COLUMNS",
    "RESERVED_COLUMNS",
    "ImportFile",
    "ImportReport",
    "ImportRow",
    "Outcome",
    "RowResult",
    "read_csv",
    "read_file",
]


def read_csv(path: str | Path, *, encoding: str | None = None) -> list[ImportRow]:
    """Every row of a customer file at once, for callers that need a list; a file with a
    row :func:`read_file` refuses raises :class:`ConfigError` naming its line, since a list
    has nowhere to report it (stream with :func:`read_file` to import the rest)."""
    found = read_file(path, encoding=encoding)
    rows = list(found)
    if found.issues:
        first = found.issues[0]
        more = f" (and {len(found.issues) - 1} more)" if len(found.issues) > 1 else ""
        raise ConfigError(str(path), f"line {first.row}: {first.message}{more}")
    return rows
