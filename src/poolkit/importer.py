"""Bulk import (批量导入): rows in, and a per-row report of what became of each.

:func:`read_csv` turns a CSV file into :class:`ImportRow` values; the import itself is
:meth:`poolkit.service.PoolService.import_customers`, which reports, row by row, whether it
was created, collided with an existing customer (and whose it is), duplicated an earlier
row of the same file, or was invalid, and why.
"""

from __future__ import annotations

import csv
import enum
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import attrs

from poolkit.errors import ConfigError
from poolkit.model.customer import AttributeValue

__all__ = ["ImportReport", "ImportRow", "Outcome", "RowResult", "read_csv"]

# Columns with a meaning of their own; every other column becomes an attribute.
KEY_COLUMNS = ("phone", "email", "uscc", "org_code")
RESERVED_COLUMNS = ("id", "name", "grade", "tags", *KEY_COLUMNS)


@attrs.frozen
class ImportRow:
    """One customer to import. ``row`` is its line number in the source (for the report)."""

    row: int
    name: str
    customer_id: str | None = None
    keys: tuple[tuple[str, str], ...] = ()
    grade: str | None = None
    tags: frozenset[str] = frozenset()
    attributes: Mapping[str, AttributeValue] = attrs.field(factory=dict, hash=False)


class Outcome(enum.Enum):
    CREATED = "created"
    COLLISION = "collision"  # matches a customer already stored
    DUPLICATE = "duplicate"  # matches an earlier row of the same import
    INVALID = "invalid"  # malformed: no name, a bad phone, a cap reached...


@attrs.frozen
class RowResult:
    row: int
    outcome: Outcome
    customer_id: str | None = None
    message: str = ""
    # For a collision: the existing customer and who holds it; for a duplicate: the row.
    other_customer_id: str | None = None
    other_owner_id: str | None = None
    other_pool_id: str | None = None
    duplicate_of_row: int | None = None
    # For a created row: stored customers whose names look alike (now on the review list).
    similar_ids: tuple[str, ...] = ()


@attrs.frozen
class ImportReport:
    rows: tuple[RowResult, ...]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.rows if result.outcome is outcome)

    def summary(self) -> str:
        counts = Counter(result.outcome for result in self.rows)
        parts = [f"{counts.get(outcome, 0)} {outcome.value}" for outcome in Outcome]
        return f"{len(self.rows)} rows: " + ", ".join(parts)


def read_csv(path: str | Path) -> list[ImportRow]:
    """Read a CSV with a header row. ``name`` is required; ``id``, ``grade``, ``tags``
    (separated by ``;``), ``phone``/``email``/``uscc``/``org_code`` (several values
    separated by ``;``) are optional; any other column becomes an attribute. Empty cells
    are ignored."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            if "name" not in header:
                raise ConfigError(str(path), "the CSV needs a header row with a 'name' column")
            rows = []
            for record in reader:
                rows.append(_row(reader.line_num, record))
            return rows
    except OSError as error:
        raise ConfigError(str(path), f"cannot read: {error}") from error
    except (UnicodeDecodeError, csv.Error) as error:
        raise ConfigError(str(path), f"not a UTF-8 CSV file: {error}") from error


def _row(line: int, record: Mapping[str | None, str | list[str] | None]) -> ImportRow:
    def cell(column: str) -> str:
        value = record.get(column)
        return value.strip() if isinstance(value, str) else ""

    keys = tuple(
        (column, value.strip())
        for column in KEY_COLUMNS
        for value in cell(column).split(";")
        if value.strip()
    )
    attributes = {
        str(column): value.strip()
        for column, value in record.items()
        if column is not None
        and column not in RESERVED_COLUMNS
        and isinstance(value, str)
        and value.strip()
    }
    return ImportRow(
        row=line,
        name=cell("name"),
        customer_id=cell("id") or None,
        keys=keys,
        grade=cell("grade") or None,
        tags=frozenset(tag.strip() for tag in cell("tags").split(";") if tag.strip()),
        attributes=attributes,
    )
