"""When a sweep must next look at a customer."""

from __future__ import annotations

from datetime import datetime

import attrs

from poolkit.clock import utc

__all__ = ["Schedule"]


def _instant(at: datetime | None) -> datetime | None:
    return None if at is None else utc(at)


@attrs.frozen
class Schedule:
    """The next instants a sweep must look at a customer: its drop and its warning.

    Stores keep it beside the customer, indexed, so a sweep reads only what is due. Two
    schedules are equal when they name the same instants, whatever zone each is written in
    (a store may give them back in UTC).
    """

    drop_at: datetime | None = attrs.field(default=None, eq=_instant)
    warn_at: datetime | None = attrs.field(default=None, eq=_instant)

    @property
    def next_at(self) -> datetime | None:
        times = [t for t in (self.drop_at, self.warn_at) if t is not None]
        return min(times) if times else None
