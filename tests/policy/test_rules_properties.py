"""Properties of the pure rule engine (poolkit.policy.rules), checked against references
written here from the rule book's words rather than with the engine's own helpers.

The references: "N days later" is the same local wall time N calendar days later in the
policy's zone (exact) or the local midnight starting that day (start_of_day); a wall time
skipped by a spring-forward moves forward by the gap, one that happens twice means its
first occurrence. Every comparison of instants is made in UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from poolkit.model.customer import Customer, CustomerStatus
from poolkit.model.events import FollowedUp, FollowUpKind
from poolkit.model.history import apply
from poolkit.model.rep import Rep
from poolkit.model.schedule import Schedule
from poolkit.policy import rules
from poolkit.policy.calendar import add_days
from poolkit.policy.config import (
    ClaimLimitPolicy,
    DropKind,
    DropRule,
    DropTime,
    Policy,
)
from poolkit.testing import strategies as pst

POOLS = ("east", "north")
DST_ZONES = tuple(name for name in pst.ZONE_NAMES if pst.dst_transitions(name, 2020, 2030))


def utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


# ----------------------------------------------------------------------------- references


def resolve_wall_time(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant (UTC) a local wall time means: its first occurrence if it happens twice;
    moved forward by the gap if a spring-forward skipped it."""
    assert wall.tzinfo is None
    first = wall.replace(tzinfo=zone, fold=0)
    if utc(first).astimezone(zone).replace(tzinfo=None) == wall:
        second = wall.replace(tzinfo=zone, fold=1)
        return min(utc(first), utc(second))
    before = (utc(first) - timedelta(hours=3)).astimezone(zone).utcoffset()
    after = (utc(first) + timedelta(hours=3)).astimezone(zone).utcoffset()
    assert before is not None and after is not None and after > before
    shifted = wall + (after - before)
    instant = shifted.replace(tzinfo=zone)
    assert utc(instant).astimezone(zone).replace(tzinfo=None) == shifted
    return utc(instant)


def days_later(at: datetime, days: int, zone: ZoneInfo) -> datetime:
    """Same local wall time, ``days`` calendar days later; an instant in the second pass of
    a repeated hour counts from the wall time at which the repetition ends."""
    local = at.astimezone(zone)
    if local.fold == 1:
        # Walk forward a second at a time until the clock leaves the repeated stretch.
        moment = utc(at)
        while local.fold == 1:
            moment += timedelta(seconds=1)
            local = moment.astimezone(zone)
    wall = local.replace(tzinfo=None, fold=0) + timedelta(days=days)
    return resolve_wall_time(wall, zone)


def expected_deadline(anchor: datetime, days: int, policy: Policy) -> datetime:
    if policy.drop_time is DropTime.EXACT:
        return days_later(anchor, days, policy.zone)
    day = anchor.astimezone(policy.zone).date() + timedelta(days=days)
    return resolve_wall_time(datetime.combine(day, time(0)), policy.zone)


def expected_anchor(rule: DropRule, customer: Customer) -> datetime | None:
    """What the rule book says a rule counts from, or None when it does not watch this one."""
    if not customer.is_private or customer.locked:
        return None
    if rule.exempt_if_dealt and customer.last_deal_at is not None:
        return None
    if (rule.grades and customer.grade not in rule.grades) or (
        rule.pools and customer.pool_id not in rule.pools
    ):
        return None
    assert customer.owned_since is not None
    owned = utc(customer.owned_since)
    deal = None if customer.last_deal_at is None else utc(customer.last_deal_at)
    follow = None if customer.last_follow_up_at is None else utc(customer.last_follow_up_at)
    dealt_while_owned = deal is not None and deal >= owned
    if rule.kind is DropKind.NO_FOLLOW_UP:
        return owned if follow is None else max(owned, follow)
    if rule.kind is DropKind.NO_FIRST_DEAL:
        return None if dealt_while_owned else owned
    return deal if dealt_while_owned else None


