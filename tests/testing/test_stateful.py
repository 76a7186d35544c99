"""The pool state machine (poolkit.testing.statemachine) run against the shipped stores,
plus every failure it has found, kept as plain tests that replay the steps.

POOLKIT_STATEFUL_EXAMPLES sets the number of examples of the main run (CI turns it up);
POOLKIT_STATEFUL_SQLITE_EXAMPLES that of the SQLite run.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from poolkit import Customer, ManualClock, MemoryStore, Policy, PoolService, Team
from poolkit.errors import CapExceeded, InvalidValueError
from poolkit.ports import CustomerQuery
from poolkit.stores.memory import MemoryUnitOfWork
from poolkit.stores.sqlite import SqliteStore
from poolkit.testing.statemachine import MACHINE_SETTINGS, PoolMachine, pool_machine

EXAMPLES = int(os.environ.get("POOLKIT_STATEFUL_EXAMPLES", "500"))
SQLITE_EXAMPLES = int(os.environ.get("POOLKIT_STATEFUL_SQLITE_EXAMPLES", "60"))
STEPS = 50

# Rules of all three kinds, scoped by grade and by pool, with warnings; small caps (with
# an override and locked customers not counted), 2 claims per 3 days, a 2-day cooldown.
# New York, so that deadlines cross DST changes.
POLICY = Policy.from_dict(
    {
        "timezone": "America/New_York",
        "drop_rules": [
            {"name": "quiet-3d", "kind": "no_follow_up", "days": 3, "warn_days": 1},
            {
                "name": "C-quiet-2d",
                "kind": "no_follow_up",
                "days": 2,
                "warn_days": 1,
                "grades": ["C", "D"],
            },
            {
                "name": "north-no-deal-5d",
                "kind": "no_first_deal",
                "days": 5,
                "warn_days": 2,
                "pools": ["north"],
            },
            {"name": "no-repeat-4d", "kind": "no_repeat_deal", "days": 4, "warn_days": 1},
            {
                "name": "E-no-deal-6d",
                "kind": "no_first_deal",
                "days": 6,
                "grades": ["E"],
                "exempt_if_dealt": True,
            },
        ],
        "caps": {"default": 3, "per_rep": {"li": 1}, "count_locked": False},
        "claim_limit": {"max_claims": 2, "window_days": 3, "per_rep": {"chen": 1}},
        "cooldown": {"days": 2},
    }
)

START_OF_DAY_POLICY = Policy.from_dict(
    {**POLICY.to_dict(), "timezone": "Europe/Berlin", "drop_time": "start_of_day"}
)

# An admin; a manager over two supervisors over reps; a members-claim default pool, an
# assign-only pool and a second members-claim pool; one rep in no pool at all.
TEAM = Team.from_dict(
    {
        "reps": [
            {"id": "admin", "admin": True},
            {"id": "boss"},
            {"id": "lead-n", "supervisor": "boss"},
            {"id": "lead-s", "supervisor": "boss", "cap": 2},
            {"id": "li", "supervisor": "lead-n"},
            {"id": "wang", "supervisor": "lead-n", "claim_limit": 3},
            {"id": "chen", "supervisor": "lead-s"},
            {"id": "zhao", "supervisor": "lead-s"},
            {"id": "outsider"},
        ],
        "pools": [
            {
                "id": "main",
                "default": True,
                "members": ["li", "wang", "chen", "lead-n"],
                "managers": ["lead-n"],
            },
            {
                "id": "north",
                "mode": "manager_assigns",
                "members": ["li", "wang", "zhao"],
                "managers": ["boss"],
            },
            {"id": "south", "members": ["chen", "zhao", "lead-s"], "managers": ["lead-s"]},
        ],
    }
)


def run_settings(examples: int) -> settings:
    # Deeper than the machine's default (more steps), and as fast to shrink.
    return settings(
        MACHINE_SETTINGS,
        max_examples=examples,
        stateful_step_count=STEPS,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def test_memory_store_with_the_default_policy() -> None:
    run_state_machine_as_test(
        pool_machine(policy=POLICY, team=TEAM), settings=run_settings(EXAMPLES)
    )


def test_memory_store_with_start_of_day_deadlines() -> None:
    run_state_machine_as_test(
        pool_machine(policy=START_OF_DAY_POLICY, team=TEAM),
        settings=run_settings(max(EXAMPLES // 4, 10)),
    )


def test_memory_store_with_random_policies_and_teams() -> None:
    run_state_machine_as_test(PoolMachine, settings=run_settings(max(EXAMPLES // 4, 10)))


def test_sqlite_store(tmp_path: Path) -> None:
    counter = itertools.count()

    def fresh_store() -> SqliteStore:
        return SqliteStore(tmp_path / f"pool-{next(counter)}.db")

    run_state_machine_as_test(
        pool_machine(policy=POLICY, team=TEAM, store_factory=fresh_store),
        settings=run_settings(SQLITE_EXAMPLES),
    )


def test_machine_accepts_a_fixed_start() -> None:
    start = datetime(2026, 11, 1, 0, 30, tzinfo=ZoneInfo("America/New_York"))
    machine = pool_machine(policy=POLICY, team=TEAM, start=start)
    assert machine.start == start and machine.policy is POLICY and machine.team is TEAM
    run_state_machine_as_test(machine, settings=run_settings(5))


def test_every_machine_runs_with_the_machine_settings_unless_told_otherwise() -> None:
    class MyMachine(PoolMachine):
        policy = POLICY

    for machine in (PoolMachine, pool_machine(policy=POLICY), MyMachine):
        assert machine.TestCase.settings is MACHINE_SETTINGS
    assert MACHINE_SETTINGS.report_multiple_bugs is False


# ----------------------------------------------------------------------------- planted bugs
# Two broken stores, as a user's own store might be broken, which the machine must catch
# with its own settings (as `pool_machine(...).TestCase` runs it) and report shrunk. The
# time to find and shrink each is printed, not asserted: the machine shares CI with others.


class _Customers:
    """Delegates to a memory store's customer repository; subclasses break one method."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


