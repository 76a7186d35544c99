"""Sweeps and claims on the PostgreSQL store, against raw psycopg SQL on the same server in
the same run.

Run:  eval "$(scripts/pg-test-server start)"
      python benchmarks/bench_postgres.py                    (10,000 due among 1,000,000)
      python benchmarks/bench_postgres.py --stored 100000    (quicker)
      scripts/pg-test-server stop "$POOLKIT_TEST_PG_DIR"

The server is ``--dsn`` (default: ``POOLKIT_TEST_PG_DSN``); the benchmark works in a
database of its own, ``poolkit_bench``, dropped at the end.

Sweep: ``--due`` private customers are due to drop among ``--stored``. The book is loaded
with COPY (documents made from real ones by substituting ids), then timed, from the same
starting state each time (the due customers are put back and the tables vacuumed):

- poolkit: 1, 2 and 4 processes each running ``PoolService.sweep`` at once (batches of 500,
  ``FOR UPDATE SKIP LOCKED``);
- the raw writes floor: as many processes, each looping over batches of the same
  ``SELECT ... FOR UPDATE SKIP LOCKED``, and writing for every row what a drop must write
  (the document and query columns, a ``dropped`` event, the owner as a related rep), with
  ``executemany`` (pipelined): no rules, no domain values, no per-row round trip.

Claims: ``--claimers`` 1, 4 and 8 processes, each a different rep claiming its own public
customers with ``PoolService.claim`` (one unit of work each: the policy's version, the rep,
the customer and its pool read ahead in one statement, the customer locked; the rep locked
and its holdings counted; the rep's claims of the window read; the event, the customer and
the feed's position written with the COMMIT), a day apart on each rep's clock, against two
raw floors from as many processes:

- raw updates: versioned single-row UPDATE transactions (the UPDATE, then COMMIT);
- raw claim writes: exactly the statements a poolkit claim sends (``CLAIM_TRIPS``: the
  store's own SQL, so the same tables, locks, checks and the feed's tail lock), with their
  parameters worked out beforehand, prepared and pipelined in the same two round trips,
  and no poolkit code in the timed loop. Before anything is timed, one poolkit claim is
  recorded and the run stops unless it sent exactly these statements and values.

So poolkit/raw claim writes is poolkit's own cost (its Python, in the claiming process),
and raw claim writes/raw updates what a claim must write and lock. A global lock would
keep the claims per second flat as processes are added.

Figures go to stdout; nothing is asserted. Compare the ratios, measured in the same run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import psycopg
from psycopg import errors as pg
from psycopg import generators, pq, sql
from psycopg.adapt import PyFormat, Transformer
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import set_json_loads

from poolkit import ManualClock, Policy, PoolService, Team
from poolkit.model.events import Claimed, Created
from poolkit.model.history import apply
from poolkit.policy import rules
from poolkit.stores import _documents as documents
from poolkit.stores._codec import encode
from poolkit.stores.postgres import PostgresStore
from poolkit.stores.postgres import _ahead as ahead
from poolkit.stores.postgres import _customers as customers_sql
from poolkit.stores.postgres import _records as records
from poolkit.stores.postgres import _wire as wire

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
SWEEP_AT = START + timedelta(days=20)
POLICY_DOC: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "drop_rules": [{"name": "stale-15", "kind": "no_follow_up", "days": 15}],
    "similarity": {"enabled": False},
    # A cap and a claim limit, as a CRM sets them, that the benchmark never reaches: every
    # claim locks its rep, counts the rep's holdings (one index read) and reads the rep's
    # claims of the window (a day apart: at most 7). Without them a claim counts nothing
    # and locks nothing but its customer.
    "caps": {"default": 100_000},
    "claim_limit": {"max_claims": 1_000, "window_days": 7},
}
POLICY = Policy.from_dict(POLICY_DOC)
REPS = 200
DATABASE = "poolkit_bench"
SWEEP_SCHEMA = "sweep"
CLAIM_SCHEMA = "claims"
BATCH = 500


def url(dsn: str, **params: str) -> str:
    from urllib.parse import quote, urlencode

    merged = {key: str(value) for key, value in conninfo_to_dict(dsn).items()}
    merged.update(params)
    return "postgresql://?" + urlencode(merged, quote_via=quote)


def team(reps: Iterable[str]) -> Team:
    members = sorted(reps)
    return Team.from_dict(
        {
            "reps": [{"id": "admin", "admin": True}] + [{"id": rep} for rep in members],
            "pools": [{"id": "main", "default": True, "members": members, "managers": ["admin"]}],
        }
    )


# ---------------------------------------------------------------------------- loading


def templates(taken: datetime, owner: str | None) -> tuple[str, str, dict[str, Any]]:
    """The stored document of customer c0000000 and of its Created event (taken at
    ``taken`` by ``owner``, public when None), and its schedule columns: every other
    customer's are these with the id, name, owner and phone digits substituted."""
    created = Created(
        customer_id="c0000000",
        seq=1,
        at=taken,
        actor_id="admin",
        name="Shop 0000000",
        pool_id="main",
        owner_id=owner,
        keys={"phone": "+8613800000000"},
        grade="C",
    )
    customer = apply(None, created)
    assert customer is not None
    schedule = rules.schedule(customer, POLICY)
    columns = {"drop_at": schedule.drop_at, "warn_at": schedule.warn_at, "next": schedule.next_at}
    return documents.dumps(encode(customer)), documents.dumps(encode(created)), columns


