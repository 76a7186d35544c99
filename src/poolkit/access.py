"""Who may see and do what (数据权限), as pure functions of the team and the customer.

The rules of the brief: private customers are seen by their owner, the owner's superiors,
related reps (former owners keep read access) and admins; public customers by the pool's
members and managers; the recycle bin by the pool's managers and admins.
"""

from __future__ import annotations

from collections.abc import Mapping

from poolkit.errors import PermissionDenied, PoolNotFound, RepInactiveError
from poolkit.model.customer import Customer
from poolkit.model.pool import Pool
from poolkit.model.rep import OrgTree, Rep


class Access:
    """The team as seen by the permission checks."""

    def __init__(self, org: OrgTree, pools: Mapping[str, Pool]) -> None:
        self.org = org
        self.pools = pools

    def rep(self, rep_id: str) -> Rep:
        return self.org.get(rep_id)

    def actor(self, rep_id: str) -> Rep:
        """The rep acting now: must exist and not have departed."""
        rep = self.org.get(rep_id)
        if not rep.active:
            raise RepInactiveError(rep_id)
        return rep

    def receiver(self, rep_id: str) -> Rep:
        """A rep about to receive a customer: must exist and not have departed."""
        return self.actor(rep_id)

    def pool(self, pool_id: str) -> Pool:
        try:
            return self.pools[pool_id]
        except KeyError:
            raise PoolNotFound(pool_id) from None

    def default_pool(self) -> Pool:
        for pool in self.pools.values():
            if pool.is_default:
                return pool
        raise PoolNotFound("(default)")

    def is_above_owner(self, rep: Rep, customer: Customer) -> bool:
        return customer.owner_id is not None and self.org.is_above(rep.id, customer.owner_id)

    def manages_pool(self, rep: Rep, pool_id: str) -> bool:
        pool = self.pools.get(pool_id)
        return pool is not None and rep.id in pool.managers

    def can_see(self, rep: Rep, customer: Customer) -> bool:
        if rep.is_admin or rep.id in customer.related_reps:
            return True
        if customer.is_private:
            return customer.owner_id == rep.id or self.is_above_owner(rep, customer)
        pool = self.pools.get(customer.pool_id)
        if customer.is_frozen:
            return pool is not None and rep.id in pool.managers
        return pool is not None and pool.can_see(rep.id)

    def require(
        self, allowed: bool, rep: Rep, operation: str, customer: Customer, reason: str
    ) -> None:
        if not allowed:
            raise PermissionDenied(rep.id, operation, f"customer {customer.id!r}", reason)
