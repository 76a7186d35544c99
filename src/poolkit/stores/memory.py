"""An in-memory store: real, thread-safe, indexed. Not a test double.

Units of work are serialised by one lock, held from ``__enter__`` to ``__exit__``: a
decision read inside a unit of work (how many customers a rep holds) cannot be invalidated
by another thread before it commits. Writes go straight to the indexes and record an undo
step each; rollback replays the undo steps in reverse, so a failed operation leaves no trace.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Generic, Self, TypeVar

from poolkit.clock import utc
from poolkit.errors import (
    DuplicateIdError,
    PoolkitError,
    ReviewNotFound,
    StaleVersionError,
)
from poolkit.identity.similarity import name_blocks, normal_form
from poolkit.model.customer import Customer, IdentityKey
from poolkit.model.events import Claimed, Created, Event
from poolkit.model.feed import FeedEntry
from poolkit.model.holdings import Holdings
from poolkit.model.pool import Pool
from poolkit.model.rep import Rep
from poolkit.model.review import ReviewItem, ReviewStatus
from poolkit.model.schedule import Schedule
from poolkit.ports import (
    CustomerOrder,
    CustomerQuery,
    CustomerTally,
    Position,
    position_of,
    sort_key,
)
from poolkit.stores._created import checked_ids

__all__ = ["MemoryStore", "MemoryUnitOfWork"]

V = TypeVar("V")


def _restore(table: dict[str, V], key: str, old: V | None) -> None:
    """Undo a put: bring back the old value, or remove a key that was new."""
    if old is None:
        table.pop(key, None)
    else:
        table[key] = old


class _Data:
    """Everything the store holds, with its indexes."""

    def __init__(self) -> None:
        self.customers: dict[str, Customer] = {}
        self.schedules: dict[str, Schedule] = {}
        self.by_owner: defaultdict[str, set[str]] = defaultdict(set)
        # Each owner's customers counted by (has a deal, locked): the caps' counts, kept
        # as customers come and go (a rollback undoes through put_customer too).
        self.holdings: defaultdict[str, Counter[tuple[bool, bool]]] = defaultdict(Counter)
        self.by_key: defaultdict[IdentityKey, set[str]] = defaultdict(set)
        self.by_external_id: dict[str, str] = {}
        # Each name block's customer ids, sorted: similar_names takes the first few by id,
        # as the SQLite store does.
        self.by_block: defaultdict[str, list[str]] = defaultdict(list)
        self.blocks: dict[str, frozenset[str]] = {}
        # The normal form of each indexed name (names_by_block answers it).
        self.normal_names: dict[str, str] = {}
        # (next instant in UTC, customer id), sorted: the sweep's index.
        self.due: list[tuple[datetime, str]] = []
        self.reps: dict[str, Rep] = {}
        self.pools: dict[str, Pool] = {}
        self.events: dict[str, list[Event]] = {}
        # The change feed: entry n - 1 has position n (a rolled-back append is undone
        # before anyone else gets in, so its number is simply given again).
        self.feed: list[FeedEntry] = []
        self.claims: defaultdict[str, list[tuple[datetime, str, int]]] = defaultdict(list)
        # (instant in UTC, customer id, seq, kind), sorted: events counted by time.
        self.by_time: list[tuple[datetime, str, int, str]] = []
        self.settings: dict[str, str] = {}
        self.reviews: dict[str, ReviewItem] = {}
        self.reviews_by_customer: defaultdict[str, set[str]] = defaultdict(set)
        # Every customer id in order, kept until a customer is added or removed: a reader
        # paging through customers (find with ``after``) sorts once, not once a page.
        self._sorted_ids: list[str] | None = None

    def sorted_ids(self) -> list[str]:
        if self._sorted_ids is None:
            self._sorted_ids = sorted(self.customers)
        return self._sorted_ids

    def put_customer(
        self, customer_id: str, customer: Customer | None, schedule: Schedule | None
    ) -> None:
        old = self.customers.get(customer_id)
        if (old is None) != (customer is None):
            self._sorted_ids = None
        new_name = None if customer is None else customer.name
        if old is not None and old.name != new_name:
            self._index_name(customer_id, None)
        if customer is not None and (old is None or old.name != new_name):
            self._index_name(customer_id, customer.name)
        if old is not None:
            if old.owner_id is not None:
                self.by_owner[old.owner_id].discard(customer_id)
                self._hold(old.owner_id, old, -1)
            for key in old.keys:
                self.by_key[key].discard(customer_id)
            if old.external_id is not None:
                del self.by_external_id[old.external_id]
            old_next = self.schedules[customer_id].next_at
            if old_next is not None:
                entry = (utc(old_next), customer_id)
                index = bisect.bisect_left(self.due, entry)
                del self.due[index]
            del self.customers[customer_id]
            del self.schedules[customer_id]
        if customer is None:
            return
        assert schedule is not None
        self.customers[customer_id] = customer
        self.schedules[customer_id] = schedule
        if customer.owner_id is not None:
            self.by_owner[customer.owner_id].add(customer_id)
            self._hold(customer.owner_id, customer, 1)
        for key in customer.keys:
            self.by_key[key].add(customer_id)
        if customer.external_id is not None:
            self.by_external_id[customer.external_id] = customer_id
        next_at = schedule.next_at
        if next_at is not None:
            bisect.insort(self.due, (utc(next_at), customer_id))

    def _hold(self, owner_id: str, customer: Customer, step: int) -> None:
        counts = self.holdings[owner_id]
        counts[customer.last_deal_at is not None, customer.locked] += step
        if not +counts:  # the owner holds nothing now: forget them
            del self.holdings[owner_id]

    def _index_name(self, customer_id: str, name: str | None) -> None:
        """Index the blocks of ``name`` for the customer, or un-index its blocks (None)."""
        if name is None:
            self.normal_names.pop(customer_id, None)
            for block in self.blocks.pop(customer_id, ()):
                holders = self.by_block[block]
                del holders[bisect.bisect_left(holders, customer_id)]
                if not holders:
                    del self.by_block[block]
            return
        blocks = name_blocks(name)
        self.blocks[customer_id] = blocks
        form = normal_form(name)
        if form is not None:
            self.normal_names[customer_id] = form
        for block in blocks:
            bisect.insort(self.by_block[block], customer_id)

    def put_review(self, review_id: str, item: ReviewItem | None) -> None:
        old = self.reviews.pop(review_id, None)
        if old is not None:
            for customer_id in (old.customer_id, old.similar_id):
                items = self.reviews_by_customer[customer_id]
                items.discard(review_id)
                if not items:
                    del self.reviews_by_customer[customer_id]
        if item is None:
            return
        self.reviews[review_id] = item
        for customer_id in (item.customer_id, item.similar_id):
            self.reviews_by_customer[customer_id].add(review_id)


class MemoryStore:
    """Keeps everything in this process's memory; lost when the process ends."""

    def __init__(self) -> None:
        self._data = _Data()
        self._lock = threading.Lock()

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self._data, self._lock)


