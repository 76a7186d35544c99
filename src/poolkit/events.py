"""The events of a customer's history: what ``PoolService.history()`` returns.

Every change to a customer is recorded as one of these frozen values, in order; a
customer's state is the fold of its events (:func:`replay`), so the history alone tells
who held it, when and why it moved, and how it was followed up.
Every event also has a position in one global order across customers, the change feed
(:class:`FeedEntry`, ``PoolService.events_since``, :mod:`poolkit.feed`).
``EVENT_TYPES`` maps each event's ``kind`` name to its class, for stores that write events
by name.
"""

from poolkit.model.events import (
    EVENT_TYPES,
    Assigned,
    Claimed,
    Created,
    Deleted,
    Dropped,
    Edited,
    Event,
    FollowedUp,
    FollowUpKind,
    Frozen,
    GradeChanged,
    LockChanged,
    Merged,
    MergedInto,
    PoolChanged,
    Reassigned,
    Recycled,
    Restored,
    Returned,
    Transferred,
    Warned,
)
from poolkit.model.feed import FeedEntry
from poolkit.model.history import apply, replay

__all__ = [
    "EVENT_TYPES",
    "Assigned",
    "Claimed",
    "Created",
    "Deleted",
    "Dropped",
    "Edited",
    "Event",
    "FeedEntry",
    "FollowUpKind",
    "FollowedUp",
    "Frozen",
    "GradeChanged",
    "LockChanged",
    "Merged",
    "MergedInto",
    "PoolChanged",
    "Reassigned",
    "Recycled",
    "Restored",
    "Returned",
    "Transferred",
    "Warned",
    "apply",
    "replay",
]
