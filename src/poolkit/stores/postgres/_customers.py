"""The customers of the PostgreSQL store: one row each, with its query columns and
schedule, and the side tables that index its keys, tags, related reps and name blocks.

Every write is one statement: the customer row and the rows of its side tables change
together in one round trip (data-modifying ``WITH`` queries), and the version check is in
the ``WHERE`` clause of that statement, so a stale write changes nothing anywhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, LiteralString, NamedTuple, cast

from psycopg import sql
from psycopg.adapt import PyFormat

from poolkit.errors import DamagedRecordError, DuplicateIdError, StaleVersionError
from poolkit.model.customer import Customer, CustomerStatus, IdentityKey
from poolkit.model.events import Created
from poolkit.model.holdings import Holdings
from poolkit.model.schedule import Schedule
from poolkit.ports import CustomerOrder, CustomerQuery, CustomerTally, Position, entered_at
from poolkit.stores import _documents as documents
from poolkit.stores._codec import decode, encode
from poolkit.stores._created import checked_ids
from poolkit.stores.postgres._ahead import CUSTOMER, HOLDINGS
from poolkit.stores.postgres._held import HeldWrites, Write
from poolkit.stores.postgres._schema import PAGE_SORT_COLUMNS
from poolkit.stores.sql import customer_page, rows
from poolkit.stores.sql.customer_query import where_clause
from poolkit.stores.sql.dialect import POSTGRES

if TYPE_CHECKING:
    from poolkit.stores.postgres._store import PostgresUnitOfWork

SORTS = customer_page.PageSorts(
    expressions={
        CustomerOrder.NAME: PAGE_SORT_COLUMNS["name"],
        CustomerOrder.ENTERED: PAGE_SORT_COLUMNS["entered"],
        CustomerOrder.NEXT_DROP: PAGE_SORT_COLUMNS["next_drop"],
    },
    marks={
        CustomerOrder.NAME: "?",
        CustomerOrder.ENTERED: "?",
        CustomerOrder.NEXT_DROP: "CAST(? AS timestamptz)",
    },
    # timestamptz has an "infinity", which the next-drop index has for no drop due.
    drop_value=lambda at: "infinity" if at is None else at,
    read_drop=lambda value: value,
    instant=lambda at: at,
)


class _Side(NamedTuple):
    """A side table (:data:`poolkit.stores.sql.rows.ALL_SIDES`, shared with every SQL
    store): its columns besides ``customer_id``, the field of the customer it follows, and
    the rows that field makes, here sent as one array per column."""

    table: LiteralString
    columns: tuple[LiteralString, ...]
    field: Callable[[Customer], Any]
    shared: rows.Side

    def rows(self, customer: Customer) -> tuple[list[str], ...]:
        found = sorted(self.shared.rows_of(customer))
        if not found:
            return tuple([] for _ in self.columns)
        return tuple(list(column) for column in zip(*found, strict=True))


# The table and column names are the shared ones, checked against this module's fixed
# list so that the statements built from them stay literal SQL.
_NAMES: dict[str, tuple[LiteralString, tuple[LiteralString, ...]]] = {
    "customer_keys": ("customer_keys", ("kind", "value")),
    "customer_tags": ("customer_tags", ("tag",)),
    "customer_related": ("customer_related", ("rep_id",)),
    "customer_name_blocks": ("customer_name_blocks", ("block",)),
    "customer_normal_names": ("customer_normal_names", ("normal", "name")),
}
if any(_NAMES[t][1] != side.columns for t, side in rows.ALL_SIDES.items()):
    raise ImportError("poolkit.stores.sql.rows.ALL_SIDES and the PostgreSQL store disagree")
SIDES: tuple[_Side, ...] = tuple(
    _Side(*_NAMES[table], side.field, side) for table, side in rows.ALL_SIDES.items()
)


def _side_params(side: _Side) -> list[str]:
    return [f"{side.table}.{column}" for column in side.columns]


def _unnest(side: _Side) -> sql.Composed:
    """``unnest(%(t.a)s::text[], ...) AS n(a, ...)``: the side's new rows, one array per
    column, so a customer with any number of keys is one statement with fixed text."""
    arrays = sql.SQL(", ").join(
        sql.SQL("{}::text[]").format(sql.Placeholder(name)) for name in _side_params(side)
    )
    columns = sql.SQL(", ").join(sql.Identifier(column) for column in side.columns)
    return sql.SQL("unnest({}) AS n({})").format(arrays, columns)


def _insert_side(side: _Side, source: str, conflict: bool) -> sql.Composed:
    columns = sql.SQL(", ").join(sql.Identifier(column) for column in side.columns)
    return sql.SQL(
        "INSERT INTO {table} ({columns}, customer_id) SELECT {n_columns}, {source}.id "
        "FROM {source}, {unnest}{conflict}"
    ).format(
        table=sql.Identifier(side.table),
        columns=columns,
        n_columns=sql.SQL(", ").join(sql.Identifier("n", c) for c in side.columns),
        source=sql.Identifier(source),
        unnest=_unnest(side),
        conflict=sql.SQL(" ON CONFLICT DO NOTHING" if conflict else ""),
    )


def _delete_side(side: _Side, source: str, keep: bool) -> sql.Composed:
    """Delete the customer's rows of the side, but those among the new rows if ``keep``."""
    condition: sql.Composable = sql.SQL("")
    if keep:
        condition = sql.SQL(" AND ({}) NOT IN (SELECT * FROM {})").format(
            sql.SQL(", ").join(sql.Identifier("s", c) for c in side.columns), _unnest(side)
        )
    # By the id parameter, not by a join with the CTE: joined, the planner may scan the
    # whole side table (it did, for an empty one); by the parameter it reads the customer's
    # rows through the customer_id index, and EXISTS runs it only if the write happened.
    statement = (
        "DELETE FROM {table} AS s WHERE s.customer_id = %(id)s AND EXISTS (SELECT FROM {source}){c}"
    )
    return sql.SQL(statement).format(
        table=sql.Identifier(side.table), source=sql.Identifier(source), c=condition
    )


