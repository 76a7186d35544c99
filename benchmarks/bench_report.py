"""The manager's report on a large SQLite book, against the raw SQL counts it rests on.

Run:  python benchmarks/bench_report.py                              (200,000 customers,
                                                                      about 1,000,000 events)
      python benchmarks/bench_report.py --customers 20000            (quicker)

It builds one database: ``--customers`` customers over ``--reps`` reps and three pools,
with grades A to E, and about ``--events`` events over the last 60 days (creations,
follow-ups, claims, drops, freezes), each customer the fold of its own history. Then it
times, on the same file:

- poolkit: ``PoolService.report()`` (30 days back, 21 ahead), and the forecast it contains
  (``PoolService.forecast``) on its own;
- the floor: the raw SQL the figures rest on, by hand: one ``GROUP BY`` of the customers
  by status, pool, owner and grade; one count of events by kind per local day over the
  last 30 days (on the events' time index); each rep's claims in the claim window; the
  open review items; and, for the forecast, one indexed ``SELECT`` of the documents of
  the customers due in the next 21 days.

It prints each, and the ratios: the report without its forecast against the raw counts,
and the forecast against the raw select of what it reads. Figures go to stdout; nothing is
asserted. Wall time varies with the machine: compare the ratios, measured in the same run.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from poolkit import FollowUpKind, ManualClock, Policy, PoolService, Team
from poolkit.events import Claimed, Created, Dropped, Event, FollowedUp, Frozen, apply
from poolkit.rules import schedule, start_of_day
from poolkit.service.stored_policy import StoredPolicy, save
from poolkit.stores.sqlite import SqliteStore

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 31, 18, 0, tzinfo=ZONE)
SPAN_DAYS = 60
POOLS = ("east", "north", "south")
GRADES = ("A", "B", "C", "D", "E", None)
POLICY = Policy.from_dict(
    {
        "timezone": "Asia/Shanghai",
        "drop_rules": [
            {"name": "stale-15", "kind": "no_follow_up", "days": 15, "warn_days": 3},
            {"name": "stale-30-AB", "kind": "no_follow_up", "days": 30, "grades": ["A", "B"]},
        ],
        "caps": {"default": 2000},
        "claim_limit": {"max_claims": 50, "window_days": 7},
    }
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def team(reps: int) -> Team:
    ids = [f"rep{i:04d}" for i in range(reps)]
    return Team.from_dict(
        {
            "reps": [{"id": "admin", "admin": True}] + [{"id": rep} for rep in ids],
            "pools": [
                {"id": pool, "default": pool == "east", "members": ids, "managers": ["admin"]}
                for pool in POOLS
            ],
        }
    )


def history(number: int, reps: int, per_customer: int) -> list[Event]:
    """One customer's events: created, some follow-ups, and by its number a claim, a drop
    or a freeze. Instants fall in the ``SPAN_DAYS`` before ``NOW``."""
    cid, rep = f"c{number:07d}", f"rep{number % reps:04d}"
    pool, grade = POOLS[number % 3], GRADES[number % len(GRADES)]
    start = NOW - timedelta(days=SPAN_DAYS) + timedelta(minutes=(number * 37) % (40 * 24 * 60))
    fate = number % 20  # 0-8 kept, 9-15 dropped, 16-18 claimed, 19 frozen: 45/35/15/5 %
    public = fate >= 16
    events: list[Event] = [
        Created(
            customer_id=cid,
            seq=1,
            at=start,
            actor_id="admin" if public else rep,
            name=f"Customer {number}",
            pool_id=pool,
            owner_id=None if public else rep,
            grade=grade,
        )
    ]
    step = timedelta(hours=(SPAN_DAYS - 41) * 24 // max(1, per_customer))

    def add(kind: type[Event], **fields: Any) -> None:
        events.append(
            kind(customer_id=cid, seq=len(events) + 1, at=start + step * len(events), **fields)
        )

    if 16 <= fate <= 18:
        add(Claimed, actor_id=rep, rep_id=rep, pool_id=pool)
    elif fate == 19:
        add(Frozen, actor_id="admin")
        return events
    follow_ups = per_customer - 2 if 9 <= fate <= 18 else per_customer - 1
    for _ in range(follow_ups):
        add(FollowedUp, actor_id=rep, method=FollowUpKind.CALL)
    if 9 <= fate <= 15:
        add(Dropped, rep_id=rep, code="drop.no_follow_up", rule="stale-15", reason="stale")
    return events


def build(path: Path, customers: int, reps: int, events: int) -> int:
    store = SqliteStore(path)
    service = PoolService(store, POLICY, ManualClock(NOW))
    service.setup(team(reps))
    per_customer = max(2, round(events / max(1, customers)))
    written = 0
    started = time.perf_counter()
    with store.unit_of_work() as uow:
        for number in range(customers):
            customer = None
            for event in history(number, reps, per_customer):
                customer = apply(customer, event)
                uow.events.append(event)
                written += 1
            assert customer is not None
            uow.customers.add(customer, schedule(customer, POLICY))
        save(uow.settings, StoredPolicy(POLICY, 1, 1))  # every schedule above is POLICY's
        uow.commit()
    store.close()
    took = time.perf_counter() - started
    print(f"built {customers:,} customers, {written:,} events, {reps} reps in {took:.1f} s")
    return written


def micros(at: datetime) -> int:
    return (at - EPOCH) // timedelta(microseconds=1)


def raw_counts(path: Path, reps: int) -> float:
    """The figures' counts in hand-written SQL, in one read transaction."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.execute(
        "SELECT status, pool_id, owner_id, grade, COUNT(*) FROM customers "
        "GROUP BY status, pool_id, owner_id, grade"
    ).fetchall()
    today = NOW.date()
    for back in range(29, -1, -1):
        day = today - timedelta(days=back)
        since = start_of_day(day, ZONE)
        until = start_of_day(day + timedelta(days=1), ZONE)
        conn.execute(
            "SELECT kind, COUNT(*) FROM events WHERE at >= ? AND at < ? GROUP BY kind",
            (micros(since), micros(until)),
        ).fetchall()
    window = micros(NOW - timedelta(days=8))
    for number in range(reps):
        conn.execute(
            "SELECT at FROM claims WHERE rep_id = ? AND at > ?", (f"rep{number:04d}", window)
        ).fetchall()
    conn.execute("SELECT body FROM reviews WHERE status = 'open'").fetchall()
    conn.execute("COMMIT")
    took = time.perf_counter() - started
    conn.close()
    return took


