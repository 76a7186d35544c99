"""The values of an import: a row to create, what became of it, and the report.

A reader (:mod:`poolkit.importing.reader`) turns a file into :class:`ImportRow` values;
:meth:`poolkit.service.PoolService.import_customers` turns rows into :class:`RowResult`
values. Rows a reader could not take (undecodable, damaged, a repeated id) become results
straight away, without reaching the service.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import attrs

from poolkit.errors import ConfigError
from poolkit.model.customer import AttributeValue

__all__ = [
    "EXTERNAL_ID_COLUMN",
    "ID_COLUMNS",
    "KEY_COLUMNS",
    "RESERVED_COLUMNS",
    "Columns",
    "ImportReport",
    "ImportRow",
    "Outcome",
    "RowResult",
]

# Columns with a meaning of their own; every other column becomes an attribute.
KEY_COLUMNS = ("phone", "email", "uscc", "org_code")
RESERVED_COLUMNS = ("id", "external_id", "name", "grade", "tags", *KEY_COLUMNS)
# A row's own id in the system it comes from: stored with the customer, so that an import
# run again (after a crash, a Ctrl-C) skips the rows already in.
EXTERNAL_ID_COLUMN = "external_id"
ID_COLUMNS = ("id", EXTERNAL_ID_COLUMN)


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
    # Its id in the system it comes from (the ``external_id`` column): a row whose external
    # id is stored is reported as already imported and skipped.
    external_id: str | None = None


class Outcome(enum.Enum):
    CREATED = "created"
    COLLISION = "collision"  # matches a customer already stored
    DUPLICATE = "duplicate"  # matches an earlier row of the same import
    INVALID = "invalid"  # malformed: no name, a bad phone, a cap reached, undecodable...
    # Its external id is stored: an earlier run of the same import created it.
    ALREADY_IMPORTED = "already imported"


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
    """What became of the rows of an import: ``rows``, one result each, in the order of the
    file; or, for an import that handed each result to its caller as it went
    (``import_customers(on_row=...)``), only the rows that need a person's attention
    (:meth:`needs_attention`), the others counted in ``handed_on`` by outcome and the
    look-alikes they filed in ``lookalikes_handed_on``."""

    rows: tuple[RowResult, ...]
    handed_on: Mapping[Outcome, int] = attrs.field(factory=dict)
    lookalikes_handed_on: int = 0

    @staticmethod
    def needs_attention(result: RowResult) -> bool:
        """Whether a row is kept in a report that hands the others on: the refused rows
        (collision, duplicate, invalid); not the rows created (their look-alikes are on the
        review list) or already imported (a resumed import of a big file has many)."""
        return result.outcome not in (Outcome.CREATED, Outcome.ALREADY_IMPORTED)

    def count(self, outcome: Outcome) -> int:
        kept = sum(1 for result in self.rows if result.outcome is outcome)
        return kept + self.handed_on.get(outcome, 0)

    def total(self) -> int:
        """How many rows the report tells of, kept or handed on."""
        return len(self.rows) + sum(self.handed_on.values())

    def summary(self) -> str:
        """``N rows: a created, b collision, c duplicate, d invalid``, then the rows already
        imported and the look-alikes filed for review when there are any."""
        counts = Counter(result.outcome for result in self.rows)
        counts.update(self.handed_on)
        parts = [
            f"{counts.get(outcome, 0)} {outcome.value}"
            for outcome in Outcome
            if outcome is not Outcome.ALREADY_IMPORTED
        ]
        if counts.get(Outcome.ALREADY_IMPORTED):
            parts.append(f"{counts[Outcome.ALREADY_IMPORTED]} already imported")
        filed = self.lookalikes()
        if filed:
            parts.append(f"{filed} look-alike{'' if filed == 1 else 's'} filed for review")
        return f"{self.total()} rows: " + ", ".join(parts)

    def lookalikes(self) -> int:
        """How many look-alikes the created rows filed for review, for the summary: an
        import that files thousands has imported a pattern, not duplicates."""
        kept = sum(len(result.similar_ids) for result in self.rows)
        return kept + self.lookalikes_handed_on

    def with_results(self, more: Iterable[RowResult]) -> ImportReport:
        """This report and ``more`` (a reader's refused rows), in the order of the file."""
        rows = tuple(sorted((*self.rows, *more), key=lambda result: result.row))
        return ImportReport(rows, self.handed_on, self.lookalikes_handed_on)


@attrs.frozen
class Columns:
    """Where each meaningful column sits in a header row, worked out once per file so that
    turning a row's cells into an :class:`ImportRow` is a few index look-ups."""

    width: int
    name: int
    id: int | None
    external_id: int | None
    grade: int | None
    tags: int | None
    keys: tuple[tuple[str, int], ...]
    attributes: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, source: str, header: Sequence[str]) -> Columns:
        """The columns of ``header``; reserved names are matched without regard to case or
        surrounding spaces (``Name``, `` phone``), as spreadsheets are typed by people."""
        names = [cell.strip().lstrip("\ufeff") for cell in header]
        folded = [name.casefold() for name in names]
        if "name" not in folded:
            raise ConfigError(source, "the file needs a header row with a 'name' column")

        def where(column: str) -> int | None:
            return folded.index(column) if column in folded else None

        # Every column named for a key is one: exports often carry two `phone` columns.
        keys = tuple((name, at) for at, name in enumerate(folded) if name in KEY_COLUMNS)
        meaningful = {where(column) for column in RESERVED_COLUMNS}
        meaningful |= {at for _, at in keys}
        # Up to the last named column: a spreadsheet pads every row to the widest one.
        width = max(at for at, name in enumerate(names) if name) + 1
        return cls(
            width=width,
            name=folded.index("name"),
            id=where("id"),
            external_id=where(EXTERNAL_ID_COLUMN),
            grade=where("grade"),
            tags=where("tags"),
            keys=keys,
            attributes=tuple(
                (name, at) for at, name in enumerate(names) if at not in meaningful and name
            ),
        )

    def row(self, line: int, cells: Sequence[str]) -> ImportRow:
        """The row that ``cells`` (at most ``width`` of them) describe. Empty cells are
        ignored; keys and tags may hold several values separated by ``;``."""
        count = len(cells)

        def cell(at: int | None) -> str:
            return cells[at].strip() if at is not None and at < count else ""

        keys = tuple(
            (column, value.strip())
            for column, at in self.keys
            for value in cell(at).split(";")
            if value.strip()
        )
        attributes: dict[str, AttributeValue] = {}
        for column, at in self.attributes:
            value = cell(at)
            if value:
                attributes[column] = value
        tags = cell(self.tags)
        return ImportRow(
            row=line,
            name=cell(self.name),
            customer_id=cell(self.id) or None,
            keys=keys,
            grade=cell(self.grade) or None,
            tags=frozenset(tag.strip() for tag in tags.split(";") if tag.strip())
            if tags
            else frozenset(),
            attributes=attributes,
            external_id=cell(self.external_id) or None,
        )
