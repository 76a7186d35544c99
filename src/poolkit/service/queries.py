"""Reading customers: one, its history, a private pool, a public pool, what a rep sees."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime

from poolkit.clock import require_aware
from poolkit.errors import CustomerNotFound, PermissionDenied
from poolkit.model.customer import AttributeValue, Customer, CustomerStatus
from poolkit.model.events import Event
from poolkit.model.pool import Pool
from poolkit.model.rep import Rep
from poolkit.policy.config import Policy
from poolkit.ports import CustomerQuery
from poolkit.service import rights
from poolkit.service._core import ServiceCore, Work
from poolkit.service._shown import shown, shown_events
from poolkit.service.access import Access

__all__ = ["QueryJobs", "Scope", "visible_history", "visible_queries"]


class Scope(enum.Flag):
    """The lists of a rep's own customers (the source CRM's "mine, related to me, created by
    me"); combine them with ``|``. ``ALL`` is the three together."""

    MINE = enum.auto()  # 我的: the customers the rep owns (私海)
    RELATED = enum.auto()  # 相关: customers the rep used to own (a related rep)
    CREATED = enum.auto()  # 我创建的: customers the rep entered, wherever they are now
    ALL = MINE | RELATED | CREATED


class QueryJobs(ServiceCore):
    def customer(self, customer_id: str, *, actor_id: str | None = None) -> Customer:
        """One customer; with ``actor_id``, only if that rep may see it."""
        with self._work() as work:
            customer = self._customer(work.uow, customer_id)
            if actor_id is not None:
                actor = work.team.actor(actor_id)
                verdict = rights.may_see(
                    work.team,
                    actor,
                    customer,
                    creator_sees=work.policy.visibility.creator_sees,
                )
                if not verdict.allowed:
                    raise PermissionDenied(
                        actor.id, "see", f"customer {customer.id!r}", verdict.reason
                    )
                return shown(work.policy, work.team, actor, customer)
            return customer

    def history(self, customer_id: str, *, actor_id: str | None = None) -> list[Event]:
        """Every event of a customer, in order (also after deletion, for admins and the system)."""
        with self._work() as work:
            return visible_history(work, customer_id, actor_id)

    def private_pool(self, rep_id: str) -> list[Customer]:
        """The customers a rep owns (私海)."""
        with self._work() as work:
            work.team.rep(rep_id)
            return work.uow.customers.find(CustomerQuery(owner_ids=frozenset({rep_id})))

    def customers_of(self, rep_id: str, scope: Scope = Scope.ALL) -> list[Customer]:
        """A rep's lists, by id: ``Scope.MINE`` the customers they own, ``Scope.RELATED``
        those they used to own, ``Scope.CREATED`` those they entered (wherever they are now),
        or any union of them. ``CREATED`` lists only what the rep may see: with the policy's
        ``visibility.creator_sees = false``, a customer they entered that is now owned by
        someone else is not in it. A departed rep has no lists (:class:`RepInactiveError`)."""
        with self._work() as work:
            team, customers = work.team, work.uow.customers
            rep = team.actor(rep_id)
            creator_sees = work.policy.visibility.creator_sees
            queries: list[CustomerQuery] = []
            if Scope.MINE in scope:
                queries.append(CustomerQuery(owner_ids=frozenset({rep.id})))
            if Scope.RELATED in scope:
                queries.append(CustomerQuery(related_rep=rep.id))
            if Scope.CREATED in scope:
                queries.append(CustomerQuery(creator_id=rep.id))
            found = {c.id: c for query in queries for c in customers.find(query)}
            return [
                shown(work.policy, team, rep, found[cid])
                for cid in sorted(found)
                if rights.may_see(team, rep, found[cid], creator_sees=creator_sees).allowed
            ]

    def public_pool(
        self,
        pool_id: str,
        *,
        grades: Iterable[str] | None = None,
        tags: Iterable[str] = (),
        attributes: Mapping[str, AttributeValue] | None = None,
        dropped_since: datetime | None = None,
        limit: int | None = None,
        actor_id: str | None = None,
    ) -> list[Customer]:
        """The customers in a public pool (公海), filtered by grade, tags, attributes and
        how recently they entered the pool. With ``actor_id``, only for a rep who may see
        the pool (a member, a manager, an admin), and as they are shown it (keys masked
        under the policy's ``visibility.mask_keys``)."""
        query = public_pool_query(pool_id, grades, tags, attributes, dropped_since)
        with self._work() as work:
            pool = work.team.pool(pool_id)
            found = work.uow.customers.find(query, limit)
            if actor_id is None:
                return found
            actor = work.team.actor(actor_id)
            require_sight_of_pool(actor, pool)
            return [shown(work.policy, work.team, actor, customer) for customer in found]

    def recycle_bin(self) -> list[Customer]:
        """Every frozen customer (冻结)."""
        with self.store.unit_of_work() as uow:
            return uow.customers.find(CustomerQuery(status=CustomerStatus.FROZEN))

    def visible_to(self, rep_id: str) -> list[Customer]:
        """Every customer a rep may see: their own, their subordinates', those they used to
        own, those they entered (with the policy's ``visibility.creator_sees``), and the
        public pools they belong to (all, for admins). A departed rep sees nothing
        (:class:`RepInactiveError`)."""
        with self._work() as work:
            team, customers = work.team, work.uow.customers
            rep = team.actor(rep_id)  # RepInactiveError: a departed rep sees nothing
            queries = visible_queries(work.team, work.policy, rep)
            found = {c.id: c for query in queries for c in customers.find(query)}
            return [shown(work.policy, team, rep, found[cid]) for cid in sorted(found)]


