"""Real concurrency: several OS processes on one SQLite file, released together.

Each race starts a crew of worker processes (tests/_workers.py, "spawn" method, each with
its own SqliteStore and PoolService) and runs many rounds. In every round the test process
prepares the database, hands each worker its steps, and a barrier releases all workers at
once; then the test checks the outcomes against the stored state and the history. Every
race prints one line with its counts, and collects every violation before asserting, so
a failure shows all of them and the counts too.

The same claim race runs on one MemoryStore with threads, whose units of work are
serialised by a lock instead of by SQLite's write lock. The last tests check, with a
store that records its calls, what makes the races come out right: a decision and the
write it allows share one unit of work.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from _workers import ZONE, Crew, Outcome, Step, run_step
from poolkit import Customer, ManualClock, MemoryStore, Policy, PoolService, Team
from poolkit.events import replay
from poolkit.model.events import Claimed, Dropped, Event, FollowedUp
from poolkit.policy import rules
from poolkit.ports import Store
from poolkit.stores.sqlite import SqliteStore

START = datetime(2026, 3, 2, 9, 0, tzinfo=ZONE)
PROCESSES = 6
# Rounds per test: enough for the outcome of a race to vary (which process wins, how
# many fit under the cap), few enough for the file to run in about half a minute on two
# cores.
CLAIM_ROUNDS = 50
CAP_ROUNDS = 40
LIMIT_ROUNDS = 40
SWEEP_ROUNDS = 30
THREAD_ROUNDS = 50
THREADS = 8

# What the ``say`` fixture (tests/conftest.py) is: it prints counts past pytest's capture.
Say = Callable[[str], None]


def policy_doc(**extra: Any) -> dict[str, Any]:
    # Look-alike reviews are off: every customer here is a "Shop <n>", and the review list
    # is not what these tests race for.
    return {"timezone": "Asia/Shanghai", "similarity": {"enabled": False}, **extra}


def team(reps: Iterable[str]) -> Team:
    """An admin, "boss", and ``reps``, all members of one claimable pool, "main"."""
    members = sorted(set(reps))
    return Team.from_dict(
        {
            "reps": [{"id": "boss", "admin": True}]
            + [{"id": rep, "supervisor": "boss"} for rep in members],
            "pools": [{"id": "main", "default": True, "members": members, "managers": ["boss"]}],
        }
    )


def boss_service(
    store: Store, policy: Mapping[str, Any], reps: Iterable[str]
) -> tuple[PoolService, ManualClock]:
    """The test process's own service: it sets the team up and prepares every round."""
    clock = ManualClock(START)
    service = PoolService(store, Policy.from_dict(policy), clock)
    service.setup(team(reps))
    return service, clock


def flat(outcomes: Iterable[list[Outcome]]) -> list[Outcome]:
    return [outcome for worker in outcomes for outcome in worker]


def history_of(store: Store, customer_id: str) -> tuple[Customer | None, list[Event]]:
    with store.unit_of_work() as uow:
        return uow.customers.get(customer_id), uow.events.history(customer_id)


# ---------------------------------------------------------------------------- claim race


def judge_claim_race(
    store: Store,
    customer_id: str,
    outcomes: list[Outcome],
    tally: Counter[str],
    wins: Counter[str],
) -> list[str]:
    """One winner; every loser told the winner's name by a WrongStateError; one Claimed
    event, by the winner, at the version the winner was told; the state is the replay."""
    problems = []
    winners = [outcome for outcome in outcomes if outcome.error is None]
    tally["winners"] += len(winners)
    for outcome in outcomes:
        if outcome.error == "WrongStateError":
            tally["WrongStateError"] += 1
        elif outcome.error is not None:
            tally["other"] += 1
            problems.append(f"{customer_id}: {outcome.step.actor_id} got {outcome.message}")
    if len(winners) != 1:
        return [*problems, f"{customer_id}: {len(winners)} winners"]
    winner = winners[0]
    wins[winner.step.actor_id] += 1
    for outcome in outcomes:
        if outcome.error == "WrongStateError" and outcome.owner_id != winner.step.actor_id:
            problems.append(
                f"{customer_id}: {outcome.step.actor_id} was told the owner is "
                f"{outcome.owner_id}, but {winner.step.actor_id} won"
            )
    stored, history = history_of(store, customer_id)
    claims = [event for event in history if isinstance(event, Claimed)]
    if [(c.rep_id, c.seq) for c in claims] != [(winner.step.actor_id, winner.version)]:
        problems.append(f"{customer_id}: Claimed events {claims}, winner {winner}")
    if stored is None or stored.owner_id != winner.step.actor_id or stored != replay(history):
        problems.append(f"{customer_id}: stored {stored} is not the replay of {history}")
    return problems


