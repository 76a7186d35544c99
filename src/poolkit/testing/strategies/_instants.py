"""Instants, zones and gaps between instants, clustered around daylight-saving transitions,
where calendar arithmetic goes wrong first."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

#: The zones the strategies draw from. Each is here for a reason a deadline could go wrong.
ZONE_NAMES: tuple[str, ...] = (
    "Asia/Shanghai",  # +08:00, no DST: the home of 公海/私海
    "America/New_York",  # DST at 02:00 local, one hour
    "Europe/Berlin",  # DST at 02:00/03:00 local, on other dates than New York
    "UTC",
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "America/St_Johns",  # -03:30 with DST
    "Australia/Lord_Howe",  # +10:30, DST of only 30 minutes
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/Havana",  # DST starts at midnight: some days have no 00:00
    "Pacific/Kiritimati",  # +14:00, a date ahead of almost everyone
    "Pacific/Pago_Pago",  # -11:00
)

_MIN_INSTANT = datetime(2015, 1, 1, tzinfo=UTC)
_MAX_INSTANT = datetime(2035, 12, 31, tzinfo=UTC)


def zone_names() -> st.SearchStrategy[str]:
    """IANA zone names from :data:`ZONE_NAMES` (shrinks towards ``Asia/Shanghai``)."""
    return st.sampled_from(ZONE_NAMES)


ANY_ZONE: st.SearchStrategy[ZoneInfo] = st.sampled_from(ZONE_NAMES).map(ZoneInfo)


def zones() -> st.SearchStrategy[ZoneInfo]:
    """:class:`~zoneinfo.ZoneInfo` objects for :data:`ZONE_NAMES`."""
    return ANY_ZONE


@functools.lru_cache(maxsize=64)
def _transitions(zone_name: str, first_year: int, last_year: int) -> tuple[datetime, ...]:
    zone = ZoneInfo(zone_name)
    start = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    found: list[datetime] = []
    day = timedelta(days=1)
    here = start
    while here < end:
        there = here + day
        if here.astimezone(zone).utcoffset() != there.astimezone(zone).utcoffset():
            # Narrow the day down to the second the offset changes.
            low, high = here, there
            while high - low > timedelta(seconds=1):
                middle = low + timedelta(seconds=(high - low) // timedelta(seconds=1) // 2)
                if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high)
        here = there
    return tuple(found)


def dst_transitions(
    zone: str | ZoneInfo, first_year: int = 2015, last_year: int = 2035
) -> list[datetime]:
    """The instants (in UTC) at which ``zone``'s UTC offset changes, in those years.

    Found by scanning day by day and narrowing to the second; cached per zone. Handy to put
    a deadline exactly on a spring-forward gap or a fall-back fold.
    """
    name = zone if isinstance(zone, str) else zone.key
    return list(_transitions(name, first_year, last_year))


@st.composite
def aware_datetimes(
    draw: st.DrawFn,
    zones: st.SearchStrategy[ZoneInfo] | None = None,
    *,
    min_value: datetime = _MIN_INSTANT,
    max_value: datetime = _MAX_INSTANT,
    near_transitions: bool = True,
) -> datetime:
    """Timezone-aware instants between ``min_value`` and ``max_value`` (aware bounds),
    expressed in a zone from ``zones`` (default: :func:`zones`).

    About half of them fall within two hours of one of the zone's DST transitions
    (sometimes exactly on it, or one second either side), so they land in folds (with
    ``fold=1`` where the wall time happens twice) and next to gaps. Every value is a real
    instant converted with ``astimezone``, never an imaginary wall time. Whole seconds
    mostly, sometimes with microseconds.
    """
    zone = draw(zones if zones is not None else ANY_ZONE)
    low, high = min_value.astimezone(UTC), max_value.astimezone(UTC)
    candidates: list[datetime] = []
    if near_transitions:
        candidates = [t for t in dst_transitions(zone, low.year, high.year) if low <= t <= high]
    near: bool = draw(st.booleans())
    if candidates and near:
        transition = draw(st.sampled_from(candidates))
        offset = draw(st.sampled_from((-1, 0, 1)) | st.integers(-2 * 3600, 2 * 3600))
        instant = min(max(transition + timedelta(seconds=offset), low), high)
    else:
        span = int((high - low).total_seconds())
        instant = low + timedelta(seconds=draw(st.integers(0, span)))
    micro = draw(st.just(0) | st.integers(1, 999_999))
    if instant + timedelta(microseconds=micro) <= high:
        instant += timedelta(microseconds=micro)
    return instant.astimezone(zone)


def durations(max_days: int = 45) -> st.SearchStrategy[timedelta]:
    """Non-negative gaps between two moments: seconds, minutes to a day, whole days (which
    put a later time on the same wall-clock time as an earlier one), up to ``max_days``."""
    return st.one_of(
        st.integers(0, 59).map(lambda s: timedelta(seconds=s)),
        st.integers(60, 86_400).map(lambda s: timedelta(seconds=s)),
        st.integers(0, max_days).map(lambda d: timedelta(days=d)),
        st.integers(0, max_days * 86_400).map(lambda s: timedelta(seconds=s)),
    )


def later(at: datetime, gap: timedelta, zone: tzinfo | None = None) -> datetime:
    """``gap`` of elapsed time after ``at`` (through UTC, so DST does not bend it)."""
    return (at.astimezone(UTC) + gap).astimezone(zone if zone is not None else at.tzinfo)


def utc(at: datetime) -> datetime:
    return at.astimezone(UTC)