def public_pool_query(
    pool_id: str,
    grades: Iterable[str] | None,
    tags: Iterable[str],
    attributes: Mapping[str, AttributeValue] | None,
    dropped_since: datetime | None,
) -> CustomerQuery:
    """The query of a public pool's customers, filtered as :meth:`QueryJobs.public_pool`
    and the pool's pages filter them."""
    if dropped_since is not None:
        require_aware(dropped_since, "dropped_since")
    return CustomerQuery(
        status=CustomerStatus.PUBLIC,
        pool_ids=frozenset({pool_id}),
        grades=None if grades is None else frozenset(grades),
        tags=frozenset(tags),
        attributes=tuple(sorted((attributes or {}).items())),
        public_since=dropped_since,
    )


def require_sight_of_pool(actor: Rep, pool: Pool) -> None:
    """Refuse a rep who may not see a public pool's customers: only its members, its
    managers and admins may."""
    if not (actor.is_admin or pool.can_see(actor.id)):
        raise PermissionDenied(
            actor.id, "see", f"pool {pool.id!r}", f"not a member of pool {pool.id!r}"
        )


def visible_queries(team: Access, policy: Policy, rep: Rep) -> list[CustomerQuery]:
    """What ``rep`` may see (:func:`~poolkit.service.rights.may_see`), as queries whose
    union it is: everything for an admin; else what they and their subordinates own, what
    they used to own, what they entered (with ``visibility.creator_sees``), the public pools
    they are members or managers of, and the recycle bin of the pools they manage."""
    if rep.is_admin:
        return [CustomerQuery()]
    queries = [
        CustomerQuery(owner_ids=frozenset({rep.id} | team.subordinates(rep.id))),
        CustomerQuery(related_rep=rep.id),
    ]
    if policy.visibility.creator_sees:
        queries.append(CustomerQuery(creator_id=rep.id))
    member_of = frozenset(p.id for p in team.all_pools() if p.can_see(rep.id))
    if member_of:
        queries.append(CustomerQuery(status=CustomerStatus.PUBLIC, pool_ids=member_of))
    managed = frozenset(p.id for p in team.all_pools() if rep.id in p.managers)
    if managed:
        queries.append(CustomerQuery(status=CustomerStatus.FROZEN, pool_ids=managed))
    return queries


def visible_history(work: Work, customer_id: str, actor_id: str | None) -> list[Event]:
    """A customer's events as ``actor_id`` may read them (all of them without an actor)."""
    events = work.uow.events.history(customer_id)
    if not events:
        raise CustomerNotFound(customer_id)
    if actor_id is None:
        return events
    actor = work.team.actor(actor_id)
    customer = work.uow.customers.get(customer_id)
    visible = (
        actor.is_admin
        if customer is None
        else rights.may_see(
            work.team,
            actor,
            customer,
            creator_sees=work.policy.visibility.creator_sees,
        ).allowed
    )
    if not visible:
        raise PermissionDenied(
            actor.id, "see", f"customer {customer_id!r}", "not visible to this rep"
        )
    return shown_events(work.policy, work.team, actor, customer, events)
