"""A policy's what-if on the SQLite store, against a raw SQL scan of the owned rows.

Run:  python benchmarks/bench_what_if.py                        (200,000 and 1,000,000 stored)
      python benchmarks/bench_what_if.py --stored 20000 100000 --owned 10000   (quicker)

For each stored size it builds a database of N customers of which ``--owned`` are private
(owned by ``--reps`` reps, taken over the last 15 days) and the rest wait in the public
pool, then times, in the same run, on the same file:

- the floor: one hand-written SELECT of the owned rows (id and JSON document) through the
  status index, each row fetched and dropped: the least any what-if must read;
- the reads: the same rows read as the what-if reads them, page by page through
  ``CustomerRepository.find(..., after=...)``, each decoded into a ``Customer``; no rules;
- ``PoolService.what_if``: the candidate (drop period 15 -> 10 days, warnings 3 -> 2 days
  ahead, cap 100 -> 60) against the policy in force, over 14 days: every owned customer
  read page by page, its document decoded, the sweep's decision replayed under both
  policies, and the totals per rep and per pool;
- ``PoolService.what_if_items``: the stream of every changed customer, consumed.

Then it runs the what-if once more under tracemalloc for its peak of Python memory: it
should stay flat as N grows (pages, not the whole book), and so should the what-if's time,
which follows the owned customers, not the stored ones.

Figures go to stdout; nothing is asserted. Wall time varies with the machine: compare the
ratios, which are measured in the same run.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
import tracemalloc
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


def build(path: Path, stored: int, owned: int, reps: int) -> None:
    """``stored`` customers, every ``stored // owned``-th of them private."""
    store = SqliteStore(path)
    service = PoolService(store, POLICY, ManualClock(START))
    service.setup(team(reps))
    step = max(1, stored // owned)
    started = time.perf_counter()
    taken = 0
    with store.unit_of_work() as uow:
        for number in range(stored):
            private = number % step == 0 and taken < owned
            extra = {}
            if private:
                extra["owner_id"] = f"rep{taken % reps:04d}"
                taken += 1
            store_created(
                uow,
                POLICY,
                customer_id=f"c{number:07d}",
                # Taken over the 15 days before NOW: some drop in the next 14 days, some not.
                at=START + timedelta(hours=number % (15 * 24)),
                name=f"Customer {number}",
                pool_id="main",
                grade="C",
                **extra,
            )
        save(uow.settings, StoredPolicy(POLICY, 1, 1))
        uow.commit()
    store.close()
    print(
        f"  built {stored:,} customers ({taken:,} owned) in {time.perf_counter() - started:.1f} s"
    )


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


def what_if(path: Path, traced: bool = False) -> tuple[float, int, int, float]:
    """Seconds, customers looked at, customers changed, peak MiB (traced runs only)."""
    store = SqliteStore(path)
    service = PoolService(store, None, ManualClock(NOW))
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    result = service.what_if(CANDIDATE, NOW + timedelta(days=14))
    elapsed = time.perf_counter() - started
    peak = 0.0
    if traced:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    store.close()
    return elapsed, result.customers, result.changed, peak


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stored", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--owned", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=1_000)
    args = parser.parse_args()
    print(
        f"What-if: {args.owned:,} owned customers among N stored, {args.reps:,} reps (SQLite, WAL)"
    )
    results: list[tuple[int, int, float, float, float, float, int, float]] = []
    with tempfile.TemporaryDirectory(prefix="poolkit-bench-") as tmp:
        for stored in args.stored:
            print(f"N = {stored:,}")
            path = Path(tmp) / f"what-if-{stored}.db"
            build(path, stored, args.owned, args.reps)
            raw, rows = raw_scan(path)
            reads, read = read_pages(path)
            assert read == rows, (read, rows)
            seconds, looked, changed, _ = what_if(path)
            assert looked == rows, (looked, rows)
            stream, listed = streamed(path)
            assert listed == changed, (listed, changed)
            peak = what_if(path, traced=True)[3]
            results.append((stored, rows, raw, reads, seconds, stream, changed, peak))
            remove(path)
    print()
    print(
        f"{'stored':>10} {'owned':>8} {'raw s':>8} {'reads s':>8} {'what_if s':>10} "
        f"{'/raw':>7} {'/reads':>7} {'us/owned':>9} {'items s':>8} {'changed':>8} {'peak MiB':>9}"
    )
    for stored, rows, raw, reads, seconds, stream, changed, peak in results:
        print(
            f"{stored:>10,} {rows:>8,} {raw:>8.3f} {reads:>8.3f} {seconds:>10.3f} "
            f"{seconds / raw:>6.1f}x {seconds / reads:>6.1f}x "
            f"{seconds / max(rows, 1) * 1e6:>9.1f} {stream:>8.3f} {changed:>8,} {peak:>9.1f}"
        )
    print(
        "raw: one SELECT of the owned rows' id and document through the status index; "
        "reads: the same rows paged and decoded as the what-if reads them; "
        "what_if: the summary (reads, both policies' decisions, totals); "
        "items: the stream of changed customers; peak: tracemalloc's peak during what_if"
    )
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(
            f"what-if cost at {last[0]:,} stored vs {first[0]:,}: {last[4] / first[4]:.2f}x "
            "(1.00x = independent of what is stored)"
        )


if __name__ == "__main__":
    main()
