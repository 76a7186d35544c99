"""One drop-and-warning decision, ``rules.due_action``: the sweep runs it, the forecast
replays it, the dry run is the sweep rolled back. Properties over random books, policies
and times prove the three agree."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poolkit import (
    Customer,
    CustomerStatus,
    ManualClock,
    MemoryStore,
    Policy,
    PoolService,
    Rep,
    Team,
)
from poolkit.clock import utc
from poolkit.model.history import apply, replay
from poolkit.policy import rules
from poolkit.policy.rules import ActionKind, Drop, Reschedule, Warn
from poolkit.service.stored_policy import StoredPolicy, save
from poolkit.service.sweep import _forecast_one, _warned
from poolkit.stores.sqlite import SqliteStore
from poolkit.testing import strategies

START = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
REPS = ("li", "wang", "zhao")
POOLS = ("east", "north")


@st.composite
def books(draw: st.DrawFn) -> tuple[MemoryStore, Policy, datetime]:
    """A store holding a few customers with random histories, its policy stored as
    version 1 with every schedule computed from it, and an instant after every event."""
    policy = draw(
        strategies.policies(
            rep_ids=REPS, pool_ids=POOLS, max_rules=3, max_days=20, timezones=st.just("UTC")
        )
        | strategies.policies(rep_ids=REPS, pool_ids=POOLS, max_rules=3, max_days=20)
    )
    store = MemoryStore()
    latest: datetime | None = None
    with store.unit_of_work() as uow:
        for number in range(draw(st.integers(1, 5))):
            log = draw(
                strategies.histories(
                    rep_ids=REPS, pool_ids=POOLS, max_events=6, customer_id=f"c{number}"
                )
            )
            for event in log:
                uow.events.append(event)
            last = max((event.at for event in log), key=utc)
            latest = last if latest is None else max(latest, last, key=utc)
            customer = replay(log)
            if customer is not None:
                uow.customers.add(customer, rules.schedule(customer, policy))
        save(uow.settings, StoredPolicy(policy, 1, 1))
        uow.commit()
    assert latest is not None
    now = latest + draw(st.timedeltas(timedelta(0), timedelta(days=10)))
    return store, policy, now


def service_on(store: MemoryStore, now: datetime) -> tuple[PoolService, ManualClock]:
    clock = ManualClock(now)
    return PoolService(store, None, clock), clock


def snapshot(store: MemoryStore) -> dict[str, Any]:
    with store.unit_of_work() as uow:
        return {
            cid: (uow.customers.get(cid), uow.customers.schedule_of(cid), uow.events.history(cid))
            for cid in uow.customers.ids()
        }


def done(items: Any) -> list[tuple[str, ActionKind, datetime, str, str]]:
    return sorted(
        (item.customer_id, kind, utc(at), item.rule, item.code) for item, kind, at in items
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books(), st.timedeltas(timedelta(0), timedelta(days=40)))
def test_the_forecast_is_what_sweeps_at_its_instants_do(
    book: tuple[MemoryStore, Policy, datetime], ahead: timedelta
) -> None:
    store, _, now = book
    service, clock = service_on(store, now)
    until = now + ahead
    forecast = service.forecast(until)
    swept = []
    for at in sorted({utc(item.at) for item in forecast}):
        clock.set(at)
        report = service.sweep(at)
        swept += [(item, item.kind, at) for item in report.dropped + report.warned]
    assert done((item, item.action, item.at) for item in forecast) == done(swept)
    # Nothing is left for a sweep at the end of the window that the forecast did not name.
    clock.set(until)
    assert not service.sweep(until).changed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books(), st.timedeltas(timedelta(0), timedelta(days=40)))
def test_the_dry_run_is_the_sweep_and_changes_nothing(
    book: tuple[MemoryStore, Policy, datetime], ahead: timedelta
) -> None:
    store, _, now = book
    service, _ = service_on(store, now + ahead)
    before = snapshot(store)
    dry = service.sweep(dry_run=True)
    assert snapshot(store) == before
    assert service.sweep() == dry


@settings(max_examples=100, deadline=None)
@given(
    strategies.customers(rep_ids=REPS, pool_ids=POOLS),
    strategies.policies(rep_ids=REPS, pool_ids=POOLS, max_rules=3, max_days=30),
    st.timedeltas(timedelta(days=-40), timedelta(days=40)),
)
def test_the_decision_agrees_with_the_deadline_and_the_schedule(
    customer: Any, policy: Policy, offset: timedelta
) -> None:
    deadline = rules.next_drop(customer, policy)
    at = (customer.owned_since or customer.created_at) + offset
    action = rules.due_action(customer, policy, at)
    if isinstance(action, Drop):
        assert deadline is not None and utc(deadline.due_at) <= utc(at)
        assert action.kind is ActionKind.DROP and action.owner_id == customer.owner_id
        assert rules.evaluate_drop(customer, policy, at).allowed
    elif isinstance(action, Warn):
        assert deadline is not None and utc(at) < utc(deadline.due_at)
        assert rules.warning_due(customer, policy, at) == deadline
    else:
        assert isinstance(action, Reschedule)
        assert not rules.evaluate_drop(customer, policy, at).allowed
        assert rules.warning_due(customer, policy, at) is None
        # A sweep that reschedules never needs to look again at or before ``at``.
        assert all(
            utc(t) > utc(at)
            for t in (action.schedule.drop_at, action.schedule.warn_at)
            if t is not None
        )


def replayed_through_apply(
    customer: Customer, policy: Policy, start: datetime, until: datetime
) -> list[tuple[ActionKind, datetime, str, str, str]]:
    """The forecast as the sweep does it, step by step: :func:`rules.due_action` asked at
    each instant it names, each warning written as the sweep's ``Warned`` event and applied
    to the customer through the full :func:`apply`."""
    out = []
    t = start
    while utc(t) <= utc(until):
        action = rules.due_action(customer, policy, t)
        if isinstance(action, Reschedule):
            if action.schedule.next_at is None:
                break
            t = max(action.schedule.next_at, t, key=utc)
            continue
        message = action.deadline.message if isinstance(action, Drop) else action.message
        out.append((action.kind, t, action.deadline.rule.name, action.code.value, message))
        if isinstance(action, Drop):
            break
        warned = apply(customer, _warned(customer, action, t))
        assert warned is not None
        customer = warned
    return out


@settings(max_examples=200, deadline=None)
@given(
    # Private customers, from a little before their owner took them: the ones that drop.
    strategies.customers(statuses=(CustomerStatus.PRIVATE,), rep_ids=REPS, pool_ids=POOLS),
    strategies.policies(rep_ids=REPS, pool_ids=POOLS, max_rules=3, max_days=20),
    st.timedeltas(timedelta(days=-5), timedelta(days=25)),
    st.timedeltas(timedelta(0), timedelta(days=40)),
)
def test_the_replay_is_the_decision_with_each_warning_applied(
    customer: Customer, policy: Policy, offset: timedelta, ahead: timedelta
) -> None:
    # The forecast computes a customer's deadline once and moves only the drop it was
    # warned of: a warning changes nothing a deadline reads.
    assert customer.owned_since is not None
    start = customer.owned_since + offset
    items = _forecast_one(customer, policy, start, start + ahead)
    got = [(item.action, item.at, item.rule, item.code, item.message) for item in items]
    assert got == replayed_through_apply(customer, policy, start, start + ahead)
    assert all(item.customer_id == customer.id for item in items)
    assert all(item.owner_id == customer.owner_id for item in items)


def test_forecast_and_sweep_items_say_drop_or_warning_with_an_enum() -> None:
    policy = Policy.from_dict(
        {
            "timezone": "Asia/Shanghai",
            "drop_rules": [{"name": "stale", "kind": "no_follow_up", "days": 10, "warn_days": 2}],
        }
    )
    team = Team.from_dict(
        {
            "reps": [{"id": "admin", "admin": True}, {"id": "li"}],
            "pools": [{"id": "main", "default": True}],
        }
    )
    clock = ManualClock(START)
    service = PoolService(MemoryStore(), policy, clock)
    service.setup(team)
    customer = service.create("li", "Acme")
    ahead = service.forecast(START + timedelta(days=20))
    assert [(item.action, item.at) for item in ahead] == [
        (ActionKind.WARN, START + timedelta(days=8)),
        (ActionKind.DROP, START + timedelta(days=10)),
    ]
    assert all(isinstance(item.action, ActionKind) for item in ahead)
    clock.set(START + timedelta(days=8))
    warned = service.sweep().warned
    assert [(item.customer_id, item.kind) for item in warned] == [(customer.id, ActionKind.WARN)]
    clock.set(START + timedelta(days=10))
    dropped = service.sweep(dry_run=True).dropped
    assert [(item.customer_id, item.kind) for item in dropped] == [(customer.id, ActionKind.DROP)]
    assert service.customer(customer.id).owner_id == "li"  # the dry run changed nothing
    assert service.sweep().dropped == dropped


def test_each_check_refuses_with_its_own_type_and_no_optional_facts() -> None:
    policy = Policy.from_dict(
        {"timezone": "UTC", "caps": {"default": 1}, "claim_limit": {"max_claims": 0}}
    )
    held = Customer(
        id="c1",
        name="Acme",
        pool_id="main",
        created_at=START,
        status="private",
        owner_id="li",
        owned_since=START,
    )
    full = rules.check_cap(Rep(id="li"), [held], policy)
    assert isinstance(full, rules.CapFull) and (full.limit, full.count) == (1, 1)
    reached = rules.check_claim_limit(Rep(id="li"), [], policy, START)
    assert isinstance(reached, rules.ClaimLimitReached) and reached.limit == 0


def test_the_dry_run_on_sqlite_rolls_back_and_reports_what_the_sweep_then_does(
    tmp_path: Path,
) -> None:
    policy = Policy.from_dict(
        {
            "timezone": "Asia/Shanghai",
            "drop_rules": [{"name": "stale", "kind": "no_follow_up", "days": 10, "warn_days": 2}],
        }
    )
    clock = ManualClock(START)
    store = SqliteStore(tmp_path / "crm.db")
    try:
        service = PoolService(store, policy, clock, sweep_batch=2)
        service.setup(
            Team.from_dict(
                {
                    "reps": [{"id": "admin", "admin": True}, {"id": "li"}],
                    "pools": [{"id": "main", "default": True}],
                }
            )
        )
        for number in range(5):
            service.create("li", f"Customer {number}", customer_id=f"c{number}")
            clock.advance(days=1)
        clock.set(START + timedelta(days=11, hours=12))
        dry = service.sweep(dry_run=True)
        assert (len(dry.dropped), len(dry.warned)) == (2, 2)
        assert len(service.private_pool("li")) == 5
        assert service.sweep(dry_run=True) == dry
        assert service.sweep() == dry
        assert len(service.private_pool("li")) == 3
    finally:
        store.close()