class MemoryUnitOfWork:
    def __init__(self, data: _Data, lock: threading.Lock) -> None:
        self._data = data
        self._lock = lock
        self._undo: list[Callable[[], None]] = []
        self._open = False
        self.customers = _Customers(self)
        self.reps: _TeamMembers[Rep] = _TeamMembers(self, lambda data: data.reps)
        self.pools: _TeamMembers[Pool] = _TeamMembers(self, lambda data: data.pools)
        self.events = _Events(self)
        self.settings = _Settings(self)
        self.reviews = _Reviews(self)

    def __enter__(self) -> Self:
        self._lock.acquire()
        self._open = True
        self._undo = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            self._open = False
            self._lock.release()

    def lock_rep(self, rep_id: str) -> None:
        """Nothing to hold: the store's lock already lets one unit of work in at a time."""
        self._check_open()

    def lock_pool(self, pool_id: str) -> None:
        """Nothing to hold, as for :meth:`lock_rep`."""
        self._check_open()

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
        """Nothing to fetch: every read is local; nothing to lock, as for :meth:`lock_rep`."""
        self._check_open()

    def commit(self) -> None:
        self._check_open()
        self._undo = []

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()

    def _check_open(self) -> None:
        if not self._open:
            raise PoolkitError("use the unit of work inside a `with` block")

    @property
    def data(self) -> _Data:
        self._check_open()
        return self._data

    def record(self, undo: Callable[[], None]) -> None:
        self._undo.append(undo)


