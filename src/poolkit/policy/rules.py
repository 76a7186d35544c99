"""The rule engine: pure functions over (customer, policy, time).

No store, no clock: each function gets everything it needs as arguments, so every
decision can be tested to the second and forecast ahead. Every decision carries a
machine-readable ``code`` and a ``message`` a person understands.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo

import attrs

from poolkit.clock import require_aware, utc
from poolkit.errors import InvalidValueError
from poolkit.model.customer import AttributeValue, Customer, IdentityKey
from poolkit.model.holdings import Holdings
from poolkit.model.rep import Rep
from poolkit.model.schedule import Schedule
from poolkit.policy import routing
from poolkit.policy.calendar import add_days, format_instant, start_of_day
from poolkit.policy.config import DropKind, DropRule, DropTime, Policy


class Reason(enum.Enum):
    """Machine-readable reason codes carried by every decision."""

    DROP_NO_FOLLOW_UP = "drop.no_follow_up"
    DROP_NO_FIRST_DEAL = "drop.no_first_deal"
    DROP_NO_REPEAT_DEAL = "drop.no_repeat_deal"
    DROP_DEPARTED = "drop.owner_departed"
    NOT_DUE = "drop.not_due"
    NOT_PRIVATE = "drop.not_private"
    EXEMPT_LOCKED = "drop.exempt_locked"
    NO_RULE = "drop.no_rule_applies"
    WARN = "warn.drop_ahead"
    CAP_OK = "cap.ok"
    CAP_FULL = "cap.full"
    LOCK_CAP_OK = "lock_cap.ok"
    LOCK_CAP_FULL = "lock_cap.full"
    CLAIM_LIMIT_OK = "claim_limit.ok"
    CLAIM_LIMIT_REACHED = "claim_limit.reached"
    COOLDOWN_OK = "cooldown.ok"
    COOLDOWN_ACTIVE = "cooldown.active"


class ActionKind(enum.StrEnum):
    """What a sweep does to one customer at one instant.

    A ``StrEnum``, so its values read as the words the command line prints.
    """

    DROP = "drop"
    WARN = "warning"
    RESCHEDULE = "reschedule"


_DROP_REASONS = {
    DropKind.NO_FOLLOW_UP: Reason.DROP_NO_FOLLOW_UP,
    DropKind.NO_FIRST_DEAL: Reason.DROP_NO_FIRST_DEAL,
    DropKind.NO_REPEAT_DEAL: Reason.DROP_NO_REPEAT_DEAL,
}

_DROP_WORDS = {
    DropKind.NO_FOLLOW_UP: ("no follow-up", "since"),
    DropKind.NO_FIRST_DEAL: ("no deal", "since it was taken on"),
    DropKind.NO_REPEAT_DEAL: ("no repeat deal", "since the last deal on"),
}


@attrs.frozen
class Deadline:
    """When one drop rule will drop a customer, and when its owner is warned."""

    rule: DropRule
    anchor: datetime  # the moment the rule counts from
    due_at: datetime
    warn_at: datetime | None
    code: Reason
    zone: tzinfo = attrs.field(eq=False, repr=False)

    @functools.cached_property
    def message(self) -> str:
        """Why it drops, in words: built on demand, since a sweep needs it only for the few
        customers it actually moves (and then twice: for the event and for the report)."""
        what, since = _DROP_WORDS[self.rule.kind]
        return (
            f"{what} for {self.rule.days} days {since} {format_instant(self.anchor, self.zone)}, "
            f"rule {self.rule.name!r}"
        )


@attrs.frozen
class Decision:
    """A yes/no answer with its reason. ``until`` is when a refusal stops applying, if known."""

    allowed: bool
    code: Reason
    message: str
    until: datetime | None = None
    limit: int | None = None
    count: int | None = None


@attrs.frozen
class CapFull:
    """A refusal of :func:`check_cap` (or :func:`check_lock_cap`): the rep holds ``count``
    of a cap of ``limit``."""

    code: Reason
    message: str
    limit: int
    count: int

    allowed = False
    until = None


@attrs.frozen
class ClaimLimitReached:
    """A refusal of :func:`check_claim_limit`: ``count`` of ``limit`` claims in the window;
    one more fits at ``until`` (None when the limit is 0)."""

    code: Reason
    message: str
    limit: int
    count: int
    until: datetime | None

    allowed = False


@attrs.frozen
class CooldownRunning:
    """A refusal of :func:`check_cooldown`: the rep may claim the customer again at ``until``."""

    code: Reason
    message: str
    until: datetime

    allowed = False


def same_instant(a: datetime | None, b: datetime) -> bool:
    # Aware datetimes sharing a tzinfo compare by wall time, ignoring fold, and across
    # zones an ambiguous wall time is never ==: compare the instants.
    return a is not None and utc(a) == utc(b)


def deadline_after(anchor: datetime, days: int, policy: Policy) -> datetime:
    """``days`` calendar days after ``anchor`` in the policy's zone, per ``drop_time``."""
    if policy.drop_time is DropTime.START_OF_DAY:
        return start_of_day(add_days(anchor, days, policy.zone).date(), policy.zone)
    return add_days(anchor, days, policy.zone)