def rule_deadline(rule: DropRule, customer: Customer, policy: Policy) -> datetime | None:
    found = [d for d in rules.deadlines(customer, policy) if d.rule == rule]
    assert len(found) <= 1
    return utc(found[0].due_at) if found else None


def latest_moment(customer: Customer) -> datetime:
    moments = [
        customer.created_at,
        customer.owned_since,
        customer.public_since,
        customer.last_follow_up_at,
        customer.last_deal_at,
        *customer.related_reps.values(),
    ]
    return max(utc(m) for m in moments if m is not None)


# ----------------------------------------------------------------------------- strategies


def private_customers() -> st.SearchStrategy[Customer]:
    return pst.customers(statuses=[CustomerStatus.PRIVATE], pool_ids=POOLS, rep_ids=["li"]).map(
        lambda customer: attrs.evolve(customer, locked=False)
    )


def policies(**kwargs: object) -> st.SearchStrategy[Policy]:
    return pst.policies(pool_ids=POOLS, rep_ids=["li"], **kwargs)  # type: ignore[arg-type]


def views() -> st.SearchStrategy[ZoneInfo | None]:
    """The zone a time is expressed in: None means the policy's own zone (the same tzinfo
    object, where Python compares wall times rather than instants)."""
    return st.none() | pst.zones()


def seen_in(at: datetime, zone: ZoneInfo | None, policy: Policy) -> datetime:
    return at.astimezone(policy.zone if zone is None else zone)


