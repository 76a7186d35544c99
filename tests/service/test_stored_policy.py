"""The policy belongs to the data: stored in the store, versioned, read by every service;
a change is one decision, and a change that fails part-way never delays or hastens a drop."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from poolkit import ManualClock, MemoryStore, Policy, PoolService, Team
from poolkit.errors import ConfigError, InvalidValueError, PolicyConflictError, PoolkitError
from poolkit.ports import Store, UnitOfWork
from poolkit.service.stored_policy import (
    POLICY_KEY,
    SCHEDULES_KEY,
    VERSION_KEY,
    StoredPolicy,
    save,
)

START = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # the clock fixture's
ServiceFactory = Callable[[Policy, Team], PoolService]
Unchanged = Callable[[Store], AbstractContextManager[None]]

TEAM = Team.from_dict(
    {
        "reps": [{"id": "admin", "admin": True}, {"id": "li"}, {"id": "wang"}],
        "pools": [
            {"id": "main", "default": True, "members": ["li", "wang"]},
            {"id": "vip", "members": ["li"]},
        ],
    }
)


def rule_of(days: int, **extra: Any) -> Policy:
    return Policy.from_dict(
        {
            "timezone": "Asia/Shanghai",
            "drop_rules": [{"name": "stale", "kind": "no_follow_up", "days": days}],
            **extra,
        }
    )


def settings(store: MemoryStore) -> dict[str, str | None]:
    with store.unit_of_work() as uow:
        return {key: uow.settings.get(key) for key in (POLICY_KEY, VERSION_KEY, SCHEDULES_KEY)}


# ---------------------------------------------------------------- opening a store


def test_a_policy_given_to_an_empty_store_is_stored_as_version_1(
    store: MemoryStore, clock: ManualClock
) -> None:
    PoolService(store, rule_of(15), clock)
    stored = settings(store)
    assert stored[VERSION_KEY] == "1" and stored[SCHEDULES_KEY] == "1"
    assert Policy.from_dict(json.loads(stored[POLICY_KEY] or "")) == rule_of(15)


def test_the_same_policy_again_is_fine_and_none_means_the_stored_one(
    store: MemoryStore, clock: ManualClock
) -> None:
    PoolService(store, rule_of(15), clock)
    assert PoolService(store, rule_of(15), clock).policy == rule_of(15)
    assert PoolService(store, None, clock).policy == rule_of(15)


def test_another_policy_is_refused_naming_the_stored_version_and_writes_nothing(
    make_service: ServiceFactory, store: MemoryStore, clock: ManualClock, unchanged: Unchanged
) -> None:
    service = make_service(rule_of(15), TEAM)
    service.create("li", "Acme")
    service.change_policy(rule_of(10))
    with unchanged(store), pytest.raises(PolicyConflictError) as refused:
        PoolService(store, rule_of(30), clock)
    assert refused.value.stored_version == 2
    assert isinstance(refused.value, ConfigError)
    assert "change_policy" in str(refused.value)


def test_none_on_a_store_without_a_policy_is_a_config_error(
    store: MemoryStore, clock: ManualClock
) -> None:
    with pytest.raises(ConfigError, match="pass one"):
        PoolService(store, None, clock)


def test_a_database_with_only_the_old_cli_key_opens_with_that_policy_as_version_1(
    store: MemoryStore, clock: ManualClock
) -> None:
    with store.unit_of_work() as uow:
        uow.settings.set("policy.json", json.dumps(rule_of(12).to_dict()))
        uow.commit()
    assert PoolService(store, None, clock).policy == rule_of(12)
    assert settings(store)[VERSION_KEY] == "1"
    with pytest.raises(PolicyConflictError):
        PoolService(store, rule_of(13), clock)


def test_a_database_with_only_the_old_fingerprint_takes_the_given_policy(
    make_service: ServiceFactory, store: MemoryStore, clock: ManualClock
) -> None:
    make_service(rule_of(15), TEAM).create("li", "Acme")
    # An old database: its schedules were computed with the policy its fingerprint names.
    legacy = MemoryStore()
    with store.unit_of_work() as old, legacy.unit_of_work() as new:
        for customer_id in old.customers.ids():
            customer = old.customers.get(customer_id)
            assert customer is not None
            for event in old.events.history(customer_id):
                new.events.append(event)
            new.customers.add(customer, old.customers.schedule_of(customer_id))
        new.settings.set("policy_fingerprint", rule_of(15).fingerprint())
        new.commit()
    assert settings(legacy)[VERSION_KEY] is None
    service = PoolService(legacy, rule_of(15), clock)
    assert settings(legacy)[VERSION_KEY] == "1" and settings(legacy)[SCHEDULES_KEY] == "1"
    assert service.policy == rule_of(15)


# ---------------------------------------------------------------- changing it


def test_a_change_by_another_service_applies_from_the_next_unit_of_work(
    make_service: ServiceFactory, store: MemoryStore, clock: ManualClock
) -> None:
    worker = make_service(rule_of(15), TEAM)
    customer = worker.create("li", "Acme")
    admin = PoolService(store, None, clock)
    assert admin.change_policy(rule_of(10)) == 1
    assert worker.policy == rule_of(10)
    clock.set(START + timedelta(days=10))
    assert [item.customer_id for item in worker.sweep().dropped] == [customer.id]


def test_the_same_policy_changes_nothing(make_service: ServiceFactory, store: MemoryStore) -> None:
    service = make_service(rule_of(15), TEAM)
    service.create("li", "Acme")
    assert service.change_policy(rule_of(15)) == 0
    assert settings(store)[VERSION_KEY] == "1"


class FailingStore:
    """A store whose units of work start failing after ``fail_after`` more of them."""

    def __init__(self, inner: MemoryStore) -> None:
        self.inner = inner
        self.fail_after: int | None = None

    def unit_of_work(self) -> UnitOfWork:
        if self.fail_after is not None:
            if self.fail_after == 0:
                raise PoolkitError("database busy (planted)")
            self.fail_after -= 1
        return self.inner.unit_of_work()


def failed_change(days_before: int, days_after: int, clock: ManualClock) -> PoolService:
    """A book of 6 customers under ``days_before``, then a change to ``days_after`` that
    fails after its first batch of 2 schedules: 4 schedules still follow the old rule."""
    store = FailingStore(MemoryStore())
    service = PoolService(store, rule_of(days_before), clock, sweep_batch=2)
    service.setup(TEAM)
    for number in range(6):
        service.create("li", f"Customer {number}", customer_id=f"c{number}")
    # One unit of work stores the new version, one recomputes the first batch.
    store.fail_after = 2
    with pytest.raises(PoolkitError, match="planted"):
        service.change_policy(rule_of(days_after))
    store.fail_after = None
    return service


def test_a_shorter_rule_whose_change_failed_part_way_drops_on_time(clock: ManualClock) -> None:
    service = failed_change(15, 10, clock)
    assert service.policy == rule_of(10)
    due = START + timedelta(days=10)
    assert {item.at for item in service.forecast(due + timedelta(days=30))} == {due}
    clock.set(due - timedelta(seconds=1))
    assert not service.sweep().changed
    clock.set(due)
    assert len(service.sweep().dropped) == 6  # day 10, not day 15


def test_a_longer_rule_whose_change_failed_part_way_drops_no_one_early(
    clock: ManualClock,
) -> None:
    service = failed_change(10, 15, clock)
    clock.set(START + timedelta(days=10))
    assert not service.sweep().changed
    clock.set(START + timedelta(days=15))
    assert len(service.sweep().dropped) == 6


def test_a_failed_change_is_finished_by_changing_to_the_same_policy_again(
    clock: ManualClock,
) -> None:
    service = failed_change(15, 10, clock)
    assert service.change_policy(rule_of(10)) == 4
    assert service.change_policy(rule_of(10)) == 0


def test_constructing_a_service_never_rewrites_schedules(
    clock: ManualClock, unchanged: Unchanged
) -> None:
    service = failed_change(15, 10, clock)
    store = service.store
    assert isinstance(store, FailingStore)
    with unchanged(store.inner):
        PoolService(store, None, clock)
        PoolService(store, rule_of(10), clock)


# ---------------------------------------------------------------- routing and past sweeps


def test_routing_to_a_missing_pool_is_refused_at_setup(
    store: MemoryStore, clock: ManualClock
) -> None:
    routed = rule_of(15, routing=[{"attribute": "tier", "equals": "gold", "pool": "gold"}])
    service = PoolService(store, routed, clock)
    with pytest.raises(ConfigError) as refused:
        service.setup(TEAM)
    assert refused.value.path == "routing[0].pool"
    assert "gold" in str(refused.value)
    assert service.pools() == []


def test_routing_to_a_missing_pool_is_refused_at_a_policy_change(
    make_service: ServiceFactory, store: MemoryStore
) -> None:
    service = make_service(rule_of(15), TEAM)
    routed = rule_of(15, routing=[{"attribute": "tier", "equals": "gold", "pool": "gold"}])
    with pytest.raises(ConfigError) as refused:
        service.change_policy(routed)
    assert refused.value.path == "routing[0].pool"
    assert service.policy == rule_of(15)
    good = rule_of(15, routing=[{"attribute": "tier", "equals": "gold", "pool": "vip"}])
    service.change_policy(good)
    assert service.create("li", "Gold Co", attributes={"tier": "gold"}).pool_id == "vip"


def test_a_sweep_in_the_past_refuses_to_date_a_drop_before_a_later_event(
    make_service: ServiceFactory, store: MemoryStore, clock: ManualClock, unchanged: Unchanged
) -> None:
    service = make_service(rule_of(10), TEAM)
    customer = service.create("li", "Acme")
    clock.set(START + timedelta(days=12))
    service.edit("li", customer.id, tags=["hot"])  # an event on day 12; no follow-up
    with unchanged(store), pytest.raises(InvalidValueError) as refused:
        service.sweep(START + timedelta(days=11))
    assert customer.id in str(refused.value)
    assert (START + timedelta(days=12)).isoformat() in str(refused.value)
    assert [item.customer_id for item in service.sweep().dropped] == [customer.id]


def test_a_sweep_in_the_past_after_every_event_still_works(
    make_service: ServiceFactory, clock: ManualClock
) -> None:
    service = make_service(rule_of(10), TEAM)
    customer = service.create("li", "Acme")
    clock.set(START + timedelta(days=12))
    report = service.sweep(START + timedelta(days=11))
    assert [item.customer_id for item in report.dropped] == [customer.id]
    assert service.history(customer.id)[-1].at == START + timedelta(days=11)


def test_save_writes_the_three_keys(store: MemoryStore) -> None:
    with store.unit_of_work() as uow:
        save(uow.settings, StoredPolicy(rule_of(3), 4, 3))
        uow.commit()
    assert settings(store)[VERSION_KEY] == "4" and settings(store)[SCHEDULES_KEY] == "3"