def _anchor(rule: DropRule, customer: Customer) -> datetime | None:
    """The instant the rule counts from, or None when the rule does not watch this customer."""
    owned_since = customer.owned_since
    assert owned_since is not None
    if rule.kind is DropKind.NO_FOLLOW_UP:
        follow_up = follow_up_anchor(rule, customer)
        # A follow-up made before the current owner took the customer does not count:
        # each owner gets the full period from the moment they took it.
        if follow_up is None or utc(follow_up) <= utc(owned_since):
            return owned_since
        return follow_up
    deal = customer.last_deal_at
    dealt_while_owned = deal is not None and utc(deal) >= utc(owned_since)
    match rule.kind:
        case DropKind.NO_FIRST_DEAL:
            return None if dealt_while_owned else owned_since
        case DropKind.NO_REPEAT_DEAL:
            return deal if dealt_while_owned else None


def follow_up_anchor(rule: DropRule, customer: Customer) -> datetime | None:
    """The last follow-up that resets ``rule``'s clock: of any kind when the rule names no
    ``follow_up_kinds``, else the latest of those kinds.

    A customer whose follow-ups were all recorded before poolkit kept them per kind has
    ``last_follow_up_at`` but no ``last_follow_up_by_kind``: their kind is unknown, and
    the last follow-up counts, so an upgrade never drops a customer earlier than before.
    """
    last = customer.last_follow_up_at
    by_kind = customer.last_follow_up_by_kind
    if not rule.follow_up_kinds or (last is not None and not by_kind):
        return last
    times = [by_kind[kind.value] for kind in rule.follow_up_kinds if kind.value in by_kind]
    return max(times, key=utc) if times else None


def rule_applies(rule: DropRule, customer: Customer) -> bool:
    """Whether ``rule`` watches ``customer`` at all (scope and exemptions, not timing)."""
    if not customer.is_private or customer.locked:
        return False
    if rule.exempt_if_dealt and customer.last_deal_at is not None:
        return False
    return rule.applies_to_scope(customer.grade, customer.pool_id)


def deadlines(customer: Customer, policy: Policy) -> list[Deadline]:
    """Every drop rule's deadline for this customer, earliest first (ties in rule order)."""
    out: list[Deadline] = []
    for rule in policy.drop_rules:
        if not rule_applies(rule, customer):
            continue
        anchor = _anchor(rule, customer)
        if anchor is None:
            continue
        due_at = deadline_after(anchor, rule.days, policy)
        warn_at = (
            deadline_after(anchor, rule.days - rule.warn_days, policy) if rule.warn_days else None
        )
        out.append(Deadline(rule, anchor, due_at, warn_at, _DROP_REASONS[rule.kind], policy.zone))
    if len(out) > 1:
        out.sort(key=lambda d: utc(d.due_at))
    return out


