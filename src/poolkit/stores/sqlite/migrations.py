"""The schema of the SQLite store, versioned with ``PRAGMA user_version``.

:data:`MIGRATIONS` is the ordered tuple of schema steps: step ``n`` (1-based) brings a
database from version ``n - 1`` to ``n``. Opening a file runs the steps it lacks in one
transaction; a file from a newer poolkit is refused with
:class:`~poolkit.errors.SchemaVersionError`. The next schema change is one function
appended to that tuple; a step that has shipped is never edited (the tests hold the first
one to the DDL poolkit 0.1 shipped).

A poolkit database also carries :data:`APPLICATION_ID` in its header (``PRAGMA
application_id``), so that it is told apart from another application's SQLite file before
anything is written (see :mod:`.connection`). Files made before it was introduced are
recognised by their tables and get it on their next open.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Sequence

from poolkit.errors import SchemaVersionError
from poolkit.identity.normalise import SIMPLIFIES_CHINESE
from poolkit.identity.similarity import name_blocks

Migration = Callable[[sqlite3.Connection], None]

APPLICATION_ID = 0x506F6F6C
"""``PRAGMA application_id`` of a poolkit database: "Pool" in ASCII."""


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


def _external_ids_and_names(conn: sqlite3.Connection) -> None:
    """The index of imported customers' external ids (their ids in the system they came
    from), which an import run again looks up to skip the rows already in; and each
    customer's name in a column of its own, which the look-alike lookup reads for every
    candidate (parsing each candidate's document for it was most of an import's time).
    Both filled from the stored documents."""
    for statement in (
        "ALTER TABLE customers ADD COLUMN name TEXT",
        """UPDATE customers
        SET name = CASE WHEN json_valid(body) THEN json_extract(body, '$.name') END""",
        """CREATE TABLE customer_external_ids (
            external_id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL
        )""",
        "CREATE INDEX customer_external_ids_customer ON customer_external_ids (customer_id)",
        """INSERT OR IGNORE INTO customer_external_ids (external_id, customer_id)
        SELECT json_extract(body, '$.external_id'), id FROM customers
        WHERE json_valid(body) AND json_extract(body, '$.external_id') IS NOT NULL""",
    ):
        conn.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (
    _v1_initial,
    _v2_tags_and_related_reps,
    _v3_name_blocks_and_reviews,
    _v4_schedule_from_its_columns,
    _external_ids_and_names,
)
"""Schema steps in order; step ``n`` (1-based) brings a database from version ``n - 1`` to
``n``. Append a function to change the schema; never edit a step that has shipped."""

SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def application_id(conn: sqlite3.Connection) -> int:
    found: int = conn.execute("PRAGMA application_id").fetchone()[0]
    return found


def migrate(
    conn: sqlite3.Connection, steps: Sequence[Migration] = MIGRATIONS, *, path: str = ""
) -> int:
    """Bring the database on ``conn`` to version ``len(steps)`` in one transaction, and
    mark it as poolkit's (:data:`APPLICATION_ID`).

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
        # PRAGMA takes no parameters; the values are ints we computed.
        if found < len(steps):
            conn.execute(f"PRAGMA user_version = {len(steps):d}")
        if application_id(conn) != APPLICATION_ID:
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return found


def columns_of(conn: sqlite3.Connection) -> dict[str, frozenset[str]]:
    """The tables of the database on ``conn``, each with its column names."""
    rows = conn.execute(
        """SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p
        WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"""
    ).fetchall()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return {table: frozenset(columns) for table, columns in tables.items()}


@functools.cache
def expected_columns(version: int) -> dict[str, frozenset[str]]:
    """The tables and columns a poolkit database of schema ``version`` has: the steps
    themselves, run once on an empty in-memory database, say so (no second copy of the
    schema to keep in step)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(conn, MIGRATIONS[:version])
        return columns_of(conn)
    finally:
        conn.close()


def missing_columns(found: dict[str, frozenset[str]], version: int) -> list[str]:
    """What a database whose tables are ``found`` lacks of schema ``version``: tables, and
    ``table.column``; tables and columns beyond the schema are allowed (an application may
    keep its own beside poolkit's)."""
    missing: list[str] = []
    for table, columns in sorted(expected_columns(version).items()):
        if table not in found:
            missing.append(f"table {table}")
        else:
            missing.extend(f"column {table}.{column}" for column in sorted(columns - found[table]))
    return missing


__all__ = [
    "APPLICATION_ID",
    "MIGRATIONS",
    "NAME_BLOCKS_SCHEME_KEY",
    "SCHEMA_VERSION",
    "Migration",
    "application_id",
    "columns_of",
    "expected_columns",
    "migrate",
    "missing_columns",
    "schema_version",
    "sync_name_blocks",
]
