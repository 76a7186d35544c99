"""Events one by one, and whole histories that replay."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from poolkit.model import events as ev
from poolkit.model.customer import Customer
from poolkit.model.events import EVENT_TYPES, Event
from poolkit.model.history import apply
from poolkit.testing.strategies._customers import GRADES, attribute_maps, follow_up_kinds
from poolkit.testing.strategies._instants import aware_datetimes, durations, later, utc, zones
from poolkit.testing.strategies._keys import identity_keys
from poolkit.testing.strategies._people import ids


def _event_fields(draw: st.DrawFn, customer_id: str | None) -> dict[str, Any]:
    return {
        "customer_id": customer_id if customer_id is not None else draw(ids("c-")),
        "at": draw(aware_datetimes()),
        "actor_id": draw(st.none() | ids()),
    }


_REP, _POOL = ids(), ids("pool-")
_TEXT = st.sampled_from(("", "no answer", "合同一年"))
_REASON = st.sampled_from(("too busy", "wrong contact", "客户无意向"))
_GRADE = st.none() | st.sampled_from(GRADES)
_TAGS = st.frozensets(st.sampled_from(("hot", "renewal")), max_size=2)

_Payload = Callable[[st.DrawFn], dict[str, Any]]


def _merged_payload(draw: st.DrawFn) -> dict[str, Any]:
    owner = draw(st.none() | _REP)
    return {
        "absorbed_id": draw(ids("c-")),
        "owner_id": owner,
        "owned_since": None if owner is None else draw(aware_datetimes()),
        "keys": draw(st.frozensets(identity_keys(), max_size=3)),
        "tags": draw(_TAGS),
        "attributes": draw(attribute_maps()),
        "related_reps": draw(st.dictionaries(_REP, aware_datetimes(), max_size=2)),
        "grade": draw(_GRADE),
        "last_follow_up_at": draw(st.none() | aware_datetimes()),
        "last_deal_at": draw(st.none() | aware_datetimes()),
    }


# Fields particular to each kind of event, each valid on its own; drawn in this order.
_PAYLOADS: dict[type[Event], _Payload] = {
    ev.Created: lambda draw: {
        "name": draw(st.sampled_from(("Acme", "某某科技"))),
        "pool_id": draw(_POOL),
        "owner_id": draw(st.none() | _REP),
        "keys": draw(st.frozensets(identity_keys(), max_size=3)),
        "grade": draw(_GRADE),
        "tags": draw(_TAGS),
        "attributes": draw(attribute_maps()),
    },
    ev.FollowedUp: lambda draw: {"method": draw(follow_up_kinds()), "note": draw(_TEXT)},
    ev.Claimed: lambda draw: {"rep_id": draw(_REP), "pool_id": draw(_POOL)},
    ev.Assigned: lambda draw: {"rep_id": draw(_REP), "pool_id": draw(_POOL)},
    ev.Returned: lambda draw: {"rep_id": draw(_REP), "reason": draw(_REASON)},
    ev.Recycled: lambda draw: {"rep_id": draw(_REP), "reason": draw(_TEXT)},
    ev.Dropped: lambda draw: {
        "rep_id": draw(_REP),
        "code": draw(st.sampled_from(("drop.no_follow_up", "drop.owner_departed"))),
        "rule": draw(st.none() | ids("rule-")),
        "due_at": draw(st.none() | aware_datetimes()),
        "reason": draw(_TEXT),
    },
    ev.Transferred: lambda draw: {"from_rep_id": draw(_REP), "to_rep_id": draw(_REP)},
    ev.Reassigned: lambda draw: {
        "from_rep_id": draw(_REP),
        "to_rep_id": draw(_REP),
        "reason": draw(_TEXT),
    },
    ev.PoolChanged: lambda draw: {"from_pool_id": draw(_POOL), "to_pool_id": draw(_POOL)},
    ev.Frozen: lambda draw: {"from_rep_id": draw(st.none() | _REP), "reason": draw(_TEXT)},
    ev.Restored: lambda draw: {"pool_id": draw(_POOL)},
    ev.Deleted: lambda draw: {"reason": draw(_TEXT)},
    ev.LockChanged: lambda draw: {"locked": draw(st.booleans())},
    ev.GradeChanged: lambda draw: {"old": draw(_GRADE), "new": draw(_GRADE)},
    ev.Edited: lambda draw: {
        "name": draw(st.sampled_from(("Acme Ltd", "某某科技"))),
        "keys": draw(st.frozensets(identity_keys(), max_size=3)),
        "tags": draw(_TAGS),
        "attributes": draw(attribute_maps()),
    },
    ev.Warned: lambda draw: {
        "rep_id": draw(_REP),
        "rule": draw(ids("rule-")),
        "due_at": draw(aware_datetimes()),
        "reason": draw(_TEXT),
    },
    ev.Merged: _merged_payload,
    ev.MergedInto: lambda draw: {"into_id": draw(ids("c-"))},
}


def _payload(draw: st.DrawFn, kind: type[Event]) -> dict[str, Any]:
    """Fields particular to one kind of event, each valid on its own."""
    payload = _PAYLOADS.get(kind)
    if payload is None:
        raise AssertionError(f"no payload strategy for {kind.__name__}")
    return payload(draw)


_EVENT_KINDS: tuple[type[Event], ...] = tuple(EVENT_TYPES.values())


@st.composite
def events(
    draw: st.DrawFn,
    kinds: Sequence[type[Event]] = _EVENT_KINDS,
    *,
    customer_id: str | None = None,
) -> Event:
    """One event of any of ``kinds`` (default: every kind in
    :data:`poolkit.model.events.EVENT_TYPES`), with valid fields of its own: a ``Created``
    has ``seq`` 1, every other kind a ``seq`` of 2 or more. Events alone need not form a
    history; use :func:`histories` for a log that replays."""
    kind = draw(st.sampled_from(kinds))
    seq = 1 if kind is ev.Created else draw(st.integers(2, 200))
    fields = _event_fields(draw, customer_id)
    return kind(seq=seq, **fields, **_payload(draw, kind))


@st.composite
def histories(
    draw: st.DrawFn,
    *,
    rep_ids: Sequence[str] | None = None,
    pool_ids: Sequence[str] | None = None,
    max_events: int = 20,
    customer_id: str | None = None,
) -> list[Event]:
    """A customer's whole event log that :func:`poolkit.model.history.replay` accepts.

    Starts with ``Created`` (into a private or a public pool) and goes on with moves that
    fit the customer's state at each point (a claim only from a public pool, a restore only
    from the recycle bin, a transfer to someone else...), times never going backwards,
    sometimes ending with ``Deleted`` or ``MergedInto``, sometimes absorbing another customer
    (``Merged``). Reps and pools come from ``rep_ids``/``pool_ids``.
    It follows the model's state rules, not anyone's rights: use it to test stores, event
    logs and replays, not permissions.
    """
    rep = st.sampled_from(rep_ids) if rep_ids else st.sampled_from(("li", "wang", "zhao", "chen"))
    pool = st.sampled_from(pool_ids) if pool_ids else st.sampled_from(("east", "north", "vip"))
    zone_strategy = zones()
    at = draw(aware_datetimes(zone_strategy))
    cid = customer_id if customer_id is not None else draw(ids("c-"))
    created = ev.Created(
        customer_id=cid,
        seq=1,
        at=at,
        actor_id=draw(rep),
        name=draw(st.sampled_from(("Acme", "某某科技"))),
        pool_id=draw(pool),
        owner_id=draw(st.none() | rep),
        keys=draw(st.frozensets(identity_keys(), max_size=2)),
        grade=draw(st.none() | st.sampled_from(GRADES)),
    )
    log: list[Event] = [created]
    customer = apply(None, created)
    for _ in range(draw(st.integers(0, max_events - 1))):
        assert customer is not None
        at = later(at, draw(durations(20)), draw(zone_strategy))
        event = _next_event(draw, customer, at, rep, pool)
        log.append(event)
        customer = apply(customer, event)
        if customer is None:
            break
    return log


_OWNER_MOVES = ("returned", "recycled", "dropped", "warned", "transferred", "reassigned")


def _moves(draw: st.DrawFn, customer: Customer) -> list[str]:
    """The kinds of event that fit where ``customer`` is now."""
    # The end of a history (deleted, or merged into another) comes rarely, so logs grow.
    moves = ["deleted", "merged_into"] if draw(st.integers(0, 7)) == 0 else []
    if not customer.is_frozen:
        moves += ["followed_up", "frozen", "lock_changed", "edited", "grade_changed", "merged"]
    if customer.is_public:
        moves += ["claimed", "assigned", "pool_changed"]
    if customer.is_private:
        moves += list(_OWNER_MOVES)
    if customer.is_frozen:
        moves.append("restored")
    return moves


def _next_event(
    draw: st.DrawFn,
    customer: Customer,
    at: datetime,
    rep: st.SearchStrategy[str],
    pool: st.SearchStrategy[str],
) -> Event:
    """One event that fits where ``customer`` is now."""
    move = draw(st.sampled_from(_moves(draw, customer)))
    base: dict[str, Any] = {
        "customer_id": customer.id,
        "seq": customer.version + 1,
        "at": at,
        "actor_id": draw(rep),
    }
    if move in _OWNER_MOVES:
        return _owner_move(draw, customer, move, base, rep)
    return _other_move(draw, customer, move, base, rep, pool)


def _other_move(
    draw: st.DrawFn,
    customer: Customer,
    move: str,
    base: dict[str, Any],
    rep: st.SearchStrategy[str],
    pool: st.SearchStrategy[str],
) -> Event:
    """An event that does not start from the owner of a private customer."""
    if move == "deleted":
        return ev.Deleted(**base, reason="duplicate")
    if move == "merged_into":
        return ev.MergedInto(**base, into_id=draw(ids("c-")))
    if move == "merged":
        return _merged(draw, customer, base, rep)
    if move == "followed_up":
        return ev.FollowedUp(**base, method=draw(follow_up_kinds()))
    if move == "frozen":
        return ev.Frozen(**base, from_rep_id=customer.owner_id)
    if move == "lock_changed":
        return ev.LockChanged(**base, locked=not customer.locked)
    if move == "edited":
        return ev.Edited(
            **base,
            name=customer.name,
            keys=customer.keys | draw(st.frozensets(identity_keys(), max_size=1)),
            tags=customer.tags | {"edited"},
            attributes=customer.attributes,
        )
    if move == "grade_changed":
        new = draw(st.sampled_from([g for g in (None, *GRADES) if g != customer.grade]))
        return ev.GradeChanged(**base, old=customer.grade, new=new)
    if move == "claimed":
        target = draw(rep)
        return ev.Claimed(**{**base, "actor_id": target}, rep_id=target, pool_id=customer.pool_id)
    if move == "assigned":
        return ev.Assigned(**base, rep_id=draw(rep), pool_id=customer.pool_id)
    if move == "pool_changed":
        other = draw(pool.filter(lambda p: p != customer.pool_id) | ids("pool-x"))
        return ev.PoolChanged(**base, from_pool_id=customer.pool_id, to_pool_id=other)
    assert move == "restored", move
    return ev.Restored(**base, pool_id=draw(pool))


def _owner_move(
    draw: st.DrawFn,
    customer: Customer,
    move: str,
    base: dict[str, Any],
    rep: st.SearchStrategy[str],
) -> Event:
    """An event that takes a private customer from its owner."""
    owner = customer.owner_id
    assert owner is not None
    if move == "returned":
        return ev.Returned(**{**base, "actor_id": owner}, rep_id=owner, reason="not interested")
    if move == "recycled":
        return ev.Recycled(**base, rep_id=owner)
    if move == "dropped":
        return ev.Dropped(
            **{**base, "actor_id": None},
            rep_id=owner,
            code="drop.no_follow_up",
            rule="quiet",
            due_at=base["at"],
        )
    if move == "warned":
        due = later(base["at"], draw(durations(10)))
        return ev.Warned(**{**base, "actor_id": None}, rep_id=owner, rule="quiet", due_at=due)
    target = draw(rep.filter(lambda r: r != owner) | ids("rep-x"))
    if move == "transferred":
        return ev.Transferred(**{**base, "actor_id": owner}, from_rep_id=owner, to_rep_id=target)
    return ev.Reassigned(**base, from_rep_id=owner, to_rep_id=target)


def _merged(
    draw: st.DrawFn, customer: Customer, base: dict[str, Any], rep: st.SearchStrategy[str]
) -> ev.Merged:
    """Another customer merged into ``customer``: keys, tags and related reps united, the
    later follow-up and deal, and an owner (kept, changed, or none for a public one)."""
    at: datetime = base["at"]
    owner = customer.owner_id
    owned_since = customer.owned_since
    if draw(st.booleans()):
        owner = draw(rep) if customer.is_private or draw(st.booleans()) else None
        owned_since = at if owner is not None else None
    related = dict(customer.related_reps) | {
        rep_id: at for rep_id in draw(st.lists(rep, max_size=2, unique=True))
    }
    if owner is not None:
        related.pop(owner, None)
    absorbed_follow_up = draw(st.none() | st.just(at))
    follow_ups = [t for t in (customer.last_follow_up_at, absorbed_follow_up) if t is not None]
    deals = [t for t in (customer.last_deal_at,) if t is not None]
    if absorbed_follow_up is not None and draw(st.booleans()):
        deals.append(absorbed_follow_up)
    return ev.Merged(
        **base,
        absorbed_id=draw(ids("c-")),
        owner_id=owner,
        owned_since=owned_since,
        keys=customer.keys | draw(st.frozensets(identity_keys(), max_size=2)),
        tags=customer.tags,
        attributes=customer.attributes,
        related_reps=related,
        grade=customer.grade,
        last_follow_up_at=max(follow_ups, key=utc) if follow_ups else None,
        last_deal_at=max(deals, key=utc) if deals else None,
    )
