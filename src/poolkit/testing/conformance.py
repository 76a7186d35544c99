"""The behaviour every store must have, written once as a pytest test class.

Subclass :class:`StoreConformance` in a test module, name the subclass ``Test...`` and give
it a ``store`` fixture returning a fresh, empty store; pytest then runs every check below
against it::

    import pytest
    from poolkit.testing.conformance import StoreConformance

    class TestMyStore(StoreConformance):
        @pytest.fixture
        def store(self, tmp_path):
            return MyStore(tmp_path / "pool.db")

This class's own name does not start with ``Test``, so pytest never collects it on its own;
a subclass without a ``store`` fixture fails every test with "fixture 'store' not found"
(unless a ``conftest.py`` around it defines one: the class's own fixture wins over it).

The checks cover each repository of :mod:`poolkit.ports` (customers, reps, pools, the
event log, settings), the unit of work (commit, rollback, isolation, serialisation across
threads) and, at the end, a short pool scenario run through :class:`PoolService` on the
store, whose every customer must equal the replay of its history. Needs pytest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

from poolkit.clock import ManualClock
from poolkit.errors import (
    CapExceeded,
    CooldownActive,
    DuplicateIdError,
    PoolkitError,
    ReviewNotFound,
    StaleVersionError,
    WrongStateError,
)
from poolkit.identity.similarity import blocking_keys
from poolkit.model.customer import Customer, CustomerStatus, IdentityKey
from poolkit.model.events import (
    EVENT_TYPES,
    Assigned,
    Claimed,
    Created,
    Deleted,
    Dropped,
    Edited,
    Event,
    FollowedUp,
    FollowUpKind,
    Frozen,
    GradeChanged,
    LockChanged,
    Merged,
    MergedInto,
    PoolChanged,
    Reassigned,
    Recycled,
    Restored,
    Returned,
    Transferred,
    Warned,
)
from poolkit.model.history import replay
from poolkit.model.pool import Pool, PoolMode
from poolkit.model.rep import Rep
from poolkit.model.review import ReviewItem, ReviewStatus
from poolkit.model.schedule import Schedule
from poolkit.model.team import Team
from poolkit.policy import rules
from poolkit.policy.config import Policy
from poolkit.ports import CustomerQuery, Store, UnitOfWork
from poolkit.service import PoolService

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=SHANGHAI)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)

# How long a handshake may wait for the other thread before the test gives up: only
# reached when a store is broken (a deadlock), never on the passing path.
HANDSHAKE_S = 30.0


def private(customer_id: str, owner_id: str = "alice", **changes: Any) -> Customer:
    """A customer in ``owner_id``'s private pool, created at T0."""
    base = Customer(
        id=customer_id,
        name=f"Customer {customer_id}",
        pool_id="north",
        created_at=T0,
        status=CustomerStatus.PRIVATE,
        owner_id=owner_id,
        owned_since=T0,
        creator_id=owner_id,
        version=1,
    )
    return attrs.evolve(base, **changes)


def public(customer_id: str, pool_id: str = "north", **changes: Any) -> Customer:
    """A customer in public pool ``pool_id`` since T0."""
    base = Customer(
        id=customer_id,
        name=f"Customer {customer_id}",
        pool_id=pool_id,
        created_at=T0,
        status=CustomerStatus.PUBLIC,
        public_since=T0,
        version=1,
    )
    return attrs.evolve(base, **changes)


def drop_at(at: datetime | None, warn: datetime | None = None) -> Schedule:
    return Schedule(drop_at=at, warn_at=warn)


NO_SCHEDULE = Schedule()


def named(customer_id: str, name: str, **changes: Any) -> Customer:
    """A public customer called ``name``."""
    return public(customer_id, name=name, **changes)


def review(
    review_id: str, customer_id: str, similar_id: str, created_at: datetime = T0, **changes: Any
) -> ReviewItem:
    """An open review item: ``customer_id`` looks like ``similar_id``."""
    item = ReviewItem(
        id=review_id,
        customer_id=customer_id,
        similar_id=similar_id,
        score=90.0,
        created_at=created_at,
    )
    return attrs.evolve(item, **changes)


def claimed(customer_id: str, seq: int, at: datetime, rep_id: str = "alice") -> Claimed:
    return Claimed(
        customer_id=customer_id, seq=seq, at=at, actor_id=rep_id, rep_id=rep_id, pool_id="north"
    )


def followed_up(customer_id: str, seq: int, at: datetime = T0) -> FollowedUp:
    return FollowedUp(
        customer_id=customer_id, seq=seq, at=at, actor_id="alice", method=FollowUpKind.CALL
    )


def one_of_each_event(customer_id: str) -> list[Event]:
    """A history holding every kind of event, each with every field set."""
    at = T0
    keys = frozenset({IdentityKey("phone", "+8613800138000"), IdentityKey("uscc", "91X")})

    def common(seq: int) -> dict[str, Any]:
        return {"customer_id": customer_id, "seq": seq, "at": at + seq * DAY, "actor_id": "boss"}

    return [
        Created(
            **common(1),
            name="Acme",
            pool_id="north",
            owner_id="alice",
            keys=keys,
            grade="B",
            tags=frozenset({"fair", "vip"}),
            attributes={"city": "Hangzhou", "staff": 40, "score": 0.5, "export": True},
        ),
        FollowedUp(**common(2), method=FollowUpKind.VISIT, note="met the buyer"),
        Warned(**common(3), rep_id="alice", rule="stale-15", due_at=T0 + 20 * DAY, reason="r"),
        Dropped(
            **common(4),
            rep_id="alice",
            code="drop.no_follow_up",
            rule="stale-15",
            due_at=T0 + 4 * DAY,
            reason="no follow-up",
        ),
        Claimed(**common(5), rep_id="bob", pool_id="north"),
        Transferred(**common(6), from_rep_id="bob", to_rep_id="carol"),
        Reassigned(**common(7), from_rep_id="carol", to_rep_id="alice", reason="contest"),
        Returned(**common(8), rep_id="alice", reason="not interested"),
        Assigned(**common(9), rep_id="bob", pool_id="north"),
        Recycled(**common(10), rep_id="bob", reason="idle"),
        PoolChanged(**common(11), from_pool_id="north", to_pool_id="south"),
        LockChanged(**common(12), locked=True),
        GradeChanged(**common(13), old="B", new=None),
        Edited(
            **common(14),
            name="Acme Ltd",
            keys=keys,
            tags=frozenset({"fair"}),
            attributes={"city": "Ningbo"},
        ),
        Frozen(**common(15), from_rep_id=None, reason="one-year contract"),
        Restored(**common(16), pool_id="south"),
        Merged(
            **common(17),
            absorbed_id="c9",
            owner_id="bob",
            owned_since=at + DAY,
            keys=keys,
            tags=frozenset({"fair", "vip"}),
            attributes={"city": "Ningbo", "staff": 41},
            related_reps={"alice": at + 2 * DAY},
            grade="A",
            last_follow_up_at=at + 3 * DAY,
            last_deal_at=at + 4 * DAY,
        ),
        MergedInto(**common(18), into_id="c8"),
        Deleted(**common(19), reason="duplicate"),
    ]


