"""Automatic assignment at the cap boundary, from worker processes creating customers into
one auto-assigned pool at the same instant: no rep ever passes their cap, round robin
stays fair (nobody below their cap is more than one behind anyone), and no turn is handed
out twice. The round and its judge are shared with the PostgreSQL race
(tests/stores/postgres/test_assignment_races_pg.py)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from test_concurrency import START, flat, policy_doc

from _workers import Crew, Outcome, Step
from poolkit import ManualClock, Policy, PoolService, Team
from poolkit.model.events import Assigned
from poolkit.ports import CustomerQuery, Store
from poolkit.stores.sqlite import SqliteStore

Say = Callable[[str], None]

# Four members; "r3" has a smaller cap, so the boundary is crossed rep by rep.
CAPS = {"r0": 5, "r1": 5, "r2": 5, "r3": 3}
CAPACITY = sum(CAPS.values())


def assignment_policy(strategy: str = "round_robin") -> dict[str, Any]:
    return policy_doc(
        caps={"per_rep": CAPS},
        assignment=[{"pool": "north", "strategy": strategy}],
    )


def assignment_service(store: Store, policy: dict[str, Any]) -> PoolService:
    service = PoolService(store, Policy.from_dict(policy), ManualClock(START))
    members = sorted(CAPS)
    service.setup(
        Team.from_dict(
            {
                "reps": [{"id": "boss", "admin": True}] + [{"id": rep} for rep in members],
                "pools": [
                    {"id": "main", "default": True, "managers": ["boss"]},
                    {"id": "north", "managers": ["boss"], "members": members},
                ],
            }
        )
    )
    return service


def holdings(store: Store) -> Counter[str]:
    with store.unit_of_work() as uow:
        owned = uow.customers.find(CustomerQuery(owner_ids=frozenset(CAPS)))
    return Counter(customer.owner_id for customer in owned if customer.owner_id)


def assignment_round(store: Store, crew: Crew, round_: int, processes: int) -> list[str]:
    """One round: ``processes`` workers each create one customer into "north" at once.
    Returns the problems found in the store afterwards."""
    at = START + timedelta(minutes=round_)
    steps = [
        [Step("create_public", "boss", f"r{round_}w{worker}", pool_id="north")]
        for worker in range(processes)
    ]
    outcomes: list[Outcome] = flat(crew.run(at, steps))
    problems = [f"round {round_}: {o.error}: {o.message}" for o in outcomes if o.error]
    held = holdings(store)
    for rep, count in held.items():
        if count > CAPS[rep]:
            problems.append(f"round {round_}: {rep} holds {count}, cap {CAPS[rep]}")
    for rep in CAPS:
        for other in CAPS:
            if held[rep] < CAPS[rep] and held[rep] + 1 < held[other]:
                problems.append(f"round {round_}: {rep} ({held[rep]}) behind {other}")
    return problems


def judge_turns(store: Store, created: int) -> list[str]:
    """Every automatic assignment's reason names the rep chosen before it ("next after
    r1"): read as steps from rep to rep, they must make one walk from "first in turn",
    so each rep is left as often as they were chosen, except the last one chosen. A turn
    handed out twice (two assignments reading the same last rep) breaks that balance."""
    with store.unit_of_work() as uow:
        events = [
            event
            for customer_id in uow.events.customer_ids()
            for event in uow.events.history(customer_id)
            if isinstance(event, Assigned)
        ]
    held = holdings(store)
    problems = []
    owned = sum(held.values())
    if owned != min(created, CAPACITY) or len(events) != owned:
        problems.append(f"{created} created, {owned} owned, {len(events)} assigned")
    chosen = Counter(event.rep_id for event in events)
    left: Counter[str | None] = Counter()
    for event in events:
        found = re.match(r"round robin: (?:first in turn|next after (\w+))", event.reason)
        if found is None:
            problems.append(f"unexpected reason {event.reason!r}")
            continue
        left[found.group(1)] += 1
    if left[None] != 1:
        problems.append(f"{left[None]} assignments were first in turn")
    unbalanced = {rep: chosen[rep] - left[rep] for rep in CAPS if chosen[rep] != left[rep]}
    if list(unbalanced.values()) != [1]:
        problems.append(f"the turns do not make one walk: chosen minus left {unbalanced}")
    return problems


def test_processes_creating_into_an_auto_assigned_pool_stay_fair_and_within_caps(
    tmp_path: Path, say: Say
) -> None:
    processes, rounds = 6, 4  # 24 creates for 18 places: the cap boundary is crossed
    path = tmp_path / "pool.db"
    policy = assignment_policy()
    problems: list[str] = []
    with SqliteStore(path) as store:
        assignment_service(store, policy)
        with Crew(str(path), policy, START, processes) as crew:
            for round_ in range(rounds):
                problems += assignment_round(store, crew, round_, processes)
        problems += judge_turns(store, processes * rounds)
        held = holdings(store)
    say(
        f"sqlite assignment race: {rounds} rounds x {processes} processes into one pool: "
        + ", ".join(f"{rep} {held[rep]}/{CAPS[rep]}" for rep in sorted(CAPS))
    )
    assert problems == []
    assert held == Counter(CAPS)
    assert crew.exit_codes == [0] * processes