class _ForgetsTheLastOwned(_Customers):
    def find(self, query: CustomerQuery, limit: int | None = None) -> list[Customer]:
        found: list[Customer] = self._inner.find(query, limit)  # type: ignore[attr-defined]
        # The cap check reads a rep's book through this query: one customer short, a rep
        # at their cap gets one more.
        if query.owner_ids is not None:
            return found[:-1]
        return found


class _DueASecondLate(_Customers):
    def due(self, at: datetime, limit: int) -> list[Customer]:
        # A sweep exactly at a deadline does not see the customer: it drops a second late.
        found: list[Customer] = self._inner.due(  # type: ignore[attr-defined]
            at - timedelta(seconds=1), limit
        )
        return found


class CapBypassStore(MemoryStore):
    def unit_of_work(self) -> MemoryUnitOfWork:
        uow = super().unit_of_work()
        uow.customers = _ForgetsTheLastOwned(uow.customers)  # type: ignore[assignment]
        return uow


class LateDropStore(MemoryStore):
    def unit_of_work(self) -> MemoryUnitOfWork:
        uow = super().unit_of_work()
        uow.customers = _DueASecondLate(uow.customers)  # type: ignore[assignment]
        return uow


PLANTED_EXAMPLES = 2_000


@pytest.mark.parametrize(
    "store_factory",
    [
        CapBypassStore,
        LateDropStore,
    ],
    ids=["cap-bypass", "drop-a-second-late"],
)
def test_the_machine_finds_a_planted_bug_and_shrinks_it(
    store_factory: Callable[[], MemoryStore], say: Callable[[str], None]
) -> None:
    machine = pool_machine(policy=POLICY, team=TEAM, store_factory=store_factory)
    # The machine's own settings, with a budget large enough that a fixed seed finds the
    # bug: what is measured is the user's run, not one tuned for this test.
    budget = settings(
        machine.TestCase.settings,
        max_examples=PLANTED_EXAMPLES,
        derandomize=True,
        database=None,
    )
    started = time.perf_counter()
    # Any failure will do: the same machine passes on the unbroken store (above).
    with pytest.raises(AssertionError) as failure:
        run_state_machine_as_test(machine, settings=budget)
    elapsed = time.perf_counter() - started
    say(f"{store_factory.__name__}: found and shrunk in {elapsed:.1f} s: {failure.value}")


