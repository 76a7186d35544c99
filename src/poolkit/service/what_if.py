"""What-if: what a candidate policy would do, asked before anyone applies it.

A sales director about to shorten the drop period or cut the caps asks first: who would
drop next week, whose drop moves and by how much, which reps would be over the new cap or
claim limit. The answer replays, customer by customer, the very decision a sweep takes
after ``change_policy(candidate)`` (:func:`poolkit.policy.rules.due_action`, through the
forecast's replay, :func:`~poolkit.service.sweep._replay`), beside the same replay under the
policy in force. Nothing is written: not a schedule, not the stored policy.

The private customers are read in pages of ``sweep_batch``, by id, each page in its own
unit of work that is never committed; the work on a page is done after its unit of work
has ended. So a what-if over a million customers holds one page in memory and keeps a
writer waiting for one page's read at most, never for the whole what-if. The price: it is
not one snapshot; each customer is judged as it was when its page was read.
"""

from __future__ import annotations

import enum
import heapq
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta

import attrs

from poolkit.clock import require_aware, utc
from poolkit.errors import InvalidValueError
from poolkit.model.customer import Customer, CustomerStatus
from poolkit.model.rep import Rep
from poolkit.policy import rules
from poolkit.policy.config import Policy
from poolkit.policy.rules import ActionKind, Deadline
from poolkit.ports import CustomerQuery
from poolkit.service._core import ServiceCore
from poolkit.service.sweep import ForecastItem, _replay

__all__ = ["DropShift", "PoolOutlook", "RepOutlook", "WhatIf", "WhatIfCustomer", "WhatIfJobs"]


class DropShift(enum.StrEnum):
    """How a customer's next drop moves under the candidate policy."""

    EARLIER = "earlier"
    LATER = "later"
    NEW = "new"  # no rule drops it now; one would
    GONE = "gone"  # a rule drops it now; none would
    SAME = "same"  # the same instant (another rule, or another warning)


@attrs.frozen
class WhatIfCustomer:
    """One private customer whose outlook the candidate changes.

    ``drop_at`` / ``rule`` are its next drop under the policy in force (None: no rule drops
    it), ``new_drop_at`` / ``new_rule`` under the candidate; ``shift`` says which way it
    moved and ``moved_by`` by how much. ``actions`` are the warnings and drops that sweeps
    would make from the what-if's ``at`` to ``until`` after the candidate is applied, each
    a :class:`~poolkit.service.sweep.ForecastItem` (a drop already overdue is made by the
    first sweep, at ``at``); ``current_actions`` the same under the policy in force.
    """

    customer_id: str
    owner_id: str
    pool_id: str
    grade: str | None
    drop_at: datetime | None
    rule: str | None
    new_drop_at: datetime | None
    new_rule: str | None
    shift: DropShift
    actions: tuple[ForecastItem, ...]
    current_actions: tuple[ForecastItem, ...]

    @property
    def moved_by(self) -> timedelta | None:
        """``new_drop_at - drop_at`` (negative: earlier), when both exist."""
        if self.drop_at is None or self.new_drop_at is None:
            return None
        return utc(self.new_drop_at) - utc(self.drop_at)


@attrs.frozen
class RepOutlook:
    """One rep under the policy in force and under the candidate.

    ``held`` / ``new_held`` count the rep's customers toward the cap as each policy counts
    them (``caps.count_dealt``, ``caps.count_locked``), ``cap`` / ``new_cap`` are the caps
    in force for the rep (None: none). ``claims`` / ``new_claims`` count the rep's claims in
    each policy's claim window at ``at``, against ``claim_limit`` / ``new_claim_limit``.
    ``drops`` / ``new_drops`` and ``warnings`` / ``new_warnings`` count what sweeps would do
    to the rep's customers by ``until``; ``earlier`` / ``later`` how many of the rep's
    customers would drop earlier / later than now.
    """

    rep_id: str
    held: int
    new_held: int
    cap: int | None
    new_cap: int | None
    claims: int
    new_claims: int
    claim_limit: int | None
    new_claim_limit: int | None
    drops: int = 0
    new_drops: int = 0
    warnings: int = 0
    new_warnings: int = 0
    earlier: int = 0
    later: int = 0

    @property
    def over_cap(self) -> int:
        """How many customers the rep holds beyond the candidate's cap (0: within it)."""
        return 0 if self.new_cap is None else max(0, self.new_held - self.new_cap)

    @property
    def cap_full(self) -> bool:
        """Whether the candidate's cap would refuse the rep one more customer."""
        return self.new_cap is not None and self.new_held >= self.new_cap

    @property
    def over_claim_limit(self) -> int:
        """Claims in the candidate's window beyond its claim limit (0: within it)."""
        limit = self.new_claim_limit
        return 0 if limit is None else max(0, self.new_claims - limit)

    @property
    def claims_blocked(self) -> bool:
        """Whether the candidate's claim limit would refuse the rep a claim at ``at``."""
        return self.new_claim_limit is not None and self.new_claims >= self.new_claim_limit


