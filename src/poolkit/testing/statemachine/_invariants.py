"""What the machine checks after every step, over the store and the event log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hypothesis.stateful import invariant

from poolkit.model.customer import Customer
from poolkit.model.events import (
    Assigned,
    Claimed,
    Deleted,
    Dropped,
    Event,
    Frozen,
    Restored,
    Warned,
)
from poolkit.model.history import replay
from poolkit.model.rep import Rep
from poolkit.model.schedule import Schedule
from poolkit.testing.statemachine._reference import (
    FROZEN,
    PRIVATE,
    PUBLIC,
    expected_from,
    same_instant,
    utc,
)
from poolkit.testing.statemachine._state import MachineState


class Invariants(MachineState):
    """The store agrees with the model, and the event log with the rules."""

    @invariant()
    def store_agrees_with_model_and_rules(self) -> None:
        with self.store.unit_of_work() as uow:
            stored = {cid: uow.customers.get(cid) for cid in uow.customers.ids()}
            schedules = {cid: uow.customers.schedule_of(cid) for cid in stored}
            histories = {cid: uow.events.history(cid) for cid in uow.events.customer_ids()}
            pools = {pool.id for pool in uow.pools.all()}
            reps = {rep.id: rep for rep in uow.reps.all()}
        customers = {cid: c for cid, c in stored.items() if c is not None}
        assert len(customers) == len(stored)
        self._check_places(customers, pools)
        self._check_model(customers, schedules, reps)
        self._check_caps(customers, reps)
        self._check_claim_limits(histories, reps)
        self._check_histories(customers, histories)

    def _check_places(self, customers: dict[str, Customer], pools: set[str]) -> None:
        """Every live customer is in exactly one place."""
        for customer in customers.values():
            private = customer.status is PRIVATE and customer.owner_id is not None
            public = customer.status is PUBLIC and customer.owner_id is None
            frozen = customer.status is FROZEN and customer.owner_id is None
            assert private + public + frozen == 1, customer
            assert customer.pool_id in pools, f"{customer.id} is in unknown pool {customer.pool_id}"
            if private:
                assert customer.owner_id in self.reps, customer

    def _check_model(
        self,
        customers: dict[str, Customer],
        schedules: dict[str, Schedule | None],
        reps: dict[str, Rep],
    ) -> None:
        assert set(customers) == set(self.model), (
            f"store holds {sorted(customers)}, the model {sorted(self.model)}"
        )
        assert not set(customers) & self.deleted, "a deleted customer came back"
        for customer_id, expected in self.model.items():
            customer = customers[customer_id]
            where = f"customer {customer_id}"
            assert customer.status is expected.status, (where, customer.status, expected.status)
            assert customer.owner_id == expected.owner, (where, customer.owner_id, expected.owner)
            assert customer.pool_id == expected.pool, (where, customer.pool_id, expected.pool)
            assert customer.grade == expected.grade, where
            assert customer.keys == expected.keys, where
            assert customer.locked == expected.locked, where
            for name, value, model_value in (
                ("created_at", customer.created_at, expected.created_at),
                ("owned_since", customer.owned_since, expected.owned_since),
                ("public_since", customer.public_since, expected.public_since),
                ("last_follow_up_at", customer.last_follow_up_at, expected.last_follow_up),
                ("last_deal_at", customer.last_deal_at, expected.last_deal),
                ("warned_due_at", customer.warned_due_at, expected.warned_due),
            ):
                assert same_instant(value, model_value), (where, name, value, model_value)
            assert set(customer.related_reps) == set(expected.related), where
            by_kind = customer.last_follow_up_by_kind
            assert set(by_kind) == set(expected.follow_ups), (where, dict(by_kind))
            for kind, at in by_kind.items():
                assert same_instant(at, expected.follow_ups[kind]), (where, kind)
            for rep_id, since in customer.related_reps.items():
                assert same_instant(since, expected.related[rep_id]), (where, rep_id)
            drop_at, warn_at = expected.schedule(self.rule_book)
            plan = schedules[customer_id] or Schedule()
            assert same_instant(plan.drop_at, drop_at), (where, "drop at", plan.drop_at, drop_at)
            assert same_instant(plan.warn_at, warn_at), (where, "warn at", plan.warn_at, warn_at)
        for rep_id, rep in reps.items():
            assert rep.active == self.reps[rep_id].active, rep_id
            assert rep.available == self.reps[rep_id].available, rep_id
            if not rep.active:
                owned = [c.id for c in customers.values() if c.owner_id == rep_id]
                assert not owned, f"departed {rep_id} still owns {owned}"

    def _check_caps(self, customers: dict[str, Customer], reps: dict[str, Rep]) -> None:
        caps = self.rule_book.caps
        held: dict[str, int] = {}
        for customer in customers.values():
            if customer.owner_id is None:
                continue
            if not caps.count_dealt and customer.last_deal_at is not None:
                continue
            if not caps.count_locked and customer.locked:
                continue
            held[customer.owner_id] = held.get(customer.owner_id, 0) + 1
        for rep_id, count in held.items():
            cap = self._cap(rep_id)
            assert cap is None or count <= cap, f"{rep_id} holds {count}, above a cap of {cap}"

    def _check_claim_limits(self, histories: dict[str, list[Event]], reps: dict[str, Rep]) -> None:
        claims: dict[str, list[datetime]] = {}
        for history in histories.values():
            for event in history:
                if isinstance(event, Claimed):
                    claims.setdefault(event.rep_id, []).append(event.at)
        for rep_id, times in claims.items():
            assert sorted(map(utc, times)) == sorted(map(utc, self.claims.get(rep_id, [])))
            limit = self._claim_limit(rep_id)
            if limit is None:
                continue
            for claim in times:
                count = self._claims_in_window(times, claim)
                assert count <= limit, f"{rep_id} made {count} claims in a window, limit {limit}"

    def _check_histories(
        self, customers: dict[str, Customer], histories: dict[str, list[Event]]
    ) -> None:
        assert set(customers) <= set(histories)
        for customer_id, history in histories.items():
            customer = customers.get(customer_id)
            cached = self.replayed.get(customer_id)
            if cached is not None and cached[0] == len(history):
                assert cached[1] == customer, f"{customer_id} changed without an event"
            else:
                rebuilt = replay(history)
                assert rebuilt == customer, (
                    f"replaying {customer_id} gives {rebuilt}, not {customer}"
                )
                self.replayed[customer_id] = (len(history), rebuilt)
            if customer_id in self.deleted:
                assert customer is None and isinstance(history[-1], Deleted), customer_id
            self._check_events(customer_id, history)

    def _check_events(self, customer_id: str, history: Sequence[Event]) -> None:
        """Nothing but a restore or a deletion after a freeze; no drop before its deadline
        nor a warning outside its window, each checked against the model's own deadline
        for the customer as it was just before."""
        frozen = False
        for index, event in enumerate(history):
            if frozen:
                assert isinstance(event, Restored | Deleted), (
                    f"{customer_id}: {event.kind} while in the recycle bin"
                )
            if isinstance(event, Frozen):
                frozen = True
            elif isinstance(event, Restored):
                frozen = False
            elif isinstance(event, Claimed | Assigned):
                assert not frozen
            if not isinstance(event, Dropped | Warned):
                continue
            key = (customer_id, event.seq)
            if key in self.checked_events:
                continue
            self.checked_events.add(key)
            if isinstance(event, Dropped) and event.rule is None:
                continue  # a departure, not a rule
            before = replay(history[:index])
            assert before is not None
            dues = expected_from(before).dues(self.rule_book)
            assert dues, f"{customer_id}: {event.kind} although no rule applied"
            first = dues[0]
            assert event.due_at is not None and same_instant(event.due_at, first.due_at)
            assert event.rule == first.rule.name
            if isinstance(event, Dropped):
                assert utc(event.at) >= first.due_at, f"{customer_id} dropped early: {event}"
            else:
                assert first.warn_at is not None
                assert first.warn_at <= utc(event.at) < first.due_at, event