# ----------------------------------------------------------------------------- found failures
# Each failure the machine (or the rule properties) found in poolkit, replayed step by step.


def service_at(start: datetime, policy: Policy = POLICY) -> tuple[PoolService, ManualClock]:
    clock = ManualClock(start)
    service = PoolService(MemoryStore(), policy, clock)
    service.setup(TEAM)
    return service, clock


def store_contents(service: PoolService) -> tuple[object, ...]:
    with service.store.unit_of_work() as uow:
        customers = [
            (uow.customers.get(cid), uow.customers.schedule_of(cid)) for cid in uow.customers.ids()
        ]
        histories = [uow.events.history(cid) for cid in uow.events.customer_ids()]
        return customers, histories, uow.reps.all()


def test_unlocking_is_refused_when_it_would_put_the_owner_over_the_cap() -> None:
    """Found by the machine: under a policy where locked customers do not count toward the
    cap, li (cap 1) held a locked customer and took another; unlocking the first left li
    holding 2 of a cap of 1."""
    service, _ = service_at(datetime(2024, 1, 1, 9, 0, tzinfo=ZoneInfo("America/New_York")))
    first = service.create("boss", "Acme Trading")
    service.transfer("boss", first.id, "li")
    service.lock("boss", first.id)  # locked: no longer counts toward li's cap of 1
    second = service.create("li", "Globex")
    before = store_contents(service)
    with pytest.raises(CapExceeded) as refused:
        service.unlock("boss", first.id)
    assert (refused.value.rep_id, refused.value.cap, refused.value.count) == ("li", 1, 1)
    assert store_contents(service) == before
    service.return_to_pool("li", second.id, "not interested")
    assert not service.unlock("boss", first.id).locked


NEW_YORK = ZoneInfo("America/New_York")
ONE_DAY_QUIET = Policy.from_dict(
    {
        "timezone": "America/New_York",
        "drop_rules": [{"name": "quiet-1d", "kind": "no_follow_up", "days": 1}],
    }
)


def test_a_sweep_in_the_repeated_hour_drops_what_is_due() -> None:
    """Found by the rule properties: Python compares two datetimes of the same zone by wall
    time, ignoring fold. Due at 01:30 EDT, a sweep at 01:10 EST (40 minutes later, with the
    clock in the policy's zone) saw 01:10 < 01:30 and kept the customer; the sweep then met
    it again in its due index and failed."""
    service, clock = service_at(datetime(2026, 10, 31, 1, 30, tzinfo=NEW_YORK), ONE_DAY_QUIET)
    customer = service.create("li", "Acme Trading")
    clock.set(datetime(2026, 11, 1, 6, 10, tzinfo=UTC).astimezone(NEW_YORK))
    assert clock.now().fold == 1 and clock.now().hour == 1 and clock.now().minute == 10
    report = service.sweep()
    assert [item.customer_id for item in report.dropped] == [customer.id]
    assert service.customer(customer.id).is_public


def test_a_sweep_compares_instants_not_wall_times_in_the_repeated_hour() -> None:
    """The same trap at the door of sweep(at=...): at 01:10 EST, 01:20 EDT is in the past
    and may be swept; one real second after now is the future and may not."""
    service, clock = service_at(datetime(2026, 11, 1, 6, 10, tzinfo=UTC).astimezone(NEW_YORK))
    earlier_but_later_on_the_wall = datetime(2026, 11, 1, 1, 20, tzinfo=NEW_YORK)
    assert earlier_but_later_on_the_wall.astimezone(UTC) < clock.now().astimezone(UTC)
    assert service.sweep(earlier_but_later_on_the_wall).dropped == ()
    with pytest.raises(InvalidValueError):
        service.sweep(clock.now().astimezone(UTC) + timedelta(seconds=1))
