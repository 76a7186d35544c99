"""The history of a customer: one event per change, in order.

Every change the service makes is first decided as an event and then applied with
:func:`poolkit.model.history.apply`, so a customer's state is always the fold of its
events, and replaying the log rebuilds it exactly.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import attrs

from poolkit.model._checks import (
    at_least_one,
    aware,
    enum_member,
    frozen_map,
    identifier,
    of_type,
    optional_aware,
    optional_identifier,
)
from poolkit.model.customer import (
    AttributeValue,
    IdentityKey,
    _tags,
    attribute_values,
    to_identity_keys,
)


class FollowUpKind(enum.Enum):
    """What a follow-up (跟进) was. A deal is a follow-up that also records a deal."""

    CALL = "call"
    VISIT = "visit"
    EMAIL = "email"
    MEETING = "meeting"
    MESSAGE = "message"
    DEAL = "deal"


@attrs.frozen(kw_only=True)
class Event:
    """Common to every event: whose history, its position in it, when, and by whom.

    ``seq`` is the customer's version after the event (the creation is 1); ``actor_id`` is
    the rep who acted, or None when the system did (a sweep).
    """

    kind: ClassVar[str] = "event"

    customer_id: str = attrs.field(validator=identifier)
    seq: int = attrs.field(validator=at_least_one)
    at: datetime = attrs.field(validator=aware)
    actor_id: str | None = attrs.field(default=None, validator=optional_identifier)

    def describe(self) -> str:
        """One line a person understands."""
        return self.kind.replace("_", " ")


@attrs.frozen(kw_only=True)
class Created(Event):
    kind: ClassVar[str] = "created"

    name: str = attrs.field(validator=identifier)
    pool_id: str = attrs.field(validator=identifier)
    owner_id: str | None = attrs.field(default=None, validator=optional_identifier)
    keys: frozenset[IdentityKey] = attrs.field(default=frozenset(), converter=to_identity_keys)
    grade: str | None = None
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)
    attributes: Mapping[str, AttributeValue] = attrs.field(
        factory=dict, converter=frozen_map, validator=attribute_values, hash=False
    )
    external_id: str | None = attrs.field(default=None, validator=optional_identifier)

    def describe(self) -> str:
        where = f"private pool of {self.owner_id}" if self.owner_id else f"pool {self.pool_id}"
        return f"created by {self.actor_id} into the {where}"


def _method(value: Any) -> FollowUpKind:
    return enum_member(FollowUpKind, "method", value)


@attrs.frozen(kw_only=True)
class FollowedUp(Event):
    kind: ClassVar[str] = "followed_up"

    method: FollowUpKind = attrs.field(converter=_method)
    note: str = attrs.field(default="", validator=of_type(str))

    def describe(self) -> str:
        text = f"{self.method.value} by {self.actor_id}"
        return f"{text}: {self.note}" if self.note else text


@attrs.frozen(kw_only=True)
class Claimed(Event):
    kind: ClassVar[str] = "claimed"

    rep_id: str = attrs.field(validator=identifier)
    pool_id: str = attrs.field(validator=identifier)

    def describe(self) -> str:
        return f"claimed by {self.rep_id} from pool {self.pool_id}"


@attrs.frozen(kw_only=True)
class Assigned(Event):
    kind: ClassVar[str] = "assigned"

    rep_id: str = attrs.field(validator=identifier)
    pool_id: str = attrs.field(validator=identifier)
    # Why this rep, for an automatic assignment ("round robin: next after li"); empty
    # for one made by hand, and in events stored before reasons were kept.
    reason: str = attrs.field(default="", validator=of_type(str))

    def describe(self) -> str:
        by = self.actor_id or "the system"
        text = f"assigned to {self.rep_id} from pool {self.pool_id} by {by}"
        return f"{text} ({self.reason})" if self.reason else text


@attrs.frozen(kw_only=True)
class Returned(Event):
    kind: ClassVar[str] = "returned"

    rep_id: str = attrs.field(validator=identifier)
    reason: str = attrs.field(validator=identifier)

    def describe(self) -> str:
        return f"returned to the public pool by {self.rep_id}: {self.reason}"


@attrs.frozen(kw_only=True)
class Recycled(Event):
    kind: ClassVar[str] = "recycled"

    rep_id: str = attrs.field(validator=identifier)
    reason: str = attrs.field(default="", validator=of_type(str))

    def describe(self) -> str:
        text = f"recycled from {self.rep_id} by {self.actor_id}"
        return f"{text}: {self.reason}" if self.reason else text


@attrs.frozen(kw_only=True)
class Dropped(Event):
    """Released by the system: a drop rule fired, or the owner departed."""

    kind: ClassVar[str] = "dropped"

    rep_id: str = attrs.field(validator=identifier)
    code: str = attrs.field(validator=identifier)
    rule: str | None = None
    due_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    reason: str = attrs.field(default="", validator=of_type(str))

    def describe(self) -> str:
        return f"dropped from {self.rep_id}: {self.reason}"


@attrs.frozen(kw_only=True)
class Transferred(Event):
    kind: ClassVar[str] = "transferred"

    from_rep_id: str = attrs.field(validator=identifier)
    to_rep_id: str = attrs.field(validator=identifier)

    def describe(self) -> str:
        return f"transferred from {self.from_rep_id} to {self.to_rep_id}"


@attrs.frozen(kw_only=True)
class Reassigned(Event):
    kind: ClassVar[str] = "reassigned"

    from_rep_id: str = attrs.field(validator=identifier)
    to_rep_id: str = attrs.field(validator=identifier)
    reason: str = attrs.field(default="", validator=of_type(str))

    def describe(self) -> str:
        text = f"reassigned from {self.from_rep_id} to {self.to_rep_id} by {self.actor_id}"
        return f"{text}: {self.reason}" if self.reason else text


@attrs.frozen(kw_only=True)
class PoolChanged(Event):
    kind: ClassVar[str] = "pool_changed"

    from_pool_id: str = attrs.field(validator=identifier)
    to_pool_id: str = attrs.field(validator=identifier)

    def describe(self) -> str:
        return f"moved from pool {self.from_pool_id} to pool {self.to_pool_id}"


@attrs.frozen(kw_only=True)
class Frozen(Event):
    kind: ClassVar[str] = "frozen"

    from_rep_id: str | None = attrs.field(default=None, validator=optional_identifier)
    reason: str = attrs.field(default="", validator=of_type(str))

    def describe(self) -> str:
        text = f"frozen into the recycle bin by {self.actor_id}"
        return f"{text}: {self.reason}" if self.reason else text


@attrs.frozen(kw_only=True)
class Restored(Event):
    kind: ClassVar[str] = "restored"

    pool_id: str = attrs.field(validator=identifier)

    def describe(self) -> str:
        return f"restored from the recycle bin into pool {self.pool_id}"


@attrs.frozen(kw_only=True)
class Deleted(Event):
    kind: ClassVar[str] = "deleted"

    reason: str = attrs.field(default="", validator=of_type(str))

    def describe(self) -> str:
        return f"deleted for good by {self.actor_id}"


@attrs.frozen(kw_only=True)
class LockChanged(Event):
    """The drop-exempt lock was set or lifted: a locked customer never drops."""

    kind: ClassVar[str] = "lock_changed"

    locked: bool

    def describe(self) -> str:
        return ("locked against drops" if self.locked else "unlocked") + f" by {self.actor_id}"


@attrs.frozen(kw_only=True)
class GradeChanged(Event):
    kind: ClassVar[str] = "grade_changed"

    old: str | None
    new: str | None

    def describe(self) -> str:
        return f"grade {self.old or '-'} -> {self.new or '-'}"


@attrs.frozen(kw_only=True)
class Edited(Event):
    """Name, keys, tags or attributes changed; the fields hold the new values."""

    kind: ClassVar[str] = "edited"

    name: str = attrs.field(validator=identifier)
    keys: frozenset[IdentityKey] = attrs.field(converter=to_identity_keys)
    tags: frozenset[str] = attrs.field(converter=_tags)
    attributes: Mapping[str, AttributeValue] = attrs.field(
        converter=frozen_map, validator=attribute_values, hash=False
    )

    def describe(self) -> str:
        return f"details edited by {self.actor_id}"


@attrs.frozen(kw_only=True)
class Warned(Event):
    """The owner was warned that the customer will drop (移入公海预警)."""

    kind: ClassVar[str] = "warned"

    rep_id: str = attrs.field(validator=identifier)
    rule: str = attrs.field(validator=identifier)
    due_at: datetime = attrs.field(validator=aware)
    reason: str = attrs.field(default="", validator=of_type(str))

    def describe(self) -> str:
        return f"{self.rep_id} warned: {self.reason}"


@attrs.frozen(kw_only=True)
class Merged(Event):
    """Another customer (``absorbed_id``) was merged into this one. The fields hold this
    customer's values after the merge: keys, tags and related reps united, the later of the
    follow-up and deal times, and the owner decided by the merge rule."""

    kind: ClassVar[str] = "merged"

    absorbed_id: str = attrs.field(validator=identifier)
    owner_id: str | None = attrs.field(default=None, validator=optional_identifier)
    owned_since: datetime | None = attrs.field(default=None, validator=optional_aware)
    keys: frozenset[IdentityKey] = attrs.field(converter=to_identity_keys)
    tags: frozenset[str] = attrs.field(converter=_tags)
    attributes: Mapping[str, AttributeValue] = attrs.field(
        converter=frozen_map, validator=attribute_values, hash=False
    )
    related_reps: Mapping[str, datetime] = attrs.field(converter=frozen_map, hash=False)
    grade: str | None = None
    last_follow_up_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    last_deal_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    # The later follow-up of each kind; absent from merges recorded before poolkit kept
    # follow-ups per kind (the kept customer's own then stand).
    last_follow_up_by_kind: Mapping[str, datetime] = attrs.field(
        factory=dict, converter=frozen_map, hash=False
    )

    def describe(self) -> str:
        return f"customer {self.absorbed_id} merged into this one by {self.actor_id}"


@attrs.frozen(kw_only=True)
class MergedInto(Event):
    """This customer was merged into ``into_id`` and lives on there; its history stays."""

    kind: ClassVar[str] = "merged_into"

    into_id: str = attrs.field(validator=identifier)

    def describe(self) -> str:
        return f"merged into customer {self.into_id} by {self.actor_id}"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        Created,
        FollowedUp,
        Claimed,
        Assigned,
        Returned,
        Recycled,
        Dropped,
        Transferred,
        Reassigned,
        PoolChanged,
        Frozen,
        Restored,
        Deleted,
        LockChanged,
        GradeChanged,
        Edited,
        Warned,
        Merged,
        MergedInto,
    )
}


def event_payload(event: Event) -> dict[str, Any]:
    """The fields particular to this kind of event (not customer_id, seq, at, actor_id)."""
    common = {"customer_id", "seq", "at", "actor_id"}
    return {
        f.name: getattr(event, f.name) for f in attrs.fields(type(event)) if f.name not in common
    }
