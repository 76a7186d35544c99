"""A policy's what-if on the SQLite store, against a raw SQL scan of the owned rows.

Run:  python benchmarks/bench_what_if.py      (100,000 owned; 200,000 and 1,000,000 stored)
      python benchmarks/bench_what_if.py --stored 20000 100000 --owned 10000   (quicker)

It builds ``--owned`` private customers once (owned by ``--reps`` reps, taken over the
last 15 days, each created with its event and schedule), then for each stored size copies
that book and fills it up to N with customers waiting in the public pool, and times, in
the same run, on the same file:

- the floor: one hand-written SELECT of the owned rows (id and JSON document) through the
  status index, each row fetched and dropped: the least any what-if must read;
- the reads: the same rows read as the what-if reads them, page by page through
  ``CustomerRepository.find(..., after=...)``, each decoded into a ``Customer``; no rules;
- ``PoolService.what_if``: the candidate (drop period 15 -> 10 days, warnings 3 -> 2 days
  ahead, cap 100 -> 60) against the policy in force, over 14 days: every owned customer
  read page by page, decoded, the sweep's decision replayed under both policies, and the
  totals per rep and per pool. It runs in a fresh process, which also reports how much its
  peak resident memory grew during the what-if: that should stay flat as N grows (pages,
  not the whole book), and so should the time, which follows the owned customers;
- with ``--items``, ``PoolService.what_if_items``: the stream of every changed customer.

Figures go to stdout; nothing is asserted. Wall time varies with the machine: compare the
ratios, which are measured in the same run.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _books import store_created

from poolkit import CustomerStatus, ManualClock, Policy, PoolService, Team
from poolkit.ports import CustomerQuery
from poolkit.service.stored_policy import StoredPolicy, save
from poolkit.stores.sqlite import SqliteStore

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
NOW = START + timedelta(days=15)
POLICY = Policy.from_dict(
    {
        "timezone": "Asia/Shanghai",
        "drop_rules": [{"name": "stale", "kind": "no_follow_up", "days": 15, "warn_days": 3}],
        "caps": {"default": 100},
    }
)
CANDIDATE = Policy.from_dict(
    {
        **POLICY.to_dict(),
        "drop_rules": [{"name": "stale-10", "kind": "no_follow_up", "days": 10, "warn_days": 2}],
        "caps": {"default": 60},
    }
)


def team(reps: int) -> Team:
    members = [{"id": f"rep{i:04d}"} for i in range(reps)]
    return Team.from_dict(
        {
            "reps": [{"id": "admin", "admin": True}, *members],
            "pools": [{"id": "main", "default": True, "managers": ["admin"]}],
        }
    )


def build_base(path: Path, owned: int, reps: int) -> None:
    """The ``owned`` private customers, created one by one (each with its event and
    schedule), and one public customer that :func:`grow` copies."""
    store = SqliteStore(path)
    service = PoolService(store, POLICY, ManualClock(START))
    service.setup(team(reps))
    started = time.perf_counter()
    with store.unit_of_work() as uow:
        for number in range(owned):
            store_created(
                uow,
                POLICY,
                customer_id=f"c{number:07d}",
                # Taken over the 15 days before NOW: some drop in the next 14 days, some not.
                at=START + timedelta(hours=number % (15 * 24)),
                name=f"Customer {number}",
                pool_id="main",
                grade="C",
                owner_id=f"rep{number % reps:04d}",
            )
        store_created(
            uow, POLICY, customer_id=TEMPLATE, at=START, name="Public lead", pool_id="main"
        )
        save(uow.settings, StoredPolicy(POLICY, 1, 1))
        uow.commit()
    store.close()
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    print(f"  built {owned:,} owned customers in {time.perf_counter() - started:.1f} s")


TEMPLATE = "p0000000"
NUMBERS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "


def grow(path: Path, public: int) -> None:
    """Add ``public`` customers waiting in the public pool, copies of the template with
    their own ids (row, ``created`` event, name blocks and normal name), in SQL: quick,
    and the what-if never reads them, which is what the sizes show."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    new_id = "printf('p%07d', i)"
    renamed = f"replace(body, '\"{TEMPLATE}\"', '\"' || {new_id} || '\"')"
    conn.execute("BEGIN")
    conn.execute(
        NUMBERS + "INSERT INTO customers (id, status, owner_id, pool_id, grade, public_since, "
        "version, drop_at, warn_at, next_at, body) "
        f"SELECT {new_id}, status, owner_id, pool_id, grade, public_since, version, drop_at, "
        f"warn_at, next_at, {renamed} "
        "FROM n, customers WHERE customers.id = ?",
        (public - 1, TEMPLATE),
    )
    conn.execute(
        NUMBERS + "INSERT INTO events (customer_id, seq, kind, at, body) "
        f"SELECT {new_id}, seq, kind, at, {renamed} "
        "FROM n, events WHERE events.customer_id = ?",
        (public - 1, TEMPLATE),
    )
    conn.execute(
        NUMBERS + "INSERT INTO customer_name_blocks (block, customer_id) "
        f"SELECT block, {new_id} FROM n, customer_name_blocks WHERE customer_id = ?",
        (public - 1, TEMPLATE),
    )
    conn.execute(
        NUMBERS + "INSERT INTO customer_normal_names (normal, name, customer_id) "
        f"SELECT normal, name, {new_id} FROM n, customer_normal_names WHERE customer_id = ?",
        (public - 1, TEMPLATE),
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def raw_scan(path: Path) -> tuple[float, int]:
    conn = sqlite3.connect(str(path), isolation_level=None)
    started = time.perf_counter()
    rows = 0
    for _ in conn.execute("SELECT id, body FROM customers WHERE status = 'private' ORDER BY id"):
        rows += 1
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, rows


def read_pages(path: Path, page: int = 500) -> tuple[float, int]:
    """The what-if's reads alone: the owned customers page by page, each page its own unit
    of work, each document decoded into a Customer; no rules."""
    store = SqliteStore(path)
    owned = CustomerQuery(status=CustomerStatus.PRIVATE)
    started = time.perf_counter()
    read, after = 0, None
    while True:
        with store.unit_of_work() as uow:
            found = uow.customers.find(owned, page, after=after)
        read += len(found)
        if len(found) < page:
            break
        after = found[-1].id
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed, read


def what_if(path: Path) -> tuple[float, int, int, float, float]:
    """Seconds, customers looked at, customers changed, the process's peak resident memory
    (MiB) and how much of it the what-if added, measured in a fresh process so that the
    book's building does not count."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, looked, changed, peak, grown = done.stdout.split()
    return float(seconds), int(looked), int(changed), float(peak), float(grown)


def child(path: Path) -> None:
    store = SqliteStore(path)
    service = PoolService(store, None, ManualClock(NOW))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = service.what_if(CANDIDATE, NOW + timedelta(days=14))
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    store.close()
    print(elapsed, result.customers, result.changed, peak / 1024, (peak - before) / 1024)


def streamed(path: Path) -> tuple[float, int]:
    store = SqliteStore(path)
    service = PoolService(store, None, ManualClock(NOW))
    started = time.perf_counter()
    count = sum(1 for _ in service.what_if_items(CANDIDATE, NOW + timedelta(days=14)))
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed, count


def remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


Row = tuple[int, int, float, float, float, int, float, float, float | None]


def report(results: list[Row]) -> None:
    print()
    print(
        f"{'stored':>10} {'owned':>8} {'raw s':>8} {'reads s':>8} {'what_if s':>10} "
        f"{'/raw':>7} {'/reads':>7} {'us/owned':>9} {'changed':>8} {'RSS MiB':>8} {'+MiB':>5} "
        f"{'items s':>8}"
    )
    for stored, rows, raw, reads, seconds, changed, peak, grown, stream in results:
        items = "-" if stream is None else f"{stream:.3f}"
        print(
            f"{stored:>10,} {rows:>8,} {raw:>8.3f} {reads:>8.3f} {seconds:>10.3f} "
            f"{seconds / raw:>6.1f}x {seconds / reads:>6.1f}x "
            f"{seconds / max(rows, 1) * 1e6:>9.1f} {changed:>8,} {peak:>8.1f} {grown:>5.1f} "
            f"{items:>8}"
        )
    print(
        "raw: one SELECT of the owned rows' id and document through the status index; "
        "reads: the same rows paged and decoded as the what-if reads them; "
        "what_if: the summary (reads, both policies' decisions, totals), in a fresh process; "
        "RSS: that process's peak resident memory, +MiB: how much the what-if added to it; "
        "items: the stream of changed customers (--items)"
    )
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(
            f"what-if cost at {last[0]:,} stored vs {first[0]:,}: {last[4] / first[4]:.2f}x "
            "(1.00x = independent of what is stored)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stored", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--owned", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=1_000)
    parser.add_argument("--items", action="store_true", help="time what_if_items too")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    print(
        f"What-if: {args.owned:,} owned customers among N stored, {args.reps:,} reps (SQLite, WAL)"
    )
    results: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="poolkit-bench-") as tmp:
        base = Path(tmp) / "base.db"
        build_base(base, args.owned, args.reps)
        for stored in args.stored:
            print(f"N = {stored:,}")
            path = Path(tmp) / f"what-if-{stored}.db"
            shutil.copy(base, path)
            started = time.perf_counter()
            grow(path, max(1, stored - args.owned))
            print(f"  grew to {stored:,} stored in {time.perf_counter() - started:.1f} s")
            raw, rows = raw_scan(path)
            reads, read = read_pages(path)
            assert read == rows == args.owned, (read, rows)
            seconds, looked, changed, peak, grown = what_if(path)
            assert looked == rows, (looked, rows)
            stream: float | None = None
            if args.items:
                stream, listed = streamed(path)
                assert listed == changed, (listed, changed)
            results.append((stored, rows, raw, reads, seconds, changed, peak, grown, stream))
            remove(path)
    report(results)


if __name__ == "__main__":
    main()
