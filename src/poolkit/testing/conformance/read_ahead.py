"""The read-ahead contract for a rep's counts: ``UnitOfWork.read_ahead(holdings_of=...,
claims_of=...)`` changes nothing a unit of work reads. The holdings and claims read next
are what :meth:`~poolkit.ports.CustomerRepository.holdings` and
:meth:`~poolkit.ports.EventLog.claims_by` give without it: the unit of work's own writes
count, a read for another instant reads that instant, and a count read ahead after a rep's
lock sees what the lock's holder committed."""

from __future__ import annotations

import threading

from poolkit.model.holdings import Holdings
from poolkit.model.rep import Rep
from poolkit.ports import Store
from poolkit.testing.builders import DAY, NO_SCHEDULE, T0, claimed, private, public
from poolkit.testing.conformance._threads import HANDSHAKE_S, join_all, run_in_thread


def _book(store: Store) -> None:
    """alice owns a1 (a deal) and a2 (locked), claimed at T0 and T0 + 2 days; p1 is public
    (claimed by bob long ago, and dropped: its history has one event)."""
    with store.unit_of_work() as uow:
        uow.reps.put(Rep("alice"))
        uow.customers.add(private("a1", last_deal_at=T0), NO_SCHEDULE)
        uow.customers.add(private("a2", locked=True, version=2), NO_SCHEDULE)
        uow.customers.add(public("p1"), NO_SCHEDULE)
        uow.events.append(claimed("a1", 1, T0))
        uow.events.append(claimed("a2", 1, T0 - DAY, rep_id="bob"))
        uow.events.append(claimed("a2", 2, T0 + 2 * DAY))
        uow.events.append(claimed("p1", 1, T0 - 9 * DAY, rep_id="bob"))
        uow.commit()


class ReadAheadConformance:
    """``read_ahead``'s ``holdings_of`` and ``claims_of``. Subclass with a ``store`` fixture
    returning a fresh, empty store."""

    # How long the lock's holder waits, with the reader blocked, before it commits.
    entry_grace_s = 0.2

    def test_counts_read_ahead_give_what_a_read_gives(self, store: Store) -> None:
        _book(store)
        with store.unit_of_work() as uow:
            uow.read_ahead(
                customers=("p1",),
                reps=("alice",),
                to_change=True,
                lock_reps=("alice",),
                holdings_of=("alice", "nobody"),
                claims_of=(("alice", T0 - DAY), ("nobody", T0 - DAY)),
            )
            assert uow.customers.get("p1") == public("p1")
            assert uow.customers.holdings("alice") == Holdings(2, 1, 1, 0)
            assert uow.customers.holdings("nobody") == Holdings()
            assert uow.events.claims_by("alice", T0 - DAY) == [T0, T0 + 2 * DAY]
            assert uow.events.claims_by("nobody", T0 - DAY) == []
            # Served once: read again, they are read again, and agree.
            assert uow.customers.holdings("alice") == Holdings(2, 1, 1, 0)
            assert uow.events.claims_by("alice", T0 - DAY) == [T0, T0 + 2 * DAY]
            uow.commit()

    def test_claims_read_for_another_instant_are_of_that_instant(self, store: Store) -> None:
        _book(store)
        with store.unit_of_work() as uow:
            uow.read_ahead(reps=("alice",), claims_of=(("alice", T0 - DAY),))
            assert uow.events.claims_by("alice", T0) == [T0 + 2 * DAY]
            assert uow.events.claims_by("alice", T0 + 2 * DAY) == []
            assert uow.events.claims_by("bob", T0 - 2 * DAY) == [T0 - DAY]

    def test_the_unit_of_work_s_own_writes_count(self, store: Store) -> None:
        # Read ahead, then written (the customer locked by the read ahead, its writes
        # checked and held back by a store that can): the reads that follow count them.
        _book(store)
        with store.unit_of_work() as uow:
            uow.read_ahead(
                customers=("p1",),
                reps=("alice",),
                to_change=True,
                lock_reps=("alice",),
                holdings_of=("alice",),
                claims_of=(("alice", T0 - DAY),),
            )
            assert uow.customers.get("p1") == public("p1")
            uow.events.append(claimed("p1", 2, T0 + 3 * DAY))
            uow.customers.update(private("p1", version=2), NO_SCHEDULE, 1)
            assert uow.customers.holdings("alice") == Holdings(3, 1, 1, 0)
            assert uow.events.claims_by("alice", T0 - DAY) == [T0, T0 + 2 * DAY, T0 + 3 * DAY]
            uow.rollback()
        with store.unit_of_work() as uow:
            uow.read_ahead(lock_reps=("alice",), holdings_of=("alice",))
            uow.customers.remove("a1", 1)
            assert uow.customers.holdings("alice") == Holdings(1, 0, 1, 0)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.holdings("alice") == Holdings(1, 0, 1, 0)

    def test_counts_read_ahead_after_a_lock_see_what_its_holder_committed(
        self, store: Store
    ) -> None:
        """The cap's and the claim limit's guarantee: a unit of work that reads ahead
        alice's counts while locking her, as a claim does, waits for the unit of work that
        holds her lock, and then counts what it committed."""
        _book(store)
        open_uow = store.unit_of_work
        seen: list[tuple[Holdings, list[object]]] = []
        reading = threading.Event()

        def second() -> None:
            reading.set()
            with open_uow() as uow:
                uow.read_ahead(
                    reps=("alice",),
                    lock_reps=("alice",),
                    holdings_of=("alice",),
                    claims_of=(("alice", T0 - DAY),),
                )
                seen.append(
                    (uow.customers.holdings("alice"), list(uow.events.claims_by("alice", T0 - DAY)))
                )

        with open_uow() as uow:
            uow.lock_rep("alice")
            uow.events.append(claimed("p1", 2, T0 + 3 * DAY))
            uow.customers.update(private("p1", version=2), NO_SCHEDULE, 1)
            assert uow.customers.get("p1") == private("p1", version=2)  # the lock is held
            thread, errors = run_in_thread(second)
            assert reading.wait(HANDSHAKE_S)
            thread.join(self.entry_grace_s)
            assert thread.is_alive(), "a read ahead locking alice did not wait for her lock"
            uow.commit()
        join_all([thread])
        assert errors == []
        assert seen == [(Holdings(3, 1, 1, 0), [T0, T0 + 2 * DAY, T0 + 3 * DAY])]