def next_drop(customer: Customer, policy: Policy) -> Deadline | None:
    """The drop that will happen first if nobody touches the customer, or None."""
    found = deadlines(customer, policy)
    return found[0] if found else None


@attrs.frozen
class Drop:
    """The customer drops now: ``deadline`` is the rule that fired."""

    owner_id: str
    deadline: Deadline

    kind = ActionKind.DROP

    @property
    def code(self) -> Reason:
        return self.deadline.code

    @property
    def message(self) -> str:
        return f"dropped: {self.deadline.message}"


@attrs.frozen
class Warn:
    """The owner is warned now of the drop ``deadline`` announces."""

    owner_id: str
    deadline: Deadline
    zone: tzinfo = attrs.field(eq=False, repr=False)

    kind = ActionKind.WARN
    code = Reason.WARN

    @property
    def message(self) -> str:
        return f"will drop at {format_instant(self.deadline.due_at, self.zone)}: " + (
            self.deadline.message
        )


@attrs.frozen
class Reschedule:
    """Nothing is due: the next sweep need not look before ``schedule``."""

    schedule: Schedule

    kind = ActionKind.RESCHEDULE


DueAction = Drop | Warn | Reschedule


def due_action(customer: Customer, policy: Policy, at: datetime) -> DueAction:
    """What a sweep at ``at`` does to ``customer``: the one drop-and-warning decision.

    The sweep, its dry run and the forecast all ask this, so what is forecast is what
    runs. A drop due at ``at`` wins over its warning: the owner is not warned of a drop
    that has already happened. A :class:`Reschedule`'s instants all lie after ``at``.
    """
    require_aware(at, "at")
    return decide_due(
        next_drop(customer, policy), customer.owner_id, customer.warned_due_at, policy.zone, at
    )


def decide_due(
    deadline: Deadline | None,
    owner_id: str | None,
    warned_due_at: datetime | None,
    zone: tzinfo,
    at: datetime,
) -> DueAction:
    """:func:`due_action`, from what it reads of the customer: its :func:`next_drop`, its
    owner and the drop it was last warned of.

    The forecast replays a customer's warnings through this alone: a warning changes only
    ``warned_due_at``, which no deadline reads, so the deadline is computed once.
    """
    if deadline is None:
        return Reschedule(Schedule())
    # Each instant is converted once: the forecast asks this several times per customer.
    due_at = utc(deadline.due_at)
    warned = warned_due_at is not None and utc(warned_due_at) == due_at
    warn_at = None if warned else deadline.warn_at
    if owner_id is not None:
        now = utc(at)
        if due_at <= now:
            return Drop(owner_id, deadline)
        if warn_at is not None and utc(warn_at) <= now:  # and now < due_at, just checked
            return Warn(owner_id, deadline, zone)
    return Reschedule(Schedule(drop_at=deadline.due_at, warn_at=warn_at))


def evaluate_drop(customer: Customer, policy: Policy, at: datetime) -> Decision:
    """Should the customer drop at ``at``? ``allowed`` means "drop now".

    The same answer as :func:`due_action`, with a reason for every "no".
    """
    require_aware(at, "at")
    if not customer.is_private:
        return Decision(False, Reason.NOT_PRIVATE, f"not dropped: customer is {customer.where}")
    if customer.locked:
        return Decision(
            False, Reason.EXEMPT_LOCKED, "not dropped: customer is locked against drops"
        )
    action = due_action(customer, policy, at)
    if isinstance(action, Drop):
        return Decision(True, action.code, action.message, until=action.deadline.due_at)
    deadline = next_drop(customer, policy)
    if deadline is None:
        return Decision(False, Reason.NO_RULE, "not dropped: no drop rule applies")
    return Decision(
        False,
        Reason.NOT_DUE,
        f"not due until {format_instant(deadline.due_at, policy.zone)}: {deadline.message}",
        until=deadline.due_at,
    )


