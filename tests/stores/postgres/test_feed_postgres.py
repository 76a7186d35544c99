"""The change feed on PostgreSQL, whose units of work run side by side: the outbox trap
(an event committed later taking a position a reader has already passed) shown on a plain
sequence and shown absent from the store; the same race of writing processes as on SQLite,
with transactions held open; the migration that numbers existing events."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import psycopg
from _pg import url_of
from test_feed_concurrency import follow_while_writing

from poolkit.errors import StoreConflictError
from poolkit.stores.postgres import PostgresStore
from poolkit.stores.postgres._schema import MIGRATIONS, migrate
from poolkit.testing.builders import T0, followed_up
from poolkit.testing.conformance.feed import commit_events, read_all

Say = Callable[[str], None]
StoreFactory = Callable[..., PostgresStore]


def test_the_trap_is_real_on_a_plain_sequence(pg_dsn: str) -> None:
    """Why positions are not taken from a sequence when the event is written: a writer
    that takes position 1 and commits after one that took 2 puts its event behind a reader
    who has already read 2."""
    with (
        psycopg.connect(pg_dsn, autocommit=True) as setup,
        psycopg.connect(pg_dsn) as slow,
        psycopg.connect(pg_dsn) as quick,
        psycopg.connect(pg_dsn, autocommit=True) as reader,
    ):
        setup.execute("DROP TABLE IF EXISTS naive_feed")
        setup.execute("CREATE TABLE naive_feed (position bigserial PRIMARY KEY, what text)")
        slow.execute("INSERT INTO naive_feed (what) VALUES ('slow')")
        quick.execute("INSERT INTO naive_feed (what) VALUES ('quick')")
        quick.commit()
        seen = reader.execute("SELECT position, what FROM naive_feed ORDER BY position")
        passed = max(position for position, _ in seen.fetchall())
        slow.commit()
        behind = reader.execute(
            "SELECT what FROM naive_feed WHERE position < %s ORDER BY position", (passed,)
        ).fetchall()
        assert behind == [("slow",)]  # committed after the reader passed its position


def test_an_event_committed_later_comes_after_what_a_reader_has_read(
    make_store: StoreFactory,
) -> None:
    # A short lock wait: were the tail lock taken when appending (held for the whole
    # transaction), the quick writer would wait for the slow one and fail here, not hang.
    store = make_store(busy_timeout_s=2)
    commit_events(store, [followed_up("before", 1)])
    with store.unit_of_work() as slow:
        slow.events.append(followed_up("slow", 1))
        with store.unit_of_work() as quick:
            quick.events.append(followed_up("quick", 1))
            quick.commit()  # while the slow transaction is still open
        read = read_all(store)
        assert [entry.event.customer_id for entry in read] == ["before", "quick"]
        slow.commit()
    after = read_all(store, after=read[-1].position)
    assert [entry.event for entry in after] == [followed_up("slow", 1)]
    assert read_all(store) == read + after


def test_the_appends_of_one_unit_of_work_keep_their_order(make_store: StoreFactory) -> None:
    store = make_store()
    events = [followed_up(f"c{i % 7}", i // 7 + 1) for i in range(40)]
    commit_events(store, events)
    assert [entry.event for entry in read_all(store, 9)] == events


def test_several_processes_write_while_a_follower_reads(
    store: PostgresStore, location: str, say: Say
) -> None:
    follow_while_writing(store, location, say, per_writer=150, hold_every=3, hold_s=0.02)


def test_existing_events_get_positions_in_time_order_when_the_schema_migrates(
    pg_dsn: str, make_store: StoreFactory
) -> None:
    schema = "before_the_feed"
    with psycopg.connect(pg_dsn) as conn:
        migrate(conn, schema, MIGRATIONS[:1])
        rows = [
            ("b", 1, T0),
            ("a", 1, T0 + timedelta(hours=1)),
            ("b", 2, T0 + timedelta(hours=2)),
            # A clock set back: still after b's first two, in b's order.
            ("b", 3, T0 + timedelta(minutes=30)),
            ("c", 1, T0 + timedelta(hours=3)),
        ]
        with conn.transaction():
            for customer_id, seq, at in rows:
                conn.execute(
                    f'INSERT INTO "{schema}".events (customer_id, seq, kind, at, body) '
                    "VALUES (%s, %s, 'followed_up', %s, %s)",
                    (customer_id, seq, at, _body(customer_id, seq, at)),
                )
    store = make_store(schema=schema)
    assert store.migrated_from == 1
    entries = read_all(store)
    assert [(e.event.customer_id, e.event.seq) for e in entries] == [
        ("b", 1),
        ("a", 1),
        ("b", 2),
        ("b", 3),
        ("c", 1),
    ]
    assert [e.position for e in entries] == [1, 2, 3, 4, 5]
    commit_events(store, [followed_up("a", 2)])
    assert read_all(store, after=5)[0].position == 6


def test_the_feed_continues_above_what_is_stored_if_its_head_row_is_lost(
    make_store: StoreFactory,
) -> None:
    store = make_store()
    commit_events(store, [followed_up("a", 1), followed_up("b", 1)])
    with store.unit_of_work() as uow:
        uow._execute("DELETE FROM feed_head")
        uow.commit()
    commit_events(store, [followed_up("a", 2)])
    assert [e.position for e in read_all(store)] == [1, 2, 3]
    with store.unit_of_work() as uow:
        assert uow._execute("SELECT id, last FROM feed_head").fetchall() == [(1, 3)]


def test_a_unit_of_work_that_loses_the_race_to_put_the_head_row_back_is_rolled_back(
    make_store: StoreFactory, pg_dsn: str
) -> None:
    # Another transaction puts the head row back while this one's commit tries to: this
    # one waits for it, finds the row taken, numbers nothing and fails whole (retryable);
    # run again, its event goes above.
    store = make_store()
    commit_events(store, [followed_up("a", 1)])
    with store.unit_of_work() as uow:
        uow._execute("DELETE FROM feed_head")
        uow.commit()
    outcome: list[BaseException] = []
    with psycopg.connect(url_of(pg_dsn, options=f"-c search_path={store.schema}")) as other:
        other.execute("INSERT INTO feed_head (id, last) VALUES (1, 1)")  # not committed yet

        def commit_one() -> None:
            try:
                commit_events(store, [followed_up("c", 1)])
            except BaseException as error:
                outcome.append(error)

        thread = threading.Thread(target=commit_one)
        thread.start()
        time.sleep(0.5)  # the commit now waits on the row the other transaction inserted
        other.commit()
        thread.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], StoreConflictError)
    assert outcome[0].retryable
    commit_events(store, [followed_up("c", 1)])
    assert [(e.position, e.event.customer_id) for e in read_all(store)] == [(1, "a"), (2, "c")]


def _body(customer_id: str, seq: int, at: object) -> str:
    from poolkit.stores import _documents as documents
    from poolkit.stores._codec import encode

    event = followed_up(customer_id, seq, at)  # type: ignore[arg-type]
    return documents.dumps(encode(event))
