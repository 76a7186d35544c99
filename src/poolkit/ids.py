"""The ids the service gives new customers: unique, and growing with time.

Every index keyed by customer id (the customer's row, its history, its keys, its name's
blocks...) is a B-tree ordered by id. A random id lands anywhere in each of them, so in a
large book every new customer writes a page of its own in every such index, each page
written to the log at the commit and into the database file at the checkpoint. An id that
grows with time lands where the ids made just before it did, so the customers created
together share those pages (the reason UUIDv7 and ULID exist). ``docs/stores.md`` has
the figures.
"""

from __future__ import annotations

import itertools
import secrets
from datetime import UTC, datetime, timedelta

from poolkit.clock import Clock, require_aware

__all__ = ["TimeOrderedIds"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECONDS = 0xFFFF_FFFF  # 8 hex digits: the second up to the year 2106
_COUNTER = 1 << 48  # 12 hex digits
_ONE_SECOND = timedelta(seconds=1)


class TimeOrderedIds:
    """Makes ids of 20 lowercase hex digits: the clock's second since 1970 (8 digits), then
    a counter (12 digits) that starts at a random value and goes up by one for each id.

    Ids made by one instance never repeat, whatever the clock does: the counter alone
    tells them apart (it would take 2^47 ids to come back to its start). Two instances
    (two processes, two servers) start their counters at random places among 2^47, so
    their ids meet only if both make ids in the same second at counters that overlap,
    which is as likely as two random 47-bit numbers being within the few thousand ids of
    a second of each other. Ids made later sort after those made in an earlier second.

    The second comes from the injected clock, not the wall clock, so a simulation's ids
    follow its own time; a clock stopped in a test gives ids that differ by their
    counter. Instants before 1970 or after 2106 take the first or last second.

    Thread-safe: the counter is an :func:`itertools.count`, whose ``next`` is atomic.
    """

    __slots__ = ("_clock", "_counter")

    def __init__(self, clock: Clock, *, start: int | None = None) -> None:
        self._clock = clock
        # Below 2^47, so that the 12 digits last 2^47 ids before they wrap (an id made
        # after a wrap is still unique, but sorts before its second's earlier ones).
        first = secrets.randbelow(_COUNTER >> 1) if start is None else start % _COUNTER
        self._counter = itertools.count(first)

    def __call__(self) -> str:
        seconds = (require_aware(self._clock.now(), "clock.now()") - _EPOCH) // _ONE_SECOND
        seconds = min(max(seconds, 0), _SECONDS)
        return f"{seconds:08x}{next(self._counter) % _COUNTER:012x}"
