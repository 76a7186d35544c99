"""A SQLite store: one file, safe for many threads and many processes at once.

How it keeps the contract of :mod:`poolkit.ports`:

- The file runs in WAL mode, and every unit of work starts with ``BEGIN IMMEDIATE``: the
  write lock is taken up front, so units of work are serialised across threads and
  processes, and a decision read inside one (how many customers a rep holds, how many
  claims they made) still holds when it commits. A unit of work that waits longer than
  ``busy_timeout_s`` for the lock fails with :class:`StoreBusyError`.
- A connection serves one unit of work at a time; idle ones are kept for reuse, never
  shared by two threads at once, and never used in a process that forked from the one
  that opened them.
- Customer writes name the version they are based on (``WHERE id = ? AND version = ?``);
  no matching row is a :class:`~poolkit.errors.StaleVersionError`.
- Events are rows of an append-only table keyed by ``(customer_id, seq)``, written in the
  same transaction as the state they describe.

The schema is versioned with ``PRAGMA user_version`` and migrated on open, in one
transaction, by the ordered steps in :data:`MIGRATIONS`; a file from a newer poolkit is
refused with :class:`SchemaVersionError`. The next schema change is one function
appended to that tuple.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, NamedTuple, Self, TypeVar

from poolkit.codec import decode, encode
from poolkit.errors import (
    DuplicateIdError,
    InvalidValueError,
    PoolkitError,
    ReviewNotFound,
    SchemaVersionError,
    StaleVersionError,
    StoreBusyError,
)
from poolkit.identity.normalise import SIMPLIFIES_CHINESE
from poolkit.identity.similarity import name_blocks
from poolkit.model.customer import Customer, IdentityKey
from poolkit.model.events import Claimed, Event
from poolkit.model.pool import Pool
from poolkit.model.rep import Rep
from poolkit.model.review import ReviewItem, ReviewStatus
from poolkit.model.schedule import Schedule
from poolkit.ports import CustomerQuery
from poolkit.stores import documents

# ---------------------------------------------------------------------------- time

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(at: datetime) -> int:
    """Microseconds since the epoch: an integer that sorts like the instant it stands for."""
    return (at - _EPOCH) // _MICROSECOND


def _instant(micros: int) -> datetime:
    return _EPOCH + micros * _MICROSECOND


def _optional_micros(at: datetime | None) -> int | None:
    return None if at is None else _micros(at)


def _optional_instant(micros: int | None) -> datetime | None:
    return None if micros is None else _instant(micros)


def _json(data: Any) -> str:
    return documents.dumps(data)


def _json_list(values: Sequence[str] | frozenset[str]) -> str:
    """A parameter for ``IN (SELECT value FROM json_each(?))``: any number of values, one
    placeholder (no limit on bound variables)."""
    return json.dumps(sorted(values), ensure_ascii=False)


# ---------------------------------------------------------------------------- schema

Migration = Callable[[sqlite3.Connection], None]


def _v1_initial(conn: sqlite3.Connection) -> None:
    """Customers with their query columns and schedule, identity keys, the event log with
    its claims index, reps, pools and settings."""
    statements = (
        """CREATE TABLE customers (
            id TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            owner_id TEXT,
            pool_id TEXT NOT NULL,
            grade TEXT,
            public_since INTEGER,
            version INTEGER NOT NULL,
            drop_at INTEGER,
            warn_at INTEGER,
            next_at INTEGER,
            schedule TEXT NOT NULL,
            body TEXT NOT NULL
        )""",
        # The sweep's index: only customers with a pending drop or warning are in it.
        "CREATE INDEX customers_due ON customers (next_at, id) WHERE next_at IS NOT NULL",
        "CREATE INDEX customers_owner ON customers (owner_id)",
        "CREATE INDEX customers_pool_status ON customers (pool_id, status)",
        """CREATE TABLE customer_keys (
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            customer_id TEXT NOT NULL,
            PRIMARY KEY (kind, value, customer_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX customer_keys_customer ON customer_keys (customer_id)",
        """CREATE TABLE events (
            customer_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            at INTEGER NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (customer_id, seq)
        ) WITHOUT ROWID""",
        """CREATE TABLE claims (
            rep_id TEXT NOT NULL,
            at INTEGER NOT NULL,
            customer_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (rep_id, at, customer_id, seq)
        ) WITHOUT ROWID""",
        "CREATE TABLE reps (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
        "CREATE TABLE pools (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    )
    for statement in statements:
        conn.execute(statement)


def _v2_tags_and_related_reps(conn: sqlite3.Connection) -> None:
    """Side tables for tags and related reps, so ``find`` by tag or by related rep reads an
    index instead of every customer; filled from the stored documents."""
    for statement in (
        """CREATE TABLE customer_tags (
            tag TEXT NOT NULL,
            customer_id TEXT NOT NULL,
            PRIMARY KEY (tag, customer_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX customer_tags_customer ON customer_tags (customer_id)",
        """CREATE TABLE customer_related (
            rep_id TEXT NOT NULL,
            customer_id TEXT NOT NULL,
            PRIMARY KEY (rep_id, customer_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX customer_related_customer ON customer_related (customer_id)",
    ):
        conn.execute(statement)
    # Read the documents as plain JSON, not through the codec: a migration must keep
    # working however the codec changes later.
    for customer_id, body in conn.execute("SELECT id, body FROM customers").fetchall():
        document = json.loads(body)
        conn.executemany(
            "INSERT INTO customer_tags (tag, customer_id) VALUES (?, ?)",
            [(tag, customer_id) for tag in document.get("tags", [])],
        )
        conn.executemany(
            "INSERT INTO customer_related (rep_id, customer_id) VALUES (?, ?)",
            [(rep_id, customer_id) for rep_id in document.get("related_reps", {})],
        )


def _v3_name_blocks_and_reviews(conn: sqlite3.Connection) -> None:
    """The name-block index behind ``similar_names`` (filled from the stored names) and the
    review list of look-alike customers."""
    for statement in (
        """CREATE TABLE customer_name_blocks (
            block TEXT NOT NULL,
            customer_id TEXT NOT NULL,
            PRIMARY KEY (block, customer_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX customer_name_blocks_customer ON customer_name_blocks (customer_id)",
        """CREATE TABLE reviews (
            id TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            customer_id TEXT NOT NULL,
            similar_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            body TEXT NOT NULL
        )""",
        "CREATE INDEX reviews_status ON reviews (status, created_at, id)",
        "CREATE INDEX reviews_customer ON reviews (customer_id)",
        "CREATE INDEX reviews_similar ON reviews (similar_id)",
    ):
        conn.execute(statement)
    _fill_name_blocks(conn)


def _fill_name_blocks(conn: sqlite3.Connection) -> None:
    """(Re)build the name-block index from the stored names (read as plain JSON, see v2)."""
    conn.execute("DELETE FROM customer_name_blocks")
    rows = conn.execute("SELECT id, json_extract(body, '$.name') FROM customers")
    conn.executemany(
        "INSERT INTO customer_name_blocks (block, customer_id) VALUES (?, ?)",
        (
            (block, customer_id)
            for customer_id, name in rows.fetchall()
            for block in name_blocks(name)
        ),
    )


NAME_BLOCKS_SCHEME_KEY = "name_blocks.scheme"


def sync_name_blocks(conn: sqlite3.Connection) -> bool:
    """Rebuild the name-block index if names are now normalised differently from when it
    was built (the optional ``hanzi`` extra was installed or removed); True if rebuilt.

    The scheme is recorded in the settings table; a rebuild reads every stored name once.
    ``conn`` must be in autocommit mode, like for :func:`migrate`.
    """
    scheme = "t2s" if SIMPLIFIES_CHINESE else "plain"
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute(
            "SELECT value FROM settings WHERE key = ?", (NAME_BLOCKS_SCHEME_KEY,)
        ).fetchone()
        rebuilt = row is None or row[0] != scheme
        if rebuilt:
            _fill_name_blocks(conn)
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (NAME_BLOCKS_SCHEME_KEY, scheme),
            )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return rebuilt


def _v4_schedule_from_its_columns(conn: sqlite3.Connection) -> None:
    """Schedules are read from their indexed columns (``drop_at``, ``warn_at``); the JSON
    copy v1 also kept goes. The table is rebuilt rather than altered, which every SQLite
    version can do (``DROP COLUMN`` needs 3.35)."""
    columns = "id, status, owner_id, pool_id, grade, public_since, version, drop_at, warn_at, "
    columns += "next_at, body"
    for statement in (
        """CREATE TABLE customers_v4 (
            id TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            owner_id TEXT,
            pool_id TEXT NOT NULL,
            grade TEXT,
            public_since INTEGER,
            version INTEGER NOT NULL,
            drop_at INTEGER,
            warn_at INTEGER,
            next_at INTEGER,
            body TEXT NOT NULL
        )""",
        f"INSERT INTO customers_v4 ({columns}) SELECT {columns} FROM customers ORDER BY rowid",
        "DROP TABLE customers",
        "ALTER TABLE customers_v4 RENAME TO customers",
        "CREATE INDEX customers_due ON customers (next_at, id) WHERE next_at IS NOT NULL",
        "CREATE INDEX customers_owner ON customers (owner_id)",
        "CREATE INDEX customers_pool_status ON customers (pool_id, status)",
    ):
        conn.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (
    _v1_initial,
    _v2_tags_and_related_reps,
    _v3_name_blocks_and_reviews,
    _v4_schedule_from_its_columns,
)
"""Schema steps in order; step ``n`` (1-based) brings a database from version ``n - 1`` to
``n``. Append a function to change the schema; never edit a step that has shipped."""

SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def migrate(
    conn: sqlite3.Connection, steps: Sequence[Migration] = MIGRATIONS, *, path: str = ""
) -> int:
    """Bring the database on ``conn`` to version ``len(steps)`` in one transaction.

    Returns the version found. A database newer than ``steps`` knows is left untouched and
    refused with :class:`SchemaVersionError`; a step that fails rolls every step back.
    ``conn`` must be in autocommit mode (``isolation_level=None``).
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = schema_version(conn)
        if found > len(steps):
            raise SchemaVersionError(path, found, len(steps))
        for step in steps[found:]:
            step(conn)
        if found < len(steps):
            # PRAGMA takes no parameters; the value is an int we computed.
            conn.execute(f"PRAGMA user_version = {len(steps):d}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return found


# ---------------------------------------------------------------------------- queries

# The lookups whose cost must not grow with the number of customers; the tests check
# their query plans use customers_due, the primary keys of customer_keys and
# customer_name_blocks, and the customer indexes of reviews.
DUE_SQL = "SELECT body FROM customers WHERE next_at <= ? ORDER BY next_at, id LIMIT ?"
WITH_KEYS_SQL = """SELECT body FROM customers WHERE id IN (
    SELECT k.customer_id FROM customer_keys AS k
    JOIN json_each(?) AS wanted
      ON k.kind = json_extract(wanted.value, '$[0]')
     AND k.value = json_extract(wanted.value, '$[1]')
) ORDER BY id"""
# For each wanted block, the id of its ``per_block``-th customer (``OFFSET per_block - 1``)
# bounds an index range of the block: at most ``per_block`` rows read per block, however
# many names share it. A block with fewer customers has no such id; the empty blob stands
# in, as SQLite sorts every blob after every text.
SIMILAR_NAMES_SQL = """SELECT c.id, json_extract(c.body, '$.name') FROM customers AS c
WHERE c.id IN (
    SELECT b.customer_id FROM json_each(?) AS wanted
    JOIN customer_name_blocks AS b
      ON b.block = wanted.value
     AND b.customer_id <= coalesce((
            SELECT last.customer_id FROM customer_name_blocks AS last
            WHERE last.block = wanted.value
            ORDER BY last.customer_id LIMIT 1 OFFSET ?
         ), x'')
) ORDER BY c.id"""
# An update reads, in one primary-key lookup, the stored version and, for each field behind
# a side table, whether the stored document (body) and the one about to be written (?1)
# differ: the stored value when they do, else NULL (the codec writes every field, so none
# is missing). A sweep's drop changes the related reps
# only, a follow-up none of them, so most updates touch one side row or none, and Python
# parses only the fields that changed. (SQLite parses each document once per row, not once
# per json_extract.)
STORED_SIDES_SQL = """SELECT version,
    json_extract(body, '$.name') IS NOT json_extract(?1, '$.name'),
    nullif(json_extract(body, '$.keys'), json_extract(?1, '$.keys')),
    nullif(json_extract(body, '$.tags'), json_extract(?1, '$.tags')),
    nullif(json_extract(body, '$.related_reps'), json_extract(?1, '$.related_reps'))
FROM customers WHERE id = ?2"""

UPDATE_CUSTOMER_SQL = """UPDATE customers SET
    status = ?, owner_id = ?, pool_id = ?, grade = ?, public_since = ?, version = ?,
    drop_at = ?, warn_at = ?, next_at = ?, body = ?
WHERE id = ? AND version = ?"""

# The next event of a history, or nothing when ``seq`` does not follow the last one (the
# MAX is one seek at the end of the customer's range of the primary key).
APPEND_EVENT_SQL = """INSERT INTO events (customer_id, seq, kind, at, body)
SELECT ?1, ?2, ?3, ?4, ?5
WHERE ?2 = 1 + coalesce((SELECT MAX(seq) FROM events WHERE customer_id = ?1), 0)"""

# A customer's review items, through the two customer indexes: they hold a few items each,
# while one status may hold thousands (the unary + keeps the planner off reviews_status).
REVIEWS_OF_CUSTOMER_SQL = """SELECT body FROM reviews
WHERE (customer_id = ?1 OR similar_id = ?1) AND (?2 IS NULL OR +status = ?2)
ORDER BY created_at, id"""


# ---------------------------------------------------------------------------- store

_MAX_IDLE = 8


class SqliteStore:
    """Keeps everything in one SQLite file; see the module docs for the guarantees.

    ``path`` is the database file (created if missing; ``":memory:"`` is refused, because
    every connection would see a different empty database: use
    :class:`~poolkit.stores.memory.MemoryStore`). ``busy_timeout_s`` is how long a unit of
    work waits for another to finish before :class:`StoreBusyError`.
    """

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 30.0) -> None:
        if str(path) in ("", ":memory:"):
            raise InvalidValueError(
                "path", f"give a file path, not {str(path)!r} (for memory, use MemoryStore)"
            )
        if isinstance(busy_timeout_s, bool) or not busy_timeout_s >= 0:
            raise InvalidValueError("busy_timeout_s", f"must be >= 0, got {busy_timeout_s!r}")
        # Absolute, so that a later chdir does not point new connections at another file.
        self.path = Path(path).absolute()
        self.busy_timeout_s = float(busy_timeout_s)
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._inherited: list[sqlite3.Connection] = []
        conn = self._connect()
        try:
            # Refuse a newer file before changing anything in it, even its journal mode.
            found = schema_version(conn)
            if found > SCHEMA_VERSION:
                raise SchemaVersionError(str(self.path), found, SCHEMA_VERSION)
            # WAL lets readers of other processes carry on while one unit of work writes;
            # the mode is stored in the file, so this is a no-op after the first open.
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise PoolkitError(f"database {self.path} cannot use WAL mode (got {mode!r})")
            # The schema version the file had when opened (0 for a new file).
            self.migrated_from = migrate(conn, MIGRATIONS, path=str(self.path))
            sync_name_blocks(conn)
        except sqlite3.OperationalError as error:
            conn.close()
            if _is_busy(error):
                raise StoreBusyError(str(self.path), self.busy_timeout_s) from error
            raise
        except BaseException:
            conn.close()
            raise
        self._check_in(conn)

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    def unit_of_work(self) -> SqliteUnitOfWork:
        return SqliteUnitOfWork(self)

    @property
    def schema_version(self) -> int:
        """The schema version of the file (this poolkit's :data:`SCHEMA_VERSION` once open)."""
        conn = self._check_out()
        try:
            return schema_version(conn)
        finally:
            self._check_in(conn)

    def close(self) -> None:
        """Close the idle connections. The store stays usable: it reconnects on demand."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: the module issues no implicit BEGIN/COMMIT; we do.
        # check_same_thread=False: a connection moves between threads through the idle
        # list, but serves one unit of work (one thread) at a time.
        return sqlite3.connect(
            str(self.path),
            timeout=self.busy_timeout_s,
            isolation_level=None,
            check_same_thread=False,
        )

    def _check_out(self) -> sqlite3.Connection:
        self._forget_after_fork()
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _check_in(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.close()
            return
        self._forget_after_fork()
        with self._lock:
            if len(self._idle) < _MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()

    def _forget_after_fork(self) -> None:
        """A forked child must neither use nor close its parent's connections (SQLite
        forbids carrying one across fork), so they are parked, unclosed, for the life of
        the process. The lock is replaced too: fork may have copied it held."""
        if os.getpid() != self._pid:
            self._inherited.extend(self._idle)
            self._idle = []
            self._lock = threading.Lock()
            self._pid = os.getpid()


def _is_busy(error: sqlite3.OperationalError) -> bool:
    # The extended code's low byte is the primary code (SQLITE_BUSY_SNAPSHOT -> BUSY).
    code: int = getattr(error, "sqlite_errorcode", 0)
    return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class SqliteUnitOfWork:
    """One transaction on one connection, from ``with`` to its end.

    ``commit()`` and ``rollback()`` end the current transaction; using the repositories
    afterwards (in the same ``with`` block) starts the next one.
    """

    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._conn: sqlite3.Connection | None = None
        # The customers read or written in the current transaction, as stored. The write
        # lock is held from the first statement, so nobody else changes them meanwhile: an
        # update of one of them knows what changed without reading the row back.
        self._known: dict[str, Customer] = {}
        self.customers = _Customers(self)
        self.reps = _TeamDocuments(self, "reps", Rep)
        self.pools = _TeamDocuments(self, "pools", Pool)
        self.events = _Events(self)
        self.settings = _Settings(self)
        self.reviews = _Reviews(self)

    def __enter__(self) -> Self:
        if self._conn is not None:
            raise PoolkitError("this unit of work is already open")
        conn = self._store._check_out()
        try:
            self._begin(conn)
        except BaseException:
            self._store._check_in(conn)
            raise
        self._conn = conn
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        self._known.clear()
        if conn is None:
            return
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            # Closing a connection rolls back whatever it had open; the error that brought
            # us here, if any, is the one worth raising.
            conn.close()
            return
        except BaseException:
            conn.close()
            raise
        self._store._check_in(conn)

    def commit(self) -> None:
        conn = self._open_connection()
        self._known.clear()
        if conn.in_transaction:
            conn.execute("COMMIT")

    def rollback(self) -> None:
        conn = self._open_connection()
        self._known.clear()
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    def _open_connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise PoolkitError("use the unit of work inside a `with` block")
        return self._conn

    def _begin(self, conn: sqlite3.Connection) -> None:
        self._known.clear()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if _is_busy(error):
                raise StoreBusyError(str(self._store.path), self._store.busy_timeout_s) from error
            raise

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run ``sql`` in this unit of work's transaction (starting the next one after a
        commit or rollback)."""
        conn = self._open_connection()
        if not conn.in_transaction:
            self._begin(conn)
        return conn.execute(sql, params)


class _Customers:
    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def get(self, customer_id: str) -> Customer | None:
        row = self._uow._execute("SELECT body FROM customers WHERE id = ?", (customer_id,))
        found = row.fetchone()
        return None if found is None else self._loaded(found[0])

    def schedule_of(self, customer_id: str) -> Schedule | None:
        row = self._uow._execute(
            "SELECT drop_at, warn_at FROM customers WHERE id = ?", (customer_id,)
        )
        found = row.fetchone()
        if found is None:
            return None
        drop_at, warn_at = found
        return Schedule(_optional_instant(drop_at), _optional_instant(warn_at))

    def add(self, customer: Customer, schedule: Schedule) -> None:
        try:
            self._uow._execute(
                """INSERT INTO customers (
                    status, owner_id, pool_id, grade, public_since, version,
                    drop_at, warn_at, next_at, body, id
                ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                _columns(customer, schedule),
            )
        except sqlite3.IntegrityError as error:
            raise DuplicateIdError("customer", customer.id) from error
        cid = customer.id
        for table, side in _SIDES.items():
            for row in sorted(side.rows_of(customer)):
                self._uow._execute(_INSERT_SIDE_ROW[table], (*row, cid))
        self._insert_name_blocks(customer)
        self._uow._known[cid] = customer

    def update(self, customer: Customer, schedule: Schedule, expected_version: int) -> None:
        known = self._uow._known.pop(customer.id, None)
        if known is not None and known.version == expected_version:
            self._update_known(known, customer, schedule)
        else:
            self._update_unknown(customer, schedule, expected_version)
        self._uow._known[customer.id] = customer

    def _update_known(self, stored: Customer, customer: Customer, schedule: Schedule) -> None:
        """Update a customer this transaction read or wrote: the side tables follow the
        difference between the two values, with no read of the stored document."""
        changed = self._uow._execute(
            UPDATE_CUSTOMER_SQL, (*_columns(customer, schedule), stored.version)
        ).rowcount
        if changed == 0:  # unreachable while the write lock is held; kept as a guard
            raise StaleVersionError(customer.id, stored.version, self._version(customer.id))
        cid = customer.id
        for table, side in _SIDES.items():
            before, after = side.field(stored), side.field(customer)
            if before != after:  # most updates change none of them, a drop the related reps
                self._write_rows(table, cid, side.rows(before), side.rows(after))
        if stored.name != customer.name:
            self._replace_name_blocks(customer)

    def _update_unknown(
        self, customer: Customer, schedule: Schedule, expected_version: int
    ) -> None:
        """Update a customer this transaction has not read: one read of the stored row
        tells its version and which side tables need a change."""
        columns = _columns(customer, schedule)
        body = columns[-2]
        stored = self._uow._execute(STORED_SIDES_SQL, (body, customer.id)).fetchone()
        if stored is None or stored[0] != expected_version:
            actual = None if stored is None else int(stored[0])
            raise StaleVersionError(customer.id, expected_version, actual)
        changed = self._uow._execute(UPDATE_CUSTOMER_SQL, (*columns, expected_version)).rowcount
        if changed == 0:  # unreachable while the write lock is held; kept as a guard
            raise StaleVersionError(customer.id, expected_version, None)
        name_changed, old_keys, old_tags, old_related = stored[1:]
        for table, stored_field in zip(
            _SIDE_TABLES, (old_keys, old_tags, old_related), strict=True
        ):
            if stored_field is not None:
                self._write_rows(
                    table,
                    customer.id,
                    _document_rows(documents.loads(stored_field)),
                    _SIDES[table].rows_of(customer),
                )
        if name_changed:
            self._replace_name_blocks(customer)

    def _write_rows(
        self,
        table: str,
        customer_id: str,
        old: AbstractSet[tuple[str, ...]],
        new: AbstractSet[tuple[str, ...]],
    ) -> None:
        """Bring ``table`` from the rows ``old`` to ``new``."""
        for row in sorted(old - new):
            self._uow._execute(_DELETE_SIDE_ROW[table], (*row, customer_id))
        for row in sorted(new - old):
            self._uow._execute(_INSERT_SIDE_ROW[table], (*row, customer_id))

    def remove(self, customer_id: str, expected_version: int) -> None:
        self._uow._known.pop(customer_id, None)
        changed = self._uow._execute(
            "DELETE FROM customers WHERE id = ? AND version = ?", (customer_id, expected_version)
        ).rowcount
        if changed == 0:
            raise StaleVersionError(customer_id, expected_version, self._version(customer_id))
        for table in (*_SIDE_TABLES, "customer_name_blocks"):
            self._uow._execute(f"DELETE FROM {table} WHERE customer_id = ?", (customer_id,))

    def _version(self, customer_id: str) -> int | None:
        row = self._uow._execute("SELECT version FROM customers WHERE id = ?", (customer_id,))
        found = row.fetchone()
        return None if found is None else int(found[0])

    def _replace_name_blocks(self, customer: Customer) -> None:
        """After a rename: the blocks of the new name replace those of the old."""
        self._uow._execute("DELETE FROM customer_name_blocks WHERE customer_id = ?", (customer.id,))
        self._insert_name_blocks(customer)

    def _insert_name_blocks(self, customer: Customer) -> None:
        for block in sorted(name_blocks(customer.name)):
            self._uow._execute(
                "INSERT INTO customer_name_blocks (block, customer_id) VALUES (?, ?)",
                (block, customer.id),
            )

    def find(self, query: CustomerQuery, limit: int | None = None) -> list[Customer]:
        if limit is not None and limit <= 0:
            return []
        where: list[str] = []
        params: list[Any] = []
        if query.status is not None:
            where.append("status = ?")
            params.append(query.status.value)
        for column, values in (
            ("owner_id", query.owner_ids),
            ("pool_id", query.pool_ids),
            ("grade", query.grades),
        ):
            if values is not None:
                where.append(f"{column} IN (SELECT value FROM json_each(?))")
                params.append(_json_list(values))
        if query.related_rep is not None:
            where.append("id IN (SELECT customer_id FROM customer_related WHERE rep_id = ?)")
            params.append(query.related_rep)
        for tag in sorted(query.tags):
            where.append("id IN (SELECT customer_id FROM customer_tags WHERE tag = ?)")
            params.append(tag)
        if query.public_since is not None:
            where.append("public_since >= ?")
            params.append(_micros(query.public_since))
        sql = "SELECT body FROM customers"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        # Attributes are filtered in Python below, so SQL may only cut off the rows when
        # every condition was in the WHERE clause.
        if limit is not None and not query.attributes:
            sql += " LIMIT ?"
            params.append(limit)
        out: list[Customer] = []
        for (body,) in self._uow._execute(sql, params):
            customer = _customer(body)
            if query.matches(customer):
                self._uow._known[customer.id] = customer
                out.append(customer)
                if limit is not None and len(out) >= limit:
                    break
        return out

    def with_keys(self, keys: frozenset[IdentityKey]) -> list[Customer]:
        if not keys:
            return []
        pairs = json.dumps(sorted([key.kind, key.value] for key in keys), ensure_ascii=False)
        rows = self._uow._execute(WITH_KEYS_SQL, (pairs,))
        return [self._loaded(body) for (body,) in rows]

    def similar_names(self, blocks: frozenset[str], per_block: int) -> list[tuple[str, str]]:
        if not blocks or per_block <= 0:
            return []
        rows = self._uow._execute(SIMILAR_NAMES_SQL, (_json_list(blocks), per_block - 1))
        return [(customer_id, name) for customer_id, name in rows]

    def due(self, at: datetime, limit: int) -> list[Customer]:
        rows = self._uow._execute(DUE_SQL, (_micros(at), limit))
        return [self._loaded(body) for (body,) in rows]

    def _loaded(self, body: str) -> Customer:
        customer = _customer(body)
        self._uow._known[customer.id] = customer
        return customer

    def ids(self) -> Iterator[str]:
        rows = self._uow._execute("SELECT id FROM customers ORDER BY id").fetchall()
        return iter([customer_id for (customer_id,) in rows])

    def count(self) -> int:
        total: int = self._uow._execute("SELECT COUNT(*) FROM customers").fetchone()[0]
        return total


def _customer(body: str) -> Customer:
    return decode(Customer, documents.loads(body))


# The side tables that follow a customer's keys, tags and related reps, with the statements
# that add and drop one row. A row is the tuple of its columns besides ``customer_id``.
# (Name blocks are apart: they change only with the name, and are recomputed from it.)
_SIDE_TABLES = ("customer_keys", "customer_tags", "customer_related")
_INSERT_SIDE_ROW = {
    "customer_keys": "INSERT INTO customer_keys (kind, value, customer_id) VALUES (?, ?, ?)",
    "customer_tags": "INSERT INTO customer_tags (tag, customer_id) VALUES (?, ?)",
    "customer_related": "INSERT INTO customer_related (rep_id, customer_id) VALUES (?, ?)",
}
_DELETE_SIDE_ROW = {
    "customer_keys": "DELETE FROM customer_keys WHERE kind = ? AND value = ? AND customer_id = ?",
    "customer_tags": "DELETE FROM customer_tags WHERE tag = ? AND customer_id = ?",
    "customer_related": "DELETE FROM customer_related WHERE rep_id = ? AND customer_id = ?",
}


class _Side(NamedTuple):
    """Where a side table's rows come from: a field of the customer, and the rows it
    makes. Equal fields make equal rows, so an update compares the fields first."""

    field: Callable[[Customer], Any]
    rows: Callable[[Any], set[tuple[str, ...]]]

    def rows_of(self, customer: Customer) -> set[tuple[str, ...]]:
        return self.rows(self.field(customer))


_SIDES = {
    "customer_keys": _Side(
        lambda customer: customer.keys, lambda keys: {(key.kind, key.value) for key in keys}
    ),
    "customer_tags": _Side(lambda customer: customer.tags, lambda tags: {(tag,) for tag in tags}),
    "customer_related": _Side(
        lambda customer: customer.related_reps.keys(), lambda reps: {(rep,) for rep in reps}
    ),
}


def _document_rows(side: Any) -> set[tuple[str, ...]]:
    """The side rows of one field of a stored document: keys are ``[kind, value]`` pairs,
    tags a list, related reps an object whose keys are the rep ids (iterating a dict gives
    them); a missing field (null) has none."""
    return {tuple(item) if isinstance(item, list) else (item,) for item in side or ()}


def _columns(customer: Customer, schedule: Schedule) -> tuple[Any, ...]:
    """The customers row in the column order of add and update, ``id`` last."""
    return (
        customer.status.value,
        customer.owner_id,
        customer.pool_id,
        customer.grade,
        _optional_micros(customer.public_since),
        customer.version,
        _optional_micros(schedule.drop_at),
        _optional_micros(schedule.warn_at),
        _optional_micros(schedule.next_at),
        _json(encode(customer)),
        customer.id,
    )


_Member = TypeVar("_Member", Rep, Pool)


class _TeamDocuments(Generic[_Member]):
    """Reps or pools: one JSON document per id, in the table of that name."""

    def __init__(self, uow: SqliteUnitOfWork, table: str, kind: type[_Member]) -> None:
        self._uow = uow
        self._table = table
        self._kind: type[_Member] = kind

    def get(self, item_id: str) -> _Member | None:
        found = self._uow._execute(
            f"SELECT body FROM {self._table} WHERE id = ?", (item_id,)
        ).fetchone()
        return None if found is None else decode(self._kind, documents.loads(found[0]))

    def put(self, item: _Member) -> None:
        self._uow._execute(
            f"INSERT INTO {self._table} (id, body) VALUES (?, ?) "
            "ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            (item.id, _json(encode(item))),
        )

    def all(self) -> list[_Member]:
        rows = self._uow._execute(f"SELECT body FROM {self._table} ORDER BY id")
        return [decode(self._kind, documents.loads(body)) for (body,) in rows]


class _Events:
    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def append(self, event: Event) -> None:
        cid = event.customer_id
        at = _micros(event.at)
        # One statement checks that the event follows the last one and writes it: it
        # inserts nothing when the history has a different last event.
        written = self._uow._execute(
            APPEND_EVENT_SQL, (cid, event.seq, event.kind, at, _json(encode(event)))
        ).rowcount
        if written != 1:
            last_row = self._uow._execute(
                "SELECT MAX(seq) FROM events WHERE customer_id = ?", (cid,)
            )
            raise StaleVersionError(cid, event.seq - 1, last_row.fetchone()[0] or 0)
        if isinstance(event, Claimed):
            self._uow._execute(
                "INSERT INTO claims (rep_id, at, customer_id, seq) VALUES (?, ?, ?, ?)",
                (event.rep_id, at, cid, event.seq),
            )

    def history(self, customer_id: str) -> list[Event]:
        rows = self._uow._execute(
            "SELECT body FROM events WHERE customer_id = ? ORDER BY seq", (customer_id,)
        )
        return [decode(Event, documents.loads(body)) for (body,) in rows]

    def claims_by(self, rep_id: str, since: datetime) -> list[datetime]:
        rows = self._uow._execute(
            "SELECT at FROM claims WHERE rep_id = ? AND at > ? ORDER BY at, customer_id, seq",
            (rep_id, _micros(since)),
        )
        return [_instant(at) for (at,) in rows]

    def customer_ids(self) -> Iterator[str]:
        rows = self._uow._execute("SELECT DISTINCT customer_id FROM events ORDER BY customer_id")
        return iter([customer_id for (customer_id,) in rows.fetchall()])


class _Reviews:
    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def add(self, item: ReviewItem) -> None:
        try:
            self._uow._execute(
                """INSERT INTO reviews (status, customer_id, similar_id, created_at, body, id)
                VALUES (?, ?, ?, ?, ?, ?)""",
                _review_columns(item),
            )
        except sqlite3.IntegrityError as error:
            raise DuplicateIdError("review item", item.id) from error

    def get(self, review_id: str) -> ReviewItem | None:
        found = self._uow._execute("SELECT body FROM reviews WHERE id = ?", (review_id,)).fetchone()
        return None if found is None else _review(found[0])

    def update(self, item: ReviewItem) -> None:
        changed = self._uow._execute(
            """UPDATE reviews SET status = ?, customer_id = ?, similar_id = ?, created_at = ?,
            body = ? WHERE id = ?""",
            _review_columns(item),
        ).rowcount
        if changed == 0:
            raise ReviewNotFound(item.id)

    def find(
        self, status: ReviewStatus | None = None, customer_id: str | None = None
    ) -> list[ReviewItem]:
        wanted = None if status is None else status.value
        if customer_id is not None:
            rows = self._uow._execute(REVIEWS_OF_CUSTOMER_SQL, (customer_id, wanted))
        elif wanted is not None:
            rows = self._uow._execute(
                "SELECT body FROM reviews WHERE status = ? ORDER BY created_at, id", (wanted,)
            )
        else:
            rows = self._uow._execute("SELECT body FROM reviews ORDER BY created_at, id")
        return [_review(body) for (body,) in rows]


def _review(body: str) -> ReviewItem:
    return decode(ReviewItem, documents.loads(body))


def _review_columns(item: ReviewItem) -> tuple[Any, ...]:
    """The reviews row in the column order of add and update, ``id`` last."""
    return (
        item.status.value,
        item.customer_id,
        item.similar_id,
        _micros(item.created_at),
        _json(encode(item)),
        item.id,
    )


class _Settings:
    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def get(self, key: str) -> str | None:
        found = self._uow._execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if found is None else str(found[0])

    def set(self, key: str, value: str) -> None:
        self._uow._execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SqliteStore",
    "SqliteUnitOfWork",
    "migrate",
    "schema_version",
    "sync_name_blocks",
]