@attrs.frozen
class PoolOutlook:
    """What would reach one public pool by ``until``: the drops and warnings of the
    customers that belong to it, under the policy in force and under the candidate, and
    how many of its customers' drops move earlier or later."""

    pool_id: str
    drops: int = 0
    new_drops: int = 0
    warnings: int = 0
    new_warnings: int = 0
    earlier: int = 0
    later: int = 0


@attrs.frozen
class WhatIf:
    """What applying a candidate policy at ``at`` would do by ``until``, compared with the
    policy in force (stored ``version``).

    ``customers`` private customers were looked at; ``changed`` of them would see their
    next drop, or the warnings and drops sweeps make by ``until``, change: ``earlier``,
    ``later``, ``new`` and ``gone`` count them by :class:`DropShift`. ``drops`` /
    ``new_drops`` and ``warnings`` / ``new_warnings`` total what sweeps would do by
    ``until``. ``reps`` and ``pools`` break it down, by id. ``items`` are the changed
    customers, soonest drop first, at most the ``limit`` asked for; ``more`` how many were
    left out (every one is in :meth:`PoolService.what_if_items`).
    """

    at: datetime
    until: datetime
    version: int
    customers: int
    changed: int
    earlier: int
    later: int
    new: int
    gone: int
    drops: int
    new_drops: int
    warnings: int
    new_warnings: int
    reps: tuple[RepOutlook, ...]
    pools: tuple[PoolOutlook, ...]
    items: tuple[WhatIfCustomer, ...]
    more: int

    @property
    def over_cap(self) -> tuple[RepOutlook, ...]:
        """The reps who would hold more than the candidate's cap."""
        return tuple(rep for rep in self.reps if rep.over_cap)

    @property
    def over_claim_limit(self) -> tuple[RepOutlook, ...]:
        """The reps who have claimed more than the candidate's claim limit allows."""
        return tuple(rep for rep in self.reps if rep.over_claim_limit)


@attrs.frozen
class _Plan:
    """What one what-if reads: the two policies, the time span, and whose customers."""

    current: Policy
    version: int
    candidate: Policy
    at: datetime
    until: datetime
    queries: tuple[CustomerQuery, ...]
    reps: dict[str, Rep] = attrs.field(hash=False)  # the reps whose rows are shown
    every_owner: bool  # rows also for owners not among ``reps`` (no actor, or an admin)

    def shows(self, owner_id: str) -> bool:
        return self.every_owner or owner_id in self.reps


@attrs.frozen
class _Judged:
    """One customer under both policies."""

    customer: Customer
    current: Deadline | None
    candidate: Deadline | None
    current_actions: tuple[ForecastItem, ...]
    actions: tuple[ForecastItem, ...]

    @property
    def shift(self) -> DropShift:
        old, new = self.current, self.candidate
        if old is None:
            return DropShift.SAME if new is None else DropShift.NEW
        if new is None:
            return DropShift.GONE
        if utc(new.due_at) < utc(old.due_at):
            return DropShift.EARLIER
        return DropShift.LATER if utc(new.due_at) > utc(old.due_at) else DropShift.SAME

    @property
    def changed(self) -> bool:
        if _drop_key(self.current) != _drop_key(self.candidate):
            return True
        return [_action_key(item) for item in self.current_actions] != [
            _action_key(item) for item in self.actions
        ]

    def item(self) -> WhatIfCustomer:
        customer, old, new = self.customer, self.current, self.candidate
        assert customer.owner_id is not None
        return WhatIfCustomer(
            customer.id,
            customer.owner_id,
            customer.pool_id,
            customer.grade,
            None if old is None else old.due_at,
            None if old is None else old.rule.name,
            None if new is None else new.due_at,
            None if new is None else new.rule.name,
            self.shift,
            self.actions,
            self.current_actions,
        )


def _actions(
    customer: Customer, policy: Policy, deadline: Deadline | None, plan: _Plan
) -> tuple[ForecastItem, ...]:
    """The forecast's replay of the sweep's decision from ``plan.at`` to ``plan.until``;
    skipped, as the forecast's due index skips it, for a customer whose schedule names
    nothing by ``until``."""
    next_at = rules.schedule_for(customer, deadline).next_at
    if next_at is None or utc(next_at) > utc(plan.until):
        return ()
    return tuple(_replay(customer, deadline, policy.zone, plan.at, plan.until))


