"""The PostgreSQL schema, its versions, and how a database is brought to the newest.

Everything lives in one schema of its own (``poolkit`` unless told otherwise), so poolkit's
tables sit beside a CRM's tables in the CRM's database without touching them. The steps in
:data:`MIGRATIONS` are applied in order, each once, recorded in the ``schema_version`` table
(one row per step, with when it ran). :func:`migrate` takes a transaction-level advisory lock
named after the schema before it reads that table: processes starting together queue on it,
and each later one finds the work done. A step that fails rolls every step back with it.

Identifiers and ordering: every id and label column is ``COLLATE "C"``, so ``ORDER BY id``
is the order of code points, as Python sorts, whatever the database's own collation is.
Documents are ``json``, not ``jsonb``: ``jsonb`` rewrites numbers as decimals, so a float
attribute such as ``1.5e300`` would come back as an integer that is not equal to it; the
queried fields have typed columns and side tables of their own instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import psycopg
from psycopg import sql

from poolkit.errors import SchemaVersionError
from poolkit.identity.normalise import SIMPLIFIES_CHINESE
from poolkit.identity.similarity import name_blocks, normal_form

Migration = Callable[[psycopg.Connection[tuple[object, ...]]], None]


def _v1_initial(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Customers with their query columns and schedule; the side tables of keys, tags,
    related reps and name blocks; the event log and its claims index; reps, pools,
    settings and the review list."""
    for statement in (
        """CREATE TABLE customers (
            id text COLLATE "C" PRIMARY KEY,
            status text COLLATE "C" NOT NULL,
            owner_id text COLLATE "C",
            pool_id text COLLATE "C" NOT NULL,
            grade text COLLATE "C",
            public_since timestamptz,
            version bigint NOT NULL,
            drop_at timestamptz,
            warn_at timestamptz,
            next_at timestamptz,
            name text NOT NULL,
            body json NOT NULL
        )""",
        # The sweep's index: only customers with a pending drop or warning are in it.
        "CREATE INDEX customers_due ON customers (next_at, id) WHERE next_at IS NOT NULL",
        "CREATE INDEX customers_owner ON customers (owner_id, id) WHERE owner_id IS NOT NULL",
        "CREATE INDEX customers_pool_status ON customers (pool_id, status, id)",
        """CREATE TABLE customer_keys (
            kind text COLLATE "C" NOT NULL,
            value text COLLATE "C" NOT NULL,
            customer_id text COLLATE "C" NOT NULL,
            PRIMARY KEY (kind, value, customer_id)
        )""",
        "CREATE INDEX customer_keys_customer ON customer_keys (customer_id)",
        """CREATE TABLE customer_tags (
            tag text COLLATE "C" NOT NULL,
            customer_id text COLLATE "C" NOT NULL,
            PRIMARY KEY (tag, customer_id)
        )""",
        "CREATE INDEX customer_tags_customer ON customer_tags (customer_id)",
        """CREATE TABLE customer_related (
            rep_id text COLLATE "C" NOT NULL,
            customer_id text COLLATE "C" NOT NULL,
            PRIMARY KEY (rep_id, customer_id)
        )""",
        "CREATE INDEX customer_related_customer ON customer_related (customer_id)",
        """CREATE TABLE customer_name_blocks (
            block text COLLATE "C" NOT NULL,
            customer_id text COLLATE "C" NOT NULL,
            PRIMARY KEY (block, customer_id)
        )""",
        "CREATE INDEX customer_name_blocks_customer ON customer_name_blocks (customer_id)",
        """CREATE TABLE events (
            customer_id text COLLATE "C" NOT NULL,
            seq bigint NOT NULL,
            kind text COLLATE "C" NOT NULL,
            at timestamptz NOT NULL,
            body json NOT NULL,
            PRIMARY KEY (customer_id, seq)
        )""",
        """CREATE TABLE claims (
            rep_id text COLLATE "C" NOT NULL,
            at timestamptz NOT NULL,
            customer_id text COLLATE "C" NOT NULL,
            seq bigint NOT NULL,
            PRIMARY KEY (rep_id, at, customer_id, seq)
        )""",
        'CREATE TABLE reps (id text COLLATE "C" PRIMARY KEY, body json NOT NULL)',
        'CREATE TABLE pools (id text COLLATE "C" PRIMARY KEY, body json NOT NULL)',
        'CREATE TABLE settings (key text COLLATE "C" PRIMARY KEY, value text NOT NULL)',
        """CREATE TABLE reviews (
            id text COLLATE "C" PRIMARY KEY,
            status text COLLATE "C" NOT NULL,
            customer_id text COLLATE "C" NOT NULL,
            similar_id text COLLATE "C" NOT NULL,
            created_at timestamptz NOT NULL,
            body json NOT NULL
        )""",
        "CREATE INDEX reviews_status ON reviews (status, created_at, id)",
        "CREATE INDEX reviews_customer ON reviews (customer_id)",
        "CREATE INDEX reviews_similar ON reviews (similar_id)",
    ):
        conn.execute(statement)