@st.composite
def anchors_landing_on_a_transition(draw: st.DrawFn) -> tuple[Policy, datetime, int]:
    """A policy in a DST zone, a number of days, and an anchor such that the deadline's
    wall time falls within 90 minutes of a DST transition (in its gap or its fold)."""
    name = draw(st.sampled_from(DST_ZONES))
    zone = ZoneInfo(name)
    transition = draw(st.sampled_from(pst.dst_transitions(name, 2020, 2030)))
    days = draw(st.integers(1, 60))
    wall_before = (transition - timedelta(microseconds=1)).astimezone(zone).replace(tzinfo=None)
    target = wall_before.replace(microsecond=0) + timedelta(
        minutes=draw(st.integers(-90, 90)), seconds=draw(st.sampled_from((0, 1, 59)))
    )
    anchor_wall = target - timedelta(days=days)
    anchor = anchor_wall.replace(tzinfo=zone, fold=draw(st.sampled_from((0, 1))))
    anchor = utc(anchor).astimezone(zone)  # a real instant, even if the wall time was skipped
    policy = Policy(
        timezone=name,
        drop_time=draw(st.sampled_from(DropTime)),
        drop_rules=(DropRule("quiet", DropKind.NO_FOLLOW_UP, days, warn_days=days // 2),),
    )
    return policy, anchor, days


# ----------------------------------------------------------------------------- deadlines


# Drawing a coherent customer is slow on a loaded machine; the check itself is fast.
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(policies(), private_customers(), views(), pst.durations(), st.data())
def test_never_due_before_the_deadline_and_always_due_at_and_after_it(
    policy: Policy,
    customer: Customer,
    view: ZoneInfo | None,
    later: timedelta,
    data: st.DataObject,
) -> None:
    deadline = rules.next_drop(customer, policy)
    if deadline is None:
        for delta in (timedelta(0), timedelta(days=365 * 3)):
            at = seen_in(latest_moment(customer) + delta, view, policy)
            assert not rules.evaluate_drop(customer, policy, at).allowed
        return
    due = utc(deadline.due_at)
    second = timedelta(seconds=1)
    before = rules.evaluate_drop(customer, policy, seen_in(due - second, view, policy))
    assert not before.allowed and before.code is rules.Reason.NOT_DUE
    assert before.until is not None and utc(before.until) == due
    assert rules.evaluate_drop(customer, policy, seen_in(due, view, policy)).allowed
    assert rules.evaluate_drop(customer, policy, seen_in(due + second, view, policy)).allowed
    assert rules.evaluate_drop(customer, policy, seen_in(due + later, view, policy)).allowed
    earlier = data.draw(pst.durations().filter(bool), label="earlier")
    assert not rules.evaluate_drop(customer, policy, seen_in(due - earlier, view, policy)).allowed


@given(policies(), private_customers())
def test_each_deadline_is_n_local_days_after_what_its_rule_counts_from(
    policy: Policy, customer: Customer
) -> None:
    found = {d.rule.name: d for d in rules.deadlines(customer, policy)}
    for rule in policy.drop_rules:
        anchor = expected_anchor(rule, customer)
        if anchor is None:
            assert rule.name not in found
            continue
        deadline = found[rule.name]
        assert utc(deadline.anchor) == anchor
        assert utc(deadline.due_at) == expected_deadline(anchor, rule.days, policy)
        if rule.warn_days:
            assert deadline.warn_at is not None
            assert utc(deadline.warn_at) == expected_deadline(
                anchor, rule.days - rule.warn_days, policy
            )
            assert utc(deadline.warn_at) < utc(deadline.due_at)
        else:
            assert deadline.warn_at is None
    dues = [utc(d.due_at) for d in rules.deadlines(customer, policy)]
    assert dues == sorted(dues)


@given(anchors_landing_on_a_transition())
@example(  # found by this test: a drop was not due an hour after its deadline, in the fold
    case=(
        Policy(
            timezone="America/New_York",
            drop_rules=(DropRule("quiet", DropKind.NO_FOLLOW_UP, 1),),
        ),
        datetime(2020, 10, 31, 1, 59, 59, tzinfo=ZoneInfo("America/New_York")),
        1,
    )
)
def test_deadlines_keep_the_local_wall_time_across_dst(case: tuple[Policy, datetime, int]) -> None:
    policy, anchor, days = case
    due = rules.deadline_after(anchor, days, policy)
    assert utc(due) == expected_deadline(anchor, days, policy)
    local = due.astimezone(policy.zone)
    if policy.drop_time is DropTime.START_OF_DAY:
        assert local.date() == anchor.astimezone(policy.zone).date() + timedelta(days=days)
        assert local.time() < time(2)  # midnight, or the first instant after a skipped one
    customer = Customer(
        id="c-1",
        name="Acme",
        pool_id="east",
        created_at=anchor,
        status=CustomerStatus.PRIVATE,
        owner_id="li",
        owned_since=anchor,
    )
    deadline = rules.next_drop(customer, policy)
    assert deadline is not None and utc(deadline.due_at) == utc(due)
    # Around a fall-back, "an hour later" can read as an earlier wall time: the engine must
    # compare instants, whatever zone the time is given in.
    for zone in (policy.zone, UTC):
        for minutes in (0, 1, 30, 59, 60, 61, 119):
            at = (utc(due) + timedelta(minutes=minutes)).astimezone(zone)
            assert rules.evaluate_drop(customer, policy, at).allowed, (minutes, at)
        early = (utc(due) - timedelta(seconds=1)).astimezone(zone)
        assert not rules.evaluate_drop(customer, policy, early).allowed


def check_add_days(at: datetime, days: int, zone: ZoneInfo) -> None:
    moved = add_days(at, days, zone)
    assert moved.tzinfo is zone
    assert utc(moved) == days_later(at, days, zone), (at, days, zone)
    # Written as a wall time the clock really shows (never one skipped by a change).
    real = utc(moved).astimezone(zone)
    assert (moved.replace(tzinfo=None), moved.fold) == (real.replace(tzinfo=None), real.fold)


@given(st.data(), st.sampled_from(DST_ZONES), st.sampled_from(DST_ZONES))
def test_add_days_is_the_same_wall_time_n_calendar_days_later(
    data: st.DataObject, name: str, other: str
) -> None:
    zone = ZoneInfo(name)
    at = data.draw(pst.aware_datetimes(st.just(zone)), label="at")
    # Mostly a shift that lands on the day of a DST change (into a gap or a fold), since
    # every other day is easy; sometimes any shift, backwards too (claim windows).
    transition = data.draw(st.sampled_from(pst.dst_transitions(name, 2020, 2030)))
    to_change = (transition.astimezone(zone).date() - at.astimezone(zone).date()).days
    days = data.draw(st.integers(-400, 400) | st.sampled_from((to_change, to_change + 1)))
    check_add_days(at, days, zone)
    check_add_days(at, days, ZoneInfo(other))


NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("at", "days"),
    [
        (datetime(2026, 3, 1, 2, 30, tzinfo=NEW_YORK), 7),  # into the spring-forward gap
        (datetime(2026, 3, 15, 2, 30, tzinfo=NEW_YORK), -7),  # back into it
        (datetime(2026, 10, 25, 1, 30, tzinfo=NEW_YORK), 7),  # onto the repeated hour
        (datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK), 1),  # from its second pass
    ],
)
def test_add_days_across_new_york_changes(at: datetime, days: int) -> None:
    check_add_days(at, days, NEW_YORK)


