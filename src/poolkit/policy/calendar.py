"""What "N days" means: calendar days in the policy's time zone.

"Drops after 15 days" means the same local wall-clock time 15 calendar days later in the
company's zone, not 15 x 24 hours: across a DST change the two differ by an hour, and reps
read deadlines off their own calendar. Two local times need a rule:

- a wall time that does not exist (skipped by a spring-forward) moves forward by the gap,
  e.g. 02:30 on the day New York springs forward becomes 03:30 (dateutil's
  ``resolve_imaginary``);
- a wall time that happens twice (a fall-back) means its first occurrence (fold=0), so a
  deadline never comes later than the calendar says;
- an instant in the second pass of a repeated hour counts from the end of the repetition
  (the wall time the clock reaches when it stops repeating), so a later instant never
  counts from an earlier wall time: a follow-up can never bring a deadline forward.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from dateutil import tz as dateutil_tz

from poolkit.clock import require_aware
from poolkit.errors import InvalidValueError


def outside_calendar(at: datetime, days: int) -> InvalidValueError:
    """The error for ``days`` calendar days from ``at`` landing outside years 1-9999."""
    return InvalidValueError(
        "at",
        f"{days} calendar days from {at.isoformat()} fall outside the calendar "
        "(years 1 to 9999): no deadline can be computed",
    )


def local_instant(day: date, wall: time, zone: tzinfo) -> datetime:
    """The instant a local calendar day and wall time denote in ``zone``."""
    naive = datetime.combine(day, wall.replace(tzinfo=None, fold=0))
    resolved: datetime = dateutil_tz.resolve_imaginary(naive.replace(tzinfo=zone))
    return resolved


def add_days(at: datetime, days: int, zone: tzinfo) -> datetime:
    """``at`` moved by ``days`` calendar days, keeping the local wall time in ``zone``
    (:class:`~poolkit.errors.InvalidValueError` when that is outside the calendar)."""
    try:
        return _add_days(require_aware(at, "at"), days, zone)
    except OverflowError:
        raise outside_calendar(at, days) from None


def _add_days(at: datetime, days: int, zone: tzinfo) -> datetime:
    local = at.astimezone(zone)
    if local.fold == 0:
        # The common case, computed without taking the wall time apart (every deadline a
        # sweep checks comes through here): adding to an aware datetime moves its wall
        # time within its zone and gives fold 0, the first occurrence. Same result as
        # the general path below.
        moved = local + _days(days)
        if moved.astimezone(UTC).astimezone(zone) == moved:  # same zone: wall times compared
            return moved
        resolved: datetime = dateutil_tz.resolve_imaginary(moved)
        return resolved
    wall = counting_wall_time(local, zone)
    return local_instant(wall.date() + timedelta(days=days), wall.time(), zone)


@functools.lru_cache(maxsize=256)
def _days(days: int) -> timedelta:
    """``timedelta(days=days)``, made once per count: a policy names a few, and making one
    cost a quarter of a deadline's computation."""
    return timedelta(days=days)


def counting_wall_time(at: datetime, zone: tzinfo) -> datetime:
    """The naive local wall time that calendar days count from.

    It is the wall time of ``at``, except in the second pass of a repeated hour: there the
    wall clock shows times it already showed, so the end of the repetition is used instead.
    This keeps the count monotonic: a later instant never counts from an earlier wall time.
    """
    local = require_aware(at, "at").astimezone(zone)
    wall = local.replace(tzinfo=None, fold=0)
    if local.fold == 0 or not dateutil_tz.datetime_ambiguous(local):
        return wall
    # The repeated stretch is at most the offset change long; find, to the second, the first
    # wall time after ``wall`` that is no longer ambiguous.
    first, second = local.replace(fold=0).utcoffset(), local.utcoffset()
    assert first is not None and second is not None
    low, high = 0, int((first - second).total_seconds())
    while low < high:
        middle = (low + high) // 2
        probe = (wall + timedelta(seconds=middle)).replace(tzinfo=zone)
        if dateutil_tz.datetime_ambiguous(probe):
            low = middle + 1
        else:
            high = middle
    return wall + timedelta(seconds=low)


def start_of_day(day: date, zone: tzinfo) -> datetime:
    """Local midnight of ``day`` (or the first instant of the day where midnight is skipped)."""
    # Kept per zone and day: every deadline of a "start_of_day" policy and every day of a
    # report asks it, for a few hundred distinct days.
    try:
        found = _start_of_day(day, zone)
    except TypeError:  # an unhashable tzinfo: nothing to keep it by
        return local_instant(day, time(0, 0), zone)
    # A zone equal to a cached one but another object (a renamed fixed offset) gets its
    # own instant, so the result carries the very tzinfo asked for.
    return found if found.tzinfo is zone else local_instant(day, time(0, 0), zone)


@functools.lru_cache(maxsize=8192)
def _start_of_day(day: date, zone: tzinfo) -> datetime:
    return local_instant(day, time(0, 0), zone)


def local_date(at: datetime, zone: tzinfo) -> date:
    return require_aware(at, "at").astimezone(zone).date()


def format_instant(at: datetime, zone: tzinfo) -> str:
    """``2026-03-01 10:00 +08:00``: how reasons show a time, in the policy's zone."""
    local = at.astimezone(zone)
    offset = local.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    # Formatted by hand: strftime costs several times more, and reasons are written for
    # every customer a sweep moves.
    stamp = (
        f"{local.year:04d}-{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}"
    )
    if local.second:
        stamp += f":{local.second:02d}"
    return f"{stamp} {sign}{minutes // 60:02d}:{minutes % 60:02d}"