def substituted(text: str, cid: str, name: str, phone: str, owner: str | None) -> str:
    """A template document (of c0000000) made into the document of another customer."""
    text = text.replace("c0000000", cid).replace("Shop 0000000", name)
    text = text.replace("+8613800000000", phone)
    return text.replace('"rep000"', f'"{owner}"') if owner else text


def load(
    conn: psycopg.Connection[Any], schema: str, rows: Iterable[tuple[int, datetime, str | None]]
) -> int:
    """COPY customers (number, taken, owner) with their Created events and side rows."""
    cache: dict[tuple[datetime, str | None], tuple[str, str, dict[str, Any]]] = {}
    count = 0
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    with conn.cursor() as cur:
        with cur.copy(
            "COPY customers (id, status, owner_id, pool_id, grade, public_since, version, "
            "drop_at, warn_at, next_at, name, body) FROM STDIN"
        ) as customers:
            events: list[tuple[Any, ...]] = []
            keys: list[tuple[Any, ...]] = []
            for number, taken, owner in rows:
                key = (taken, "rep000" if owner else None)
                if key not in cache:
                    cache[key] = templates(taken, key[1])
                body, event, columns = cache[key]
                cid, name, phone = f"c{number:07d}", f"Shop {number:07d}", f"+86138{number:08d}"

                def fill(text: str) -> str:
                    return substituted(text, cid, name, phone, owner)  # noqa: B023

                customers.write_row(
                    (
                        cid,
                        "private" if owner else "public",
                        owner,
                        "main",
                        "C",
                        None if owner else taken,
                        1,
                        columns["drop_at"],
                        columns["warn_at"],
                        columns["next"],
                        name,
                        fill(body),
                    )
                )
                events.append((cid, 1, "created", taken, fill(event)))
                keys.append(("phone", phone, cid))
                count += 1
        with cur.copy("COPY events (customer_id, seq, kind, at, body) FROM STDIN") as copy:
            for row in events:
                copy.write_row(row)
        with cur.copy("COPY customer_keys (kind, value, customer_id) FROM STDIN") as copy:
            for row in keys:
                copy.write_row(row)
    conn.commit()
    return count


