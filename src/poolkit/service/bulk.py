"""Bulk moves: one move for many customers in one call (批量领取, 批量分配, 批量转移...).

Each bulk operation runs, for every customer, the very step of the single move in
:mod:`poolkit.service.moves` (its state check, right, caps and event), so a bulk move
obeys every rule a single one does and writes the same events. What it adds is the unit
of work around the steps, chosen by :class:`BulkMode`:

- ``ALL_OR_NOTHING``: every customer in one unit of work; the first refusal rolls it
  back, and the result names that customer, its refusal, and every other customer as not
  done because of it (:class:`~poolkit.errors.BulkAborted`).
- ``PER_CUSTOMER``: each customer done or refused on its own. The customers run in
  chunks of :data:`CHUNK`, one unit of work per chunk, so 300 customers cost 3 commits,
  not 300. A refused step writes nothing, so a refusal leaves the chunk's other moves in
  place. A rep's cap or claim limit reached part-way refuses the rest with its reason:
  each step counts the rep's holdings inside the unit of work, after the moves before it.

A cap check counts the rep's holdings with one indexed count
(:meth:`~poolkit.ports.CustomerRepository.holdings`), not by reading the rep's book, so
300 claims for one rep cost 300 counts, whatever the size of the book.

A transient store failure (a race lost on PostgreSQL) runs the chunk again from its
start, like a single move is run again; a chunk's moves are never half written.
"""

from __future__ import annotations

import enum
import functools
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import attrs

from poolkit.errors import (
    BulkAborted,
    InvalidValueError,
    PoolkitError,
    StaleVersionError,
    StoreError,
)
from poolkit.model._checks import require_text
from poolkit.model.customer import Customer
from poolkit.model.events import Event
from poolkit.model.rep import Rep
from poolkit.service._core import Operation, Work
from poolkit.service._retry import run_retried
from poolkit.service.moves import MoveJobs, return_reason

__all__ = ["CHUNK", "MAX_BULK", "BulkItem", "BulkJobs", "BulkMode", "BulkResult"]

MAX_BULK = 1000
"""The most customers one bulk call takes: an all-or-nothing call holds its unit of work
(and, on PostgreSQL, the locks of the reps it counts) for all of them at once."""

CHUNK = 100
"""Customers per unit of work in ``PER_CUSTOMER`` mode: few commits, short locks."""


class BulkMode(enum.Enum):
    """How the customers of one bulk move stand or fall."""

    ALL_OR_NOTHING = "all-or-nothing"
    PER_CUSTOMER = "per-customer"


@attrs.frozen
class BulkItem:
    """One customer of a bulk move: done (``customer`` is it after the move), or refused
    (``refusal`` is the error the single move would have raised, or
    :class:`~poolkit.errors.BulkAborted` for the customers an all-or-nothing call did
    not do because another was refused)."""

    customer_id: str
    customer: Customer | None = None
    refusal: PoolkitError | None = None

    @property
    def done(self) -> bool:
        return self.refusal is None

    @property
    def reason(self) -> str:
        """Why it was refused, as a person reads it; empty when done."""
        return "" if self.refusal is None else str(self.refusal)


@attrs.frozen
class BulkResult:
    """What a bulk move came to: one :class:`BulkItem` per customer, in the order asked."""

    operation: str
    mode: BulkMode
    items: tuple[BulkItem, ...]

    @property
    def done(self) -> tuple[BulkItem, ...]:
        return tuple(item for item in self.items if item.done)

    @property
    def refused(self) -> tuple[BulkItem, ...]:
        return tuple(item for item in self.items if not item.done)

    @property
    def done_count(self) -> int:
        return sum(1 for item in self.items if item.done)

    @property
    def refused_count(self) -> int:
        return len(self.items) - self.done_count

    @property
    def all_done(self) -> bool:
        return self.refused_count == 0


Step = Callable[[Operation], Event]


def is_refusal(error: PoolkitError) -> bool:
    """A refusal of one customer, as opposed to a failure of the store (which is retried
    or ends the call)."""
    return not isinstance(error, StoreError | StaleVersionError)


def requested(customer_ids: Iterable[str]) -> tuple[str, ...]:
    """The ids of a bulk call, checked: text, at least one, at most :data:`MAX_BULK`,
    none twice (a second move of one customer in one call is a caller's mistake)."""
    ids = tuple(require_text("customer_ids", each) for each in customer_ids)
    if not ids:
        raise InvalidValueError("customer_ids", "give at least one customer id")
    if len(ids) > MAX_BULK:
        raise InvalidValueError(
            "customer_ids", f"{len(ids)} ids: a bulk move takes at most {MAX_BULK}"
        )
    twice = sorted(each for each, count in Counter(ids).items() if count > 1)
    if twice:
        raise InvalidValueError("customer_ids", f"ids given more than once: {', '.join(twice)}")
    return ids


