"""The counts the manager's report asks a store for: customers counted by status, pool,
owner and grade (:meth:`~poolkit.ports.CustomerRepository.tally`), and events counted by
kind over a span of time (:meth:`~poolkit.ports.EventLog.count_kinds`)."""

from __future__ import annotations

from poolkit.model.customer import CustomerStatus
from poolkit.model.events import Deleted
from poolkit.ports import CustomerTally, Store
from poolkit.testing.builders import (
    DAY,
    NEW_YORK,
    NO_SCHEDULE,
    SECOND,
    T0,
    claimed,
    followed_up,
    private,
    public,
)

PRIVATE, PUBLIC, FROZEN = CustomerStatus.PRIVATE, CustomerStatus.PUBLIC, CustomerStatus.FROZEN


class FiguresConformance:
    """The report's counts. Subclass with a ``store`` fixture returning a fresh, empty
    store."""

    def test_tally_counts_customers_by_status_pool_owner_and_grade(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            assert uow.customers.tally() == []
            for customer in (
                private("p1", grade="A"),
                private("p2", grade="A"),
                private("p3", owner_id="bob", grade="A"),
                private("p4"),
                public("q1", grade="B"),
                public("q2", pool_id="south", grade="B"),
                public("q3", pool_id="south"),
                public("f1", status=FROZEN, public_since=None, grade="B"),
            ):
                uow.customers.add(customer, NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.tally() == [
                CustomerTally(FROZEN, "north", None, "B", 1),
                CustomerTally(PRIVATE, "north", "alice", None, 1),
                CustomerTally(PRIVATE, "north", "alice", "A", 2),
                CustomerTally(PRIVATE, "north", "bob", "A", 1),
                CustomerTally(PUBLIC, "north", None, "B", 1),
                CustomerTally(PUBLIC, "south", None, None, 1),
                CustomerTally(PUBLIC, "south", None, "B", 1),
            ]

    def test_tally_follows_updates_and_removals(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(private("p1", grade="A"), NO_SCHEDULE)
            uow.customers.add(private("p2", grade="A"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            moved = public("p1", grade="A", version=2)
            uow.customers.update(moved, NO_SCHEDULE, 1)
            uow.customers.remove("p2", 1)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.customers.add(private("p3"), NO_SCHEDULE)
            uow.rollback()
        with store.unit_of_work() as uow:
            assert uow.customers.tally() == [CustomerTally(PUBLIC, "north", None, "A", 1)]

    def test_count_kinds_counts_from_since_up_to_but_not_at_until(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.events.append(followed_up("c1", 1, T0 - SECOND))
            uow.events.append(followed_up("c2", 1, T0))
            uow.events.append(claimed("c3", 1, T0 + SECOND))
            uow.events.append(claimed("c4", 1, T0 + DAY - SECOND, rep_id="bob"))
            uow.events.append(followed_up("c5", 1, T0 + DAY))
            uow.events.append(
                Deleted(customer_id="c2", seq=2, at=T0 + DAY - SECOND, actor_id="boss")
            )
            uow.commit()
        with store.unit_of_work() as uow:
            count = uow.events.count_kinds
            assert count(T0, T0 + DAY) == {"followed_up": 1, "claimed": 2, "deleted": 1}
            assert count(T0 - SECOND, T0) == {"followed_up": 1}
            assert count(T0 + SECOND, T0 + DAY - SECOND) == {"claimed": 1}
            assert count(T0 + DAY, T0 + 2 * DAY) == {"followed_up": 1}
            assert count(T0 + 2 * DAY, T0 + 3 * DAY) == {}
            assert count(T0 + DAY, T0) == {}
            # The same instants in another zone are the same span.
            local = count(T0.astimezone(NEW_YORK), (T0 + DAY).astimezone(NEW_YORK))
            assert local == count(T0, T0 + DAY)

    def test_count_kinds_forgets_what_was_rolled_back(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.events.append(followed_up("c1", 1, T0))
            uow.rollback()
        with store.unit_of_work() as uow:
            assert uow.events.count_kinds(T0 - DAY, T0 + DAY) == {}


__all__ = ["FiguresConformance"]
