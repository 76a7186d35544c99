"""Automatic assignment (自动分配): which member of a pool gets the next customer, and why.

Pure decisions over values, like :mod:`poolkit.policy.rules`. The service gathers the
pool's :class:`Candidate` members (each with their load and, if they may not take this
customer, why not), reads the pool's :class:`Turn` (the state a strategy keeps between
assignments), and asks :func:`choose`; it then writes the chosen rep's ``Assigned`` event
with the :class:`Choice`'s reason and stores the new turn, in the same unit of work.

The strategies, each among the eligible candidates only:

- ``round_robin``: the members in order of id, as a ring; the next eligible one after the
  rep chosen last. Over any run of assignments among the same eligible members, their
  counts differ by at most one.
- ``weighted``: smooth weighted round robin. Each eligible member's credit grows by their
  weight; the one with the most credit (ties: the smaller id) is chosen and gives up the
  eligible members' total weight. Over n assignments among the same members, with total
  weight W, a member of weight w gets fewer than ``n*w/W + 1`` and at least
  ``n*w/W - (k - 1)`` of them (k members): the credits always sum to zero and none falls
  to -W, which gives both bounds. The shares are interleaved, not in runs.
- ``least_loaded``: the eligible member holding the fewest customers that count toward the
  cap (the same count the cap uses; ties: the smaller id). By count, not by count relative
  to the cap: a rep with a small cap fills up as fast as the others until the cap stops
  them, which keeps the reason a number a person can check ("least loaded: 12 of 40").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType

import attrs

from poolkit.errors import InvalidValueError
from poolkit.model.customer import Customer
from poolkit.model.holdings import Holdings
from poolkit.model.rep import Rep
from poolkit.policy import rules
from poolkit.policy.calendar import format_instant
from poolkit.policy.config import AssignmentRule, Policy, Strategy

__all__ = [
    "Candidate",
    "Choice",
    "Turn",
    "candidate",
    "choose",
    "round_robin_order",
]


def _frozen_credits(values: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(values))


@attrs.frozen
class Turn:
    """What a pool's strategy remembers between assignments: the rep chosen last (round
    robin) and each member's credit (weighted). Stored as text in the store's settings."""

    last: str | None = None
    credits: Mapping[str, int] = attrs.field(factory=dict, converter=_frozen_credits, hash=False)

    def to_text(self) -> str:
        return json.dumps({"last": self.last, "credits": dict(self.credits)}, sort_keys=True)

    @classmethod
    def from_text(cls, text: str | None) -> Turn:
        """The turn stored as ``text`` (none stored: the first turn)."""
        if text is None:
            return cls()
        try:
            data = json.loads(text)
            last, credits = data["last"], data["credits"]
            if (last is not None and not isinstance(last, str)) or not all(
                isinstance(key, str) and type(value) is int for key, value in credits.items()
            ):
                raise TypeError(text)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InvalidValueError("assignment turn", f"cannot read {text!r}") from error
        return cls(last, credits)


@attrs.frozen
class Candidate:
    """A member of the pool, as automatic assignment sees them for one customer.

    ``load`` counts the customers they hold that count toward the cap, ``cap`` is the cap
    in force (None: no cap), ``weight`` their weight (weighted strategy), and ``skip`` why
    they may not take this customer (None: eligible).
    """

    rep_id: str
    load: int = 0
    cap: int | None = None
    weight: int = 1
    skip: str | None = None

    @property
    def eligible(self) -> bool:
        return self.skip is None


@attrs.frozen
class Choice:
    """A strategy's decision: the rep (None: nobody is eligible), the reason in words, and
    the pool's turn after it (unchanged when nobody was chosen)."""

    rep_id: str | None
    reason: str
    turn: Turn


def candidate(
    rep: Rep,
    customer: Customer,
    policy: Policy,
    at: datetime,
    *,
    held: Holdings | Sequence[Customer],
    claims: Sequence[datetime] = (),
    weight: int = 1,
    excluded: frozenset[str] = frozenset(),
) -> Candidate:
    """``rep`` as a candidate for ``customer`` at ``at``: their load from ``held`` (what
    they own: their :class:`~poolkit.model.holdings.Holdings` as a store counts them, or
    the customers themselves), and whether they may take one more. Passed over are reps who
    departed or are unavailable, the rep the customer just left (``excluded``), reps in
    the cooldown for this customer, at their cap, at their claim limit, or, for a locked
    customer, at their lock cap."""
    holdings = held if isinstance(held, Holdings) else Holdings.of(held)
    cap_decision = rules.check_cap(rep, holdings, policy)
    cap = policy.cap_for(rep.id, rep.cap)
    load = cap_decision.count or 0
    skip = _skip(rep, customer, policy, at, cap_decision, holdings, claims, excluded)
    return Candidate(rep.id, load, cap, weight, skip)


