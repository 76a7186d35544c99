"""The SQL any relational store of poolkit shares: the customers row and its version
check, the side tables that index a customer's keys, tags, related reps and name blocks,
and the claims index.

Imports nothing from :mod:`sqlite3`: the statements are written with ``?`` placeholders
and rendered for a :class:`~.dialect.Dialect`, and the side-table upkeep runs them through
any function that executes one statement. A store for another database (PostgreSQL) uses
the same tables, the same rows and the same upkeep, with its own dialect.

The tables (their DDL is each store's own, see :mod:`.migrations` for SQLite):

- ``customers``: the columns queries filter on, the schedule (``drop_at``, ``warn_at``,
  ``next_at``), the sort columns of pages (``name``, ``entered_at``), ``version``, and the
  document (``body``);
  ``next_at``), what the caps count (``dealt``: has a deal, ``locked``), ``version``,
  and the document (``body``);
- ``customer_keys (kind, value, customer_id)``, ``customer_tags (tag, customer_id)``,
  ``customer_related (rep_id, customer_id)``, ``customer_name_blocks (block,
  customer_id)``: one row per key, tag, related rep and blocking key of the name;
- ``customer_normal_names (normal, name, customer_id)``: the name and its normal form,
  one row per customer whose name has one (the look-alike lookup reads candidates from it
  beside the name blocks, without a read of the wide customers table, and compares them
  by their normal forms);
- ``claims (rep_id, at, customer_id, seq)``: one row per ``Claimed`` event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, NamedTuple

from poolkit.identity.similarity import name_blocks, normal_form
from poolkit.model.customer import Customer
from poolkit.model.schedule import Schedule
from poolkit.ports import entered_at
from poolkit.stores.sql.converters import json_text
from poolkit.stores.sql.dialect import Dialect

# ---------------------------------------------------------------------------- customers

# The customers row in the column order of the statements below, ``id`` last, so that an
# insert and a versioned update take the same tuple (the update adds the expected version).
CUSTOMER_COLUMNS = (
    "status",
    "owner_id",
    "pool_id",
    "grade",
    "public_since",
    "version",
    "drop_at",
    "warn_at",
    "next_at",
    "name",
    "entered_at",
    "dealt",
    "locked",
    "body",
    "id",
)


def customer_row(customer: Customer, schedule: Schedule, dialect: Dialect) -> tuple[Any, ...]:
    """The customers row of ``customer``, in :data:`CUSTOMER_COLUMNS` order."""
    plain = _plain(customer, dialect)
    return (
        *plain[:_BEFORE_SCHEDULE],
        *_schedule_values(schedule, dialect),
        *plain[_BEFORE_SCHEDULE:],
        json_text(customer),
        customer.id,
    )


def _schedule_values(schedule: Schedule, dialect: Dialect) -> tuple[Any, Any, Any]:
    """The values of the columns drop_at, warn_at and next_at."""
    instant = dialect.instant
    drop_at, warn_at, next_at = schedule.drop_at, schedule.warn_at, schedule.next_at
    return (
        None if drop_at is None else instant(drop_at),
        None if warn_at is None else instant(warn_at),
        None if next_at is None else instant(next_at),
    )


# The columns of a row that follow from the customer alone (not its schedule, not its
# document), by their position in CUSTOMER_COLUMNS, in the order _plain gives them.
_PLAIN_COLUMNS = (0, 1, 2, 3, 4, 5, 9, 10, 11, 12)
_ALWAYS = (6, 7, 8, 13)  # drop_at, warn_at, next_at (the old schedule is not known), body
_PLAIN_POSITIONS = range(len(_PLAIN_COLUMNS))
_BEFORE_SCHEDULE = 6  # the columns of _PLAIN_COLUMNS before drop_at: status to version
# The update statement for each set of changed columns (positions in _plain's tuple).
_UPDATES: dict[tuple[int, ...], str] = {}


def _plain(customer: Customer, dialect: Dialect) -> tuple[Any, ...]:
    """The values of the columns :data:`_PLAIN_COLUMNS` names, in that order."""
    return (
        customer.status.value,
        customer.owner_id,
        customer.pool_id,
        customer.grade,
        None if customer.public_since is None else dialect.instant(customer.public_since),
        customer.version,
        customer.name,
        dialect.instant(entered_at(customer)),
        int(customer.last_deal_at is not None),
        int(customer.locked),
    )


def changed_update(
    stored: Customer, customer: Customer, schedule: Schedule, dialect: Dialect, body: str
) -> tuple[str, tuple[Any, ...]]:
    """The versioned update of ``stored`` to ``customer`` (whose document is ``body``) that
    sets only the columns that changed (and the schedule and document, always), with its
    parameters. SQLite rewrites
    the entries of every index on a column an UPDATE sets, changed or not: a follow-up that
    set every column rewrote each index of the owner, the pool and the status."""
    before, after = _plain(stored, dialect), _plain(customer, dialect)
    changed = tuple([n for n in _PLAIN_POSITIONS if before[n] != after[n]])
    statement = _UPDATES.get(changed)
    if statement is None:
        columns = sorted([*(_PLAIN_COLUMNS[n] for n in changed), *_ALWAYS])
        sets = ", ".join(f"{CUSTOMER_COLUMNS[i]} = ?" for i in columns)
        statement = dialect.sql(f"UPDATE customers SET {sets} WHERE id = ? AND version = ?")
        _UPDATES[changed] = statement
    # In CUSTOMER_COLUMNS order, as the statement sets them: the schedule's columns come
    # after the version, the document last.
    return statement, (
        *[after[n] for n in changed if n < _BEFORE_SCHEDULE],
        *_schedule_values(schedule, dialect),
        *[after[n] for n in changed if n >= _BEFORE_SCHEDULE],
        body,
        customer.id,
        stored.version,
    )


# ---------------------------------------------------------------------------- side tables


class Side(NamedTuple):
    """Where a side table's rows come from: a field of the customer, and the rows it
    makes (each the tuple of its columns besides ``customer_id``). Equal fields make equal
    rows, so an update compares the fields first."""

    columns: tuple[str, ...]
    field: Callable[[Customer], Any]
    rows: Callable[[Any], set[tuple[str, ...]]]

    def rows_of(self, customer: Customer) -> set[tuple[str, ...]]:
        return self.rows(self.field(customer))


# The side tables that follow a customer's keys, tags and related reps. Name blocks are
# apart: they change only with the name, and are recomputed from it.
SIDES: dict[str, Side] = {
    "customer_keys": Side(
        ("kind", "value"),
        lambda customer: customer.keys,
        lambda keys: {(key.kind, key.value) for key in keys},
    ),
    "customer_tags": Side(
        ("tag",), lambda customer: customer.tags, lambda tags: {(tag,) for tag in tags}
    ),
    "customer_related": Side(
        ("rep_id",),
        lambda customer: customer.related_reps.keys(),
        lambda reps: {(rep,) for rep in reps},
    ),
}
SIDE_TABLES = tuple(SIDES)
NAME_BLOCKS = "customer_name_blocks"
# The name blocks as a side like the others, for a store that keeps all four alike (the
# PostgreSQL store writes each side in the customer's own statement).
NAME_BLOCK_SIDE = Side(
    ("block",),
    lambda customer: customer.name,
    lambda name: {(block,) for block in name_blocks(name)},
)
NORMAL_NAMES = "customer_normal_names"
# The name and its normal form beside its blocks, written and replaced with them.
NORMAL_NAME_SIDE = Side(
    ("normal", "name"),
    lambda customer: customer.name,
    lambda name: set() if (form := normal_form(name)) is None else {(form, name)},
)
ALL_SIDES: dict[str, Side] = {
    **SIDES,
    NAME_BLOCKS: NAME_BLOCK_SIDE,
    NORMAL_NAMES: NORMAL_NAME_SIDE,
}


def document_rows(side: Any) -> set[tuple[str, ...]]:
    """The side rows of one field of a stored document: keys are ``[kind, value]`` pairs,
    tags a list, related reps an object whose keys are the rep ids (iterating a dict gives
    them); a missing field (null) has none."""
    return {tuple(item) if isinstance(item, list) else (item,) for item in side or ()}


class Statements(NamedTuple):
    """Every shared statement, rendered once for one dialect."""

    insert_customer: str
    update_customer: str  # versioned: matches no row when the stored version differs
    delete_customer: str  # versioned too
    version_of: str
    insert_side_row: dict[str, str]
    delete_side_row: dict[str, str]
    delete_sides_of: dict[str, str]
    insert_claim: str
    claims_by: str


def statements(dialect: Dialect) -> Statements:
    sql = dialect.sql
    assignments = ", ".join(f"{column} = ?" for column in CUSTOMER_COLUMNS[:-1])
    insert_side: dict[str, str] = {}
    delete_side: dict[str, str] = {}
    for table, columns in [(t, s.columns) for t, s in ALL_SIDES.items()]:
        names = (*columns, "customer_id")
        marks = ", ".join("?" for _ in names)
        insert_side[table] = sql(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})")
        match = " AND ".join(f"{name} = ?" for name in names)
        delete_side[table] = sql(f"DELETE FROM {table} WHERE {match}")
    return Statements(
        insert_customer=sql(
            f"INSERT INTO customers ({', '.join(CUSTOMER_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in CUSTOMER_COLUMNS)})"
        ),
        update_customer=sql(f"UPDATE customers SET {assignments} WHERE id = ? AND version = ?"),
        delete_customer=sql("DELETE FROM customers WHERE id = ? AND version = ?"),
        version_of=sql("SELECT version FROM customers WHERE id = ?"),
        insert_side_row=insert_side,
        delete_side_row=delete_side,
        delete_sides_of={
            table: sql(f"DELETE FROM {table} WHERE customer_id = ?")
            for table in (*SIDE_TABLES, NAME_BLOCKS, NORMAL_NAMES)
        },
        insert_claim=sql("INSERT INTO claims (rep_id, at, customer_id, seq) VALUES (?, ?, ?, ?)"),
        claims_by=sql(
            "SELECT at FROM claims WHERE rep_id = ? AND at > ? ORDER BY at, customer_id, seq"
        ),
    )


Run = Callable[[str, Sequence[Any]], object]
"""Runs one statement with its parameters in the current transaction."""


RunMany = Callable[[str, Sequence[Sequence[Any]]], object]
"""Runs one statement once per row of parameters, in one call (``executemany``)."""


class SideTables:
    """Keeps the side tables in step with the customers written through ``run`` (and
    ``run_many``, when given, for the several rows of a new customer at once)."""

    def __init__(self, run: Run, sql: Statements, run_many: RunMany | None = None) -> None:
        self._run = run
        self._sql = sql
        self._run_many = run_many

    def add(self, customer: Customer) -> None:
        for table, side in SIDES.items():
            rows = [(*row, customer.id) for row in sorted(side.rows_of(customer))]
            self._insert(self._sql.insert_side_row[table], rows)
        self._insert_name_blocks(customer)

    def _insert(self, statement: str, rows: Sequence[tuple[str, ...]]) -> None:
        if self._run_many is not None and len(rows) > 1:
            # A new name has a dozen blocks: one call instead of a dozen, which was a
            # tenth of an import's time.
            self._run_many(statement, rows)
            return
        for row in rows:
            self._run(statement, row)

    def follow(self, before: Customer, after: Customer) -> None:
        """After an update from ``before`` to ``after``: only the rows that changed."""
        for table, side in SIDES.items():
            old, new = side.field(before), side.field(after)
            if old != new:  # most updates change none of them, a drop the related reps
                self.write(table, after.id, side.rows(old), side.rows(new))
        if before.name != after.name:
            self.replace_name_blocks(after)

    def write(
        self,
        table: str,
        customer_id: str,
        old: AbstractSet[tuple[str, ...]],
        new: AbstractSet[tuple[str, ...]],
    ) -> None:
        """Bring ``table`` from the rows ``old`` to ``new``."""
        for row in sorted(old - new):
            self._run(self._sql.delete_side_row[table], (*row, customer_id))
        for row in sorted(new - old):
            self._run(self._sql.insert_side_row[table], (*row, customer_id))

    def remove(self, customer_id: str) -> None:
        for statement in self._sql.delete_sides_of.values():
            self._run(statement, (customer_id,))

    def replace_name_blocks(self, customer: Customer) -> None:
        """After a rename: the blocks and normal form of the new name replace those of the
        old."""
        self._run(self._sql.delete_sides_of[NAME_BLOCKS], (customer.id,))
        self._run(self._sql.delete_sides_of[NORMAL_NAMES], (customer.id,))
        self._insert_name_blocks(customer)

    def _insert_name_blocks(self, customer: Customer) -> None:
        rows = [(block, customer.id) for block in sorted(name_blocks(customer.name))]
        self._insert(self._sql.insert_side_row[NAME_BLOCKS], rows)
        form = normal_form(customer.name)
        if form is not None:
            self._run(self._sql.insert_side_row[NORMAL_NAMES], (form, customer.name, customer.id))


__all__ = [
    "ALL_SIDES",
    "CUSTOMER_COLUMNS",
    "NAME_BLOCKS",
    "NAME_BLOCK_SIDE",
    "NORMAL_NAMES",
    "NORMAL_NAME_SIDE",
    "SIDES",
    "SIDE_TABLES",
    "Run",
    "RunMany",
    "Side",
    "SideTables",
    "Statements",
    "customer_row",
    "document_rows",
    "statements",
]
