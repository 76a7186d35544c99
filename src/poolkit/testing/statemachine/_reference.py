"""The model the machine compares against: what it believes about each customer, and the
deadlines it re-derives from the rule book's words (same local wall time N days later, or
local midnight, in the policy's zone) with plain calendar arithmetic, not from
:mod:`poolkit.policy.rules`."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import attrs

from poolkit.model.customer import Customer, CustomerStatus, IdentityKey
from poolkit.policy.config import DropKind, DropRule, DropTime, Policy
from poolkit.testing import strategies as pst

PRIVATE, PUBLIC, FROZEN = CustomerStatus.PRIVATE, CustomerStatus.PUBLIC, CustomerStatus.FROZEN


def utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


def same_instant(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return utc(a) == utc(b)


def _resolve(wall: datetime, zone: tzinfo) -> datetime:
    """The instant a local wall time means: the first one if it happens twice, moved
    forward by the gap if a spring-forward skipped it."""
    first = wall.replace(tzinfo=zone, fold=0)
    if utc(first).astimezone(zone).replace(tzinfo=None) == wall:
        return min(utc(first), utc(wall.replace(tzinfo=zone, fold=1)))
    before = (utc(first) - timedelta(hours=6)).astimezone(zone).utcoffset()
    after = (utc(first) + timedelta(hours=6)).astimezone(zone).utcoffset()
    assert before is not None and after is not None
    return utc((wall + (after - before)).replace(tzinfo=zone))


def _counting_wall(at: datetime, zone: tzinfo) -> datetime:
    """The local wall time days count from: in the second pass of a repeated hour, the wall
    time at which the repetition ends. Found from the instant the clocks went back (by the
    strategies' own scan of the zone, not poolkit's search): the repetition ends as long
    after it as the clocks went back, at the wall time they were turned back from."""
    local = at.astimezone(zone)
    if local.fold == 0:
        return local.replace(tzinfo=None)
    assert isinstance(zone, ZoneInfo)
    moment = utc(at)
    turned_back = max(
        t for t in pst.dst_transitions(zone, moment.year - 1, moment.year + 1) if t <= moment
    )
    before = (turned_back - timedelta(seconds=1)).astimezone(zone).utcoffset()
    after = turned_back.astimezone(zone).utcoffset()
    assert before is not None and after is not None and before > after
    end = turned_back.astimezone(zone).replace(tzinfo=None, fold=0) + (before - after)
    # Counting keeps the instant's fraction of a second, as stepping whole seconds would.
    return end.replace(microsecond=local.microsecond)


def days_later(at: datetime, days: int, zone: tzinfo) -> datetime:
    """The same local wall time ``days`` calendar days later."""
    return _resolve(_counting_wall(at, zone) + timedelta(days=days), zone)


def _deadline(anchor: datetime, days: int, policy: Policy) -> datetime:
    if policy.drop_time is DropTime.EXACT:
        return days_later(anchor, days, policy.zone)
    day = _counting_wall(anchor, policy.zone).date() + timedelta(days=days)
    return _resolve(datetime.combine(day, time(0)), policy.zone)


@attrs.frozen
class Due:
    """When one rule drops a customer and warns its owner, per the model."""

    rule: DropRule
    due_at: datetime
    warn_at: datetime | None


@attrs.define
class Expected:
    """What the model believes about one live customer."""

    status: CustomerStatus
    owner: str | None
    pool: str
    grade: str | None
    keys: frozenset[IdentityKey]
    created_at: datetime
    owned_since: datetime | None = None
    public_since: datetime | None = None
    last_follow_up: datetime | None = None
    follow_ups: dict[str, datetime] = attrs.Factory(dict)  # the last of each kind
    last_deal: datetime | None = None
    locked: bool = False
    related: dict[str, datetime] = attrs.Factory(dict)
    warned_due: datetime | None = None

    def take(self, rep_id: str, at: datetime) -> None:
        """Claimed or assigned: an owner is never also a related rep."""
        self.related.pop(rep_id, None)
        self.status, self.owner, self.owned_since = PRIVATE, rep_id, at
        self.public_since = self.warned_due = None

    def release(self, at: datetime, status: CustomerStatus) -> None:
        """Back to a public pool or into the recycle bin; a drop-exempt lock ends with the
        ownership it exempted."""
        if self.owner is not None:
            self.related[self.owner] = at
        self.status, self.owner, self.owned_since, self.warned_due = status, None, None, None
        self.locked = False
        if status is PUBLIC:
            self.public_since = at

    def hand_over(self, rep_id: str, at: datetime) -> None:
        assert self.owner is not None
        self.related[self.owner] = at
        self.related.pop(rep_id, None)
        self.owner, self.owned_since, self.warned_due = rep_id, at, None

    def dues(self, policy: Policy) -> list[Due]:
        """Every rule's deadline, earliest first (ties in rule order), from the rule book."""
        if self.status is not PRIVATE or self.locked:
            return []
        assert self.owned_since is not None
        owned = utc(self.owned_since)
        deal = None if self.last_deal is None else utc(self.last_deal)
        follow = None if self.last_follow_up is None else utc(self.last_follow_up)
        dealt_while_owned = deal is not None and deal >= owned
        found = []
        for drop_rule in policy.drop_rules:
            if drop_rule.exempt_if_dealt and deal is not None:
                continue
            if (drop_rule.grades and self.grade not in drop_rule.grades) or (
                drop_rule.pools and self.pool not in drop_rule.pools
            ):
                continue
            anchor: datetime | None
            if drop_rule.kind is DropKind.NO_FOLLOW_UP:
                counted = follow
                if drop_rule.follow_up_kinds and (follow is None or self.follow_ups):
                    # Only the kinds the rule names reset its clock (follow-ups of unknown
                    # kind, from before they were kept per kind, count for every rule).
                    times = [
                        utc(self.follow_ups[kind.value])
                        for kind in drop_rule.follow_up_kinds
                        if kind.value in self.follow_ups
                    ]
                    counted = max(times) if times else None
                anchor = owned if counted is None else max(owned, counted)
            elif drop_rule.kind is DropKind.NO_FIRST_DEAL:
                anchor = None if dealt_while_owned else owned
            else:
                anchor = deal if dealt_while_owned else None
            if anchor is None:
                continue
            warn = (
                _deadline(anchor, drop_rule.days - drop_rule.warn_days, policy)
                if drop_rule.warn_days
                else None
            )
            found.append(Due(drop_rule, _deadline(anchor, drop_rule.days, policy), warn))
        return sorted(found, key=lambda due: due.due_at)

    def schedule(self, policy: Policy) -> tuple[datetime | None, datetime | None]:
        """(drop at, warn at) a store should have indexed for this customer."""
        dues = self.dues(policy)
        if not dues:
            return None, None
        first = dues[0]
        warn = None if same_instant(self.warned_due, first.due_at) else first.warn_at
        return first.due_at, warn


def expected_from(customer: Customer) -> Expected:
    """The model's view of a customer read from a store (to recompute its deadlines)."""
    return Expected(
        status=customer.status,
        owner=customer.owner_id,
        pool=customer.pool_id,
        grade=customer.grade,
        keys=customer.keys,
        created_at=customer.created_at,
        owned_since=customer.owned_since,
        public_since=customer.public_since,
        last_follow_up=customer.last_follow_up_at,
        follow_ups=dict(customer.last_follow_up_by_kind),
        last_deal=customer.last_deal_at,
        locked=customer.locked,
        related=dict(customer.related_reps),
        warned_due=customer.warned_due_at,
    )
