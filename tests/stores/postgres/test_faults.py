"""Faults on a real PostgreSQL server: a sweeping client killed with SIGKILL, and the server
itself stopped like a power cut (``pg_ctl stop -m immediate``) in the middle of a sweep, then
started again. After each: every customer is whole (its columns, schedule and side-table
rows agree with it, it equals the replay of its history, the claims index holds exactly
the claims), the customers handled are whole batches, and a new sweep finishes the work,
each customer dropped or warned exactly once.

The book (3,000 customers due at one instant, from tests/stores/test_crash_safety.py) is built
once in a database of its own; each trial runs on a copy (``CREATE DATABASE ... TEMPLATE``).
"""

from __future__ import annotations

import os
import random
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _pg import IN_CI, url_of
from psycopg import sql
from test_crash_safety import (
    BOOK,
    IMPORT_BATCH,
    IMPORT_ROWS,
    POLICY_DOC,
    REPS,
    SWEEP_AT,
    SWEEP_BATCH,
    T0,
    TO_DROP,
    Book,
    Killer,
    spread,
    sweep_is_complete,
    team,
)

from _workers import depart_until_killed, import_rows, import_until_killed, sweep_until_killed
from poolkit import ManualClock, Policy, PoolService
from poolkit.errors import StoreUnavailableError
from poolkit.identity.similarity import name_blocks
from poolkit.importer import Outcome
from poolkit.model.customer import CustomerStatus
from poolkit.model.events import Claimed, Created, Deleted, Dropped, Event, Warned
from poolkit.model.history import apply, replay
from poolkit.model.schedule import Schedule
from poolkit.policy import rules
from poolkit.ports import CustomerQuery
from poolkit.stores import open_store
from poolkit.stores._codec import decode
from poolkit.stores.postgres import PostgresStore

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "pg-test-server"
SCHEMA = "book"
CLIENT_KILLS = 6
SERVER_CRASHES = 3

Say = Callable[[str], None]


def admin() -> Any:
    import psycopg

    return psycopg.connect(os.environ["POOLKIT_TEST_PG_DSN"], autocommit=True)


def drop_database(name: str) -> None:
    with admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="module")
def book_database(pg_server: str) -> Iterator[str]:
    """A database holding the sweep book of test_crash_safety in schema ``book``: BOOK
    private customers over 30 reps, four in five due to drop at SWEEP_AT, the rest to be
    warned then. Written through the store, as PoolService.create writes them."""
    name = f"pk_book_{os.getpid()}"
    drop_database(name)
    with admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    policy = Policy.from_dict(POLICY_DOC)
    with PostgresStore(url_of(pg_server, dbname=name), schema=SCHEMA) as store:
        PoolService(store, policy, ManualClock(T0)).setup(team())
        with store.unit_of_work() as uow:
            for number in range(BOOK):
                rep = REPS[number % len(REPS)]
                created = Created(
                    customer_id=f"c{number:05d}",
                    seq=1,
                    at=T0 if number < TO_DROP else T0 + (SWEEP_AT - T0) / 7.5,
                    actor_id=rep,
                    name=f"Shop {number:05d}",
                    pool_id="main",
                    owner_id=rep,
                    keys={"phone": f"+86138{number:08d}"},
                    grade="CDE"[number % 3],
                    tags={f"fair-{number % 4}"},
                )
                customer = apply(None, created)
                assert customer is not None
                uow.events.append(created)
                uow.customers.add(customer, rules.schedule(customer, policy))
            uow.commit()
    yield name
    drop_database(name)


def copy_of(template: str, trial: str) -> str:
    """A fresh database copied from ``template``; its name."""
    name = f"{template}_{trial}"
    drop_database(name)
    with admin() as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    return name