_COLUMNS = (
    "status, owner_id, pool_id, grade, public_since, version, drop_at, warn_at, next_at, name, "
    "dealt, locked, body, entered_at"
)
_VALUES = (
    "%(status)s, %(owner_id)s, %(pool_id)s, %(grade)s, %(public_since)s, %(version)s, "
    "%(drop_at)s, %(warn_at)s, %(next_at)s, %(name)s, %(dealt)s, %(locked)s, %(body)s, "
    "%(entered_at)s"
)


# What a checked write (one sent later, see PostgresUnitOfWork) selects instead of its
# row count: 1, or a division by zero that aborts the transaction when the write did not
# change exactly one row. A refusal by row count would go unnoticed in a pipeline.
CHECKED: LiteralString = "SELECT 1 / (count(*) = 1)::int FROM "


def _with(parts: list[tuple[str, sql.Composable]], result: str, checked: bool = False) -> bytes:
    """The statement as bytes, rendered once: composing it again for every write cost a
    quarter of a millisecond, as much as the database spends running it."""
    ctes = sql.SQL(", ").join(
        sql.SQL("{} AS ({})").format(sql.Identifier(name), part) for name, part in parts
    )
    select = CHECKED if checked else "SELECT count(*) FROM "
    statement = sql.SQL("WITH {} " + select + "{}").format(ctes, sql.Identifier(result))
    return statement.as_bytes(None)


ADD_SQL = _with(
    [
        (
            "added",
            sql.SQL(
                f"INSERT INTO customers (id, {_COLUMNS}) VALUES (%(id)s, {_VALUES}) "
                "ON CONFLICT (id) DO NOTHING RETURNING id"
            ),
        ),
        *((f"add_{side.table}", _insert_side(side, "added", False)) for side in SIDES),
    ],
    "added",
)
"""Insert a customer and its side rows; nothing at all when the id is taken (the row
count says which, and a refusal does not abort the transaction)."""


def _update_sql(sides: tuple[_Side, ...], checked: bool) -> bytes:
    """Update a customer whose stored version is ``%(expected)s``, and bring the side tables
    of ``sides`` to its new rows: delete the rows that went, insert the ones that came.
    ``checked``: the statement fails instead of changing nothing."""
    parts: list[tuple[str, sql.Composable]] = [
        (
            "updated",
            sql.SQL(
                f"UPDATE customers SET ({_COLUMNS}) = ({_VALUES}) "
                "WHERE id = %(id)s AND version = %(expected)s RETURNING id"
            ),
        )
    ]
    for side in sides:
        parts.append((f"drop_{side.table}", _delete_side(side, "updated", keep=True)))
        parts.append((f"add_{side.table}", _insert_side(side, "updated", conflict=True)))
    return _with(parts, "updated", checked)