def _drop_key(deadline: Deadline | None) -> tuple[datetime, str] | None:
    return None if deadline is None else (utc(deadline.due_at), deadline.rule.name)


def _action_key(item: ForecastItem) -> tuple[ActionKind, datetime, str, str]:
    return (item.action, utc(item.at), item.rule, item.code)


def _soonest(item: WhatIfCustomer) -> tuple[datetime, str]:
    when = item.new_drop_at if item.new_drop_at is not None else item.drop_at
    assert when is not None  # a changed customer has a drop under one policy at least
    return (utc(when), item.customer_id)


@attrs.define
class _Totals:
    """The counts of a what-if as the customers stream by: per rep, per pool, in all."""

    customers: int = 0
    shifts: dict[DropShift, int] = attrs.Factory(lambda: dict.fromkeys(DropShift, 0))
    held: defaultdict[str, list[int]] = attrs.Factory(lambda: defaultdict(lambda: [0, 0]))
    reps: defaultdict[str, dict[str, int]] = attrs.Factory(lambda: defaultdict(dict))
    pools: defaultdict[str, dict[str, int]] = attrs.Factory(lambda: defaultdict(dict))
    all: dict[str, int] = attrs.Factory(dict)

    def add(self, judged: _Judged, plan: _Plan) -> None:
        customer = judged.customer
        owner = customer.owner_id
        assert owner is not None
        self.customers += 1
        counts: dict[str, int] = {}
        for key, items in (("", judged.current_actions), ("new_", judged.actions)):
            for item in items:
                name = key + ("drops" if item.action is ActionKind.DROP else "warnings")
                counts[name] = counts.get(name, 0) + 1
        shift = judged.shift
        if judged.changed:
            self.shifts[shift] += 1
            if shift in (DropShift.EARLIER, DropShift.LATER):
                counts[shift.value] = 1
        targets = [self.all, self.pools[customer.pool_id]]
        if plan.shows(owner):
            targets.append(self.reps[owner])
            held = self.held[owner]
            held[0] += rules.counts_toward_cap(customer, plan.current)
            held[1] += rules.counts_toward_cap(customer, plan.candidate)
        for target in targets:
            for name, number in counts.items():
                target[name] = target.get(name, 0) + number


