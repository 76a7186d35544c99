"""Bulk moves on a real PostgreSQL server: the cap and claim-limit boundary checks every
store runs (tests/_bulk.py), and bulk claims for one rep from eight processes whose units
of work run side by side, never passing the cap."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

import pytest

from _bulk import (
    MODES,
    START,
    bulk_cap_round,
    bulk_claim_limit_round,
    cap_in_a_later_chunk,
    cap_minus_two,
    claim_limit_part_way,
    policy_doc,
    public,
    receivers_cap,
    service_on,
)
from _workers import Crew
from poolkit import BulkMode, ManualClock
from poolkit.stores.postgres import PostgresStore

PROCESSES = 8
PER_WORKER = 3
ROUNDS = 20

Say = Callable[[str], None]


@pytest.mark.parametrize("mode", MODES)
def test_a_bulk_claim_at_cap_minus_two_claims_two_and_refuses_the_rest_with_the_cap(
    store: PostgresStore, mode: BulkMode
) -> None:
    cap_minus_two(store, mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("move", ["assign", "transfer"])
def test_a_bulk_assign_or_transfer_stops_at_the_receivers_cap(
    store: PostgresStore, mode: BulkMode, move: str
) -> None:
    receivers_cap(store, mode, move)


@pytest.mark.parametrize("mode", MODES)
def test_a_bulk_claim_stops_at_the_claim_limit(store: PostgresStore, mode: BulkMode) -> None:
    claim_limit_part_way(store, mode)


def test_a_per_customer_bulk_larger_than_a_chunk_reaches_the_cap_in_a_later_chunk(
    store: PostgresStore,
) -> None:
    cap_in_a_later_chunk(store)


def test_eight_processes_bulk_claiming_for_one_rep_never_pass_the_cap(
    location: str, store: PostgresStore, say: Say
) -> None:
    cap = 10
    policy = policy_doc(caps={"per_rep": {"li": cap}})
    rng = random.Random(20261130)
    tally: Counter[str] = Counter()
    problems: list[str] = []
    service = service_on(store, policy)
    public(service, cap + PROCESSES * PER_WORKER)
    clock = service.clock
    assert isinstance(clock, ManualClock)
    with Crew(location, policy, START, PROCESSES) as crew:
        for round_ in range(ROUNDS):
            problems += bulk_cap_round(service, clock, crew, rng, round_, cap, PER_WORKER, tally)
    say(
        f"postgres bulk cap race: {ROUNDS} rounds x {PROCESSES} processes x {PER_WORKER} "
        f"customers for one rep, cap {cap}: {dict(sorted(tally.items()))}"
    )
    assert problems == []
    assert crew.exit_codes == [0] * PROCESSES


def test_eight_processes_bulk_claiming_for_one_rep_never_pass_the_claim_limit(
    location: str, store: PostgresStore, say: Say
) -> None:
    limit = 5
    policy = policy_doc(claim_limit={"window_days": 1, "per_rep": {"wang": limit}})
    rng = random.Random(20261201)
    tally: Counter[str] = Counter()
    problems: list[str] = []
    service = service_on(store, policy)
    public(service, limit + PROCESSES * PER_WORKER)
    clock = service.clock
    assert isinstance(clock, ManualClock)
    with Crew(location, policy, START, PROCESSES) as crew:
        for round_ in range(ROUNDS):
            problems += bulk_claim_limit_round(
                service, clock, crew, rng, round_, limit, PER_WORKER, tally
            )
    say(
        f"postgres bulk claim-limit race: {ROUNDS} rounds x {PROCESSES} processes x "
        f"{PER_WORKER} customers for one rep, limit {limit}/day: {dict(sorted(tally.items()))}"
    )
    assert problems == []
    assert crew.exit_codes == [0] * PROCESSES