def build_sweep_book(dsn: str, stored: int, due: int) -> None:
    started = time.perf_counter()
    with PostgresStore(dsn, schema=SWEEP_SCHEMA) as store:
        service = PoolService(store, POLICY, ManualClock(START))
        service.setup(team(f"rep{i:03d}" for i in range(REPS)))
    with psycopg.connect(dsn) as conn:
        load(
            conn,
            SWEEP_SCHEMA,
            (
                (n, START if n < due else START + timedelta(days=10), f"rep{n % REPS:03d}")
                for n in range(stored)
            ),
        )
        conn.execute(
            "CREATE TABLE due_backup AS SELECT * FROM customers WHERE next_at <= %s", (SWEEP_AT,)
        )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    print(f"  loaded {stored:,} customers ({due:,} due) in {time.perf_counter() - started:.1f} s")


def reset_sweep_book(dsn: str) -> None:
    """Put the due customers back as they were before any sweep, and vacuum."""
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(SWEEP_SCHEMA)))
        conn.execute("DELETE FROM events WHERE seq > 1")
        conn.execute("DELETE FROM customer_related")
        conn.execute("DELETE FROM customers WHERE id IN (SELECT id FROM due_backup)")
        conn.execute("INSERT INTO customers SELECT * FROM due_backup")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE customers, events, customer_related")


# ---------------------------------------------------------------------------- sweeps


def poolkit_sweeper(dsn: str, go: Any, done: Any) -> None:
    with PostgresStore(dsn, schema=SWEEP_SCHEMA) as store:
        service = PoolService(store, POLICY, ManualClock(SWEEP_AT), sweep_batch=BATCH)
        go.wait()
        report = service.sweep(SWEEP_AT)
        done.put(len(report.dropped))


REASON = "no follow-up for 15 days, rule 'stale-15'"


def raw_sweeper(dsn: str, go: Any, done: Any) -> None:
    """The writes a drop needs, by hand, batch after batch, until nothing is left."""
    stamp = SWEEP_AT.isoformat()
    dropped = 0
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(SWEEP_SCHEMA)))
        conn.commit()
        go.wait()
        while True:
            rows = conn.execute(
                "SELECT id, version, owner_id FROM customers WHERE next_at <= %s "
                "ORDER BY next_at, id LIMIT %s FOR UPDATE SKIP LOCKED",
                (SWEEP_AT, BATCH),
            ).fetchall()
            if not rows:
                conn.commit()
                break
            with conn.cursor() as cur:
                cur.executemany(
                    "UPDATE customers SET status = 'public', owner_id = NULL, "
                    "public_since = %(at)s, drop_at = NULL, warn_at = NULL, next_at = NULL, "
                    "version = %(v)s + 1, body = %(body)s WHERE id = %(id)s AND version = %(v)s",
                    [
                        {
                            "at": SWEEP_AT,
                            "v": version,
                            "id": cid,
                            "body": documents.dumps(
                                {
                                    "id": cid,
                                    "status": "public",
                                    "version": version + 1,
                                    "related_reps": {owner: stamp},
                                    "public_since": stamp,
                                }
                            ),
                        }
                        for cid, version, owner in rows
                    ],
                )
                cur.executemany(
                    "INSERT INTO events (customer_id, seq, kind, at, body) "
                    "VALUES (%s, %s, 'dropped', %s, %s)",
                    [
                        (
                            cid,
                            version + 1,
                            SWEEP_AT,
                            documents.dumps(
                                {
                                    "kind": "dropped",
                                    "customer_id": cid,
                                    "seq": version + 1,
                                    "at": stamp,
                                    "rep_id": owner,
                                    "rule": "stale-15",
                                    "reason": REASON,
                                }
                            ),
                        )
                        for cid, version, owner in rows
                    ],
                )
                cur.executemany(
                    "INSERT INTO customer_related (rep_id, customer_id) VALUES (%s, %s)",
                    [(owner, cid) for cid, _, owner in rows],
                )
            conn.commit()
            dropped += len(rows)
    done.put(dropped)


