"""What automatic assignment adds to a create, on the SQLite store.

Run:  python benchmarks/bench_assignment.py                        (10 members, 50 and 200 held)
      python benchmarks/bench_assignment.py --held 20 40 --creates 50  (quicker)

For each number of customers every member of the pool already holds (``--held``), it
builds a database in which the ``--members`` members of pool "north" each own that many
customers, under a cap, then times ``--creates`` public creates into "north" (each its own
unit of work) three ways, on identical copies of that file:

- plain: the pool has no automatic assignment: the create alone, the floor;
- round robin, and least loaded: each create also locks the pool and its members, reads
  what the members hold (for the cap and the load), reads and writes the pool's turn, and
  writes the ``Assigned`` event.

It prints each per create and its ratio to the plain create. Round robin reads the book of
the rep it chooses (and of any it passes over); least loaded (and weighted, under caps)
reads every member's, so its cost follows the members times what they hold (bounded by
their caps), never the customers stored.

Figures go to stdout; nothing is asserted. Compare the ratios, measured in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from poolkit import ManualClock, Policy, PoolService, Team
from poolkit.stores.sqlite import SqliteStore

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def policy(strategy: str | None, cap: int) -> Policy:
    document: dict[str, Any] = {
        "timezone": "Asia/Shanghai",
        "similarity": {"enabled": False},
        "caps": {"default": cap},
    }
    if strategy is not None:
        document["assignment"] = [{"pool": "north", "strategy": strategy}]
    return Policy.from_dict(document)


def team(members: int) -> Team:
    reps = [f"rep{i:03d}" for i in range(members)]
    return Team.from_dict(
        {
            "reps": [{"id": "admin", "admin": True}] + [{"id": rep} for rep in reps],
            "pools": [
                {"id": "main", "default": True, "managers": ["admin"]},
                {"id": "north", "managers": ["admin"], "members": reps},
            ],
        }
    )


def build(path: Path, members: int, held: int, cap: int) -> None:
    store = SqliteStore(path)
    service = PoolService(store, policy(None, cap), ManualClock(START))
    service.setup(team(members))
    for index in range(members):
        for number in range(held):
            service.create(f"rep{index:03d}", f"Held {index}-{number}")
    store.close()


def time_creates(path: Path, strategy: str | None, creates: int, cap: int) -> float:
    store = SqliteStore(path)
    service = PoolService(store, None, ManualClock(START))
    service.change_policy(policy(strategy, cap))
    started = time.perf_counter()
    for number in range(creates):
        service.create("admin", f"New {number}", public=True, pool_id="north")
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--held", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--creates", type=int, default=200)
    args = parser.parse_args()
    print(f"{args.members} members, {args.creates} creates into their pool, per create:")
    print("held   plain ms   round robin ms (ratio)   least loaded ms (ratio)")
    for held in args.held:
        cap = held + args.creates  # room for every create: the cap is counted, never reached
        with tempfile.TemporaryDirectory() as folder:
            base = Path(folder) / "base.db"
            build(base, args.members, held, cap)
            times = {}
            for strategy in (None, "round_robin", "least_loaded"):
                copy = Path(folder) / f"{strategy}.db"
                shutil.copy(base, copy)
                times[strategy] = time_creates(copy, strategy, args.creates, cap) / args.creates
        plain = times[None]
        rr, ll = times["round_robin"], times["least_loaded"]
        print(
            f"{held:4d}   {plain * 1000:8.2f}   {rr * 1000:14.2f} ({rr / plain:4.1f}x)"
            f"   {ll * 1000:15.2f} ({ll / plain:4.1f}x)"
        )
    print("ratio: assignment cost follows the books it reads (round robin: one; least loaded: all)")


if __name__ == "__main__":
    main()
