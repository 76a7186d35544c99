"""The change feed: every event in one global order, read in pages, and the positions
consumers keep in the store.

A system read, like the sweep: no actor, no rights. What a consumer does with an event
(tell a rep, update a search index, call a webhook) is its own business; the feed only
promises order and that nothing committed is ever behind a position already read. The
consumer loop itself is :class:`poolkit.feed.FeedConsumer`.
"""

from __future__ import annotations

from poolkit.errors import InvalidValueError
from poolkit.model.feed import FeedEntry
from poolkit.service._core import ServiceCore
from poolkit.service._retry import retried

__all__ = ["MAX_PAGE", "FeedJobs", "position_key"]

MAX_PAGE = 10_000
"""The most entries one :meth:`FeedJobs.events_since` call returns."""

_POSITION_PREFIX = "feed.position."


def position_key(consumer: str) -> str:
    """The settings key under which ``consumer``'s position is stored."""
    if not consumer or consumer != consumer.strip() or "\x00" in consumer:
        raise InvalidValueError(
            "consumer", f"must be a non-empty trimmed name without NUL, got {consumer!r}"
        )
    return _POSITION_PREFIX + consumer


class FeedJobs(ServiceCore):
    @retried
    def events_since(self, position: int = 0, *, limit: int = 1000) -> list[FeedEntry]:
        """Up to ``limit`` events (1 to 10,000) after ``position`` (0: from the first), in
        the order of the feed, each with its position. Keep the last position you handled
        and pass it next time: an event committed later always comes after it."""
        if position < 0:
            raise InvalidValueError("position", f"must be >= 0, got {position}")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidValueError("limit", f"must be from 1 to {MAX_PAGE}, got {limit}")
        with self.store.unit_of_work() as uow:
            return uow.events.since(position, limit)

    @retried
    def feed_position(self, consumer: str) -> int:
        """The position ``consumer`` saved last (0 if it never saved one)."""
        key = position_key(consumer)
        with self.store.unit_of_work() as uow:
            stored = uow.settings.get(key)
        return 0 if stored is None else int(stored)

    @retried
    def save_feed_position(self, consumer: str, position: int) -> int:
        """Record that ``consumer`` has handled everything up to ``position``; returns the
        position now stored. A position never goes back: saving one below the stored
        position keeps the stored one (two copies of a consumer, or a late retry, cannot
        make it read again from further back)."""
        if position < 0:
            raise InvalidValueError("position", f"must be >= 0, got {position}")
        key = position_key(consumer)
        with self.store.unit_of_work() as uow:
            stored = uow.settings.get(key)
            kept = max(position, 0 if stored is None else int(stored))
            if stored is None or kept != int(stored):
                uow.settings.set(key, str(kept))
            uow.commit()
        return kept
