"""What poolkit needs from storage: repositories and a unit of work, as protocols.

Any store that implements these plugs in. Two ship: :mod:`poolkit.stores.memory` and
:mod:`poolkit.stores.sqlite`. Both pass the conformance suite in
:mod:`poolkit.testing.conformance`, which a store of your own should pass too.
:class:`Schedule` (a customer's next deadlines, kept beside it so that a sweep reads only
what is due) is exported here for store authors.

The contract a store must keep:

- A unit of work is a transaction: everything written inside it becomes visible together
  on :meth:`UnitOfWork.commit`, or not at all (an exception or a missing commit rolls it
  back); no other unit of work sees its partial state.
- Units of work may run side by side. Each invariant is kept by what it touches: a
  customer by its version; the decisions about a rep (cap, claim limit, departure) by
  :meth:`UnitOfWork.lock_rep`, which the service calls before it counts anything of the
  rep's, so a count read inside a unit of work still holds when it commits; a collision
  by the store's lookup of identity keys, which must make two creates of one key wait for
  each other. A store that runs one writer at a time (the memory and SQLite stores) keeps
  all of this by serialising, and its ``lock_rep`` does nothing.
- A transient failure (a lock wait past its limit, a serialisation failure, a deadlock) is
  a :class:`~poolkit.errors.StoreError` with ``retryable`` true; the service runs the
  operation again, a bounded number of times (docs/concurrency.md).
- Writes of a customer name the version they were based on; a store refuses a mismatch
  with :class:`~poolkit.errors.StaleVersionError` instead of overwriting.
- The event log is append-only; ``(customer_id, seq)`` is unique. Every committed event
  has a position in one global order (:meth:`EventLog.since`, the change feed).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

import attrs

from poolkit.clock import utc
from poolkit.model.customer import AttributeValue, Customer, CustomerStatus, IdentityKey
from poolkit.model.events import Created, Event
from poolkit.model.feed import FeedEntry
from poolkit.model.holdings import Holdings
from poolkit.model.pool import Pool
from poolkit.model.rep import Rep
from poolkit.model.review import ReviewItem, ReviewStatus
from poolkit.model.schedule import Schedule


@attrs.frozen
class CustomerQuery:
    """A filter over customers; every field that is set must match.

    ``tags`` must all be present; ``attributes`` must all be equal; ``public_since`` keeps
    customers that entered their public pool at or after that time ("dropped since").
    """

    status: CustomerStatus | None = None
    owner_ids: frozenset[str] | None = None
    pool_ids: frozenset[str] | None = None
    related_rep: str | None = None
    creator_id: str | None = None
    grades: frozenset[str] | None = None
    tags: frozenset[str] = frozenset()
    attributes: tuple[tuple[str, AttributeValue], ...] = ()
    public_since: datetime | None = None

    def matches(self, customer: Customer) -> bool:
        if self.status is not None and customer.status is not self.status:
            return False
        if self.owner_ids is not None and customer.owner_id not in self.owner_ids:
            return False
        if self.pool_ids is not None and customer.pool_id not in self.pool_ids:
            return False
        if self.related_rep is not None and self.related_rep not in customer.related_reps:
            return False
        if self.creator_id is not None and customer.creator_id != self.creator_id:
            return False
        if self.grades is not None and customer.grade not in self.grades:
            return False
        if not self.tags <= customer.tags:
            return False
        for name, value in self.attributes:
            if customer.attributes.get(name) != value:
                return False
        if self.public_since is not None:
            since = customer.public_since
            if since is None or since < self.public_since:
                return False
        return True


@attrs.frozen
class CustomerTally:
    """How many customers share one status, pool, owner and grade: one group of
    :meth:`CustomerRepository.tally`."""

    status: CustomerStatus
    pool_id: str
    owner_id: str | None
    grade: str | None
    count: int


class CustomerOrder(enum.Enum):
    """How a page of customers is sorted; every order is tie-broken by id.

    - ``NAME``: the customer's name, by code point (as Python compares strings);
    - ``ENTERED``: when it entered where it is: ``owned_since`` for a private customer,
      ``public_since`` for a public one; a frozen customer keeps the time it last entered a
      public pool (the recycle bin records no time of its own), or its ``created_at``;
    - ``NEXT_DROP``: the stored schedule's ``drop_at``; customers with no drop due (public,
      frozen, locked) come after every dated one.
    """

    NAME = "name"
    ENTERED = "entered"
    NEXT_DROP = "next_drop"


@attrs.frozen(order=True)
class Position:
    """Where a customer stands in a :class:`CustomerOrder`: its sort value and its id.
    ``value`` is a name, an aware datetime, or None (no drop due, which sorts last)."""

    value: str | datetime | None
    customer_id: str


def sort_key(position: Position) -> tuple[int, str | datetime, str]:
    """The key that orders positions as every store does: by value (instants compared as
    instants, whatever their zone; None after every value), then by id."""
    value = position.value
    if value is None:
        return (1, "", position.customer_id)
    return (0, utc(value) if isinstance(value, datetime) else value, position.customer_id)


def entered_at(customer: Customer) -> datetime:
    """The sort value of :attr:`CustomerOrder.ENTERED` (see there)."""
    if customer.owned_since is not None:
        return customer.owned_since
    if customer.public_since is not None:
        return customer.public_since
    return customer.created_at


def position_of(customer: Customer, schedule: Schedule, order: CustomerOrder) -> Position:
    """The position of a stored customer (and its stored schedule) in ``order``."""
    value: str | datetime | None
    if order is CustomerOrder.NAME:
        value = customer.name
    elif order is CustomerOrder.ENTERED:
        value = entered_at(customer)
    else:
        value = schedule.drop_at
    return Position(value, customer.id)


class CustomerRepository(Protocol):
    def get(self, customer_id: str) -> Customer | None: ...

    def add(self, customer: Customer, schedule: Schedule) -> None:
        """Store a new customer; :class:`~poolkit.errors.DuplicateIdError` if the id is taken."""

    def update(self, customer: Customer, schedule: Schedule, expected_version: int) -> None:
        """Replace the stored customer if its version is ``expected_version``, else refuse."""

    def add_created(self, created: Sequence[tuple[Created, Customer, Schedule]]) -> None:
        """Store many new customers, each with its ``Created`` event as the first event of
        its history: what ``events.append(event)`` and ``add(customer, schedule)`` do for
        each, in one call, so that a store can write each table's rows at once (an import
        writes its batches so). Each event is seq 1 of its customer, the customer is what it
        makes. :class:`~poolkit.errors.DuplicateIdError` (kind ``customer`` or ``external``),
        and nothing of them written, when an id is taken (by a customer or a history) or an
        external id is stored, or either is repeated among them."""

    def remove(self, customer_id: str, expected_version: int) -> None:
        """Delete for good, if the stored version is ``expected_version``."""

    def find(
        self, query: CustomerQuery, limit: int | None = None, *, after: str | None = None
    ) -> list[Customer]:
        """Customers matching ``query``, ordered by id; with ``after``, only those whose id
        sorts after it (code point order, as Python's), so that a reader pages through many
        customers, ``limit`` at a time, each page its own unit of work. Indexed for
        ``status``: a page of private customers costs the page, not the whole table."""

    def with_keys(self, keys: frozenset[IdentityKey]) -> list[Customer]:
        """Customers holding any of ``keys`` (an exact, indexed lookup)."""

    def similar_names(self, blocks: frozenset[str], per_block: int) -> list[tuple[str, str]]:
        """``(customer id, name)`` of the customers whose name has any of ``blocks`` among
        its blocking keys (:func:`poolkit.identity.blocking_keys` of the stored name; a name
        that normalises to nothing has none), at most ``per_block`` per block, deduplicated,
        ordered by id. Pairs, not customers, because the caller scores many candidates and
        keeps few. An indexed lookup: its cost follows the blocks asked for, not the
        customers stored."""

    def names_by_block(
        self, blocks: frozenset[str], per_block: int
    ) -> dict[str, list[tuple[str, str, str]]]:
        """The lists behind :meth:`similar_names`, block by block: for each of ``blocks``,
        the ``(customer id, name, normal form)`` of its first ``per_block`` customers by id
        (an empty list for a block no name has); the normal form is
        :func:`poolkit.identity.normalise_name` of the name, kept by the store beside its
        blocks. What a caller that remembers the lists (an import batch) needs, without
        working out again which block each name came from, nor normalising each name."""

    def common_blocks(self, blocks: frozenset[str], per_block: int) -> frozenset[str]:
        """Those of ``blocks`` that more than ``per_block`` customers' names have among
        their blocking keys (as :meth:`similar_names` counts them): too common to tell
        names apart, so a look-alike lookup reads the others
        (:func:`poolkit.identity.lookalike.telling_blocks`). An indexed lookup, one seek
        per block: its cost follows the blocks asked for, not the customers stored."""

    def due(self, at: datetime, limit: int) -> list[Customer]:
        """Up to ``limit`` customers whose schedule has a drop or warning at or before ``at``,
        earliest first. Reads only what is due, not every customer stored."""

    def upcoming(self, at: datetime, limit: int) -> list[Customer]:
        """What :meth:`due` returns, for reading only (a forecast): a store whose ``due``
        locks the rows it returns for the sweeper that asked must not lock them here."""

    def schedule_of(self, customer_id: str) -> Schedule | None: ...

    def ids(self) -> Iterator[str]:
        """Every stored customer id, in order."""

    def count(self) -> int: ...

    def tally(self) -> list[CustomerTally]:
        """The customers counted by ``(status, pool_id, owner_id, grade)``, one entry per
        group that has any, ordered by those four (None first). A count the store makes
        (a ``GROUP BY``), without loading the customers."""

    def page(
        self,
        queries: Sequence[CustomerQuery],
        order: CustomerOrder,
        *,
        descending: bool = False,
        after: Position | None = None,
        limit: int,
    ) -> list[tuple[Customer, Position]]:
        """Up to ``limit`` customers matching any of ``queries``, sorted by ``order`` then
        id (both reversed with ``descending``), strictly after ``after`` in that order, each
        with its :class:`Position`. A keyset read: its cost follows ``limit`` (with an
        index for the order), not the customers before ``after``; its memory too."""

    def count_matching(self, queries: Sequence[CustomerQuery]) -> int:
        """How many customers match any of ``queries``."""

    def holdings(self, rep_id: str) -> Holdings:
        """How many customers ``rep_id`` owns, with a deal, locked, and both: what the cap
        and the lock cap count, as in this unit of work (its own writes included). A count
        the store keeps or makes from an index by owner, without loading the customers:
        a claim near a cap of thousands costs a count, not a read of the book."""

    def with_external_ids(self, external_ids: frozenset[str]) -> dict[str, str]:
        """``{external id: customer id}`` for the stored customers whose
        :attr:`~poolkit.model.customer.Customer.external_id` is among ``external_ids`` (an
        exact, indexed lookup: its cost follows the ids asked for, not the customers
        stored). What an import run again skips."""


class RepRepository(Protocol):
    def get(self, rep_id: str) -> Rep | None: ...

    def put(self, rep: Rep) -> None:
        """Add or replace."""

    def all(self) -> list[Rep]:
        """Every rep, ordered by id."""


class PoolRepository(Protocol):
    def get(self, pool_id: str) -> Pool | None: ...

    def put(self, pool: Pool) -> None:
        """Add or replace."""

    def all(self) -> list[Pool]:
        """Every pool, ordered by id."""


class EventLog(Protocol):
    def append(self, event: Event) -> None:
        """Append; ``seq`` must follow the customer's last event (the first is 1). A second
        event with the same ``(customer_id, seq)``, or a gap, is refused with
        :class:`~poolkit.errors.StaleVersionError`."""

    def history(self, customer_id: str) -> list[Event]:
        """The customer's events in order (kept after deletion: the log is append-only)."""

    def claims_by(self, rep_id: str, since: datetime) -> list[datetime]:
        """The times of claims by ``rep_id`` made after ``since``, oldest first."""

    def customer_ids(self) -> Iterator[str]:
        """Every customer id that has a history, deleted ones included, in order."""

    def count_kinds(self, since: datetime, until: datetime) -> dict[str, int]:
        """How many events of each kind happened at or after ``since`` and before
        ``until`` (kinds without any are absent). Read off an index on the events' time:
        its cost follows the events in that span, not the whole log."""

    def since(self, position: int, limit: int) -> list[FeedEntry]:
        """The change feed: up to ``limit`` events with a position above ``position``, in
        position order, each with its position (0 reads from the start). A store gives an
        event its position when its unit of work commits, so that an event committed later
        never takes a position a reader has already passed (docs/concurrency.md); the
        positions strictly increase in the order the events were appended and may skip
        numbers, never go back. An indexed read: its cost follows ``limit``."""


class ReviewRepository(Protocol):
    """The review list of look-alike customers."""

    def add(self, item: ReviewItem) -> None:
        """Store a new item; :class:`~poolkit.errors.DuplicateIdError` if the id is taken."""

    def get(self, review_id: str) -> ReviewItem | None: ...

    def update(self, item: ReviewItem) -> None:
        """Replace a stored item (same id); :class:`~poolkit.errors.ReviewNotFound` if absent."""

    def find(
        self, status: ReviewStatus | None = None, customer_id: str | None = None
    ) -> list[ReviewItem]:
        """Items with that status and involving that customer (on either side), ordered by
        ``created_at`` then id."""


class Settings(Protocol):
    """Small named values a store keeps for poolkit (e.g. the fingerprint of the policy
    its stored deadlines were computed with)."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...


class UnitOfWork(Protocol):
    # Read-only members, so a store's own repository classes satisfy them (a plain
    # attribute in a protocol is invariant: it would demand exactly these types).
    @property
    def customers(self) -> CustomerRepository: ...

    @property
    def reps(self) -> RepRepository: ...

    @property
    def pools(self) -> PoolRepository: ...

    @property
    def events(self) -> EventLog: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def reviews(self) -> ReviewRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""

    def lock_rep(self, rep_id: str) -> None:
        """Hold back every other unit of work's decisions about this rep (its cap, claim
        limit, departure) until this one ends. The service calls it before it reads what
        it counts for the rep. A store that runs one writer at a time needs nothing."""

    def lock_pool(self, pool_id: str) -> None:
        """Hold back every other unit of work's automatic assignment from this pool until
        this one ends: the pool's turn (who is next) is read and written under it, so two
        assignments at once cannot both hand out the same turn. Called before the reps are
        locked, so locks are always taken pool first. Locking a pool that does not exist
        locks nothing; a store that runs one writer at a time needs nothing."""

    def read_ahead(
        self,
        *,
        customers: Collection[str] = (),
        reps: Collection[str] = (),
        to_change: bool = False,
        lock_reps: Collection[str] = (),
        holdings_of: Collection[str] = (),
        claims_of: Collection[tuple[str, datetime]] = (),
    ) -> None:
        """A hint: this unit of work is about to read these customers, their pools, these
        reps and the settings, and, with ``to_change``, to write the customers. A store
        whose every read is a round trip to a server may fetch them all at once and serve
        the reads that follow from it, each once, as long as nothing else ran in between
        (so what it serves is what a read of its own would have given, a moment earlier);
        with ``to_change`` it may also lock the customers for this unit of work, as their
        first write would. ``lock_reps`` must be locked as :meth:`lock_rep` would (it is
        read ahead too), at once or with the next statement. ``holdings_of``: the reps
        whose :meth:`CustomerRepository.holdings` are read next; ``claims_of``: a rep and
        an instant each, for :meth:`EventLog.claims_by` with that instant. Those are read,
        if ahead, after the locks of ``lock_reps`` are granted, so that they are what a
        read after :meth:`lock_rep` gives. A store that reads locally needs nothing but
        the locks (SQLite still reads one customer and one rep ahead: one statement costs
        less than five, even in the process)."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class Store(Protocol):
    """A place customers live. ``unit_of_work()`` opens one transaction."""

    def unit_of_work(self) -> UnitOfWork: ...


__all__ = [
    "CustomerOrder",
    "CustomerQuery",
    "CustomerRepository",
    "CustomerTally",
    "EventLog",
    "Holdings",
    "PoolRepository",
    "Position",
    "RepRepository",
    "ReviewRepository",
    "Schedule",
    "Settings",
    "Store",
    "UnitOfWork",
    "entered_at",
    "position_of",
    "sort_key",
]
