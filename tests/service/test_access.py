"""The permission checks read the team on demand: an operation's cost does not grow with the
size of the team, and a team written around poolkit with a cycle is still refused clearly."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from poolkit import ManualClock, MemoryStore, Policy, PoolService, Rep, Team
from poolkit.errors import ConfigError, RepNotFound
from poolkit.ports import UnitOfWork
from poolkit.service.access import Access

POLICY = Policy.from_dict({"timezone": "Asia/Shanghai"})
START = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


class CountingReps:
    """The rep repository of a unit of work, counting what is read through it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.gets: list[str] = []
        self.alls = 0

    def get(self, rep_id: str) -> Rep | None:
        self.gets.append(rep_id)
        found: Rep | None = self.inner.get(rep_id)
        return found

    def all(self) -> list[Rep]:
        self.alls += 1
        found: list[Rep] = self.inner.all()
        return found

    def put(self, rep: Rep) -> None:
        self.inner.put(rep)


def big_team(size: int) -> Team:
    """A boss, ``size`` reps below a supervisor, and one public pool for everyone."""
    reps: list[dict[str, Any]] = [
        {"id": "boss", "admin": True},
        {"id": "sup", "supervisor": "boss"},
    ]
    reps += [{"id": f"r{n:04d}", "supervisor": "sup"} for n in range(size)]
    members = [rep["id"] for rep in reps]
    pools = [{"id": "main", "default": True, "members": members, "managers": ["boss"]}]
    return Team.from_dict({"reps": reps, "pools": pools})


def test_a_claim_reads_the_reps_it_concerns_not_the_team() -> None:
    store = MemoryStore()
    service = PoolService(store, POLICY, ManualClock(START))
    service.setup(big_team(500))
    customer = service.create("boss", "Acme Trading", public=True)
    counted: list[CountingReps] = []
    original = store.unit_of_work

    def counting_unit_of_work() -> UnitOfWork:
        uow = original()
        reps = CountingReps(uow.reps)
        counted.append(reps)
        uow.reps = reps  # type: ignore[misc]
        return uow

    store.unit_of_work = counting_unit_of_work  # type: ignore[method-assign]
    service.claim("r0042", customer.id)
    service.reassign("sup", customer.id, "r0007")
    assert [reps.alls for reps in counted] == [0, 0]
    # The claimer; then the supervisor, the owner and the receiver, and the chains above.
    assert set(counted[0].gets) == {"r0042"}
    assert set(counted[1].gets) <= {"sup", "r0042", "r0007", "boss"}


def test_is_above_walks_the_supervisor_chain() -> None:
    store = MemoryStore()
    PoolService(store, POLICY, ManualClock(START)).setup(big_team(3))
    with store.unit_of_work() as uow:
        access = Access(uow.reps, uow.pools)
        assert access.is_above("boss", "r0001") and access.is_above("sup", "r0001")
        assert not access.is_above("r0001", "sup") and not access.is_above("r0001", "r0002")
        assert not access.is_above("r0001", "r0001")
        assert access.subordinates("sup") == {"r0000", "r0001", "r0002"}
        with pytest.raises(RepNotFound):
            access.is_above("boss", "nobody")


def test_a_cycle_written_around_poolkit_is_refused_not_looped_on() -> None:
    store = MemoryStore()
    with store.unit_of_work() as uow:
        uow.reps.put(Rep("a", supervisor_id="b"))
        uow.reps.put(Rep("b", supervisor_id="a"))
        uow.commit()
    with store.unit_of_work() as uow, pytest.raises(ConfigError, match="cycle"):
        Access(uow.reps, uow.pools).is_above("c", "a")
