"""The change feed: reading it against raw SQL, and what positions cost on writes.

Run:  python benchmarks/bench_feed.py                         (1,000,000 events, SQLite)
      python benchmarks/bench_feed.py --events 100000         (quicker)
      scripts/pg-test-server run -- python benchmarks/bench_feed.py   (and PostgreSQL)

PostgreSQL runs when ``--dsn`` (default: ``POOLKIT_TEST_PG_DSN``) names a server; the
benchmark works in a database of its own, ``poolkit_feed_bench``, dropped at the end.

Reading: ``--events`` follow-up events of 1,000 customers are loaded (raw inserts of real
documents), then the whole feed is read page by page (``--pages``), each page from the
last position of the one before:

- poolkit: ``PoolService.events_since`` (a unit of work per page, every event decoded
  into its frozen value with its checks);
- the floor: the store's own statement (``WHERE position > ? ORDER BY position LIMIT ?``;
  on PostgreSQL joined to the events by their key) on a plain connection, rows fetched
  and nothing decoded;
- the floor with JSON: the same, each document parsed (``json``/``orjson``) but not made
  into an event: the gap to poolkit is the events' own construction.

Writing: what the positions cost.

- SQLite: ``--writes`` single-event appends, each its own transaction, with the statement
  the store runs, on the schema before positions (events keyed on customer and seq) and on
  the schema with them (an integer key, the position, and a unique index on customer and
  seq), in copies made the same way.
- PostgreSQL: 1, 4 and 8 processes each committing ``--writes`` units of work of one
  appended event, with the positions given at commit (the tail lock) and with that step
  switched off (no positions: what the store cost before): events per second and the
  ratio. A lock held for whole transactions would keep the rate flat as processes are
  added; the tail lock is held for one statement and the commit.

Figures go to stdout; nothing is asserted. Compare the ratios, measured in the same run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from poolkit import FollowUpKind, ManualClock, Policy, PoolService
from poolkit.model.events import FollowedUp
from poolkit.stores import _documents as documents
from poolkit.stores._codec import encode
from poolkit.stores.sql.converters import micros
from poolkit.stores.sqlite import MIGRATIONS, SqliteStore, migrate
from poolkit.stores.sqlite.queries import APPEND_EVENT_SQL, FEED_SQL

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
POLICY = Policy.from_dict({"timezone": "Asia/Shanghai", "similarity": {"enabled": False}})
CUSTOMERS = 1000
DATABASE = "poolkit_feed_bench"
BEFORE_POSITIONS = 4  # the SQLite schema version before the feed


def template() -> str:
    event = FollowedUp(
        customer_id="c0000",
        seq=1,
        at=START,
        actor_id="rep000",
        method=FollowUpKind.CALL,
        note="called",
    )
    return documents.dumps(encode(event))


def event_rows(count: int) -> Iterator[tuple[str, int, str, int, str, datetime]]:
    """(customer id, seq, kind, at in micros, document, at) of ``count`` follow-ups spread
    over ``CUSTOMERS`` customers, one a minute."""
    text = template()
    stamp = START.isoformat()
    for number in range(count):
        cid = f"c{number % CUSTOMERS:04d}"
        seq = number // CUSTOMERS + 1
        at = START + timedelta(minutes=number)
        body = text.replace("c0000", cid).replace(stamp, at.isoformat())
        body = body.replace('"seq":1}', f'"seq":{seq}}}').replace('"seq": 1}', f'"seq": {seq}}}')
        yield cid, seq, "followed_up", micros(at), body, at


def timed(run: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    count = run()
    return time.perf_counter() - started, count


def read_pages(read: Callable[[int, int], tuple[int, int]], page: int) -> int:
    """Read the whole feed through ``read(after, page) -> (rows, last position)``."""
    total, after = 0, 0
    while True:
        rows, last = read(after, page)
        total += rows
        if rows < page:
            return total
        after = last


def report_reads(
    where: str,
    events: int,
    page: int,
    poolkit: Callable[[int, int], tuple[int, int]],
    floor: Callable[[int, int], tuple[int, int]],
    floor_json: Callable[[int, int], tuple[int, int]],
) -> None:
    figures = {}
    for name, read in (("floor", floor), ("floor+json", floor_json), ("poolkit", poolkit)):
        elapsed, count = timed(lambda read=read: read_pages(read, page))  # type: ignore[misc]
        assert count == events, (name, count, events)
        figures[name] = elapsed
        rate = count / elapsed
        print(f"  {where:10} page {page:5}  {name:11} {elapsed:7.2f} s  {rate:10,.0f} events/s")
    to_floor = figures["poolkit"] / figures["floor"]
    to_json = figures["poolkit"] / figures["floor+json"]
    print(
        f"  {where:10} page {page:5}  ratio: poolkit / floor {to_floor:.1f}x, "
        f"poolkit / floor+json {to_json:.1f}x"
    )


# ---------------------------------------------------------------------------- SQLite


def bench_sqlite_reads(workdir: Path, events: int, pages: list[int]) -> None:
    path = workdir / "feed.db"
    SqliteStore(path).close()
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO events (customer_id, seq, kind, at, body) VALUES (?, ?, ?, ?, ?)",
        (row[:5] for row in event_rows(events)),
    )
    conn.execute("COMMIT")
    print(f"SQLite: {events:,} events loaded in {time.perf_counter() - started:.1f} s")
    store = SqliteStore(path)
    service = PoolService(store, POLICY, ManualClock(START))

    def poolkit(after: int, page: int) -> tuple[int, int]:
        found = service.events_since(after, limit=page)
        return len(found), found[-1].position if found else after

    def floor(after: int, page: int) -> tuple[int, int]:
        rows = conn.execute(FEED_SQL, (after, page)).fetchall()
        return len(rows), rows[-1][0] if rows else after

    def floor_json(after: int, page: int) -> tuple[int, int]:
        rows = conn.execute(FEED_SQL, (after, page)).fetchall()
        for row in rows:
            documents.loads(row[3])
        return len(rows), rows[-1][0] if rows else after

    for page in pages:
        report_reads("SQLite", events, page, poolkit, floor, floor_json)
    store.close()
    conn.close()


def bench_sqlite_writes(workdir: Path, writes: int) -> None:
    print(f"SQLite: {writes:,} single-event appends, one transaction each")
    rows = list(event_rows(writes))
    figures = {}
    for label, steps in (
        ("before positions", MIGRATIONS[:BEFORE_POSITIONS]),
        ("with positions", MIGRATIONS),
    ):
        path = workdir / f"writes-{len(steps)}.db"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        migrate(conn, steps)
        started = time.perf_counter()
        for row in rows:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(APPEND_EVENT_SQL, row[:5])
            conn.execute("COMMIT")
        figures[label] = time.perf_counter() - started
        conn.close()
        print(f"  {label:17} {figures[label]:6.2f} s  {writes / figures[label]:10,.0f} appends/s")
    ratio = figures["with positions"] / figures["before positions"]
    print(f"  ratio: append time with positions / before {ratio:.2f}x")


# ---------------------------------------------------------------------------- PostgreSQL


def url(dsn: str, **params: str) -> str:
    from urllib.parse import quote, urlencode

    from psycopg.conninfo import conninfo_to_dict

    merged = {key: str(value) for key, value in conninfo_to_dict(dsn).items()}
    merged.update(params)
    return "postgresql://?" + urlencode(merged, quote_via=quote)


def bench_postgres_reads(dsn: str, events: int, pages: list[int]) -> None:
    import psycopg

    from poolkit.stores.postgres import PostgresStore
    from poolkit.stores.postgres._records import FEED_SQL

    store = PostgresStore(dsn, schema="bench")
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        conn.execute("SET search_path TO bench")
        with conn.cursor() as cur:
            with cur.copy("COPY events (customer_id, seq, kind, at, body) FROM STDIN") as copy:
                for cid, seq, kind, _, body, at in event_rows(events):
                    copy.write_row((cid, seq, kind, at, body))
            with cur.copy("COPY feed (position, customer_id, seq) FROM STDIN") as copy:
                for position, (cid, seq, *_) in enumerate(event_rows(events), 1):
                    copy.write_row((position, cid, seq))
        conn.execute("UPDATE feed_head SET last = %s", (events,))
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE bench.events, bench.feed")
    print(f"PostgreSQL: {events:,} events loaded in {time.perf_counter() - started:.1f} s")
    service = PoolService(store, POLICY, ManualClock(START))
    raw = psycopg.connect(dsn, autocommit=True)
    raw.execute("SET search_path TO bench")
    # The store's own statement, with the documents fetched as text (not parsed).
    feed_sql = FEED_SQL.replace("e.body", "e.body::text")

    def poolkit(after: int, page: int) -> tuple[int, int]:
        found = service.events_since(after, limit=page)
        return len(found), found[-1].position if found else after

    def floor(after: int, page: int) -> tuple[int, int]:
        rows = raw.execute(feed_sql, (after, page)).fetchall()
        return len(rows), rows[-1][0] if rows else after

    def floor_json(after: int, page: int) -> tuple[int, int]:
        rows = raw.execute(feed_sql, (after, page)).fetchall()
        for row in rows:
            documents.loads(row[1])
        return len(rows), rows[-1][0] if rows else after

    for page in pages:
        report_reads("PostgreSQL", events, page, poolkit, floor, floor_json)
    raw.close()
    store.close()


def pg_writer(
    dsn: str, name: str, writes: int, numbered: bool, ready: Any, go: Any, done: Any
) -> None:
    from poolkit.stores.postgres import PostgresStore
    from poolkit.stores.postgres._records import Events

    if not numbered:
        Events.number_appended = lambda self: None  # type: ignore[method-assign]
    store = PostgresStore(dsn, schema="writes", pool_size=1)
    with store.unit_of_work() as uow:  # connected before the clock starts
        uow.settings.get("warm")
    ready.put(name)
    go.wait()
    started = time.perf_counter()
    for number in range(writes):
        event = FollowedUp(
            customer_id=f"{name}-{number}",
            seq=1,
            at=START,
            actor_id="rep000",
            method=FollowUpKind.CALL,
        )
        with store.unit_of_work() as uow:
            uow.events.append(event)
            uow.commit()
    done.put(time.perf_counter() - started)
    store.close()


def bench_postgres_writes(dsn: str, writes: int, processes: list[int]) -> None:
    import psycopg

    from poolkit.stores.postgres import PostgresStore

    print(f"PostgreSQL: units of work of one appended event, {writes:,} per process")
    PostgresStore(dsn, schema="writes").close()
    context = multiprocessing.get_context("spawn")
    for count in processes:
        rates = {}
        for numbered in (False, True):
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("TRUNCATE writes.events")
            ready, go, done = context.Queue(), context.Event(), context.Queue()
            workers = [
                context.Process(
                    target=pg_writer, args=(dsn, f"p{i}", writes, numbered, ready, go, done)
                )
                for i in range(count)
            ]
            for worker in workers:
                worker.start()
            for _ in workers:
                ready.get(timeout=600)
            go.set()
            # Each worker times its own writes; the slowest sets the rate of them all.
            elapsed = max(done.get(timeout=600) for _ in workers)
            for worker in workers:
                worker.join()
            rates[numbered] = count * writes / elapsed
            label = "with positions" if numbered else "no positions"
            print(f"  {count} processes  {label:15} {rates[numbered]:8,.0f} events/s")
        ratio = rates[True] / rates[False]
        print(f"  {count} processes  ratio: rate with positions / without {ratio:.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, nargs="+", default=[500, 1000])
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--dsn", default=os.environ.get("POOLKIT_TEST_PG_DSN", ""))
    args = parser.parse_args(argv)
    print(f"documents parsed with {'orjson' if documents.fast() else 'json'}")
    with tempfile.TemporaryDirectory() as folder:
        bench_sqlite_reads(Path(folder), args.events, args.pages)
        bench_sqlite_writes(Path(folder), args.writes)
    if not args.dsn:
        print("PostgreSQL: not run (give --dsn or set POOLKIT_TEST_PG_DSN)")
        return
    import psycopg

    with psycopg.connect(args.dsn, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    dsn = url(args.dsn, dbname=DATABASE)
    try:
        bench_postgres_reads(dsn, args.events, args.pages)
        bench_postgres_writes(dsn, args.writes, args.processes)
    finally:
        with psycopg.connect(args.dsn, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
