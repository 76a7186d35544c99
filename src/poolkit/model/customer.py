"""Customers and where they are: a rep's private pool, a public pool, or the recycle bin."""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from poolkit.clock import require_aware
from poolkit.errors import InvalidValueError
from poolkit.model._checks import (
    MAX_INT,
    MIN_INT,
    aware,
    enum_member,
    frozen_map,
    identifier,
    is_text,
    non_negative_int,
    of_type,
    optional_aware,
    optional_identifier,
    require_text,
)

AttributeValue = str | int | float | bool


class CustomerStatus(enum.Enum):
    PRIVATE = "private"  # 私海: owned by one rep
    PUBLIC = "public"  # 公海: in a public pool, owned by nobody
    FROZEN = "frozen"  # 回收站: in the recycle bin, nobody may claim or edit it


@attrs.frozen(order=True)
class IdentityKey:
    """One unique key of a customer: a mobile phone, a credit code, an email...

    ``kind`` names the key ("phone", "uscc", ...); ``value`` is compared exactly as stored.
    """

    kind: str = attrs.field(validator=identifier)
    value: str = attrs.field(validator=identifier)

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def to_identity_keys(values: Any) -> frozenset[IdentityKey]:
    """Keys given as IdentityKey values, (kind, value) pairs or a {kind: value} mapping."""
    if type(values) is frozenset and all(type(key) is IdentityKey for key in values):
        return values  # already what it would become, as when a customer is evolved
    if isinstance(values, Mapping):
        return frozenset(IdentityKey(str(k), str(v)) for k, v in values.items())
    out = []
    for item in values:
        if isinstance(item, IdentityKey):
            out.append(item)
        elif isinstance(item, tuple) and len(item) == 2:
            out.append(IdentityKey(item[0], item[1]))
        else:
            raise InvalidValueError("keys", f"expected IdentityKey or (kind, value), got {item!r}")
    return frozenset(out)


def _tags(values: Any) -> frozenset[str]:
    if isinstance(values, str):
        raise InvalidValueError("tags", f"expected a collection of tags, got the string {values!r}")
    tags = values if type(values) is frozenset else frozenset(values)
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or not is_text(tag):
            raise InvalidValueError("tags", f"bad tag {tag!r}")
    return tags


def attribute_values(_: Any, attribute: Any, value: Mapping[str, Any]) -> None:
    """Validator of a customer's attributes: named by non-empty strings, each a string, a
    boolean or a number: a finite float (NaN and infinity have no JSON form, and NaN is not
    even equal to itself) or an integer that fits in 64 bits (what stores keep exactly)."""
    for key, item in value.items():
        # The common cases first, by exact type: every decoded customer passes here.
        kind = type(item)
        if (
            type(key) is str
            and key
            and key.isascii()
            and (
                (kind is str and item.isascii())
                or kind is bool
                or (kind is int and MIN_INT <= item <= MAX_INT)
                or (kind is float and math.isfinite(item))
            )
        ):
            continue
        if not isinstance(key, str) or not key or not is_text(key):
            raise InvalidValueError("attributes", f"bad attribute name {key!r}")
        if isinstance(item, str):
            require_text(f"attributes.{key}", item)
        if not isinstance(item, str | int | float | bool):
            raise InvalidValueError(
                f"attributes.{key}", f"must be a string, number or boolean, got {item!r}"
            )
        if isinstance(item, float) and not math.isfinite(item):
            raise InvalidValueError(f"attributes.{key}", f"must be a finite number, got {item!r}")
        if isinstance(item, int) and not MIN_INT <= item <= MAX_INT:
            raise InvalidValueError(
                f"attributes.{key}", f"must be an integer from {MIN_INT} to {MAX_INT}, got {item}"
            )


def _related(_: Any, attribute: Any, value: Mapping[str, datetime]) -> None:
    for rep_id, since in value.items():
        if not isinstance(rep_id, str) or not rep_id or not is_text(rep_id):
            raise InvalidValueError("related_reps", f"bad rep id {rep_id!r}")
        require_aware(since, f"related_reps.{rep_id}")


@functools.cache
def _follow_up_kinds() -> frozenset[str]:
    """Worked out once: every customer made or decoded checks its follow-up kinds."""
    from poolkit.model.events import FollowUpKind  # events builds on this module

    return frozenset(kind.value for kind in FollowUpKind)


