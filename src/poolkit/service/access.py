"""The team as one unit of work reads it: reps and pools fetched when a check needs them.

The rights themselves are in :mod:`poolkit.service.rights`; this is the
:class:`~poolkit.service.rights.TeamView` they ask.
"""

from __future__ import annotations

from poolkit.errors import (
    ConfigError,
    PoolNotFound,
    RepInactiveError,
    RepNotFound,
)
from poolkit.model.pool import Pool
from poolkit.model.rep import OrgTree, Rep
from poolkit.ports import PoolRepository, RepRepository

__all__ = ["Access"]


class Access:
    """The team as seen by the permission checks of one unit of work.

    Reps and pools are read when a check needs them, and kept for the rest of the unit of
    work: an operation reads the few it concerns (the actor, the customer's pool, the chain
    of supervisors above an owner), not the whole team, so its cost does not grow with the
    size of the team. Only the questions about everyone (``subordinates``, ``all_pools``,
    ``default_pool``) read every rep or pool.
    """

    def __init__(self, reps: RepRepository, pools: PoolRepository) -> None:
        self._rep_store = reps
        self._pool_store = pools
        self._reps: dict[str, Rep | None] = {}
        self._pools: dict[str, Pool | None] = {}
        self._all_pools: list[Pool] | None = None

    def _find_rep(self, rep_id: str) -> Rep | None:
        if rep_id not in self._reps:
            self._reps[rep_id] = self._rep_store.get(rep_id)
        return self._reps[rep_id]

    def rep(self, rep_id: str) -> Rep:
        rep = self._find_rep(rep_id)
        if rep is None:
            raise RepNotFound(rep_id)
        return rep

    def actor(self, rep_id: str) -> Rep:
        """The rep acting now: must exist and not have departed."""
        rep = self.rep(rep_id)
        if not rep.active:
            raise RepInactiveError(rep_id)
        return rep

    def receiver(self, rep_id: str) -> Rep:
        """A rep about to receive a customer: must exist and not have departed."""
        return self.actor(rep_id)

    def find_pool(self, pool_id: str) -> Pool | None:
        """The pool, or None when the team has no such pool."""
        if pool_id not in self._pools:
            self._pools[pool_id] = self._pool_store.get(pool_id)
        return self._pools[pool_id]

    def pool(self, pool_id: str) -> Pool:
        pool = self.find_pool(pool_id)
        if pool is None:
            raise PoolNotFound(pool_id)
        return pool

    def all_pools(self) -> list[Pool]:
        if self._all_pools is None:
            self._all_pools = self._pool_store.all()
            self._pools.update((pool.id, pool) for pool in self._all_pools)
        return self._all_pools

    def default_pool(self) -> Pool:
        for pool in self.all_pools():
            if pool.is_default:
                return pool
        raise PoolNotFound("(default)")

    def is_above(self, boss_id: str, rep_id: str) -> bool:
        """True when ``boss_id`` is somewhere above ``rep_id`` in the org tree: a walk up
        the supervisor chain, one rep at a time."""
        seen = {rep_id}
        current = self.rep(rep_id).supervisor_id
        while current is not None:
            if current == boss_id:
                return True
            if current in seen:
                # Teams are checked when written; a cycle here means the store holds a
                # team that was not written through poolkit.
                raise ConfigError(f"reps.{rep_id}.supervisor", "the org tree has a cycle")
            seen.add(current)
            current = self.rep(current).supervisor_id
        return False

    def subordinates(self, boss_id: str) -> set[str]:
        """Everyone below ``boss_id``, at any depth (reads the whole team)."""
        self.rep(boss_id)
        return OrgTree(self._rep_store.all()).subordinates(boss_id)
