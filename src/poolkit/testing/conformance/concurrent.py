"""The contract of a store whose units of work run side by side, as a pytest test class.

:class:`~poolkit.testing.conformance.StoreConformance` requires units of work to be
serialised (the memory and SQLite stores are). A store for a server database
(:class:`~poolkit.stores.postgres.PostgresStore`) runs them side by side instead and guards
each invariant by what it touches (docs/concurrency.md). Put this class *before* the
conformance suite in the bases, so its checks replace the two serialised ones of the same
names::

    class TestMyStore(ConcurrentUnitsOfWork, StoreConformance):
        @pytest.fixture
        def store(self):
            return MyStore(...)

Every check here runs real units of work at once in threads and fails, rather than hangs,
when a store waits where it must not.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from poolkit.errors import CollisionError
from poolkit.model.customer import IdentityKey
from poolkit.model.rep import Rep
from poolkit.ports import CustomerQuery, Store
from poolkit.testing.builders import NO_SCHEDULE, T0, drop_at, private
from poolkit.testing.conformance._threads import HANDSHAKE_S, join_all, run_in_thread


class ConcurrentUnitsOfWork:
    """Units of work that run side by side without losing an update. Subclass together
    with ``StoreConformance`` (this class first) and a ``store`` fixture."""

    # How long a check gives a unit of work that must wait to get through anyway; the
    # passing path waits this long once per check.
    entry_grace_s = 0.2

    def test_a_unit_of_work_waits_until_the_open_one_ends(self, store: Store) -> None:
        """Replaces the serialised check: a second unit of work is not kept out while the
        first is open; it reads only what was committed, and its write of a row the first
        wrote waits until the first ends."""
        first_open, second_read = threading.Event(), threading.Event()
        seen: list[str | None] = []

        def second() -> None:
            assert first_open.wait(HANDSHAKE_S)
            with store.unit_of_work() as uow:
                seen.append(uow.settings.get("holder"))
                second_read.set()
                uow.settings.set("holder", "second")
                uow.commit()

        with store.unit_of_work() as uow:
            uow.settings.set("holder", "committed")
            uow.commit()
        thread, errors = run_in_thread(second)
        with store.unit_of_work() as uow:
            uow.settings.set("holder", "first")
            first_open.set()
            assert second_read.wait(HANDSHAKE_S), "a reader waited for a writer"
            assert seen == ["committed"], "a unit of work saw another's uncommitted write"
            thread.join(self.entry_grace_s)
            assert thread.is_alive(), "a write to a row another holds did not wait"
            uow.commit()
        join_all([thread])
        assert errors == []
        with store.unit_of_work() as uow:
            assert uow.settings.get("holder") == "second"

    def test_a_decision_read_in_a_unit_of_work_holds_at_its_commit(self, store: Store) -> None:
        """Replaces the serialised check: eight threads at once add a customer for alice
        only while she holds fewer than three, each deciding under ``lock_rep("alice")``,
        as the service does for a cap."""
        open_uow = store.unit_of_work
        with store.unit_of_work() as uow:
            uow.reps.put(Rep("alice"))
            uow.commit()
        start = threading.Barrier(8)

        def add_if_room(n: int) -> Callable[[], None]:
            def work() -> None:
                start.wait(HANDSHAKE_S)
                with open_uow() as uow:
                    uow.lock_rep("alice")
                    held = uow.customers.find(CustomerQuery(owner_ids=frozenset({"alice"})))
                    if len(held) < 3:
                        uow.customers.add(private(f"c{n}"), NO_SCHEDULE)
                        uow.commit()

            return work

        started = [run_in_thread(add_if_room(n)) for n in range(8)]
        join_all([thread for thread, _ in started])
        assert [error for _, errors in started for error in errors] == []
        with store.unit_of_work() as uow:
            assert uow.customers.count() == 3

    def test_decisions_about_different_reps_do_not_wait(self, store: Store) -> None:
        open_uow = store.unit_of_work
        with store.unit_of_work() as uow:
            uow.reps.put(Rep("alice"))
            uow.reps.put(Rep("bob"))
            uow.commit()
        done = threading.Event()

        def bob() -> None:
            with open_uow() as uow:
                uow.lock_rep("bob")
                uow.customers.add(private("b1", owner_id="bob"), NO_SCHEDULE)
                uow.commit()
            done.set()

        with open_uow() as uow:
            uow.lock_rep("alice")
            thread, errors = run_in_thread(bob)
            assert done.wait(HANDSHAKE_S), "a lock on one rep held up another rep"
            uow.commit()
        join_all([thread])
        assert errors == []

    def test_two_units_of_work_giving_out_one_key_make_one_holder(self, store: Store) -> None:
        """The collision check: each asks ``with_keys`` who holds the phone and adds a
        customer with it only if nobody does. The second asks while the first is open;
        it must get its answer after the first commits, and find the first's customer."""
        open_uow = store.unit_of_work
        phone = IdentityKey("phone", "+8613800138000")
        first_asked = threading.Event()
        outcome: list[str] = []

        def create(customer_id: str) -> None:
            with open_uow() as uow:
                holders = uow.customers.with_keys(frozenset({phone}))
                if holders:
                    raise CollisionError(holders[0].id, "phone", phone.value, None, "north", False)
                uow.customers.add(private(customer_id, keys=[phone]), NO_SCHEDULE)
                uow.commit()
            outcome.append(customer_id)

        with open_uow() as uow:
            assert uow.customers.with_keys(frozenset({phone})) == []
            first_asked.set()
            thread, errors = run_in_thread(lambda: create("second"))
            thread.join(self.entry_grace_s)
            assert thread.is_alive(), "a second check of the same key did not wait"
            uow.customers.add(private("first", keys=[phone]), NO_SCHEDULE)
            uow.commit()
        join_all([thread])
        assert outcome == [] and len(errors) == 1
        assert isinstance(errors[0], CollisionError) and errors[0].customer_id == "first"
        with store.unit_of_work() as after:
            assert [c.id for c in after.customers.with_keys(frozenset({phone}))] == ["first"]

    def test_sweepers_share_the_due_customers_and_readers_see_them_all(self, store: Store) -> None:
        open_uow = store.unit_of_work
        with store.unit_of_work() as uow:
            for n in range(3):
                uow.customers.add(private(f"c{n}"), drop_at(T0))
            uow.commit()
        with open_uow() as first:
            assert [c.id for c in first.customers.due(T0, 2)] == ["c0", "c1"]
            # Another sweeper skips what the first holds, without waiting for it.
            with open_uow() as second:
                assert [c.id for c in second.customers.due(T0, 10)] == ["c2"]
                # A reader (the forecast) sees every due customer, and holds none.
                with open_uow() as reader:
                    assert len(reader.customers.upcoming(T0, 10)) == 3


__all__ = ["ConcurrentUnitsOfWork"]