def raw_row_sweeper(dsn: str, go: Any, done: Any) -> None:
    """The same writes as raw_sweeper, one statement and one round trip at a time (the
    event, then the customer with its related rep), as poolkit sent them before it
    pipelined the writes of the rows it holds locked."""
    stamp = SWEEP_AT.isoformat()
    dropped = 0
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(SWEEP_SCHEMA)))
        conn.commit()
        go.wait()
        while True:
            rows = conn.execute(
                "SELECT id, version, owner_id FROM customers WHERE next_at <= %s "
                "ORDER BY next_at, id LIMIT %s FOR UPDATE SKIP LOCKED",
                (SWEEP_AT, BATCH),
            ).fetchall()
            if not rows:
                conn.commit()
                break
            for cid, version, owner in rows:
                event = {"kind": "dropped", "customer_id": cid, "seq": version + 1, "at": stamp}
                conn.execute(
                    "INSERT INTO events (customer_id, seq, kind, at, body) "
                    "VALUES (%s, %s, 'dropped', %s, %s)",
                    (cid, version + 1, SWEEP_AT, documents.dumps(event)),
                )
                body = {"id": cid, "status": "public", "related_reps": {owner: stamp}}
                conn.execute(
                    "WITH u AS (UPDATE customers SET status = 'public', owner_id = NULL, "
                    "public_since = %(at)s, drop_at = NULL, warn_at = NULL, next_at = NULL, "
                    "version = %(v)s + 1, body = %(body)s WHERE id = %(id)s AND version = %(v)s "
                    "RETURNING id) INSERT INTO customer_related (rep_id, customer_id) "
                    "SELECT %(owner)s, id FROM u",
                    {
                        "at": SWEEP_AT,
                        "v": version,
                        "id": cid,
                        "owner": owner,
                        "body": documents.dumps(body),
                    },
                )
            conn.commit()
            dropped += len(rows)
    done.put(dropped)


def timed(target: Callable[..., None], workers: int, *args: Any) -> tuple[float, list[int]]:
    """Start ``workers`` processes running ``target(*args, go, done)``, release them at once,
    and time until the last reports."""
    context = multiprocessing.get_context("spawn")
    go, done = context.Event(), context.Queue()
    processes = [context.Process(target=target, args=(*args, go, done)) for _ in range(workers)]
    for process in processes:
        process.start()
    time.sleep(1.0 + 0.5 * workers)  # let every worker connect and be ready
    started = time.perf_counter()
    go.set()
    counts = [done.get(timeout=3600) for _ in processes]
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join()
    return elapsed, counts


def bench_sweeps(dsn: str, stored: int, due: int, workers: list[int]) -> None:
    print(f"Sweep: {due:,} due among {stored:,} stored (PostgreSQL, batches of {BATCH})")
    build_sweep_book(dsn, stored, due)
    print(
        "  workers   poolkit s   raw pipelined s   raw per row s   ratio to each"
        "   poolkit drops/s   drops per worker"
    )
    for count in workers:
        figures = []
        for sweeper in (poolkit_sweeper, raw_sweeper, raw_row_sweeper):
            reset_sweep_book(dsn)
            elapsed, dropped = timed(sweeper, count, dsn)
            assert sum(dropped) == due, (sweeper.__name__, dropped)
            figures.append((elapsed, dropped))
        (ours, split), (piped, _), (per_row, _) = figures
        print(
            f"  {count:7d}   {ours:9.2f}   {piped:15.2f}   {per_row:13.2f}   "
            f"{ours / piped:5.2f} {ours / per_row:5.2f}   {due / ours:15,.0f}   {sorted(split)}"
        )


# ---------------------------------------------------------------------------- claims


def build_claim_book(dsn: str, processes: int, claims: int) -> None:
    with PostgresStore(dsn, schema=CLAIM_SCHEMA) as store:
        PoolService(store, POLICY, ManualClock(START)).setup(
            team(f"claimer{i}" for i in range(processes))
        )
    with psycopg.connect(dsn) as conn:
        load(conn, CLAIM_SCHEMA, ((n, START, None) for n in range(processes * claims)))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