def wait_until_alone(database: str) -> None:
    """Wait until no session but ours is connected to ``database``: the server has noticed
    that a killed client is gone and rolled its transaction back. (A sweep that ran before
    would skip the rows the dead transaction still held, leaving them to the next sweep.)"""
    deadline = time.monotonic() + 30
    with admin() as conn:
        while time.monotonic() < deadline:
            found = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                "pg_backend_pid()",
                (database,),
            ).fetchone()
            if found is not None and found[0] == 0:
                return
            time.sleep(0.05)
    raise AssertionError(f"a session on {database} outlived its client")


def _grouped(rows: list[tuple[Any, ...]]) -> defaultdict[str, set[Any]]:
    grouped: defaultdict[str, set[Any]] = defaultdict(set)
    for customer_id, *rest in rows:
        grouped[customer_id].add(tuple(rest) if len(rest) > 1 else rest[0])
    return grouped


def check_book(url: str, policy: Policy) -> Book:
    """What the database holds, with every inconsistency found (as check_book of
    test_crash_safety does for a SQLite file, from raw SQL and through the store)."""
    problems: list[str] = []
    with open_store(url) as store:
        assert isinstance(store, PostgresStore)
        with store.unit_of_work() as uow:
            raw = uow._execute
            rows = raw(
                "SELECT id, status, owner_id, pool_id, grade, public_since, version, drop_at, "
                "warn_at, next_at, name FROM customers ORDER BY id"
            ).fetchall()
            keys = _grouped(raw("SELECT customer_id, kind, value FROM customer_keys").fetchall())
            tags = _grouped(raw("SELECT customer_id, tag FROM customer_tags").fetchall())
            related = _grouped(raw("SELECT customer_id, rep_id FROM customer_related").fetchall())
            blocks = _grouped(raw("SELECT customer_id, block FROM customer_name_blocks").fetchall())
            indexed = _grouped(raw("SELECT customer_id, seq, kind, at FROM events").fetchall())
            claims = {tuple(row) for row in raw("SELECT rep_id, at, customer_id, seq FROM claims")}
            reps = {rep.id for rep in uow.reps.all()}
            # In bulk: one query each, not one per customer (3,000 of them, checked twice a
            # trial); find() and history() decode exactly as get() does.
            customers = {c.id: c for c in uow.customers.find(CustomerQuery())}
            histories: defaultdict[str, list[Event]] = defaultdict(list)
            for customer_id, body in raw("SELECT customer_id, body FROM events ORDER BY 1, seq"):
                histories[customer_id].append(decode(Event, body))
            for row in rows:
                customer = customers[row[0]]
                schedule = Schedule(row[7], row[8])
                columns = (
                    customer.id,
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
                )
                if tuple(row) != columns:
                    problems.append(f"{customer.id}: columns {row} but document {columns}")
                if schedule != rules.schedule(customer, policy):
                    problems.append(f"{customer.id}: schedule {schedule} is not the rules'")
                if keys[customer.id] != {(key.kind, key.value) for key in customer.keys}:
                    problems.append(f"{customer.id}: key rows {keys[customer.id]}")
                if tags[customer.id] != set(customer.tags):
                    problems.append(f"{customer.id}: tag rows {tags[customer.id]}")
                if related[customer.id] != set(customer.related_reps):
                    problems.append(f"{customer.id}: related rows {related[customer.id]}")
                if blocks[customer.id] != set(name_blocks(customer.name)):
                    problems.append(f"{customer.id}: name blocks {blocks[customer.id]}")
                if customer.owner_id is not None and customer.owner_id not in reps:
                    problems.append(f"{customer.id}: owned by unknown rep {customer.owner_id}")
            due = [c.id for c in uow.customers.upcoming(SWEEP_AT, 1 << 30)]
    for side in (keys, tags, related, blocks):
        strays = set(side) - set(customers)
        if strays:
            problems.append(f"side-table rows of no customer: {sorted(strays)[:5]}")
    alive = {cid for cid, history in histories.items() if not isinstance(history[-1], Deleted)}
    if alive != set(customers):
        problems.append(f"{len(customers)} customers, {len(alive)} live histories")
    expected_claims: set[tuple[Any, ...]] = set()
    for customer_id, history in histories.items():
        if [event.seq for event in history] != list(range(1, len(history) + 1)):
            problems.append(f"{customer_id}: history seqs {[e.seq for e in history]}")
            continue
        if not isinstance(history[0], Created):
            problems.append(f"{customer_id}: history starts with {history[0]}")
        if indexed[customer_id] != {(e.seq, e.kind, e.at) for e in history}:
            problems.append(f"{customer_id}: event rows {indexed[customer_id]}")
        if customer_id in customers and replay(history) != customers[customer_id]:
            problems.append(f"{customer_id}: the replay of its history is not the customer")
        expected_claims |= {
            (e.rep_id, e.at, e.customer_id, e.seq) for e in history if isinstance(e, Claimed)
        }
    if claims != expected_claims:
        problems.append(f"claims index {sorted(claims ^ expected_claims)[:5]}")
    return Book(customers, dict(histories), due, problems)


