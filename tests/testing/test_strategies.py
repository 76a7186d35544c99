"""The shipped strategies produce valid values, and reach the cases they promise to reach."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poolkit.identity import normalise_key
from poolkit.model.customer import Customer, CustomerStatus
from poolkit.model.events import EVENT_TYPES, Created, Deleted, Event, MergedInto, event_payload
from poolkit.model.history import replay
from poolkit.model.pool import PoolMode
from poolkit.model.rep import OrgTree
from poolkit.model.team import Team
from poolkit.policy.config import DropKind, DropTime, Policy
from poolkit.testing import strategies as pst

T = TypeVar("T")


def reached(
    strategy: st.SearchStrategy[T], cases: Mapping[str, Callable[[T], bool]], examples: int = 200
) -> set[str]:
    """The cases that ``examples`` values of ``strategy`` reach (derandomised: no flakiness)."""
    seen: set[str] = set()

    @settings(
        max_examples=examples,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        seen.update(name for name, case in cases.items() if case(value))

    collect()
    return seen


def utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


def test_dst_transitions_are_the_instants_the_offset_changes() -> None:
    new_york = [t for t in pst.dst_transitions("America/New_York") if t.year == 2026]
    assert new_york == [
        datetime(2026, 3, 8, 7, 0, tzinfo=UTC),  # 02:00 EST becomes 03:00 EDT
        datetime(2026, 11, 1, 6, 0, tzinfo=UTC),  # 02:00 EDT becomes 01:00 EST
    ]
    assert pst.dst_transitions("Asia/Shanghai") == []
    lord_howe = [t for t in pst.dst_transitions(ZoneInfo("Australia/Lord_Howe")) if t.year == 2026]
    assert len(lord_howe) == 2
    for t in lord_howe:
        zone = ZoneInfo("Australia/Lord_Howe")
        before = (t - timedelta(seconds=1)).astimezone(zone).utcoffset()
        after = t.astimezone(zone).utcoffset()
        assert before is not None and after is not None
        assert abs(after - before) == timedelta(minutes=30)


@given(pst.aware_datetimes())
def test_aware_datetimes_are_aware_and_in_range(at: datetime) -> None:
    assert at.tzinfo is not None and at.utcoffset() is not None
    assert isinstance(at.tzinfo, ZoneInfo) and at.tzinfo.key in pst.ZONE_NAMES
    assert datetime(2015, 1, 1, tzinfo=UTC) <= at <= datetime(2035, 12, 31, tzinfo=UTC)
    # A real instant: converting to UTC and back gives the same wall time and fold.
    assert utc(at).astimezone(at.tzinfo) == at
    assert utc(at).astimezone(at.tzinfo).fold == at.fold


@given(
    pst.aware_datetimes(
        min_value=datetime(2026, 3, 1, tzinfo=UTC), max_value=datetime(2026, 3, 31, tzinfo=UTC)
    )
)
def test_aware_datetimes_respect_their_bounds(at: datetime) -> None:
    assert datetime(2026, 3, 1, tzinfo=UTC) <= at <= datetime(2026, 3, 31, tzinfo=UTC)


def _on_a_transition(at: datetime) -> bool:
    assert isinstance(at.tzinfo, ZoneInfo)
    return any(abs(utc(at) - t) <= timedelta(seconds=1) for t in pst.dst_transitions(at.tzinfo))


def test_aware_datetimes_reach_folds_transitions_and_every_zone() -> None:
    cases: dict[str, Callable[[datetime], bool]] = {
        "fold": lambda at: at.fold == 1,
        "on a transition": _on_a_transition,
        "microseconds": lambda at: at.microsecond != 0,
    }
    for name in pst.ZONE_NAMES:
        cases[name] = lambda at, name=name: at.tzinfo.key == name  # type: ignore[misc,union-attr]
    assert reached(pst.aware_datetimes(), cases, examples=1_000) == set(cases)


@given(pst.ids("c-"))
def test_ids_are_trimmed_and_prefixed(value: str) -> None:
    assert value.startswith("c-") and value == value.strip() and len(value) > 2


@given(pst.teams())
def test_teams_are_valid_trees_with_admins_and_one_default_pool(team: Team) -> None:
    Team(reps=team.reps, pools=team.pools)  # revalidates
    roots = [rep for rep in team.reps if rep.supervisor_id is None]
    assert len(roots) == 1
    tree = OrgTree(team.reps)
    assert all(tree.is_above(roots[0].id, rep.id) for rep in team.reps if rep is not roots[0])
    assert any(rep.is_admin for rep in team.reps)
    assert all(rep.active for rep in team.reps)
    assert sum(pool.is_default for pool in team.pools) == 1
    rep_ids = {rep.id for rep in team.reps}
    for pool in team.pools:
        assert pool.members <= rep_ids and pool.managers <= rep_ids


def test_teams_reach_both_pool_modes_and_deep_trees() -> None:
    cases: dict[str, Callable[[Team], bool]] = {
        "both modes": lambda team: {pool.mode for pool in team.pools} == set(PoolMode),
        "deep": lambda team: max(len(OrgTree(team.reps).superiors(r.id)) for r in team.reps) >= 3,
        "two admins": lambda team: sum(rep.is_admin for rep in team.reps) == 2,
        "personal caps": lambda team: any(rep.cap is not None for rep in team.reps),
    }
    assert reached(pst.teams(), cases) == set(cases)


@given(pst.identity_keys())
def test_identity_keys_are_already_normalised(key: object) -> None:
    from poolkit.model.customer import IdentityKey

    assert isinstance(key, IdentityKey)
    assert key.kind in pst.KEY_KINDS
    if key.kind != "wechat":
        assert normalise_key(key.kind, key.value) == key.value


def test_identity_keys_reach_every_kind() -> None:
    cases = {kind: (lambda key, kind=kind: key.kind == kind) for kind in pst.KEY_KINDS}
    assert reached(pst.identity_keys(), cases) == set(cases)


@given(pst.customers(rep_ids=["li", "wang"], pool_ids=["east", "north"]))
def test_customers_keep_their_invariants_and_tell_a_coherent_story(customer: Customer) -> None:
    attrs.evolve(customer)  # revalidates
    assert (customer.owner_id is not None) == customer.is_private
    assert (customer.owned_since is not None) == customer.is_private
    assert customer.is_public <= (customer.public_since is not None)
    assert customer.owner_id in (None, "li", "wang")
    assert customer.pool_id in ("east", "north")
    created = utc(customer.created_at)
    for moment in (customer.owned_since, customer.public_since, customer.last_follow_up_at):
        assert moment is None or utc(moment) >= created
    for since in customer.related_reps.values():
        assert utc(since) >= created
    if customer.last_deal_at is not None:
        assert customer.last_follow_up_at is not None
        assert created <= utc(customer.last_deal_at) <= utc(customer.last_follow_up_at)
    if customer.warned_due_at is not None:
        assert customer.is_private
    assert customer.version >= 1


@given(st.data())
def test_customers_take_only_the_statuses_asked_for(data: st.DataObject) -> None:
    wanted = data.draw(st.sets(st.sampled_from(CustomerStatus), min_size=1))
    customer = data.draw(pst.customers(statuses=sorted(wanted, key=lambda s: s.value)))
    assert customer.status in wanted


def test_customers_reach_the_interesting_timelines() -> None:
    cases: dict[str, Callable[[Customer], bool]] = {
        "follow-up before the owner took it": lambda c: (
            c.last_follow_up_at is not None
            and c.owned_since is not None
            and utc(c.last_follow_up_at) < utc(c.owned_since)
        ),
        "follow-up after": lambda c: (
            c.last_follow_up_at is not None
            and c.owned_since is not None
            and utc(c.last_follow_up_at) > utc(c.owned_since)
        ),
        "deal": lambda c: c.last_deal_at is not None,
        "locked": lambda c: c.locked,
        "warned": lambda c: c.warned_due_at is not None,
        "related reps": lambda c: bool(c.related_reps),
        "frozen": lambda c: c.is_frozen,
    }
    assert reached(pst.customers(rep_ids=["li", "wang"]), cases) == set(cases)


@given(pst.follow_up_kinds())
def test_follow_up_kinds(kind: object) -> None:
    from poolkit.model.events import FollowUpKind

    assert isinstance(kind, FollowUpKind)


@given(pst.drop_rules(pool_ids=["east", "north"]))
def test_drop_rules_are_valid(rule: object) -> None:
    from poolkit.policy.config import DropRule

    assert isinstance(rule, DropRule)
    assert 0 <= rule.warn_days < rule.days
    assert rule.grades <= set(pst.GRADES)
    assert rule.pools <= {"east", "north"}


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_policies_are_valid_and_fit_the_team(data: st.DataObject) -> None:
    team = data.draw(pst.teams())
    policy = data.draw(pst.policies(team=team))
    assert Policy.from_dict(policy.to_dict()) == policy
    rep_ids = {rep.id for rep in team.reps}
    pool_ids = {pool.id for pool in team.pools}
    assert set(policy.caps.per_rep) <= rep_ids
    assert set(policy.claim_limit.per_rep) <= rep_ids
    for rule in policy.drop_rules:
        assert rule.pools <= pool_ids
        assert rule.warn_days < rule.days
    for routing in policy.routing:
        assert routing.pool in pool_ids
    assert len({rule.name for rule in policy.drop_rules}) == len(policy.drop_rules)


def test_policies_reach_every_rule_kind_drop_time_and_scope() -> None:
    cases: dict[str, Callable[[Policy], bool]] = {
        "all kinds": lambda p: {rule.kind for rule in p.drop_rules} == set(DropKind),
        "grade scope": lambda p: any(rule.grades for rule in p.drop_rules),
        "pool scope": lambda p: any(rule.pools for rule in p.drop_rules),
        "warnings": lambda p: any(rule.warn_days for rule in p.drop_rules),
        "cap overrides": lambda p: bool(p.caps.per_rep) and p.caps.default is not None,
        "claim limit": lambda p: p.claim_limit.max_claims is not None,
        "cooldown": lambda p: p.cooldown_days > 0,
        "routing": lambda p: bool(p.routing),
    }
    for drop_time in DropTime:
        cases[drop_time.value] = lambda p, d=drop_time: p.drop_time is d  # type: ignore[misc]
    assert reached(pst.policies(rep_ids=["li"], pool_ids=["east"]), cases) == set(cases)


@given(pst.events())
def test_events_are_valid(event: Event) -> None:
    assert type(event) in EVENT_TYPES.values()
    assert (event.seq == 1) == isinstance(event, Created)
    assert event.at.utcoffset() is not None
    rebuilt = type(event)(
        customer_id=event.customer_id,
        seq=event.seq,
        at=event.at,
        actor_id=event.actor_id,
        **event_payload(event),
    )
    assert rebuilt == event


def test_events_reach_every_kind() -> None:
    cases = {kind: (lambda event, kind=kind: event.kind == kind) for kind in EVENT_TYPES}
    assert reached(pst.events(), cases, examples=500) == set(cases)


@given(pst.events([Created], customer_id="c-1"))
def test_events_of_chosen_kinds_and_customer(event: Event) -> None:
    assert isinstance(event, Created) and event.customer_id == "c-1"


@given(pst.histories())
def test_histories_replay(log: list[Event]) -> None:
    assert isinstance(log[0], Created)
    assert [event.seq for event in log] == list(range(1, len(log) + 1))
    assert all(utc(a.at) <= utc(b.at) for a, b in itertools.pairwise(log))
    assert all(not isinstance(event, Deleted | MergedInto) for event in log[:-1])
    customer = replay(log)
    if isinstance(log[-1], Deleted | MergedInto):
        assert customer is None
    else:
        assert customer is not None and customer.version == len(log)


def test_histories_reach_every_kind_of_event() -> None:
    cases = {
        kind: (lambda log, kind=kind: any(event.kind == kind for event in log))
        for kind in EVENT_TYPES
    }
    assert reached(pst.histories(), cases) == set(cases)