def reset_claim_book(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(CLAIM_SCHEMA)))
        conn.execute("DELETE FROM events WHERE seq > 1")
        conn.execute("DELETE FROM claims")
        conn.execute(
            "UPDATE customers SET status = 'public', owner_id = NULL, version = 1, "
            "body = (SELECT body FROM events e WHERE e.customer_id = customers.id AND seq = 1)"
            " WHERE version > 1"
        )
        conn.commit()
    # The Created event's document is not the customer's; rebuild them properly.
    with PostgresStore(dsn, schema=CLAIM_SCHEMA) as store, store.unit_of_work() as uow:
        for customer_id in [c for c in uow.customers.ids()]:
            history = uow.events.history(customer_id)
            customer = apply(None, history[0])
            assert customer is not None
            uow._execute(
                "UPDATE customers SET body = %s WHERE id = %s",
                (documents.dumps(encode(customer)), customer_id),
            )
        uow.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("VACUUM ANALYZE {}.customers").format(sql.Identifier(CLAIM_SCHEMA)))


def mine(index: int, processes: int, claims: int) -> list[str]:
    """The customers claimer ``index`` claims: every ``processes``-th one."""
    return [f"c{n:07d}" for n in range(index, processes * claims, processes)]


def poolkit_claimer(
    dsn: str, index: int, processes: int, claims: int, go: Any, done: Any, release: Any
) -> None:
    with PostgresStore(dsn, schema=CLAIM_SCHEMA) as store:
        clock = ManualClock(START + timedelta(hours=1))
        service = PoolService(store, POLICY, clock)
        targets = mine(index, processes, claims)
        go.wait()
        cpu = cpu_s(os.getpid()) or time.process_time()
        for customer_id in targets:
            service.claim(f"claimer{index}", customer_id)
            # A day between a rep's claims, as in real use: every claim reads the rep's
            # claims of the last week, and 200 claims in one week would time that read.
            clock.advance(days=1)
        done.put((len(targets), (cpu_s(os.getpid()) or time.process_time()) - cpu))
        release.wait()  # connected until the server's CPU time is read


def raw_claimer(
    dsn: str, index: int, processes: int, claims: int, go: Any, done: Any, release: Any
) -> None:
    rep = f"claimer{index}"
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(CLAIM_SCHEMA)))
        conn.commit()
        targets = mine(index, processes, claims)
        go.wait()
        cpu = cpu_s(os.getpid()) or time.process_time()
        for customer_id in targets:
            updated = conn.execute(
                "UPDATE customers SET status = 'private', owner_id = %s, version = version + 1 "
                "WHERE id = %s AND version = %s",
                (rep, customer_id, 1),
            ).rowcount
            assert updated == 1
            conn.commit()
        done.put((len(targets), (cpu_s(os.getpid()) or time.process_time()) - cpu))
        release.wait()  # connected until the server's CPU time is read


# The statements of a claim, as poolkit's PostgreSQL store sends them (for a public
# customer whose pool lets the rep claim, with a cap and a claim limit, as POLICY sets):
# its two round trips, each a list of (statement, its parameters by name).
CLAIM_TRIPS: tuple[tuple[tuple[str, bytes | str], ...], ...] = (
    (("read ahead", ahead.READ_TO_CHANGE_SQL), ("counts", ahead.COUNTS_SQL[True, True])),
    (
        ("event", records.CHECKED_CLAIM_SQL),
        ("customer", customers_sql._update_sql((), True)),
        ("feed", records.ASSIGN_POSITIONS_SQL),
    ),
)
SETTINGS = ["policy.schedules", "policy.version"]


