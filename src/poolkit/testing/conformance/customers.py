"""The customer repository contract: round trips, versions, indexes, find, identity keys,
similar names and the due index."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from poolkit.errors import DuplicateIdError, StaleVersionError
from poolkit.identity.normalise import normalise_name
from poolkit.identity.similarity import blocking_keys
from poolkit.model.customer import Customer, CustomerStatus, IdentityKey
from poolkit.ports import CustomerQuery, Store
from poolkit.testing.builders import (
    DAY,
    NEW_YORK,
    NO_SCHEDULE,
    SECOND,
    T0,
    drop_at,
    named,
    private,
    public,
)


def _named_as(customer_id: str, name: str) -> tuple[str, str, str]:
    """A row of ``names_by_block``: the id, the name and its normal form."""
    return (customer_id, name, normalise_name(name))


class CustomerConformance:
    """The :class:`~poolkit.ports.CustomerRepository` contract. Subclass with a ``store``
    fixture returning a fresh, empty store."""

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
            private(
                "a2",
                owner_id="alice",
                grade="B",
                tags={"fair"},
                related_reps={"bob": T0},
                creator_id="carol",
            ),
            private(
                "b1",
                owner_id="bob",
                grade="B",
                attributes={"city": "Ningbo", "staff": 5},
                creator_id="alice",
            ),
            public("p1", pool_id="north", grade="C", public_since=T0, related_reps={"alice": T0}),
            public("p2", pool_id="north", grade=None, public_since=T0 + DAY, tags={"vip"}),
            public("p3", pool_id="south", grade="B", public_since=T0 + 2 * DAY, creator_id="carol"),
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

    def test_find_by_creator(self, store: Store, crowd: dict[str, Customer]) -> None:
        assert self._found(store, CustomerQuery(creator_id="carol")) == ["a2", "p3"]
        assert self._found(store, CustomerQuery(creator_id="carol"), limit=1) == ["a2"]
        public_only = CustomerQuery(creator_id="carol", status=CustomerStatus.PUBLIC)
        assert self._found(store, public_only) == ["p3"]
        assert "b1" in self._found(store, CustomerQuery(creator_id="alice"))
        assert self._found(store, CustomerQuery(creator_id="nobody")) == []

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

    def test_find_after_pages_through_in_id_order(
        self, store: Store, crowd: dict[str, Customer]
    ) -> None:
        owned = CustomerQuery(status=CustomerStatus.PRIVATE)
        with store.unit_of_work() as uow:
            assert [c.id for c in uow.customers.find(owned, after="a1")] == ["a2", "b1"]
            # ``after`` need not be a stored id, and is exclusive.
            assert [c.id for c in uow.customers.find(owned, after="a")] == ["a1", "a2", "b1"]
            assert [c.id for c in uow.customers.find(owned, after="b1")] == []
            assert [c.id for c in uow.customers.find(CustomerQuery(), 2, after="b1")] == [
                "f1",
                "p1",
            ]
            alice = CustomerQuery(owner_ids=frozenset({"alice", "bob"}))
            assert [c.id for c in uow.customers.find(alice, 1, after="a1")] == ["a2"]
            city = CustomerQuery(attributes=(("city", "Ningbo"),))
            assert [c.id for c in uow.customers.find(city, 1, after="a1")] == ["b1"]
        # Pages of two, each in its own unit of work, meet every customer once.
        seen: list[str] = []
        after: str | None = None
        while True:
            with store.unit_of_work() as uow:
                page = uow.customers.find(CustomerQuery(), 2, after=after)
            if not page:
                break
            seen += [customer.id for customer in page]
            after = page[-1].id
        assert seen == sorted(crowd)

    def test_find_after_sees_customers_added_and_removed_between_pages(
        self, store: Store, crowd: dict[str, Customer]
    ) -> None:
        owned = CustomerQuery(status=CustomerStatus.PRIVATE)
        with store.unit_of_work() as uow:
            assert [c.id for c in uow.customers.find(owned, 1)] == ["a1"]
            uow.customers.add(private("a0"), NO_SCHEDULE)
            uow.customers.add(private("a3"), NO_SCHEDULE)
            uow.customers.remove("b1", crowd["b1"].version)
            uow.commit()
        with store.unit_of_work() as uow:
            assert [c.id for c in uow.customers.find(owned, after="a1")] == ["a2", "a3"]

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

    def test_names_by_block_gives_each_blocks_first_names_by_id(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            for n in (5, 3, 1, 4, 2):
                uow.customers.add(named(f"c{n}", f"Moumou n{n}"), NO_SCHEDULE)
            uow.customers.add(named("c6", "Other Things"), NO_SCHEDULE)
            # A unit of work finds its own writes.
            assert uow.customers.names_by_block(frozenset({"w:things"}), 10) == {
                "w:things": [("c6", "Other Things", normalise_name("Other Things"))]
            }
            uow.commit()
        with store.unit_of_work() as uow:
            by_block = uow.customers.names_by_block
            assert by_block(frozenset({"w:moumou", "w:n3", "w:nobody"}), 2) == {
                "w:moumou": [_named_as("c1", "Moumou n1"), _named_as("c2", "Moumou n2")],
                "w:n3": [_named_as("c3", "Moumou n3")],
                "w:nobody": [],
            }
            assert len(by_block(frozenset({"w:moumou"}), 50)["w:moumou"]) == 5
            assert by_block(frozenset(), 10) == {}
            # The union of the lists is what similar_names answers.
            for blocks in (frozenset({"w:moumou", "w:things"}), blocking_keys("Moumou n4")):
                lists = by_block(blocks, 3)
                union = sorted({(cid, name) for found in lists.values() for cid, name, _ in found})
                assert union == uow.customers.similar_names(blocks, 3)

    def test_common_blocks_are_those_with_more_than_per_block_names(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            for n in (3, 1, 2):
                uow.customers.add(named(f"c{n}", f"Moumou n{n}"), NO_SCHEDULE)
            common = uow.customers.common_blocks
            blocks = frozenset({"w:moumou", "w:n1", "w:nobody"})
            # Exactly at the bound: per_block names is not common, one more is.
            assert common(blocks, 3) == frozenset()
            assert common(blocks, 2) == {"w:moumou"}
            assert common(blocks, 0) == {"w:moumou", "w:n1"}
            assert common(blocks, -1) == {"w:moumou", "w:n1"}  # as 0: an empty block never is
            assert common(frozenset(), 2) == frozenset()
            uow.commit()
        with store.unit_of_work() as uow:
            # A unit of work counts its own writes: a rename and a removal leave a block...
            renamed = named("c1", "Other Things", version=2)
            uow.customers.update(renamed, NO_SCHEDULE, 1)
            assert uow.customers.common_blocks(frozenset({"w:moumou"}), 2) == frozenset()
            uow.customers.add(named("c4", "Moumou n4"), NO_SCHEDULE)
            assert uow.customers.common_blocks(frozenset({"w:moumou"}), 2) == {"w:moumou"}
            uow.customers.remove("c2", 1)
            assert uow.customers.common_blocks(frozenset({"w:moumou"}), 2) == frozenset()
            # ...and nothing of it stays when it is rolled back.
        with store.unit_of_work() as uow:
            assert uow.customers.common_blocks(frozenset({"w:moumou", "w:things"}), 2) == {
                "w:moumou"
            }

    def test_names_by_block_gives_the_normal_form_of_the_name_as_it_is_now(
        self, store: Store
    ) -> None:
        # The normal form is the store's own copy: it must follow a rename (in the unit of
        # work that renames, and after its commit) and leave with the customer.
        first = named("c1", "深圳市某某科技有限公司")
        with store.unit_of_work() as uow:
            uow.customers.add(first, NO_SCHEDULE)
            uow.customers.add(named("c2", "Moumou Trading"), NO_SCHEDULE)
            uow.commit()
        renamed = named("c1", "某某科技（广州）有限公司", version=2)
        blocks = blocking_keys(first.name) | blocking_keys(renamed.name)
        with store.unit_of_work() as uow:
            listed = {
                row for found in uow.customers.names_by_block(blocks, 10).values() for row in found
            }
            assert listed == {("c1", first.name, normalise_name(first.name))}
            uow.customers.update(renamed, NO_SCHEDULE, 1)
            listed = {
                row for found in uow.customers.names_by_block(blocks, 10).values() for row in found
            }
            assert listed == {("c1", renamed.name, normalise_name(renamed.name))}
            uow.commit()
        with store.unit_of_work() as uow:
            found = uow.customers.names_by_block(blocking_keys("Moumou Trading"), 10)
            assert ("c2", "Moumou Trading", normalise_name("Moumou Trading")) in found["w:moumou"]
            uow.customers.remove("c1", 2)
            assert not any(
                row[0] == "c1"
                for found in uow.customers.names_by_block(blocks, 10).values()
                for row in found
            )
            uow.commit()

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

    def test_upcoming_reads_what_due_reads(self, store: Store) -> None:
        # The forecast's read: the same customers in the same order as a sweep's, and it
        # leaves nothing for a sweeper to skip (a second unit of work still sees them due).
        with store.unit_of_work() as uow:
            uow.customers.add(private("c-late"), drop_at(T0 + 3 * DAY))
            uow.customers.add(private("c-warn"), drop_at(T0 + 9 * DAY, warn=T0 + DAY))
            uow.customers.add(public("c-none"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            until = T0 + 10 * DAY
            ids = [c.id for c in uow.customers.upcoming(until, 100)]
            assert ids == [c.id for c in uow.customers.due(until, 100)] == ["c-warn", "c-late"]
            assert [c.id for c in uow.customers.upcoming(until, 1)] == ["c-warn"]


__all__ = ["CustomerConformance"]