def handled(book: Book) -> set[str]:
    return set(book.events(Dropped)) | set(book.events(Warned))


def finish_and_check(url: str, policy: Policy, trial: int) -> list[str]:
    """Check the book, sweep again, check that the sweep finished the work."""
    problems = [f"trial {trial}, after the fault: {p}" for p in check_book(url, policy).problems]
    with open_store(url) as store:
        PoolService(store, policy, ManualClock(SWEEP_AT), sweep_batch=SWEEP_BATCH).sweep()
    finished = check_book(url, policy)
    problems += [f"trial {trial}, after the new sweep: {p}" for p in finished.problems]
    problems += [f"trial {trial}: {p}" for p in sweep_is_complete(finished)]
    return problems


def test_a_sweeping_client_killed_at_random_moments_leaves_whole_customers(
    book_database: str, pg_server: str, say: Say
) -> None:
    policy = Policy.from_dict(POLICY_DOC)
    killer = Killer(random.Random(20261130), max_delay_s=3.0)
    problems: list[str] = []
    at_kill: list[int] = []
    for trial in range(CLIENT_KILLS):
        database = copy_of(book_database, f"kill{trial}")
        url = url_of(pg_server, dbname=database, schema=SCHEMA)
        try:
            killed = killer.run(
                sweep_until_killed, url, POLICY_DOC, SWEEP_AT.isoformat(), SWEEP_BATCH
            )
            wait_until_alone(database)
            book = check_book(url, policy)
            done = len(handled(book))
            if killed:
                at_kill.append(done)
            if done % SWEEP_BATCH and done != BOOK:
                problems.append(f"trial {trial}: {done} handled, not whole batches")
            problems += finish_and_check(url, policy, trial)
        finally:
            drop_database(database)
    mid_sweep = [n for n in at_kill if 0 < n < BOOK]
    say(
        f"postgres client kill (sweep of {BOOK} due, batches of {SWEEP_BATCH}): "
        f"{CLIENT_KILLS} runs, {len(at_kill)} killed ({len(mid_sweep)} mid-sweep, customers "
        f"handled before the kill: {spread(at_kill)}), {CLIENT_KILLS - len(at_kill)} finished "
        f"first; exit codes {dict(killer.exit_codes)}; every customer whole and replayable, the "
        f"new sweep dropped {TO_DROP} and warned {BOOK - TO_DROP} in all, each once; "
        f"{len(problems)} problems"
    )
    assert problems == []
    assert mid_sweep, "no kill landed mid-sweep: the test proved nothing"


def server(command: str) -> None:
    directory = os.environ.get("POOLKIT_TEST_PG_DIR", "")
    subprocess.run([str(SCRIPT), command, directory], check=True, capture_output=True)


