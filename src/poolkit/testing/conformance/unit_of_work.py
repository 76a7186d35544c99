"""The unit-of-work contract: commit, rollback, isolation, and serialisation across threads.

These checks write to and read from every repository of a unit of work, since
what they pin down is that all of them commit and roll back together."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

import pytest

from poolkit.errors import PoolkitError, StaleVersionError
from poolkit.identity.similarity import blocking_keys
from poolkit.model.customer import IdentityKey
from poolkit.model.pool import Pool
from poolkit.model.rep import Rep
from poolkit.ports import CustomerQuery, Store, UnitOfWork
from poolkit.testing.builders import DAY, NO_SCHEDULE, T0, claimed, drop_at, private, public, review
from poolkit.testing.conformance._threads import HANDSHAKE_S, join_all, run_in_thread


class UnitOfWorkConformance:
    """The :class:`~poolkit.ports.UnitOfWork` contract: writes to every repository commit
    together or not at all, and units of work are serialised across threads. Subclass with
    a ``store`` fixture returning a fresh, empty store."""

    # How long the serialisation check gives a second unit of work to get in while the
    # first is open. A serialised store keeps it out, so the passing path always waits
    # this long; a store that lets it in fails at once.
    entry_grace_s = 0.2

    def test_committed_writes_are_visible_to_the_next_unit_of_work(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(private("c1"), drop_at(T0 + DAY))
            uow.reps.put(Rep("alice"))
            uow.pools.put(Pool("north"))
            uow.events.append(claimed("c1", 1, T0))
            uow.settings.set("policy", "abc")
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1") == private("c1")
            assert uow.customers.schedule_of("c1") == drop_at(T0 + DAY)
            assert uow.reps.get("alice") == Rep("alice")
            assert uow.pools.get("north") == Pool("north")
            assert uow.events.history("c1") == [claimed("c1", 1, T0)]
            assert uow.settings.get("policy") == "abc"

    def test_a_unit_of_work_reads_its_own_writes(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(private("c1", keys={"phone": "1"}), drop_at(T0))
            assert uow.customers.get("c1") == private("c1", keys={"phone": "1"})
            assert [
                c.id for c in uow.customers.with_keys(frozenset({IdentityKey("phone", "1")}))
            ] == ["c1"]
            assert [c.id for c in uow.customers.due(T0, 10)] == ["c1"]
            assert uow.customers.count() == 1

    @staticmethod
    def _fill(uow: UnitOfWork) -> None:
        """A write to every repository."""
        uow.customers.add(private("c1", keys={"phone": "1"}), drop_at(T0))
        uow.reps.put(Rep("alice"))
        uow.pools.put(Pool("north"))
        uow.events.append(claimed("c1", 1, T0))
        uow.settings.set("policy", "abc")
        uow.reviews.add(review("c1~c2", "c1", "c2"))

    def _assert_nothing_stored(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1") is None
            assert uow.customers.schedule_of("c1") is None
            assert uow.customers.count() == 0
            assert list(uow.customers.ids()) == []
            assert uow.customers.with_keys(frozenset({IdentityKey("phone", "1")})) == []
            assert uow.customers.due(T0 + DAY, 10) == []
            assert uow.customers.find(CustomerQuery()) == []
            assert uow.reps.get("alice") is None
            assert uow.reps.all() == []
            assert uow.pools.get("north") is None
            assert uow.pools.all() == []
            assert uow.events.history("c1") == []
            assert uow.events.claims_by("alice", T0 - DAY) == []
            assert list(uow.events.customer_ids()) == []
            assert uow.settings.get("policy") is None
            assert uow.customers.similar_names(blocking_keys(private("c1").name), 10) == []
            assert uow.reviews.get("c1~c2") is None
            assert uow.reviews.find() == []

    def test_an_exception_rolls_back_every_write(self, store: Store) -> None:
        with pytest.raises(RuntimeError, match="boom"), store.unit_of_work() as uow:
            self._fill(uow)
            raise RuntimeError("boom")
        self._assert_nothing_stored(store)

    def test_leaving_without_commit_rolls_back(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            self._fill(uow)
        self._assert_nothing_stored(store)

    def test_locking_a_rep_lets_the_unit_of_work_go_on(self, store: Store) -> None:
        # lock_rep holds back other units of work, never the one that took it: locking
        # twice, or a rep that is not stored, is fine, and the writes still commit.
        with store.unit_of_work() as uow:
            uow.reps.put(Rep("li"))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.lock_rep("li")
            uow.lock_rep("li")
            uow.lock_rep("nobody")
            uow.customers.add(private("c1"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1") is not None

    def test_reads_after_reading_ahead_give_what_a_read_gives(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(public("c1", pool_id="north"), drop_at(T0 + DAY))
            uow.reps.put(Rep("li", cap=3))
            uow.pools.put(Pool("north", members=frozenset({"li"})))
            uow.settings.set("policy.version", "3")
            uow.settings.set("policy", "{" + "x" * 1000 + "}")  # a long one, too
            uow.commit()
        # Several of each, and one of each (an operation by its actor: a store may read
        # only that case ahead).
        asked = [(("c1", "ghost"), ("li", "nobody")), (("c1",), ("li",))]
        for (customers, reps), to_change in itertools.product(asked, (False, True)):
            with store.unit_of_work() as uow:
                uow.read_ahead(customers=customers, reps=reps, to_change=to_change)
                assert uow.settings.get("policy.version") == "3"
                assert uow.settings.get("never.set") is None
                assert uow.settings.get("policy") == "{" + "x" * 1000 + "}"
                assert uow.reps.get("li") == Rep("li", cap=3)
                assert uow.reps.get("nobody") is None
                assert uow.customers.get("c1") == public("c1", pool_id="north")
                assert uow.customers.get("ghost") is None
                assert uow.pools.get("north") == Pool("north", members=frozenset({"li"}))
                assert uow.pools.get("south") is None
                # Served once: read again, they are read again, and agree.
                assert uow.customers.get("c1") == public("c1", pool_id="north")
                assert uow.reps.get("li") == Rep("li", cap=3)
                uow.read_ahead()  # nothing asked: nothing to do
                uow.commit()
        with store.unit_of_work() as uow:
            # Reps locked as they are read ahead, like lock_rep: read as ever, and the
            # unit of work goes on (locking one twice, or one not stored, is fine).
            uow.read_ahead(reps=("li",), lock_reps=("li", "nobody"))
            assert uow.reps.get("li") == Rep("li", cap=3)
            uow.lock_rep("li")
            uow.read_ahead(lock_reps=("li",))
            assert uow.reps.get("nobody") is None
            uow.customers.add(private("c2"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get("c2") == private("c2")

    def test_a_write_after_reading_ahead_is_what_the_next_read_gives(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(private("c1"), drop_at(T0 + DAY))
            uow.events.append(claimed("c1", 1, T0))
            uow.reps.put(Rep("li"))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.read_ahead(customers=("c1",), reps=("li",), to_change=True)
            uow.reps.put(Rep("li", cap=9))
            uow.customers.update(private("c1", owner_id="bob", version=2), NO_SCHEDULE, 1)
            assert uow.reps.get("li") == Rep("li", cap=9)
            assert uow.customers.get("c1") == private("c1", owner_id="bob", version=2)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1") == private("c1", owner_id="bob", version=2)
            assert uow.reps.get("li") == Rep("li", cap=9)

    def test_a_customer_read_ahead_to_change_keeps_its_version_checks(self, store: Store) -> None:
        # Locked by the read (a store may), its writes are still checked: a stale one is
        # refused at once, the unit of work goes on, and the right ones commit together.
        with store.unit_of_work() as uow:
            uow.customers.add(private("c1"), drop_at(T0 + DAY))
            uow.events.append(claimed("c1", 1, T0))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.read_ahead(customers=("c1",), to_change=True)
            assert uow.customers.get("c1") == private("c1")
            with pytest.raises(StaleVersionError):
                uow.customers.update(private("c1", owner_id="bob", version=3), NO_SCHEDULE, 2)
            with pytest.raises(StaleVersionError):
                uow.events.append(claimed("c1", 3, T0 + DAY, rep_id="bob"))
            uow.events.append(claimed("c1", 2, T0 + DAY, rep_id="bob"))
            uow.customers.update(private("c1", owner_id="bob", version=2), NO_SCHEDULE, 1)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1") == private("c1", owner_id="bob", version=2)
            assert [e.seq for e in uow.events.history("c1")] == [1, 2]
            assert uow.events.claims_by("bob", T0) == [T0 + DAY]

    def test_rollback_discards_and_the_unit_of_work_goes_on(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            self._fill(uow)
            uow.rollback()
            assert uow.customers.get("c1") is None
            uow.settings.set("after", "yes")
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1") is None
            assert uow.events.history("c1") == []
            assert uow.settings.get("after") == "yes"

    def test_writes_after_a_commit_need_a_commit_of_their_own(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.settings.set("first", "1")
            uow.commit()
            uow.settings.set("second", "2")
        with store.unit_of_work() as uow:
            assert uow.settings.get("first") == "1"
            assert uow.settings.get("second") is None

    def test_rollback_of_an_update_restores_the_customer_and_its_indexes(
        self, store: Store
    ) -> None:
        before = private("c1", keys={"phone": "1"}, tags={"fair"}, grade="B")
        with store.unit_of_work() as uow:
            uow.customers.add(before, drop_at(T0))
            uow.commit()
        after = public(
            "c1", pool_id="south", keys={"phone": "2"}, tags={"vip"}, grade="C", version=2
        )
        with store.unit_of_work() as uow:
            uow.customers.update(after, NO_SCHEDULE, 1)
            assert uow.customers.get("c1") == after
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1") == before
            assert uow.customers.schedule_of("c1") == drop_at(T0)
            assert uow.customers.find(CustomerQuery(owner_ids=frozenset({"alice"}))) == [before]
            assert uow.customers.find(CustomerQuery(tags=frozenset({"fair"}))) == [before]
            assert uow.customers.find(CustomerQuery(pool_ids=frozenset({"south"}))) == []
            assert uow.customers.with_keys(frozenset({IdentityKey("phone", "1")})) == [before]
            assert uow.customers.with_keys(frozenset({IdentityKey("phone", "2")})) == []
            assert uow.customers.due(T0, 10) == [before]

    def test_repositories_refuse_use_outside_a_with_block(self, store: Store) -> None:
        uow = store.unit_of_work()
        with pytest.raises(PoolkitError):
            uow.customers.get("c1")
        with uow:
            uow.settings.set("inside", "yes")
            uow.commit()
        with pytest.raises(PoolkitError):
            uow.settings.get("inside")

    def test_a_unit_of_work_waits_until_the_open_one_ends(self, store: Store) -> None:
        first_open = threading.Event()
        second_trying = threading.Event()
        second_in = threading.Event()
        seen: list[str | None] = []

        def second() -> None:
            assert first_open.wait(HANDSHAKE_S)
            second_trying.set()
            with store.unit_of_work() as uow:
                second_in.set()
                seen.append(uow.settings.get("holder"))
                uow.settings.set("holder", "second")
                uow.commit()

        thread, errors = run_in_thread(second)
        with store.unit_of_work() as uow:
            uow.settings.set("holder", "first")
            first_open.set()
            assert second_trying.wait(HANDSHAKE_S)
            got_in_while_open = second_in.wait(self.entry_grace_s)
            uow.commit()
        join_all([thread])
        assert errors == []
        assert not got_in_while_open, "a second unit of work ran while the first was open"
        assert seen == ["first"]
        with store.unit_of_work() as uow:
            assert uow.settings.get("holder") == "second"

    def test_a_decision_read_in_a_unit_of_work_holds_at_its_commit(self, store: Store) -> None:
        """Eight threads at once add a customer for alice only while she holds fewer than
        three: the cap check of the service, done against the store directly."""
        workers = 8
        start = threading.Barrier(workers)

        def add_if_room(n: int) -> Callable[[], None]:
            def work() -> None:
                start.wait(HANDSHAKE_S)
                with store.unit_of_work() as uow:
                    held = uow.customers.find(CustomerQuery(owner_ids=frozenset({"alice"})))
                    if len(held) < 3:
                        uow.customers.add(private(f"c{n}"), NO_SCHEDULE)
                        uow.commit()

            return work

        started = [run_in_thread(add_if_room(n)) for n in range(workers)]
        join_all([thread for thread, _ in started])
        assert [error for _, errors in started for error in errors] == []
        with store.unit_of_work() as uow:
            assert uow.customers.count() == 3


__all__ = ["UnitOfWorkConformance"]