def raw_due(path: Path, until: datetime) -> tuple[float, int]:
    conn = sqlite3.connect(str(path), isolation_level=None)
    started = time.perf_counter()
    rows = conn.execute(
        "SELECT body FROM customers WHERE next_at <= ? ORDER BY next_at, id", (micros(until),)
    ).fetchall()
    took = time.perf_counter() - started
    conn.close()
    return took, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="poolkit-bench-") as tmp:
        path = Path(tmp) / "report.db"
        build(path, args.customers, args.reps, args.events)
        store = SqliteStore(path)
        service = PoolService(store, None, ManualClock(NOW))
        started = time.perf_counter()
        report = service.report(days_back=30, days_ahead=21)
        whole = time.perf_counter() - started
        end = start_of_day(NOW.date() + timedelta(days=21), ZONE) - timedelta(microseconds=1)
        started = time.perf_counter()
        items = service.forecast(end)
        forecast = time.perf_counter() - started
        store.close()
        counts = raw_counts(path, args.reps)
        due, rows = raw_due(path, end)
    flows = sum(day.inflow + day.outflow for day in report.flows)
    print(
        f"report: {report.total:,} customers, {flows:,} in/out events in 30 days, "
        f"{len(items):,} forecast items, {len(report.reps)} reps"
    )
    print(f"{'':>28} {'s':>8}")
    print(f"{'poolkit report':>28} {whole:>8.3f}")
    print(f"{'  of which the forecast':>28} {forecast:>8.3f}")
    print(f"{'raw SQL counts':>28} {counts:>8.3f}")
    print(f"{'raw SQL due rows':>28} {due:>8.3f}  ({rows:,} rows)")
    print(f"ratio: report without forecast vs raw counts: {(whole - forecast) / counts:.1f}x")
    print(f"ratio: forecast vs raw select of its rows: {forecast / due:.1f}x")


if __name__ == "__main__":
    main()