def claim_params(rep: str, number: int, at: datetime) -> tuple[dict[str, Any], ...]:
    """The parameters of the statements of CLAIM_TRIPS for ``rep`` claiming customer
    ``number`` at ``at``: worked out with poolkit's own values (the customer as loaded, the
    Claimed event applied to it, its schedule), before anything is timed."""
    cid = f"c{number:07d}"
    created = Created(
        customer_id=cid,
        seq=1,
        at=START,
        actor_id="admin",
        name=f"Shop {number:07d}",
        pool_id="main",
        keys={"phone": f"+86138{number:08d}"},
        grade="C",
    )
    claimed = Claimed(customer_id=cid, seq=2, at=at, actor_id=rep, rep_id=rep, pool_id="main")
    before = apply(None, created)
    assert before is not None
    customer = apply(before, claimed)
    assert customer is not None
    schedule = rules.schedule(customer, POLICY)
    return (
        {
            "customers": [cid],
            "reps": [rep],
            "lock_reps": [rep],
            "settings": SETTINGS,
        },
        {"rep": rep, "since": rules.claim_window_start(at, POLICY)},
        {
            "customer_id": cid,
            "seq": 2,
            "kind": claimed.kind,
            "at": at,
            "body": documents.dumps(encode(claimed)),
            "rep_id": rep,
        },
        # The customer's row as the store's update sends it (a claim changes no side table).
        {**customers_sql._params(customer, schedule, ()), "expected": 1},
        {"count": 1, "customer_ids": [cid], "seqs": [2]},
    )


def check_claim_trips(dsn: str) -> None:
    """Claim customer 0 as claimer0 with poolkit, recording what its store sends, and
    stop unless that is CLAIM_TRIPS with claim_params' values: the raw claim writes must be
    the claim's own. (The book is reset before anything is timed.)"""
    sent: list[tuple[bool, bool, list[tuple[Any, Any]]]] = []
    run = wire.run

    def recorded(conn: Any, statements: Any, *, begin: bool, commit: bool) -> Any:
        sent.append((begin, commit, [(query, _sorted(params)) for query, params in statements]))
        return run(conn, statements, begin=begin, commit=commit)

    at = START + timedelta(hours=1)
    with PostgresStore(dsn, schema=CLAIM_SCHEMA) as store:
        service = PoolService(store, POLICY, ManualClock(at))
        service.claim("claimer0", "c0000000")  # the statements of the first use
        wire.run = recorded
        try:
            service.claim("claimer0", "c0000001")
        finally:
            wire.run = run
    params = iter(claim_params("claimer0", 1, at))
    expected = [
        (first, last, [(query, next(params)) for _, query in trip])
        for first, last, trip in ((True, False, CLAIM_TRIPS[0]), (False, True, CLAIM_TRIPS[1]))
    ]
    if sent != expected:
        sys.exit(f"poolkit's claim no longer sends CLAIM_TRIPS (update them):\n{sent}")


def _sorted(params: dict[str, Any]) -> dict[str, Any]:
    # The store reads the settings it reads in this process, in the order of a set.
    if "settings" in params:
        return {**params, "settings": sorted(params["settings"])}
    return dict(params)


class _Prepared(NamedTuple):
    name: bytes
    names: tuple[str, ...]
    """The parameters' names, in ``$n`` order."""
    formats: tuple[PyFormat, ...]


