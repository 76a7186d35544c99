"""The change feed: every event of every customer in one global order.

Each event a store keeps gets a *position* when its unit of work commits: an integer,
strictly increasing in the order the events became visible. A reader that remembers the
last position it handled and asks for what follows gets every event at least once, in
order, however many writers commit side by side (see docs/concurrency.md).
"""

from __future__ import annotations

import attrs

from poolkit.model._checks import at_least_one, of_type
from poolkit.model.events import Event


@attrs.frozen
class FeedEntry:
    """One event of the feed and its position (1 or more; positions may skip numbers, a
    rolled-back write's for instance, but never go back)."""

    position: int = attrs.field(validator=at_least_one)
    event: Event = attrs.field(validator=of_type(Event))


__all__ = ["FeedEntry"]
