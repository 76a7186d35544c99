"""What "N days" means: calendar days in the policy's time zone.

"Drops after 15 days" means the same local wall-clock time 15 calendar days later in the
company's zone, not 15 x 24 hours: across a DST change the two differ by an hour, and reps
read deadlines off their own calendar. Two local times need a rule:

- a wall time that does not exist (skipped by a spring-forward) moves forward by the gap,
  e.g. 02:30 on the day New York springs forward becomes 03:30 (dateutil's
  ``resolve_imaginary``);
- a wall time that happens twice (a fall-back) means its first occurrence (fold=0), so a
  deadline never comes later than the calendar says.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from dateutil import tz as dateutil_tz

from poolkit.clock import require_aware


def local_instant(day: date, wall: time, zone: tzinfo) -> datetime:
    """The instant a local calendar day and wall time denote in ``zone``."""
    naive = datetime.combine(day, wall.replace(tzinfo=None, fold=0))
    resolved: datetime = dateutil_tz.resolve_imaginary(naive.replace(tzinfo=zone))
    return resolved


def add_days(at: datetime, days: int, zone: tzinfo) -> datetime:
    """``at`` moved by ``days`` calendar days, keeping the local wall time in ``zone``."""
    require_aware(at, "at")
    local = at.astimezone(zone)
    return local_instant(local.date() + timedelta(days=days), local.time(), zone)


def start_of_day(day: date, zone: tzinfo) -> datetime:
    """Local midnight of ``day`` (or the first instant of the day where midnight is skipped)."""
    return local_instant(day, time(0, 0), zone)


def local_date(at: datetime, zone: tzinfo) -> date:
    return require_aware(at, "at").astimezone(zone).date()


def format_instant(at: datetime, zone: tzinfo) -> str:
    """``2026-03-01 10:00 +08:00``: how reasons show a time, in the policy's zone."""
    local = at.astimezone(zone)
    offset = local.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    stamp = local.strftime("%Y-%m-%d %H:%M")
    if local.second:
        stamp = local.strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp} {sign}{minutes // 60:02d}:{minutes % 60:02d}"


def utc(at: datetime) -> datetime:
    return require_aware(at, "at").astimezone(UTC)