def test_known_dst_deadlines() -> None:
    new_york = ZoneInfo("America/New_York")
    exact = Policy(timezone="America/New_York")
    # 02:30 does not exist on 8 March 2026: the deadline moves forward by the gap.
    spring = rules.deadline_after(datetime(2026, 3, 1, 2, 30, tzinfo=new_york), 7, exact)
    assert utc(spring) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT
    # 01:30 happens twice on 1 November 2026: the first one (EDT) is meant.
    autumn = rules.deadline_after(datetime(2026, 10, 25, 1, 30, tzinfo=new_york), 7, exact)
    assert utc(autumn) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    # Seven calendar days across the change are 167 or 169 hours, not 168.
    start = datetime(2026, 3, 5, 9, 0, tzinfo=new_york)
    assert utc(rules.deadline_after(start, 7, exact)) - utc(start) == timedelta(hours=167)
    havana = Policy(timezone="America/Havana", drop_time=DropTime.START_OF_DAY)
    # Havana skips 00:00-01:00 on 8 March 2026: the day starts at 01:00.
    midnight = rules.deadline_after(datetime(2026, 3, 7, 15, 0, tzinfo=UTC), 1, havana)
    assert midnight.astimezone(ZoneInfo("America/Havana")).time() == time(1, 0)


# ----------------------------------------------------------------------------- follow-ups


@given(policies(), private_customers(), pst.durations(), pst.follow_up_kinds(), pst.zones())
def test_a_follow_up_never_makes_a_deadline_earlier(
    policy: Policy,
    customer: Customer,
    gap: timedelta,
    method: FollowUpKind,
    zone: ZoneInfo,
) -> None:
    at = (latest_moment(customer) + gap).astimezone(zone)
    event = FollowedUp(
        customer_id=customer.id, seq=customer.version + 1, at=at, actor_id="li", method=method
    )
    after = apply(customer, event)
    assert after is not None
    deal = method is FollowUpKind.DEAL
    for rule in policy.drop_rules:
        old, new = rule_deadline(rule, customer, policy), rule_deadline(rule, after, policy)
        if deal and rule.kind is DropKind.NO_REPEAT_DEAL and not rule.exempt_if_dealt:
            # A deal starts (or restarts) the repeat-deal clock: from the deal, not earlier.
            if expected_anchor(rule, after) is not None:
                assert new == expected_deadline(at, rule.days, policy)
            if old is not None:
                assert new is not None and new >= old
            continue
        if old is None:
            # Nothing else starts watching a customer because of a follow-up.
            assert new is None
        else:
            assert new is None or new >= old
            if not deal:
                assert new is not None
    if not deal:
        before_drop, after_drop = rules.next_drop(customer, policy), rules.next_drop(after, policy)
        assert (before_drop is None) == (after_drop is None)
        if before_drop is not None and after_drop is not None:
            assert utc(after_drop.due_at) >= utc(before_drop.due_at)


