"""Small, exact values to build store tests from: customers, schedules, review items and
events at a fixed instant in a zone eight hours from UTC, so that a store that loses an
offset fails on them. The store conformance suite (:mod:`poolkit.testing.conformance`) is
written with them, and a store's own tests can use them too::

    from poolkit.testing.builders import DAY, T0, drop_at, private

    with store.unit_of_work() as uow:
        uow.customers.add(private("c1", owner_id="li"), drop_at(T0 + 15 * DAY))
        uow.commit()

A customer is version 1, in pool ``north``, created at :data:`T0`, unless told otherwise;
``**changes`` sets any other field, as :func:`attrs.evolve` would, and is validated the
same way.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from poolkit.model import events as ev
from poolkit.model.customer import Customer, CustomerStatus, IdentityKey
from poolkit.model.events import Event, FollowUpKind
from poolkit.model.review import ReviewItem
from poolkit.model.schedule import Schedule

__all__ = [
    "DAY",
    "NEW_YORK",
    "NO_SCHEDULE",
    "SECOND",
    "SHANGHAI",
    "T0",
    "claimed",
    "drop_at",
    "followed_up",
    "named",
    "one_of_each_event",
    "private",
    "public",
    "review",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
"""The zone of :data:`T0`: UTC+8 all year."""
NEW_YORK = ZoneInfo("America/New_York")
"""A second zone, with DST, to write the same instant another way."""
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=SHANGHAI)
"""The instant every builder starts from: 1 March 2026, 09:00 in Shanghai."""
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


def private(customer_id: str, owner_id: str = "alice", **changes: Any) -> Customer:
    """A customer in ``owner_id``'s private pool since :data:`T0`, created by them."""
    base = Customer(
        id=customer_id,
        name=f"Customer {customer_id}",
        pool_id="north",
        created_at=T0,
        status=CustomerStatus.PRIVATE,
        owner_id=owner_id,
        owned_since=T0,
        creator_id=owner_id,
        version=1,
    )
    return attrs.evolve(base, **changes)


def public(customer_id: str, pool_id: str = "north", **changes: Any) -> Customer:
    """A customer in public pool ``pool_id`` since :data:`T0`, owned by nobody."""
    base = Customer(
        id=customer_id,
        name=f"Customer {customer_id}",
        pool_id=pool_id,
        created_at=T0,
        status=CustomerStatus.PUBLIC,
        public_since=T0,
        version=1,
    )
    return attrs.evolve(base, **changes)


def drop_at(at: datetime | None, warn: datetime | None = None) -> Schedule:
    """A schedule that drops at ``at`` and warns at ``warn``."""
    return Schedule(drop_at=at, warn_at=warn)


NO_SCHEDULE = Schedule()
"""The schedule of a customer no rule will drop (public, frozen, locked)."""


def named(customer_id: str, name: str, **changes: Any) -> Customer:
    """A public customer called ``name``."""
    return public(customer_id, name=name, **changes)


def review(
    review_id: str, customer_id: str, similar_id: str, created_at: datetime = T0, **changes: Any
) -> ReviewItem:
    """An open review item: ``customer_id`` looks like ``similar_id``."""
    item = ReviewItem(
        id=review_id,
        customer_id=customer_id,
        similar_id=similar_id,
        score=90.0,
        created_at=created_at,
    )
    return attrs.evolve(item, **changes)


def claimed(customer_id: str, seq: int, at: datetime, rep_id: str = "alice") -> ev.Claimed:
    """The ``seq``-th event of ``customer_id``: ``rep_id`` claimed it from ``north`` at ``at``."""
    return ev.Claimed(
        customer_id=customer_id, seq=seq, at=at, actor_id=rep_id, rep_id=rep_id, pool_id="north"
    )


def followed_up(customer_id: str, seq: int, at: datetime = T0) -> ev.FollowedUp:
    """The ``seq``-th event of ``customer_id``: alice called it at ``at``."""
    return ev.FollowedUp(
        customer_id=customer_id, seq=seq, at=at, actor_id="alice", method=FollowUpKind.CALL
    )


def one_of_each_event(customer_id: str) -> list[Event]:
    """A history holding every kind of event, each with every field set."""
    at = T0
    keys = frozenset({IdentityKey("phone", "+8613800138000"), IdentityKey("uscc", "91X")})

    def common(seq: int) -> dict[str, Any]:
        return {"customer_id": customer_id, "seq": seq, "at": at + seq * DAY, "actor_id": "boss"}

    return [
        ev.Created(
            **common(1),
            name="Acme",
            pool_id="north",
            owner_id="alice",
            keys=keys,
            grade="B",
            tags=frozenset({"fair", "vip"}),
            attributes={"city": "Hangzhou", "staff": 40, "score": 0.5, "export": True},
        ),
        ev.FollowedUp(**common(2), method=FollowUpKind.VISIT, note="met the buyer"),
        ev.Warned(**common(3), rep_id="alice", rule="stale-15", due_at=T0 + 20 * DAY, reason="r"),
        ev.Dropped(
            **common(4),
            rep_id="alice",
            code="drop.no_follow_up",
            rule="stale-15",
            due_at=T0 + 4 * DAY,
            reason="no follow-up",
        ),
        ev.Claimed(**common(5), rep_id="bob", pool_id="north"),
        ev.Transferred(**common(6), from_rep_id="bob", to_rep_id="carol"),
        ev.Reassigned(**common(7), from_rep_id="carol", to_rep_id="alice", reason="contest"),
        ev.Returned(**common(8), rep_id="alice", reason="not interested"),
        ev.Assigned(**common(9), rep_id="bob", pool_id="north"),
        ev.Recycled(**common(10), rep_id="bob", reason="idle"),
        ev.PoolChanged(**common(11), from_pool_id="north", to_pool_id="south"),
        ev.LockChanged(**common(12), locked=True),
        ev.GradeChanged(**common(13), old="B", new=None),
        ev.Edited(
            **common(14),
            name="Acme Ltd",
            keys=keys,
            tags=frozenset({"fair"}),
            attributes={"city": "Ningbo"},
        ),
        ev.Frozen(**common(15), from_rep_id=None, reason="one-year contract"),
        ev.Restored(**common(16), pool_id="south"),
        ev.Merged(
            **common(17),
            absorbed_id="c9",
            owner_id="bob",
            owned_since=at + DAY,
            keys=keys,
            tags=frozenset({"fair", "vip"}),
            attributes={"city": "Ningbo", "staff": 41},
            related_reps={"alice": at + 2 * DAY},
            grade="A",
            last_follow_up_at=at + 3 * DAY,
            last_deal_at=at + 4 * DAY,
        ),
        ev.MergedInto(**common(18), into_id="c8"),
        ev.Deleted(**common(19), reason="duplicate"),
    ]