def _skip(
    rep: Rep,
    customer: Customer,
    policy: Policy,
    at: datetime,
    cap_decision: rules.Decision | rules.CapFull,
    holdings: Holdings,
    claims: Sequence[datetime],
    excluded: frozenset[str],
) -> str | None:
    if not rep.active:
        return "departed"
    if not rep.available:
        return "unavailable"
    if rep.id in excluded:
        return "just lost this customer"
    cooldown = rules.check_cooldown(rep.id, customer, policy, at)
    if isinstance(cooldown, rules.CooldownRunning):
        return f"in the cooldown until {format_instant(cooldown.until, policy.zone)}"
    if isinstance(cap_decision, rules.CapFull):
        return f"at the cap, {cap_decision.count} of {cap_decision.limit}"
    limit = rules.check_claim_limit(rep, claims, policy, at)
    if isinstance(limit, rules.ClaimLimitReached):
        days = policy.claim_limit.window_days
        return f"at the claim limit, {limit.count} of {limit.limit} in {days} days"
    if customer.locked:
        lock_cap = rules.check_lock_cap(rep.id, holdings, policy)
        if isinstance(lock_cap, rules.CapFull):
            return f"at the lock cap, {lock_cap.count} of {lock_cap.limit}"
    return None


def choose(rule: AssignmentRule, candidates: Sequence[Candidate], turn: Turn) -> Choice:
    """The rep ``rule``'s strategy picks among ``candidates`` (ordered by id or not), and
    the turn after it.

    Round robin needs only the candidates up to the first eligible one in
    :func:`round_robin_order`: given those, it chooses what it would among all of them
    (the service stops reading there, so a create reads one rep's book, not every one's).
    The other strategies need every member."""
    members = sorted(candidates, key=lambda c: c.rep_id)
    eligible = [c for c in members if c.eligible]
    if not eligible:
        return Choice(None, _nobody(members), turn)
    if rule.strategy is Strategy.ROUND_ROBIN:
        return _round_robin(members, turn)
    if rule.strategy is Strategy.WEIGHTED:
        return _weighted(members, turn)
    return _least_loaded(eligible, turn)


def _nobody(members: Sequence[Candidate]) -> str:
    if not members:
        return "nobody eligible: the pool has no members"
    return "nobody eligible: " + ", ".join(f"{c.rep_id} {c.skip}" for c in members)


def round_robin_order(rep_ids: Iterable[str], last: str | None) -> list[str]:
    """The members in the order round robin tries them: by id, starting after ``last``
    (the rep chosen last, who may have left the pool since) and wrapping round."""
    ring = sorted(rep_ids)
    if last is None:
        return ring
    return [rep for rep in ring if rep > last] + [rep for rep in ring if rep <= last]


def _round_robin(members: Sequence[Candidate], turn: Turn) -> Choice:
    last = turn.last
    by_id = {c.rep_id: c for c in members}
    ring = [by_id[rep] for rep in round_robin_order(by_id, last)]
    passed = []
    for member in ring:
        if member.eligible:
            break
        passed.append(member)
    reason = "round robin: first in turn" if last is None else f"round robin: next after {last}"
    if passed:
        reason += "; passed over " + ", ".join(f"{c.rep_id} ({c.skip})" for c in passed)
    return Choice(member.rep_id, reason, attrs.evolve(turn, last=member.rep_id))


def _weighted(members: Sequence[Candidate], turn: Turn) -> Choice:
    # Credits are kept for the members only: one who left the pool takes theirs along.
    credits = {c.rep_id: turn.credits.get(c.rep_id, 0) for c in members}
    eligible = [c for c in members if c.eligible]
    total = sum(c.weight for c in eligible)
    for member in eligible:
        credits[member.rep_id] += member.weight
    # Ties go to the smaller id: ``eligible`` is ordered by id and max keeps the first.
    chosen = max(eligible, key=lambda c: credits[c.rep_id])
    highest = credits[chosen.rep_id]
    credits[chosen.rep_id] -= total
    reason = f"weighted: weight {chosen.weight} of {total}, highest credit {highest}"
    return Choice(chosen.rep_id, reason, Turn(chosen.rep_id, credits))


def _least_loaded(eligible: Sequence[Candidate], turn: Turn) -> Choice:
    chosen = min(eligible, key=lambda c: (c.load, c.rep_id))
    of = f"{chosen.load} of {chosen.cap}" if chosen.cap is not None else f"{chosen.load}, no cap"
    return Choice(chosen.rep_id, f"least loaded: {of}", attrs.evolve(turn, last=chosen.rep_id))