def test_many_processes_claim_one_customer_and_exactly_one_wins(tmp_path: Path, say: Say) -> None:
    reps = [f"rep{index}" for index in range(PROCESSES)]
    path = tmp_path / "pool.db"
    policy = policy_doc()
    tally: Counter[str] = Counter()
    wins: Counter[str] = Counter()
    problems: list[str] = []
    with SqliteStore(path) as store:
        service, clock = boss_service(store, policy, reps)
        with Crew(str(path), policy, START, PROCESSES) as crew:
            for round_ in range(CLAIM_ROUNDS):
                at = START + timedelta(minutes=round_)
                clock.set(at)
                customer = service.create("boss", f"Shop {round_}", public=True)
                outcomes = crew.run(at, [[Step("claim", rep, customer.id)] for rep in reps])
                problems += judge_claim_race(store, customer.id, flat(outcomes), tally, wins)
    say(
        f"claim race: {CLAIM_ROUNDS} rounds x {PROCESSES} processes: {tally['winners']} winners, "
        f"{tally['WrongStateError']} WrongStateError, {tally['other']} other; "
        f"rounds won: {', '.join(f'{rep} {wins[rep]}' for rep in reps)}"
    )
    assert problems == []
    assert tally["winners"] == CLAIM_ROUNDS
    assert crew.exit_codes == [0] * PROCESSES


def test_many_threads_claim_one_customer_on_a_memory_store(say: Say) -> None:
    reps = [f"rep{index}" for index in range(THREADS)]
    store = MemoryStore()
    service, clock = boss_service(store, policy_doc(), reps)
    tally: Counter[str] = Counter()
    wins: Counter[str] = Counter()
    problems: list[str] = []
    barrier = threading.Barrier(THREADS)

    def claim_together(step: Step) -> Outcome:
        barrier.wait(60)
        return run_step(service, step)

    with ThreadPoolExecutor(THREADS) as threads:
        for round_ in range(THREAD_ROUNDS):
            clock.set(START + timedelta(minutes=round_))
            customer = service.create("boss", f"Shop {round_}", public=True)
            steps = [Step("claim", rep, customer.id) for rep in reps]
            outcomes = list(threads.map(claim_together, steps))
            problems += judge_claim_race(store, customer.id, outcomes, tally, wins)
    say(
        f"claim race (threads, MemoryStore): {THREAD_ROUNDS} rounds x {THREADS} threads: "
        f"{tally['winners']} winners, {tally['WrongStateError']} WrongStateError, "
        f"{tally['other']} other"
    )
    assert problems == []
    assert tally["winners"] == THREAD_ROUNDS


# ---------------------------------------------------------------------------- cap, claim limit


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


def test_processes_claiming_for_one_rep_never_exceed_the_cap(tmp_path: Path, say: Say) -> None:
    """Each round the rep holds ``cap - room`` customers and six processes claim six
    different customers for that rep at once: exactly ``room`` claims win, each other is
    refused with CapExceeded having counted a full book, and the rep ends at the cap."""
    cap = 10
    path = tmp_path / "pool.db"
    policy = policy_doc(caps={"per_rep": {"li": cap}})
    rng = random.Random(20260302)
    tally: Counter[str] = Counter()
    problems: list[str] = []
    with SqliteStore(path) as store:
        service, clock = boss_service(store, policy, ["li"])
        for number in range(cap + PROCESSES):
            service.create("boss", f"Shop {number}", public=True)
        with Crew(str(path), policy, START, PROCESSES) as crew:
            for round_ in range(CAP_ROUNDS):
                at = START + timedelta(minutes=round_)
                clock.set(at)
                room = rng.randint(0, PROCESSES)
                hold(service, "li", cap - room)
                targets = public_ids(service, PROCESSES)
                outcomes = flat(crew.run(at, [[Step("claim", "li", t)] for t in targets]))
                wins = sum(1 for outcome in outcomes if outcome.error is None)
                held = len(service.private_pool("li"))
                tally["claimed"] += wins
                tally["room"] += room
                if wins != room or held != cap:
                    problems.append(f"round {round_}: room for {room}, {wins} won, holds {held}")
                for outcome in outcomes:
                    if outcome.error is None:
                        continue
                    tally[outcome.error] += 1
                    if (outcome.error, outcome.count, outcome.limit) != ("CapExceeded", cap, cap):
                        problems.append(f"round {round_}: {outcome}")
    other = sum(n for key, n in tally.items() if key not in ("claimed", "room", "CapExceeded"))
    say(
        f"cap race: {CAP_ROUNDS} rounds x {PROCESSES} processes for one rep, cap {cap}: "
        f"room for {tally['room']}, {tally['claimed']} claimed, "
        f"{tally['CapExceeded']} CapExceeded, {other} other"
    )
    assert problems == []
    assert crew.exit_codes == [0] * PROCESSES