def run_in_thread(target: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    """Start ``target`` in a thread; whatever it raises is collected for the test to check."""
    errors: list[BaseException] = []

    def body() -> None:
        try:
            target()
        except BaseException as error:  # the test thread checks what was collected
            errors.append(error)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, errors


def join_all(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(HANDSHAKE_S)
        assert not thread.is_alive(), "a thread is still waiting: the store deadlocked"


class StoreConformance:
    """The store contract of :mod:`poolkit.ports`. Subclass with a ``store`` fixture."""

    # How long the serialisation check gives a second unit of work to get in while the
    # first is open. A serialised store keeps it out, so the passing path always waits
    # this long; a store that lets it in fails at once.
    entry_grace_s = 0.2

    # ------------------------------------------------------------------ units of work

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

    # ------------------------------------------------------------------ customers

    def test_a_customer_comes_back_equal_with_every_field_set(self, store: Store) -> None:
        customer = private(
            "c1",
            keys={"phone": "+8613800138000", "uscc": "91330000MA27XL0E2Y"},
            grade="B",
            tags={"fair", "vip"},
            attributes={"city": "杭州", "staff": 40, "score": 0.25, "export": True},
            related_reps={"bob": T0 - DAY, "carol": datetime(2025, 11, 2, 1, 30, tzinfo=NEW_YORK)},
            last_follow_up_at=T0 + SECOND,
            last_deal_at=T0 + 2 * SECOND,
            locked=True,
            warned_due_at=T0 + DAY,
            version=7,
        )
        schedule = drop_at(T0 + 15 * DAY, T0 + 12 * DAY)
        with store.unit_of_work() as uow:
            uow.customers.add(customer, schedule)
            uow.commit()
        with store.unit_of_work() as uow:
            stored = uow.customers.get("c1")
            assert stored == customer
            assert stored is not None and stored.created_at.utcoffset() == timedelta(hours=8)
            assert uow.customers.schedule_of("c1") == schedule

    def test_unknown_customers_are_none(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            assert uow.customers.get("nobody") is None
            assert uow.customers.schedule_of("nobody") is None

    def test_a_taken_id_is_refused_and_the_first_customer_stays(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(private("c1"), drop_at(T0))
            uow.commit()
        with store.unit_of_work() as uow:
            with pytest.raises(DuplicateIdError) as refused:
                uow.customers.add(public("c1"), NO_SCHEDULE)
            assert refused.value.id == "c1"
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1") == private("c1")
            assert uow.customers.schedule_of("c1") == drop_at(T0)
            assert uow.customers.count() == 1

    def test_update_replaces_the_customer_and_its_schedule(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(private("c1"), drop_at(T0))
            uow.commit()
        moved = private("c1", owner_id="bob", version=2)
        with store.unit_of_work() as uow:
            uow.customers.update(moved, drop_at(T0 + DAY), 1)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1") == moved
            assert uow.customers.schedule_of("c1") == drop_at(T0 + DAY)
            assert uow.customers.find(CustomerQuery(owner_ids=frozenset({"alice"}))) == []
            assert uow.customers.find(CustomerQuery(owner_ids=frozenset({"bob"}))) == [moved]
            assert uow.customers.due(T0, 10) == []
            assert uow.customers.due(T0 + DAY, 10) == [moved]

    def test_a_stale_update_is_refused_and_nothing_is_written(self, store: Store) -> None:
        original = private("c1", keys={"phone": "1"}, version=3)
        with store.unit_of_work() as uow:
            uow.customers.add(original, drop_at(T0))
            uow.commit()
        changed = private("c1", owner_id="bob", keys={"phone": "2"}, version=4)
        with store.unit_of_work() as uow:
            with pytest.raises(StaleVersionError) as refused:
                uow.customers.update(changed, drop_at(T0 + DAY), 2)
            assert (refused.value.customer_id, refused.value.expected) == ("c1", 2)
            assert refused.value.actual == 3
            assert uow.customers.get("c1") == original
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1") == original
            assert uow.customers.schedule_of("c1") == drop_at(T0)
            assert uow.customers.with_keys(frozenset({IdentityKey("phone", "1")})) == [original]
            assert uow.customers.with_keys(frozenset({IdentityKey("phone", "2")})) == []
            assert uow.customers.find(CustomerQuery(owner_ids=frozenset({"bob"}))) == []

    @pytest.mark.parametrize("read", ["nothing", "get", "due", "find", "with_keys", "added"])
    def test_an_update_moves_every_index_however_the_customer_was_read(
        self, store: Store, read: str
    ) -> None:
        # A store may remember what a unit of work read (or wrote) and update from that;
        # every way of learning the stored customer must leave the same indexes behind.
        before = private(
            "c1",
            name="Moumou Technology",
            keys={"phone": "1", "email": "a@example.com"},
            tags={"vip", "fair"},
            related_reps={"bob": T0},
        )
        after = public(
            "c1",
            name="Beta Foods",
            keys={"phone": "2", "email": "a@example.com"},
            tags={"vip", "cold"},
            related_reps={"alice": T0 + DAY, "carol": T0},
            version=2,
        )
        with store.unit_of_work() as uow:
            if read != "added":
                uow.customers.add(before, drop_at(T0))
                uow.commit()
            if read == "added":
                uow.customers.add(before, drop_at(T0))
            elif read == "get":
                assert uow.customers.get("c1") == before
            elif read == "due":
                assert uow.customers.due(T0, 10) == [before]
            elif read == "find":
                assert uow.customers.find(CustomerQuery(related_rep="bob")) == [before]
            elif read == "with_keys":
                assert uow.customers.with_keys(frozenset({IdentityKey("phone", "1")})) == [before]
            uow.customers.update(after, NO_SCHEDULE, 1)
            uow.commit()
        with store.unit_of_work() as uow:
            customers = uow.customers
            assert customers.get("c1") == after
            assert customers.schedule_of("c1") == NO_SCHEDULE
            assert customers.due(T0 + DAY, 10) == []
            assert customers.with_keys(frozenset({IdentityKey("phone", "1")})) == []
            assert customers.with_keys(frozenset({IdentityKey("phone", "2")})) == [after]
            assert customers.with_keys(frozenset({IdentityKey("email", "a@example.com")})) == [
                after
            ]
            assert customers.find(CustomerQuery(tags=frozenset({"fair"}))) == []
            assert customers.find(CustomerQuery(tags=frozenset({"vip", "cold"}))) == [after]
            assert customers.find(CustomerQuery(related_rep="bob")) == []
            assert customers.find(CustomerQuery(related_rep="carol")) == [after]
            assert customers.similar_names(frozenset({"w:moumou"}), 10) == []
            assert customers.similar_names(blocking_keys("Beta Foods"), 10) == [
                ("c1", "Beta Foods")
            ]

    def test_updates_in_a_row_each_start_from_the_last(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(private("c1", tags={"a"}), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.customers.get("c1")
            uow.customers.update(private("c1", tags={"b"}, version=2), NO_SCHEDULE, 1)
            uow.customers.update(private("c1", tags={"c"}, version=3), NO_SCHEDULE, 2)
            with pytest.raises(StaleVersionError) as refused:
                uow.customers.update(private("c1", tags={"d"}, version=3), NO_SCHEDULE, 2)
            assert refused.value.actual == 3
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1") == private("c1", tags={"c"}, version=3)
            assert uow.customers.find(CustomerQuery(tags=frozenset({"b"}))) == []
            assert [c.id for c in uow.customers.find(CustomerQuery(tags=frozenset({"c"})))] == [
                "c1"
            ]

    def test_what_was_read_before_a_rollback_does_not_vouch_for_after_it(
        self, store: Store
    ) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(private("c1", tags={"a"}), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.customers.get("c1")
            uow.customers.update(private("c1", tags={"b"}, version=2), NO_SCHEDULE, 1)
            uow.rollback()
            with pytest.raises(StaleVersionError) as refused:
                uow.customers.update(private("c1", tags={"c"}, version=3), NO_SCHEDULE, 2)
            assert refused.value.actual == 1
            uow.customers.update(private("c1", tags={"c"}, version=2), NO_SCHEDULE, 1)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.find(CustomerQuery(tags=frozenset({"a"}))) == []
            assert [c.id for c in uow.customers.find(CustomerQuery(tags=frozenset({"c"})))] == [
                "c1"
            ]

    def test_updating_a_missing_customer_is_stale(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            with pytest.raises(StaleVersionError) as refused:
                uow.customers.update(private("ghost"), NO_SCHEDULE, 1)
            assert refused.value.actual is None
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get("ghost") is None

    def test_remove_deletes_the_customer_from_every_index(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(
                private("c1", keys={"phone": "1"}, tags={"fair"}, related_reps={"bob": T0}),
                drop_at(T0),
            )
            uow.customers.add(private("c2"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.customers.remove("c1", 1)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1") is None
            assert uow.customers.schedule_of("c1") is None
            assert uow.customers.with_keys(frozenset({IdentityKey("phone", "1")})) == []
            assert uow.customers.due(T0 + DAY, 10) == []
            assert uow.customers.find(CustomerQuery(tags=frozenset({"fair"}))) == []
            assert uow.customers.find(CustomerQuery(related_rep="bob")) == []
            assert list(uow.customers.ids()) == ["c2"]
            assert uow.customers.count() == 1

    def test_a_stale_remove_is_refused(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(private("c1", version=2), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            with pytest.raises(StaleVersionError) as refused:
                uow.customers.remove("c1", 1)
            assert refused.value.actual == 2
            with pytest.raises(StaleVersionError):
                uow.customers.remove("nobody", 1)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1") == private("c1", version=2)

    def test_ids_and_count(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            assert list(uow.customers.ids()) == []
            assert uow.customers.count() == 0
            for customer_id in ("c3", "c1", "c10", "c2"):
                uow.customers.add(public(customer_id), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            assert list(uow.customers.ids()) == ["c1", "c10", "c2", "c3"]
            assert uow.customers.count() == 4

    # ------------------------------------------------------------------ find

    @pytest.fixture
    def crowd(self, store: Store) -> dict[str, Customer]:
        """A mix of private, public and frozen customers to query."""
        people = [
            private(
                "a1",
                owner_id="alice",
                grade="A",
                tags={"vip", "fair"},
                attributes={"city": "Hangzhou"},
            ),
            private("a2", owner_id="alice", grade="B", tags={"fair"}, related_reps={"bob": T0}),
            private("b1", owner_id="bob", grade="B", attributes={"city": "Ningbo", "staff": 5}),
            public("p1", pool_id="north", grade="C", public_since=T0, related_reps={"alice": T0}),
            public("p2", pool_id="north", grade=None, public_since=T0 + DAY, tags={"vip"}),
            public("p3", pool_id="south", grade="B", public_since=T0 + 2 * DAY),
            public(
                "f1", pool_id="north", status=CustomerStatus.FROZEN, public_since=None, grade="A"
            ),
        ]
        with store.unit_of_work() as uow:
            for customer in reversed(people):
                uow.customers.add(customer, NO_SCHEDULE)
            uow.commit()
        return {customer.id: customer for customer in people}

    @staticmethod
    def _found(store: Store, query: CustomerQuery, limit: int | None = None) -> list[str]:
        with store.unit_of_work() as uow:
            found = uow.customers.find(query, limit)
        return [customer.id for customer in found]

    def test_find_everything_in_id_order(self, store: Store, crowd: dict[str, Customer]) -> None:
        assert self._found(store, CustomerQuery()) == sorted(crowd)
        with store.unit_of_work() as uow:
            assert uow.customers.find(CustomerQuery()) == [crowd[cid] for cid in sorted(crowd)]

    def test_find_by_status(self, store: Store, crowd: dict[str, Customer]) -> None:
        assert self._found(store, CustomerQuery(status=CustomerStatus.PRIVATE)) == [
            "a1",
            "a2",
            "b1",
        ]
        assert self._found(store, CustomerQuery(status=CustomerStatus.PUBLIC)) == ["p1", "p2", "p3"]
        assert self._found(store, CustomerQuery(status=CustomerStatus.FROZEN)) == ["f1"]

    def test_find_by_owners(self, store: Store, crowd: dict[str, Customer]) -> None:
        assert self._found(store, CustomerQuery(owner_ids=frozenset({"alice"}))) == ["a1", "a2"]
        both = CustomerQuery(owner_ids=frozenset({"alice", "bob", "nobody"}))
        assert self._found(store, both) == ["a1", "a2", "b1"]
        assert self._found(store, CustomerQuery(owner_ids=frozenset())) == []

    def test_find_by_pools(self, store: Store, crowd: dict[str, Customer]) -> None:
        north = CustomerQuery(pool_ids=frozenset({"north"}))
        assert self._found(store, north) == ["a1", "a2", "b1", "f1", "p1", "p2"]
        assert self._found(store, CustomerQuery(pool_ids=frozenset({"south"}))) == ["p3"]
        public_north = CustomerQuery(status=CustomerStatus.PUBLIC, pool_ids=frozenset({"north"}))
        assert self._found(store, public_north) == ["p1", "p2"]

    def test_find_by_related_rep(self, store: Store, crowd: dict[str, Customer]) -> None:
        assert self._found(store, CustomerQuery(related_rep="bob")) == ["a2"]
        assert self._found(store, CustomerQuery(related_rep="alice")) == ["p1"]
        assert self._found(store, CustomerQuery(related_rep="nobody")) == []

    def test_find_by_grades(self, store: Store, crowd: dict[str, Customer]) -> None:
        assert self._found(store, CustomerQuery(grades=frozenset({"B"}))) == ["a2", "b1", "p3"]
        assert self._found(store, CustomerQuery(grades=frozenset({"A", "C"}))) == ["a1", "f1", "p1"]
        assert self._found(store, CustomerQuery(grades=frozenset())) == []

    def test_find_by_tags_needs_every_tag(self, store: Store, crowd: dict[str, Customer]) -> None:
        assert self._found(store, CustomerQuery(tags=frozenset({"fair"}))) == ["a1", "a2"]
        assert self._found(store, CustomerQuery(tags=frozenset({"vip"}))) == ["a1", "p2"]
        assert self._found(store, CustomerQuery(tags=frozenset({"vip", "fair"}))) == ["a1"]
        assert self._found(store, CustomerQuery(tags=frozenset({"vip", "nope"}))) == []

    def test_find_by_attributes(self, store: Store, crowd: dict[str, Customer]) -> None:
        city = CustomerQuery(attributes=(("city", "Ningbo"),))
        assert self._found(store, city) == ["b1"]
        both = CustomerQuery(attributes=(("city", "Ningbo"), ("staff", 5)))
        assert self._found(store, both) == ["b1"]
        assert self._found(store, CustomerQuery(attributes=(("staff", "5"),))) == []
        assert self._found(store, CustomerQuery(attributes=(("city", "Hangzhou"),)), 1) == ["a1"]

    def test_find_public_since_is_inclusive(self, store: Store, crowd: dict[str, Customer]) -> None:
        assert self._found(store, CustomerQuery(public_since=T0)) == ["p1", "p2", "p3"]
        assert self._found(store, CustomerQuery(public_since=T0 + DAY)) == ["p2", "p3"]
        assert self._found(store, CustomerQuery(public_since=T0 + DAY + SECOND)) == ["p3"]
        # The same instant written in another zone is the same boundary.
        same_instant = (T0 + DAY).astimezone(NEW_YORK)
        assert self._found(store, CustomerQuery(public_since=same_instant)) == ["p2", "p3"]

    def test_find_combines_fields_and_limits(
        self, store: Store, crowd: dict[str, Customer]
    ) -> None:
        query = CustomerQuery(
            status=CustomerStatus.PRIVATE,
            owner_ids=frozenset({"alice", "bob"}),
            grades=frozenset({"B"}),
        )
        assert self._found(store, query) == ["a2", "b1"]
        assert self._found(store, query, limit=1) == ["a2"]
        assert self._found(store, CustomerQuery(), limit=3) == ["a1", "a2", "b1"]
        assert self._found(store, CustomerQuery(pool_ids=frozenset({"north"})), limit=10) == [
            "a1",
            "a2",
            "b1",
            "f1",
            "p1",
            "p2",
        ]

    def test_find_follows_updates(self, store: Store, crowd: dict[str, Customer]) -> None:
        a1 = crowd["a1"]
        released = public(
            "a1",
            pool_id="south",
            grade="C",
            tags={"cold"},
            related_reps={"alice": T0 + DAY},
            version=2,
        )
        with store.unit_of_work() as uow:
            uow.customers.update(released, NO_SCHEDULE, a1.version)
            uow.commit()
        assert self._found(store, CustomerQuery(owner_ids=frozenset({"alice"}))) == ["a2"]
        assert self._found(store, CustomerQuery(tags=frozenset({"vip"}))) == ["p2"]
        assert self._found(store, CustomerQuery(tags=frozenset({"cold"}))) == ["a1"]
        assert self._found(store, CustomerQuery(related_rep="alice")) == ["a1", "p1"]
        assert self._found(store, CustomerQuery(grades=frozenset({"A"}))) == ["f1"]
        south = CustomerQuery(status=CustomerStatus.PUBLIC, pool_ids=frozenset({"south"}))
        assert self._found(store, south) == ["a1", "p3"]

    # ------------------------------------------------------------------ keys

    def test_with_keys_finds_holders_of_any_key(self, store: Store) -> None:
        phone, uscc, email = (
            IdentityKey("phone", "+8613800138000"),
            IdentityKey("uscc", "91330000MA27XL0E2Y"),
            IdentityKey("email", "li@example.com"),
        )
        with store.unit_of_work() as uow:
            uow.customers.add(public("c2", keys=[phone]), NO_SCHEDULE)
            uow.customers.add(private("c1", keys=[phone, uscc]), NO_SCHEDULE)
            uow.customers.add(private("c3", keys=[email]), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            found = uow.customers.with_keys
            assert [c.id for c in found(frozenset({phone}))] == ["c1", "c2"]
            assert [c.id for c in found(frozenset({uscc}))] == ["c1"]
            assert [c.id for c in found(frozenset({uscc, email}))] == ["c1", "c3"]
            assert [c.id for c in found(frozenset({phone, uscc, email}))] == ["c1", "c2", "c3"]
            assert found(frozenset()) == []
            # Kind and value are matched together, exactly.
            assert found(frozenset({IdentityKey("email", "+8613800138000")})) == []
            assert found(frozenset({IdentityKey("phone", "8613800138000")})) == []

    def test_with_keys_follows_edits(self, store: Store) -> None:
        old, new = IdentityKey("phone", "1"), IdentityKey("phone", "2")
        with store.unit_of_work() as uow:
            uow.customers.add(private("c1", keys=[old]), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.customers.update(private("c1", keys=[new], version=2), NO_SCHEDULE, 1)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.with_keys(frozenset({old})) == []
            assert [c.id for c in uow.customers.with_keys(frozenset({new}))] == ["c1"]

    # ------------------------------------------------------------------ similar names

    def test_similar_names_finds_the_names_sharing_a_block(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(named("c3", "Moumou Trading"), NO_SCHEDULE)
            uow.customers.add(named("c1", "Moumou Technology"), NO_SCHEDULE)
            uow.customers.add(named("c2", "Other Things"), NO_SCHEDULE)
            uow.customers.add(named("c4", "深圳市华强科技有限公司"), NO_SCHEDULE)
            # Nothing remains of this name once the legal form is dropped: no blocks.
            uow.customers.add(named("c5", "有限公司"), NO_SCHEDULE)
            # A unit of work finds its own writes.
            assert uow.customers.similar_names(frozenset({"w:trading"}), 10) == [
                ("c3", "Moumou Trading")
            ]
            uow.commit()
        with store.unit_of_work() as uow:
            similar = uow.customers.similar_names
            # Deduplicated (c1 and c3 share several blocks) and ordered by id.
            assert similar(blocking_keys("Moumou Tech"), 10) == [
                ("c1", "Moumou Technology"),
                ("c3", "Moumou Trading"),
            ]
            assert similar(blocking_keys("华强电子（深圳）有限公司"), 10) == [
                ("c4", "深圳市华强科技有限公司")
            ]
            assert similar(frozenset({"w:things", "p:tec"}), 10) == [
                ("c1", "Moumou Technology"),
                ("c2", "Other Things"),
            ]
            assert similar(frozenset({"w:nobody"}), 10) == []
            assert similar(frozenset(), 10) == []

    def test_similar_names_reads_at_most_per_block_of_each_block(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            for n in (5, 3, 1, 4, 2):
                uow.customers.add(named(f"c{n}", f"Moumou n{n}"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            similar = uow.customers.similar_names
            capped = similar(frozenset({"w:moumou"}), 2)
            assert len(capped) == 2
            assert capped == sorted(capped)
            assert {cid for cid, _ in capped} <= {f"c{n}" for n in range(1, 6)}
            # The same question gets the same answer.
            assert similar(frozenset({"w:moumou"}), 2) == capped
            # Each block is capped on its own; the union is deduplicated.
            both = similar(frozenset({"w:moumou", "w:n3"}), 2)
            assert ("c3", "Moumou n3") in both
            assert set(capped) <= set(both) and len(both) <= 3
            assert len(similar(frozenset({"w:moumou"}), 5)) == 5
            assert len(similar(frozenset({"w:moumou"}), 50)) == 5

    def test_similar_names_follows_renames_and_removal(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(named("c1", "Moumou Technology"), NO_SCHEDULE)
            uow.customers.add(named("c2", "Other Things"), NO_SCHEDULE)
            uow.customers.add(named("c3", "Moumou Trading"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.customers.update(named("c1", "Beta Foods", version=2), NO_SCHEDULE, 1)
            uow.customers.remove("c2", 1)
            # An update that keeps the name keeps the customer findable.
            uow.customers.update(private("c3", name="Moumou Trading", version=2), NO_SCHEDULE, 1)
            uow.commit()
        with store.unit_of_work() as uow:
            similar = uow.customers.similar_names
            assert similar(frozenset({"w:technology"}), 10) == []
            assert similar(frozenset({"w:things"}), 10) == []
            assert similar(frozenset({"w:moumou"}), 10) == [("c3", "Moumou Trading")]
            assert similar(blocking_keys("Beta Foods"), 10) == [("c1", "Beta Foods")]

    def test_rollback_restores_the_name_index(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(named("c1", "Moumou Technology"), NO_SCHEDULE)
            uow.customers.add(named("c2", "Other Things"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.customers.add(named("c3", "Moumou Trading"), NO_SCHEDULE)
            uow.customers.update(named("c1", "Beta Foods", version=2), NO_SCHEDULE, 1)
            uow.customers.remove("c2", 1)
            assert uow.customers.similar_names(frozenset({"w:moumou"}), 10) == [
                ("c3", "Moumou Trading")
            ]
        with store.unit_of_work() as uow:
            similar = uow.customers.similar_names
            assert similar(frozenset({"w:moumou"}), 10) == [("c1", "Moumou Technology")]
            assert similar(frozenset({"w:beta", "w:trading"}), 10) == []
            assert similar(frozenset({"w:things"}), 10) == [("c2", "Other Things")]

    # ------------------------------------------------------------------ reviews

    def test_review_items_come_back_equal(self, store: Store) -> None:
        open_item = review("c1~c2", "c1", "c2", T0.astimezone(NEW_YORK), score=91.5)
        resolved = review(
            "c3~c4",
            "c3",
            "c4",
            status=ReviewStatus.MERGED,
            resolved_by="boss",
            resolved_at=T0 + DAY,
            score=100.0,
        )
        with store.unit_of_work() as uow:
            uow.reviews.add(open_item)
            uow.reviews.add(resolved)
            assert uow.reviews.get("c1~c2") == open_item
            uow.commit()
        with store.unit_of_work() as uow:
            stored = uow.reviews.get("c1~c2")
            assert stored == open_item
            assert stored is not None and stored.created_at.tzinfo == NEW_YORK
            assert uow.reviews.get("c3~c4") == resolved
            assert uow.reviews.get("nobody") is None

    def test_a_taken_review_id_is_refused_and_the_first_item_stays(self, store: Store) -> None:
        first = review("c1~c2", "c1", "c2")
        with store.unit_of_work() as uow:
            uow.reviews.add(first)
            uow.commit()
        with store.unit_of_work() as uow:
            with pytest.raises(DuplicateIdError) as refused:
                uow.reviews.add(review("c1~c2", "c3", "c4", T0 + DAY))
            assert refused.value.id == "c1~c2"
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.reviews.get("c1~c2") == first
            assert uow.reviews.find() == [first]

    def test_review_update_replaces_and_refuses_an_unknown_item(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.reviews.add(review("c1~c2", "c1", "c2"))
            uow.commit()
        resolved = review(
            "c1~c2",
            "c1",
            "c2",
            status=ReviewStatus.NOT_SAME,
            resolved_by="boss",
            resolved_at=T0 + DAY,
        )
        with store.unit_of_work() as uow:
            uow.reviews.update(resolved)
            with pytest.raises(ReviewNotFound) as refused:
                uow.reviews.update(review("c3~c4", "c3", "c4"))
            assert refused.value.id == "c3~c4"
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.reviews.get("c1~c2") == resolved
            assert uow.reviews.get("c3~c4") is None
            assert uow.reviews.find(ReviewStatus.OPEN) == []
            assert uow.reviews.find(ReviewStatus.NOT_SAME) == [resolved]

    def test_review_find_filters_and_orders_by_creation_then_id(self, store: Store) -> None:
        # Written in different zones: the order is of instants, not of wall-clock text.
        late = review("a~b", "a", "b", (T0 + 2 * DAY).astimezone(NEW_YORK))
        tie_y = review("y~c", "y", "c", T0 + DAY)
        tie_x = review("x~d", "x", "d", T0 + DAY)
        early = review(
            "c~d",
            "c",
            "d",
            T0,
            status=ReviewStatus.NOT_SAME,
            resolved_by="boss",
            resolved_at=T0 + DAY,
        )
        with store.unit_of_work() as uow:
            for item in (late, tie_y, early, tie_x):
                uow.reviews.add(item)
            uow.commit()
        with store.unit_of_work() as uow:
            find = uow.reviews.find
            assert find() == [early, tie_x, tie_y, late]
            assert find(ReviewStatus.OPEN) == [tie_x, tie_y, late]
            assert find(ReviewStatus.MERGED) == []
            # A customer matches on either side of an item.
            assert find(customer_id="c") == [early, tie_y]
            assert find(customer_id="d") == [early, tie_x]
            assert find(ReviewStatus.OPEN, "d") == [tie_x]
            assert find(customer_id="nobody") == []

    def test_review_find_follows_moved_items(self, store: Store) -> None:
        """A merge moves the open items of the absorbed customer to the kept one."""
        with store.unit_of_work() as uow:
            uow.reviews.add(review("a~b", "a", "b"))
            uow.commit()
        moved = review("a~b", "k", "b")
        with store.unit_of_work() as uow:
            uow.reviews.update(moved)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.reviews.find(customer_id="a") == []
            assert uow.reviews.find(customer_id="k") == [moved]
            assert uow.reviews.find(customer_id="b") == [moved]

    def test_rollback_restores_review_items(self, store: Store) -> None:
        first = review("c1~c2", "c1", "c2")
        with store.unit_of_work() as uow:
            uow.reviews.add(first)
            uow.commit()
        with pytest.raises(RuntimeError, match="boom"), store.unit_of_work() as uow:
            uow.reviews.update(review("c1~c2", "c9", "c2", T0 + DAY))
            uow.reviews.add(review("c3~c4", "c3", "c4"))
            raise RuntimeError("boom")
        with store.unit_of_work() as uow:
            assert uow.reviews.get("c1~c2") == first
            assert uow.reviews.get("c3~c4") is None
            assert uow.reviews.find() == [first]
            assert uow.reviews.find(customer_id="c9") == []
            assert uow.reviews.find(customer_id="c1") == [first]

    # ------------------------------------------------------------------ due

    def test_due_includes_a_schedule_exactly_at_the_time(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(private("on-time"), drop_at(T0 + DAY))
            uow.customers.add(private("a-second-late"), drop_at(T0 + DAY + SECOND))
            uow.customers.add(private("never"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.due(T0 + DAY - SECOND, 10) == []
            assert [c.id for c in uow.customers.due(T0 + DAY, 10)] == ["on-time"]
            later = [c.id for c in uow.customers.due(T0 + DAY + SECOND, 10)]
            assert later == ["on-time", "a-second-late"]
            assert [c.id for c in uow.customers.due(T0 + 1000 * DAY, 10)] == later

    def test_due_is_earliest_first_by_instant_and_limited(self, store: Store) -> None:
        # Written in different zones: the order is of instants, not of wall-clock text.
        in_new_york = (T0 + 3 * DAY).astimezone(NEW_YORK)
        with store.unit_of_work() as uow:
            uow.customers.add(private("c-late"), drop_at(in_new_york))
            uow.customers.add(private("c-warn"), drop_at(T0 + 9 * DAY, warn=T0 + DAY))
            uow.customers.add(private("c-tie-b"), drop_at(T0 + 2 * DAY))
            uow.customers.add(private("c-tie-a"), drop_at(T0 + 2 * DAY))
            uow.customers.add(public("c-none"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            everything = [c.id for c in uow.customers.due(T0 + 10 * DAY, 100)]
            assert everything == ["c-warn", "c-tie-a", "c-tie-b", "c-late"]
            assert [c.id for c in uow.customers.due(T0 + 10 * DAY, 2)] == ["c-warn", "c-tie-a"]
            # A warning makes a customer due even when its drop is far off.
            assert [c.id for c in uow.customers.due(T0 + DAY, 100)] == ["c-warn"]
            assert uow.customers.due(T0 + 10 * DAY, 0) == []

    def test_due_follows_rescheduling(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(private("c1"), drop_at(T0))
            uow.customers.add(private("c2"), drop_at(T0 + SECOND))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.customers.update(private("c1", version=2), drop_at(T0 + 5 * DAY), 1)
            uow.customers.update(public("c2", version=2), NO_SCHEDULE, 1)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.due(T0 + DAY, 10) == []
            assert [c.id for c in uow.customers.due(T0 + 5 * DAY, 10)] == ["c1"]

    # ------------------------------------------------------------------ reps, pools, settings

    def test_reps_put_get_all(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            assert uow.reps.all() == []
            assert uow.reps.get("alice") is None
            uow.reps.put(Rep("carol", supervisor_id="boss"))
            uow.reps.put(Rep("alice", name="Alice", cap=10))
            uow.reps.put(Rep("boss", is_admin=True))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.reps.put(Rep("alice", name="Alice Li", active=False, claim_limit=3))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.reps.get("alice") == Rep(
                "alice", name="Alice Li", active=False, claim_limit=3
            )
            assert [rep.id for rep in uow.reps.all()] == ["alice", "boss", "carol"]
            assert uow.reps.all()[2] == Rep("carol", supervisor_id="boss")

    def test_pools_put_get_all(self, store: Store) -> None:
        south = Pool("south", name="South China", mode=PoolMode.MANAGER_ASSIGNS, managers={"boss"})
        with store.unit_of_work() as uow:
            assert uow.pools.all() == []
            assert uow.pools.get("north") is None
            uow.pools.put(south)
            uow.pools.put(Pool("north", members={"alice", "bob"}, is_default=True))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.pools.put(Pool("north", members={"alice"}, is_default=True))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.pools.get("north") == Pool("north", members={"alice"}, is_default=True)
            assert uow.pools.all() == [Pool("north", members={"alice"}, is_default=True), south]

    def test_settings(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            assert uow.settings.get("policy_fingerprint") is None
            uow.settings.set("policy_fingerprint", "abc")
            uow.settings.set("other", "")
            uow.commit()
        with store.unit_of_work() as uow:
            uow.settings.set("policy_fingerprint", "def")
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.settings.get("policy_fingerprint") == "def"
            assert uow.settings.get("other") == ""

    # ------------------------------------------------------------------ events

    def test_every_kind_of_event_comes_back_equal_and_in_order(self, store: Store) -> None:
        history = one_of_each_event("c1")
        assert {type(event) for event in history} == set(EVENT_TYPES.values())
        with store.unit_of_work() as uow:
            for event in history:
                uow.events.append(event)
            uow.events.append(followed_up("c2", 1))
            uow.commit()
        with store.unit_of_work() as uow:
            stored = uow.events.history("c1")
            assert stored == history
            assert [type(event) for event in stored] == [type(event) for event in history]
            assert uow.events.history("c2") == [followed_up("c2", 1)]
            assert uow.events.history("nobody") == []

    def test_a_second_event_with_the_same_seq_is_refused(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.events.append(followed_up("c1", 1))
            uow.commit()
        with store.unit_of_work() as uow:
            with pytest.raises(StaleVersionError) as refused:
                uow.events.append(claimed("c1", 1, T0 + DAY))
            assert refused.value.customer_id == "c1"
            uow.events.append(followed_up("c1", 2))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.events.history("c1") == [followed_up("c1", 1), followed_up("c1", 2)]
            assert uow.events.claims_by("alice", T0 - DAY) == []

    def test_a_gap_in_the_history_is_refused(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            with pytest.raises(StaleVersionError):
                uow.events.append(followed_up("c1", 2))
            uow.events.append(followed_up("c1", 1))
            with pytest.raises(StaleVersionError):
                uow.events.append(followed_up("c1", 3))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.events.history("c1") == [followed_up("c1", 1)]

    def test_claims_by_counts_claims_strictly_after_since(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.events.append(claimed("c1", 1, T0 + 2 * DAY))
            uow.events.append(claimed("c2", 1, T0))
            uow.events.append(claimed("c3", 1, T0 + DAY, rep_id="bob"))
            uow.events.append(claimed("c4", 1, T0 + DAY))
            # An assignment is not a claim.
            uow.events.append(
                Assigned(
                    customer_id="c5",
                    seq=1,
                    at=T0 + DAY,
                    actor_id="boss",
                    rep_id="alice",
                    pool_id="north",
                )
            )
            uow.commit()
        with store.unit_of_work() as uow:
            claims = uow.events.claims_by
            assert claims("alice", T0 - SECOND) == [T0, T0 + DAY, T0 + 2 * DAY]
            assert claims("alice", T0) == [T0 + DAY, T0 + 2 * DAY]
            assert claims("alice", T0 + DAY - SECOND) == [T0 + DAY, T0 + 2 * DAY]
            assert claims("alice", T0 + DAY) == [T0 + 2 * DAY]
            assert claims("alice", T0 + 2 * DAY) == []
            assert claims("bob", T0) == [T0 + DAY]
            assert claims("nobody", T0 - DAY) == []
            assert claims("alice", (T0 + DAY).astimezone(NEW_YORK)) == [T0 + 2 * DAY]

    def test_the_log_keeps_the_history_of_removed_customers(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            for customer_id in ("c2", "c1", "c3"):
                uow.customers.add(private(customer_id), NO_SCHEDULE)
                uow.events.append(followed_up(customer_id, 1))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.events.append(
                Deleted(customer_id="c2", seq=2, at=T0 + DAY, actor_id="boss", reason="dup")
            )
            uow.customers.remove("c2", 1)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get("c2") is None
            assert [e.seq for e in uow.events.history("c2")] == [1, 2]
            assert list(uow.events.customer_ids()) == ["c1", "c2", "c3"]
            assert list(uow.customers.ids()) == ["c1", "c3"]

    # ------------------------------------------------------------------ through the service

    @staticmethod
    def _policy() -> Policy:
        return Policy.from_dict(
            {
                "timezone": "Asia/Shanghai",
                "drop_rules": [
                    {"name": "stale-15", "kind": "no_follow_up", "days": 15, "warn_days": 3}
                ],
                "caps": {"default": 2},
                "claim_limit": {"max_claims": 5, "window_days": 7},
                "cooldown": {"days": 10},
            }
        )

    @staticmethod
    def _team() -> Team:
        return Team.from_dict(
            {
                "reps": [
                    {"id": "boss", "admin": True},
                    {"id": "alice", "supervisor": "boss"},
                    {"id": "bob", "supervisor": "boss"},
                ],
                "pools": [
                    {
                        "id": "north",
                        "default": True,
                        "members": ["alice", "bob"],
                        "managers": ["boss"],
                    }
                ],
            }
        )

    def _service(self, store: Store, clock: ManualClock) -> PoolService:
        service = PoolService(store, self._policy(), clock)
        service.setup(self._team())
        return service

    def assert_state_is_its_history(self, store: Store, policy: Policy) -> None:
        """Every stored customer equals the replay of its history, with the schedule the
        policy gives it; a deleted one replays to nothing."""
        with store.unit_of_work() as uow:
            customer_ids = list(uow.events.customer_ids())
            assert set(uow.customers.ids()) <= set(customer_ids)
            for customer_id in customer_ids:
                stored = uow.customers.get(customer_id)
                assert replay(uow.events.history(customer_id)) == stored, customer_id
                if stored is not None:
                    expected = rules.schedule(stored, policy)
                    assert uow.customers.schedule_of(customer_id) == expected

    def test_a_pool_scenario_leaves_state_equal_to_history(self, store: Store) -> None:
        """Create, claim, follow up, warn, drop, cooldown, recycle, freeze and delete, with
        a cap of 2 and a 15-day no-follow-up rule warning 3 days ahead."""
        clock = ManualClock(T0)
        service = self._service(store, clock)
        service.create("alice", "Acme", customer_id="acme", keys={"phone": "+8613800138000"})
        service.create("boss", "Beta", customer_id="beta", public=True, grade="B")
        service.create("boss", "Delta", customer_id="delta", public=True)
        service.create("bob", "Gamma", customer_id="gamma", tags=["fair"])
        service.claim("alice", "beta")
        with pytest.raises(CapExceeded):
            service.claim("alice", "delta")

        clock.advance(days=5)
        service.follow_up("alice", "acme", FollowUpKind.VISIT, "met the buyer")
        service.follow_up("bob", "gamma", FollowUpKind.CALL)

        clock.advance(days=7)  # day 12: beta, untouched since its claim, is warned
        report = service.sweep()
        assert [item.customer_id for item in report.warned] == ["beta"]
        assert report.dropped == ()

        clock.advance(days=3)  # day 15: beta drops back to the pool
        report = service.sweep()
        assert [item.customer_id for item in report.dropped] == ["beta"]
        with pytest.raises(CooldownActive):
            service.claim("alice", "beta")
        service.claim("bob", "beta")

        clock.advance(days=2)  # day 17: acme and gamma, followed up on day 5, are warned
        report = service.sweep()
        assert sorted(item.customer_id for item in report.warned) == ["acme", "gamma"]
        assert service.sweep().changed is False

        service.recycle("boss", "gamma", "bob is overloaded")
        service.freeze("boss", "delta", "signed a one-year contract")
        service.delete("boss", "delta", "duplicate of acme")

        assert [c.id for c in service.private_pool("alice")] == ["acme"]
        assert [c.id for c in service.private_pool("bob")] == ["beta"]
        assert [c.id for c in service.public_pool("north")] == ["gamma"]
        assert service.recycle_bin() == []
        assert [type(e) for e in service.history("delta")][-2:] == [Frozen, Deleted]
        with store.unit_of_work() as uow:
            assert list(uow.events.customer_ids()) == ["acme", "beta", "delta", "gamma"]
            assert list(uow.customers.ids()) == ["acme", "beta", "gamma"]
            assert uow.events.claims_by("alice", T0 - DAY) == [T0]
            assert uow.events.claims_by("bob", T0 - DAY) == [T0 + 15 * DAY]
        self.assert_state_is_its_history(store, service.policy)

    def test_two_reps_claiming_one_customer_at_once_one_wins(self, store: Store) -> None:
        service = self._service(store, ManualClock(T0))
        service.create("boss", "Prize", customer_id="prize", public=True)
        start = threading.Barrier(2)
        winners: list[str] = []

        def claim(rep_id: str) -> Callable[[], None]:
            def work() -> None:
                start.wait(HANDSHAKE_S)
                service.claim(rep_id, "prize")
                winners.append(rep_id)

            return work

        started = [run_in_thread(claim(rep_id)) for rep_id in ("alice", "bob")]
        join_all([thread for thread, _ in started])
        refusals = [error for _, errors in started for error in errors]
        assert len(winners) == 1 and len(refusals) == 1
        refusal = refusals[0]
        assert isinstance(refusal, WrongStateError)
        assert refusal.owner_id == winners[0]
        assert service.customer("prize").owner_id == winners[0]
        self.assert_state_is_its_history(store, service.policy)

    def test_concurrent_claims_never_pass_the_cap(self, store: Store) -> None:
        service = self._service(store, ManualClock(T0))
        customer_ids = [f"lead-{n}" for n in range(6)]
        for customer_id in customer_ids:
            service.create("boss", customer_id, customer_id=customer_id, public=True)
        start = threading.Barrier(len(customer_ids))

        def claim(customer_id: str) -> Callable[[], None]:
            def work() -> None:
                start.wait(HANDSHAKE_S)
                service.claim("alice", customer_id)

            return work

        started = [run_in_thread(claim(customer_id)) for customer_id in customer_ids]
        join_all([thread for thread, _ in started])
        refusals = [error for _, errors in started for error in errors]
        assert len(refusals) == 4
        assert all(isinstance(error, CapExceeded) for error in refusals)
        assert len(service.private_pool("alice")) == 2
        self.assert_state_is_its_history(store, service.policy)


__all__ = [
    "DAY",
    "NO_SCHEDULE",
    "SECOND",
    "T0",
    "StoreConformance",
    "claimed",
    "drop_at",
    "followed_up",
    "named",
    "one_of_each_event",
    "private",
    "public",
    "review",
]