class _Customers:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def get(self, customer_id: str) -> Customer | None:
        return self._uow.data.customers.get(customer_id)

    def schedule_of(self, customer_id: str) -> Schedule | None:
        return self._uow.data.schedules.get(customer_id)

    def _replace(
        self, customer_id: str, customer: Customer | None, schedule: Schedule | None
    ) -> None:
        data = self._uow.data
        old, old_schedule = data.customers.get(customer_id), data.schedules.get(customer_id)
        data.put_customer(customer_id, customer, schedule)
        self._uow.record(lambda: data.put_customer(customer_id, old, old_schedule))

    def _check_version(self, customer_id: str, expected: int) -> None:
        current = self._uow.data.customers.get(customer_id)
        actual = current.version if current is not None else None
        if actual != expected:
            raise StaleVersionError(customer_id, expected, actual)

    def add(self, customer: Customer, schedule: Schedule) -> None:
        if customer.id in self._uow.data.customers:
            raise DuplicateIdError("customer", customer.id)
        if customer.external_id in self._uow.data.by_external_id:
            raise DuplicateIdError("external", customer.external_id)
        self._replace(customer.id, customer, schedule)

    def add_created(self, created: Sequence[tuple[Created, Customer, Schedule]]) -> None:
        # Every check first, so that a refusal writes nothing.
        ids, external = checked_ids(created)
        data = self._uow.data
        for customer_id in ids:
            if customer_id in data.customers or data.events.get(customer_id):
                raise DuplicateIdError("customer", customer_id)
        for external_id in external:
            if external_id in data.by_external_id:
                raise DuplicateIdError("external", external_id)
        for event, customer, schedule in created:
            self._uow.events.append(event)
            self.add(customer, schedule)

    def update(self, customer: Customer, schedule: Schedule, expected_version: int) -> None:
        self._check_version(customer.id, expected_version)
        self._replace(customer.id, customer, schedule)

    def remove(self, customer_id: str, expected_version: int) -> None:
        self._check_version(customer_id, expected_version)
        self._replace(customer_id, None, None)

    def find(
        self, query: CustomerQuery, limit: int | None = None, *, after: str | None = None
    ) -> list[Customer]:
        data = self._uow.data
        if limit is not None and limit <= 0:
            return []
        candidates: Iterable[str]
        if query.owner_ids is not None:
            candidates = sorted(
                {cid for owner in query.owner_ids for cid in data.by_owner.get(owner, ())}
            )
            if after is not None:
                candidates = candidates[bisect.bisect_right(candidates, after) :]
        else:
            ordered = data.sorted_ids()
            start = 0 if after is None else bisect.bisect_right(ordered, after)
            candidates = itertools.islice(ordered, start, None)
        out: list[Customer] = []
        for customer_id in candidates:
            customer = data.customers[customer_id]
            if query.matches(customer):
                out.append(customer)
                if limit is not None and len(out) >= limit:
                    break
        return out

    def with_keys(self, keys: frozenset[IdentityKey]) -> list[Customer]:
        data = self._uow.data
        found = {cid for key in keys for cid in data.by_key.get(key, ())}
        return [data.customers[cid] for cid in sorted(found)]

    def similar_names(self, blocks: frozenset[str], per_block: int) -> list[tuple[str, str]]:
        data = self._uow.data
        if per_block <= 0:
            return []
        found = {cid for block in blocks for cid in data.by_block.get(block, ())[:per_block]}
        return [(cid, data.customers[cid].name) for cid in sorted(found)]

    def common_blocks(self, blocks: frozenset[str], per_block: int) -> frozenset[str]:
        lists, bound = self._uow.data.by_block, max(per_block, 0)
        return frozenset(block for block in blocks if len(lists.get(block, ())) > bound)

    def names_by_block(
        self, blocks: frozenset[str], per_block: int
    ) -> dict[str, list[tuple[str, str, str]]]:
        data = self._uow.data
        cut = max(per_block, 0)
        return {
            block: [
                (cid, data.customers[cid].name, data.normal_names[cid])
                for cid in data.by_block.get(block, ())[:cut]
            ]
            for block in blocks
        }

    def due(self, at: datetime, limit: int) -> list[Customer]:
        data = self._uow.data
        end = bisect.bisect_right(data.due, (utc(at), "\U0010ffff"))
        return [data.customers[cid] for _, cid in data.due[: min(end, limit)]]

    def upcoming(self, at: datetime, limit: int) -> list[Customer]:
        return self.due(at, limit)  # nothing is locked here: units of work take turns

    def ids(self) -> Iterator[str]:
        return iter(list(self._uow.data.sorted_ids()))

    def count(self) -> int:
        return len(self._uow.data.customers)

    def with_external_ids(self, external_ids: frozenset[str]) -> dict[str, str]:
        stored = self._uow.data.by_external_id
        return {eid: stored[eid] for eid in external_ids if eid in stored}

    def page(
        self,
        queries: Sequence[CustomerQuery],
        order: CustomerOrder,
        *,
        descending: bool = False,
        after: Position | None = None,
        limit: int,
    ) -> list[tuple[Customer, Position]]:
        if limit <= 0:
            return []
        data = self._uow.data
        start = None if after is None else sort_key(after)
        placed = (
            (customer, position_of(customer, data.schedules[customer.id], order))
            for customer in self._matching(queries)
        )
        if start is not None:
            placed = (
                item
                for item in placed
                if (sort_key(item[1]) < start if descending else sort_key(item[1]) > start)
            )
        # The smallest (or largest) few, kept in a heap of ``limit``: memory follows the page.
        pick = heapq.nlargest if descending else heapq.nsmallest
        return pick(limit, placed, key=lambda item: sort_key(item[1]))

    def count_matching(self, queries: Sequence[CustomerQuery]) -> int:
        return sum(1 for _ in self._matching(queries))

    def _matching(self, queries: Sequence[CustomerQuery]) -> Iterator[Customer]:
        data = self._uow.data
        if queries and all(query.owner_ids is not None for query in queries):
            ids: Iterable[str] = {
                cid
                for query in queries
                for owner in query.owner_ids or ()
                for cid in data.by_owner.get(owner, ())
            }
        else:
            ids = data.customers
        for customer_id in ids:
            customer = data.customers[customer_id]
            if any(query.matches(customer) for query in queries):
                yield customer

    def holdings(self, rep_id: str) -> Holdings:
        counts = self._uow.data.holdings.get(rep_id)
        if counts is None:
            return Holdings()
        dealt, locked, both = counts[True, False], counts[False, True], counts[True, True]
        return Holdings(
            owned=counts.total(), dealt=dealt + both, locked=locked + both, dealt_and_locked=both
        )

    def tally(self) -> list[CustomerTally]:
        groups = Counter(
            (c.status, c.pool_id, c.owner_id, c.grade) for c in self._uow.data.customers.values()
        )
        return [
            CustomerTally(status, pool_id, owner_id, grade, count)
            for (status, pool_id, owner_id, grade), count in sorted(
                groups.items(),
                key=lambda group: (
                    group[0][0].value,
                    group[0][1],
                    _none_first(group[0][2]),
                    _none_first(group[0][3]),
                ),
            )
        ]