# One statement per set of side tables that changed (a follow-up changes none, a drop the
# related reps, an edit the keys or the name) and per kind (checked or not). Built on first
# use, at most 64 of them (five side tables, checked or not).
_UPDATE_SQL: dict[tuple[tuple[str, ...], bool], bytes] = {}


# The held writes (see Customers._update_held): the customers row as arrays, one per
# column, each element the row of one customer, cast to the column's type.
_HELD_COLUMNS: tuple[tuple[str, LiteralString], ...] = (
    ("id", "text"),
    ("expected", "bigint"),
    ("status", "text"),
    ("owner_id", "text"),
    ("pool_id", "text"),
    ("grade", "text"),
    ("public_since", "timestamptz"),
    ("version", "bigint"),
    ("drop_at", "timestamptz"),
    ("warn_at", "timestamptz"),
    ("next_at", "timestamptz"),
    ("name", "text"),
    ("dealt", "boolean"),
    ("locked", "boolean"),
    ("body", "text"),
    ("entered_at", "timestamptz"),
)
if tuple(name for name, _ in _HELD_COLUMNS[2:]) != tuple(_COLUMNS.split(", ")):
    raise ImportError("the held writes' columns and the customers row disagree")


def _side_rows(side: _Side, change: str) -> sql.Composed:
    """``unnest(%(t.change.customer_id)s::text[], %(t.change.c)s::text[], ...) AS
    change(customer_id, c, ...)``: the rows of ``side`` that went or came (``change``)
    for the customers of a held write, one array per column."""
    columns = ("customer_id", *side.columns)
    arrays = sql.SQL(", ").join(
        sql.SQL("{}::text[]").format(
            sql.Placeholder(f"{side.table}.{change}.{column}", PyFormat.BINARY)
        )
        for column in columns
    )
    return sql.SQL("unnest({}) AS {}({})").format(
        arrays,
        sql.Identifier(change),
        sql.SQL(", ").join(sql.Identifier(column) for column in columns),
    )


def _held_update_sql(changes: tuple[tuple[_Side, bool, bool], ...]) -> bytes:
    """The checked update of customers whose rows this transaction holds, as it knows the
    rows, all in one statement: the rows go as one array per column (see
    :data:`_HELD_COLUMNS`), and each changed side deletes exactly the rows that went and
    inserts the ones that came, a ``(side, went, came)`` each. What stays is not touched:
    a drop, which adds its owner to the related reps, inserts that one row and deletes
    nothing. It fails unless every customer's row was at its expected version."""
    arrays = sql.SQL(", ").join(
        sql.SQL("{}::{}[]").format(sql.Placeholder(name, PyFormat.BINARY), sql.SQL(kind))
        for name, kind in _HELD_COLUMNS
    )
    names = sql.SQL(", ").join(sql.Identifier(name) for name, _ in _HELD_COLUMNS)
    values = sql.SQL(", ").join(
        sql.SQL("r.body::json" if name == "body" else "r.{}").format(sql.Identifier(name))
        for name, _ in _HELD_COLUMNS[2:]
    )
    parts: list[tuple[str, sql.Composable]] = [
        (
            "updated",
            sql.SQL(
                "UPDATE customers AS c SET ({columns}) = ({values}) "
                "FROM unnest({arrays}) AS r({names}) "
                "WHERE c.id = r.id AND c.version = r.expected RETURNING c.id"
            ).format(columns=sql.SQL(_COLUMNS), values=values, arrays=arrays, names=names),
        )
    ]
    for side, went, came in changes:
        table = sql.Identifier(side.table)
        if went:
            match = sql.SQL(" AND ").join(
                sql.SQL("s.{0} = went.{0}").format(sql.Identifier(column))
                for column in ("customer_id", *side.columns)
            )
            statement = sql.SQL("DELETE FROM {} AS s USING {} WHERE {}").format(
                table, _side_rows(side, "went"), match
            )
            parts.append((f"drop_{side.table}", statement))
        if came:
            columns = sql.SQL(", ").join(
                sql.Identifier(column) for column in ("customer_id", *side.columns)
            )
            statement = sql.SQL(
                "INSERT INTO {} ({}) SELECT * FROM {} ON CONFLICT DO NOTHING"
            ).format(table, columns, _side_rows(side, "came"))
            parts.append((f"add_{side.table}", statement))
    ctes = sql.SQL(", ").join(
        sql.SQL("{} AS ({})").format(sql.Identifier(name), part) for name, part in parts
    )
    statement = sql.SQL(
        "WITH {} SELECT 1 / ((SELECT count(*) FROM updated) = cardinality(%(id)b::text[]))::int"
    ).format(ctes)
    return statement.as_bytes(None)


