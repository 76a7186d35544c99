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

from poolkit.errors import PoolkitError, SchemaVersionError
from poolkit.identity.normalise import SIMPLIFIES_CHINESE
from poolkit.identity.similarity import name_blocks, normal_form
from poolkit.model.customer import Customer
from poolkit.ports import entered_at
from poolkit.stores.sql.converters import micros, read_document

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
    """Rebuild the name-block index and the names' normal forms if names are now
    normalised differently from when they were built (the optional ``hanzi`` extra was
    installed or removed); True if rebuilt.

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
            # A database migrated by fewer steps (a test of an old version) has no such
            # table yet.
            if conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'customer_normal_names'"
            ).fetchone():
                _fill_normal_names(conn)
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


def _events_by_time(conn: sqlite3.Connection) -> None:
    """An index on the events' time (with their kind, so a count by kind over a span of
    time reads the index alone): the report's flows per day."""
    conn.execute("CREATE INDEX events_at ON events (at, kind)")


def _customers_by_status(conn: sqlite3.Connection) -> None:
    """An index of customers by status, then id: a reader paging through the private
    customers (a policy's what-if) reads one page of the index a time, not the public and
    frozen customers in between."""
    conn.execute("CREATE INDEX customers_status ON customers (status, id)")


def _feed_positions(conn: sqlite3.Connection) -> None:
    """The change feed: every event gets a position, the table's integer key (so the feed
    reads the table in key order), and ``(customer_id, seq)`` becomes a unique index.

    Existing events are numbered in time order, a customer's events kept in ``seq`` order
    (each is placed at the latest time of its history so far, should a clock ever have
    gone back). The table is rebuilt (a key cannot be added in place); indexes another
    step put on it are made again on the new table."""
    others = [
        sql
        for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' "
            "AND sql IS NOT NULL"
        ).fetchall()
    ]
    for statement in (
        """CREATE TABLE events_feed (
            position INTEGER PRIMARY KEY,
            customer_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            at INTEGER NOT NULL,
            body TEXT NOT NULL
        )""",
        """INSERT INTO events_feed (customer_id, seq, kind, at, body)
        SELECT customer_id, seq, kind, at, body FROM events
        ORDER BY max(at) OVER (PARTITION BY customer_id ORDER BY seq
                               ROWS UNBOUNDED PRECEDING), customer_id, seq""",
        "DROP TABLE events",
        "ALTER TABLE events_feed RENAME TO events",
        "CREATE UNIQUE INDEX events_history ON events (customer_id, seq)",
        *others,
    ):
        conn.execute(statement)


def _customer_page_sorts(conn: sqlite3.Connection) -> None:
    """Pages of customers sort by name, by entry (``entered_at``: ``owned_since``, else
    ``public_since``, else ``created_at``, see :class:`poolkit.ports.CustomerOrder`) or by
    next drop: two columns, filled from each stored document, and an index per sort under
    the two filters pages walk (an owner; a pool and status), so a page reads its rows
    wherever it starts."""
    conn.execute("ALTER TABLE customers ADD COLUMN name TEXT")
    conn.execute("ALTER TABLE customers ADD COLUMN entered_at INTEGER")
    last = ""
    while batch := conn.execute(
        "SELECT id, body FROM customers WHERE id > ? ORDER BY id LIMIT 1000", (last,)
    ).fetchall():
        filled = []
        for customer_id, body in batch:
            try:
                customer = read_document(Customer, body, "customer", customer_id)
            except PoolkitError:
                continue  # a damaged document stays damaged; reading it still says so
            filled.append((customer.name, micros(entered_at(customer)), customer_id))
        conn.executemany("UPDATE customers SET name = ?, entered_at = ? WHERE id = ?", filled)
        last = batch[-1][0]
    for filters in (("owner", "owner_id"), ("pool", "pool_id, status")):
        for sort, expression in PAGE_SORT_COLUMNS.items():
            conn.execute(
                f"CREATE INDEX customers_{filters[0]}_by_{sort} "
                f"ON customers ({filters[1]}, {expression}, id)"
            )