def claim_limit_round(
    service: PoolService,
    clock: ManualClock,
    store: Store,
    crew: Crew,
    rng: random.Random,
    round_: int,
    limit: int,
    processes: int,
    tally: Counter[str],
) -> list[str]:
    """One round of the claim-limit race, two days after the last: "wang" holds nothing
    and has a random number of claims left in the window; then ``processes`` workers claim
    for him at once. Exactly the claims left must succeed, the window must end full, and
    every refusal must be a ClaimLimitExceeded naming when the next claim is possible.
    Counts go into ``tally``; returns the problems found."""
    problems: list[str] = []
    at = START + timedelta(days=2 * round_)
    clock.set(at)
    hold(service, "wang", 0)
    left = rng.randint(0, limit)
    for customer_id in public_ids(service, limit - left):
        service.claim("wang", customer_id)
    targets = public_ids(service, processes)
    outcomes = flat(crew.run(at, [[Step("claim", "wang", t)] for t in targets]))
    won = sum(1 for outcome in outcomes if outcome.error is None)
    with store.unit_of_work() as uow:
        claim_times = uow.events.claims_by("wang", at - timedelta(days=2))
    in_window = rules.claims_in_window(claim_times, at, service.policy)
    tally["left"] += left
    tally["claimed"] += won
    tally["most in a window"] = max(tally["most in a window"], len(in_window))
    if won != min(left, processes) or len(in_window) != limit:
        problems.append(f"round {round_}: {left} left, {won} won, {len(in_window)} in the window")
    for outcome in outcomes:
        if outcome.error is None:
            continue
        tally[outcome.error] += 1
        refusal = (outcome.error, outcome.limit, outcome.next_claim_at)
        if refusal != ("ClaimLimitExceeded", limit, at + timedelta(days=1)):
            problems.append(f"round {round_}: {outcome}")
    return problems


def test_processes_claiming_for_one_rep_never_exceed_the_claim_limit(
    tmp_path: Path, say: Say
) -> None:
    """Each round (two days apart, so the one-day window starts empty) the rep first makes
    ``limit - left`` claims, then six processes claim for the rep at the same instant:
    exactly ``left`` win, and every other is refused with ClaimLimitExceeded naming the
    moment the window frees up."""
    limit = 5
    path = tmp_path / "pool.db"
    policy = policy_doc(claim_limit={"window_days": 1, "per_rep": {"wang": limit}})
    rng = random.Random(20260303)
    tally: Counter[str] = Counter()
    problems: list[str] = []
    with SqliteStore(path) as store:
        service, clock = boss_service(store, policy, ["wang"])
        for number in range(limit + PROCESSES):
            service.create("boss", f"Shop {number}", public=True)
        with Crew(str(path), policy, START, PROCESSES) as crew:
            for round_ in range(LIMIT_ROUNDS):
                problems += claim_limit_round(
                    service, clock, store, crew, rng, round_, limit, PROCESSES, tally
                )
    other = sum(
        n
        for key, n in tally.items()
        if key not in ("claimed", "left", "ClaimLimitExceeded", "most in a window")
    )
    say(
        f"claim-limit race: {LIMIT_ROUNDS} rounds x {PROCESSES} processes for one rep, "
        f"limit {limit}/day: {tally['left']} claims left, {tally['claimed']} claimed, "
        f"{tally['ClaimLimitExceeded']} ClaimLimitExceeded, {other} other"
    )
    assert problems == []
    assert crew.exit_codes == [0] * PROCESSES


# ---------------------------------------------------------------------------- sweep race

OWNERS = ("zhao", "qian", "sun")
PER_OWNER = 10
FOLLOWED_PER_OWNER = 7  # the other three are left to drop
CLAIMER = "zhou"
SWEEPERS = 2  # as when a scheduler starts the sweep twice
STALE_DAYS = 15


