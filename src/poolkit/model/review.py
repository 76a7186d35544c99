"""The review list: pairs of customers that look alike and wait for an admin's verdict.

A name close to another (but not equal, and with no shared identity key) does not refuse a
create: it files a :class:`ReviewItem`. An admin works through the open items and marks
each "not the same" or merges the two customers.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from poolkit.errors import InvalidValueError
from poolkit.model._checks import aware, enum_of, identifier, optional_aware, optional_identifier


class ReviewStatus(enum.Enum):
    OPEN = "open"
    NOT_SAME = "not_same"  # an admin decided they are different customers
    MERGED = "merged"  # an admin merged them into one
    CLOSED = "closed"  # moot: one of the two was deleted, or the pair is already filed


def _status(value: Any) -> ReviewStatus:
    return enum_of(ReviewStatus, "status")(value)


def _score(_: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise InvalidValueError("score", f"must be a number from 0 to 100, got {value!r}")


@attrs.frozen
class ReviewItem:
    """``customer_id`` (the newer customer) looks like ``similar_id`` with ``score`` (0-100)."""

    id: str = attrs.field(validator=identifier)
    customer_id: str = attrs.field(validator=identifier)
    similar_id: str = attrs.field(validator=identifier)
    score: float = attrs.field(validator=_score)
    created_at: datetime = attrs.field(validator=aware)
    status: ReviewStatus = attrs.field(default=ReviewStatus.OPEN, converter=_status)
    resolved_by: str | None = attrs.field(default=None, validator=optional_identifier)
    resolved_at: datetime | None = attrs.field(default=None, validator=optional_aware)

    def __attrs_post_init__(self) -> None:
        if self.customer_id == self.similar_id:
            raise InvalidValueError("similar_id", "a customer cannot be reviewed against itself")
        resolved = self.status is not ReviewStatus.OPEN
        if resolved != (self.resolved_at is not None):
            raise InvalidValueError("resolved_at", "set exactly when the item is resolved")

    def involves(self, customer_id: str) -> bool:
        return customer_id in (self.customer_id, self.similar_id)


@attrs.frozen
class SimilarMatch:
    """A stored customer whose name looks like another's, with the score (0-100)."""

    customer_id: str
    name: str
    score: float