def _none_first(value: str | None) -> tuple[bool, str]:
    return (value is not None, value or "")


_Member = TypeVar("_Member", Rep, Pool)


class _TeamMembers(Generic[_Member]):
    """Reps or pools, by id: the dict ``select`` picks from the store's data."""

    def __init__(
        self, uow: MemoryUnitOfWork, select: Callable[[_Data], dict[str, _Member]]
    ) -> None:
        self._uow = uow
        self._select: Callable[[_Data], dict[str, _Member]] = select

    def get(self, item_id: str) -> _Member | None:
        return self._select(self._uow.data).get(item_id)

    def put(self, item: _Member) -> None:
        items = self._select(self._uow.data)
        old = items.get(item.id)
        items[item.id] = item
        self._uow.record(lambda: _restore(items, item.id, old))

    def all(self) -> list[_Member]:
        return [item for _, item in sorted(self._select(self._uow.data).items())]


class _Events:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def append(self, event: Event) -> None:
        data = self._uow.data
        history = data.events.setdefault(event.customer_id, [])
        last = history[-1].seq if history else 0
        if event.seq != last + 1:
            raise StaleVersionError(event.customer_id, event.seq - 1, last)
        history.append(event)
        undo: list[Callable[[], object]] = [history.pop]
        timed = (utc(event.at), event.customer_id, event.seq, event.kind)
        bisect.insort(data.by_time, timed)
        undo.append(lambda: data.by_time.remove(timed))
        data.feed.append(FeedEntry(len(data.feed) + 1, event))
        undo.append(data.feed.pop)
        if isinstance(event, Claimed):
            claims = data.claims[event.rep_id]
            entry = (utc(event.at), event.customer_id, event.seq)
            bisect.insort(claims, entry)
            undo.append(lambda: claims.remove(entry))
        if len(history) == 1:
            undo.append(lambda: data.events.pop(event.customer_id))

        def undo_append() -> None:
            for step in reversed(undo):
                step()

        self._uow.record(undo_append)

    def history(self, customer_id: str) -> list[Event]:
        return list(self._uow.data.events.get(customer_id, ()))

    def claims_by(self, rep_id: str, since: datetime) -> list[datetime]:
        claims = self._uow.data.claims.get(rep_id, [])
        start = bisect.bisect_right(claims, (utc(since), "\U0010ffff", 1 << 62))
        return [at for at, _, _ in claims[start:]]

    def customer_ids(self) -> Iterator[str]:
        return iter(sorted(self._uow.data.events))

    def count_kinds(self, since: datetime, until: datetime) -> dict[str, int]:
        by_time = self._uow.data.by_time
        start = bisect.bisect_left(by_time, (utc(since), "", 0, ""))
        end = bisect.bisect_left(by_time, (utc(until), "", 0, ""))
        return dict(Counter(kind for _, _, _, kind in by_time[start:end]))

    def since(self, position: int, limit: int) -> list[FeedEntry]:
        start = max(position, 0)
        return self._uow.data.feed[start : start + max(limit, 0)]


