"""Automatic assignment (自动分配), routing you can check, and rep availability.

:func:`assign_automatically` is the one step every inflow uses (a create, a drop in the
sweep, a departure, a manager's :meth:`~AssignmentJobs.distribute`): inside the caller's
unit of work it locks the pool, then its members in order of id, reads what each holds
and the pool's turn, asks :func:`poolkit.policy.assignment.choose`, and writes the
``Assigned`` event with the reason and the new turn. The locks make concurrent
assignments take turns: no cap is passed and no turn is handed out twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import attrs

from poolkit.errors import InvalidValueError, PermissionDenied
from poolkit.model.customer import AttributeValue, Customer, CustomerStatus
from poolkit.model.events import Assigned
from poolkit.model.pool import Pool
from poolkit.model.rep import Rep
from poolkit.policy import assignment, routing, rules
from poolkit.policy.assignment import Turn
from poolkit.policy.config import AssignmentRule, Inflow, Strategy
from poolkit.policy.routing import RouteExplanation
from poolkit.ports import CustomerQuery
from poolkit.service import rights
from poolkit.service._core import ServiceCore, Work, next_event
from poolkit.service._retry import retried

__all__ = ["Assignment", "AssignmentJobs", "assign_automatically", "turn_key"]


@attrs.frozen
class Assignment:
    """One automatic assignment: the customer, its pool, the rep chosen (None: nobody was
    eligible, and the customer stays in the pool) and why, in the strategy's words."""

    customer_id: str
    pool_id: str
    rep_id: str | None
    strategy: Strategy
    reason: str

    @property
    def assigned(self) -> bool:
        return self.rep_id is not None


def turn_key(pool_id: str) -> str:
    """The settings key under which a pool's :class:`~poolkit.policy.assignment.Turn` is kept."""
    return f"assignment.turn.{pool_id}"


def _member_ids(work: Work, pool: Pool) -> list[str]:
    """Who may be given the pool's customers: its members; for the default pool naming
    none (everyone's pool), every rep of the team who is not an admin."""
    if pool.members or not pool.is_default:
        return sorted(pool.members)
    return sorted(rep.id for rep in work.uow.reps.all() if not rep.is_admin)


def _members(work: Work, pool: Pool) -> list[Rep]:
    """The pool's members, each locked before it is read (in order of id, as every
    assignment locks them): a departure, a cap or a claim of theirs committed meanwhile is
    seen, and none can happen until this unit of work ends."""
    found = []
    for rep_id in _member_ids(work, pool):
        work.uow.lock_rep(rep_id)
        rep = work.uow.reps.get(rep_id)
        if rep is not None:
            found.append(rep)
    return found


def _candidate(
    work: Work, customer: Customer, rule: AssignmentRule, rep: Rep, excluded: frozenset[str]
) -> assignment.Candidate:
    """``rep`` as a candidate for ``customer``: their holdings counted (one indexed count,
    not a read of their book), their claims read only under a claim limit."""
    uow, policy = work.uow, work.policy
    held = uow.customers.holdings(rep.id)
    claims: list[datetime] = []
    if rep.active and policy.claim_limit_for(rep.id, rep.claim_limit) is not None:
        claims = uow.events.claims_by(rep.id, rules.claim_window_start(work.at, policy))
    return assignment.candidate(
        rep,
        customer,
        policy,
        work.at,
        held=held,
        claims=claims,
        weight=rule.weight_of(rep.id),
        excluded=excluded,
    )


def _candidates(
    work: Work, customer: Customer, rule: AssignmentRule, turn: Turn, excluded: frozenset[str]
) -> list[assignment.Candidate]:
    """The candidates the strategy needs: for round robin, the members in its order up to
    the first eligible one; for the others, every member."""
    members = {rep.id: rep for rep in _members(work, work.team.pool(customer.pool_id))}
    if rule.strategy is not Strategy.ROUND_ROBIN:
        return [_candidate(work, customer, rule, rep, excluded) for rep in members.values()]
    found = []
    for rep_id in assignment.round_robin_order(members, turn.last):
        found.append(_candidate(work, customer, rule, members[rep_id], excluded))
        if found[-1].eligible:
            break
    return found