_HELD_UPDATE_SQL: dict[tuple[tuple[str, bool, bool], ...], bytes] = {}


def _held_update_sql_of(
    kind: tuple[tuple[str, bool, bool], ...], changes: tuple[tuple[_Side, bool, bool], ...]
) -> bytes:
    statement = _HELD_UPDATE_SQL.get(kind)
    if statement is None:
        statement = _HELD_UPDATE_SQL.setdefault(kind, _held_update_sql(changes))
    return statement


def _held_names(changes: tuple[tuple[_Side, bool, bool], ...]) -> list[str]:
    """The array parameters of :func:`_held_update_sql`."""
    names = [name for name, _ in _HELD_COLUMNS]
    for side, went, came in changes:
        for change, present in (("went", went), ("came", came)):
            if present:
                names.extend(f"{side.table}.{change}.{c}" for c in ("customer_id", *side.columns))
    return names


REMOVE_SQL = _with(
    [
        (
            "removed",
            sql.SQL(
                "DELETE FROM customers WHERE id = %(id)s AND version = %(expected)s RETURNING id"
            ),
        ),
        *((f"drop_{side.table}", _delete_side(side, "removed", keep=False)) for side in SIDES),
    ],
    "removed",
)

# The sweep's read: the due customers, each locked for this transaction, skipping those
# another transaction holds (another sweeper's batch, or an operation on that customer
# about to commit). Several sweepers thus share the work without waiting for each other,
# and none can move a customer another is moving. A locked row is re-read at its newest
# version and the condition re-checked, so a customer followed up meanwhile is left out.
DUE_SQL: LiteralString = (
    "SELECT body FROM customers WHERE next_at <= %s ORDER BY next_at, id LIMIT %s "
    "FOR UPDATE SKIP LOCKED"
)
# The forecast's read: the same rows, locking nothing.
UPCOMING_SQL: LiteralString = (
    "SELECT body FROM customers WHERE next_at <= %s ORDER BY next_at, id LIMIT %s"
)
WITH_KEYS_SQL: LiteralString = """SELECT body FROM customers WHERE id IN (
    SELECT k.customer_id FROM unnest(%s::text[], %s::text[]) AS wanted(kind, value)
    JOIN customer_keys AS k ON k.kind = wanted.kind AND k.value = wanted.value
) ORDER BY id"""
# For each wanted block, its first ``per_block`` customers in id order: an index range scan
# of at most that many rows per block, however many names share it.
SIMILAR_NAMES_SQL: LiteralString = """SELECT id, name FROM customers WHERE id IN (
    SELECT b.customer_id FROM unnest(%s::text[]) AS wanted(block)
    CROSS JOIN LATERAL (
        SELECT customer_id FROM customer_name_blocks
        WHERE block = wanted.block ORDER BY customer_id LIMIT %s
    ) AS b
) ORDER BY id"""
# The same ranges, each row with the block it was found by, and the name and its normal
# form from their narrow table, not from the wide customers rows (names_by_block).
NAMES_BY_BLOCK_SQL: LiteralString = """SELECT wanted.block, b.customer_id, n.name, n.normal
FROM unnest(%s::text[]) AS wanted(block)
CROSS JOIN LATERAL (
    SELECT customer_id FROM customer_name_blocks
    WHERE block = wanted.block ORDER BY customer_id LIMIT %s
) AS b
LEFT JOIN customer_normal_names AS n ON n.customer_id = b.customer_id
ORDER BY wanted.block, b.customer_id"""
# Those blocks with a customer past the first ``per_block``: one index seek each.
COMMON_BLOCKS_SQL: LiteralString = """SELECT wanted.block FROM unnest(%s::text[]) AS wanted(block)
WHERE EXISTS (
    SELECT FROM customer_name_blocks WHERE block = wanted.block
    ORDER BY customer_id LIMIT 1 OFFSET %s
)"""
# A rep's holdings, from the customers_holdings index (owner, dealt, locked) alone.
HOLDINGS_SQL: LiteralString = (
    "SELECT count(*), count(*) FILTER (WHERE dealt), count(*) FILTER (WHERE locked), "
    "count(*) FILTER (WHERE dealt AND locked) FROM customers WHERE owner_id = %s"
)
# Imported customers' external ids; a customer's row goes with it (ON DELETE CASCADE).
EXTERNAL_ID_SQL: LiteralString = (
    "SELECT customer_id FROM customer_external_ids WHERE external_id = %s"
)
INSERT_EXTERNAL_ID_SQL: LiteralString = (
    "INSERT INTO customer_external_ids (external_id, customer_id) VALUES (%s, %s)"
)
WITH_EXTERNAL_IDS_SQL: LiteralString = (
    "SELECT external_id, customer_id FROM customer_external_ids WHERE external_id = ANY(%s::text[])"
)
# Which of many new ids are taken, by a customer or by a history, the first by id.
TAKEN_IDS_SQL: LiteralString = """SELECT wanted.id FROM unnest(%s::text[]) AS wanted(id)
WHERE EXISTS (SELECT FROM customers WHERE customers.id = wanted.id)
   OR EXISTS (SELECT FROM events WHERE events.customer_id = wanted.id)
ORDER BY wanted.id LIMIT 1"""
# Transaction-level advisory locks on identity keys, taken in a fixed order.
LOCK_KEYS_SQL: LiteralString = "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k"