def sweep_race_round(
    service: PoolService, clock: ManualClock, rng: random.Random, round_: int, sweepers: int
) -> tuple[list[str], datetime, list[list[Step]]]:
    """One round of the sweep race: each owner takes ``PER_OWNER`` customers an hour after
    the last round's (so each round's customers fall due in their own round only); then
    ``sweepers`` sweeps, a follow-up of most customers by their owners, and a colleague
    claiming every one, all at their deadline. Returns the customers, the deadline and
    each worker's steps."""
    taken = START + timedelta(hours=round_)
    clock.set(taken)
    by_owner = {
        owner: [
            service.create(
                owner, f"Shop {round_}-{owner}-{n}", customer_id=f"r{round_}-{owner}-{n}"
            ).id
            for n in range(PER_OWNER)
        ]
        for owner in OWNERS
    }
    everyone = [cid for owned in by_owner.values() for cid in owned]
    steps = [
        *([Step("sweep")] for _ in range(sweepers)),
        *(
            [Step("follow_up", owner, c) for c in rng.sample(owned, FOLLOWED_PER_OWNER)]
            for owner, owned in by_owner.items()
        ),
        [Step("claim", CLAIMER, cid) for cid in rng.sample(everyone, len(everyone))],
    ]
    return everyone, taken + timedelta(days=STALE_DAYS), steps


def events_of(history: list[Event], kind: type[Event]) -> Iterator[tuple[int, Event]]:
    return ((index, event) for index, event in enumerate(history) if isinstance(event, kind))


def judge_sweep_race(
    store: Store,
    policy: Policy,
    deadline: datetime,
    customer_ids: list[str],
    outcomes: list[list[Outcome]],
    tally: Counter[str],
    sweepers: int = SWEEPERS,
) -> list[str]:
    """The outcomes are those of ``sweepers`` sweeping processes, then of the following-up
    ones, then of the claimer."""
    problems: list[str] = []
    sweeps = flat(outcomes[:sweepers])
    follow_ups = flat(outcomes[sweepers:-1])
    claims = outcomes[-1]
    for sweep in sweeps:
        if sweep.error is not None:
            problems.append(f"a sweep failed: {sweep.message}")
    histories = {cid: history_of(store, cid) for cid in customer_ids}
    # Every follow-up that returned success is in the history, where it said it was.
    for outcome in follow_ups:
        stored, history = histories[outcome.step.customer_id]
        if outcome.error is not None or outcome.version is None:
            problems.append(f"a follow-up failed: {outcome}")
            continue
        tally["follow-ups"] += 1
        event = history[outcome.version - 1]
        if not (
            isinstance(event, FollowedUp)
            and event.actor_id == outcome.step.actor_id
            and event.at == deadline
        ):
            problems.append(f"follow-up {outcome} is not in the history: {event}")
    for outcome in claims:
        if outcome.error == "WrongStateError":
            tally["claims refused"] += 1
            continue
        if outcome.error is not None or outcome.version is None:
            problems.append(f"a claim failed otherwise: {outcome}")
            continue
        tally["claims won"] += 1
        event = histories[outcome.step.customer_id][1][outcome.version - 1]
        if not (isinstance(event, Claimed) and event.rep_id == CLAIMER):
            problems.append(f"claim {outcome} is not in the history: {event}")
    dropped = set()
    for customer_id, (stored, history) in histories.items():
        if stored is None or stored != replay(history):
            problems.append(f"{customer_id}: stored {stored} is not the replay of {history}")
        drops = list(events_of(history, Dropped))
        follow_up_at = [index for index, _ in events_of(history, FollowedUp)]
        for index, event in drops:
            dropped.add(customer_id)
            # The state the sweep decided on is the one just before its event; with a
            # follow-up in it, the customer was not due and must not have dropped.
            before = replay(history[:index])
            assert before is not None
            if not rules.evaluate_drop(before, policy, event.at).allowed:
                problems.append(f"{customer_id} dropped while not due: {history}")
        if len(drops) > 1:
            problems.append(f"{customer_id} dropped twice: {history}")
        if drops and follow_up_at:
            late = follow_up_at[0] > drops[0][0]
            tally["followed up after the drop" if late else "dropped after a follow-up"] += 1
        elif follow_up_at:
            tally["saved by a follow-up"] += 1
        elif drops:
            tally["dropped, not followed up"] += 1
    # Each drop was made, and reported, by exactly one of the sweeps.
    reported = [customer_id for sweep in sweeps for customer_id in sweep.dropped]
    if sorted(reported) != sorted(dropped):
        problems.append(f"the sweeps reported {sorted(reported)}, history {sorted(dropped)}")
    tally["rounds both sweeps dropped"] += all(sweep.dropped for sweep in sweeps)
    with store.unit_of_work() as uow:
        left = uow.customers.due(deadline, 1)
    if left:
        problems.append(f"still due after the sweep: {left}")
    return problems