@pytest.fixture
def own_server() -> str:
    """The data directory of the test server, which this test may crash and restart."""
    directory = os.environ.get("POOLKIT_TEST_PG_DIR", "")
    if not directory:
        message = (
            "POOLKIT_TEST_PG_DIR is not set: crashing the server needs the throwaway one "
            "of scripts/pg-test-server"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return directory


def test_the_server_stopped_like_a_power_cut_mid_sweep_loses_nothing(
    book_database: str, pg_server: str, own_server: str, say: Say
) -> None:
    policy = Policy.from_dict(POLICY_DOC)
    rng = random.Random(20261201)
    problems: list[str] = []
    at_crash: list[int] = []
    failures: Counter[str] = Counter()
    for trial in range(SERVER_CRASHES):
        database = copy_of(book_database, f"crash{trial}")
        url = url_of(pg_server, dbname=database, schema=SCHEMA)
        try:
            store = open_store(url)
            service = PoolService(store, policy, ManualClock(SWEEP_AT), sweep_batch=SWEEP_BATCH)
            outcome: list[BaseException] = []

            def sweep(
                service: PoolService = service, outcome: list[BaseException] = outcome
            ) -> None:
                try:
                    service.sweep()
                except BaseException as error:  # the test reads what the sweep met
                    outcome.append(error)

            sweeper = threading.Thread(target=sweep, daemon=True)
            sweeper.start()
            time.sleep(rng.uniform(0.2, 1.5))
            server("crash")
            sweeper.join(60)
            server("restart")
            assert not sweeper.is_alive()
            failures[type(outcome[0]).__name__ if outcome else "finished"] += 1
            if outcome and not isinstance(outcome[0], StoreUnavailableError):
                problems.append(f"trial {trial}: the sweep met {outcome[0]!r}")
            # The same store carries on: its dead connections are replaced at checkout.
            with store.unit_of_work() as uow:
                assert uow.customers.count() == BOOK
            store.close()
            book = check_book(url, policy)
            done = len(handled(book))
            at_crash.append(done)
            if done % SWEEP_BATCH and done != BOOK:
                problems.append(f"trial {trial}: {done} handled, not whole batches")
            problems += finish_and_check(url, policy, trial)
        finally:
            drop_database(database)
    say(
        f"postgres server crash (pg_ctl stop -m immediate mid-sweep, then start): "
        f"{SERVER_CRASHES} runs; customers handled before the crash: {spread(at_crash)}; "
        f"what the sweep met: {dict(failures)}; every customer whole and replayable, the new "
        f"sweep finished the work; {len(problems)} problems"
    )
    assert problems == []
    assert any(0 < n < BOOK for n in at_crash), "no crash landed mid-sweep"


IMPORT_KILLS = 5
DEPARTURE_KILLS = 5


@pytest.fixture(scope="module")
def empty_database(pg_server: str) -> Iterator[str]:
    """A database with the team and no customer, for the import."""
    name = f"pk_empty_{os.getpid()}"
    drop_database(name)
    with admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with PostgresStore(url_of(pg_server, dbname=name), schema=SCHEMA) as store:
        PoolService(store, Policy.from_dict(POLICY_DOC), ManualClock(T0)).setup(team())
    yield name
    drop_database(name)


def test_an_import_killed_at_random_moments_leaves_whole_rows(
    empty_database: str, pg_server: str, say: Say
) -> None:
    """As the SQLite crash test: the rows in after a kill are whole leading batches of the
    file, each with its Created event; importing the file again reports each of them as a
    collision and creates the rest."""
    policy = Policy.from_dict(POLICY_DOC)
    rows = import_rows(IMPORT_ROWS)
    names = [row.name for row in rows]
    killer = Killer(random.Random(20261203), max_delay_s=3.0)
    problems: list[str] = []
    at_kill: list[int] = []
    for trial in range(IMPORT_KILLS):
        database = copy_of(empty_database, f"import{trial}")
        url = url_of(pg_server, dbname=database, schema=SCHEMA)
        try:
            killed = killer.run(
                import_until_killed,
                url,
                POLICY_DOC,
                T0.isoformat(),
                "boss",
                IMPORT_ROWS,
                IMPORT_BATCH,
            )
            wait_until_alone(database)
            book = check_book(url, policy)
            problems += [f"trial {trial}, after the kill: {p}" for p in book.problems]
            count = len(book.customers)
            if killed:
                at_kill.append(count)
            stored = sorted(customer.name for customer in book.customers.values())
            if stored != names[:count] or (count % IMPORT_BATCH and count != IMPORT_ROWS):
                problems.append(f"trial {trial}: {count} rows in, not whole leading batches")
            with open_store(url) as store:
                report = PoolService(store, policy, ManualClock(T0)).import_customers(
                    "boss", rows, batch_size=500
                )
            outcomes = (report.count(Outcome.COLLISION), report.count(Outcome.CREATED))
            if outcomes != (count, IMPORT_ROWS - count):
                problems.append(f"trial {trial}: {count} were in; again: {report.summary()}")
            finished = check_book(url, policy)
            problems += [f"trial {trial}, after the new import: {p}" for p in finished.problems]
            if sorted(c.name for c in finished.customers.values()) != names:
                problems.append(f"trial {trial}: {len(finished.customers)} customers at the end")
        finally:
            drop_database(database)
    mid_import = [n for n in at_kill if 0 < n < IMPORT_ROWS]
    say(
        f"postgres client kill (import of {IMPORT_ROWS} rows, batches of {IMPORT_BATCH}): "
        f"{IMPORT_KILLS} runs, {len(at_kill)} killed ({len(mid_import)} mid-import, rows in "
        f"before the kill: {spread(at_kill)}); whole leading batches only, the new import "
        f"reported every row already in as a collision and created the rest; "
        f"{len(problems)} problems"
    )
    assert problems == []
    assert mid_import, "no kill landed mid-import: the test proved nothing"


def test_a_departure_killed_at_random_moments_drops_all_or_nothing(
    book_database: str, pg_server: str, say: Say
) -> None:
    """rep00 leaves, and their customers drop in one unit of work: after a kill, either
    rep00 is still active with all of them, or has departed with none; a departure run
    again finishes the work."""
    policy = Policy.from_dict(POLICY_DOC)
    leaver = REPS[0]
    share = BOOK // len(REPS)
    killer = Killer(random.Random(20261204), max_delay_s=2.0)
    problems: list[str] = []
    states: Counter[str] = Counter()
    for trial in range(DEPARTURE_KILLS):
        database = copy_of(book_database, f"depart{trial}")
        url = url_of(pg_server, dbname=database, schema=SCHEMA)
        try:
            killer.run(depart_until_killed, url, POLICY_DOC, T0.isoformat(), "boss", leaver)
            wait_until_alone(database)
            book = check_book(url, policy)
            problems += [f"trial {trial}, after the kill: {p}" for p in book.problems]
            held = [c for c in book.customers.values() if c.owner_id == leaver]
            with open_store(url) as store:
                service = PoolService(store, policy, ManualClock(T0))
                active = next(rep for rep in service.reps() if rep.id == leaver).active
                states["untouched" if active else "departed"] += 1
                if (active, len(held)) not in ((True, share), (False, 0)):
                    problems.append(f"trial {trial}: active={active} with {len(held)} customers")
                if active:
                    service.depart("boss", leaver)
            finished = check_book(url, policy)
            problems += [f"trial {trial}, at the end: {p}" for p in finished.problems]
            dropped = [c for c in finished.customers.values() if c.status is CustomerStatus.PUBLIC]
            if len(dropped) != share or any(leaver not in c.related_reps for c in dropped):
                problems.append(f"trial {trial}: {len(dropped)} dropped at the end")
        finally:
            drop_database(database)
    say(
        f"postgres client kill (departure of a rep holding {share}): {DEPARTURE_KILLS} runs; "
        f"after the kill: {dict(states)}, never half; the departure run again dropped the "
        f"rest; exit codes {dict(killer.exit_codes)}; {len(problems)} problems"
    )
    assert problems == []
