"""The unit of work of a bulk move, reading each locked rep's book once.

A claim, assign or transfer counts the receiver's book (its cap, its lock cap) by reading
every customer the rep owns. A bulk move of 300 customers to one rep would read that book
300 times in one unit of work. But once the rep is locked (``lock_rep``, which the cap
check takes before it counts), no other unit of work gives the rep a customer until this
one ends, so the book changes only through this unit of work's own writes. This wrapper
keeps the book it read for each locked rep and follows its own writes, so the same checks
(``_check_cap``, ``_check_lock_cap``: nothing of the rules is copied) count from memory.

A customer another unit of work takes from the rep meanwhile (a sweep's drop) is counted
until this unit of work ends, as a single move counts what it read: a bulk move errs on the
side of the cap, never past it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

from poolkit.model.customer import Customer, IdentityKey
from poolkit.model.schedule import Schedule
from poolkit.ports import (
    CustomerOrder,
    CustomerQuery,
    CustomerRepository,
    CustomerTally,
    EventLog,
    PoolRepository,
    Position,
    RepRepository,
    ReviewRepository,
    Settings,
    UnitOfWork,
)

__all__ = ["BookKeeping"]


class _Books:
    """The customers of the unit of work, with the book of each locked rep kept once read."""

    def __init__(self, inner: CustomerRepository, locked: set[str]) -> None:
        self._inner = inner
        self._locked = locked
        self._books: dict[str, dict[str, Customer]] = {}

    def _book_of(self, query: CustomerQuery, limit: int | None) -> str | None:
        """The rep whose whole book ``query`` asks for, if that rep is locked."""
        owners = query.owner_ids
        if limit is not None or owners is None or len(owners) != 1:
            return None
        if query != CustomerQuery(owner_ids=owners):
            return None
        (rep_id,) = owners
        return rep_id if rep_id in self._locked else None

    def forget(self) -> None:
        self._books.clear()

    def find(
        self, query: CustomerQuery, limit: int | None = None, *, after: str | None = None
    ) -> list[Customer]:
        rep_id = None if after is not None else self._book_of(query, limit)
        if rep_id is None:
            return self._inner.find(query, limit, after=after)
        book = self._books.get(rep_id)
        if book is None:
            book = {customer.id: customer for customer in self._inner.find(query)}
            self._books[rep_id] = book
        return list(book.values())

    def _follow(self, customer_id: str, now: Customer | None) -> None:
        for book in self._books.values():
            book.pop(customer_id, None)
        if now is not None and now.owner_id in self._books:
            self._books[now.owner_id][customer_id] = now

    def add(self, customer: Customer, schedule: Schedule) -> None:
        self._inner.add(customer, schedule)
        self._follow(customer.id, customer)

    def update(self, customer: Customer, schedule: Schedule, expected_version: int) -> None:
        self._inner.update(customer, schedule, expected_version)
        self._follow(customer.id, customer)

    def remove(self, customer_id: str, expected_version: int) -> None:
        self._inner.remove(customer_id, expected_version)
        self._follow(customer_id, None)

    def get(self, customer_id: str) -> Customer | None:
        return self._inner.get(customer_id)

    def with_keys(self, keys: frozenset[IdentityKey]) -> list[Customer]:
        return self._inner.with_keys(keys)

    def similar_names(self, blocks: frozenset[str], per_block: int) -> list[tuple[str, str]]:
        return self._inner.similar_names(blocks, per_block)

    def due(self, at: datetime, limit: int) -> list[Customer]:
        return self._inner.due(at, limit)

    def upcoming(self, at: datetime, limit: int) -> list[Customer]:
        return self._inner.upcoming(at, limit)

    def schedule_of(self, customer_id: str) -> Schedule | None:
        return self._inner.schedule_of(customer_id)

    def ids(self) -> Iterator[str]:
        return self._inner.ids()

    def count(self) -> int:
        return self._inner.count()

    def tally(self) -> list[CustomerTally]:
        return self._inner.tally()

    def page(
        self,
        queries: Sequence[CustomerQuery],
        order: CustomerOrder,
        *,
        descending: bool = False,
        after: Position | None = None,
        limit: int,
    ) -> list[tuple[Customer, Position]]:
        return self._inner.page(queries, order, descending=descending, after=after, limit=limit)

    def count_matching(self, queries: Sequence[CustomerQuery]) -> int:
        return self._inner.count_matching(queries)


class BookKeeping:
    """``inner``, an open unit of work, whose customers keep each locked rep's book."""

    def __init__(self, inner: UnitOfWork) -> None:
        self._inner = inner
        self._locked: set[str] = set()
        self._customers = _Books(inner.customers, self._locked)

    @property
    def customers(self) -> CustomerRepository:
        return self._customers

    @property
    def reps(self) -> RepRepository:
        return self._inner.reps

    @property
    def pools(self) -> PoolRepository:
        return self._inner.pools

    @property
    def events(self) -> EventLog:
        return self._inner.events

    @property
    def settings(self) -> Settings:
        return self._inner.settings

    @property
    def reviews(self) -> ReviewRepository:
        return self._inner.reviews

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """The inner unit of work is its opener's to close."""

    def lock_rep(self, rep_id: str) -> None:
        self._inner.lock_rep(rep_id)
        self._locked.add(rep_id)

    def lock_pool(self, pool_id: str) -> None:
        self._inner.lock_pool(pool_id)

    def commit(self) -> None:
        self._inner.commit()
        self._forget()

    def rollback(self) -> None:
        self._inner.rollback()
        self._forget()

    def _forget(self) -> None:
        # The transaction ended: its locks are gone, and the books it read vouch for nothing.
        self._locked.clear()
        self._customers.forget()