def _events_by_time(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """An index on the events' time (with their kind, so a count by kind over a span of
    time reads the index alone): the report's flows per day."""
    conn.execute("CREATE INDEX events_at ON events (at, kind)")


def _customers_by_status(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """An index of customers by status, then id: a reader paging through the private
    customers (a policy's what-if) reads one page of the index a time, not the public and
    frozen customers in between."""
    conn.execute("CREATE INDEX customers_status ON customers (status, id)")


def _feed_positions(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """The change feed: ``feed`` gives each event (by customer and seq) its position when
    its transaction commits (see ``_records.ASSIGN_POSITIONS_SQL``), ``feed_head`` holds
    the last position given. Existing events are numbered in time order, a customer's
    events kept in ``seq`` order (each placed at the latest time of its history so far).
    The events table itself is not changed."""
    for statement in (
        """CREATE TABLE feed (
            position bigint PRIMARY KEY,
            customer_id text COLLATE "C" NOT NULL,
            seq bigint NOT NULL
        )""",
        """INSERT INTO feed (position, customer_id, seq)
        SELECT row_number() OVER (ORDER BY reached, customer_id, seq), customer_id, seq
        FROM (
            SELECT customer_id, seq, max(at) OVER (
                PARTITION BY customer_id ORDER BY seq ROWS UNBOUNDED PRECEDING
            ) AS reached
            FROM events
        ) AS timed""",
        """CREATE TABLE feed_head (
            id integer PRIMARY KEY CHECK (id = 1),
            last bigint NOT NULL
        )""",
        "INSERT INTO feed_head (id, last) SELECT 1, coalesce(max(position), 0) FROM feed",
    ):
        conn.execute(statement)


PAGE_SORT_COLUMNS = {
    "name": 'name COLLATE "C"',
    "entered": "entered_at",
    # No drop due sorts last.
    "next_drop": "coalesce(drop_at, 'infinity'::timestamptz)",
}
"""The expression of each page sort, as the indexes of :func:`_customer_page_sorts` have
it (a query must spell it the same to use them)."""


def _customer_page_sorts(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Pages of customers sort by name, by entry (``entered_at``: ``owned_since``, else
    ``public_since``, else ``created_at``, see :class:`poolkit.ports.CustomerOrder`) or by
    next drop: the entry column, filled from each stored document, and an index per sort
    under the two filters pages walk (an owner; a pool and status)."""
    conn.execute("ALTER TABLE customers ADD COLUMN entered_at timestamptz")
    # A stored instant may name its zone after the offset ("...+08:00[Asia/Shanghai]",
    # see poolkit.stores._codec): the offset alone is the instant.
    conn.execute(
        """UPDATE customers SET entered_at = coalesce(
            split_part(body ->> 'owned_since', '[', 1)::timestamptz,
            public_since,
            split_part(body ->> 'created_at', '[', 1)::timestamptz
        )"""
    )
    for name, columns in (("owner", "owner_id"), ("pool", "pool_id, status")):
        for sort, expression in PAGE_SORT_COLUMNS.items():
            conn.execute(
                sql.SQL("CREATE INDEX {} ON customers ({}, {}, id)").format(
                    sql.Identifier(f"customers_{name}_by_{sort}"),
                    sql.SQL(columns),
                    sql.SQL(f"({expression})"),
                )
            )


def _customers_holdings(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """What the caps count, as columns: ``dealt`` (the customer has a deal) and ``locked``,
    filled from the documents, with an index of the owned customers that covers them, so
    a rep's holdings are counted from the index alone."""
    for statement in (
        "ALTER TABLE customers ADD COLUMN dealt boolean NOT NULL DEFAULT false, "
        "ADD COLUMN locked boolean NOT NULL DEFAULT false",
        """UPDATE customers SET
            dealt = body ->> 'last_deal_at' IS NOT NULL,
            locked = coalesce((body ->> 'locked')::boolean, false)""",
        "CREATE INDEX customers_holdings ON customers (owner_id, dealt, locked) "
        "WHERE owner_id IS NOT NULL",
    ):
        conn.execute(statement)


def _external_ids(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """The index of imported customers' external ids (their ids in the system they came
    from), which an import run again looks up to skip the rows already in."""
    for statement in (
        """CREATE TABLE customer_external_ids (
            external_id text COLLATE "C" PRIMARY KEY,
            customer_id text COLLATE "C" NOT NULL REFERENCES customers (id) ON DELETE CASCADE
        )""",
        "CREATE INDEX customer_external_ids_customer ON customer_external_ids (customer_id)",
        """INSERT INTO customer_external_ids (external_id, customer_id)
        SELECT body->>'external_id', id FROM customers WHERE body->>'external_id' IS NOT NULL
        ON CONFLICT DO NOTHING""",
    ):
        conn.execute(statement)


def _normal_names(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Each customer's name and its normal form, beside its name blocks (filled from the
    stored names): the look-alike lookup of an import reads its candidates from this narrow
    table rather than from the customers, and compares them by their normal forms instead
    of normalising every candidate's name again."""
    conn.execute(
        # Keyed by the whole row like the other side tables (the name makes it unique):
        # an update replaces a side's rows in one statement, deleting the old rows and
        # inserting the new ones beside each other, which a key of the id alone would
        # make conflict.
        """CREATE TABLE customer_normal_names (
            customer_id text COLLATE "C" NOT NULL,
            normal text NOT NULL,
            name text NOT NULL,
            PRIMARY KEY (customer_id, name)
        )"""
    )
    _fill_normal_names(conn)


def _fill_normal_names(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    conn.execute("DELETE FROM customer_normal_names")
    names = conn.execute("SELECT id, name FROM customers").fetchall()
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO customer_normal_names (normal, name, customer_id) VALUES (%s, %s, %s)",
            [
                (form, str(name), cid)
                for cid, name in names
                if name is not None and (form := normal_form(str(name))) is not None
            ],
        )


def _owned_and_unowned_indexes(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Each index of the customers keeps only the customers its queries ask for, as in
    SQLite (its schema steps 11, 13 and 14). An UPDATE that changes an indexed column (a
    claim, a drop) gives the row a new version with an entry in every index whose
    condition it meets: 12 entries per claim before, 7 now.

    - ``customers_owner (owner_id, id)`` and ``customers_pool_status (pool_id, status,
      id)`` go: each is the start of a page-sort index (and the owner's of the holdings).
    - The three page sorts that start with the owner keep the owned customers (every query
      by owner names one); the three that start with the pool keep those without an owner
      (every query by pool names a status, and says ``owner_id IS NULL`` with it unless it
      is private: a customer has an owner exactly when it is private).
    - ``customers_status (status, id)`` becomes ``customers_private (id)`` (the what-if
      reads every private customer) and ``customers_frozen (id)`` (the recycle bin)."""
    for name in ("customers_owner", "customers_pool_status", "customers_status"):
        conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(name)))
    for name, columns, condition in (
        ("owner", "owner_id", "owner_id IS NOT NULL"),
        ("pool", "pool_id, status", "owner_id IS NULL"),
    ):
        for sort, expression in PAGE_SORT_COLUMNS.items():
            index = sql.Identifier(f"customers_{name}_by_{sort}")
            conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(index))
            conn.execute(
                sql.SQL("CREATE INDEX {} ON customers ({}, {}, id) WHERE {}").format(
                    index, sql.SQL(columns), sql.SQL(f"({expression})"), sql.SQL(condition)
                )
            )
    conn.execute("CREATE INDEX customers_private ON customers (id) WHERE owner_id IS NOT NULL")
    conn.execute("CREATE INDEX customers_frozen ON customers (id) WHERE status = 'frozen'")


MIGRATIONS: tuple[Migration, ...] = (
    _v1_initial,
    _events_by_time,
    _customers_by_status,
    _feed_positions,
    _customer_page_sorts,
    _customers_holdings,
    _external_ids,
    _normal_names,
    _owned_and_unowned_indexes,
)
"""Schema steps in order; step ``n`` (1-based) brings a schema from version ``n - 1`` to
``n``. Append a function to change the schema; never edit a step that has shipped."""

SCHEMA_VERSION = len(MIGRATIONS)

NAME_BLOCKS_SCHEME_KEY = "name_blocks.scheme"


def lock_key(schema: str, purpose: str) -> sql.Composed:
    """An expression for the 64-bit advisory lock key of ``purpose`` in ``schema``: the
    lock space is shared by the whole database (the CRM's own code may use it too), so the
    key is a hash of names unlikely to be anyone else's."""
    return sql.SQL("hashtextextended({}, 0)").format(sql.Literal(f"poolkit:{schema}:{purpose}"))


def schema_version(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> int:
    """The version of ``schema`` (0 when it has no poolkit tables yet)."""
    found = conn.execute(
        "SELECT to_regclass(%s) IS NOT NULL", (f"{_quoted(conn, schema)}.schema_version",)
    ).fetchone()
    if found is None or not found[0]:
        return 0
    row = conn.execute(
        sql.SQL("SELECT coalesce(max(version), 0) FROM {}.schema_version").format(
            sql.Identifier(schema)
        )
    ).fetchone()
    return int(row[0]) if row is not None else 0  # type: ignore[call-overload]


def up_to_date(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> bool:
    """Whether ``schema`` needs nothing from :func:`migrate`: at :data:`SCHEMA_VERSION`, its
    name-block index built with the normalisation this process uses. Reads only."""
    if schema_version(conn, schema) != SCHEMA_VERSION:
        return False
    row = conn.execute(
        sql.SQL("SELECT value FROM {}.settings WHERE key = %s").format(sql.Identifier(schema)),
        (NAME_BLOCKS_SCHEME_KEY,),
    ).fetchone()
    return row is not None and row[0] == _name_blocks_scheme()


def _name_blocks_scheme() -> str:
    return "t2s" if SIMPLIFIES_CHINESE else "plain"


def migrate(
    conn: psycopg.Connection[tuple[object, ...]],
    schema: str,
    steps: Sequence[Migration] = MIGRATIONS,
    *,
    where: str = "",
) -> int:
    """Bring ``schema`` to version ``len(steps)`` in one transaction on ``conn`` (which must
    not be in one); returns the version found. A schema newer than ``steps`` knows is left
    untouched and refused with :class:`SchemaVersionError`."""
    name = sql.Identifier(schema)
    with conn.transaction():
        lock = lock_key(schema, "migrate")
        conn.execute(sql.SQL("SELECT pg_advisory_xact_lock({})").format(lock))
        # Under the lock, so that two first starts do not both create the schema.
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(name))
        conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_version (
                version integer PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            )"""
        )
        found = schema_version(conn, schema)
        if found > len(steps):
            raise SchemaVersionError(where or schema, found, len(steps))
        for number, step in enumerate(steps[found:], start=found + 1):
            step(conn)
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (number,))
        _sync_name_blocks(conn)
    return found


def _sync_name_blocks(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Rebuild the name-block index if names are now normalised differently from when it
    was built (the optional ``hanzi`` extra was installed or removed). Runs under the
    migration lock, so two processes do not rebuild it at once."""
    scheme = _name_blocks_scheme()
    row = conn.execute(
        "SELECT value FROM settings WHERE key = %s", (NAME_BLOCKS_SCHEME_KEY,)
    ).fetchone()
    if row is not None and row[0] == scheme:
        return
    conn.execute("DELETE FROM customer_name_blocks")
    with conn.cursor() as cursor:
        names = conn.execute("SELECT id, name FROM customers").fetchall()
        cursor.executemany(
            "INSERT INTO customer_name_blocks (block, customer_id) VALUES (%s, %s)",
            [(block, cid) for cid, name in names for block in sorted(name_blocks(str(name)))],
        )
    # A schema migrated by fewer steps (a test of an old version) has no such table yet.
    if conn.execute("SELECT to_regclass('customer_normal_names')").fetchone() != (None,):
        _fill_normal_names(conn)
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (%s, %s) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (NAME_BLOCKS_SCHEME_KEY, scheme),
    )


def _quoted(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> str:
    return sql.Identifier(schema).as_string(conn)
