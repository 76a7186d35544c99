"""Races on a real PostgreSQL server, from eight worker processes released together.

The same harness as the SQLite races (tests/_workers.py: spawned processes, each with its
own store and service, a barrier per round), and the same judges (tests/stores/test_concurrency.py),
with eight processes instead of six and a store whose units of work run side by side. Every
race prints its counts.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from test_concurrency import (
    CLAIMER,
    FOLLOWED_PER_OWNER,
    OWNERS,
    PER_OWNER,
    STALE_DAYS,
    START,
    boss_service,
    claim_limit_round,
    flat,
    hold,
    judge_claim_race,
    judge_sweep_race,
    policy_doc,
    public_ids,
    sweep_race_round,
)

from _workers import Crew, Outcome, Step
from poolkit.model.customer import IdentityKey
from poolkit.ports import Store
from poolkit.stores import open_store
from poolkit.stores.postgres import PostgresStore

PROCESSES = 8
CLAIM_ROUNDS = 40
CAP_ROUNDS = 30
LIMIT_ROUNDS = 30
CREATE_ROUNDS = 30
SWEEP_ROUNDS = 20
SWEEPERS = 4

Say = Callable[[str], None]


def other_errors(outcomes: list[Outcome], expected: str) -> list[str]:
    return [o.message for o in outcomes if o.error is not None and o.error != expected]


def test_eight_processes_claim_one_customer_and_exactly_one_wins(
    location: str, store: Store, say: Say
) -> None:
    reps = [f"rep{index}" for index in range(PROCESSES)]
    policy = policy_doc()
    tally: Counter[str] = Counter()
    wins: Counter[str] = Counter()
    problems: list[str] = []
    service, clock = boss_service(store, policy, reps)
    with Crew(location, policy, START, PROCESSES) as crew:
        for round_ in range(CLAIM_ROUNDS):
            at = START + timedelta(minutes=round_)
            clock.set(at)
            customer = service.create("boss", f"Shop {round_}", public=True)
            outcomes = crew.run(at, [[Step("claim", rep, customer.id)] for rep in reps])
            problems += judge_claim_race(store, customer.id, flat(outcomes), tally, wins)
    say(
        f"postgres claim race: {CLAIM_ROUNDS} rounds x {PROCESSES} processes: "
        f"{tally['winners']} winners, {tally['WrongStateError']} WrongStateError naming the "
        f"winner, {tally['other']} other; rounds won: "
        + ", ".join(f"{rep} {wins[rep]}" for rep in reps)
    )
    assert problems == []
    assert tally["winners"] == CLAIM_ROUNDS
    assert crew.exit_codes == [0] * PROCESSES


def test_eight_processes_claiming_for_one_rep_never_pass_the_cap(
    location: str, store: Store, say: Say
) -> None:
    cap = 10
    policy = policy_doc(caps={"per_rep": {"li": cap}})
    rng = random.Random(20261130)
    tally: Counter[str] = Counter()
    problems: list[str] = []
    service, clock = boss_service(store, policy, ["li"])
    for number in range(cap + PROCESSES):
        service.create("boss", f"Shop {number}", public=True)
    with Crew(location, policy, START, PROCESSES) as crew:
        for round_ in range(CAP_ROUNDS):
            at = START + timedelta(minutes=round_)
            clock.set(at)
            room = rng.randint(0, PROCESSES)
            hold(service, "li", cap - room)
            targets = public_ids(service, PROCESSES)
            outcomes = flat(crew.run(at, [[Step("claim", "li", t)] for t in targets]))
            won = sum(1 for outcome in outcomes if outcome.error is None)
            held = len(service.private_pool("li"))
            tally["room"] += room
            tally["claimed"] += won
            tally["highest"] = max(tally["highest"], held)
            if won != room or held != cap:
                problems.append(f"round {round_}: room for {room}, {won} won, holds {held}")
            for outcome in outcomes:
                if outcome.error is None:
                    continue
                tally[outcome.error] += 1
                if (outcome.error, outcome.count, outcome.limit) != ("CapExceeded", cap, cap):
                    problems.append(f"round {round_}: {outcome}")
    say(
        f"postgres cap race: {CAP_ROUNDS} rounds x {PROCESSES} processes for one rep, cap "
        f"{cap}: room for {tally['room']}, {tally['claimed']} claimed, "
        f"{tally['CapExceeded']} CapExceeded; the most ever held: {tally['highest']}"
    )
    assert problems == []
    assert crew.exit_codes == [0] * PROCESSES


def test_eight_processes_claiming_for_one_rep_never_pass_the_claim_limit(
    location: str, store: Store, say: Say
) -> None:
    limit = 5
    policy = policy_doc(claim_limit={"window_days": 1, "per_rep": {"wang": limit}})
    rng = random.Random(20261201)
    tally: Counter[str] = Counter()
    problems: list[str] = []
    service, clock = boss_service(store, policy, ["wang"])
    for number in range(limit + PROCESSES):
        service.create("boss", f"Shop {number}", public=True)
    with Crew(location, policy, START, PROCESSES) as crew:
        for round_ in range(LIMIT_ROUNDS):
            problems += claim_limit_round(
                service, clock, store, crew, rng, round_, limit, PROCESSES, tally
            )
    say(
        f"postgres claim-limit race: {LIMIT_ROUNDS} rounds x {PROCESSES} processes for one rep, "
        f"limit {limit}/day: {tally['left']} claims left, {tally['claimed']} claimed, "
        f"{tally['ClaimLimitExceeded']} ClaimLimitExceeded; the most claims in one window: "
        f"{tally['most in a window']}"
    )
    assert problems == []
    assert crew.exit_codes == [0] * PROCESSES


def spellings(national: str) -> list[str]:
    """One mobile number (11 digits) written eight ways; each normalises to +86 and it."""
    a, b, c = national[:3], national[3:7], national[7:]
    return [
        f"+86 {a} {b} {c}",
        national,
        f"{a}-{b}-{c}",
        f"+86-{a}-{b}-{c}",
        f"(+86) {a} {b} {c}",
        f"0086 {a} {b} {c}",
        f"{a} {b} {c}",
        f"86 {national}",
    ]


def test_eight_creates_of_one_phone_written_differently_make_one_customer(
    location: str, store: Store, say: Say
) -> None:
    reps = [f"rep{index}" for index in range(PROCESSES)]
    policy = policy_doc()
    tally: Counter[str] = Counter()
    problems: list[str] = []
    _, clock = boss_service(store, policy, reps)
    with Crew(location, policy, START, PROCESSES) as crew:
        for round_ in range(CREATE_ROUNDS):
            at = START + timedelta(minutes=round_)
            clock.set(at)
            # A new number each round, spelled eight ways.
            number = f"{13800138000 + round_:011d}"
            steps = [
                [Step("create", rep, keys=(("phone", spelling),))]
                for rep, spelling in zip(reps, spellings(number), strict=True)
            ]
            outcomes = flat(crew.run(at, steps))
            made = [o for o in outcomes if o.error is None]
            refused = [o for o in outcomes if o.error == "CollisionError"]
            tally["created"] += len(made)
            tally["CollisionError"] += len(refused)
            problems += other_errors(outcomes, "CollisionError")
            with store.unit_of_work() as uow:
                holders = uow.customers.with_keys(frozenset({IdentityKey("phone", f"+86{number}")}))
            tally["holders"] += len(holders)
            if len(made) != 1 or len(holders) != 1 or holders[0].id != made[0].customer_id:
                problems.append(f"round {round_}: made {made}, stored holders {holders}")
                continue
            winner = made[0]
            for outcome in refused:
                if (outcome.customer_id, outcome.owner_id) != (
                    winner.customer_id,
                    winner.step.actor_id,
                ):
                    problems.append(f"round {round_}: {outcome} does not name {winner}")
    say(
        f"postgres create race: {CREATE_ROUNDS} rounds x {PROCESSES} processes creating one "
        f"phone spelled {PROCESSES} ways: {tally['created']} created, "
        f"{tally['CollisionError']} CollisionError naming the one created, "
        f"{tally['holders']} customers holding the phones"
    )
    assert problems == []
    assert tally["created"] == CREATE_ROUNDS
    assert crew.exit_codes == [0] * PROCESSES


def test_four_sweepers_racing_follow_ups_and_a_claimer_lose_nothing(
    location: str, store: Store, say: Say
) -> None:
    """Thirty customers fall due; at that instant four processes sweep (batches of four),
    three owners follow up seven of their ten each, and a colleague claims all thirty. The
    judge is the SQLite race's: every follow-up kept, none dropped just after its
    follow-up, each drop made and reported once, nothing left due."""
    policy = policy_doc(
        drop_rules=[{"name": "stale-15", "kind": "no_follow_up", "days": STALE_DAYS}]
    )
    rng = random.Random(20261202)
    tally: Counter[str] = Counter()
    problems: list[str] = []
    sweepers_dropping: Counter[int] = Counter()
    service, clock = boss_service(store, policy, [*OWNERS, CLAIMER])
    assert SWEEPERS + len(OWNERS) + 1 == PROCESSES
    with Crew(location, policy, START, PROCESSES, sweep_batch=4) as crew:
        for round_ in range(SWEEP_ROUNDS):
            everyone, deadline, steps = sweep_race_round(service, clock, rng, round_, SWEEPERS)
            outcomes = crew.run(deadline, steps)
            sweepers_dropping[sum(1 for o in flat(outcomes[:SWEEPERS]) if o.dropped)] += 1
            problems += judge_sweep_race(
                store, service.policy, deadline, everyone, outcomes, tally, sweepers=SWEEPERS
            )
    say(
        f"postgres sweep race: {SWEEP_ROUNDS} rounds, {PER_OWNER * len(OWNERS)} due each, "
        f"{SWEEPERS} sweepers + {len(OWNERS)} following up + 1 claiming: "
        f"{tally['follow-ups']} of {SWEEP_ROUNDS * FOLLOWED_PER_OWNER * len(OWNERS)} follow-ups "
        f"kept; {tally['saved by a follow-up']} saved by a follow-up, "
        f"{tally['followed up after the drop']} followed up after their drop, "
        f"{tally['dropped, not followed up']} dropped unfollowed; "
        f"{tally['dropped after a follow-up']} dropped after a follow-up; claims "
        f"{tally['claims won']} won, {tally['claims refused']} WrongStateError; rounds by how "
        "many sweepers dropped someone: "
        + ", ".join(f"{n}: {sweepers_dropping[n]}" for n in sorted(sweepers_dropping))
    )
    assert problems == []
    assert crew.exit_codes == [0] * PROCESSES
    assert tally["saved by a follow-up"] > 0


def test_the_harness_reaches_the_postgres_store(location: str) -> None:
    # The workers open their stores from this URL; a typo in it would make every race
    # above pass vacuously against nothing, so prove it names a PostgresStore schema.
    with open_store(location) as opened:
        assert isinstance(opened, PostgresStore)
        assert opened.schema != "poolkit"