def _follow_ups(_: Any, attribute: Any, value: Mapping[str, datetime]) -> None:
    kinds = _follow_up_kinds()
    for kind, at in value.items():
        if kind not in kinds:
            raise InvalidValueError("last_follow_up_by_kind", f"not a follow-up kind: {kind!r}")
        require_aware(at, f"last_follow_up_by_kind.{kind}")


def _grade(_: Any, attribute: Any, value: str | None) -> None:
    if value is not None and (
        not isinstance(value, str) or not value.strip() or not is_text(value)
    ):
        raise InvalidValueError("grade", f"must be a non-empty label or None, got {value!r}")


def _status(value: Any) -> CustomerStatus:
    return enum_member(CustomerStatus, "status", value)


@attrs.frozen
class Customer:
    """A customer and everything the pool rules need to know about it.

    Where it is: ``status`` with ``owner_id`` (set exactly when private) and ``pool_id``,
    its public pool (the one it is in when public, returns to when released, and is
    restored to from the recycle bin). ``related_reps`` maps each former owner to when it
    last left them (they keep read access; a claim-back cooldown runs from that time).
    ``last_follow_up_by_kind`` maps each :class:`~poolkit.model.events.FollowUpKind` value
    ("visit", "call"...) to the last follow-up of that kind, for drop rules that count only
    some kinds; empty for a customer whose follow-ups were all recorded before poolkit kept
    it (then their kind is unknown, see :func:`poolkit.policy.rules.follow_up_anchor`).
    ``version`` counts the events in its history; a write based on an older version is
    refused.
    """

    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(validator=identifier)
    pool_id: str = attrs.field(validator=identifier)
    created_at: datetime = attrs.field(validator=aware)
    status: CustomerStatus = attrs.field(default=CustomerStatus.PUBLIC, converter=_status)
    owner_id: str | None = attrs.field(default=None, validator=optional_identifier)
    keys: frozenset[IdentityKey] = attrs.field(default=frozenset(), converter=to_identity_keys)
    grade: str | None = attrs.field(default=None, validator=_grade)
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)
    attributes: Mapping[str, AttributeValue] = attrs.field(
        factory=dict, converter=frozen_map, validator=attribute_values, eq=True, hash=False
    )
    related_reps: Mapping[str, datetime] = attrs.field(
        factory=dict, converter=frozen_map, validator=_related, hash=False
    )
    creator_id: str | None = attrs.field(default=None, validator=optional_identifier)
    owned_since: datetime | None = attrs.field(default=None, validator=optional_aware)
    public_since: datetime | None = attrs.field(default=None, validator=optional_aware)
    last_follow_up_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    last_follow_up_by_kind: Mapping[str, datetime] = attrs.field(
        factory=dict, converter=frozen_map, validator=_follow_ups, hash=False
    )
    last_deal_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    locked: bool = attrs.field(default=False, validator=of_type(bool))
    warned_due_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    version: int = attrs.field(default=0, validator=non_negative_int)
    # The customer's id in the system it was imported from (another CRM, a spreadsheet):
    # an import run again skips the rows whose external id is stored.
    external_id: str | None = attrs.field(default=None, validator=optional_identifier)

    def __attrs_post_init__(self) -> None:
        private = self.status is CustomerStatus.PRIVATE
        if private != (self.owner_id is not None):
            raise InvalidValueError(
                "owner_id", "a customer has an owner exactly when it is in a private pool"
            )
        if private != (self.owned_since is not None):
            raise InvalidValueError(
                "owned_since", "owned_since is set exactly when the customer is private"
            )

    @property
    def is_private(self) -> bool:
        return self.status is CustomerStatus.PRIVATE

    @property
    def is_public(self) -> bool:
        return self.status is CustomerStatus.PUBLIC

    @property
    def is_frozen(self) -> bool:
        return self.status is CustomerStatus.FROZEN

    @property
    def where(self) -> str:
        """Where the customer is, in words: "owned by alice", "in pool north", or
        "in the recycle bin"."""
        if self.owner_id is not None:
            return f"owned by {self.owner_id}"
        if self.is_frozen:
            return "in the recycle bin"
        return f"in pool {self.pool_id}"

    def keys_of(self, kind: str) -> frozenset[str]:
        return frozenset(key.value for key in self.keys if key.kind == kind)