def assign_automatically(
    core: ServiceCore,
    work: Work,
    customer: Customer,
    inflow: Inflow | None,
    *,
    actor_id: str | None = None,
    excluded: frozenset[str] = frozenset(),
    rule: AssignmentRule | None = None,
) -> tuple[Customer, Assignment | None]:
    """Assign a public ``customer`` by its pool's automatic assignment for ``inflow``, in
    ``work``: the customer as it is after, and the decision (None when the pool has no
    automatic assignment for that inflow). ``excluded`` reps are passed over (the rep it
    just dropped from); ``rule`` replaces the policy's for the pool."""
    if rule is None:
        rule = work.policy.assignment_for(customer.pool_id, inflow)
    if rule is None or customer.status is not CustomerStatus.PUBLIC:
        return customer, None
    uow = work.uow
    uow.lock_pool(customer.pool_id)
    key = turn_key(customer.pool_id)
    turn = Turn.from_text(uow.settings.get(key))
    choice = assignment.choose(rule, _candidates(work, customer, rule, turn, excluded), turn)
    decision = Assignment(
        customer.id, customer.pool_id, choice.rep_id, rule.strategy, choice.reason
    )
    if choice.rep_id is None:
        return customer, decision
    uow.settings.set(key, choice.turn.to_text())
    event = next_event(
        Assigned,
        customer,
        work.at,
        actor_id,
        rep_id=choice.rep_id,
        pool_id=customer.pool_id,
        reason=choice.reason,
    )
    return core._write(work, customer, event), decision


class AssignmentJobs(ServiceCore):
    @retried
    def distribute(
        self,
        actor_id: str,
        pool_id: str,
        *,
        strategy: Strategy | None = None,
        limit: int | None = None,
    ) -> tuple[Assignment, ...]:
        """A pool manager hands out the pool's public customers at once, by the pool's
        automatic assignment (or by ``strategy``, for a pool without one), at most
        ``limit`` of them, in order of id. Caps, claim limits, cooldowns and availability
        are respected as for every automatic assignment; a customer nobody may take stays
        in the pool, with the reason in its :class:`Assignment`. One unit of work."""
        if limit is not None and limit < 1:
            raise InvalidValueError("limit", "must be > 0")
        with self._work() as work:
            actor = work.team.actor(actor_id)
            pool = work.team.pool(pool_id)
            verdict = rights.may_assign(actor, pool)
            if not verdict.allowed:
                raise PermissionDenied(actor.id, "distribute", f"pool {pool.id!r}", verdict.reason)
            rule = work.policy.assignment_for(pool.id)
            if strategy is not None:
                weights = rule.weights if rule and strategy is Strategy.WEIGHTED else {}
                rule = AssignmentRule(pool.id, strategy, weights=weights)
            if rule is None:
                raise InvalidValueError(
                    "strategy",
                    f"pool {pool.id!r} has no automatic assignment in the policy: name a strategy",
                )
            query = CustomerQuery(status=CustomerStatus.PUBLIC, pool_ids=frozenset({pool.id}))
            decisions = []
            for customer in work.uow.customers.find(query, limit=limit):
                _, decision = assign_automatically(
                    self, work, customer, None, actor_id=actor.id, rule=rule
                )
                assert decision is not None  # a rule was given
                decisions.append(decision)
            work.uow.commit()
            return tuple(decisions)

    def route(
        self,
        *,
        customer_id: str | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
        tags: Iterable[str] | None = None,
    ) -> RouteExplanation:
        """Which public pool the routing sends a customer to, and why: the rule that
        matched (its position, name and conditions), or the rules tried and what each
        missed before the default applied. For a stored customer (``customer_id``), its
        attributes and tags, unless given; else a would-be customer's. Changes nothing."""
        with self._work() as work:
            if customer_id is not None:
                customer = self._customer(work.uow, customer_id)
                attributes = customer.attributes if attributes is None else attributes
                tags = customer.tags if tags is None else tags
            explanation = routing.explain(attributes, tags or (), work.policy)
            if explanation.pool_id is None:
                explanation = attrs.evolve(explanation, pool_id=work.team.default_pool().id)
            return explanation

    @retried
    def set_availability(self, actor_id: str, rep_id: str, available: bool) -> Rep:
        """Mark a rep available or not (on leave): automatic assignment passes over an
        unavailable rep; nothing else changes (they keep their customers and may still
        be given one by hand). The rep themselves, a superior, or an admin."""
        with self._work() as work:
            actor = work.team.actor(actor_id)
            work.uow.lock_rep(rep_id)
            rep = work.team.rep(rep_id)
            verdict = rights.may_set_availability(work.team, actor, rep)
            if not verdict.allowed:
                raise PermissionDenied(
                    actor.id, "set the availability of", f"rep {rep.id!r}", verdict.reason
                )
            changed = attrs.evolve(rep, available=available)
            work.uow.reps.put(changed)
            work.uow.commit()
            return changed