def test_a_visit_keeps_a_follow_up_of_unknown_kind_counting_for_a_call_rule() -> None:
    """Found by Hypothesis (the property above): a customer followed up before poolkit kept
    follow-ups per kind has ``last_follow_up_at`` and no per-kind map, which counts for
    every rule. A later visit filled the map with the visit alone, so a calls-only rule
    forgot the old follow-up and its deadline moved one second earlier."""
    shanghai = ZoneInfo("Asia/Shanghai")
    taken = datetime(2015, 1, 1, 8, 0, tzinfo=shanghai)
    old_follow_up = taken + timedelta(seconds=1)
    rule = DropRule(
        name="calls", kind=DropKind.NO_FOLLOW_UP, days=1, follow_up_kinds=[FollowUpKind.CALL]
    )
    policy = Policy(timezone="Asia/Shanghai", drop_time=DropTime.EXACT, drop_rules=[rule])
    customer = attrs.evolve(
        Customer(id="c-0", name="Acme", pool_id="east", created_at=taken),
        status=CustomerStatus.PRIVATE,
        owner_id="li",
        owned_since=taken,
        last_follow_up_at=old_follow_up,
        version=1,
    )
    visit = FollowedUp(
        customer_id="c-0", seq=2, at=old_follow_up, actor_id="li", method=FollowUpKind.VISIT
    )
    after = apply(customer, visit)
    assert after is not None
    before_drop = rules.next_drop(customer, policy)
    after_drop = rules.next_drop(after, policy)
    assert before_drop is not None and after_drop is not None
    assert utc(before_drop.due_at) == datetime(2015, 1, 2, 0, 0, 1, tzinfo=UTC)
    assert utc(after_drop.due_at) == utc(before_drop.due_at)
    # A call afterwards counts from the call, as it always did.
    call = FollowedUp(
        customer_id="c-0",
        seq=3,
        at=old_follow_up + timedelta(hours=5),
        actor_id="li",
        method=FollowUpKind.CALL,
    )
    called = apply(after, call)
    assert called is not None
    called_drop = rules.next_drop(called, policy)
    assert called_drop is not None
    assert utc(called_drop.due_at) == utc(call.at) + timedelta(days=1)


# ----------------------------------------------------------------------------- schedules


@given(policies(), pst.customers(pool_ids=POOLS, rep_ids=["li"]))
def test_the_schedule_is_the_next_drop_and_its_warning(policy: Policy, customer: Customer) -> None:
    plan = rules.schedule(customer, policy)
    deadline = rules.next_drop(customer, policy)
    if deadline is None:
        assert plan == Schedule()
        return
    assert customer.is_private
    assert plan.drop_at is not None and utc(plan.drop_at) == utc(deadline.due_at)
    if deadline.warn_at is None or customer.warned_due_at == deadline.due_at:
        assert plan.warn_at is None
    else:
        assert plan.warn_at is not None and utc(plan.warn_at) == utc(deadline.warn_at)
        assert utc(plan.warn_at) <= utc(plan.drop_at)
    assert plan.next_at is not None and utc(plan.next_at) <= utc(plan.drop_at)


# Drawing a coherent customer is slow on a loaded machine; the check itself is fast.
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(policies(), private_customers(), pst.durations(10), views())
def test_warnings_come_due_between_warn_at_and_due_at_and_once(
    policy: Policy, customer: Customer, gap: timedelta, view: ZoneInfo | None
) -> None:
    customer = attrs.evolve(customer, warned_due_at=None)
    deadline = rules.next_drop(customer, policy)
    assume(deadline is not None and deadline.warn_at is not None)
    assert deadline is not None and deadline.warn_at is not None
    warn, due = utc(deadline.warn_at), utc(deadline.due_at)
    second = timedelta(seconds=1)
    assert rules.warning_due(customer, policy, seen_in(warn - second, view, policy)) is None
    assert rules.warning_due(customer, policy, seen_in(warn, view, policy)) is not None
    assert rules.warning_due(customer, policy, seen_in(due, view, policy)) is None
    at = warn + gap
    warned = attrs.evolve(customer, warned_due_at=deadline.due_at)
    if at < due:
        assert rules.warning_due(customer, policy, seen_in(at, view, policy)) is not None
    assert rules.warning_due(warned, policy, seen_in(at, view, policy)) is None
    assert rules.schedule(warned, policy).warn_at is None


