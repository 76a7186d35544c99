"""The operations the machine tries, each by a drawn rep, each checked against the
refusals the model expects and, when it succeeds, applied to the model."""

from __future__ import annotations

from collections.abc import Callable

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import MultipleResults, multiple, precondition, rule

from poolkit.errors import (
    CapExceeded,
    ClaimLimitExceeded,
    CollisionError,
    CooldownActive,
    DuplicateIdError,
    InvalidValueError,
    PermissionDenied,
    PoolNotFound,
    RepInactiveError,
    WrongStateError,
)
from poolkit.model.customer import Customer, CustomerStatus
from poolkit.model.events import FollowUpKind
from poolkit.model.pool import PoolMode
from poolkit.testing import strategies as pst
from poolkit.testing.statemachine._draws import NO_SUCH_POOL, Create, creates, one_of
from poolkit.testing.statemachine._reference import FROZEN, PRIVATE, PUBLIC, Expected
from poolkit.testing.statemachine._state import CUSTOMERS, MachineState, Refusals, refused


class Operations(MachineState):
    """Creates, follow-ups, moves between owners and pools, freezes, deletions, locks,
    re-grades and departures."""

    @rule(target=CUSTOMERS, data=st.data(), count=st.integers(1, 3))
    def create(self, data: st.DataObject, count: int) -> MultipleResults[str]:
        """One to three customers entered, one by one."""
        created = [self._create_one(data) for _ in range(count)]
        return multiple(*[customer_id for customer_id in created if customer_id is not None])

    def _create_one(self, data: st.DataObject) -> str | None:
        known = tuple(sorted(set(self.model) | self.deleted))
        # One draw for the whole create: each draw has a fixed cost, paid again on every
        # replay while Hypothesis shrinks, and a create is the most frequent step.
        args: Create = data.draw(
            creates(self._members, self._rep_ids, self.keys, self.grades, self._pool_ids, known),
            label="create",
        )
        actor, public, keys, grade = args.actor, args.public, args.keys, args.grade
        name, pool_id, customer_id = args.name, args.pool_id, args.customer_id
        home = pool_id or next(p.id for p in self.pools.values() if p.is_default)
        expect = self._basic_refusals(actor)
        if home not in self.pools:
            expect.add(PoolNotFound)
        elif public and not (self._admin(actor) or self._sees_pool(actor, home)):
            expect.add(PermissionDenied)
        if customer_id is not None:
            expect.add(DuplicateIdError)
        if self._collides(keys):
            expect.add(CollisionError)
        if not public and self._cap_full(actor):
            expect.add(CapExceeded)
        created = self._attempt(
            expect,
            f"create by {actor}",
            lambda: self.service.create(
                actor,
                name,
                customer_id=customer_id,
                keys=keys,
                grade=grade,
                pool_id=pool_id,
                public=public,
            ),
        )
        if created is None:
            return None
        now = self.now
        self.model[created.id] = Expected(
            status=PUBLIC if public else PRIVATE,
            owner=None if public else actor,
            pool=home,
            grade=grade,
            keys=keys,
            created_at=now,
            owned_since=None if public else now,
            public_since=now if public else None,
        )
        return created.id

    @rule(customer=CUSTOMERS, data=st.data(), method=pst.follow_up_kinds())
    def follow_up(self, customer: str, data: st.DataObject, method: FollowUpKind) -> None:
        customer = self._choose(data, customer, lambda e: e.status is not FROZEN)

        def refusals(actor: str, expected: Expected) -> Refusals:
            allowed = (
                self._admin(actor)
                or expected.owner == actor
                or actor in expected.related
                or self._above_owner(actor, expected)
            )
            return refused(
                (expected.status is FROZEN, WrongStateError), (not allowed, PermissionDenied)
            )

        def succeeded(actor: str, expected: Expected) -> None:
            expected.last_follow_up = self.now
            expected.follow_ups[method.value] = self.now
            if method is FollowUpKind.DEAL:
                expected.last_deal = self.now

        self._on_customer(
            data,
            customer,
            f"{method.value} follow-up",
            lambda e: [*([e.owner] if e.owner else []), *e.related, *self._superiors(e.owner)],
            refusals,
            lambda actor: self.service.follow_up(actor, customer, method),
            succeeded,
        )

    @rule(customer=CUSTOMERS, data=st.data())
    def claim(self, customer: str, data: st.DataObject) -> None:
        self._claim(data, self._choose(data, customer, self._claimable))

    def _claimable(self, expected: Expected) -> bool:
        return (
            expected.status is PUBLIC and self.pools[expected.pool].mode is PoolMode.MEMBERS_CLAIM
        )

    def _claim(self, data: st.DataObject, customer: str, actor: str | None = None) -> None:
        def refusals(actor: str, expected: Expected) -> Refusals:
            pool = self.pools[expected.pool]
            return refused(
                (expected.status is not PUBLIC, WrongStateError),
                (not (self._admin(actor) or self._sees_pool(actor, pool.id)), PermissionDenied),
                (pool.mode is not PoolMode.MEMBERS_CLAIM, PermissionDenied),
                (self._cap_full(actor), CapExceeded),
                (self._claim_limit_reached(actor), ClaimLimitExceeded),
                (self._cooling_down(actor, expected), CooldownActive),
            )

        def succeeded(actor: str, expected: Expected) -> None:
            expected.take(actor, self.now)
            self.claims.setdefault(actor, []).append(self.now)

        self._on_customer(
            data,
            customer,
            "claim",
            lambda e: self.pools[e.pool].members,
            refusals,
            lambda actor: self.service.claim(actor, customer),
            succeeded,
            actor,
        )

    @rule(customer=CUSTOMERS, data=st.data())
    def assign(self, customer: str, data: st.DataObject) -> None:
        customer = self._choose(data, customer, lambda e: e.status is PUBLIC)
        expected = self.model.get(customer)
        pool = self.pools[expected.pool] if expected else None
        target = self._pick(data, pool.members if pool else (), "assign to")

        def refusals(actor: str, expected: Expected) -> Refusals:
            found: Refusals = set()
            if expected.status is not PUBLIC:
                found.add(WrongStateError)
            if not (self._admin(actor) or self._manages(actor, expected.pool)):
                found.add(PermissionDenied)
            if not self.reps[target].active:
                found.add(RepInactiveError)
            elif not (self._admin(target) or self._sees_pool(target, expected.pool)):
                found.add(PermissionDenied)
            elif self._cap_full(target):
                found.add(CapExceeded)
            return found

        self._on_customer(
            data,
            customer,
            f"assign to {target}",
            lambda e: [*self.pools[e.pool].managers, *self._admins()],
            refusals,
            lambda actor: self.service.assign(actor, customer, target),
            lambda actor, expected: expected.take(target, self.now),
        )

    @rule(customer=CUSTOMERS, data=st.data(), blank_reason=st.integers(0, 9))
    def return_to_pool(self, customer: str, data: st.DataObject, blank_reason: int) -> None:
        customer = self._choose(data, customer, lambda e: e.status is PRIVATE)
        reason = "  " if blank_reason == 0 else "not interested"

        def refusals(actor: str, expected: Expected) -> Refusals:
            found: Refusals = set()
            if expected.status is not PRIVATE:
                found.add(WrongStateError)
            elif expected.owner != actor:
                found.add(PermissionDenied)
            return found

        expected = self.model.get(customer)
        actor = self._pick(data, [expected.owner] if expected and expected.owner else [], "actor")
        # A blank reason is refused before anything else is looked at.
        expect: Refusals = {InvalidValueError} if not reason.strip() else set()
        if not expect:
            expect = self._basic_refusals(actor, customer)
            if expected is not None:
                expect |= refusals(actor, expected)
        self._attempt(
            expect,
            f"return of {customer} by {actor}",
            lambda: self.service.return_to_pool(actor, customer, reason),
        )
        if expected is not None and not expect:
            expected.release(self.now, PUBLIC)

    @rule(customer=CUSTOMERS, data=st.data())
    def recycle(self, customer: str, data: st.DataObject) -> None:
        self._release_by_a_manager(
            data,
            customer,
            "recycle",
            lambda e: e.status is PRIVATE,
            lambda actor, customer_id: self.service.recycle(actor, customer_id, "idle"),
            PUBLIC,
        )

    @rule(customer=CUSTOMERS, data=st.data())
    def transfer(self, customer: str, data: st.DataObject) -> None:
        customer = self._choose(data, customer, lambda e: e.status is PRIVATE)
        target = self._pick(data, [], "transfer to")

        def refusals(actor: str, expected: Expected) -> Refusals:
            return refused(
                (expected.status is not PRIVATE, WrongStateError),
                (expected.owner != actor, PermissionDenied),
                (not self.reps[target].active, RepInactiveError),
                (target == actor, InvalidValueError),
                (self._cap_full(target), CapExceeded),
            )

        self._on_customer(
            data,
            customer,
            f"transfer to {target}",
            lambda e: [e.owner] if e.owner else [],
            refusals,
            lambda actor: self.service.transfer(actor, customer, target),
            lambda actor, expected: expected.hand_over(target, self.now),
        )

    @rule(customer=CUSTOMERS, data=st.data())
    def reassign(self, customer: str, data: st.DataObject) -> None:
        customer = self._choose(data, customer, lambda e: e.status is PRIVATE)
        expected = self.model.get(customer)
        owner = expected.owner if expected else None
        colleagues = [
            r for r in self.reps if owner and self._superiors(r) == self._superiors(owner)
        ]
        target = self._pick(data, colleagues, "reassign to")

        def refusals(actor: str, expected: Expected) -> Refusals:
            if expected.status is not PRIVATE:
                return {WrongStateError}
            found: Refusals = set()
            if not self.reps[target].active:
                found.add(RepInactiveError)
            if target == expected.owner:
                found.add(InvalidValueError)
            allowed = self._admin(actor) or (
                self._above_owner(actor, expected)
                and (target == actor or self._above(actor, target))
            )
            if not allowed:
                found.add(PermissionDenied)
            if self._cap_full(target):
                found.add(CapExceeded)
            return found

        self._on_customer(
            data,
            customer,
            f"reassign to {target}",
            lambda e: [*self._superiors(e.owner), *self._admins()],
            refusals,
            lambda actor: self.service.reassign(actor, customer, target, "team contest"),
            lambda actor, expected: expected.hand_over(target, self.now),
        )

    @rule(customer=CUSTOMERS, data=st.data())
    def change_pool(self, customer: str, data: st.DataObject) -> None:
        customer = self._choose(data, customer, lambda e: e.status is PUBLIC)
        to_pool = data.draw(one_of(*self._pool_ids, NO_SUCH_POOL), label="to pool")

        def refusals(actor: str, expected: Expected) -> Refusals:
            allowed = self._admin(actor) or self._manages(actor, expected.pool)
            return refused(
                (expected.status is not PUBLIC, WrongStateError),
                (to_pool not in self.pools, PoolNotFound),
                (to_pool == expected.pool, InvalidValueError),
                (not allowed, PermissionDenied),
            )

        def succeeded(actor: str, expected: Expected) -> None:
            expected.pool = to_pool

        self._on_customer(
            data,
            customer,
            f"move to pool {to_pool}",
            lambda e: self.pools[e.pool].managers,
            refusals,
            lambda actor: self.service.change_pool(actor, customer, to_pool),
            succeeded,
        )

    @rule(customer=CUSTOMERS, data=st.data())
    def freeze(self, customer: str, data: st.DataObject) -> None:
        self._release_by_a_manager(
            data,
            customer,
            "freeze",
            lambda e: e.status is not FROZEN,
            lambda actor, customer_id: self.service.freeze(actor, customer_id, "one-year contract"),
            FROZEN,
        )

    def _release_by_a_manager(
        self,
        data: st.DataObject,
        customer: str,
        operation: str,
        fits: Callable[[Expected], bool],
        call: Callable[[str, str], Customer | None],
        into: CustomerStatus,
    ) -> None:
        """Recycle and freeze: a customer in a state that ``fits`` leaves its owner for
        ``into`` at the hands of an admin, a manager of its pool or a superior of its owner
        (docs/operations.md)."""
        customer = self._choose(data, customer, fits)

        def refusals(actor: str, expected: Expected) -> Refusals:
            return refused(
                (not fits(expected), WrongStateError),
                (not self._manager_or_superior(actor, expected), PermissionDenied),
            )

        self._on_customer(
            data,
            customer,
            operation,
            self._managers_and_superiors,
            refusals,
            lambda actor: call(actor, customer),
            lambda actor, expected: expected.release(self.now, into),
        )

    @rule(customer=CUSTOMERS, data=st.data())
    def restore(self, customer: str, data: st.DataObject) -> None:
        customer = self._choose(data, customer, lambda e: e.status is FROZEN)
        to_pool = data.draw(one_of(None, *self._pool_ids, NO_SUCH_POOL), label="to pool")

        def refusals(actor: str, expected: Expected) -> Refusals:
            found: Refusals = set()
            if expected.status is not FROZEN:
                found.add(WrongStateError)
            target = to_pool or expected.pool
            if target not in self.pools:
                found.add(PoolNotFound)
            elif not (self._admin(actor) or self._manages(actor, target)):
                found.add(PermissionDenied)
            return found

        def succeeded(actor: str, expected: Expected) -> None:
            expected.status, expected.public_since = PUBLIC, self.now
            expected.pool = to_pool or expected.pool

        self._on_customer(
            data,
            customer,
            f"restore into {to_pool}",
            lambda e: self.pools[to_pool].managers if to_pool in self.pools else self._admins(),
            refusals,
            lambda actor: self.service.restore(actor, customer, to_pool),
            succeeded,
        )

    @rule(customer=CUSTOMERS, data=st.data())
    def delete(self, customer: str, data: st.DataObject) -> None:
        def succeeded(actor: str, expected: Expected) -> None:
            del self.model[customer]
            self.deleted.add(customer)

        def call(actor: str) -> None:
            self.service.delete(actor, customer, "duplicate entry")

        self._on_customer(
            data,
            customer,
            "delete",
            lambda e: (),
            lambda actor, expected: set() if self._admin(actor) else {PermissionDenied},
            call,
            succeeded,
        )

    @rule(customer=CUSTOMERS, data=st.data(), locked=st.booleans())
    def set_lock(self, customer: str, data: st.DataObject, locked: bool) -> None:
        customer = self._choose(
            data, customer, lambda e: e.status is not FROZEN and e.locked is not locked
        )

        def refusals(actor: str, expected: Expected) -> Refusals:
            found: Refusals = set()
            if expected.status is FROZEN or expected.locked == locked:
                found.add(WrongStateError)
            if not self._manager_or_superior(actor, expected):
                found.add(PermissionDenied)
            if (
                not locked
                and expected.locked
                and expected.owner is not None
                and not self.rule_book.caps.count_locked
                and (self.rule_book.caps.count_dealt or expected.last_deal is None)
                and self._cap_full(expected.owner)
            ):
                # Unlocking makes the customer count toward its owner's cap again.
                found.add(CapExceeded)
            return found

        def succeeded(actor: str, expected: Expected) -> None:
            expected.locked = locked

        self._on_customer(
            data,
            customer,
            "lock" if locked else "unlock",
            self._managers_and_superiors,
            refusals,
            lambda actor: (self.service.lock if locked else self.service.unlock)(actor, customer),
            succeeded,
        )

    @rule(customer=CUSTOMERS, data=st.data())
    def change_grade(self, customer: str, data: st.DataObject) -> None:
        customer = self._choose(data, customer, lambda e: e.status is not FROZEN)
        grade = data.draw(one_of(*self.grades), label="grade")

        def refusals(actor: str, expected: Expected) -> Refusals:
            allowed = (
                self._admin(actor)
                or expected.owner == actor
                or self._above_owner(actor, expected)
                or self._manages(actor, expected.pool)
            )
            return refused(
                (expected.status is FROZEN, WrongStateError),
                (not allowed, PermissionDenied),
                (grade == expected.grade, InvalidValueError),
            )

        def succeeded(actor: str, expected: Expected) -> None:
            expected.grade = grade

        self._on_customer(
            data,
            customer,
            f"re-grade to {grade}",
            lambda e: [*([e.owner] if e.owner else []), *self.pools[e.pool].managers],
            refusals,
            lambda actor: self.service.change_grade(actor, customer, grade),
            succeeded,
        )

    @precondition(lambda self: not self.departed and len(self.model) >= 2)
    @rule(data=st.data())
    def depart(self, data: st.DataObject) -> None:
        """Rarely: once per example at most, and only once there are customers to drop."""
        actor = self._pick(data, self._admins(), "actor")
        owners = [e.owner for e in self.model.values() if e.owner is not None and e.owner != actor]
        leaver = self._pick(data, owners, "leaver")
        expect = self._basic_refusals(actor)
        if not self._admin(actor):
            expect.add(PermissionDenied)
        if leaver == actor or not self.reps[leaver].active:
            expect.add(InvalidValueError)
        report = self._attempt(
            expect, f"departure of {leaver} by {actor}", lambda: self.service.depart(actor, leaver)
        )
        if report is None:
            return
        owned = sorted(cid for cid, e in self.model.items() if e.owner == leaver)
        assert sorted(report.dropped) == owned, (
            f"departure of {leaver} dropped {sorted(report.dropped)}, the model expected {owned}"
        )
        for customer_id in owned:
            self.model[customer_id].release(self.now, PUBLIC)
        self.reps[leaver] = attrs.evolve(self.reps[leaver], active=False)
        self.departed.add(leaver)

    @rule(data=st.data(), available=st.booleans())
    def set_availability(self, data: st.DataObject, available: bool) -> None:
        """A rep marks themselves away or back (or a superior or an admin does). Only
        automatic assignment reads it, and the machine's policies assign nothing
        automatically, so no customer may change: the invariants check that."""
        rep_id = self._pick(data, self._rep_ids, "rep")
        actor = self._pick(data, [rep_id, *self._superiors(rep_id), *self._admins()], "actor")
        expect = self._basic_refusals(actor)
        if not (self._admin(actor) or actor == rep_id or self._above(actor, rep_id)):
            expect.add(PermissionDenied)
        changed = self._attempt(
            expect,
            f"set the availability of {rep_id} by {actor}",
            lambda: self.service.set_availability(actor, rep_id, available),
        )
        if changed is None:
            return
        assert changed.available is available, changed
        self.reps[rep_id] = attrs.evolve(self.reps[rep_id], available=available)
