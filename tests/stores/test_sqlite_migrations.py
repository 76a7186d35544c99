"""Schema versions of the SQLite store: a v1 or v2 file is migrated on open with its data
intact, a newer file is refused untouched, a failed step leaves nothing half-done, and the
next schema change is one appended function. Then what v3 added: the name-block index (its
lookup reads the index, not the table) and updates that rewrite only the side rows that
changed."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from poolkit import ManualClock, Policy, PoolService, Team
from poolkit.errors import SchemaVersionError
from poolkit.identity.normalise import normalise_name
from poolkit.identity.similarity import blocking_keys
from poolkit.model.customer import CustomerStatus, IdentityKey
from poolkit.model.review import ReviewStatus
from poolkit.ports import CustomerOrder, CustomerQuery, Holdings, sort_key
from poolkit.stores._codec import encode
from poolkit.stores.sql.customer_query import select_customers
from poolkit.stores.sql.dialect import SQLITE
from poolkit.stores.sqlite import (
    APPLICATION_ID,
    MIGRATIONS,
    SCHEMA_VERSION,
    SqliteStore,
    migrate,
    migrations,
    schema_version,
)
from poolkit.stores.sqlite.queries import HOLDINGS_SQL, REVIEWS_OF_CUSTOMER_SQL, SIMILAR_NAMES_SQL
from poolkit.testing.builders import (
    DAY,
    NO_SCHEDULE,
    T0,
    claimed,
    drop_at,
    followed_up,
    named,
    private,
    public,
    review,
)

# The first schema exactly as poolkit 0.1 shipped it. Frozen here on purpose: if the
# shipped step in MIGRATIONS is ever edited, test_the_first_step_is_still_the_v1_schema fails.
V1_DDL = (
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


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "pool.db"


@pytest.fixture
def conn(path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(path, isolation_level=None)
    yield connection
    connection.close()


def schema_of(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    rows = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    return [(kind, name, " ".join((sql or "").split())) for kind, name, sql in rows]


def micros(at: datetime) -> int:
    return (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def write_v1_database(conn: sqlite3.Connection) -> None:
    """A v1 file with a private customer (keys, tags, a related rep), a public one, events,
    a claim, a rep, a pool and a setting, written the way v1 wrote them."""
    for statement in V1_DDL:
        conn.execute(statement)
    acme = private("acme", keys={"phone": "+8613800138000"}, tags={"vip"}, related_reps={"bob": T0})
    beta = public("beta", tags={"fair", "vip"})
    for customer, schedule in (
        (acme, drop_at(T0 + 15 * DAY, T0 + 12 * DAY)),
        (beta, drop_at(None)),
    ):
        conn.execute(
            "INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                customer.id,
                customer.status.value,
                customer.owner_id,
                customer.pool_id,
                customer.grade,
                None if customer.public_since is None else micros(customer.public_since),
                customer.version,
                None if schedule.drop_at is None else micros(schedule.drop_at),
                None if schedule.warn_at is None else micros(schedule.warn_at),
                None if schedule.next_at is None else micros(schedule.next_at),
                json.dumps(encode(schedule)),
                json.dumps(encode(customer)),
            ),
        )
        for key in customer.keys:
            conn.execute(
                "INSERT INTO customer_keys VALUES (?, ?, ?)", (key.kind, key.value, customer.id)
            )
    for event in (claimed("acme", 1, T0), followed_up("acme", 2, T0 + DAY)):
        conn.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
            (event.customer_id, event.seq, event.kind, micros(event.at), json.dumps(encode(event))),
        )
    conn.execute("INSERT INTO claims VALUES (?, ?, ?, ?)", ("alice", micros(T0), "acme", 1))
    conn.execute("INSERT INTO reps VALUES ('alice', ?)", (json.dumps({"id": "alice"}),))
    conn.execute("INSERT INTO pools VALUES ('north', ?)", (json.dumps({"id": "north"}),))
    conn.execute("INSERT INTO settings VALUES ('policy_fingerprint', 'abc')")
    conn.execute("PRAGMA user_version = 1")


def test_a_new_file_gets_the_current_schema(path: Path) -> None:
    with SqliteStore(path) as store:
        assert store.migrated_from == 0
        assert store.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
    with SqliteStore(path) as again:
        assert again.migrated_from == SCHEMA_VERSION


def test_the_first_step_is_still_the_v1_schema(path: Path, tmp_path: Path) -> None:
    frozen = sqlite3.connect(path, isolation_level=None)
    shipped = sqlite3.connect(tmp_path / "shipped.db", isolation_level=None)
    try:
        for statement in V1_DDL:
            frozen.execute(statement)
        migrate(shipped, MIGRATIONS[:1])
        assert schema_of(shipped) == schema_of(frozen)
        assert schema_version(shipped) == 1
    finally:
        frozen.close()
        shipped.close()


def test_a_v1_file_is_migrated_on_open_and_keeps_its_data(
    path: Path, conn: sqlite3.Connection
) -> None:
    write_v1_database(conn)
    conn.close()
    with SqliteStore(path) as store:
        assert store.migrated_from == 1
        assert store.schema_version == SCHEMA_VERSION
        with store.unit_of_work() as uow:
            acme = private(
                "acme", keys={"phone": "+8613800138000"}, tags={"vip"}, related_reps={"bob": T0}
            )
            assert uow.customers.get("acme") == acme
            assert uow.customers.get("beta") == public("beta", tags={"fair", "vip"})
            assert uow.customers.schedule_of("acme") == drop_at(T0 + 15 * DAY, T0 + 12 * DAY)
            assert [c.id for c in uow.customers.due(T0 + 12 * DAY, 10)] == ["acme"]
            phone = frozenset({IdentityKey("phone", "+8613800138000")})
            assert [c.id for c in uow.customers.with_keys(phone)] == ["acme"]
            # What v2 added, filled from the v1 documents:
            vip = CustomerQuery(tags=frozenset({"vip"}))
            assert [c.id for c in uow.customers.find(vip)] == ["acme", "beta"]
            assert [c.id for c in uow.customers.find(CustomerQuery(related_rep="bob"))] == ["acme"]
            # What v4 did: schedules come from their indexed columns, the JSON copy is gone.
            columns = [row[1] for row in uow._execute("PRAGMA table_info(customers)")]
            assert "schedule" not in columns and {"drop_at", "warn_at", "next_at"} <= set(columns)
            # What v3 added: the name blocks, filled from the stored names.
            assert uow.customers.similar_names(blocking_keys("Customer beta"), 10) == [
                ("acme", "Customer acme"),
                ("beta", "Customer beta"),
            ]
            assert uow.customers.similar_names(frozenset({"w:beta"}), 10) == [
                ("beta", "Customer beta")
            ]
            assert [e.seq for e in uow.events.history("acme")] == [1, 2]
            assert uow.events.claims_by("alice", T0 - DAY) == [T0]
            assert [rep.id for rep in uow.reps.all()] == ["alice"]
            assert [pool.id for pool in uow.pools.all()] == ["north"]
            assert uow.settings.get("policy_fingerprint") == "abc"
            # What the page step added: the sort columns, filled from the documents.
            sorts = uow._execute("SELECT id, name, entered_at FROM customers ORDER BY id")
            assert [tuple(row) for row in sorts] == [
                ("acme", "Customer acme", micros(T0)),
                ("beta", "Customer beta", micros(T0)),
            ]
            page = uow.customers.page([CustomerQuery()], CustomerOrder.NAME, limit=5)
            assert [(c.id, p.value) for c, p in page] == [
                ("acme", "Customer acme"),
                ("beta", "Customer beta"),
            ]
            # And the migrated file works like a new one.
            uow.customers.update(
                public("acme", tags={"cold"}, version=3), drop_at(None), acme.version
            )
            uow.commit()
        with store.unit_of_work() as uow:
            assert [c.id for c in uow.customers.find(vip)] == ["beta"]


def test_a_file_from_a_newer_poolkit_is_refused_untouched(
    path: Path, conn: sqlite3.Connection
) -> None:
    # A newer poolkit marks its files as poolkit's, as this one does.
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("CREATE TABLE future (x)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = schema_of(conn)
    with pytest.raises(SchemaVersionError) as refused:
        SqliteStore(path)
    assert (refused.value.found, refused.value.known) == (SCHEMA_VERSION + 1, SCHEMA_VERSION)
    assert "upgrade poolkit" in str(refused.value)
    assert schema_of(conn) == before
    assert schema_version(conn) == SCHEMA_VERSION + 1
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)


def test_a_v2_file_gets_its_name_blocks_and_a_review_list(
    path: Path, conn: sqlite3.Connection
) -> None:
    write_v1_database(conn)
    migrate(conn, MIGRATIONS[:2])
    # Two more customers as v2 wrote them: a Chinese name, and one with no blocks at all.
    for customer in (named("gamma", "深圳市华强科技有限公司"), named("blank", "有限公司")):
        conn.execute(
            "INSERT INTO customers (id, status, pool_id, version, schedule, body) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                customer.id,
                customer.status.value,
                customer.pool_id,
                customer.version,
                json.dumps(encode(NO_SCHEDULE)),
                json.dumps(encode(customer), ensure_ascii=False),
            ),
        )
    conn.close()
    with SqliteStore(path) as store:
        assert store.migrated_from == 2
        with store.unit_of_work() as uow:
            blocks = uow._execute(
                "SELECT block, customer_id FROM customer_name_blocks ORDER BY customer_id, block"
            ).fetchall()
            expected = [
                (block, customer_id)
                for customer_id, name in (
                    ("acme", "Customer acme"),
                    ("beta", "Customer beta"),
                    ("gamma", "深圳市华强科技有限公司"),
                )
                for block in sorted(blocking_keys(name))
            ]
            assert blocks == expected
            similar = uow.customers.similar_names(blocking_keys("华强电子有限公司"), 10)
            assert similar == [("gamma", "深圳市华强科技有限公司")]
            assert uow.reviews.find() == []
            uow.reviews.add(review("gamma~acme", "gamma", "acme"))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.reviews.find(ReviewStatus.OPEN, "acme") == [
                review("gamma~acme", "gamma", "acme")
            ]


def _v5_region_column(conn: sqlite3.Connection) -> None:
    """A next schema change, as it would be written: a column the code would query, an
    index on it, and a backfill from the stored documents."""
    conn.execute("ALTER TABLE customers ADD COLUMN region TEXT")
    conn.execute("CREATE INDEX customers_region ON customers (region)")
    for customer_id, body in conn.execute("SELECT id, body FROM customers").fetchall():
        region = json.loads(body)["attributes"].get("region")
        conn.execute("UPDATE customers SET region = ? WHERE id = ?", (region, customer_id))


def test_the_next_schema_change_is_one_appended_function(
    path: Path, conn: sqlite3.Connection
) -> None:
    with SqliteStore(path) as store, store.unit_of_work() as uow:
        uow.customers.add(private("c1", attributes={"region": "east"}), drop_at(T0))
        uow.commit()
    found = migrate(conn, (*MIGRATIONS, _v5_region_column))
    assert found == SCHEMA_VERSION
    assert schema_version(conn) == SCHEMA_VERSION + 1
    assert conn.execute("SELECT id, region FROM customers").fetchall() == [("c1", "east")]
    # This poolkit does not know v5, so it now refuses the file rather than misread it.
    with pytest.raises(SchemaVersionError):
        SqliteStore(path)


def test_a_failing_step_rolls_back_every_step_of_the_run(
    path: Path, conn: sqlite3.Connection
) -> None:
    migrate(conn, MIGRATIONS[:1])

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        migrate(conn, (*MIGRATIONS, broken))
    assert not conn.in_transaction
    assert schema_version(conn) == 1
    names = {name for _, name, _ in schema_of(conn)}
    assert "half_done" not in names
    assert names.isdisjoint({"customer_tags", "customer_name_blocks", "reviews"})
    with SqliteStore(path) as store:
        assert store.migrated_from == 1
        assert store.schema_version == SCHEMA_VERSION


# ---------------------------------------------------------------------------- what v3 added


def test_similar_names_reads_the_block_index_not_the_tables(path: Path) -> None:
    with SqliteStore(path):
        conn = sqlite3.connect(path)
        try:
            plan = conn.execute("EXPLAIN QUERY PLAN " + SIMILAR_NAMES_SQL, ("[]", 49)).fetchall()
        finally:
            conn.close()
    steps = " / ".join(step[-1] for step in plan)
    # Each wanted block: an index range bounded by its per_block-th id, found in the index.
    assert "SEARCH b USING PRIMARY KEY (block=? AND customer_id<?)" in steps
    assert "SEARCH last USING PRIMARY KEY (block=?)" in steps
    assert "SEARCH c USING INDEX sqlite_autoindex_customers_1 (id=?)" in steps
    assert "SCAN b" not in steps and "SCAN c" not in steps and "TEMP B-TREE" not in steps


def test_the_review_items_of_a_customer_are_read_through_its_indexes(path: Path) -> None:
    with SqliteStore(path):
        conn = sqlite3.connect(path)
        try:
            for status in (None, "open"):
                plan = conn.execute(
                    "EXPLAIN QUERY PLAN " + REVIEWS_OF_CUSTOMER_SQL, ("c1", status)
                ).fetchall()
                steps = " / ".join(step[-1] for step in plan)
                assert "USING INDEX reviews_customer (customer_id=?)" in steps
                assert "USING INDEX reviews_similar (similar_id=?)" in steps
                assert "reviews_status" not in steps
        finally:
            conn.close()


def test_an_update_rewrites_only_the_side_rows_that_changed(path: Path) -> None:
    """A sweep's drop changes the owner and adds a related rep; it leaves the keys, the
    tags and the name (and so its blocks) alone, and so must the store."""
    keys = {"phone": "1", "email": "a@b.cn"}
    held = private("c1", name="Moumou Technology", keys=keys, tags={"vip", "fair"})
    with SqliteStore(path) as store, store.unit_of_work() as uow:
        uow.customers.add(held, drop_at(T0))
        uow.commit()
        conn = uow._conn
        assert conn is not None
        before = conn.total_changes
        dropped = public(
            "c1",
            name="Moumou Technology",
            keys=keys,
            tags={"vip", "fair"},
            related_reps={"alice": T0 + DAY},
            version=2,
        )
        uow.customers.update(dropped, NO_SCHEDULE, 1)
        # The customers row and one customer_related row: nothing deleted, nothing rewritten.
        assert conn.total_changes - before == 2
        before = conn.total_changes
        renamed = public(
            "c1",
            name="Beta Foods",
            keys={"phone": "1"},
            tags={"vip", "cold"},
            related_reps={"alice": T0 + DAY},
            version=3,
        )
        uow.customers.update(renamed, NO_SCHEDULE, 2)
        old_blocks, new_blocks = blocking_keys("Moumou Technology"), blocking_keys("Beta Foods")
        # The row, one key and one tag out, one tag in, the blocks of both names and their
        # normal forms (one out, one in).
        assert conn.total_changes - before == 1 + 1 + 2 + len(old_blocks) + len(new_blocks) + 2
        uow.commit()
        rows = {
            table: uow._execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("customer_keys", "customer_tags", "customer_related")
        }
        assert rows == {
            "customer_keys": [("phone", "1", "c1")],
            "customer_tags": [("cold", "c1"), ("vip", "c1")],
            "customer_related": [("alice", "c1")],
        }
        blocks = uow._execute("SELECT block FROM customer_name_blocks ORDER BY block").fetchall()
        assert blocks == [(block,) for block in sorted(new_blocks)]


def test_an_update_sets_only_the_columns_that_changed(path: Path) -> None:
    """SQLite rewrites the entries of every index on a column an UPDATE sets, changed or
    not: a follow-up (a new version, schedule and document) must leave the owner's, the
    pool's and the status's columns out, and the indexes must still find the customer."""
    sent: list[str] = []
    with SqliteStore(path) as store, store.unit_of_work() as uow:
        uow.customers.add(private("c1", name="Moumou Technology"), drop_at(T0))
        uow.commit()
        conn = uow._conn
        assert conn is not None
        assert uow.customers.get("c1") is not None  # as the service reads before it writes
        conn.set_trace_callback(sent.append)
        followed = private("c1", name="Moumou Technology", version=2)
        uow.customers.update(followed, drop_at(T0 + DAY), 1)
        moved = private("c1", "bob", name="Moumou Technology", version=3)
        uow.customers.update(moved, drop_at(T0 + DAY), 2)
        conn.set_trace_callback(None)
        uow.commit()
        updates = [" ".join(text.split()) for text in sent if text.startswith("UPDATE customers")]
        assert len(updates) == 2
        sets = [update.split(" SET ")[1].split(" WHERE ")[0] for update in updates]
        columns = [{part.split(" = ")[0] for part in assigned.split(", ")} for assigned in sets]
        assert columns[0] == {"version", "drop_at", "warn_at", "next_at", "body"}
        assert columns[1] == {"owner_id", "version", "drop_at", "warn_at", "next_at", "body"}
        assert uow.customers.find(CustomerQuery(owner_ids=frozenset({"bob"}))) == [moved]
        assert uow.customers.find(CustomerQuery(owner_ids=frozenset({"alice"}))) == []
        assert uow.customers.holdings("bob") == Holdings(1, 0, 0, 0)
        page = uow.customers.page(
            [CustomerQuery(owner_ids=frozenset({"bob"}))], CustomerOrder.NAME, limit=10
        )
        assert [customer.id for customer, _ in page] == ["c1"]
        assert uow.customers.due(T0 + DAY, 10) == [moved]


def test_the_name_index_is_rebuilt_when_names_are_normalised_differently(
    tmp_path: Path,
) -> None:
    from poolkit.stores.sqlite.migrations import NAME_BLOCKS_SCHEME_KEY

    path = tmp_path / "scheme.db"
    with SqliteStore(path) as store:
        clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
        service = PoolService(store, Policy(), clock)
        service.setup(
            Team.from_dict({"reps": [{"id": "li"}], "pools": [{"id": "p", "default": True}]})
        )
        service.create("li", "Golden Dragon Trading")
    # As if the index had been built by a poolkit that normalised names another way.
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DELETE FROM customer_name_blocks")
        conn.execute(
            "UPDATE settings SET value = 'another' WHERE key = ?", (NAME_BLOCKS_SCHEME_KEY,)
        )
    conn.close()
    with SqliteStore(path) as store, store.unit_of_work() as uow:
        found = uow.customers.similar_names(blocking_keys("Golden Dragon Trading Co."), 50)
        assert [name for _, name in found] == ["Golden Dragon Trading"]
        assert uow.settings.get(NAME_BLOCKS_SCHEME_KEY) in ("t2s", "plain")


def test_a_file_before_the_holdings_columns_gets_them_filled_from_its_documents(
    path: Path, conn: sqlite3.Connection
) -> None:
    migrate(conn, MIGRATIONS[: MIGRATIONS.index(migrations._customers_holdings)])
    book = [
        private("a1"),
        private("a2", last_deal_at=T0),
        private("a3", locked=True),
        private("a4", locked=True, last_deal_at=T0),
        private("b1", "bob", locked=True),
        public("p1", last_deal_at=T0),
    ]
    for customer in book:
        conn.execute(
            "INSERT INTO customers (id, status, owner_id, pool_id, version, body) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                customer.id,
                customer.status.value,
                customer.owner_id,
                customer.pool_id,
                customer.version,
                json.dumps(encode(customer)),
            ),
        )
    conn.close()
    with SqliteStore(path) as store, store.unit_of_work() as uow:
        assert uow.customers.holdings("alice") == Holdings(4, 2, 2, 1)
        assert uow.customers.holdings("bob") == Holdings(1, 0, 1, 0)
        # and the columns follow the writes of the migrated file
        uow.customers.update(private("a1", locked=True, version=2), NO_SCHEDULE, 1)
        uow.customers.remove("a4", 1)
        assert uow.customers.holdings("alice") == Holdings(3, 1, 2, 0)


def test_a_file_before_the_normal_names_gets_them_from_its_names(path: Path) -> None:
    names = ["深圳市某某科技有限公司", "Golden Dragon Trading Co.", "某某科技（广州）有限公司"]
    with SqliteStore(path) as store, store.unit_of_work() as uow:
        for n, name in enumerate(names):
            uow.customers.add(named(f"c{n}", name), NO_SCHEDULE)
        uow.commit()
    # As the file was before the step: no table, the version before it.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TABLE customer_normal_names")
    conn.execute(f"PRAGMA user_version = {MIGRATIONS.index(migrations._normal_names):d}")
    conn.close()
    with SqliteStore(path) as store, store.unit_of_work() as uow:
        rows = uow._execute("SELECT customer_id, normal FROM customer_normal_names").fetchall()
        assert sorted(rows) == [(f"c{n}", normalise_name(name)) for n, name in enumerate(names)]
        found = uow.customers.names_by_block(blocking_keys(names[0]), 50)
        listed = {row for rows_ in found.values() for row in rows_}
        assert ("c0", names[0], normalise_name(names[0])) in listed
        # and the migrated file keeps them in step with renames
        uow.customers.update(named("c1", "Beta Foods", version=2), NO_SCHEDULE, 1)
        assert uow._execute(
            "SELECT normal FROM customer_normal_names WHERE customer_id = 'c1'"
        ).fetchall() == [(normalise_name("Beta Foods"),)]


def test_holdings_read_the_covering_index_alone(path: Path) -> None:
    with SqliteStore(path):
        conn = sqlite3.connect(path)
        try:
            plan = conn.execute("EXPLAIN QUERY PLAN " + HOLDINGS_SQL, ("li",)).fetchall()
        finally:
            conn.close()
    steps = " / ".join(step[-1] for step in plan)
    # Since the holdings moved into the owner's entry-sort index, that index alone.
    assert "USING COVERING INDEX customers_owner_by_entered (owner_id=?)" in steps


def test_a_file_with_a_holdings_index_of_its_own_loses_it_and_counts_the_same(
    path: Path,
) -> None:
    step = MIGRATIONS.index(migrations._holdings_in_the_owner_entry_index)
    # A book, then its file put back as the schema before the step had it.
    book = [
        private("a1"),
        private("a2", last_deal_at=T0),
        private("a3", locked=True),
        private("a4", locked=True, last_deal_at=T0),
        private("b1", "bob", locked=True),
        public("p1", last_deal_at=T0),
    ]
    with SqliteStore(path) as store:
        with store.unit_of_work() as uow:
            for customer in book:
                uow.customers.add(customer, NO_SCHEDULE)
            uow.commit()
        old = sqlite3.connect(path, isolation_level=None)
        old.execute("DROP INDEX customers_owner_by_entered")
        old.execute(
            "CREATE INDEX customers_owner_by_entered ON customers (owner_id, entered_at, id) "
            "WHERE owner_id IS NOT NULL"
        )
        old.execute(
            "CREATE INDEX customers_holdings ON customers (owner_id, dealt, locked) "
            "WHERE owner_id IS NOT NULL"
        )
        old.execute(f"PRAGMA user_version = {step:d}")
        old.close()
    with SqliteStore(path) as store, store.unit_of_work() as uow:
        indexes = dict(
            uow._execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'").fetchall()
        )
        assert "customers_holdings" not in indexes
        assert "(owner_id, entered_at, id, dealt, locked)" in indexes["customers_owner_by_entered"]
        assert uow.customers.holdings("alice") == Holdings(4, 2, 2, 1)
        assert uow.customers.holdings("bob") == Holdings(1, 0, 1, 0)
        assert uow.customers.holdings("nobody") == Holdings(0, 0, 0, 0)
        # and the index follows the writes of the migrated file
        uow.customers.update(private("a1", locked=True, version=2), NO_SCHEDULE, 1)
        uow.customers.remove("a4", 1)
        assert uow.customers.holdings("alice") == Holdings(3, 1, 2, 0)
        uow.commit()
    # The step run again (on a file it already ran on) changes nothing.
    again = sqlite3.connect(path, isolation_level=None)
    migrations._holdings_in_the_owner_entry_index(again)
    again.close()
    with SqliteStore(path) as store, store.unit_of_work() as uow:
        assert uow.customers.holdings("alice") == Holdings(3, 1, 2, 0)


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (CustomerQuery(owner_ids=frozenset({"li"})), "customers_owner_by_"),
        (CustomerQuery(owner_ids=frozenset({"li", "wang"})), "customers_owner_by_"),
        (
            CustomerQuery(pool_ids=frozenset({"north"}), status=CustomerStatus.PUBLIC),
            "customers_pool_by_",
        ),
        (
            # In id order, SQLite may as well walk customers_frozen (id).
            CustomerQuery(pool_ids=frozenset({"north", "south"}), status=CustomerStatus.FROZEN),
            "customers_",
        ),
        # Every private customer (the what-if) and every frozen one (the recycle bin), in id
        # order: each its own partial index by id (schema 14).
        (CustomerQuery(status=CustomerStatus.PRIVATE), "customers_private"),
        (CustomerQuery(status=CustomerStatus.FROZEN), "customers_frozen"),
    ],
)
def test_a_book_by_owner_or_a_pool_by_status_is_read_through_an_index(
    path: Path, query: CustomerQuery, index: str
) -> None:
    # The owner's indexes keep only owned customers, the pool's only those without an
    # owner (schema 13): every query by owner names one, every query by pool a status.
    with SqliteStore(path):
        conn = sqlite3.connect(path)
        try:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            # A next page (after an id), as the what-if and the recycle bin's pages read.
            select = select_customers(query, 10, SQLITE, "c0042")
            plan = conn.execute("EXPLAIN QUERY PLAN " + select.sql, select.params).fetchall()
        finally:
            conn.close()
    dropped = {"customers_owner", "customers_pool_status", "customers_status", "customers_holdings"}
    assert not dropped & names
    steps = " / ".join(step[-1] for step in plan)
    assert f"SEARCH customers USING INDEX {index}" in steps, steps
    assert "SCAN customers" not in steps, steps


@pytest.mark.parametrize("order", list(CustomerOrder))
def test_a_public_pool_page_walks_its_sort_index(path: Path, order: CustomerOrder) -> None:
    sent: list[str] = []
    with SqliteStore(path) as store, store.unit_of_work() as uow:
        for n in range(30):
            uow.customers.add(public(f"p{n:02d}", pool_id="north"), drop_at(T0 + n * DAY))
            uow.customers.add(private(f"a{n:02d}", pool_id="north"), drop_at(T0 + n * DAY))
        uow.commit()
        conn = uow._conn
        assert conn is not None
        conn.set_trace_callback(sent.append)
        query = CustomerQuery(pool_ids=frozenset({"north"}), status=CustomerStatus.PUBLIC)
        page = uow.customers.page([query], order, limit=5)
        conn.set_trace_callback(None)
        assert len(page) == 5
        assert all(customer.status is CustomerStatus.PUBLIC for customer, _ in page)
        positions = [position for _, position in page]
        assert positions == sorted(positions, key=sort_key)
        select = next(text for text in sent if text.startswith("SELECT"))
        plan = conn.execute("EXPLAIN QUERY PLAN " + select).fetchall()
    steps = " / ".join(step[-1] for step in plan)
    assert "customers_pool_by_" in steps and "TEMP B-TREE" not in steps, steps