def warning_due(customer: Customer, policy: Policy, at: datetime) -> Deadline | None:
    """The deadline whose warning is due at ``at`` and not yet given, if any.

    A warning announces the drop that will happen first; it is given once per deadline
    (a follow-up moves the deadline, which re-arms the warning).
    """
    action = due_action(customer, policy, at)
    return action.deadline if isinstance(action, Warn) else None


def is_warning_due(deadline: Deadline, customer: Customer, at: datetime) -> bool:
    """Whether the warning of ``deadline`` (the customer's next drop) is due at ``at``."""
    return (
        deadline.warn_at is not None
        and utc(deadline.warn_at) <= utc(at) < utc(deadline.due_at)
        and not same_instant(customer.warned_due_at, deadline.due_at)
    )


def warning_message(deadline: Deadline, policy: Policy) -> str:
    return f"will drop at {format_instant(deadline.due_at, policy.zone)}: {deadline.message}"


def schedule(customer: Customer, policy: Policy) -> Schedule:
    """When a sweep must next look at this customer (nothing, if it is not private)."""
    return schedule_for(customer, next_drop(customer, policy))


def schedule_for(customer: Customer, deadline: Deadline | None) -> Schedule:
    """:func:`schedule`, for a caller that has the customer's :func:`next_drop` already."""
    if deadline is None:
        return Schedule()
    warn_at = deadline.warn_at
    if warn_at is not None and same_instant(customer.warned_due_at, deadline.due_at):
        warn_at = None
    return Schedule(drop_at=deadline.due_at, warn_at=warn_at)


def counts_toward_cap(customer: Customer, policy: Policy) -> bool:
    if not policy.caps.count_dealt and customer.last_deal_at is not None:
        return False
    return policy.caps.count_locked or not customer.locked


def cap_count(holdings: Holdings, policy: Policy) -> int:
    """How many of a rep's ``holdings`` count toward the cap: each customer for which
    :func:`counts_toward_cap` holds, decided from the counts alone."""
    caps = policy.caps
    return holdings.counted(count_dealt=caps.count_dealt, count_locked=caps.count_locked)


def check_cap(rep: Rep, held: Holdings | Iterable[Customer], policy: Policy) -> Decision | CapFull:
    """May ``rep`` take one more customer, holding ``held``: their :class:`Holdings`
    (what a store counts, see :meth:`poolkit.ports.CustomerRepository.holdings`) or the
    customers themselves?"""
    holdings = held if isinstance(held, Holdings) else Holdings.of(held)
    cap = policy.cap_for(rep.id, rep.cap)
    count = cap_count(holdings, policy)
    if cap is None:
        return Decision(True, Reason.CAP_OK, f"{rep.id} has no cap", count=count)
    if count >= cap:
        return CapFull(Reason.CAP_FULL, f"{rep.id} holds {count} of a cap of {cap}", cap, count)
    return Decision(
        True, Reason.CAP_OK, f"{rep.id} holds {count} of a cap of {cap}", limit=cap, count=count
    )


def check_lock_cap(rep_id: str, holdings: Holdings, policy: Policy) -> Decision | CapFull:
    """May ``rep_id`` hold one more locked customer, holding ``holdings``? Every locked
    customer counts toward the lock cap (``caps.count_dealt`` is for the cap alone)."""
    cap = policy.lock_cap_for(rep_id)
    count = holdings.locked
    if cap is None:
        return Decision(True, Reason.LOCK_CAP_OK, f"{rep_id} has no lock cap", count=count)
    message = f"{rep_id} holds {count} locked customers of a lock cap of {cap}"
    if count >= cap:
        return CapFull(Reason.LOCK_CAP_FULL, message, cap, count)
    return Decision(True, Reason.LOCK_CAP_OK, message, limit=cap, count=count)


_FIRST_INSTANT = datetime.min.replace(tzinfo=UTC)


def claim_window_start(at: datetime, policy: Policy) -> datetime:
    """Claims made after this instant may still count at ``at`` (one day of slack for DST);
    a window reaching back before year 1 starts at the calendar's first instant."""
    try:
        return add_days(at, -policy.claim_limit.window_days - 1, policy.zone)
    except InvalidValueError:
        return _FIRST_INSTANT