# ----------------------------------------------------------------------------- claim limits


@given(
    st.integers(0, 4),
    st.integers(1, 10),
    pst.zone_names(),
    pst.aware_datetimes(),
    st.lists(pst.durations(4), min_size=1, max_size=25),
)
@example(
    limit=2,
    window=3,
    zone_name="America/New_York",
    start=datetime(2026, 3, 6, 1, 30, tzinfo=ZoneInfo("America/New_York")),
    gaps=[timedelta(0), timedelta(days=3), timedelta(hours=23), timedelta(days=1)],
)
def test_the_claim_limit_is_never_exceeded_in_any_window(
    limit: int, window: int, zone_name: str, start: datetime, gaps: Sequence[timedelta]
) -> None:
    policy = Policy(
        timezone=zone_name, claim_limit=ClaimLimitPolicy(max_claims=limit, window_days=window)
    )
    rep = Rep("li")
    zone = ZoneInfo(zone_name)
    claims: list[datetime] = []
    at = utc(start)
    for gap in gaps:
        at += gap
        when = at.astimezone(zone)
        since = rules.claim_window_start(when, policy)
        # The service reads only the claims after claim_window_start: none that counts is lost.
        assert rules.claims_in_window([t for t in claims if t > since], when, policy) == (
            rules.claims_in_window(claims, when, policy)
        )
        decision = rules.check_claim_limit(rep, claims, policy, when)
        in_window = [t for t in claims if utc(t) <= at < days_later(t, window, zone)]
        assert decision.allowed == (len(in_window) < limit)
        if decision.allowed:
            claims.append(when)
        elif limit > 0:
            assert decision.until is not None
            until = utc(decision.until)
            assert until > at
            assert rules.check_claim_limit(rep, claims, policy, until).allowed
            assert not rules.check_claim_limit(
                rep, claims, policy, until - timedelta(microseconds=1)
            ).allowed
    for claim in claims:
        window_ending_here = [
            t for t in claims if utc(t) <= utc(claim) < days_later(t, window, zone)
        ]
        assert len(window_ending_here) <= limit


# ----------------------------------------------------------------------------- cooldown


@given(st.integers(0, 14), pst.zone_names(), pst.aware_datetimes(), views(), st.data())
def test_the_cooldown_ends_exactly_n_local_days_after_the_rep_lost_the_customer(
    days: int, zone_name: str, left_at: datetime, view: ZoneInfo | None, data: st.DataObject
) -> None:
    policy = Policy(timezone=zone_name, cooldown_days=days)
    customer = Customer(
        id="c-1",
        name="Acme",
        pool_id="east",
        created_at=left_at,
        related_reps={"li": left_at},
    )
    second = timedelta(seconds=1)
    assert rules.check_cooldown("wang", customer, policy, seen_in(left_at, view, policy)).allowed
    if days == 0:
        assert rules.check_cooldown("li", customer, policy, seen_in(left_at, view, policy)).allowed
        return
    ends = days_later(left_at, days, policy.zone)
    refused = rules.check_cooldown("li", customer, policy, seen_in(ends - second, view, policy))
    assert not refused.allowed and refused.code is rules.Reason.COOLDOWN_ACTIVE
    assert refused.until is not None and utc(refused.until) == ends
    assert utc(add_days(left_at, days, policy.zone)) == ends
    assert rules.check_cooldown("li", customer, policy, seen_in(ends, view, policy)).allowed
    assert rules.check_cooldown(
        "li", customer, policy, seen_in(ends + second, view, policy)
    ).allowed
    early = data.draw(pst.durations(days).filter(bool), label="early")
    if utc(left_at) <= ends - early:
        assert not rules.check_cooldown(
            "li", customer, policy, seen_in(ends - early, view, policy)
        ).allowed