PAGE_SORT_COLUMNS = {
    "name": "name",
    "entered": "entered_at",
    # No drop due sorts last: the largest integer stands in for it.
    "next_drop": "coalesce(drop_at, 9223372036854775807)",
}
"""The expression of each page sort, as the indexes of :func:`_customer_page_sorts` have
it (a query must spell it the same to use them)."""


def _customers_holdings(conn: sqlite3.Connection) -> None:
    """What the caps count, as columns: ``dealt`` (the customer has a deal) and ``locked``,
    filled from the documents, with an index by owner that covers them, so a rep's
    holdings are counted from the index alone. A document that is not JSON counts as
    neither (reading it is refused anyway)."""
    for statement in (
        "ALTER TABLE customers ADD COLUMN dealt INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE customers ADD COLUMN locked INTEGER NOT NULL DEFAULT 0",
        """UPDATE customers SET
            dealt = json_extract(body, '$.last_deal_at') IS NOT NULL,
            locked = coalesce(json_extract(body, '$.locked'), 0) != 0
        WHERE json_valid(body)""",
        "CREATE INDEX customers_holdings ON customers (owner_id, dealt, locked)",
    ):
        conn.execute(statement)


def _external_ids(conn: sqlite3.Connection) -> None:
    """The index of imported customers' external ids (their ids in the system they came
    from), which an import run again looks up to skip the rows already in, filled from the
    stored documents. (The customer's name, which the look-alike lookup reads for every
    candidate, has had a column of its own since :func:`_customer_page_sorts`.)"""
    for statement in (
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


def _without_redundant_customer_indexes(conn: sqlite3.Connection) -> None:
    """Drop the two customer indexes that later ones begin with: ``customers_owner
    (owner_id)`` is the start of ``customers_holdings (owner_id, dealt, locked)``, and
    ``customers_pool_status (pool_id, status)`` of the public pool's page sorts
    ``(pool_id, status, ...)``. Their entries end with the rowid, not the id, so they gave
    no order either; each was one more page to write when a customer changes hands."""
    for statement in (
        "DROP INDEX IF EXISTS customers_owner",
        "DROP INDEX IF EXISTS customers_pool_status",
    ):
        conn.execute(statement)


def _normal_names(conn: sqlite3.Connection) -> None:
    """Each customer's name and its normal form, beside its name blocks (filled from the
    stored names): the look-alike lookup of an import reads its candidates from this narrow
    table rather than from the customers, and compares them by their normal forms instead
    of normalising every candidate's name again."""
    conn.execute(
        """CREATE TABLE customer_normal_names (
            customer_id TEXT PRIMARY KEY,
            normal TEXT NOT NULL,
            name TEXT NOT NULL
        ) WITHOUT ROWID"""
    )
    _fill_normal_names(conn)


def _fill_normal_names(conn: sqlite3.Connection) -> None:
    """(Re)build the normal forms from the stored names (the ``name`` column, which every
    poolkit database has by the step that adds this table)."""
    conn.execute("DELETE FROM customer_normal_names")
    rows = conn.execute("SELECT id, name FROM customers")
    conn.executemany(
        "INSERT INTO customer_normal_names (normal, name, customer_id) VALUES (?, ?, ?)",
        (
            (form, name, customer_id)
            for customer_id, name in rows.fetchall()
            if isinstance(name, str) and (form := normal_form(name)) is not None
        ),
    )


def _owned_and_unowned_indexes(conn: sqlite3.Connection) -> None:
    """Each page-sort index keeps only the customers its queries ask for. The four that
    start with the owner (a private pool's page sorts and the caps' holdings) keep the
    owned customers: a public customer, with no owner, was an entry under NULL in each,
    read by no query (every one names an owner). The three that start with the pool keep
    the customers without an owner (public, frozen, recycled): every query by pool asks
    for one of those statuses, and says ``owner_id IS NULL`` with it (a customer has an
    owner exactly when it is private). So a claim or a drop takes its customer out of one
    set of indexes and puts it in the other, rather than moving it inside all of them, and
    a private customer's follow-up touches no pool index."""
    for name, columns, owned in (
        ("customers_owner_by_name", "owner_id, name, id", True),
        ("customers_owner_by_entered", "owner_id, entered_at, id", True),
        ("customers_owner_by_next_drop", f"owner_id, {PAGE_SORT_COLUMNS['next_drop']}, id", True),
        ("customers_holdings", "owner_id, dealt, locked", True),
        ("customers_pool_by_name", "pool_id, status, name, id", False),
        ("customers_pool_by_entered", "pool_id, status, entered_at, id", False),
        (
            "customers_pool_by_next_drop",
            f"pool_id, status, {PAGE_SORT_COLUMNS['next_drop']}, id",
            False,
        ),
    ):
        condition = "owner_id IS NOT NULL" if owned else "owner_id IS NULL"
        conn.execute(f"DROP INDEX IF EXISTS {name}")
        conn.execute(f"CREATE INDEX {name} ON customers ({columns}) WHERE {condition}")


def _private_and_frozen_by_id(conn: sqlite3.Connection) -> None:
    """``customers_status (status, id)`` becomes two partial indexes by id: the private
    customers (the what-if reads them all, page by page) and the frozen ones (the recycle
    bin). Every claim and every drop moved its customer inside the status index, a page
    where it left and a page where it came: now a claim writes one page (the customer
    enters the private index) and a drop one (it leaves it). The public customers are
    found by their pool (the pool's indexes), and no poolkit job asks for every public
    customer of every pool; such a query reads the table."""
    conn.execute("DROP INDEX IF EXISTS customers_status")
    conn.execute(
        "CREATE INDEX IF NOT EXISTS customers_private ON customers (id) WHERE owner_id IS NOT NULL"
    )
    conn.execute(
        "CREATE INDEX IF NOT EXISTS customers_frozen ON customers (id) WHERE status = 'frozen'"
    )


def _holdings_in_the_owner_entry_index(conn: sqlite3.Connection) -> None:
    """What the caps count (``dealt``, ``locked``) moves into the owner's entry-sort index,
    ``customers_owner_by_entered (owner_id, entered_at, id, dealt, locked)``, and
    ``customers_holdings (owner_id, dealt, locked)`` goes: a rep's holdings are counted
    from that index alone, as they were from their own. Every change of owner (a claim, an
    assignment, a transfer, a drop) moved the customer in both; now it moves it in one,
    a page less to write. A deal or a lock rewrites the entry index where it rewrote the
    holdings one. (The two flags are 0 or 1: SQLite keeps such an integer in the record's
    header alone, so the entries grow by two bytes.)"""
    conn.execute("DROP INDEX IF EXISTS customers_holdings")
    conn.execute("DROP INDEX IF EXISTS customers_owner_by_entered")
    conn.execute(
        "CREATE INDEX customers_owner_by_entered "
        "ON customers (owner_id, entered_at, id, dealt, locked) WHERE owner_id IS NOT NULL"
    )


MIGRATIONS: tuple[Migration, ...] = (
    _v1_initial,
    _v2_tags_and_related_reps,
    _v3_name_blocks_and_reviews,
    _v4_schedule_from_its_columns,
    _events_by_time,
    _customers_by_status,
    _feed_positions,
    _customer_page_sorts,
    _customers_holdings,
    _external_ids,
    _without_redundant_customer_indexes,
    _normal_names,
    _owned_and_unowned_indexes,
    _private_and_frozen_by_id,
    _holdings_in_the_owner_entry_index,
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
    "PAGE_SORT_COLUMNS",
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
