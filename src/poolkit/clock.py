"""Where poolkit learns the time.

The domain never reads the wall clock: every operation takes its time from an injected
:class:`Clock`, so tests and simulations decide what "now" is and every deadline can be
tested to the second.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from poolkit.errors import InvalidValueError, NaiveDatetimeError

__all__ = ["Clock", "ManualClock", "SystemClock", "require_aware", "utc"]


def require_aware(value: datetime, field: str = "datetime") -> datetime:
    """Return ``value`` if it carries a time zone; refuse a naive one with a clear error."""
    if not isinstance(value, datetime):
        raise InvalidValueError(field, f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise NaiveDatetimeError(field, value)
    return value


def utc(at: datetime) -> datetime:
    """``at`` as the same instant in UTC: how poolkit compares instants (two datetimes that
    share a ZoneInfo compare by wall time and ignore ``fold``, so a repeated hour would
    otherwise compare wrong)."""
    # require_aware's check inlined for the common case: the rules compare instants many
    # times per customer, and the call alone cost a third of this function.
    if isinstance(at, datetime):
        zone = at.tzinfo
        if zone is not None and zone.utcoffset(at) is not None:
            return at.astimezone(UTC)
    return require_aware(at, "at").astimezone(UTC)


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the current instant as a timezone-aware datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: for tests, simulations and replays.

    Thread-safe, so concurrent tests can share one.
    """

    def __init__(self, start: datetime) -> None:
        self._now = require_aware(start, "start")
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, at: datetime) -> None:
        """Jump to ``at`` (forwards or backwards)."""
        require_aware(at, "at")
        with self._lock:
            self._now = at

    def advance(
        self,
        delta: timedelta | None = None,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> datetime:
        """Move forward by an elapsed duration and return the new time."""
        step = (delta or timedelta()) + timedelta(
            days=days, hours=hours, minutes=minutes, seconds=seconds
        )
        if step < timedelta(0):
            raise InvalidValueError("delta", "a clock advances forwards; use set() to go back")
        with self._lock:
            # Aware arithmetic in Python is wall-clock arithmetic within one tzinfo; go
            # through UTC so "advance 24 hours" is 24 elapsed hours across a DST change.
            self._now = (self._now.astimezone(UTC) + step).astimezone(self._now.tzinfo)
            return self._now
