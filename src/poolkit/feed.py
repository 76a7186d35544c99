"""Following the change feed from a worker: :class:`FeedConsumer`.

A consumer has a name; its position (the last entry it handled) is kept in the pool store
itself (``PoolService.save_feed_position``), so it survives restarts and moves with the
data. Each :meth:`FeedConsumer.poll` reads the page after that position, hands every
entry to your function in order, and then saves the position of the last one handled.

The delivery is **at least once**: a process killed after handling entries and before
saving their position handles them again when it restarts, so make the handler
idempotent (key what it does on ``(entry.event.customer_id, entry.event.seq)`` or on
``entry.position``). Nothing is skipped and nothing comes out of order, however many
writers commit side by side. Run one copy of a consumer per name: two copies sharing a
name would each handle the same entries.

A handler that raises stops the page there: the entries before it count as handled, the
failing one is handed over again by the next poll. ::

    from poolkit.feed import FeedConsumer

    def tell_rep(entry):
        ...

    consumer = FeedConsumer(service, "rep-notifications", tell_rep)
    consumer.drain()             # everything so far, page by page
    consumer.run(until=stopping) # a worker's loop: drain, sleep while idle, repeat
"""

from __future__ import annotations

import time
from collections.abc import Callable

from poolkit.errors import InvalidValueError
from poolkit.model.feed import FeedEntry
from poolkit.service import PoolService
from poolkit.service.feed import MAX_PAGE, position_key

__all__ = ["FeedConsumer", "FeedEntry"]

Handler = Callable[[FeedEntry], object]


class FeedConsumer:
    """Hands every entry of the feed after its saved position to ``handle``, in order,
    ``batch`` entries (1 to 10,000) per poll, and saves its position under ``name`` in the
    service's store."""

    def __init__(
        self, service: PoolService, name: str, handle: Handler, *, batch: int = 500
    ) -> None:
        position_key(name)  # a bad name is refused here, not at the first poll
        if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_PAGE:
            raise InvalidValueError(
                "batch", f"must be an integer from 1 to {MAX_PAGE}, got {batch!r}"
            )
        self.service = service
        self.name = name
        self.batch = batch
        self._handle = handle

    @property
    def position(self) -> int:
        """The position saved last: every entry up to it has been handled."""
        return self.service.feed_position(self.name)

    def poll(self) -> int:
        """Handle the next page; how many entries were handled (0: nothing new)."""
        start = self.position
        page = self.service.events_since(start, limit=self.batch)
        done = start
        try:
            for entry in page:
                self._handle(entry)
                done = entry.position
        finally:
            if done != start:
                self.service.save_feed_position(self.name, done)
        return len(page)

    def drain(self) -> int:
        """Poll until the feed has nothing new; how many entries were handled."""
        total = 0
        while True:
            handled = self.poll()
            total += handled
            if handled < self.batch:
                return total

    def run(
        self,
        *,
        until: Callable[[], bool],
        idle_s: float = 1.0,
        sleep: Callable[[float], object] = time.sleep,
    ) -> int:
        """A worker's loop: drain, then sleep ``idle_s`` while nothing is new, until
        ``until()`` is true (checked between polls); how many entries were handled."""
        if not idle_s >= 0:
            raise InvalidValueError("idle_s", f"must be >= 0, got {idle_s!r}")
        total = 0
        while not until():
            handled = self.drain()
            total += handled
            if not handled and not until():
                sleep(idle_s)
        return total