def raw_claim_writer(
    dsn: str, index: int, processes: int, claims: int, go: Any, done: Any, release: Any
) -> None:
    """A claim's statements (CLAIM_TRIPS, the store's own SQL, so the same locks, checks
    and the feed's tail lock) with their parameters worked out beforehand, sent as the
    store sends them: prepared once, queued in libpq's pipeline mode, each round trip one
    write and one Sync (BEGIN with the reads; the writes with the COMMIT)."""
    rep = f"claimer{index}"
    at = START + timedelta(hours=1)
    planned = []
    for number in range(index, processes * claims, processes):
        planned.append(claim_params(rep, number, at))
        at += timedelta(days=1)
    with psycopg.connect(dsn) as conn:
        set_json_loads(documents.loads, conn)
        conn.execute(
            sql.SQL("SET search_path TO {}; SET TimeZone TO 'UTC'").format(
                sql.Identifier(CLAIM_SCHEMA)
            )
        )
        conn.commit()
        pgconn, tx = conn.pgconn, Transformer(conn)
        trips: list[list[_Prepared]] = []
        for trip, params in zip(CLAIM_TRIPS, (planned[0][:2], planned[0][2:]), strict=True):
            prepared = []
            for (label, query), values in zip(trip, params, strict=True):
                statement = wire.converted(query, conn)
                assert statement.names is not None
                tx.dump_sequence([values[name] for name in statement.names], statement.formats)
                name = f"raw_{label.replace(' ', '_')}".encode()
                pgconn.prepare(name, statement.text, param_types=list(tx.types or ()))
                prepared.append(_Prepared(name, statement.names, statement.formats))
            trips.append(prepared)
        go.wait()
        cpu = cpu_s(os.getpid()) or time.process_time()
        for params in planned:
            _trip(conn, tx, trips[0], params[:2], begin=True, commit=False)
            _trip(conn, tx, trips[1], params[2:], begin=False, commit=True)
        done.put((len(planned), (cpu_s(os.getpid()) or time.process_time()) - cpu))
        release.wait()  # connected until the server's CPU time is read


def _trip(
    conn: psycopg.Connection[Any],
    tx: Transformer,
    statements: list[_Prepared],
    params: Iterable[dict[str, Any]],
    *,
    begin: bool,
    commit: bool,
) -> None:
    """One round trip: BEGIN if ``begin``, the prepared ``statements``, COMMIT if ``commit``,
    in one pipeline; every row read is loaded, and any error raised."""
    pgconn = conn.pgconn
    pgconn.enter_pipeline_mode()
    if begin:
        pgconn.send_query_params(b"BEGIN ISOLATION LEVEL READ COMMITTED", None)
    for statement, values in zip(statements, params, strict=True):
        dumped = tx.dump_sequence([values[name] for name in statement.names], statement.formats)
        pgconn.send_query_prepared(statement.name, dumped, param_formats=list(tx.formats or ()))
    if commit:
        pgconn.send_query_params(b"COMMIT", None)
    pgconn.pipeline_sync()
    conn.wait(generators.send(pgconn))
    for _ in range(len(statements) + begin + commit):
        for result in conn.wait(generators.fetch_many(pgconn)):
            if result.status == pq.ExecStatus.FATAL_ERROR:
                raise pg.error_from_result(result, encoding=conn.info.encoding)
            if result.status == pq.ExecStatus.TUPLES_OK and result.ntuples:
                tx.set_pgresult(result)
                tx.load_rows(0, result.ntuples, tuple)
    synced = conn.wait(generators.fetch_many(pgconn))
    assert synced and synced[-1].status == pq.ExecStatus.PIPELINE_SYNC
    pgconn.exit_pipeline_mode()


def cpu_s(pid: int) -> float | None:
    """The CPU time process ``pid`` used so far, all its threads, from the scheduler's own
    count in /proc (``schedstat``, in nanoseconds): exact where ``utime`` and ``stime`` are
    counted by the clock tick (as on this virtual machine, where a process that runs in
    short bursts is charged whole ticks or nothing). None where it cannot be read."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        total = 0
        for task in tasks:
            with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as stat:
                total += int(stat.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e9


def _ticks_s(pid: int) -> float | None:
    """The CPU time of ``pid`` by the clock tick (``utime`` and ``stime``), None if gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            text = stat.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # fields 14, 15