def test_a_sweep_racing_follow_ups_and_claims_loses_nothing(tmp_path: Path, say: Say) -> None:
    """Thirty customers reach their deadline. At that instant two processes sweep (in
    batches of four), three owners each follow up seven of their ten customers in random
    order, and a colleague tries to claim every one of the thirty. Afterwards: every
    follow-up succeeded and is in the history; no customer dropped with a follow-up
    before the drop that made it not due; each drop was made and reported by one sweep
    only; nothing is left due."""
    path = tmp_path / "pool.db"
    policy = policy_doc(
        drop_rules=[{"name": "stale-15", "kind": "no_follow_up", "days": STALE_DAYS}]
    )
    rng = random.Random(20260304)
    tally: Counter[str] = Counter()
    problems: list[str] = []
    with SqliteStore(path) as store:
        service, clock = boss_service(store, policy, [*OWNERS, CLAIMER])
        with Crew(str(path), policy, START, PROCESSES, sweep_batch=4) as crew:
            for round_ in range(SWEEP_ROUNDS):
                # An hour apart: each round's customers fall due in their own round only.
                everyone, deadline, steps = sweep_race_round(service, clock, rng, round_, SWEEPERS)
                outcomes = crew.run(deadline, steps)
                problems += judge_sweep_race(
                    store, service.policy, deadline, everyone, outcomes, tally
                )
    say(
        f"sweep race: {SWEEP_ROUNDS} rounds, {PER_OWNER * len(OWNERS)} customers due each, "
        f"{SWEEPERS} sweeping + {len(OWNERS)} following up + 1 claiming process: "
        f"{tally['follow-ups']} of {SWEEP_ROUNDS * FOLLOWED_PER_OWNER * len(OWNERS)} "
        "follow-ups succeeded and were checked against the history; "
        f"{tally['saved by a follow-up']} saved by a follow-up before the sweep read them, "
        f"{tally['followed up after the drop']} followed up after their drop, "
        f"{tally['dropped, not followed up']} dropped and never followed up; "
        f"claims: {tally['claims won']} won after the drop, {tally['claims refused']} "
        f"WrongStateError; {tally['dropped after a follow-up']} dropped after a follow-up; "
        f"both sweeps dropped someone in {tally['rounds both sweeps dropped']} rounds"
    )
    assert problems == []
    assert crew.exit_codes == [0] * PROCESSES
    # The race was real: the sweep overtook some follow-ups and was overtaken by others.
    assert tally["saved by a follow-up"] > 0
    assert tally["followed up after the drop"] > 0


# ---------------------------------------------------------------------------- one transaction


