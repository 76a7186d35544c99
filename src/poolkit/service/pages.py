"""Pages for a CRM's screens: a private pool, a public pool, the recycle bin, what a rep
sees, a customer's history; sorted, a page at a time, with the total.

Each page is read with a keyset (:meth:`~poolkit.ports.CustomerRepository.page`): the
cursor holds the sort value and id of the last item shown, and the next page is what comes
after it now. So a page costs the same on page 1 and page 4,000, memory follows the page
size, and a customer that stays in the list (with the same sort value) is shown exactly
once however the others move meanwhile. Which rep sees what is decided by
:func:`~poolkit.service.rights.may_see`, exactly as for :meth:`visible_to`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Generic, TypeVar

import attrs

from poolkit.errors import InvalidCursorError, InvalidValueError, PermissionDenied
from poolkit.model.customer import AttributeValue, Customer, CustomerStatus
from poolkit.model.events import Event
from poolkit.model.rep import Rep
from poolkit.ports import CustomerOrder, CustomerQuery, Position
from poolkit.service import _cursor, rights
from poolkit.service._core import ServiceCore, Work
from poolkit.service._shown import shown
from poolkit.service.queries import (
    public_pool_query,
    require_sight_of_pool,
    visible_history,
    visible_queries,
)

__all__ = ["MAX_PAGE_SIZE", "Page", "PageJobs"]

T = TypeVar("T")

MAX_PAGE_SIZE = 1000
"""The most items one page holds: a screen shows tens; an export reads page by page."""


@attrs.frozen
class Page(Generic[T]):
    """One page of a list: its ``items``, the ``next_cursor`` to pass for the page after
    (None on the last page) and ``total``, how many items the whole list holds now (None
    when the page was asked ``with_total=False``: counting reads the whole list, a page
    only its own rows)."""

    items: tuple[T, ...]
    next_cursor: str | None
    total: int | None


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidValueError("limit", f"must be from 1 to {MAX_PAGE_SIZE}, got {limit}")
    return limit


def _sort(order: CustomerOrder, descending: bool) -> str:
    return f"{order.value}:{'desc' if descending else 'asc'}"


def _after(
    cursor: str | None, list_id: str, order: CustomerOrder, descending: bool
) -> Position | None:
    if cursor is None:
        return None
    value, customer_id = _cursor.decode(cursor, list_id, _sort(order, descending))
    fits = (
        isinstance(value, str)
        if order is CustomerOrder.NAME
        else isinstance(value, datetime)
        if order is CustomerOrder.ENTERED
        else value is None or isinstance(value, datetime)
    )
    if not fits:
        raise InvalidCursorError("a cursor of another sort order: start from the first page")
    assert not isinstance(value, int)
    return Position(value, customer_id)


class PageJobs(ServiceCore):
    def _customer_page(
        self,
        work: Work,
        list_id: str,
        queries: Sequence[CustomerQuery],
        order: CustomerOrder,
        descending: bool,
        cursor: str | None,
        limit: int,
        actor: Rep | None,
        with_total: bool,
    ) -> Page[Customer]:
        _limit(limit)
        list_id = _cursor.listing(list_id)
        after = _after(cursor, list_id, order, descending)
        customers = work.uow.customers
        # One more than asked: whether it exists says whether there is a next page.
        found = customers.page(queries, order, descending=descending, after=after, limit=limit + 1)
        total = customers.count_matching(queries) if with_total else None
        shown_items = found[:limit]
        next_cursor = None
        if len(found) > limit:
            last = shown_items[-1][1]
            next_cursor = _cursor.encode(
                list_id, _sort(order, descending), last.value, last.customer_id
            )
        items = tuple(
            customer if actor is None else shown(work.policy, work.team, actor, customer)
            for customer, _ in shown_items
        )
        return Page(items, next_cursor, total)

    def private_pool_page(
        self,
        rep_id: str,
        *,
        order: CustomerOrder = CustomerOrder.NAME,
        descending: bool = False,
        cursor: str | None = None,
        limit: int = 50,
        actor_id: str | None = None,
        with_total: bool = True,
    ) -> Page[Customer]:
        """A page of the customers ``rep_id`` owns (私海). With ``actor_id``, only for the
        rep, their superiors and admins."""
        with self._work() as work:
            rep = work.team.rep(rep_id)
            actor = None
            if actor_id is not None:
                actor = work.team.actor(actor_id)
                if not (
                    actor.is_admin or actor.id == rep.id or work.team.is_above(actor.id, rep.id)
                ):
                    raise PermissionDenied(
                        actor.id,
                        "see",
                        f"the private pool of {rep.id!r}",
                        "not visible to this rep",
                    )
            query = CustomerQuery(owner_ids=frozenset({rep.id}))
            return self._customer_page(
                work,
                f"private\x1f{rep.id}",
                [query],
                order,
                descending,
                cursor,
                limit,
                actor,
                with_total,
            )

    def public_pool_page(
        self,
        pool_id: str,
        *,
        grades: Iterable[str] | None = None,
        tags: Iterable[str] = (),
        attributes: Mapping[str, AttributeValue] | None = None,
        dropped_since: datetime | None = None,
        order: CustomerOrder = CustomerOrder.ENTERED,
        descending: bool = False,
        cursor: str | None = None,
        limit: int = 50,
        actor_id: str | None = None,
        with_total: bool = True,
    ) -> Page[Customer]:
        """A page of a public pool (公海), filtered as :meth:`public_pool` filters. With
        ``actor_id``, only for its members, managers and admins, keys shown as the policy's
        ``visibility.mask_keys`` says."""
        query = public_pool_query(pool_id, grades, tags, attributes, dropped_since)
        with self._work() as work:
            pool = work.team.pool(pool_id)
            actor = None
            if actor_id is not None:
                actor = work.team.actor(actor_id)
                require_sight_of_pool(actor, pool)
            return self._customer_page(
                work,
                f"public\x1f{query!r}",
                [query],
                order,
                descending,
                cursor,
                limit,
                actor,
                with_total,
            )

    def recycle_bin_page(
        self,
        *,
        pool_id: str | None = None,
        order: CustomerOrder = CustomerOrder.NAME,
        descending: bool = False,
        cursor: str | None = None,
        limit: int = 50,
        actor_id: str | None = None,
        with_total: bool = True,
    ) -> Page[Customer]:
        """A page of the recycle bin (冻结), of one pool or all. With ``actor_id``: an admin
        sees all of it, a pool manager the customers of the pools they manage."""
        with self._work() as work:
            pools: frozenset[str] | None = None
            if pool_id is not None:
                pools = frozenset({work.team.pool(pool_id).id})
            actor = None
            if actor_id is not None:
                actor = work.team.actor(actor_id)
                if not actor.is_admin:
                    managed = frozenset(
                        p.id for p in work.team.all_pools() if actor.id in p.managers
                    )
                    pools = managed if pools is None else pools & managed
                    if pool_id is not None and not pools:
                        raise PermissionDenied(
                            actor.id,
                            "see",
                            f"the recycle bin of pool {pool_id!r}",
                            f"not a manager of pool {pool_id!r}",
                        )
            query = CustomerQuery(status=CustomerStatus.FROZEN, pool_ids=pools)
            return self._customer_page(
                work,
                f"bin\x1f{pool_id}\x1f{actor_id}",
                [query],
                order,
                descending,
                cursor,
                limit,
                actor,
                with_total,
            )

    def visible_page(
        self,
        rep_id: str,
        *,
        order: CustomerOrder = CustomerOrder.NAME,
        descending: bool = False,
        cursor: str | None = None,
        limit: int = 50,
        with_total: bool = True,
    ) -> Page[Customer]:
        """A page of what :meth:`visible_to` lists for ``rep_id``: the same customers, as
        the rep is shown them, a page at a time."""
        with self._work() as work:
            rep = work.team.actor(rep_id)  # RepInactiveError: a departed rep sees nothing
            queries = visible_queries(work.team, work.policy, rep)
            return self._customer_page(
                work,
                # The rep names the list; what it holds is read again on every page, so a
                # change of the team (a pool joined) changes the list, not the cursor.
                f"visible\x1f{rep.id}",
                queries,
                order,
                descending,
                cursor,
                limit,
                rep,
                with_total,
            )

    def history_page(
        self,
        customer_id: str,
        *,
        newest_first: bool = False,
        cursor: str | None = None,
        limit: int = 50,
        actor_id: str | None = None,
    ) -> Page[Event]:
        """A page of a customer's history, oldest first (or ``newest_first``), with the
        rights and masking of :meth:`history`. Events are only ever appended, so a cursor
        stays exact while the customer moves."""
        _limit(limit)
        sort = "seq:desc" if newest_first else "seq:asc"
        list_id = _cursor.listing("history", customer_id)
        after_seq: int | None = None
        if cursor is not None:
            value, found_id = _cursor.decode(cursor, list_id, sort)
            if not isinstance(value, int) or found_id != customer_id:
                raise InvalidCursorError("a cursor of another list: start from the first page")
            after_seq = value
        with self._work() as work:
            events = visible_history(work, customer_id, actor_id)
        total = len(events)
        if newest_first:
            events = events[::-1]
        if after_seq is not None:
            events = [
                e for e in events if (e.seq < after_seq if newest_first else e.seq > after_seq)
            ]
        items = tuple(events[:limit])
        next_cursor = None
        if len(events) > limit:
            next_cursor = _cursor.encode(list_id, sort, items[-1].seq, customer_id)
        return Page(items, next_cursor, total)

    def can_see(self, actor_id: str, customer_id: str) -> bool:
        """Whether ``actor_id`` may see the customer (:func:`~poolkit.service.rights.may_see`
        with the policy's ``visibility.creator_sees``): one read of the customer and of the
        reps and pool the answer needs, for a CRM's own screens. False for a departed rep;
        :class:`~poolkit.errors.CustomerNotFound` for an unknown customer."""
        with self._work() as work:
            customer = self._customer(work.uow, customer_id)
            actor = work.team.rep(actor_id)
            if not actor.active:
                return False
            return rights.may_see(
                work.team, actor, customer, creator_sees=work.policy.visibility.creator_sees
            ).allowed
