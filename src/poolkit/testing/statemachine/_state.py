"""What every step of the machine shares: the state ``set_up`` fills in, the model's
questions about it (rights, caps, claim limits, cooldowns, collisions), and how an
operation is attempted and checked against the refusals the model expects."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine

from poolkit.clock import ManualClock
from poolkit.errors import CustomerNotFound, PoolkitError, RepInactiveError
from poolkit.model.customer import Customer, IdentityKey
from poolkit.model.pool import Pool
from poolkit.model.rep import Rep
from poolkit.policy.config import Policy
from poolkit.ports import Store
from poolkit.service import PoolService
from poolkit.testing.statemachine._draws import either
from poolkit.testing.statemachine._reference import Expected, days_later, utc

T = TypeVar("T")
Refusals = set[type[PoolkitError]]


def refused(*checks: tuple[bool, type[PoolkitError]]) -> Refusals:
    """The refusals whose condition holds, from (condition, refusal) pairs."""
    return {refusal for holds, refusal in checks if holds}


CUSTOMERS: Bundle[str] = Bundle("customers")


class MachineState(RuleBasedStateMachine):
    """The state of one example and the model's questions about it; the steps live in
    subclasses."""

    customers: Bundle[str] = CUSTOMERS

    # Set by ``set_up``, the first step of every example.
    service: PoolService
    store: Store
    clock: ManualClock
    rule_book: Policy
    reps: dict[str, Rep]
    _rep_ids: tuple[str, ...]
    pools: dict[str, Pool]
    grades: tuple[str | None, ...]
    keys: tuple[IdentityKey, ...]
    _members: tuple[str, ...]
    _pool_ids: tuple[str, ...]
    model: dict[str, Expected]
    deleted: set[str]
    claims: dict[str, list[datetime]]
    departed: set[str]
    checked_events: set[tuple[str, int]]
    replayed: dict[str, tuple[int, Customer | None]]

    # ------------------------------------------------------------------ helpers

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def _pick(self, data: st.DataObject, likely: Iterable[str], label: str) -> str:
        """Half the time someone likely to have the right, else anyone at all."""
        drawn: str = data.draw(either(tuple(sorted(set(likely))), self._rep_ids), label)
        return drawn

    def _admins(self) -> list[str]:
        return [rep.id for rep in self.reps.values() if rep.is_admin]

    def _above(self, boss: str, rep_id: str) -> bool:
        current = self.reps[rep_id].supervisor_id
        while current is not None:
            if current == boss:
                return True
            current = self.reps[current].supervisor_id
        return False

    def _superiors(self, rep_id: str | None) -> list[str]:
        return [] if rep_id is None else [r for r in self.reps if self._above(r, rep_id)]

    def _above_owner(self, actor: str, expected: Expected) -> bool:
        return expected.owner is not None and self._above(actor, expected.owner)

    def _manages(self, actor: str, pool_id: str) -> bool:
        pool = self.pools.get(pool_id)
        return pool is not None and actor in pool.managers

    def _managers_and_superiors(self, expected: Expected) -> list[str]:
        """The reps besides admins who hold that right, to try as actors."""
        return [*self.pools[expected.pool].managers, *self._superiors(expected.owner)]

    def _manager_or_superior(self, actor: str, expected: Expected) -> bool:
        """The right of recycle, freeze and lock/unlock (docs/operations.md): admins,
        managers of the customer's pool, superiors of its owner."""
        return (
            self._admin(actor)
            or self._manages(actor, expected.pool)
            or self._above_owner(actor, expected)
        )

    def _sees_pool(self, rep_id: str, pool_id: str) -> bool:
        pool = self.pools[pool_id]
        return pool.is_default or rep_id in pool.members or rep_id in pool.managers

    def _admin(self, rep_id: str) -> bool:
        return self.reps[rep_id].is_admin

    def _cap(self, rep_id: str) -> int | None:
        if rep_id in self.rule_book.caps.per_rep:
            return self.rule_book.caps.per_rep[rep_id]
        personal = self.reps[rep_id].cap
        return personal if personal is not None else self.rule_book.caps.default

    def _counts_toward_cap(self, expected: Expected) -> bool:
        caps = self.rule_book.caps
        if not caps.count_dealt and expected.last_deal is not None:
            return False
        return caps.count_locked or not expected.locked

    def _held(self, rep_id: str) -> int:
        return sum(
            1
            for expected in self.model.values()
            if expected.owner == rep_id and self._counts_toward_cap(expected)
        )

    def _cap_full(self, rep_id: str) -> bool:
        cap = self._cap(rep_id)
        return cap is not None and self._held(rep_id) >= cap

    def _claim_limit(self, rep_id: str) -> int | None:
        limits = self.rule_book.claim_limit
        if rep_id in limits.per_rep:
            return limits.per_rep[rep_id]
        personal = self.reps[rep_id].claim_limit
        return personal if personal is not None else limits.max_claims

    def _claims_in_window(self, claim_times: Iterable[datetime], at: datetime) -> int:
        window = self.rule_book.claim_limit.window_days
        return sum(
            1 for t in claim_times if utc(t) <= utc(at) < days_later(t, window, self.rule_book.zone)
        )

    def _claim_limit_reached(self, rep_id: str) -> bool:
        limit = self._claim_limit(rep_id)
        return limit is not None and (
            self._claims_in_window(self.claims.get(rep_id, []), self.now) >= limit
        )

    def _cooling_down(self, rep_id: str, expected: Expected) -> bool:
        left = expected.related.get(rep_id)
        days = self.rule_book.cooldown_days
        return (
            bool(days)
            and left is not None
            and (utc(self.now) < days_later(left, days, self.rule_book.zone))
        )

    def _collides(self, keys: Iterable[IdentityKey]) -> bool:
        identifying = {key for key in keys if key.kind in self.rule_book.collision_keys}
        return any(identifying & expected.keys for expected in self.model.values())

    def _choose(
        self, data: st.DataObject, customer: str, prefer: Callable[[Expected], bool]
    ) -> str:
        """Half the time a live customer in a state the operation needs, else the one drawn
        from the bundle (which may be anywhere, or deleted)."""
        fitting = tuple(sorted(cid for cid, expected in self.model.items() if prefer(expected)))
        if not fitting:
            return customer
        drawn: str = data.draw(either(fitting, (customer,)), label="customer")
        return drawn

    def _basic_refusals(self, actor: str, customer_id: str | None = None) -> Refusals:
        """The refusals any operation gets from a departed actor or a deleted customer."""
        found: Refusals = set()
        if not self.reps[actor].active:
            found.add(RepInactiveError)
        if customer_id is not None and customer_id not in self.model:
            found.add(CustomerNotFound)
        return found

    def _snapshot(self) -> tuple[Any, ...]:
        """Everything the store holds (customers, schedules, histories, the review list of
        look-alikes, reps, pools), as comparable values."""
        with self.store.unit_of_work() as uow:
            customers = {}
            for customer_id in uow.customers.ids():
                customers[customer_id] = (
                    uow.customers.get(customer_id),
                    uow.customers.schedule_of(customer_id),
                )
            histories = {cid: uow.events.history(cid) for cid in uow.events.customer_ids()}
            reviews = uow.reviews.find()
            return customers, histories, reviews, uow.reps.all(), uow.pools.all()

    def _attempt(self, refusals: Refusals, operation: str, call: Callable[[], T]) -> T | None:
        """Run ``call``: it must succeed when ``refusals`` is empty, and otherwise raise one
        of them and leave the store exactly as it was."""
        # Without an expected refusal, any refusal fails the step whatever it changed.
        before = self._snapshot() if refusals else None
        try:
            result = call()
        except PoolkitError as error:
            assert refusals, f"{operation} was refused although the model allows it: {error!r}"
            assert self._snapshot() == before, f"refused {operation} changed the store: {error}"
            assert isinstance(error, tuple(refusals)), (
                f"{operation} was refused with {type(error).__name__} ({error}); the model "
                f"expected one of {sorted(kind.__name__ for kind in refusals)}"
            )
            return None
        assert not refusals, (
            f"{operation} succeeded although the model expected one of "
            f"{sorted(kind.__name__ for kind in refusals)}"
        )
        return result

    def _on_customer(
        self,
        data: st.DataObject,
        customer_id: str,
        operation: str,
        likely: Callable[[Expected], Iterable[str]],
        refusals: Callable[[str, Expected], Refusals],
        call: Callable[[str], Customer | None],
        succeeded: Callable[[str, Expected], None],
        actor: str | None = None,
    ) -> None:
        """The common shape of an operation on one customer by one actor (drawn, unless
        given)."""
        expected = self.model.get(customer_id)
        if actor is None:
            actor = self._pick(data, likely(expected) if expected else self._admins(), "actor")
        expect = self._basic_refusals(actor, customer_id)
        if expected is not None:
            expect |= refusals(actor, expected)
        self._attempt(expect, f"{operation} of {customer_id} by {actor}", lambda: call(actor))
        if expected is not None and not expect:
            succeeded(actor, expected)
