"""The bulk moves at the cap and claim-limit boundary, written once and run on every store:
the memory and SQLite stores (tests/service/test_bulk.py) and PostgreSQL
(tests/stores/postgres/test_bulk_postgres.py). A module of its own, not a conftest, for the
reason tests/_state.py gives."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from _state import store_state
from _workers import Crew, Outcome, Step
from poolkit import BulkMode, ManualClock, Policy, PoolService, Team
from poolkit.errors import BulkAborted, CapExceeded, ClaimLimitExceeded
from poolkit.ports import Store
from poolkit.service import bulk

START = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

EACH = BulkMode.PER_CUSTOMER
ALL = BulkMode.ALL_OR_NOTHING
MODES = [EACH, ALL]

TEAM = {
    "reps": [
        {"id": "boss", "admin": True},
        {"id": "li", "supervisor": "boss"},
        {"id": "wang", "supervisor": "boss"},
    ],
    "pools": [{"id": "main", "default": True, "members": ["li", "wang"], "managers": ["boss"]}],
}


def policy_doc(**extra: Any) -> dict[str, Any]:
    return {"timezone": "Asia/Shanghai", "similarity": {"enabled": False}, **extra}


def service_on(store: Store, policy: dict[str, Any] | None = None) -> PoolService:
    """A service with deterministic customer ids, so two stores set up alike hold the same."""
    counter = itertools.count(1)
    service = PoolService(
        store,
        Policy.from_dict(policy or policy_doc()),
        ManualClock(START),
        new_id=lambda: f"c{next(counter):03d}",
    )
    service.setup(Team.from_dict(TEAM))
    return service


def public(service: PoolService, count: int) -> list[str]:
    return [service.create("boss", f"Shop {n}", public=True).id for n in range(count)]


def owned(service: PoolService, rep_id: str, count: int) -> list[str]:
    ids = public(service, count)
    for customer_id in ids:
        service.claim(rep_id, customer_id)
    return ids


def cap_minus_two(store: Store, mode: BulkMode) -> None:
    cap = 6
    service = service_on(store, policy_doc(caps={"per_rep": {"li": cap}}))
    owned(service, "li", cap - 2)
    ids = public(service, 5)
    before = store_state(store)
    result = service.bulk_claim("li", ids, mode=mode)
    if mode is EACH:
        assert [item.done for item in result.items] == [True, True, False, False, False]
        for item in result.refused:
            assert isinstance(item.refusal, CapExceeded)
            assert (item.refusal.cap, item.refusal.count) == (cap, cap)
        assert len(service.private_pool("li")) == cap
    else:
        assert result.done_count == 0
        assert isinstance(result.items[2].refusal, CapExceeded)
        assert all(isinstance(result.items[n].refusal, BulkAborted) for n in (0, 1, 3, 4))
        assert store_state(store) == before
        assert len(service.private_pool("li")) == cap - 2


def receivers_cap(store: Store, mode: BulkMode, move: str) -> None:
    cap = 4
    service = service_on(store, policy_doc(caps={"per_rep": {"wang": cap}}))
    owned(service, "wang", cap - 2)
    if move == "assign":
        result = service.bulk_assign("boss", public(service, 3), "wang", mode=mode)
    else:
        result = service.bulk_transfer("li", owned(service, "li", 3), "wang", mode=mode)
    assert [item.done for item in result.items] == (
        [True, True, False] if mode is EACH else [False, False, False]
    )
    refusal = result.items[2].refusal
    assert isinstance(refusal, CapExceeded) and refusal.rep_id == "wang"
    assert len(service.private_pool("wang")) == (cap if mode is EACH else cap - 2)


def claim_limit_part_way(store: Store, mode: BulkMode) -> None:
    limit = 3
    policy = policy_doc(claim_limit={"window_days": 1, "per_rep": {"li": limit}})
    service = service_on(store, policy)
    owned(service, "li", 1)
    result = service.bulk_claim("li", public(service, 4), mode=mode)
    if mode is EACH:
        assert [item.done for item in result.items] == [True, True, False, False]
        for item in result.refused:
            assert isinstance(item.refusal, ClaimLimitExceeded)
            assert item.refusal.next_claim_at == START + timedelta(days=1)
    else:
        assert result.done_count == 0
        assert isinstance(result.items[2].refusal, ClaimLimitExceeded)
    assert len(service.private_pool("li")) == (limit if mode is EACH else 1)


def cap_in_a_later_chunk(
    store: Store,
) -> None:
    cap = bulk.CHUNK + 20
    service = service_on(store, policy_doc(caps={"per_rep": {"li": cap}}))
    ids = public(service, bulk.CHUNK * 2 + 5)
    result = service.bulk_claim("li", ids, mode=EACH)
    assert [item.customer_id for item in result.items] == ids
    assert result.done_count == cap
    assert all(item.done for item in result.items[:cap])
    assert all(isinstance(item.refusal, CapExceeded) for item in result.items[cap:])
    assert len(service.private_pool("li")) == cap


# ---------------------------------------------------------------------------- the race


def public_ids(service: PoolService, count: int) -> list[str]:
    found = [customer.id for customer in service.public_pool("main", limit=count)]
    assert len(found) == count, "the test ran out of public customers"
    return found


def hold(service: PoolService, rep_id: str, count: int) -> None:
    """Make ``rep_id`` hold exactly ``count`` customers, returning or claiming the rest."""
    held = [customer.id for customer in service.private_pool(rep_id)]
    for customer_id in held[count:]:
        service.return_to_pool(rep_id, customer_id, "making room for the next round")
    for customer_id in public_ids(service, max(0, count - len(held))):
        service.claim(rep_id, customer_id)


def bulk_round(
    crew: Crew,
    rng: random.Random,
    at: datetime,
    rep_id: str,
    targets: list[str],
    per_worker: int,
) -> tuple[list[Outcome], list[BulkMode]]:
    """Every worker of ``crew`` bulk-claims ``per_worker`` of ``targets`` of its own for
    ``rep_id`` at once, each in a mode drawn at random."""
    modes = [rng.choice(MODES) for _ in range(crew.size)]
    steps = [
        [
            Step(
                "bulk_claim",
                rep_id,
                customer_ids=tuple(targets[worker * per_worker : (worker + 1) * per_worker]),
                mode=modes[worker].value,
            )
        ]
        for worker in range(crew.size)
    ]
    return [worker[0] for worker in crew.run(at, steps)], modes


def judge_bulk_round(
    round_: int,
    outcomes: list[Outcome],
    modes: list[BulkMode],
    *,
    room: int,
    limit: int,
    counted: int,
    full: str,
    tally: Counter[str],
) -> list[str]:
    """The limit (a cap, a claim limit) had ``room`` left before the round and counts
    ``counted`` after it: it must never pass ``limit``, must have grown by exactly what was
    claimed, be full whenever a per-customer claim was refused and, when every worker
    claimed per customer, have filled exactly the room; every refusal starts with ``full``
    (or is an all-or-nothing call rolled back because of it)."""
    done = sum(len(outcome.done) for outcome in outcomes)
    asked = sum(len(outcome.step.customer_ids) for outcome in outcomes)
    tally["room"] += room
    tally["claimed"] += done
    problems = [f"round {round_}: {o.error}: {o.message}" for o in outcomes if o.error]
    if counted != limit - room + done or counted > limit:
        problems.append(f"round {round_}: room for {room}, {done} claimed, counts {counted}")
    for outcome, mode in zip(outcomes, modes, strict=True):
        for refusal in outcome.refusals:
            tally[refusal.split(":")[0]] += 1
            if not (refusal.startswith(full) or (mode is ALL and refusal.startswith("Bulk"))):
                problems.append(f"round {round_}: {mode.value} refused with {refusal}")
        if mode is EACH and outcome.refusals and counted != limit:
            problems.append(f"round {round_}: a claim was refused at {counted} of {limit}")
    if all(mode is EACH for mode in modes) and done != min(room, asked):
        problems.append(f"round {round_}: room for {room}, {done} claimed per customer")
    return problems


def bulk_cap_round(
    service: PoolService,
    clock: ManualClock,
    crew: Crew,
    rng: random.Random,
    round_: int,
    cap: int,
    per_worker: int,
    tally: Counter[str],
) -> list[str]:
    """One round of the bulk cap race: "li" holds ``cap - room`` customers, then the
    workers bulk-claim for li at once (:func:`bulk_round`, :func:`judge_bulk_round`).
    Returns the problems found."""
    at = START + timedelta(minutes=round_)
    clock.set(at)
    room = rng.randint(0, min(cap, crew.size * per_worker))
    hold(service, "li", cap - room)
    targets = public_ids(service, crew.size * per_worker)
    outcomes, modes = bulk_round(crew, rng, at, "li", targets, per_worker)
    held = len(service.private_pool("li"))
    full = f"CapExceeded: rep 'li' holds {cap} of a cap of {cap}"
    return judge_bulk_round(
        round_, outcomes, modes, room=room, limit=cap, counted=held, full=full, tally=tally
    )


def bulk_claim_limit_round(
    service: PoolService,
    clock: ManualClock,
    crew: Crew,
    rng: random.Random,
    round_: int,
    limit: int,
    per_worker: int,
    tally: Counter[str],
) -> list[str]:
    """One round of the bulk claim-limit race, two days after the last (the window is one
    day): "wang" holds nothing and makes ``limit - room`` claims, then the workers
    bulk-claim for wang at once. Every refusal must be the claim limit, naming the moment
    the window frees up. Returns the problems found."""
    at = START + timedelta(days=2 * round_)
    clock.set(at)
    hold(service, "wang", 0)
    room = rng.randint(0, limit)
    for customer_id in public_ids(service, limit - room):
        service.claim("wang", customer_id)
    targets = public_ids(service, crew.size * per_worker)
    outcomes, modes = bulk_round(crew, rng, at, "wang", targets, per_worker)
    with service.store.unit_of_work() as uow:
        claims = len(uow.events.claims_by("wang", at - timedelta(days=1)))
    full = (
        f"ClaimLimitExceeded: rep 'wang' has made {limit} claims in 1 days; the next claim "
        f"is possible at {(at + timedelta(days=1)).isoformat()}"
    )
    return judge_bulk_round(
        round_, outcomes, modes, room=room, limit=limit, counted=claims, full=full, tally=tally
    )
