"""Sweep and claim throughput on the SQLite store, against hand-written SQL floors.

Run:  python benchmarks/bench_sweep.py                      (100,000 and 1,000,000 stored)
      python benchmarks/bench_sweep.py --stored 20000 100000 (quicker)

For each stored size it builds a database in which ``--due`` private customers are due to
drop and the rest are not, then times, on identical copies of that file:

- poolkit's sweep (``PoolService.sweep``): reads the due customers through the indexed
  schedule, re-checks every rule, writes the drop and its event, batch by batch;
- the floor: one indexed SELECT of the same due rows and one versioned UPDATE of each,
  in one transaction, by hand. No events, no rules: the least any sweep could do;
- the writes floor: the same, plus what a sweep must write for each drop to keep its
  history (the document rewritten, a ``dropped`` event appended, the owner recorded as a
  related rep), still in hand-written SQL with no rules and no domain values. The gap
  between the two floors is what keeping a history costs in SQLite; the gap between this
  one and the sweep is what poolkit's own work costs.

It prints the three, the sweep's ratio to each floor, and its cost per dropped customer, so
the cost can be compared across stored sizes: it should follow the due work, not the
stored total.

Then claims: ``PoolService.claim`` one at a time (each its own unit of work, with its cap,
claim-limit and cooldown checks and its event) against the raw rate of single-row
versioned UPDATEs, each in its own transaction; and, in between, the very statements the
claims ran (recorded on a copy of the book) replayed by hand on another copy: what the
claims cost SQLite, without poolkit's Python. Last, the claims and the raw updates taken
turn about on one book, a block of 100 of each at a time, and the median of the blocks'
ratios: on a machine others share, a load that comes and goes moves it less than the ratio
of two runs one after the other.

Figures go to stdout; nothing is asserted. Wall time varies with the machine: compare the
ratios, which are measured in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _books import store_created

from poolkit import ManualClock, Policy, PoolService, Team
from poolkit.service.stored_policy import StoredPolicy, save
from poolkit.stores.sqlite import SqliteStore
from poolkit.stores.sqlite.unit_of_work import SqliteUnitOfWork

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
POLICY = Policy.from_dict(
    {
        "timezone": "Asia/Shanghai",
        "drop_rules": [{"name": "stale-15", "kind": "no_follow_up", "days": 15}],
    }
)
REPS = 200


def team() -> Team:
    reps = [{"id": "admin", "admin": True}] + [{"id": f"rep{i:03d}"} for i in range(REPS)]
    members = [rep["id"] for rep in reps[1:]]
    return Team.from_dict(
        {
            "reps": reps,
            "pools": [{"id": "main", "default": True, "members": members, "managers": ["admin"]}],
        }
    )


def build(path: Path, stored: int, due: int) -> datetime:
    """A database of ``stored`` private customers, ``due`` of them due at the returned time."""
    store = SqliteStore(path)
    service = PoolService(store, POLICY, ManualClock(START))
    service.setup(team())
    sweep_at = START + timedelta(days=20)
    started = time.perf_counter()
    with store.unit_of_work() as uow:
        for number in range(stored):
            # The first `due` were taken on day 0 (due on day 15); the rest on day 10 (due 25).
            taken = START if number < due else START + timedelta(days=10)
            store_created(
                uow,
                POLICY,
                customer_id=f"c{number:07d}",
                at=taken,
                name=f"Customer {number}",
                pool_id="main",
                owner_id=f"rep{number % REPS:03d}",
                keys={"phone": f"+86138{number:08d}"},
                grade="C",
            )
        # Every schedule above was computed with POLICY: version 1, schedules current.
        save(uow.settings, StoredPolicy(POLICY, 1, 1))
        uow.commit()
    store.close()
    print(f"  built {stored:,} customers in {time.perf_counter() - started:.1f} s")
    return sweep_at


Row = tuple[Any, ...]
RowWriter = Callable[[sqlite3.Connection, Row, datetime], None]


def by_hand(path: Path, at: datetime, due: int, columns: str, write: RowWriter) -> float:
    """Time, in one transaction, an indexed select of ``columns`` of the rows due at ``at``
    and ``write`` of each, in hand-written SQL."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    micros = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    rows = conn.execute(
        f"SELECT {columns} FROM customers WHERE next_at <= ? ORDER BY next_at, id LIMIT ?",
        (micros, due),
    ).fetchall()
    for row in rows:
        write(conn, row, at)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    assert len(rows) == due, len(rows)
    return elapsed


