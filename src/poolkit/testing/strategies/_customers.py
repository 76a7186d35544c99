"""Customers that keep every invariant and tell a coherent story."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import attrs
from hypothesis import strategies as st

from poolkit.model.customer import AttributeValue, Customer, CustomerStatus
from poolkit.model.events import FollowUpKind
from poolkit.testing.strategies._instants import ANY_ZONE, aware_datetimes, durations, later
from poolkit.testing.strategies._keys import KEY_KINDS, identity_keys
from poolkit.testing.strategies._people import ids

#: The customer grades the strategies use (the A-E grading of the domain notes).
GRADES: tuple[str, ...] = ("A", "B", "C", "D", "E")


def attribute_maps() -> st.SearchStrategy[dict[str, AttributeValue]]:
    values: st.SearchStrategy[AttributeValue] = st.one_of(
        st.sampled_from(("vip", "north", "south", "trade-fair")),
        st.integers(-5, 500) | st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
    )
    return st.dictionaries(st.sampled_from(("tier", "region", "source", "employees")), values)


@st.composite
def customers(
    draw: st.DrawFn,
    *,
    statuses: Sequence[CustomerStatus] = tuple(CustomerStatus),
    rep_ids: Sequence[str] | None = None,
    pool_ids: Sequence[str] | None = None,
    grades: Sequence[str] = GRADES,
    key_kinds: Sequence[str] = KEY_KINDS,
    zones: st.SearchStrategy[ZoneInfo] | None = None,
) -> Customer:
    """A :class:`~poolkit.model.customer.Customer` that keeps every invariant and tells a
    coherent story.

    Its status is drawn from ``statuses``; it has an owner (from ``rep_ids``) and
    ``owned_since`` exactly when private, ``public_since`` when public (and sometimes when
    frozen). Times follow each other: created, then the former owners left
    (``related_reps``), then it entered its current place; follow-ups fall anywhere from its
    creation to a while after that (before the current owner took it, too), and the last
    deal, if any, is no later than the last follow-up (a deal is a follow-up). A private one
    may carry a pending warning. Grades come from ``grades`` (or none), pools from
    ``pool_ids``, keys from :func:`identity_keys`. Times are in mixed zones from ``zones``.
    """
    zone_strategy = zones if zones is not None else ANY_ZONE
    status = draw(st.sampled_from(statuses))
    rep = st.sampled_from(rep_ids) if rep_ids else ids()
    times = _life(draw, status, rep, zone_strategy)
    private = status is CustomerStatus.PRIVATE
    return Customer(
        id=draw(ids("c-")),
        name=draw(st.sampled_from(("Acme", "华为技术", "某某科技有限公司", "Globex", "Initech"))),
        pool_id=draw(st.sampled_from(pool_ids) if pool_ids else ids("pool-")),
        created_at=times.created_at,
        status=status,
        owner_id=draw(rep) if private else None,
        keys=draw(st.frozensets(identity_keys(key_kinds), max_size=3)),
        grade=draw(st.none() | st.sampled_from(grades)) if grades else None,
        tags=draw(st.frozensets(st.sampled_from(("hot", "trade-fair", "renewal")), max_size=2)),
        attributes=draw(attribute_maps()),
        related_reps=times.related_reps,
        creator_id=draw(st.none() | rep),
        owned_since=times.owned_since,
        public_since=times.public_since,
        last_follow_up_at=times.last_follow_up_at,
        last_deal_at=times.last_deal_at,
        locked=draw(st.booleans()),
        warned_due_at=times.warned_due_at,
        version=draw(st.integers(1, 60)),
    )


@attrs.frozen
class _Life:
    """The times of a customer's story so far."""

    created_at: datetime
    related_reps: dict[str, datetime]
    owned_since: datetime | None
    public_since: datetime | None
    last_follow_up_at: datetime | None
    last_deal_at: datetime | None
    warned_due_at: datetime | None


def _life(
    draw: st.DrawFn,
    status: CustomerStatus,
    rep: st.SearchStrategy[str],
    zone_strategy: st.SearchStrategy[ZoneInfo],
) -> _Life:
    """Times that follow each other: created, then the former owners left, then it entered
    its current place; follow-ups from its creation to a while after that, the last deal
    no later than the last follow-up; a pending warning, sometimes, when private."""
    created_at = draw(aware_datetimes(zone_strategy))
    entered = later(created_at, draw(durations()), draw(zone_strategy))
    now = later(entered, draw(durations()), draw(zone_strategy))

    def moment(low: datetime, high: datetime) -> datetime:
        """A time from ``low`` to ``high``, both included, in a drawn zone."""
        seconds = int((high.astimezone(UTC) - low.astimezone(UTC)).total_seconds())
        offset = draw(st.sampled_from((0, seconds)) | st.integers(0, max(seconds, 0)))
        return later(low, timedelta(seconds=offset), draw(zone_strategy))

    related = {
        rep_id: moment(created_at, entered)
        for rep_id in draw(st.lists(rep, max_size=3, unique=True))
    }
    last_follow_up = moment(created_at, now) if draw(st.booleans()) else None
    last_deal: datetime | None = None
    if last_follow_up is not None and draw(st.booleans()):
        last_deal = last_follow_up if draw(st.booleans()) else moment(created_at, last_follow_up)
    private = status is CustomerStatus.PRIVATE
    public_since: datetime | None = None
    if status is CustomerStatus.PUBLIC:
        public_since = entered
    elif status is CustomerStatus.FROZEN and draw(st.booleans()):
        public_since = moment(created_at, entered)
    warned_due_at: datetime | None = None
    if private and draw(st.booleans()):
        warned_due_at = later(now, draw(durations(10)), draw(zone_strategy))
    return _Life(
        created_at=created_at,
        related_reps=related,
        owned_since=entered if private else None,
        public_since=public_since,
        last_follow_up_at=last_follow_up,
        last_deal_at=last_deal,
        warned_due_at=warned_due_at,
    )


def follow_up_kinds() -> st.SearchStrategy[FollowUpKind]:
    """Any :class:`~poolkit.model.events.FollowUpKind`: call, visit, email, meeting, message
    or deal."""
    return st.sampled_from(FollowUpKind)
