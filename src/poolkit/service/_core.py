"""What every job of the service shares: the unit of work with its policy, and writing.

Each operation opens one :class:`Work`: a unit of work, the policy in force (re-read by
version, so a change made by another process applies from the next unit of work), the
team as the rights see it, and the time. It loads, asks the rules and the rights, writes
the new state with its schedule and its event, and commits; a refusal raises before the
commit, so it changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import attrs

from poolkit.clock import Clock
from poolkit.errors import (
    CapExceeded,
    CollisionError,
    CustomerNotFound,
    InvalidValueError,
    LockCapExceeded,
    PermissionDenied,
    WrongStateError,
)
from poolkit.identity.masking import mask_value
from poolkit.ids import TimeOrderedIds
from poolkit.model.customer import Customer, CustomerStatus, IdentityKey
from poolkit.model.events import Deleted, Edited, Event
from poolkit.model.history import apply
from poolkit.model.rep import Rep
from poolkit.model.review import ReviewStatus
from poolkit.policy import rules
from poolkit.policy.config import Policy
from poolkit.ports import Store, UnitOfWork
from poolkit.service import _reviews
from poolkit.service._arguments import check_instant
from poolkit.service._shown import hides_keys
from poolkit.service.access import Access
from poolkit.service.rights import Verdict
from poolkit.service.stored_policy import (
    SCHEDULES_KEY,
    StoredPolicy,
    load,
    open_policy,
    read_version,
)

E = TypeVar("E", bound=Event)


@attrs.frozen
class Work:
    """One unit of work of an operation, with the policy in force and the team."""

    uow: UnitOfWork
    stored: StoredPolicy
    team: Access
    at: datetime

    @property
    def policy(self) -> Policy:
        return self.stored.policy


@attrs.frozen
class Operation:
    """An operation on one customer by one rep, inside its :class:`Work`."""

    work: Work
    actor: Rep
    customer: Customer

    def allow(self, verdict: Verdict, operation: str) -> None:
        """Raise :class:`PermissionDenied` with the right's reason unless it allows."""
        if not verdict.allowed:
            raise PermissionDenied(
                self.actor.id, operation, f"customer {self.customer.id!r}", verdict.reason
            )

    def event(self, kind: type[E], **payload: Any) -> E:
        """The next event of the customer's history, by the actor, now."""
        return next_event(kind, self.customer, self.work.at, self.actor.id, **payload)


def next_event(
    kind: type[E], customer: Customer, at: datetime, actor_id: str | None, **payload: Any
) -> E:
    """The next event of ``customer``'s history."""
    return kind(
        customer_id=customer.id, seq=customer.version + 1, at=at, actor_id=actor_id, **payload
    )


def require_state(customer: Customer, operation: str, *states: CustomerStatus) -> None:
    if customer.status not in states:
        expected = " or ".join(state.value for state in states)
        raise WrongStateError(
            customer.id, operation, customer.where, expected, owner_id=customer.owner_id
        )


def owner_of(customer: Customer, operation: str) -> str:
    """The owner of a customer that must have one (a private customer)."""
    if customer.owner_id is None:
        raise WrongStateError(customer.id, operation, customer.where, "private")
    return customer.owner_id


class OperationScope:
    """The context manager :meth:`ServiceCore._operation` returns: the unit of work of an
    operation on one customer, open from ``with`` to its end, giving the
    :class:`Operation`. Written out, rather than as a generator's context manager around
    :meth:`ServiceCore._work`'s, because every single move opens one: the two generators
    (made, advanced, and stopped with an exception each) were a sizeable part of a claim's
    Python."""

    __slots__ = ("_actor_id", "_core", "_customer_id", "_lock_actor", "_uow")

    def __init__(self, core: ServiceCore, actor_id: str, customer_id: str, lock: bool) -> None:
        self._core = core
        self._actor_id = actor_id
        self._customer_id = customer_id
        self._lock_actor = lock
        self._uow: UnitOfWork | None = None

    def __enter__(self) -> Operation:
        core, actor_id, customer_id = self._core, self._actor_id, self._customer_id
        locked = (actor_id,) if self._lock_actor else ()
        at = core._now()
        uow = core.store.unit_of_work().__enter__()
        try:
            work = core._opened(uow, at, (customer_id,), (actor_id,), True, locked, locked)
            actor = work.team.actor(actor_id)
            operation = Operation(work, actor, core._customer(uow, customer_id))
        except BaseException as error:
            uow.__exit__(type(error), error, error.__traceback__)
            raise
        self._uow = uow
        return operation

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        uow, self._uow = self._uow, None
        if uow is not None:
            uow.__exit__(exc_type, exc, tb)