def sqlite_floor(path: Path, at: datetime, due: int) -> float:
    """A versioned update of each due row's query columns: the least any sweep could do."""

    def update(conn: sqlite3.Connection, row: Row, at: datetime) -> None:
        conn.execute(
            "UPDATE customers SET status = 'public', owner_id = NULL, next_at = NULL, "
            "version = version + 1 WHERE id = ? AND version = ?",
            row,
        )

    return by_hand(path, at, due, "id, version", update)


REASON = "no follow-up for 15 days since 2026-01-01 17:00 +08:00, rule 'stale-15'"


def write_floor(path: Path, at: datetime, due: int) -> float:
    """The sweep's writes, by hand: for each due row the document and query columns
    rewritten, a ``dropped`` event appended and the owner recorded as a related rep. No
    rules, no domain values: what the history costs in SQL alone."""
    micros = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    stamp = at.isoformat()

    def write(conn: sqlite3.Connection, row: Row, at: datetime) -> None:
        customer_id, version, owner_id = row
        conn.execute(
            "UPDATE customers SET status = 'public', owner_id = NULL, public_since = ?1, "
            "drop_at = NULL, warn_at = NULL, next_at = NULL, version = ?2 + 1, "
            "body = json_set(body, '$.status', 'public', '$.owner_id', NULL, "
            "'$.owned_since', NULL, '$.public_since', ?3, '$.version', ?2 + 1, "
            "'$.related_reps', json_object(?4, ?3)) "
            "WHERE id = ?5 AND version = ?2",
            (micros, version, stamp, owner_id, customer_id),
        )
        conn.execute(
            "INSERT INTO events (customer_id, seq, kind, at, body) VALUES (?1, ?2, 'dropped', "
            "?3, json_object('kind', 'dropped', 'customer_id', ?1, 'seq', ?2, 'at', ?4, "
            "'actor_id', NULL, 'rep_id', ?5, 'rule', 'stale-15', 'code', 'drop.no_follow_up', "
            "'due_at', ?4, 'reason', ?6))",
            (customer_id, version + 1, micros, stamp, owner_id, REASON),
        )
        conn.execute(
            "INSERT INTO customer_related (rep_id, customer_id) VALUES (?, ?)",
            (owner_id, customer_id),
        )

    return by_hand(path, at, due, "id, version, owner_id", write)


def poolkit_sweep(path: Path, at: datetime, due: int) -> float:
    store = SqliteStore(path)
    service = PoolService(store, POLICY, ManualClock(at))
    started = time.perf_counter()
    report = service.sweep(at)
    elapsed = time.perf_counter() - started
    assert len(report.dropped) == due, len(report.dropped)
    store.close()
    return elapsed


def remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def fresh_copy(base: Path, path: Path) -> Path:
    remove(path)
    shutil.copy(base, path)
    return path


def bench_sweeps(stored_sizes: list[int], due: int, workdir: Path) -> None:
    print(f"Sweep: {due:,} due customers among N stored (SQLite, WAL)")
    results: list[tuple[int, float, float, float]] = []
    for stored in stored_sizes:
        print(f"N = {stored:,}")
        base = workdir / f"sweep-{stored}.db"
        at = build(base, stored, due)
        floor = sqlite_floor(fresh_copy(base, workdir / "floor.db"), at, due)
        writes = write_floor(fresh_copy(base, workdir / "writes.db"), at, due)
        sweep = poolkit_sweep(base, at, due)
        results.append((stored, sweep, floor, writes))
        for path in (base, workdir / "floor.db", workdir / "writes.db"):
            remove(path)
    print()
    print(
        f"{'stored':>10} {'sweep s':>9} {'floor s':>9} {'ratio':>7} "
        f"{'writes s':>9} {'ratio':>7} {'us/drop':>9}"
    )
    for stored, sweep, floor, writes in results:
        per_drop = sweep / due * 1e6
        print(
            f"{stored:>10,} {sweep:>9.3f} {floor:>9.3f} {sweep / floor:>6.1f}x "
            f"{writes:>9.3f} {sweep / writes:>6.1f}x {per_drop:>9.0f}"
        )
    print(
        "floor: indexed select + versioned update of the due rows; writes: the same rows "
        "with the sweep's writes (document, event, related rep) in hand-written SQL"
    )
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(
            f"sweep cost at {last[0]:,} stored vs {first[0]:,}: {last[1] / first[1]:.2f}x "
            "(1.00x = independent of what is stored)"
        )