def server_cpu_s(dsn: str) -> float | None:
    """The CPU time used so far by the server's processes (its backends and background
    workers, as ``pg_stat_activity`` lists them), from /proc; None where it cannot be read
    (no /proc, or a server on another machine)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        pids = [int(pid) for (pid,) in conn.execute("SELECT pid FROM pg_stat_activity")]
    if not os.path.isdir("/proc"):
        return None
    total = 0.0
    for pid in pids:
        used = cpu_s(pid)
        if used is None:
            used = _ticks_s(pid)
        if used is None and os.path.exists(f"/proc/{pid}"):
            return None  # there, but not readable (another machine's pid, or no rights)
        total += used or 0.0  # None: ended meanwhile (an autovacuum worker, say)
    return total


class ClaimRun(NamedTuple):
    per_s: float
    client_cpu_us: float
    """CPU time of the claiming processes, per claim."""
    server_cpu_us: float | None
    """CPU time of the PostgreSQL server (every process of it), per claim."""


def timed_claims(target: Callable[..., None], dsn: str, processes: int, claims: int) -> ClaimRun:
    context = multiprocessing.get_context("spawn")
    go, done, release = context.Event(), context.Queue(), context.Event()
    workers = [
        context.Process(target=target, args=(dsn, index, processes, claims, go, done, release))
        for index in range(processes)
    ]
    for worker in workers:
        worker.start()
    time.sleep(1.0 + 0.5 * processes)
    server = server_cpu_s(dsn)
    started = time.perf_counter()
    go.set()
    reports = [done.get(timeout=3600) for _ in workers]
    elapsed = time.perf_counter() - started
    server_after = server_cpu_s(dsn)
    release.set()
    for worker in workers:
        worker.join()
    total = sum(count for count, _ in reports)
    client = sum(cpu for _, cpu in reports)
    server_us = (
        None if server is None or server_after is None else (server_after - server) / total * 1e6
    )
    return ClaimRun(total / elapsed, client / total * 1e6, server_us)


def bench_claims(dsn: str, counts: list[int], claims: int) -> None:
    most = max(counts)
    print(f"Claims: {claims} per process, each process a different rep (PostgreSQL)")
    build_claim_book(dsn, most, claims)
    check_claim_trips(dsn)
    print(
        "  processes   poolkit claims/s   raw updates/s   raw claim writes/s"
        "   poolkit/update   poolkit/claim writes   claim writes/update"
        "   CPU us per claim, client+server: poolkit   raw update   raw claim writes"
    )
    for processes in counts:
        runs = []
        for claimer in (poolkit_claimer, raw_claimer, raw_claim_writer):
            reset_claim_book(dsn)
            runs.append(timed_claims(claimer, dsn, processes, claims))
        ours, raw, writes = runs
        print(
            f"  {processes:9d}   {ours.per_s:16,.0f}   {raw.per_s:13,.0f}   {writes.per_s:18,.0f}"
            f"   {ours.per_s / raw.per_s:14.2f}   {ours.per_s / writes.per_s:20.2f}"
            f"   {writes.per_s / raw.per_s:19.2f}   {_cpu(ours):>40}   {_cpu(raw):>10}"
            f"   {_cpu(writes):>16}"
        )
    print(
        "  (raw claim writes: the statements a poolkit claim sends, the same SQL with the same "
        "locks, in the same two round trips, without poolkit's Python)"
    )
    print(
        f"  (this machine has {os.cpu_count()} cores: once the processes outnumber them, the "
        "rates are bounded by the CPU a claim costs, client and server together)"
    )


def _cpu(run: ClaimRun) -> str:
    server = "?" if run.server_cpu_us is None else f"{run.server_cpu_us:,.0f}"
    return f"{run.client_cpu_us:,.0f}+{server}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("POOLKIT_TEST_PG_DSN", ""))
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--sweepers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--claimers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--claims", type=int, default=200, help="claims per process")
    args = parser.parse_args(argv)
    if not args.dsn:
        sys.exit("give --dsn or set POOLKIT_TEST_PG_DSN (scripts/pg-test-server start)")
    with psycopg.connect(args.dsn, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    dsn = url(args.dsn, dbname=DATABASE)
    try:
        bench_sweeps(dsn, args.stored, args.due, args.sweepers)
        bench_claims(dsn, args.claimers, args.claims)
    finally:
        with psycopg.connect(args.dsn, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()
