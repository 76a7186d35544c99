"""The clocks: a manual one that moves only when told, the system one, and require_aware."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from poolkit import Clock, ManualClock, SystemClock, require_aware
from poolkit.errors import InvalidValueError, NaiveDatetimeError

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_manual_clock_tells_the_time_it_was_given() -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
    clock = ManualClock(start)
    assert clock.now() == start and clock.now() == clock.now()
    assert isinstance(clock, Clock)


def test_set_jumps_forwards_and_backwards() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI))
    later = datetime(2026, 5, 1, 0, 0, tzinfo=BERLIN)
    clock.set(later)
    assert clock.now() == later
    earlier = datetime(2025, 1, 1, tzinfo=UTC)
    clock.set(earlier)
    assert clock.now() == earlier


def test_advance_adds_elapsed_time_and_keeps_the_zone() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI))
    moved = clock.advance(timedelta(hours=1), days=1, minutes=30, seconds=15)
    assert moved == datetime(2026, 3, 3, 10, 30, 15, tzinfo=SHANGHAI)
    assert clock.now() == moved and clock.now().tzinfo is SHANGHAI
    assert clock.advance() == moved  # nothing to add
    assert clock.advance(days=0.5) == datetime(2026, 3, 3, 22, 30, 15, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    "start, step, wall",
    [
        # New York springs forward on 8 March: a day of elapsed time lands an hour later.
        (datetime(2026, 3, 7, 12, 0), {"days": 1}, datetime(2026, 3, 8, 13, 0)),
        (datetime(2026, 3, 7, 12, 0), {"hours": 24}, datetime(2026, 3, 8, 13, 0)),
        # ... and falls back on 1 November: an hour earlier.
        (datetime(2026, 10, 31, 12, 0), {"days": 1}, datetime(2026, 11, 1, 11, 0)),
        # Through the skipped hour: 01:30 EST + 1 hour is 03:30 EDT.
        (datetime(2026, 3, 8, 1, 30), {"hours": 1}, datetime(2026, 3, 8, 3, 30)),
    ],
)
def test_advance_across_dst_is_elapsed_time(
    start: datetime, step: dict[str, Any], wall: datetime
) -> None:
    clock = ManualClock(start.replace(tzinfo=NEW_YORK))
    moved = clock.advance(**step)
    assert moved == wall.replace(tzinfo=NEW_YORK)
    elapsed = moved.astimezone(UTC) - start.replace(tzinfo=NEW_YORK).astimezone(UTC)
    assert elapsed == timedelta(**step)


def test_advance_through_a_repeated_hour_lands_on_the_second_occurrence() -> None:
    first = datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK)  # EDT, fold=0
    clock = ManualClock(first)
    moved = clock.advance(hours=1)
    assert moved.astimezone(UTC) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert (moved.hour, moved.minute, moved.fold) == (1, 30, 1)  # the same wall time, EST


def test_advance_backwards_is_refused() -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
    clock = ManualClock(start)
    with pytest.raises(InvalidValueError) as refused:
        clock.advance(seconds=-1)
    assert refused.value.field == "delta"
    with pytest.raises(InvalidValueError):
        clock.advance(timedelta(days=1), days=-2)
    assert clock.now() == start


def test_a_manual_clock_refuses_naive_and_non_datetimes() -> None:
    with pytest.raises(NaiveDatetimeError):
        ManualClock(datetime(2026, 3, 2, 9, 0))
    with pytest.raises(InvalidValueError):
        ManualClock(date(2026, 3, 2))  # type: ignore[arg-type]
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI))
    with pytest.raises(NaiveDatetimeError):
        clock.set(datetime(2026, 3, 3))
    assert clock.now() == datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)


def test_the_system_clock_tells_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC and isinstance(SystemClock(), Clock)


class NoOffset(tzinfo):
    """A tzinfo that does not know its offset: a datetime with it is still naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


def test_require_aware() -> None:
    aware = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    assert require_aware(aware) is aware
    with pytest.raises(NaiveDatetimeError) as refused:
        require_aware(datetime(2026, 3, 2, 9, 0), "follow_up_at")
    assert refused.value.field == "follow_up_at"
    assert refused.value.value == datetime(2026, 3, 2, 9, 0)
    assert "naive datetime 2026-03-02T09:00:00 refused" in str(refused.value)
    assert isinstance(refused.value, ValueError)
    with pytest.raises(NaiveDatetimeError):
        require_aware(datetime(2026, 3, 2, 9, 0, tzinfo=NoOffset()))
    with pytest.raises(InvalidValueError) as wrong_type:
        require_aware("2026-03-02T09:00:00+08:00", "at")  # type: ignore[arg-type]
    assert not isinstance(wrong_type.value, NaiveDatetimeError)
    assert "expected a datetime, got str" in str(wrong_type.value)
