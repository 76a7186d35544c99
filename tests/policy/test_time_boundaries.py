"""Every deadline to the second: the instant before, at and after a drop, a warning, the end
of a claim-limit window and the end of a cooldown, in three zones and across both changes of
daylight saving time, in both ``drop_time`` modes.

The expected instants are written as local wall times (what a rep reads off the calendar),
never computed with poolkit's own calendar functions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from dateutil import tz as dateutil_tz

from poolkit import Customer, CustomerStatus, ManualClock, PoolService
from poolkit.errors import ClaimLimitExceeded, CooldownActive, InvalidValueError, NaiveDatetimeError
from poolkit.model.events import Dropped, Warned
from poolkit.policy.calendar import local_instant, start_of_day

Factory = Callable[..., PoolService]

TEAM = {
    "reps": [{"id": "admin", "admin": True}, {"id": "li"}, {"id": "wang"}],
    "pools": [{"id": "main", "default": True, "members": ["li", "wang"]}],
}

DROP_DAYS, WARN_DAYS, WINDOW_DAYS, COOLDOWN_DAYS = 15, 3, 7, 10


@attrs.frozen
class Case:
    """A zone and a start three days before one of its DST changes (Shanghai has none), so
    every period counted from ``start`` crosses the change. ``shift`` is how much longer
    than N x 24 hours N calendar days are across it."""

    zone_name: str
    start: datetime  # naive local wall time
    shift: timedelta

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.zone_name)

    def local(self, day: date, wall: time) -> datetime:
        return datetime.combine(day, wall, tzinfo=self.zone)

    def anchor(self) -> datetime:
        return self.start.replace(tzinfo=self.zone)

    def after(self, days: int, drop_time: str = "exact") -> datetime:
        """The deadline ``days`` calendar days after the anchor."""
        day = self.start.date() + timedelta(days=days)
        return self.local(day, time(0) if drop_time == "start_of_day" else self.start.time())


HOUR = timedelta(hours=1)
CASES = {
    "shanghai-march": Case("Asia/Shanghai", datetime(2026, 3, 5, 10, 0), timedelta(0)),
    "shanghai-october": Case("Asia/Shanghai", datetime(2026, 10, 29, 10, 0), timedelta(0)),
    "new_york-spring_forward": Case("America/New_York", datetime(2026, 3, 5, 10, 0), -HOUR),
    "new_york-fall_back": Case("America/New_York", datetime(2026, 10, 29, 10, 0), HOUR),
    "berlin-spring_forward": Case("Europe/Berlin", datetime(2026, 3, 26, 10, 0), -HOUR),
    "berlin-fall_back": Case("Europe/Berlin", datetime(2026, 10, 22, 10, 0), HOUR),
}
ONE_SECOND = timedelta(seconds=1)
OFFSETS = [
    pytest.param(-ONE_SECOND, id="second_before"),
    pytest.param(timedelta(0), id="at"),
    pytest.param(ONE_SECOND, id="second_after"),
]


def policy(case: Case, drop_time: str = "exact") -> dict[str, Any]:
    return {
        "timezone": case.zone_name,
        "drop_time": drop_time,
        "drop_rules": [
            {"name": "stale", "kind": "no_follow_up", "days": DROP_DAYS, "warn_days": WARN_DAYS}
        ],
        "claim_limit": {"max_claims": 1, "window_days": WINDOW_DAYS},
        "cooldown": {"days": COOLDOWN_DAYS},
    }


@pytest.fixture(params=list(CASES.values()), ids=list(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    value: Case = request.param
    return value


@pytest.mark.parametrize("days", [DROP_DAYS, DROP_DAYS - WARN_DAYS, WINDOW_DAYS, COOLDOWN_DAYS])
def test_n_days_are_calendar_days_not_24_hour_days(case: Case, days: int) -> None:
    elapsed = case.after(days).astimezone(UTC) - case.anchor().astimezone(UTC)
    assert elapsed == timedelta(days=days) + case.shift


@pytest.mark.parametrize("drop_time", ["exact", "start_of_day"])
@pytest.mark.parametrize("offset", OFFSETS)
def test_drop_boundary(
    make_service: Factory, clock: ManualClock, case: Case, drop_time: str, offset: timedelta
) -> None:
    svc = make_service(policy(case, drop_time), TEAM)
    clock.set(case.anchor())
    customer = svc.create("li", "Acme")
    due = case.after(DROP_DAYS, drop_time)
    clock.set(due + offset)
    report = svc.sweep()
    if offset < timedelta(0):
        assert report.dropped == ()
        assert svc.customer(customer.id).owner_id == "li"
    else:
        assert [(d.customer_id, d.due_at) for d in report.dropped] == [(customer.id, due)]
        assert svc.customer(customer.id).is_public


@pytest.mark.parametrize("drop_time", ["exact", "start_of_day"])
@pytest.mark.parametrize("offset", OFFSETS)
def test_warning_boundary(
    make_service: Factory, clock: ManualClock, case: Case, drop_time: str, offset: timedelta
) -> None:
    svc = make_service(policy(case, drop_time), TEAM)
    clock.set(case.anchor())
    customer = svc.create("li", "Acme")
    warn_at = case.after(DROP_DAYS - WARN_DAYS, drop_time)
    clock.set(warn_at + offset)
    report = svc.sweep()
    assert report.dropped == ()
    if offset < timedelta(0):
        assert report.warned == ()
    else:
        due = case.after(DROP_DAYS, drop_time)
        assert [(w.customer_id, w.due_at) for w in report.warned] == [(customer.id, due)]


@pytest.mark.parametrize("offset", OFFSETS)
def test_claim_limit_window_boundary(
    make_service: Factory, clock: ManualClock, case: Case, offset: timedelta
) -> None:
    svc = make_service(policy(case), TEAM)
    clock.set(case.anchor())
    first = svc.create("admin", "First", public=True)
    second = svc.create("admin", "Second", public=True)
    svc.claim("li", first.id)
    window_ends = case.after(WINDOW_DAYS)
    clock.set(window_ends + offset)
    if offset < timedelta(0):
        with pytest.raises(ClaimLimitExceeded) as refused:
            svc.claim("li", second.id)
        assert refused.value.next_claim_at == window_ends
    else:
        assert svc.claim("li", second.id).owner_id == "li"


@pytest.mark.parametrize("offset", OFFSETS)
def test_cooldown_boundary(
    make_service: Factory, clock: ManualClock, case: Case, offset: timedelta
) -> None:
    svc = make_service(policy(case), TEAM)
    clock.set(case.anchor())
    customer = svc.create("li", "Acme")
    svc.return_to_pool("li", customer.id, "no budget")
    ends_at = case.after(COOLDOWN_DAYS)
    clock.set(ends_at + offset)
    if offset < timedelta(0):
        with pytest.raises(CooldownActive) as refused:
            svc.claim("li", customer.id)
        assert refused.value.ends_at == ends_at
    else:
        assert svc.claim("li", customer.id).owner_id == "li"


def test_forecast_shows_the_warning_and_the_drop_at_their_instants(
    make_service: Factory, clock: ManualClock, case: Case, unchanged: Callable[..., Any]
) -> None:
    svc = make_service(policy(case), TEAM)
    clock.set(case.anchor())
    customer = svc.create("li", "Acme")
    due, warn_at = case.after(DROP_DAYS), case.after(DROP_DAYS - WARN_DAYS)
    with unchanged(svc.store):
        before_due = svc.forecast(due - ONE_SECOND)
        at_due = svc.forecast(due)
    assert [(f.customer_id, f.action, f.at) for f in before_due] == [
        (customer.id, "warning", warn_at)
    ]
    assert [(f.action, f.at) for f in at_due] == [("warning", warn_at), ("drop", due)]


# ---------------------------------------------------------------- wall times that do not
# exist or happen twice (the rules documented in poolkit.policy.calendar)

SKIPPED_AND_REPEATED = [
    # New York springs forward at 02:00 on 8 March: 02:30 does not exist, 03:30 EDT is meant.
    pytest.param(
        "America/New_York",
        datetime(2026, 2, 21, 2, 30),
        datetime(2026, 3, 8, 7, 30, tzinfo=UTC),
        id="new_york-skipped",
    ),
    # Berlin springs forward at 02:00 on 29 March: 02:30 becomes 03:30 CEST.
    pytest.param(
        "Europe/Berlin",
        datetime(2026, 3, 14, 2, 30),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        id="berlin-skipped",
    ),
    # New York falls back at 02:00 on 1 November: 01:30 happens twice; the first (EDT) counts.
    pytest.param(
        "America/New_York",
        datetime(2026, 10, 17, 1, 30),
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        id="new_york-repeated",
    ),
    # Berlin falls back at 03:00 on 25 October: 02:30 happens twice; the first (CEST) counts.
    pytest.param(
        "Europe/Berlin",
        datetime(2026, 10, 10, 2, 30),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        id="berlin-repeated",
    ),
]


@pytest.mark.parametrize("zone_name, taken, due", SKIPPED_AND_REPEATED)
def test_skipped_wall_time_moves_forward_and_repeated_means_the_first(
    make_service: Factory, clock: ManualClock, zone_name: str, taken: datetime, due: datetime
) -> None:
    case = Case(zone_name, taken, timedelta(0))
    svc = make_service(policy(case), TEAM)
    clock.set(case.anchor())
    customer = svc.create("li", "Acme")
    clock.set(due - ONE_SECOND)
    assert svc.sweep().dropped == ()
    clock.set(due)
    assert [d.customer_id for d in svc.sweep().dropped] == [customer.id]


def test_start_of_day_where_midnight_is_skipped_is_the_first_instant_of_the_day(
    make_service: Factory, clock: ManualClock
) -> None:
    # Havana springs forward at midnight on 8 March 2026: that day starts at 01:00 CDT.
    case = Case("America/Havana", datetime(2026, 2, 21, 10, 0), timedelta(0))
    svc = make_service(policy(case, "start_of_day"), TEAM)
    clock.set(case.anchor())
    customer = svc.create("li", "Acme")
    first_instant = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    clock.set(first_instant - ONE_SECOND)
    assert svc.sweep().dropped == ()
    clock.set(first_instant)
    assert [d.customer_id for d in svc.sweep().dropped] == [customer.id]


# ---------------------------------------------------------------- sweeps


def test_a_second_sweep_at_the_same_time_changes_nothing(
    make_service: Factory, clock: ManualClock, case: Case, unchanged: Callable[..., Any]
) -> None:
    svc = make_service(policy(case), TEAM)
    clock.set(case.anchor())
    dropping = svc.create("li", "Drops").id
    clock.set(case.anchor() + timedelta(days=1))
    warned = svc.create("li", "Warned").id
    clock.set(case.after(DROP_DAYS))
    report = svc.sweep()
    assert [d.customer_id for d in report.dropped] == [dropping]
    assert [w.customer_id for w in report.warned] == [warned]
    with unchanged(svc.store):
        again = svc.sweep()
    assert not again.changed and again.rescheduled == 0
    # The sweep came after the warning time had passed: the drop needs no warning first.
    assert [type(e) for e in svc.history(dropping)][1:] == [Dropped]
    assert [type(e) for e in svc.history(warned)][1:] == [Warned]


def test_a_sweep_of_the_future_is_refused(
    make_service: Factory, clock: ManualClock, unchanged: Callable[..., Any]
) -> None:
    case = CASES["new_york-spring_forward"]
    svc = make_service(policy(case), TEAM)
    clock.set(case.anchor())
    svc.create("li", "Acme")
    clock.set(case.after(DROP_DAYS) - ONE_SECOND)
    with unchanged(svc.store), pytest.raises(InvalidValueError) as refused:
        svc.sweep(case.after(DROP_DAYS))
    assert refused.value.field == "at"
    assert not isinstance(refused.value, NaiveDatetimeError)


def test_a_sweep_of_a_past_time_uses_that_time(make_service: Factory, clock: ManualClock) -> None:
    case = CASES["berlin-fall_back"]
    svc = make_service(policy(case), TEAM)
    clock.set(case.anchor())
    customer = svc.create("li", "Acme")
    due = case.after(DROP_DAYS)
    clock.set(due + timedelta(days=3))
    assert svc.sweep(due - ONE_SECOND).dropped == ()
    report = svc.sweep(due)
    assert [d.customer_id for d in report.dropped] == [customer.id]
    assert svc.history(customer.id)[-1].at == due


# ---------------------------------------------------------------- naive datetimes

NAIVE = datetime(2026, 3, 2, 9, 0)


class NaiveClock:
    def now(self) -> datetime:
        return NAIVE


def test_manual_clock_refuses_naive_datetimes() -> None:
    with pytest.raises(NaiveDatetimeError) as refused:
        ManualClock(NAIVE)
    assert refused.value.field == "start"
    clock = ManualClock(NAIVE.replace(tzinfo=UTC))
    with pytest.raises(NaiveDatetimeError) as refused:
        clock.set(NAIVE)
    assert refused.value.field == "at"
    assert clock.now() == NAIVE.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda svc: svc.sweep(NAIVE), "at"),
        (lambda svc: svc.forecast(NAIVE), "until"),
        (lambda svc: svc.forecast(NAIVE.replace(tzinfo=UTC), since=NAIVE), "since"),
        (lambda svc: svc.public_pool("main", dropped_since=NAIVE), "dropped_since"),
    ],
    ids=["sweep", "forecast-until", "forecast-since", "public_pool-dropped_since"],
)
def test_the_service_refuses_naive_datetimes(
    make_service: Factory,
    unchanged: Callable[..., Any],
    call: Callable[[PoolService], object],
    field: str,
) -> None:
    svc = make_service(policy(CASES["shanghai-march"]), TEAM)
    svc.create("li", "Acme")
    with unchanged(svc.store), pytest.raises(NaiveDatetimeError) as refused:
        call(svc)
    assert refused.value.field == field


def test_a_clock_that_tells_naive_time_stops_every_operation(
    make_service: Factory, store: Any
) -> None:
    svc = make_service(policy(CASES["shanghai-march"]), TEAM)
    customer = svc.create("li", "Acme")
    naive = PoolService(store, svc.policy, NaiveClock())
    with pytest.raises(NaiveDatetimeError) as refused:
        naive.follow_up("li", customer.id)
    assert refused.value.field == "clock.now()"
    with pytest.raises(NaiveDatetimeError):
        naive.create("li", "Other")
    with pytest.raises(NaiveDatetimeError):
        naive.sweep()


AWARE = NAIVE.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "fields",
    [
        {"created_at": NAIVE},
        {"public_since": NAIVE},
        {"last_follow_up_at": NAIVE},
        {"last_deal_at": NAIVE},
        {"warned_due_at": NAIVE},
        {"status": CustomerStatus.PRIVATE, "owner_id": "li", "owned_since": NAIVE},
        {"related_reps": {"li": NAIVE}},
    ],
    ids=lambda fields: next(reversed(fields)),
)
def test_customer_refuses_naive_datetimes(fields: dict[str, Any]) -> None:
    values: dict[str, Any] = {"id": "c1", "name": "Acme", "pool_id": "main", "created_at": AWARE}
    values.update(fields)
    with pytest.raises(NaiveDatetimeError):
        Customer(**values)


def test_start_of_day_is_the_same_kept_or_computed_and_carries_the_zone_asked_for() -> None:
    # Kept per zone and day: the kept instant must be the computed one, and a zone equal
    # to a kept one (a fixed offset under another name) must get its own tzinfo back.
    havana = ZoneInfo("America/Havana")
    day = date(2026, 3, 8)
    assert start_of_day(day, havana) == local_instant(day, time(0, 0), havana)
    assert start_of_day(day, havana) == datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    east, renamed = timezone(timedelta(hours=8), "CST"), timezone(timedelta(hours=8), "BJT")
    assert east == renamed
    assert start_of_day(day, east).tzinfo is east
    assert start_of_day(day, renamed).tzinfo is renamed
    assert start_of_day(day, renamed).tzname() == "BJT"
    # A zone that cannot be kept (dateutil's zones are unhashable) is computed each time.
    york = dateutil_tz.gettz("America/New_York")
    assert york is not None
    assert start_of_day(day, york) == datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    assert start_of_day(day, york).tzinfo is york