class BulkJobs(MoveJobs):
    def bulk_claim(
        self, actor_id: str, customer_ids: Iterable[str], *, mode: BulkMode
    ) -> BulkResult:
        """Claim many public customers for the actor (批量领取), each as :meth:`claim`."""
        return self._bulk("claim", actor_id, customer_ids, mode, self._claim_step)

    def bulk_assign(
        self, actor_id: str, customer_ids: Iterable[str], to_rep_id: str, *, mode: BulkMode
    ) -> BulkResult:
        """Assign many public customers to one rep (批量分配), each as :meth:`assign`."""
        step = functools.partial(self._assign_step, to_rep_id=to_rep_id)
        return self._bulk("assign", actor_id, customer_ids, mode, step)

    def bulk_transfer(
        self, actor_id: str, customer_ids: Iterable[str], to_rep_id: str, *, mode: BulkMode
    ) -> BulkResult:
        """Hand many of the actor's customers to a colleague (批量转移), each as
        :meth:`transfer`."""
        step = functools.partial(self._transfer_step, to_rep_id=to_rep_id)
        return self._bulk("transfer", actor_id, customer_ids, mode, step)

    def bulk_return_to_pool(
        self, actor_id: str, customer_ids: Iterable[str], reason: str, *, mode: BulkMode
    ) -> BulkResult:
        """Give many customers back to their public pools (批量退回), one reason for all,
        each as :meth:`return_to_pool`."""
        step = functools.partial(self._return_step, reason=return_reason(reason))
        return self._bulk("return", actor_id, customer_ids, mode, step)

    def bulk_recycle(
        self, actor_id: str, customer_ids: Iterable[str], reason: str = "", *, mode: BulkMode
    ) -> BulkResult:
        """Take many customers back to their pools (批量回收), each as :meth:`recycle`."""
        step = functools.partial(self._recycle_step, reason=reason)
        return self._bulk("recycle", actor_id, customer_ids, mode, step)

    def bulk_freeze(
        self, actor_id: str, customer_ids: Iterable[str], reason: str = "", *, mode: BulkMode
    ) -> BulkResult:
        """Put many customers in the recycle bin (批量冻结), each as :meth:`freeze`."""
        step = functools.partial(self._freeze_step, reason=reason)
        return self._bulk("freeze", actor_id, customer_ids, mode, step)

    def bulk_change_grade(
        self, actor_id: str, customer_ids: Iterable[str], grade: str | None, *, mode: BulkMode
    ) -> BulkResult:
        """Give many customers one grade (批量改等级), each as :meth:`change_grade`."""
        step = functools.partial(self._change_grade_step, grade=grade)
        return self._bulk("change grade", actor_id, customer_ids, mode, step)

    def _bulk(
        self,
        operation: str,
        actor_id: str,
        customer_ids: Iterable[str],
        mode: BulkMode,
        step: Step,
    ) -> BulkResult:
        ids = requested(customer_ids)
        # One instant for the whole call: its events tell of one action.
        at = self._now()
        if mode is BulkMode.ALL_OR_NOTHING:
            items = run_retried(
                functools.partial(self._all_or_nothing, operation, actor_id, ids, step, at)
            )
        else:
            items = []
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                first = start == 0
                items += run_retried(
                    functools.partial(self._per_customer, actor_id, chunk, step, at, first)
                )
        return BulkResult(operation, mode, tuple(items))

    def _move(self, work: Work, actor: Rep, customer_id: str, step: Step) -> Customer:
        """One customer's move inside ``work``: the single move's step, then its write."""
        op = Operation(work, actor, self._customer(work.uow, customer_id))
        return self._write(work, op.customer, step(op))

    def _per_customer(
        self, actor_id: str, ids: Sequence[str], step: Step, at: datetime, first: bool
    ) -> list[BulkItem]:
        with self._work(at) as work:
            try:
                actor = work.team.actor(actor_id)
            except PoolkitError as error:
                # Before anything is done, a departed or unknown actor is the caller's
                # mistake; once chunks are committed, it refuses the rest of them.
                if first or not is_refusal(error):
                    raise
                return [BulkItem(customer_id, refusal=error) for customer_id in ids]
            items = []
            for customer_id in ids:
                try:
                    items.append(BulkItem(customer_id, self._move(work, actor, customer_id, step)))
                except PoolkitError as error:
                    if not is_refusal(error):
                        raise
                    items.append(BulkItem(customer_id, refusal=error))
            work.uow.commit()
            return items

    def _all_or_nothing(
        self, operation: str, actor_id: str, ids: Sequence[str], step: Step, at: datetime
    ) -> list[BulkItem]:
        with self._work(at) as work:
            actor = work.team.actor(actor_id)
            items = []
            for customer_id in ids:
                try:
                    items.append(BulkItem(customer_id, self._move(work, actor, customer_id, step)))
                except PoolkitError as error:
                    if not is_refusal(error):
                        raise
                    # Leaving the unit of work uncommitted rolls back the moves before.
                    return [
                        BulkItem(customer_id, refusal=error)
                        if other == customer_id
                        else BulkItem(
                            other, refusal=BulkAborted(other, operation, customer_id, error)
                        )
                        for other in ids
                    ]
            work.uow.commit()
            return items
