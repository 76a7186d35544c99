"""How an event changes a customer, and how a history rebuilds one.

The service computes every new state with :func:`apply`, the same function a replay uses,
so the stored state and the state rebuilt from the log can only differ if a store lost or
reordered something, which is exactly what the replay check is there to catch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import attrs

from poolkit.errors import InvalidValueError
from poolkit.model import events as ev
from poolkit.model.customer import Customer, CustomerStatus
from poolkit.model.events import Event, FollowUpKind

_FIELDS = {field.name: field for field in attrs.fields(Customer)}
_CONVERTERS: dict[str, Callable[[Any], Any]] = {}
for _field in _FIELDS.values():
    if (
        not _field.init
        or _field.alias != _field.name
        or isinstance(_field.converter, attrs.Converter)
    ):
        raise ImportError("history._evolved does not know how to build this Customer")
    if _field.converter is not None:
        _CONVERTERS[_field.name] = _field.converter


def _evolved(customer: Customer, changes: dict[str, Any]) -> Customer:
    """``attrs.evolve(customer, **changes)``, checking only what changes.

    The fields kept were checked when ``customer`` was made; the changed ones get their
    converters and validators as :meth:`Customer.__init__` gives them (every converter as
    it is set, then every validator), then the checks across fields. A sweep evolves
    thousands of customers, and checking all twenty fields again was most of the cost.
    """
    new: Customer = object.__new__(Customer)
    put = object.__setattr__  # past the frozen class's own __setattr__, as its __init__
    for name in _FIELDS:
        put(new, name, getattr(customer, name))
    for name, value in changes.items():
        converter = _CONVERTERS.get(name)
        put(new, name, value if converter is None else converter(value))
    for name in changes:
        field = _FIELDS[name]
        if field.validator is not None:
            field.validator(new, field, getattr(new, name))
    new.__attrs_post_init__()
    return new


def _take(customer: Customer, rep_id: str, at: datetime) -> dict[str, Any]:
    # The owner is never also a related rep (as after a transfer): claiming back a lost
    # customer ends the rep's related status; losing it again starts a new one.
    related = dict(customer.related_reps)
    related.pop(rep_id, None)
    return {
        "status": CustomerStatus.PRIVATE,
        "owner_id": rep_id,
        "owned_since": at,
        "public_since": None,
        "related_reps": related,
        "warned_due_at": None,
    }


def _release(customer: Customer, at: datetime, status: CustomerStatus) -> dict[str, Any]:
    """The owner becomes empty and a related rep; grade, tags and history stay.

    A drop-exempt lock is lifted: it exempted this owner's relationship (a long contract),
    and kept on, it would let whoever claims the customer next hold it forever.
    """
    related = dict(customer.related_reps)
    if customer.owner_id is not None:
        related[customer.owner_id] = at
    return {
        "status": status,
        "owner_id": None,
        "owned_since": None,
        "public_since": at if status is CustomerStatus.PUBLIC else customer.public_since,
        "related_reps": related,
        "warned_due_at": None,
        "locked": False,
    }


def _hand_over(customer: Customer, to_rep_id: str, at: datetime) -> dict[str, Any]:
    related = dict(customer.related_reps)
    if customer.owner_id is not None:
        related[customer.owner_id] = at
    related.pop(to_rep_id, None)
    return {
        "owner_id": to_rep_id,
        "owned_since": at,
        "related_reps": related,
        "warned_due_at": None,
    }


def apply(customer: Customer | None, event: Event) -> Customer | None:
    """The customer after ``event``; None once it is deleted.

    Refuses an event out of sequence, so a gap or a reordering in a log cannot go unnoticed.
    """
    if isinstance(event, ev.Created):
        if customer is not None:
            raise InvalidValueError("event", f"customer {event.customer_id} already exists")
        if event.seq != 1:
            raise InvalidValueError("event.seq", "a history starts with seq 1")
        return Customer(
            id=event.customer_id,
            name=event.name,
            pool_id=event.pool_id,
            created_at=event.at,
            status=CustomerStatus.PRIVATE if event.owner_id else CustomerStatus.PUBLIC,
            owner_id=event.owner_id,
            owned_since=event.at if event.owner_id else None,
            public_since=None if event.owner_id else event.at,
            keys=event.keys,
            grade=event.grade,
            tags=event.tags,
            attributes=event.attributes,
            creator_id=event.actor_id,
            version=1,
            external_id=event.external_id,
        )
    if customer is None:
        raise InvalidValueError("event", f"customer {event.customer_id} does not exist")
    if event.customer_id != customer.id or event.seq != customer.version + 1:
        raise InvalidValueError(
            "event.seq",
            f"event {event.seq} of {event.customer_id} does not follow version "
            f"{customer.version} of {customer.id}",
        )
    at = event.at
    # One evolve per event: each case names the fields it changes.
    changes: dict[str, Any]
    match event:
        case ev.FollowedUp():
            changes = {
                "last_follow_up_at": at,
                "last_follow_up_by_kind": {
                    **_kinds_known(customer),
                    event.method.value: at,
                },
            }
            if event.method is FollowUpKind.DEAL:
                changes["last_deal_at"] = at
        case ev.Claimed() | ev.Assigned():
            changes = _take(customer, event.rep_id, at)
        case ev.Returned() | ev.Recycled() | ev.Dropped():
            changes = _release(customer, at, CustomerStatus.PUBLIC)
        case ev.Transferred() | ev.Reassigned():
            changes = _hand_over(customer, event.to_rep_id, at)
        case ev.PoolChanged():
            changes = {"pool_id": event.to_pool_id}
        case ev.Frozen():
            changes = _release(customer, at, CustomerStatus.FROZEN)
        case ev.Restored():
            changes = {
                "status": CustomerStatus.PUBLIC,
                "pool_id": event.pool_id,
                "public_since": at,
            }
        case ev.Deleted() | ev.MergedInto():
            return None
        case ev.Merged():
            private = event.owner_id is not None
            changes = {
                "status": CustomerStatus.PRIVATE if private else customer.status,
                "owner_id": event.owner_id,
                "owned_since": event.owned_since,
                "public_since": None if private else customer.public_since,
                "keys": event.keys,
                "tags": event.tags,
                "attributes": event.attributes,
                "related_reps": event.related_reps,
                "grade": event.grade,
                "last_follow_up_at": event.last_follow_up_at,
                "last_follow_up_by_kind": (
                    event.last_follow_up_by_kind or customer.last_follow_up_by_kind
                ),
                "last_deal_at": event.last_deal_at,
                "warned_due_at": None,
            }
        case ev.LockChanged():
            changes = {"locked": event.locked}
        case ev.GradeChanged():
            changes = {"grade": event.new}
        case ev.Edited():
            changes = {
                "name": event.name,
                "keys": event.keys,
                "tags": event.tags,
                "attributes": event.attributes,
            }
        case ev.Warned():
            changes = {"warned_due_at": event.due_at}
        case _:
            raise InvalidValueError("event", f"unknown event {type(event).__name__}")
    changes["version"] = event.seq
    return _evolved(customer, changes)


def replay(events: Iterable[Event]) -> Customer | None:
    """Rebuild a customer from its whole history, in order."""
    customer: Customer | None = None
    for event in events:
        customer = apply(customer, event)
    return customer


def _kinds_known(customer: Customer) -> dict[str, datetime]:
    """The customer's last follow-up per kind, as the drop rules count them.

    A follow-up recorded before poolkit kept them per kind (``last_follow_up_at`` with no
    ``last_follow_up_by_kind``) counts for every rule (:func:`poolkit.policy.rules.
    follow_up_anchor`). Once a follow-up of a known kind arrives, the map is no longer
    empty, so that old follow-up is written in for every kind: otherwise a visit would
    make a call-only rule forget it and drop the customer earlier than before.
    """
    if customer.last_follow_up_by_kind or customer.last_follow_up_at is None:
        return dict(customer.last_follow_up_by_kind)
    return dict.fromkeys((kind.value for kind in FollowUpKind), customer.last_follow_up_at)