def claims_in_window(
    claim_times: Iterable[datetime], at: datetime, policy: Policy
) -> list[datetime]:
    """The claims that count against the limit at ``at``: those less than the window ago."""
    days = policy.claim_limit.window_days
    return sorted(
        (t for t in claim_times if utc(t) <= utc(at) < utc(add_days(t, days, policy.zone))),
        key=utc,
    )


def check_claim_limit(
    rep: Rep, claim_times: Sequence[datetime], policy: Policy, at: datetime
) -> Decision | ClaimLimitReached:
    """May ``rep`` claim once more at ``at``, given the times of their earlier claims?"""
    limit = policy.claim_limit_for(rep.id, rep.claim_limit)
    if limit is None:
        return Decision(True, Reason.CLAIM_LIMIT_OK, f"{rep.id} has no claim limit")
    days = policy.claim_limit.window_days
    recent = claims_in_window(claim_times, at, policy)
    if len(recent) < limit:
        return Decision(
            True,
            Reason.CLAIM_LIMIT_OK,
            f"{rep.id} made {len(recent)} of {limit} claims in {days} days",
            limit=limit,
            count=len(recent),
        )
    # One more fits once len(recent) - limit + 1 of these claims have left the window.
    # Expiries are sorted on their own: around a DST change a later claim's window can
    # end before an earlier one's (calendar days are not all equally long).
    expiries = sorted((add_days(t, days, policy.zone) for t in recent), key=utc)
    until = expiries[len(recent) - limit] if limit > 0 else None
    when = f"; next claim at {format_instant(until, policy.zone)}" if until else ""
    return ClaimLimitReached(
        Reason.CLAIM_LIMIT_REACHED,
        f"{rep.id} made {len(recent)} of {limit} claims in {days} days{when}",
        limit,
        len(recent),
        until,
    )


# The answers that name nothing of the case, made once: every claim asks.
_NO_COOLDOWN = Decision(True, Reason.COOLDOWN_OK, "no cooldown applies")
_COOLDOWN_PASSED = Decision(True, Reason.COOLDOWN_OK, "the cooldown has passed")


def check_cooldown(
    rep_id: str, customer: Customer, policy: Policy, at: datetime
) -> Decision | CooldownRunning:
    """May ``rep_id`` claim back a customer they lost? Not until the cooldown has passed."""
    left_at = customer.related_reps.get(rep_id)
    if not policy.cooldown_days or left_at is None:
        return _NO_COOLDOWN
    ends_at = add_days(left_at, policy.cooldown_days, policy.zone)
    if utc(at) < utc(ends_at):
        return CooldownRunning(
            Reason.COOLDOWN_ACTIVE,
            f"{rep_id} lost this customer at {format_instant(left_at, policy.zone)}; "
            f"may claim it again from {format_instant(ends_at, policy.zone)}",
            ends_at,
        )
    return _COOLDOWN_PASSED


def identifying_keys(keys: Iterable[IdentityKey], policy: Policy) -> frozenset[IdentityKey]:
    """The keys that make two customers the same under the policy's collision rule."""
    return frozenset(key for key in keys if key.kind in policy.collision_keys)


def route(
    attributes: Mapping[str, AttributeValue] | None, policy: Policy, tags: Iterable[str] = ()
) -> str | None:
    """The pool the routing rules send a customer with these attributes (and tags) to, if
    any: see :mod:`poolkit.policy.routing`."""
    return routing.route(attributes, policy, tags)


def check_routing(policy: Policy, pool_ids: Iterable[str]) -> None:
    """Refuse a policy that sends customers to a pool the team does not have (routing
    rules, ``routing_default``, automatic assignment).

    Checked whenever the team or the policy changes, so a bad rule is found by the admin
    who wrote it, not by the first rep whose create it routes.
    """
    routing.check_pools(policy, pool_ids)