class ServiceCore:
    """The state and helpers the jobs of :class:`~poolkit.service.PoolService` share."""

    def __init__(
        self,
        store: Store,
        policy: Policy | None,
        clock: Clock,
        *,
        sweep_batch: int = 500,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        if sweep_batch < 1:
            raise InvalidValueError("sweep_batch", "must be > 0")
        self.store = store
        self.clock = clock
        self._sweep_batch = sweep_batch
        self._new_id = new_id or TimeOrderedIds(clock)
        self._lock = threading.Lock()
        with store.unit_of_work() as uow:
            self._stored = open_policy(uow, policy)
            uow.commit()

    @property
    def policy(self) -> Policy:
        """The policy stored in the store, as of this service's last unit of work."""
        with self.store.unit_of_work() as uow:
            return self._stored_in(uow).policy

    def _stored_in(self, uow: UnitOfWork) -> StoredPolicy:
        """The stored policy, parsed again only when its version moved on."""
        cached = self._stored
        version = read_version(uow.settings)
        if version == cached.version:
            schedules = uow.settings.get(SCHEDULES_KEY)
            if schedules == str(cached.schedules_version):
                return cached
        fresh = load(uow.settings)
        if fresh is None:  # the store was emptied under us: keep working with what we had
            return cached
        with self._lock:
            self._stored = fresh
        return fresh

    def _now(self) -> datetime:
        return check_instant("clock.now()", self.clock.now())

    @contextmanager
    def _work(
        self,
        at: datetime | None = None,
        *,
        customers: Collection[str] = (),
        reps: Collection[str] = (),
        to_change: bool = False,
        lock_reps: Collection[str] = (),
        limited: Collection[str] = (),
    ) -> Iterator[Work]:
        """A unit of work with the policy in force; the caller commits. ``customers``,
        ``reps``, ``to_change`` and ``lock_reps``: what the caller reads and locks first
        (``UnitOfWork.read_ahead``), so that a store with a server fetches it together with
        the policy's version. ``limited``: reps whose cap and claim limit the caller checks
        next (locked in ``lock_reps``): their holdings and claims of the window are read
        ahead too, where the policy as last read limits them."""
        at = self._now() if at is None else at
        with self.store.unit_of_work() as uow:
            yield self._opened(uow, at, customers, reps, to_change, lock_reps, limited)

    def _opened(
        self,
        uow: UnitOfWork,
        at: datetime,
        customers: Collection[str],
        reps: Collection[str],
        to_change: bool,
        lock_reps: Collection[str],
        limited: Collection[str],
    ) -> Work:
        """The :class:`Work` of :meth:`_work` in ``uow``, just opened."""
        if customers or reps or lock_reps:
            holdings_of, claims_of = self._limits_of(limited, at)
            uow.read_ahead(
                customers=customers,
                reps=reps,
                to_change=to_change,
                lock_reps=lock_reps,
                holdings_of=holdings_of,
                claims_of=claims_of,
            )
        return Work(uow, self._stored_in(uow), Access(uow.reps, uow.pools), at)

    def _limits_of(
        self, reps: Collection[str], at: datetime
    ) -> tuple[list[str], list[tuple[str, datetime]]]:
        """What :meth:`_check_cap` and the claim limit will read of ``reps``, by the policy
        as last read: the reps with a cap, and the reps with a claim limit with the start
        of their window. A rep's own cap or limit (on its record, not read yet) is not
        known here: its count is then read when it is checked, as without reading ahead;
        and if the policy changed meanwhile, the claims read ahead are since another
        instant, and are not served."""
        if not reps:
            return [], []
        policy = self._stored.policy
        holdings_of = [rep for rep in reps if policy.cap_for(rep, None) is not None]
        claims_of = [
            (rep, rules.claim_window_start(at, policy))
            for rep in reps
            if policy.claim_limit_for(rep, None) is not None
        ]
        return holdings_of, claims_of

    def _operation(
        self, actor_id: str, customer_id: str, *, lock_actor: bool = False
    ) -> OperationScope:
        """Load the active actor and the customer, to change it, in a new :class:`Work`;
        ``lock_actor``: lock the actor's decisions too (``lock_rep``), from the start, and
        read ahead what the actor's cap and claim limit count."""
        return OperationScope(self, actor_id, customer_id, lock_actor)

    def _commit(self, op: Operation, event: Event) -> Customer:
        """Write the operation's event and commit."""
        changed = self._write(op.work, op.customer, event)
        op.work.uow.commit()
        return changed

    def _customer(self, uow: UnitOfWork, customer_id: str) -> Customer:
        customer = uow.customers.get(customer_id)
        if customer is None:
            raise CustomerNotFound(customer_id)
        return customer

    def _write(self, work: Work, customer: Customer, event: Event) -> Customer:
        """Apply ``event`` to ``customer`` and store both, in the caller's unit of work.

        The review list follows along here, for every operation alike: a deleted customer's
        open items close, and a new name is checked for look-alikes like a new customer.
        What can refuse (a deadline past the calendar's end) is computed before the first
        write, so a refusal leaves the unit of work as it was: a bulk move goes on with the
        next customer.
        """
        uow = work.uow
        changed = apply(customer, event)
        if changed is None:
            uow.events.append(event)
            uow.customers.remove(customer.id, customer.version)
            if isinstance(event, Deleted):
                for item in uow.reviews.find(ReviewStatus.OPEN, customer.id):
                    uow.reviews.update(
                        _reviews.resolved(item, ReviewStatus.CLOSED, event.actor_id, event.at)
                    )
            return customer
        schedule = rules.schedule(changed, work.policy)
        uow.events.append(event)
        uow.customers.update(changed, schedule, customer.version)
        if isinstance(event, Edited) and changed.name != customer.name:
            _reviews.file_reviews(uow, work.policy, changed, event.at)
        return changed

    def _check_cap(self, work: Work, rep: Rep) -> None:
        # Without a cap there is nothing to count.
        policy = work.policy
        if policy.cap_for(rep.id, rep.cap) is None:
            return
        work.uow.lock_rep(rep.id)
        decision = rules.check_cap(rep, work.uow.customers.holdings(rep.id), policy)
        if isinstance(decision, rules.CapFull):
            raise CapExceeded(rep.id, decision.limit, decision.count)

    def _check_lock_cap(self, work: Work, rep_id: str) -> None:
        """Refuse one more locked customer for ``rep_id`` at the lock cap. The rep is locked
        before the count, like for the cap, so two locks at once cannot both fit."""
        policy = work.policy
        if policy.lock_cap_for(rep_id) is None:
            return
        work.uow.lock_rep(rep_id)
        decision = rules.check_lock_cap(rep_id, work.uow.customers.holdings(rep_id), policy)
        if isinstance(decision, rules.CapFull):
            raise LockCapExceeded(rep_id, decision.limit, decision.count)

    def _receiver(self, work: Work, rep_id: str) -> Rep:
        """A rep about to receive a customer, locked before it is read, so that its
        departure or its cap cannot change before this unit of work commits."""
        work.uow.lock_rep(rep_id)
        return work.team.receiver(rep_id)

    def _check_collision(
        self,
        work: Work,
        keys: Iterable[IdentityKey],
        exclude: str | None = None,
        actor: Rep | None = None,
        holders: Mapping[IdentityKey, list[Customer]] | None = None,
    ) -> None:
        """Refuse keys another customer holds. The error names that customer and where it
        is; its key is masked for an ``actor`` who may not see its keys (the policy's
        ``visibility.mask_keys``), so a failed create cannot be used to read a number.
        ``holders``: the stored customers holding each of the keys, when the caller read
        them already (an import batch reads all its rows' keys in one lookup)."""
        identifying = rules.identifying_keys(keys, work.policy)
        if not identifying:
            return
        others = (
            work.uow.customers.with_keys(identifying)
            if holders is None
            else sorted(
                {c.id: c for key in identifying for c in holders.get(key, ())}.values(),
                key=lambda c: c.id,
            )
        )
        for other in others:
            if other.id == exclude:
                continue
            key = sorted(identifying & other.keys)[0]
            hidden = actor is not None and hides_keys(work.policy, work.team, actor, other)
            raise CollisionError(
                other.id,
                key.kind,
                mask_value(key.kind, key.value) if hidden else key.value,
                other.owner_id,
                other.pool_id,
                other.is_frozen,
                key_masked=hidden,
            )