# ---------------------------------------------------------------- follow-up kinds

_TAKEN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _owned(**fields: object) -> Customer:
    return Customer(
        id="c",
        name="C",
        pool_id="east",
        created_at=_TAKEN,
        status=CustomerStatus.PRIVATE,
        owner_id="li",
        owned_since=_TAKEN,
        **fields,  # type: ignore[arg-type]
    )


def _visits(days: int = 7) -> Policy:
    return Policy(
        drop_rules=(DropRule("visits", "no_follow_up", days, follow_up_kinds=["visit", "meeting"]),)
    )


@pytest.mark.parametrize("offset, kind", [(-1, None), (0, "drop"), (1, "drop")])
def test_a_kind_rule_counts_from_the_latest_follow_up_of_its_kinds(
    offset: int, kind: str | None
) -> None:
    visit, meeting, call = (_TAKEN + timedelta(days=d) for d in (1, 2, 4))
    customer = _owned(
        last_follow_up_at=call,
        last_follow_up_by_kind={"visit": visit, "meeting": meeting, "call": call},
    )
    due = meeting + timedelta(days=7)
    assert rules.next_drop(customer, _visits()).due_at == due  # type: ignore[union-attr]
    action = rules.due_action(customer, _visits(), due + timedelta(seconds=offset))
    assert (action.kind if isinstance(action, rules.Drop) else None) == kind


def test_a_kind_rule_without_a_follow_up_of_its_kinds_counts_from_the_take() -> None:
    call = _TAKEN + timedelta(days=3)
    customer = _owned(last_follow_up_at=call, last_follow_up_by_kind={"call": call})
    assert rules.next_drop(customer, _visits()).due_at == _TAKEN + timedelta(days=7)  # type: ignore[union-attr]


def test_follow_ups_of_unknown_kind_count_for_every_rule() -> None:
    """A customer stored before follow-ups were kept per kind: its last follow-up counts,
    so an upgrade never drops it earlier than the rule it had."""
    old = _TAKEN + timedelta(days=3)
    customer = _owned(last_follow_up_at=old)
    assert rules.next_drop(customer, _visits()).due_at == old + timedelta(days=7)  # type: ignore[union-attr]
    followed = apply(
        attrs.evolve(customer, version=1),
        FollowedUp(
            customer_id="c",
            seq=2,
            at=old + timedelta(days=1),
            actor_id="li",
            method=FollowUpKind.CALL,
        ),
    )
    # The follow-up of unknown kind goes on counting for every kind (a visit rule is not
    # reset by the call, nor does it forget the old follow-up and drop earlier).
    assert followed is not None and followed.last_follow_up_by_kind == {
        **{kind.value: old for kind in FollowUpKind},
        "call": old + timedelta(days=1),
    }
    assert rules.next_drop(followed, _visits()).due_at == old + timedelta(days=7)  # type: ignore[union-attr]


def test_old_records_without_follow_ups_per_kind_still_read_and_replay() -> None:
    """A customer document and a merge event written before follow-ups were kept per kind."""
    from poolkit.model.events import Merged
    from poolkit.stores._codec import decode_customer, decode_event, encode_customer, encode_event

    visit = _TAKEN + timedelta(days=1)
    customer = _owned(last_follow_up_at=visit, last_follow_up_by_kind={"visit": visit}, version=1)
    old_document = encode_customer(customer)
    del old_document["last_follow_up_by_kind"]
    assert decode_customer(old_document).last_follow_up_by_kind == {}
    merged = Merged(
        customer_id="c",
        seq=2,
        at=visit,
        actor_id="boss",
        absorbed_id="d",
        owner_id="li",
        owned_since=_TAKEN,
        keys=(),
        tags=(),
        attributes={},
        related_reps={},
        last_follow_up_at=visit,
    )
    old_event = encode_event(merged)
    del old_event["last_follow_up_by_kind"]
    after = apply(customer, decode_event(old_event))
    assert after is not None and after.last_follow_up_by_kind == {"visit": visit}