def key_lock(schema: str, key: IdentityKey) -> int:
    """The advisory lock number of an identity key: 64 bits of a hash of the schema, kind
    and value (a shared number costs a needless wait, never a wrong answer)."""
    digest = hashlib.blake2b(
        f"{schema}\x00{key.kind}\x00{key.value}".encode(), digest_size=8, person=b"poolkit-key"
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


def external_id_lock(schema: str, external_id: str) -> int:
    """The advisory lock number of an external id (see :func:`key_lock`)."""
    digest = hashlib.blake2b(
        f"{schema}\x00external\x00{external_id}".encode(),
        digest_size=8,
        person=b"poolkit-key",
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


class Customers:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow
        # The customers this transaction read or wrote, as it saw them: an update of one of
        # them rewrites only the side tables whose field changed. Trusted only together
        # with the version check of the update itself (a concurrent writer bumps it).
        self._known: dict[str, Customer] = {}
        # The writes of rows this transaction holds, waiting to be sent (_update_held).
        self._held = HeldWrites(uow)

    def get(self, customer_id: str) -> Customer | None:
        served, ahead = self._uow.ahead.served(self._uow.statements, CUSTOMER, customer_id)
        if served:
            return cast("Customer | None", ahead)
        found = self._uow._execute(
            "SELECT body FROM customers WHERE id = %s", (customer_id,)
        ).fetchone()
        return None if found is None else self._loaded(found[0])

    def schedule_of(self, customer_id: str) -> Schedule | None:
        found = self._uow._execute(
            "SELECT drop_at, warn_at FROM customers WHERE id = %s", (customer_id,)
        ).fetchone()
        return None if found is None else Schedule(found[0], found[1])

    def add(self, customer: Customer, schedule: Schedule) -> None:
        external_id = customer.external_id
        if external_id is not None:
            # Locked until this unit of work ends, like an identity key, so that two imports
            # of one external id at once cannot both find it free.
            self._uow._execute(
                LOCK_KEYS_SQL, ([external_id_lock(self._uow._store.schema, external_id)],)
            )
            taken = self._uow._execute(EXTERNAL_ID_SQL, (external_id,)).fetchone()
            if taken is not None:
                raise DuplicateIdError("external", external_id)
        params = _params(customer, schedule, SIDES)
        added = self._uow._execute(ADD_SQL, params).fetchone()
        if added is None or added[0] != 1:
            raise DuplicateIdError("customer", customer.id)
        if external_id is not None:
            self._uow._execute(INSERT_EXTERNAL_ID_SQL, (external_id, customer.id))
        self._known[customer.id] = customer

    def add_created(self, created: Sequence[tuple[Created, Customer, Schedule]]) -> None:
        """Checked at once (the external ids locked as :meth:`add` locks one), then written
        one customer at a time: each write is one round trip already."""
        ids, external = checked_ids(created)
        if not ids:
            return
        if external:
            schema = self._uow._store.schema
            locks = sorted({external_id_lock(schema, external_id) for external_id in external})
            self._uow._execute(LOCK_KEYS_SQL, (locks,))
            stored = self._uow._execute(WITH_EXTERNAL_IDS_SQL, (sorted(external),)).fetchall()
            if stored:
                raise DuplicateIdError("external", min(str(row[0]) for row in stored))
        taken = self._uow._execute(TAKEN_IDS_SQL, (ids,)).fetchone()
        if taken is not None:
            raise DuplicateIdError("customer", str(taken[0]))
        for event, customer, schedule in created:
            self._uow.events.append(event)
            self.add(customer, schedule)

    def update(self, customer: Customer, schedule: Schedule, expected_version: int) -> None:
        known = self._known.pop(customer.id, None)
        held = self._uow._held.get(customer.id)
        if held is not None and held[0] != expected_version:
            raise StaleVersionError(customer.id, expected_version, held[0])
        if held is not None and known is not None and known.version == expected_version:
            self._update_held(customer, schedule, known)
            held[0] = customer.version
            return
        if known is not None and known.version == expected_version:
            sides = tuple(side for side in SIDES if side.field(known) != side.field(customer))
        else:
            sides = SIDES
        checked = held is not None
        kind = (tuple(side.table for side in sides), checked)
        statement = _UPDATE_SQL.get(kind)
        if statement is None:
            statement = _UPDATE_SQL.setdefault(kind, _update_sql(sides, checked))
        params = _params(customer, schedule, sides)
        params["expected"] = expected_version
        if held is not None:
            # The row is locked by this transaction at the version just checked: the write
            # cannot be refused, so it waits to travel with the next statement or the commit.
            self._held.alone(customer.id, statement, params)
            held[0] = customer.version
            self._known[customer.id] = customer
            return
        updated = self._uow._execute(statement, params).fetchone()
        if updated is None or updated[0] != 1:
            raise StaleVersionError(customer.id, expected_version, self._version(customer.id))
        self._known[customer.id] = customer

    def _update_held(self, customer: Customer, schedule: Schedule, known: Customer) -> None:
        """The update of a customer whose row this transaction holds locked at ``known``'s
        version: nobody else can change the row or its side rows meanwhile, so ``known`` is
        what is stored, and the side tables get only the difference. The write cannot be
        refused, so it waits to travel with the next statement or the commit; the held
        writes of one kind waiting together are one statement (a sweep's batch: one for
        its 500 drops), each customer's row an element of its arrays."""
        diffs: list[tuple[_Side, list[tuple[str, ...]], list[tuple[str, ...]]]] = []
        for side in SIDES:
            if side.field(known) == side.field(customer):
                continue
            old, new = side.shared.rows_of(known), side.shared.rows_of(customer)
            went, came = sorted(old - new), sorted(new - old)
            if went or came:
                diffs.append((side, went, came))
        changes = tuple((side, bool(went), bool(came)) for side, went, came in diffs)
        kind = tuple((side.table, went, came) for side, went, came in changes)
        row = _row(customer, schedule, known.version)
        # Alone: the single-row statement, the changed sides rewritten whole.
        sides = tuple(side for side, _, _ in diffs)
        single = dict(zip(_HELD_NAMES, row, strict=True))
        for side in sides:
            for name, values in zip(_side_params(side), side.rows(customer), strict=True):
                single[name] = values
        statement = _UPDATE_SQL.get((tuple(side.table for side in sides), True))
        if statement is None:
            statement = _UPDATE_SQL.setdefault(
                (tuple(side.table for side in sides), True), _update_sql(sides, True)
            )

        def append(arrays: dict[str, list[Any]]) -> None:
            for name, value in zip(_HELD_NAMES, row, strict=True):
                arrays[name].append(value)
            for side, went, came in diffs:
                for change, found in (("went", went), ("came", came)):
                    for side_row in found:
                        arrays[f"{side.table}.{change}.customer_id"].append(customer.id)
                        for column, value in zip(side.columns, side_row, strict=True):
                            arrays[f"{side.table}.{change}.{column}"].append(value)

        self._held.add(
            kind,
            customer.id,
            Write(
                (statement, single),
                lambda: _held_update_sql_of(kind, changes),
                lambda: _held_names(changes),
                append,
            ),
        )
        self._known[customer.id] = customer

    def remove(self, customer_id: str, expected_version: int) -> None:
        self._known.pop(customer_id, None)
        self._uow._held.pop(customer_id, None)
        removed = self._uow._execute(
            REMOVE_SQL, {"id": customer_id, "expected": expected_version}
        ).fetchone()
        if removed is None or removed[0] != 1:
            raise StaleVersionError(customer_id, expected_version, self._version(customer_id))

    def _version(self, customer_id: str) -> int | None:
        found = self._uow._execute(
            "SELECT version FROM customers WHERE id = %s", (customer_id,)
        ).fetchone()
        return None if found is None else int(found[0])

    def find(
        self, query: CustomerQuery, limit: int | None = None, *, after: str | None = None
    ) -> list[Customer]:
        if limit is not None and limit <= 0:
            return []
        where, params = where_clause(query, POSTGRES)
        if after is not None:
            where = f"{where} AND id > %s" if where else "id > %s"
            params.append(after)
        text = "SELECT body FROM customers"
        if where:
            text += " WHERE " + where
        text += " ORDER BY id"
        # Attributes are filtered here, so SQL may only cut the rows off when every
        # condition was in its WHERE clause.
        if limit is not None and not query.attributes:
            text += " LIMIT %s"
            params.append(limit)
        out: list[Customer] = []
        # The text is built from this module's fixed fragments only; values are parameters.
        for (body,) in self._uow._execute(sql.SQL(text), params):
            customer = self._loaded(body)
            if query.matches(customer):
                out.append(customer)
                if limit is not None and len(out) >= limit:
                    break
        return out

    def with_keys(self, keys: frozenset[IdentityKey]) -> list[Customer]:
        """The holders of any of ``keys``, after waiting for every other unit of work that
        asked for one of them to end.

        This is the collision check: a unit of work asks who holds a key before it gives
        the key to a customer. Two creates of one phone at the same instant would each find
        nobody and both write; with the lock, the second waits until the first commits and
        then finds its customer (READ COMMITTED: each statement sees what was committed
        before it began). The lock is per key, so creates of different customers do not
        wait for each other."""
        if not keys:
            return []
        ordered = sorted(keys)
        locks = sorted({key_lock(self._uow._store.schema, key) for key in ordered})
        self._uow._execute(LOCK_KEYS_SQL, (locks,))
        rows = self._uow._execute(
            WITH_KEYS_SQL, ([key.kind for key in ordered], [key.value for key in ordered])
        )
        return [self._loaded(body) for (body,) in rows]

    def similar_names(self, blocks: frozenset[str], per_block: int) -> list[tuple[str, str]]:
        if not blocks or per_block <= 0:
            return []
        rows = self._uow._execute(SIMILAR_NAMES_SQL, (sorted(blocks), per_block))
        return [(str(customer_id), str(name)) for customer_id, name in rows]

    def common_blocks(self, blocks: frozenset[str], per_block: int) -> frozenset[str]:
        if not blocks:
            return frozenset()
        rows = self._uow._execute(COMMON_BLOCKS_SQL, (sorted(blocks), max(per_block, 0)))
        return frozenset(str(block) for (block,) in rows)

    def names_by_block(
        self, blocks: frozenset[str], per_block: int
    ) -> dict[str, list[tuple[str, str, str]]]:
        out: dict[str, list[tuple[str, str, str]]] = {block: [] for block in blocks}
        if not blocks or per_block <= 0:
            return out
        rows = self._uow._execute(NAMES_BY_BLOCK_SQL, (sorted(blocks), per_block))
        for block, customer_id, name, normal in rows:
            if name is None:  # blocks without their name: written by other code, or damaged
                raise DamagedRecordError(
                    "customer", str(customer_id), "its name blocks have no stored name"
                )
            out[str(block)].append((str(customer_id), str(name), str(normal)))
        return out

    def due(self, at: datetime, limit: int) -> list[Customer]:
        """The sweep's read: up to ``limit`` due customers, earliest first, each locked until
        this unit of work ends; those another unit of work holds are skipped."""
        if limit <= 0:
            return []
        batch = [self._loaded(body) for (body,) in self._uow._execute(DUE_SQL, (at, limit))]
        for customer in batch:
            # Locked, and read at its newest version: a customer's version is the seq of
            # the last event of its history.
            self._uow._held[customer.id] = [customer.version, customer.version]
        return batch

    def upcoming(self, at: datetime, limit: int) -> list[Customer]:
        """The same customers as :meth:`due`, for reading only (the forecast, reports):
        nothing locked, nothing skipped. A forecast through ``due`` would lock every due
        customer for its whole unit of work, and a sweep beside it would skip them all."""
        if limit <= 0:
            return []
        return [self._loaded(body) for (body,) in self._uow._execute(UPCOMING_SQL, (at, limit))]

    def loaded_ahead(self, body: Any) -> Customer:
        """Decode a customer read ahead, and keep it to be served (see :mod:`._ahead`)."""
        customer = self._loaded(body)
        self._uow.ahead.keep(CUSTOMER, customer.id, customer)
        return customer

    def _loaded(self, body: Any) -> Customer:
        customer = decode(Customer, body)
        self._known[customer.id] = customer
        return customer

    def ids(self) -> Iterator[str]:
        rows = self._uow._execute("SELECT id FROM customers ORDER BY id").fetchall()
        return iter([str(customer_id) for (customer_id,) in rows])

    def count(self) -> int:
        found = self._uow._execute("SELECT count(*) FROM customers").fetchone()
        return 0 if found is None else int(found[0])

    def holdings(self, rep_id: str) -> Holdings:
        served, holdings = self._uow.ahead.served(self._uow.statements, HOLDINGS, rep_id)
        if served:
            return cast(Holdings, holdings)
        found = self._uow._execute(HOLDINGS_SQL, (rep_id,)).fetchone()
        assert found is not None  # an aggregate without GROUP BY always has its row
        return Holdings(*(int(count) for count in found))

    def tally(self) -> list[CustomerTally]:
        rows = self._uow._execute(
            "SELECT status, pool_id, owner_id, grade, count(*) FROM customers "
            "GROUP BY status, pool_id, owner_id, grade "
            "ORDER BY status, pool_id, owner_id NULLS FIRST, grade NULLS FIRST"
        )
        return [
            CustomerTally(CustomerStatus(status), pool_id, owner_id, grade, int(count))
            for status, pool_id, owner_id, grade, count in rows
        ]

    def page(
        self,
        queries: Sequence[CustomerQuery],
        order: CustomerOrder,
        *,
        descending: bool = False,
        after: Position | None = None,
        limit: int,
    ) -> list[tuple[Customer, Position]]:
        return customer_page.page(
            self._rows, self._read, queries, order, descending, after, limit, POSTGRES, SORTS
        )

    def count_matching(self, queries: Sequence[CustomerQuery]) -> int:
        return customer_page.count(self._rows, self._one, self._read, queries, POSTGRES, SORTS)

    def _rows(self, text: str, params: list[Any]) -> list[tuple[Any, Any, Any]]:
        # The text is built from the shared page module's fixed fragments; values are
        # parameters.
        return self._uow._execute(sql.SQL(text), params).fetchall()

    def _one(self, text: str, params: list[Any]) -> int:
        found = self._uow._execute(sql.SQL(text), params).fetchone()
        return 0 if found is None else int(found[0])

    def _read(self, customer_id: str, body: Any) -> Customer:
        return self._loaded(body)

    def with_external_ids(self, external_ids: frozenset[str]) -> dict[str, str]:
        if not external_ids:
            return {}
        rows = self._uow._execute(WITH_EXTERNAL_IDS_SQL, (sorted(external_ids),))
        return {str(external_id): str(customer_id) for external_id, customer_id in rows}

    def forget(self) -> None:
        """The transaction ended: what it read no longer vouches for anything."""
        self._known.clear()
        self._held.forget()


def _params(customer: Customer, schedule: Schedule, sides: tuple[_Side, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {
        "id": customer.id,
        "status": customer.status.value,
        "owner_id": customer.owner_id,
        "pool_id": customer.pool_id,
        "grade": customer.grade,
        "public_since": customer.public_since,
        "version": customer.version,
        "drop_at": schedule.drop_at,
        "warn_at": schedule.warn_at,
        "next_at": schedule.next_at,
        "name": customer.name,
        "dealt": customer.last_deal_at is not None,
        "locked": customer.locked,
        "body": documents.dumps(encode(customer)),
        "entered_at": entered_at(customer),
    }
    for side in sides:
        for name, values in zip(_side_params(side), side.rows(customer), strict=True):
            params[name] = values
    return params


_HELD_NAMES = tuple(name for name, _ in _HELD_COLUMNS)


def _row(customer: Customer, schedule: Schedule, expected: int) -> tuple[Any, ...]:
    """A held write's elements for ``customer`` (:data:`_HELD_COLUMNS` order)."""
    return (
        customer.id,
        expected,
        customer.status.value,
        customer.owner_id,
        customer.pool_id,
        customer.grade,
        customer.public_since,
        customer.version,
        schedule.drop_at,
        schedule.warn_at,
        schedule.next_at,
        customer.name,
        customer.last_deal_at is not None,
        customer.locked,
        documents.dumps(encode(customer)),
        entered_at(customer),
    )
