"""The team: reps and pools, written whole and checked against the policy's routing."""

from __future__ import annotations

from collections.abc import Iterable

from poolkit.errors import DuplicateIdError, InvalidValueError, PoolNotFound, RepNotFound
from poolkit.model.pool import Pool
from poolkit.model.rep import OrgTree, Rep
from poolkit.model.team import Team, check_team
from poolkit.policy import rules
from poolkit.ports import CustomerQuery
from poolkit.service._core import ServiceCore, Work


class TeamJobs(ServiceCore):
    def setup(self, team: Team) -> None:
        """Add or replace the team's reps and pools (existing customers stay)."""
        with self._work() as work:
            self._write_team(work, team.reps, team.pools)
            work.uow.commit()

    def add_rep(self, rep: Rep) -> None:
        """Add a new rep (:class:`DuplicateIdError` if the id is taken)."""
        self._put_team(reps=[rep], pools=[], new=True)

    def update_rep(self, rep: Rep) -> None:
        """Replace a stored rep (:class:`RepNotFound` if there is none)."""
        self._put_team(reps=[rep], pools=[], new=False)

    def add_pool(self, pool: Pool) -> None:
        """Add a new pool (:class:`DuplicateIdError` if the id is taken)."""
        self._put_team(reps=[], pools=[pool], new=True)

    def update_pool(self, pool: Pool) -> None:
        """Replace a stored pool (:class:`PoolNotFound` if there is none)."""
        self._put_team(reps=[], pools=[pool], new=False)

    def _put_team(self, reps: list[Rep], pools: list[Pool], new: bool) -> None:
        with self._work() as work:
            uow = work.uow
            for rep in reps:
                exists = uow.reps.get(rep.id) is not None
                if new and exists:
                    raise DuplicateIdError("rep", rep.id)
                if not new and not exists:
                    raise RepNotFound(rep.id)
            for pool in pools:
                exists = uow.pools.get(pool.id) is not None
                if new and exists:
                    raise DuplicateIdError("pool", pool.id)
                if not new and not exists:
                    raise PoolNotFound(pool.id)
            self._write_team(work, reps, pools)
            uow.commit()

    def _write_team(self, work: Work, reps: Iterable[Rep], pools: Iterable[Pool]) -> None:
        """Add or replace ``reps`` and ``pools`` once the whole team they make is valid."""
        uow = work.uow
        reps, pools = list(reps), list(pools)
        all_reps = {rep.id: rep for rep in uow.reps.all()} | {rep.id: rep for rep in reps}
        all_pools = {pool.id: pool for pool in uow.pools.all()} | {p.id: p for p in pools}
        check_team(all_reps.values(), all_pools.values())
        if all_pools:  # no pools yet: the team is being built; routing is checked later
            rules.check_routing(work.policy, all_pools)
        self._refuse_stranding(work, reps)
        for rep in reps:
            uow.reps.put(rep)
        for pool in pools:
            uow.pools.put(pool)

    def _refuse_stranding(self, work: Work, reps: Iterable[Rep]) -> None:
        """A departed rep owns nothing: marking one inactive while they still own customers
        would strand those customers (and depart() would then refuse, as already departed)."""
        for rep in reps:
            owner = CustomerQuery(owner_ids=frozenset({rep.id}))
            if not rep.active and work.uow.customers.find(owner, limit=1):
                raise InvalidValueError(
                    "active",
                    f"rep {rep.id!r} still owns customers; register the departure with "
                    "depart() so they drop to the public pool",
                )

    def reps(self) -> list[Rep]:
        """Every rep, as stored."""
        with self.store.unit_of_work() as uow:
            return uow.reps.all()

    def pools(self) -> list[Pool]:
        """Every pool, as stored."""
        with self.store.unit_of_work() as uow:
            return uow.pools.all()

    def org_tree(self) -> OrgTree:
        """The reps as an org tree (who is above whom)."""
        with self.store.unit_of_work() as uow:
            return OrgTree(uow.reps.all())


__all__ = ["TeamJobs"]
