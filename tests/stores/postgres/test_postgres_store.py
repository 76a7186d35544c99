"""What only the PostgreSQL store shows: its own schema beside a CRM's tables, migrations
that two processes starting at once run once, the database's failures as poolkit errors,
a connection lost while idle or mid-transaction, and ``open_store``."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from _pg import url_of
from psycopg import sql

from poolkit.errors import (
    InvalidValueError,
    SchemaVersionError,
    StaleVersionError,
    StoreBusyError,
    StoreConflictError,
    StoreUnavailableError,
)
from poolkit.model.rep import Rep
from poolkit.ports import Holdings
from poolkit.stores import open_store
from poolkit.stores._codec import encode
from poolkit.stores.postgres import SCHEMA_VERSION, PostgresStore, _schema
from poolkit.stores.postgres._schema import MIGRATIONS
from poolkit.stores.sqlite import SqliteStore
from poolkit.testing.builders import NO_SCHEDULE, T0, private, public

StoreFactory = Callable[..., Any]


def test_poolkit_keeps_to_its_schema_beside_the_crms_tables(
    pg_dsn: str, make_store: StoreFactory
) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as crm:
        crm.execute("CREATE TABLE public.customers (id int PRIMARY KEY, crm_name text)")
        crm.execute("INSERT INTO public.customers VALUES (1, 'the CRM''s own row')")
    store = make_store(schema="sales_pools")
    with store.unit_of_work() as uow:
        uow.customers.add(private("c1"), NO_SCHEDULE)
        uow.commit()
    with psycopg.connect(pg_dsn) as crm:
        assert crm.execute("SELECT * FROM public.customers").fetchall() == [
            (1, "the CRM's own row")
        ]
        tables = {
            row[0]
            for row in crm.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'sales_pools'"
            )
        }
        assert {"customers", "events", "reps", "schema_version"} <= tables
        assert crm.execute("SELECT id FROM sales_pools.customers").fetchall() == [("c1",)]


def test_processes_starting_at_once_migrate_once(pg_dsn: str) -> None:
    start = threading.Barrier(6)

    def open_one(_: int) -> int:
        start.wait(30)
        with PostgresStore(pg_dsn, schema="raced") as store:
            return store.migrated_from

    with ThreadPoolExecutor(6) as pool:
        found = list(pool.map(open_one, range(6)))
    # Exactly one found an empty schema and migrated it; the others found it done.
    assert sorted(found) == [0] + [SCHEMA_VERSION] * 5
    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute("SELECT version FROM raced.schema_version ORDER BY 1").fetchall()
    assert rows == [(n,) for n in range(1, SCHEMA_VERSION + 1)]


def test_a_schema_from_a_newer_poolkit_is_refused_untouched(pg_dsn: str) -> None:
    PostgresStore(pg_dsn, schema="newer").close()
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO newer.schema_version (version) VALUES (%s)", (SCHEMA_VERSION + 1,)
        )
    with pytest.raises(SchemaVersionError) as refused:
        PostgresStore(pg_dsn, schema="newer")
    assert (refused.value.found, refused.value.known) == (SCHEMA_VERSION + 1, SCHEMA_VERSION)


def test_bad_options_are_refused(pg_dsn: str) -> None:
    for options in ({"schema": ""}, {"pool_size": 0}, {"busy_timeout_s": -1}):
        with pytest.raises(InvalidValueError):
            PostgresStore(pg_dsn, **options)
    with pytest.raises(InvalidValueError):
        PostgresStore("postgresql://no such host")


def test_a_lock_held_past_the_busy_timeout_is_store_busy(make_store: StoreFactory) -> None:
    store = make_store(busy_timeout_s=0.1)
    with store.unit_of_work() as uow:
        uow.reps.put(Rep("li"))
        uow.commit()
    with store.unit_of_work() as holder:
        # The lock travels with the unit of work's next statement (or its commit).
        holder.lock_rep("li")
        holder.reps.get("li")
        with pytest.raises(StoreBusyError) as refused, store.unit_of_work() as waiter:
            waiter.lock_rep("li")
            waiter.events.claims_by("li", T0)
        assert refused.value.retryable and refused.value.timeout_s == 0.1


def test_a_statement_past_its_timeout_is_store_busy(make_store: StoreFactory) -> None:
    store = make_store(statement_timeout_s=0.05)
    with pytest.raises(StoreBusyError) as refused, store.unit_of_work() as uow:
        uow._execute("SELECT pg_sleep(1)")
    assert refused.value.timeout_s == 0.05


def test_a_deadlock_is_a_retryable_conflict(make_store: StoreFactory) -> None:
    store = make_store()
    with store.unit_of_work() as uow:
        uow.reps.put(Rep("a"))
        uow.reps.put(Rep("b"))
        uow.commit()
    both_hold_one = threading.Barrier(2)
    errors: list[BaseException] = []

    def lock(first: str, second: str) -> None:
        try:
            with store.unit_of_work() as uow:
                uow.lock_rep(first)
                uow.reps.get(first)  # the lock is sent with this statement
                both_hold_one.wait(10)
                uow.lock_rep(second)
                uow.commit()
        except BaseException as error:  # the test looks at what each thread met
            errors.append(error)

    threads = [threading.Thread(target=lock, args=pair) for pair in (("a", "b"), ("b", "a"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(errors) == 1, errors
    assert isinstance(errors[0], StoreConflictError) and errors[0].retryable
    assert "40P01" in errors[0].reason


def test_a_connection_lost_mid_transaction_writes_nothing(make_store: StoreFactory) -> None:
    store = make_store()
    with pytest.raises(StoreUnavailableError) as lost, store.unit_of_work() as uow:
        uow.customers.add(private("c1"), NO_SCHEDULE)
        pid = uow._execute("SELECT pg_backend_pid()").fetchone()[0]
        with psycopg.connect(store._conninfo, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        uow.customers.add(private("c2"), NO_SCHEDULE)
        uow.commit()
    assert not lost.value.retryable
    assert "password" not in lost.value.where
    with store.unit_of_work() as uow:
        assert uow.customers.count() == 0


def test_connections_dropped_while_idle_are_replaced(make_store: StoreFactory) -> None:
    store = make_store()
    with store.unit_of_work() as uow:
        uow.settings.set("k", "v")
        uow.commit()
    with psycopg.connect(store._conninfo, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    with store.unit_of_work() as uow:
        assert uow.settings.get("k") == "v"


def test_a_write_waits_for_the_row_and_then_finds_its_version_stale(
    make_store: StoreFactory,
) -> None:
    store = make_store()
    with store.unit_of_work() as uow:
        uow.customers.add(private("c1"), NO_SCHEDULE)
        uow.commit()
    first_wrote = threading.Event()
    outcome: list[BaseException] = []

    def second() -> None:
        try:
            with store.unit_of_work() as uow:
                assert first_wrote.wait(10)
                uow.customers.update(private("c1", owner_id="bob", version=2), NO_SCHEDULE, 1)
        except BaseException as error:  # collected for the test
            outcome.append(error)

    with store.unit_of_work() as uow:
        uow.customers.update(private("c1", owner_id="carol", version=2), NO_SCHEDULE, 1)
        thread = threading.Thread(target=second)
        thread.start()
        first_wrote.set()
        thread.join(0.3)
        assert thread.is_alive()  # waiting for the row, not refused on a stale read
        uow.commit()
    thread.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], StaleVersionError)
    assert outcome[0].actual == 2


def test_open_store_takes_a_url_with_a_schema_or_a_path(pg_dsn: str, tmp_path: Any) -> None:
    with open_store(url_of(pg_dsn, schema="from_url"), busy_timeout_s=5) as store:
        assert isinstance(store, PostgresStore)
        assert (store.schema, store.busy_timeout_s) == ("from_url", 5.0)
    with open_store(tmp_path / "pool.db") as local:
        assert isinstance(local, SqliteStore)
    with psycopg.connect(pg_dsn) as conn:
        found = conn.execute(
            sql.SQL("SELECT count(*) FROM {}.schema_version").format(sql.Identifier("from_url"))
        ).fetchone()
    assert found == (SCHEMA_VERSION,)


def test_the_postgres_benchmark_runs_at_a_tiny_size(pg_server: str) -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_postgres.py"
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--dsn",
            pg_server,
            "--stored",
            "300",
            "--due",
            "60",
            "--sweepers",
            "1",
            "2",
            "--claimers",
            "1",
            "2",
            "--claims",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for line in (
        "Sweep: 60 due among 300 stored",
        "raw pipelined s",
        "Claims: 10 per process",
        "poolkit claims/s   raw updates/s   raw claim writes/s",
        "poolkit/update   poolkit/claim writes   claim writes/update",
    ):
        assert line in done.stdout, done.stdout


def _add_customers(store: PostgresStore, prefix: str, count: int) -> None:
    for n in range(count):
        with store.unit_of_work() as uow:
            uow.customers.add(private(f"{prefix}-{n}"), NO_SCHEDULE)
            uow.commit()


def test_a_store_inherited_through_fork_opens_its_own_connections(
    make_store: StoreFactory,
) -> None:
    """As a pre-forking web server does: the parent opened the store (and has a pooled
    connection); each child uses it, and the parent's connection still works after."""
    import multiprocessing

    store = make_store()
    _add_customers(store, "parent", 1)
    context = multiprocessing.get_context("fork")
    children = [
        context.Process(target=_add_customers, args=(store, f"child{n}", 10)) for n in range(4)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    assert [child.exitcode for child in children] == [0, 0, 0, 0]
    _add_customers(store, "parent-after", 1)
    with store.unit_of_work() as uow:
        assert uow.customers.count() == 1 + 4 * 10 + 1


def test_a_store_opens_read_only_on_an_up_to_date_schema(pg_dsn: str) -> None:
    """As on a read replica: a schema already migrated is only read on open."""
    with PostgresStore(pg_dsn, schema="replicated") as primary, primary.unit_of_work() as uow:
        uow.customers.add(private("c1"), NO_SCHEDULE)
        uow.commit()
    read_only = url_of(pg_dsn, options="-c default_transaction_read_only=on")
    with PostgresStore(read_only, schema="replicated") as replica:
        assert replica.migrated_from == SCHEMA_VERSION
        with replica.unit_of_work() as uow:
            assert uow.customers.get("c1") == private("c1")


def test_open_store_keeps_the_other_parameters_of_the_url(pg_dsn: str) -> None:
    url = url_of(pg_dsn, schema="spaced", options="-c statement_timeout=12345")
    with open_store(url) as store, store.unit_of_work() as uow:
        assert isinstance(store, PostgresStore) and store.schema == "spaced"
        # The store's own setting wins over the URL's, which libpq still parsed.
        assert uow._execute("SHOW statement_timeout").fetchone() == ("0",)
        assert uow._execute("SHOW search_path").fetchone() == ("spaced",)


def test_claims_by_different_reps_do_not_wait_for_each_other(make_store: StoreFactory) -> None:
    """No global lock: while a claim by li is open (li locked, the customer's row written),
    a claim by wang of another customer runs to its commit; one by li again must wait (a
    claim limit is counted, so li is locked before the count)."""
    from poolkit import ManualClock, Policy, PoolService, Team
    from poolkit.testing.builders import T0

    store = make_store(busy_timeout_s=0.2)
    policy = Policy.from_dict({"timezone": "UTC", "claim_limit": {"max_claims": 10}})
    service = PoolService(store, policy, ManualClock(T0))
    service.setup(
        Team.from_dict(
            {
                "reps": [{"id": "boss", "admin": True}, {"id": "li"}, {"id": "wang"}],
                "pools": [{"id": "main", "default": True, "members": ["li", "wang"]}],
            }
        )
    )
    for name in ("a", "b", "c"):
        service.create("boss", name, customer_id=name, public=True)
    with store.unit_of_work() as held:  # li's claim of "a", in progress
        held.lock_rep("li")
        customer = held.customers.get("a")
        assert customer is not None
        held.customers.update(customer, NO_SCHEDULE, customer.version)
        assert service.claim("wang", "b").owner_id == "wang"  # ran beside it
        with pytest.raises(StoreBusyError):
            service.claim("li", "c")  # li's decisions are serialised: it waited, then gave up


def test_a_rep_locked_as_it_is_read_ahead_holds_back_other_decisions_about_it(
    make_store: StoreFactory,
) -> None:
    store = make_store(busy_timeout_s=0.2)
    with store.unit_of_work() as uow:
        uow.reps.put(Rep("li"))
        uow.reps.put(Rep("wang"))
        uow.commit()
    with store.unit_of_work() as held:
        held.read_ahead(reps=("li",), lock_reps=("li",))
        assert held.reps.get("li") == Rep("li")
        with store.unit_of_work() as other:
            other.lock_rep("wang")  # another rep: no wait
            assert other.reps.get("wang") == Rep("wang")
            other.rollback()
            other.lock_rep("li")
            with pytest.raises(StoreBusyError):
                other.reps.get("li")  # the lock travels with this read, and waits


def test_a_schema_before_the_holdings_columns_gets_them_filled_from_its_documents(
    pg_dsn: str,
) -> None:
    before = MIGRATIONS[: MIGRATIONS.index(_schema._customers_holdings)]
    book = [
        private("a1"),
        private("a2", last_deal_at=T0),
        private("a3", locked=True),
        private("a4", locked=True, last_deal_at=T0),
        private("b1", "bob", locked=True),
        public("p1", last_deal_at=T0),
    ]
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        _schema.migrate(conn, "holdings_old", before)
        for customer in book:
            conn.execute(
                "INSERT INTO holdings_old.customers (id, status, owner_id, pool_id, version, "
                "name, body) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    customer.id,
                    customer.status.value,
                    customer.owner_id,
                    customer.pool_id,
                    customer.version,
                    customer.name,
                    json.dumps(encode(customer)),
                ),
            )
    with PostgresStore(pg_dsn, schema="holdings_old") as store, store.unit_of_work() as uow:
        assert uow.customers.holdings("alice") == Holdings(4, 2, 2, 1)
        assert uow.customers.holdings("bob") == Holdings(1, 0, 1, 0)
        # and the columns follow the writes of the migrated schema
        uow.customers.update(private("a1", locked=True, version=2), NO_SCHEDULE, 1)
        uow.customers.remove("a4", 1)
        assert uow.customers.holdings("alice") == Holdings(3, 1, 2, 0)
