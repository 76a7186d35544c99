"""Bulk claims against single claims one by one, on the SQLite store, with a raw floor.

Run:  python benchmarks/bench_bulk.py                      (300 claims among 20,000 stored)
      python benchmarks/bench_bulk.py --claims 100 --stored 2000   (quicker)

It builds a database of ``--stored`` public customers and a rep with a cap of ``--cap``
(so every claim counts the rep's holdings, as in a team with caps), then times, on
identical copies of that file, ``--claims`` customers claimed by the rep:

- single: ``PoolService.claim`` once per customer, each its own unit of work (what a CRM
  does today without a bulk move);
- bulk, per customer: ``PoolService.bulk_claim(..., mode=PER_CUSTOMER)``, one unit of
  work per chunk of ``poolkit.service.bulk.CHUNK`` customers;
- bulk, all or nothing: ``bulk_claim(..., mode=ALL_OR_NOTHING)``, one unit of work;
- the floor: one transaction of hand-written versioned UPDATEs of the same rows. No
  events, no rules, no cap: the least any claim of these customers could do.

It prints each time, the cost per customer, single against bulk, and bulk against the
floor. Figures go to stdout; nothing is asserted. Wall time varies with the machine:
compare the ratios, which are measured in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _books import store_created

from poolkit import BulkMode, ManualClock, Policy, PoolService, Team
from poolkit.service import bulk
from poolkit.service.stored_policy import StoredPolicy, save
from poolkit.stores.sqlite import SqliteStore

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
REP = "rep000"


def policy(cap: int) -> Policy:
    return Policy.from_dict(
        {
            "timezone": "Asia/Shanghai",
            "drop_rules": [{"name": "stale-15", "kind": "no_follow_up", "days": 15}],
            "caps": {"per_rep": {REP: cap}},
            "similarity": {"enabled": False},
        }
    )


def team() -> Team:
    return Team.from_dict(
        {
            "reps": [{"id": "admin", "admin": True}, {"id": REP}],
            "pools": [{"id": "main", "default": True, "members": [REP], "managers": ["admin"]}],
        }
    )


def build(path: Path, stored: int, rules: Policy) -> None:
    store = SqliteStore(path)
    service = PoolService(store, rules, ManualClock(START))
    service.setup(team())
    with store.unit_of_work() as uow:
        for number in range(stored):
            store_created(
                uow,
                rules,
                customer_id=f"c{number:07d}",
                at=START,
                name=f"Customer {number}",
                pool_id="main",
                keys={"phone": f"+86138{number:08d}"},
                grade="C",
            )
        save(uow.settings, StoredPolicy(rules, 1, 1))
        uow.commit()
    store.close()


def targets(claims: int, stored: int) -> list[str]:
    # Spread over the book, as customers a rep picks from a filtered list are.
    step = max(1, stored // claims)
    return [f"c{number * step:07d}" for number in range(claims)]


def timed_service(path: Path, rules: Policy, run: str, ids: list[str]) -> float:
    store = SqliteStore(path)
    service = PoolService(store, rules, ManualClock(START + timedelta(hours=1)))
    started = time.perf_counter()
    if run == "single":
        for customer_id in ids:
            service.claim(REP, customer_id)
        done = len(ids)
    else:
        mode = BulkMode.PER_CUSTOMER if run == "per-customer" else BulkMode.ALL_OR_NOTHING
        done = service.bulk_claim(REP, ids, mode=mode).done_count
    elapsed = time.perf_counter() - started
    assert done == len(ids), (run, done)
    assert len(service.private_pool(REP)) == len(ids)
    store.close()
    return elapsed


def floor(path: Path, ids: list[str]) -> float:
    """Versioned updates of the same rows, by hand, in one transaction."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    for customer_id in ids:
        (version,) = conn.execute(
            "SELECT version FROM customers WHERE id = ?", (customer_id,)
        ).fetchone()
        conn.execute(
            "UPDATE customers SET status = 'private', owner_id = ?, version = version + 1 "
            "WHERE id = ? AND version = ?",
            (REP, customer_id, version),
        )
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def fresh_copy(base: Path, path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copy(base, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=300, help="customers claimed")
    parser.add_argument("--stored", type=int, default=20_000, help="public customers stored")
    parser.add_argument("--cap", type=int, default=1000, help="the rep's cap")
    args = parser.parse_args()
    if args.claims > min(args.stored, args.cap, bulk.MAX_BULK):
        parser.error("--claims must fit the stored customers, the cap and MAX_BULK")
    rules = policy(args.cap)
    ids = targets(args.claims, args.stored)
    print(
        f"Claims of {args.claims:,} customers among {args.stored:,} stored, cap {args.cap:,} "
        f"(SQLite, WAL; bulk chunks of {bulk.CHUNK})"
    )
    with tempfile.TemporaryDirectory() as workdir:
        base = Path(workdir) / "base.db"
        build(base, args.stored, rules)
        copy = Path(workdir) / "run.db"
        times = {
            run: timed_service(fresh_copy(base, copy), rules, run, ids)
            for run in ("single", "per-customer", "all-or-nothing")
        }
        times["floor"] = floor(fresh_copy(base, copy), ids)
    print(f"{'run':<28}{'total s':>10}{'per customer ms':>18}")
    labels = {
        "single": "single claims, one by one",
        "per-customer": "bulk_claim, per customer",
        "all-or-nothing": "bulk_claim, all or nothing",
        "floor": "floor (hand-written SQL)",
    }
    for run, label in labels.items():
        print(f"{label:<28}{times[run]:>10.3f}{times[run] / args.claims * 1000:>18.3f}")
    print(
        f"ratio: single claims / bulk per customer = {times['single'] / times['per-customer']:.1f}x"
    )
    print(
        f"ratio: single claims / bulk all or nothing = "
        f"{times['single'] / times['all-or-nothing']:.1f}x"
    )
    print(f"ratio: bulk per customer / floor = {times['per-customer'] / times['floor']:.1f}x")


if __name__ == "__main__":
    main()
