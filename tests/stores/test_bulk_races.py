"""Bulk claims for one rep from several processes at once on SQLite: the cap is never
passed, whichever mode each process chose (the PostgreSQL twin is in
tests/stores/postgres/test_bulk_postgres.py)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from _bulk import (
    START,
    bulk_cap_round,
    bulk_claim_limit_round,
    policy_doc,
    public,
    service_on,
)
from _workers import Crew
from poolkit import ManualClock
from poolkit.stores.sqlite import SqliteStore

PROCESSES = 4
PER_WORKER = 3
ROUNDS = 15

Say = Callable[[str], None]


def test_processes_bulk_claiming_for_one_rep_never_exceed_the_cap(tmp_path: Path, say: Say) -> None:
    cap = 10
    path = tmp_path / "pool.db"
    policy = policy_doc(caps={"per_rep": {"li": cap}})
    rng = random.Random(20261130)
    tally: Counter[str] = Counter()
    problems: list[str] = []
    with SqliteStore(path) as store:
        service = service_on(store, policy)
        public(service, cap + PROCESSES * PER_WORKER)
        clock = service.clock
        assert isinstance(clock, ManualClock)
        with Crew(str(path), policy, START, PROCESSES) as crew:
            for round_ in range(ROUNDS):
                problems += bulk_cap_round(
                    service, clock, crew, rng, round_, cap, PER_WORKER, tally
                )
    say(
        f"bulk cap race: {ROUNDS} rounds x {PROCESSES} processes x {PER_WORKER} customers "
        f"for one rep, cap {cap}: {dict(sorted(tally.items()))}"
    )
    assert problems == []
    assert crew.exit_codes == [0] * PROCESSES


def test_processes_bulk_claiming_for_one_rep_never_exceed_the_claim_limit(
    tmp_path: Path, say: Say
) -> None:
    limit = 5
    path = tmp_path / "pool.db"
    policy = policy_doc(claim_limit={"window_days": 1, "per_rep": {"wang": limit}})
    rng = random.Random(20261201)
    tally: Counter[str] = Counter()
    problems: list[str] = []
    with SqliteStore(path) as store:
        service = service_on(store, policy)
        public(service, limit + PROCESSES * PER_WORKER)
        clock = service.clock
        assert isinstance(clock, ManualClock)
        with Crew(str(path), policy, START, PROCESSES) as crew:
            for round_ in range(ROUNDS):
                problems += bulk_claim_limit_round(
                    service, clock, crew, rng, round_, limit, PER_WORKER, tally
                )
    say(
        f"bulk claim-limit race: {ROUNDS} rounds x {PROCESSES} processes x {PER_WORKER} "
        f"customers for one rep, limit {limit}/day: {dict(sorted(tally.items()))}"
    )
    assert problems == []
    assert crew.exit_codes == [0] * PROCESSES
