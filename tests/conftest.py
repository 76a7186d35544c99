"""Fixtures shared by the service tests: a manual clock, a memory store, a service factory,
and a check that an operation left the store exactly as it was."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

from poolkit import Customer, Event, ManualClock, MemoryStore, Policy, Pool, PoolService, Rep, Team
from poolkit.ports import Schedule, Store

# A Monday morning in the zone the source articles' teams work in.
START = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@attrs.frozen
class StoreState:
    """Everything a store holds, as comparable values."""

    customers: dict[str, Customer]
    schedules: dict[str, Schedule | None]
    histories: dict[str, list[Event]]
    reps: list[Rep]
    pools: list[Pool]


def store_state(store: Store) -> StoreState:
    """Read every customer, schedule, history, rep and pool in one unit of work."""
    with store.unit_of_work() as uow:
        customers: dict[str, Customer] = {}
        schedules: dict[str, Schedule | None] = {}
        for customer_id in uow.customers.ids():
            customer = uow.customers.get(customer_id)
            assert customer is not None
            customers[customer_id] = customer
            schedules[customer_id] = uow.customers.schedule_of(customer_id)
        histories = {cid: uow.events.history(cid) for cid in uow.events.customer_ids()}
        return StoreState(customers, schedules, histories, uow.reps.all(), uow.pools.all())


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


ServiceFactory = Callable[[Mapping[str, Any] | Policy, Mapping[str, Any] | Team], PoolService]


@pytest.fixture
def make_service(store: MemoryStore, clock: ManualClock) -> ServiceFactory:
    """``make_service(policy, team)``: a PoolService over the fixture store and clock, set up
    with ``team``. Both may be given as documents (dicts) or as values."""

    def make(policy: Mapping[str, Any] | Policy, team: Mapping[str, Any] | Team) -> PoolService:
        if not isinstance(policy, Policy):
            policy = Policy.from_dict(policy)
        if not isinstance(team, Team):
            team = Team.from_dict(team)
        service = PoolService(store, policy, clock)
        service.setup(team)
        return service

    return make


@pytest.fixture
def unchanged() -> Callable[[Store], AbstractContextManager[None]]:
    """``with unchanged(store), pytest.raises(...):`` checks that a refusal wrote nothing."""

    @contextmanager
    def check(store: Store) -> Iterator[None]:
        before = store_state(store)
        yield
        assert store_state(store) == before

    return check


Say = Callable[[str], None]


@pytest.fixture
def say(capsys: pytest.CaptureFixture[str]) -> Say:
    """Print a line that pytest shows even when it captures output: the concurrency and
    crash tests report their counts this way."""

    def emit(line: str) -> None:
        with capsys.disabled():
            print(f"\n{line}")

    return emit