def claim_book(path: Path, claims: int) -> tuple[SqliteStore, PoolService]:
    """A store of ``claims + PAGED`` public customers and the service claiming them."""
    store = SqliteStore(path)
    service = PoolService(store, POLICY, ManualClock(START))
    service.setup(team())
    with store.unit_of_work() as uow:
        for number in range(claims + PAGED):
            store_created(
                uow,
                POLICY,
                customer_id=f"c{number:07d}",
                at=START,
                name=f"Customer {number}",
                pool_id="main",
                keys={"phone": f"+86138{number:08d}"},
            )
        uow.commit()
    return store, service


def claim(service: PoolService, number: int) -> None:
    service.claim(f"rep{number % REPS:03d}", f"c{number:07d}")


def recorded_statements(path: Path, claims: int) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements (and parameters) the claims run, recorded on a copy of the book,
    as the unit of work sends them to SQLite."""
    statements: list[tuple[str, tuple[Any, ...]]] = []
    execute, run_on = SqliteUnitOfWork._execute, SqliteUnitOfWork._run_on

    def recorded_execute(uow: SqliteUnitOfWork, sql: str, params: Any = ()) -> Any:
        statements.append((sql, tuple(params)))
        return execute(uow, sql, params)

    def recorded_run_on(uow: SqliteUnitOfWork, conn: sqlite3.Connection, sql: str) -> None:
        statements.append((sql, ()))
        run_on(uow, conn, sql)

    store = SqliteStore(path)
    service = PoolService(store, POLICY, ManualClock(START))
    SqliteUnitOfWork._execute = recorded_execute  # type: ignore[method-assign]
    SqliteUnitOfWork._run_on = recorded_run_on  # type: ignore[method-assign]
    try:
        for number in range(claims):
            claim(service, number)
    finally:
        SqliteUnitOfWork._execute = execute  # type: ignore[method-assign]
        SqliteUnitOfWork._run_on = run_on  # type: ignore[method-assign]
        store.close()
    return statements


def bench_claims(workdir: Path, claims: int) -> None:
    print()
    print(f"Claims: {claims:,} single claims, each its own unit of work (SQLite, WAL)")
    path = workdir / "claims.db"
    store, service = claim_book(path, claims)
    store.close()
    # Identical copies before any claim: to record the claims' statements on, and to
    # replay them on by hand.
    recorded, replayed = fresh_copy(path, workdir / "recorded.db"), workdir / "replayed.db"
    fresh_copy(path, replayed)
    store = SqliteStore(path)
    service = PoolService(store, POLICY, ManualClock(START))
    started, cpu = time.perf_counter(), time.process_time()
    for number in range(claims):
        claim(service, number)
    claimed, claimed_cpu = time.perf_counter() - started, time.process_time() - cpu
    side = sqlite3.connect(str(path), isolation_level=None)
    _wal_pages(side)
    for number in range(claims, claims + PAGED):
        claim(service, number)
    claim_pages = _wal_pages(side) / PAGED
    # A follow-up of each of those by its claimer: a new version, schedule and document,
    # nothing that moves the customer in the owner's or the pool's indexes.
    for number in range(claims, claims + PAGED):
        service.follow_up(f"rep{number % REPS:03d}", f"c{number:07d}")
    follow_up_pages = _wal_pages(side) / PAGED
    store.close()

    statements = recorded_statements(recorded, claims)
    conn = sqlite3.connect(str(replayed), isolation_level=None)
    started, cpu = time.perf_counter(), time.process_time()
    for sql, params in statements:
        conn.execute(sql, params).fetchall()
    replay, replay_cpu = time.perf_counter() - started, time.process_time() - cpu
    conn.close()

    conn = sqlite3.connect(str(path), isolation_level=None)
    started, cpu = time.perf_counter(), time.process_time()
    for number in range(claims):
        _raw_update(conn, f"c{number:07d}", 2)  # created, then claimed
    raw, raw_cpu = time.perf_counter() - started, time.process_time() - cpu
    _wal_pages(side)
    for number in range(claims, claims + PAGED):
        _raw_update(conn, f"c{number:07d}", 3)  # created, claimed, then followed up
    raw_pages = _wal_pages(side) / PAGED
    conn.close()
    side.close()
    print(f"{'':>10} {'per s':>9} {'us each':>9} {'CPU us':>9} {'WAL pages':>10}")
    for label, wall, used, pages in (
        ("poolkit", claimed, claimed_cpu, f"{claim_pages:10.1f}"),
        ("its SQL", replay, replay_cpu, f"{'':>10}"),
        ("raw SQL", raw, raw_cpu, f"{raw_pages:10.1f}"),
    ):
        print(
            f"{label:>10} {claims / wall:>9.0f} {wall / claims * 1e6:>9.0f} "
            f"{used / claims * 1e6:>9.0f} {pages}"
        )
    print(f"claim cost vs a raw versioned update: {claimed / raw:.1f}x")
    print(
        f"  of which its own statements, replayed by hand: {replay / raw:.1f}x "
        f"({len(statements) / claims:.0f} per claim); poolkit's Python: "
        f"{(claimed_cpu - replay_cpu) / claims * 1e6:.0f} us of CPU a claim"
    )
    print(
        "WAL pages: written per commit (each index a claim changes is a page: the customer, "
        "its due, owner and pool indexes, the event, the claims index); a follow-up of a "
        f"claimed customer: {follow_up_pages:.1f}"
    )
    interleaved_claims(workdir, claims)


# Claims and raw updates taken turn about, a block of each: on a machine that others
# share, each block of claims meets the load its raw block meets.
BLOCK = 100


def interleaved_claims(workdir: Path, claims: int) -> None:
    """The claims' ratio to raw updates again, taken turn about on one book: a block of
    claims, then the raw update of each customer the block before claimed (private, at
    version 2, as the raw updates above find them), and the median of the blocks' ratios,
    which a load that comes and goes moves less than the ratio of two runs in a row."""
    blocks = max(claims // BLOCK, 3)  # two ratios at least, for the quartiles
    path = workdir / "interleaved.db"
    store, service = claim_book(path, blocks * BLOCK)
    conn = sqlite3.connect(str(path), isolation_level=None)
    ratios: list[float] = []
    try:
        for number in range(BLOCK):  # the first block, claimed for the raw updates to take
            claim(service, number)
        for block in range(1, blocks):
            claimed = range(block * BLOCK, (block + 1) * BLOCK)
            started = time.perf_counter()
            for number in claimed:
                claim(service, number)
            ours = time.perf_counter() - started
            started = time.perf_counter()
            for number in range((block - 1) * BLOCK, block * BLOCK):
                _raw_update(conn, f"c{number:07d}", 2)
            ratios.append(ours / (time.perf_counter() - started))
    finally:
        conn.close()
        store.close()
    low, median, high = statistics.quantiles(ratios, n=4)
    print(
        f"taken turn about, {len(ratios)} blocks of {BLOCK}: claim cost vs a raw versioned "
        f"update, median {median:.2f}x (quartiles {low:.2f}x to {high:.2f}x)"
    )


def _raw_update(conn: sqlite3.Connection, customer_id: str, version: int) -> None:
    """One raw versioned update of a customer's owner, in its own transaction."""
    conn.execute("BEGIN IMMEDIATE")
    updated = conn.execute(
        "UPDATE customers SET owner_id = ?, version = version + 1 WHERE id = ? AND version = ?",
        ("rep000", customer_id, version),
    ).rowcount
    conn.execute("COMMIT")
    if updated != 1:  # a version that missed would measure an update that wrote nothing
        raise RuntimeError(f"the raw update of {customer_id} at version {version} missed")


# Claims whose WAL pages are counted: few enough that SQLite's automatic checkpoint (every
# 1,000 pages) does not run meanwhile and reset the count.
PAGED = 20


def _wal_pages(side: sqlite3.Connection) -> float:
    """Pages written to the WAL since the last call (which emptied it)."""
    pages = side.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
    side.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return float(max(pages, 0))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stored", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--claims", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="poolkit-bench-") as tmp:
        bench_sweeps(args.stored, args.due, Path(tmp))
        bench_claims(Path(tmp), args.claims)


if __name__ == "__main__":
    main()