class _Reviews:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def _replace(self, review_id: str, item: ReviewItem | None) -> None:
        data = self._uow.data
        old = data.reviews.get(review_id)
        data.put_review(review_id, item)
        self._uow.record(lambda: data.put_review(review_id, old))

    def add(self, item: ReviewItem) -> None:
        if item.id in self._uow.data.reviews:
            raise DuplicateIdError("review item", item.id)
        self._replace(item.id, item)

    def get(self, review_id: str) -> ReviewItem | None:
        return self._uow.data.reviews.get(review_id)

    def update(self, item: ReviewItem) -> None:
        if item.id not in self._uow.data.reviews:
            raise ReviewNotFound(item.id)
        self._replace(item.id, item)

    def find(
        self, status: ReviewStatus | None = None, customer_id: str | None = None
    ) -> list[ReviewItem]:
        data = self._uow.data
        if customer_id is not None:
            candidates = [
                data.reviews[rid] for rid in data.reviews_by_customer.get(customer_id, ())
            ]
        else:
            candidates = list(data.reviews.values())
        found = [item for item in candidates if status is None or item.status is status]
        found.sort(key=lambda item: (utc(item.created_at), item.id))
        return found


class _Settings:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def get(self, key: str) -> str | None:
        return self._uow.data.settings.get(key)

    def set(self, key: str, value: str) -> None:
        settings = self._uow.data.settings
        old = settings.get(key)
        settings[key] = value
        self._uow.record(lambda: _restore(settings, key, old))