class WhatIfJobs(ServiceCore):
    def what_if(
        self,
        candidate: Policy,
        until: datetime,
        *,
        actor_id: str | None = None,
        limit: int | None = 100,
    ) -> WhatIf:
        """What applying ``candidate`` now would do by ``until``, compared with the policy in
        force; changes nothing (no schedule, not the stored policy, nothing at all).

        Exactly what sweeps would do after ``change_policy(candidate)``: each customer's
        drops and warnings are the sweep's own decision replayed at the instants it names.
        A candidate that ``change_policy`` would refuse (routing to an unknown pool) is
        refused the same way. Without ``actor_id`` it covers every private customer and
        every rep; with it, what that rep oversees: for an admin everything, for anyone else
        the customers they own, those of the reps below them and those in the pools they
        manage (whom :func:`~poolkit.service.rights.oversees` names, and their own), with
        rows for themselves and the reps below them (a departed rep may not ask). The
        changed customers are listed soonest first, at most ``limit`` of them (None: all);
        the totals count them all. Memory stays bounded by ``limit`` and the team, whatever
        the number of customers: read every changed customer with :meth:`what_if_items`.
        """
        if limit is not None and limit < 0:
            raise InvalidValueError("limit", f"must be >= 0 or None, got {limit}")
        plan = self._what_if_plan(candidate, until, actor_id)
        totals = _Totals()
        kept: list[WhatIfCustomer] = []
        changed = 0
        for judged in self._judge(plan):
            totals.add(judged, plan)
            if not judged.changed:
                continue
            changed += 1
            if limit is None or limit > 0:
                kept.append(judged.item())
            if limit is not None and len(kept) > 2 * limit:
                kept = heapq.nsmallest(limit, kept, key=_soonest)
        kept.sort(key=_soonest)
        items = tuple(kept if limit is None else kept[:limit])
        every = totals.all
        return WhatIf(
            plan.at,
            plan.until,
            plan.version,
            totals.customers,
            changed,
            totals.shifts[DropShift.EARLIER],
            totals.shifts[DropShift.LATER],
            totals.shifts[DropShift.NEW],
            totals.shifts[DropShift.GONE],
            every.get("drops", 0),
            every.get("new_drops", 0),
            every.get("warnings", 0),
            every.get("new_warnings", 0),
            self._rep_rows(plan, totals),
            tuple(
                PoolOutlook(pool_id, **counts) for pool_id, counts in sorted(totals.pools.items())
            ),
            items,
            changed - len(items),
        )

    def what_if_items(
        self, candidate: Policy, until: datetime, *, actor_id: str | None = None
    ) -> Iterator[WhatIfCustomer]:
        """Every customer whose outlook :meth:`what_if` says ``candidate`` changes, by id,
        as a stream: read page by page while it is consumed, for an export or a screen
        that pages. The same customers, judged the same way; changes nothing."""
        plan = self._what_if_plan(candidate, until, actor_id)
        return (judged.item() for judged in self._judge(plan) if judged.changed)

    def _what_if_plan(self, candidate: Policy, until: datetime, actor_id: str | None) -> _Plan:
        require_aware(until, "until")
        with self._work() as work:
            pools = work.team.all_pools()
            if pools:
                rules.check_routing(candidate, [pool.id for pool in pools])
            owned = CustomerQuery(status=CustomerStatus.PRIVATE)
            if actor_id is None or work.team.actor(actor_id).is_admin:
                queries: tuple[CustomerQuery, ...] = (owned,)
                reps = {rep.id: rep for rep in work.uow.reps.all() if rep.active}
                every_owner = True
            else:
                actor = work.team.actor(actor_id)
                below = work.team.subordinates(actor.id)
                reps = {rep_id: work.team.rep(rep_id) for rep_id in sorted({actor.id} | below)}
                reps = {rep_id: rep for rep_id, rep in reps.items() if rep.active}
                queries = (attrs.evolve(owned, owner_ids=frozenset(reps)),)
                managed = frozenset(pool.id for pool in pools if actor.id in pool.managers)
                if managed:
                    queries += (attrs.evolve(owned, pool_ids=managed),)
                every_owner = False
            return _Plan(
                work.policy, work.stored.version, candidate, work.at, until, queries, reps,
                every_owner,
            )  # fmt: skip

    def _pages(self, query: CustomerQuery) -> Iterator[Customer]:
        """The customers matching ``query`` by id, a page per unit of work; the unit of work
        ends (rolled back: nothing was written) before the page is handed on."""
        after: str | None = None
        while True:
            with self.store.unit_of_work() as uow:
                page = uow.customers.find(query, self._sweep_batch, after=after)
            yield from page
            if len(page) < self._sweep_batch:
                return
            after = page[-1].id

    def _judge(self, plan: _Plan) -> Iterator[_Judged]:
        streams = [self._pages(query) for query in plan.queries]
        last: str | None = None
        for customer in heapq.merge(*streams, key=lambda customer: customer.id):
            if customer.id == last:  # both owned by the team and in a managed pool
                continue
            last = customer.id
            current = rules.next_drop(customer, plan.current)
            candidate = rules.next_drop(customer, plan.candidate)
            yield _Judged(
                customer,
                current,
                candidate,
                _actions(customer, plan.current, current, plan),
                _actions(customer, plan.candidate, candidate, plan),
            )

    def _rep_rows(self, plan: _Plan, totals: _Totals) -> tuple[RepOutlook, ...]:
        rep_ids = sorted(set(plan.reps) | set(totals.held) | set(totals.reps))
        since = min(
            rules.claim_window_start(plan.at, plan.current),
            rules.claim_window_start(plan.at, plan.candidate),
            key=utc,
        )
        rows: list[RepOutlook] = []
        for start in range(0, len(rep_ids), self._sweep_batch):
            with self.store.unit_of_work() as uow:
                claims = {
                    rep_id: uow.events.claims_by(rep_id, since)
                    for rep_id in rep_ids[start : start + self._sweep_batch]
                }
            for rep_id, times in claims.items():
                rep = plan.reps.get(rep_id)
                cap, limit = (None, None) if rep is None else (rep.cap, rep.claim_limit)
                held, new_held = totals.held.get(rep_id, (0, 0))
                rows.append(
                    RepOutlook(
                        rep_id,
                        held,
                        new_held,
                        plan.current.cap_for(rep_id, cap),
                        plan.candidate.cap_for(rep_id, cap),
                        len(rules.claims_in_window(times, plan.at, plan.current)),
                        len(rules.claims_in_window(times, plan.at, plan.candidate)),
                        plan.current.claim_limit_for(rep_id, limit),
                        plan.candidate.claim_limit_for(rep_id, limit),
                        **totals.reps.get(rep_id, {}),
                    )
                )
        return tuple(rows)
