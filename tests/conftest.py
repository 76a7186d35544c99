"""Fixtures shared by the service tests: a manual clock, a memory store, a service factory,
and a check that an operation left the store exactly as it was."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from _state import store_state
from poolkit import ManualClock, MemoryStore, Policy, PoolService, Team
from poolkit.ports import Store

# A Monday morning in the zone the source articles' teams work in.
START = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


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
