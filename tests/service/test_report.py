"""The manager's report, figure by figure, against scenarios built by hand on a manual
clock in New York, across the spring-forward night (2026-03-08 02:00 EST -> 03:00 EDT)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poolkit import ManualClock, MemoryStore, Policy, PoolService, Team
from poolkit.errors import InvalidValueError, NaiveDatetimeError, PermissionDenied
from poolkit.report import DayForecast, GradeCount, PoolFigures, RepLoad, ReviewBacklog

NEW_YORK = ZoneInfo("America/New_York")
SECOND = timedelta(seconds=1)

TEAM = {
    "reps": [
        {"id": "boss", "admin": True},
        {"id": "alice", "name": "Alice <A&B>", "supervisor": "boss"},
        {"id": "bob", "supervisor": "boss", "claim_limit": 2},
        {"id": "gone", "supervisor": "boss", "active": False},
    ],
    "pools": [
        {"id": "main", "name": "Main", "default": True, "members": ["alice", "bob"]},
        {"id": "vip", "members": ["alice"]},
    ],
}

POLICY = {
    "timezone": "America/New_York",
    "drop_rules": [{"name": "stale-15", "kind": "no_follow_up", "days": 15, "warn_days": 3}],
    "caps": {"default": 3},
    "claim_limit": {"window_days": 7},
}


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=NEW_YORK)


@pytest.fixture
def ny_clock() -> ManualClock:
    return ManualClock(at(7, 23, 59, 59))


@pytest.fixture
def svc(ny_clock: ManualClock) -> PoolService:
    service = PoolService(MemoryStore(), Policy.from_dict(POLICY), ny_clock)
    service.setup(Team.from_dict(TEAM))
    return service


Scenario = Callable[[], None]


@pytest.fixture
def scenario(svc: PoolService, ny_clock: ManualClock) -> PoolService:
    """c1 one second before the local midnight that starts the DST day, c2 at it, c3 one
    second after; the next day c1 is returned and bob claims c3."""
    svc.create("alice", "Acme Textiles", customer_id="c1", grade="A")
    ny_clock.set(at(8))
    svc.create("alice", "Borealis", customer_id="c2", grade="B")
    ny_clock.set(at(8, 0, 0, 1))
    svc.create("boss", "Cobalt", customer_id="c3", pool_id="main", public=True)
    ny_clock.set(at(9, 12))
    svc.return_to_pool("alice", "c1", "no budget")
    svc.claim("bob", "c3")
    return svc


def test_flows_count_events_per_local_day_to_the_second(scenario: PoolService) -> None:
    report = scenario.report(days_back=3)
    assert [(f.day, dict(f.kinds)) for f in report.flows] == [
        (date(2026, 3, 7), {"created": 1}),
        (date(2026, 3, 8), {"created": 2}),
        (date(2026, 3, 9), {"returned": 1, "claimed": 1}),
    ]
    assert [(f.inflow, f.outflow) for f in report.flows] == [(1, 0), (2, 0), (1, 1)]
    dst_day = report.flows[1]
    assert dst_day.since == at(8) and dst_day.until == at(9)
    assert dst_day.until.timestamp() - dst_day.since.timestamp() == 23 * 3600


def test_todays_flow_ends_at_the_reports_instant(scenario: PoolService) -> None:
    at_midnight = scenario.report(at(8), days_back=2)
    assert [dict(f.kinds) for f in at_midnight.flows] == [{"created": 1}, {"created": 1}]
    just_before = scenario.report(at(8) - SECOND, days_back=1)
    assert [dict(f.kinds) for f in just_before.flows] == [{"created": 1}]
    just_after = scenario.report(at(8, 0, 0, 1), days_back=1)
    assert [dict(f.kinds) for f in just_after.flows] == [{"created": 2}]


def test_pool_sizes_by_grade(scenario: PoolService) -> None:
    report = scenario.report()
    assert report.pools == (
        PoolFigures(
            "main",
            "Main",
            (GradeCount("A", public=1), GradeCount("B", private=1), GradeCount(None, private=1)),
        ),
        PoolFigures("vip", "", ()),
    )
    assert report.total == 3
    assert (report.pools[0].public, report.pools[0].private, report.pools[0].frozen) == (1, 2, 0)


def test_frozen_customers_are_counted_in_the_recycle_bin(scenario: PoolService) -> None:
    scenario.freeze("boss", "c1")
    main = scenario.report().pools[0]
    assert main.grades[0] == GradeCount("A", frozen=1)


def test_reps_load_against_cap_and_claims_against_limit(scenario: PoolService) -> None:
    report = scenario.report()
    assert report.reps == (
        RepLoad("alice", "Alice <A&B>", owned=1, counted=1, cap=3, claims=0, claim_limit=None),
        RepLoad("bob", "", owned=1, counted=1, cap=3, claims=1, claim_limit=2),
        RepLoad("boss", "", owned=0, counted=0, cap=3, claims=0, claim_limit=None),
    )
    assert report.claim_window_days == 7


def test_claims_leave_the_window_at_its_end(scenario: PoolService) -> None:
    claim = at(9, 12)
    leaves = datetime(2026, 3, 16, 12, tzinfo=NEW_YORK)  # 7 calendar days later
    assert leaves - claim == timedelta(days=7)
    bob = {r.rep_id: r for r in scenario.report(leaves - SECOND).reps}["bob"]
    assert bob.claims == 1
    bob = {r.rep_id: r for r in scenario.report(leaves).reps}["bob"]
    assert bob.claims == 0


def test_cap_counts_follow_the_policy_when_dealt_customers_do_not_count(
    ny_clock: ManualClock,
) -> None:
    policy = Policy.from_dict({**POLICY, "caps": {"default": 3, "count_dealt": False}})
    svc = PoolService(MemoryStore(), policy, ny_clock)
    svc.setup(Team.from_dict(TEAM))
    svc.create("alice", "One", customer_id="one")
    svc.create("alice", "Two", customer_id="two")
    svc.follow_up("alice", "two", "deal")
    alice = svc.report().reps[0]
    assert (alice.rep_id, alice.owned, alice.counted) == ("alice", 2, 1)


def test_forecast_per_day_with_the_last_day_ending_at_midnight(scenario: PoolService) -> None:
    # c2 was taken at 03-08 00:00: warned 03-20 00:00, drops 03-23 00:00; c3 claimed at
    # 03-09 12:00: warned 03-21 12:00, drops 03-24 12:00.
    report = scenario.report(days_ahead=15)
    assert report.forecast[0].day == date(2026, 3, 9)
    busy = [f for f in report.forecast if f.drops or f.warnings]
    assert busy == [
        DayForecast(date(2026, 3, 20), drops=0, warnings=1),
        DayForecast(date(2026, 3, 21), drops=0, warnings=1),
        DayForecast(date(2026, 3, 23), drops=1, warnings=0),
    ]
    shorter = scenario.report(days_ahead=14)  # ends at 03-23 00:00, the drop's instant
    assert sum(f.drops for f in shorter.forecast) == 0
    assert len(shorter.forecast) == 14


def test_review_backlog(scenario: PoolService, ny_clock: ManualClock) -> None:
    assert scenario.report().reviews == ReviewBacklog(0, None, None)
    scenario.create("bob", "Acme Textiles", customer_id="c4")
    filed = ny_clock.now()
    ny_clock.advance(days=2, hours=3)
    backlog = scenario.report().reviews
    assert backlog == ReviewBacklog(1, filed, timedelta(days=2, hours=3))


def test_only_an_admin_reads_the_report(scenario: PoolService) -> None:
    assert scenario.report(actor_id="boss").total == 3
    with pytest.raises(PermissionDenied):
        scenario.report(actor_id="alice")


@pytest.mark.parametrize("days", [0, -1, 3661])
def test_spans_out_of_range_are_refused(scenario: PoolService, days: int) -> None:
    with pytest.raises(InvalidValueError):
        scenario.report(days_back=days)
    with pytest.raises(InvalidValueError):
        scenario.report(days_ahead=days)


def test_a_naive_instant_is_refused(scenario: PoolService) -> None:
    with pytest.raises(NaiveDatetimeError):
        scenario.report(datetime(2026, 3, 9, 12))


def test_the_figures_as_plain_data(scenario: PoolService) -> None:
    plain = scenario.report(days_back=1, days_ahead=1).to_plain()
    assert plain["flows"] == [
        {
            "day": "2026-03-09",
            "since": "2026-03-09T00:00:00-04:00",
            "until": "2026-03-09T12:00:00.000001-04:00",
            "kinds": {"returned": 1, "claimed": 1},
        }
    ]
    assert plain["pools"][0]["grades"][0] == {"grade": "A", "public": 1, "private": 0, "frozen": 0}


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["create", "create_public", "claim", "return", "freeze", "delete"]),
        st.integers(0, 7),
        st.sampled_from([None, "A", "B"]),
    ),
    max_size=25,
)


@settings(max_examples=40)
@given(OPERATIONS)
def test_pool_counts_equal_counting_the_stores_customers(
    operations: list[tuple[str, int, str | None]],
) -> None:
    clock = ManualClock(at(9, 9))
    svc = PoolService(MemoryStore(), Policy.from_dict(POLICY), clock)
    svc.setup(Team.from_dict(TEAM))
    for name, n, grade in operations:
        cid = f"c{n}"
        clock.advance(minutes=7)
        try:
            if name == "create":
                svc.create("alice", f"Name {n}", customer_id=cid, grade=grade)
            elif name == "create_public":
                svc.create("boss", f"Other {n}", customer_id=cid, public=True, grade=grade)
            elif name == "claim":
                svc.claim("bob", cid)
            elif name == "return":
                svc.return_to_pool("alice", cid, "not now")
            elif name == "freeze":
                svc.freeze("boss", cid)
            else:
                svc.delete("boss", cid)
        except Exception:
            continue
    expected: dict[tuple[str, str | None, str], int] = {}
    with svc.store.unit_of_work() as uow:
        for cid in uow.customers.ids():
            c = uow.customers.get(cid)
            assert c is not None
            key = (c.pool_id, c.grade, c.status.value)
            expected[key] = expected.get(key, 0) + 1
    report = svc.report()
    found = {
        (pool.pool_id, g.grade, status): count
        for pool in report.pools
        for g in pool.grades
        for status, count in (("public", g.public), ("private", g.private), ("frozen", g.frozen))
        if count
    }
    assert found == expected
    owned = {r.rep_id: r.owned for r in report.reps}
    assert owned == {rep: len(svc.private_pool(rep)) for rep in ("alice", "bob", "boss")}


@pytest.mark.parametrize(
    "when",
    [
        datetime(1, 1, 1, tzinfo=ZoneInfo("UTC")),
        datetime(9999, 12, 31, 23, tzinfo=ZoneInfo("UTC")),
    ],
)
def test_days_outside_the_calendar_are_refused(scenario: PoolService, when: datetime) -> None:
    with pytest.raises(InvalidValueError, match="outside the calendar"):
        scenario.report(when)