class RecordingStore:
    """A store that passes everything to ``inner`` and logs every repository call (with
    its arguments and result) and every commit, numbered by the unit of work it ran in."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.opened = 0
        self.log: list[tuple[int, str, Any]] = []

    def unit_of_work(self) -> RecordingUnitOfWork:
        self.opened += 1
        return RecordingUnitOfWork(self, self.inner.unit_of_work(), self.opened)


class _Recorder:
    def __init__(self, uow: RecordingUnitOfWork, name: str, inner: Any) -> None:
        self._uow, self._name, self._inner = uow, name, inner

    def __getattr__(self, method: str) -> Callable[..., Any]:
        call = getattr(self._inner, method)

        def recorded(*args: Any, **kwargs: Any) -> Any:
            result = call(*args, **kwargs)
            self._uow.record(f"{self._name}.{method}", (args, result))
            return result

        return recorded


class RecordingUnitOfWork:
    def __init__(self, store: RecordingStore, inner: Any, number: int) -> None:
        self._store, self._inner, self.number = store, inner, number
        for name in ("customers", "reps", "pools", "events", "settings", "reviews"):
            setattr(self, name, _Recorder(self, name, getattr(inner, name, None)))

    def record(self, call: str, detail: Any) -> None:
        self._store.log.append((self.number, call, detail))

    def __enter__(self) -> RecordingUnitOfWork:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._inner.__exit__(*exc)

    def lock_rep(self, rep_id: str) -> None:
        self.record("lock_rep", ((rep_id,), None))
        self._inner.lock_rep(rep_id)

    def lock_pool(self, pool_id: str) -> None:
        self.record("lock_pool", ((pool_id,), None))
        self._inner.lock_pool(pool_id)

    def read_ahead(self, **wanted: Any) -> None:
        for rep_id in wanted.get("lock_reps", ()):
            self.record("lock_rep", ((rep_id,), None))
        self._inner.read_ahead(**wanted)

    def commit(self) -> None:
        self.record("commit", ((), None))
        self._inner.commit()

    def rollback(self) -> None:
        self.record("rollback", ((), None))
        self._inner.rollback()


def recorded_service(
    policy: Mapping[str, Any], *, sweep_batch: int = 500
) -> tuple[PoolService, ManualClock, RecordingStore]:
    store = RecordingStore(MemoryStore())
    clock = ManualClock(START)
    service = PoolService(
        cast(Store, store), Policy.from_dict(policy), clock, sweep_batch=sweep_batch
    )
    service.setup(team(["li", "wang"]))
    return service, clock, store


def _public(service: PoolService) -> str:
    return service.create("boss", "Shop", public=True).id


# operation: (prepare, returning a customer id; act on that customer)
OPERATIONS: dict[str, tuple[Callable[[PoolService], str], Callable[[PoolService, str], object]]] = {
    "claim": (_public, lambda service, cid: service.claim("li", cid)),
    "assign": (_public, lambda service, cid: service.assign("boss", cid, "li")),
    "transfer": (
        lambda service: service.create("wang", "Shop").id,
        lambda service, cid: service.transfer("wang", cid, "li"),
    ),
    "create": (lambda service: "", lambda service, _: service.create("li", "Shop")),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_a_cap_or_claim_limit_decision_and_its_write_share_one_unit_of_work(
    operation: str,
) -> None:
    """Why the process races above cannot exceed a cap: the rep's holdings (and claims)
    are counted, checked and written over in one unit of work, which the store serialises.

    Checked directly, not only by racing: a service that read the count in one
    transaction and wrote in the next would mostly pass a race, because SQLite hands its
    write lock back to the process that just released it before a waiting process polls
    again. So: the operation opens exactly one unit of work, and in it locks li, then
    counts li's holdings (and, for a claim, reads li's claims) before writing, and commits
    last."""
    policy = policy_doc(caps={"default": 5}, claim_limit={"max_claims": 5, "window_days": 1})
    service, _, store = recorded_service(policy)
    prepare, act = OPERATIONS[operation]
    customer_id = prepare(service)
    opened = store.opened
    store.log.clear()
    act(service, customer_id)
    assert store.opened == opened + 1
    calls = [call for _, call, _ in store.log]
    counts = [
        index
        for index, (_, call, (args, _)) in enumerate(store.log)
        if call == "customers.holdings" and args == ("li",)
    ]
    locks = [
        index
        for index, (_, call, (args, _)) in enumerate(store.log)
        if call == "lock_rep" and args == ("li",)
    ]
    writes = [i for i, call in enumerate(calls) if call in ("customers.update", "customers.add")]
    assert counts and locks and writes
    assert locks[0] < counts[0] < writes[0]
    assert calls[-1] == "commit" and calls.count("commit") == 1
    if operation == "claim":
        assert calls.index("events.claims_by") < writes[0]


def test_a_sweep_writes_each_customer_in_the_unit_of_work_that_found_it_due() -> None:
    policy = policy_doc(
        drop_rules=[{"name": "stale-15", "kind": "no_follow_up", "days": STALE_DAYS}]
    )
    service, clock, store = recorded_service(policy, sweep_batch=3)
    for number in range(10):
        service.create("li", f"Shop {number}")
    clock.advance(days=STALE_DAYS)
    store.log.clear()
    assert len(service.sweep().dropped) == 10
    found: defaultdict[int, set[str]] = defaultdict(set)
    written: defaultdict[int, set[str]] = defaultdict(set)
    last_call: dict[int, str] = {}
    for unit, call, detail in store.log:
        last_call[unit] = call
        if call == "customers.due":
            found[unit] |= {customer.id for customer in detail[1]}
        elif call == "customers.update":
            written[unit].add(detail[0][0].id)
    # Batches of 3, 3, 3 and 1, then one that finds nothing due.
    assert [len(found[unit]) for unit in sorted(last_call)] == [3, 3, 3, 1, 0]
    assert written == {unit: ids for unit, ids in found.items() if ids}
    assert [last_call[unit] for unit in sorted(written)] == ["commit"] * 4
