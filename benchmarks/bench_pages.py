"""A page of a big public pool, against raw SQL on the same database in the same run.

Run:  python benchmarks/bench_pages.py                       (1,000,000 public customers)
      python benchmarks/bench_pages.py --stored 100000        (quicker)
      scripts/pg-test-server run -- python benchmarks/bench_pages.py   (also PostgreSQL)

One public pool holds ``--stored`` customers (SQLite; and PostgreSQL when ``--dsn`` or
``POOLKIT_TEST_PG_DSN`` names a server). The book is loaded straight into the customers
table: each row is a real customer's row (``customer_row``, the store's own insert), made
from one template document by substituting id, name and time; no events, keys or side rows,
as a page reads none of them. Names are a permutation of the ids, so sorting by name is not
sorting by id.

Timed, each the median of ``--reads`` reads, for the sorts by entry and by name:

- ``PoolService.public_pool_page(..., limit=50, with_total=False)``: the first page, and a
  deep page (its cursor at 90% of the pool);
- the raw floor: the same keyset SELECT of ``id, body`` by hand on the driver, rows fetched,
  nothing decoded;
- ``OFFSET``, the way pages are often written, for the deep page: what a keyset avoids;
- the total (``count_matching``) against a raw ``count(*)``.

Figures go to stdout; nothing is asserted. Compare the ratios, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from poolkit import CustomerOrder, ManualClock, Policy, PoolService, Team
from poolkit.model.customer import Customer, CustomerStatus
from poolkit.ports import CustomerQuery, Position, Schedule, Store
from poolkit.service import _cursor
from poolkit.stores import _documents as documents
from poolkit.stores._codec import encode
from poolkit.stores.sql.converters import json_text
from poolkit.stores.sql.dialect import SQLITE
from poolkit.stores.sql.rows import CUSTOMER_COLUMNS, customer_row
from poolkit.stores.sqlite import SqliteStore
from poolkit.stores.sqlite.repositories import SQL

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
POLICY = Policy.from_dict({"timezone": "Asia/Shanghai", "similarity": {"enabled": False}})
TEAM = Team.from_dict(
    {
        "reps": [{"id": "admin", "admin": True}, {"id": "alice"}],
        "pools": [{"id": "main", "default": True, "members": ["alice"]}],
    }
)
PAGE = 50
# The query public_pool_page makes of the pool with no filter (its cursors name it).
QUERY = CustomerQuery(status=CustomerStatus.PUBLIC, pool_ids=frozenset({"main"}))
RAW = {CustomerOrder.ENTERED: "entered_at", CustomerOrder.NAME: "name"}


def template() -> tuple[str, Customer]:
    customer = Customer(
        id="c0000000",
        name="Shop 0000000",
        pool_id="main",
        created_at=START,
        public_since=START,
        creator_id="admin",
        version=1,
    )
    return json_text(customer), customer


def book(stored: int) -> Iterator[tuple[str, str, datetime]]:
    """(id, name, entered) of each customer: names a permutation of the ids (a prime
    stride), entries spread over a month with ties."""
    stride = 7919 if stored % 7919 else 7907
    for number in range(stored):
        yield (
            f"c{number:07d}",
            f"Shop {(number * stride) % stored:07d}",
            START + timedelta(seconds=(number * 37) % (30 * 86400)),
        )


def medians_ms(runs: list[Callable[[], object]], reads: int) -> list[float]:
    """The median time of each of ``runs``, taken in turn, read after read: a burst of
    load on the machine falls on all of them alike, not on one."""
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(reads):
        for run, taken in zip(runs, times, strict=True):
            started = time.perf_counter()
            run()
            taken.append((time.perf_counter() - started) * 1000)
    return [statistics.median(taken) for taken in times]


def median_ms(run: Callable[[], object], reads: int) -> float:
    times = []
    for _ in range(reads):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def service_on(store: Store) -> PoolService:
    service = PoolService(store, POLICY, ManualClock(START))
    service.setup(TEAM)
    return service


def deep_cursor(position: Position, order: CustomerOrder) -> str:
    """The cursor a walk would hold at ``position`` (the benchmark makes it rather than
    walking 18,000 pages to it)."""
    list_id = _cursor.listing(f"public\x1f{QUERY!r}")
    return _cursor.encode(list_id, f"{order.value}:asc", position.value, position.customer_id)


# ---------------------------------------------------------------------------- SQLite


def load_sqlite(path: Path, stored: int) -> None:
    import sqlite3

    body, customer = template()
    base = list(customer_row(customer, Schedule(), SQLITE))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    name_at, entered_at, body_at, since_at = (
        CUSTOMER_COLUMNS.index(column) for column in ("name", "entered_at", "body", "public_since")
    )
    rows = []
    for cid, name, entered in book(stored):
        micros = int(entered.timestamp() * 1_000_000)
        row = list(base)
        row[-1], row[name_at], row[entered_at], row[since_at] = cid, name, micros, micros
        row[body_at] = (
            body.replace("c0000000", cid)
            .replace("Shop 0000000", name)
            .replace(encode(customer)["public_since"], entered.isoformat())
        )
        rows.append(row)
        if len(rows) == 20000:
            conn.executemany(SQL.insert_customer, rows)
            rows.clear()
    conn.executemany(SQL.insert_customer, rows)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def bench_sqlite(stored: int, reads: int) -> None:
    import sqlite3

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pages.db"
        with SqliteStore(path) as store:
            service_on(store)
        started = time.perf_counter()
        load_sqlite(path, stored)
        print(
            f"SQLite: {stored:,} public customers loaded in {time.perf_counter() - started:.1f} s"
        )
        raw = sqlite3.connect(path)
        with SqliteStore(path) as store:
            service = service_on(store)
            report(
                "SQLite",
                service,
                lambda sql, params: raw.execute(sql, params).fetchall(),
                "?",
                stored,
                reads,
                explain=lambda sql, params: " / ".join(
                    str(row[-1]) for row in raw.execute("EXPLAIN QUERY PLAN " + sql, params)
                ),
            )
        raw.close()


# ---------------------------------------------------------------------------- PostgreSQL


def bench_postgres(dsn: str, stored: int, reads: int) -> None:
    import psycopg
    from psycopg import sql

    from poolkit.stores.postgres import PostgresStore

    schema = "bench_pages"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    with PostgresStore(dsn, schema=schema) as store:
        service_on(store)
    body, customer = template()
    since = encode(customer)["public_since"]
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY customers (id, status, owner_id, pool_id, grade, public_since, version, "
                "drop_at, warn_at, next_at, name, body, entered_at) FROM STDIN"
            ) as copy,
        ):
            for cid, name, entered in book(stored):
                document = (
                    body.replace("c0000000", cid)
                    .replace("Shop 0000000", name)
                    .replace(since, entered.isoformat())
                )
                copy.write_row(
                    (
                        cid,
                        "public",
                        None,
                        "main",
                        None,
                        entered,
                        1,
                        None,
                        None,
                        None,
                        name,
                        document,
                        entered,
                    )
                )
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("VACUUM ANALYZE {}.customers").format(sql.Identifier(schema)))
    print(
        f"PostgreSQL: {stored:,} public customers loaded in {time.perf_counter() - started:.1f} s"
    )
    raw = psycopg.connect(dsn, autocommit=True)
    raw.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    try:
        with PostgresStore(dsn, schema=schema) as store:
            service = service_on(store)
            report(
                "PostgreSQL",
                service,
                lambda text, params: raw.execute(text, params).fetchall(),  # type: ignore[arg-type]
                "%s",
                stored,
                reads,
                collate=' COLLATE "C"',
            )
    finally:
        raw.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


# ---------------------------------------------------------------------------- figures


def report(
    label: str,
    service: PoolService,
    raw: Callable[[str, list[Any]], list[Any]],
    mark: str,
    stored: int,
    reads: int,
    collate: str = "",
    explain: Callable[[str, list[Any]], str] | None = None,
) -> None:
    plans: list[str] = []
    where = f"status = 'public' AND pool_id = {mark}"
    deep_index = min(stored * 9 // 10, stored - PAGE - 1)  # a full page after it
    print(f"\n{label}: a page of {PAGE} of {stored:,}, median of {reads} reads (ms)")
    print("  sort      page      poolkit      raw  +json   ratio  ratio+json   OFFSET")
    for order, column in RAW.items():
        sort = column + (collate if order is CustomerOrder.NAME else "")
        deep_at = raw(
            f"SELECT {column}, id FROM customers WHERE {where} "
            f"ORDER BY {sort}, id LIMIT 1 OFFSET {mark}",
            ["main", deep_index],
        )[0]
        value = deep_at[0]
        if order is CustomerOrder.ENTERED and isinstance(value, int):
            value = datetime.fromtimestamp(value / 1_000_000, UTC)
        cursor = deep_cursor(Position(value, deep_at[1]), order)
        first = service.public_pool_page("main", order=order, with_total=False, limit=PAGE)
        deep = service.public_pool_page(
            "main", order=order, cursor=cursor, with_total=False, limit=PAGE
        )
        assert len(first.items) == len(deep.items) == PAGE
        assert deep.items[0].id != first.items[0].id
        select = f"SELECT id, body FROM customers WHERE {where}"
        pages = {
            "first": (
                None,
                f"{select} ORDER BY {sort}, id LIMIT {mark}",
                ["main", PAGE],
            ),
            "at 90%": (
                cursor,
                f"{select} AND ({sort}, id) > ({mark}, {mark}) ORDER BY {sort}, id LIMIT {mark}",
                ["main", deep_at[0], deep_at[1], PAGE],
            ),
        }
        for page, (start, floor, params) in pages.items():
            if explain is not None and start is not None:
                plans.append(f"  plan of the {order.value} page at 90%: {explain(floor, params)}")
            ours_ms, floor_ms, json_ms = medians_ms(
                [
                    partial(read_page, service, order, start),
                    partial(raw, floor, params),
                    partial(decoded, raw, floor, params),
                ],
                reads,
            )
            skip = "       -"
            if start is not None:
                offset = f"{select} ORDER BY {sort}, id LIMIT {mark} OFFSET {mark}"
                skip_ms = median_ms(
                    partial(raw, offset, ["main", PAGE, deep_index + 1]), max(3, reads // 20)
                )
                skip = f"{skip_ms:8.2f}"
            print(
                f"  {order.value:<8}  {page:<8} {ours_ms:8.2f} {floor_ms:8.2f} {json_ms:6.2f} "
                f"{ours_ms / floor_ms:6.1f}x {ours_ms / json_ms:10.1f}x {skip}"
            )
    count_reads = max(3, reads // 20)
    count = f"SELECT count(*) FROM customers WHERE {where}"
    ours_ms, floor_ms = medians_ms(
        [partial(count_page, service), partial(raw, count, ["main"])], count_reads
    )
    total = service.public_pool_page("main", limit=1).total
    assert total == stored, total
    print(
        f"  total ({total:,}): a page of 1 with its total {ours_ms:.2f} ms, raw count(*) "
        f"{floor_ms:.2f} ms, ratio {ours_ms / floor_ms:.1f}x"
    )
    for line in plans:
        print(line)


def read_page(service: PoolService, order: CustomerOrder, cursor: str | None) -> object:
    return service.public_pool_page("main", order=order, cursor=cursor, with_total=False)


def count_page(service: PoolService) -> object:
    return service.public_pool_page("main", limit=1, with_total=True)


def decoded(raw: Callable[[str, list[Any]], list[Any]], floor: str, params: list[Any]) -> object:
    """The raw page with each document parsed: what any reader of the rows pays (psycopg
    parses a json column itself)."""
    return [
        documents.loads(body) if isinstance(body, str) else body for _, body in raw(floor, params)
    ]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--dsn", default=os.environ.get("POOLKIT_TEST_PG_DSN"))
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args(argv)
    if args.stored < 2 * PAGE:
        parser.error(f"--stored must be at least {2 * PAGE}")
    if not args.no_sqlite:
        bench_sqlite(args.stored, args.reads)
    if args.dsn:
        bench_postgres(args.dsn, args.stored, args.reads)
    else:
        print("\nPostgreSQL: skipped (no --dsn, no POOLKIT_TEST_PG_DSN)")


if __name__ == "__main__":
    main(sys.argv[1:])
