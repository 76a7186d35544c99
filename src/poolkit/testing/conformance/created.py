"""The contract of writing many new customers at once (what an import's batch does):
each with its first event, all of them or none."""

from __future__ import annotations

import pytest

from poolkit.errors import DuplicateIdError
from poolkit.identity.normalise import normalise_name
from poolkit.identity.similarity import blocking_keys
from poolkit.model.customer import Customer, IdentityKey
from poolkit.model.events import Created
from poolkit.model.history import apply
from poolkit.model.schedule import Schedule
from poolkit.ports import Store, UnitOfWork
from poolkit.testing.builders import DAY, NO_SCHEDULE, T0, drop_at, public

Batch = list[tuple[Created, Customer, Schedule]]


def created(
    customer_id: str, name: str, phone: str, external_id: str | None = None, owner: bool = False
) -> tuple[Created, Customer, Schedule]:
    """A new customer's ``created`` event, the customer it makes and a schedule."""
    event = Created(
        seq=1,
        actor_id="admin",
        customer_id=customer_id,
        at=T0,
        name=name,
        pool_id="north",
        owner_id="alice" if owner else None,
        keys={"phone": phone},
        tags={"expo"},
        external_id=external_id,
    )
    customer = apply(None, event)
    assert customer is not None
    return event, customer, drop_at(T0 + 30 * DAY) if owner else NO_SCHEDULE


def _written(uow: UnitOfWork, batch: Batch) -> None:
    """Everything ``add`` and ``append`` would have written of each, readable."""
    for event, customer, _ in batch:
        assert uow.customers.get(customer.id) == customer
        assert uow.events.history(customer.id) == [event]
        keys = frozenset(customer.keys)
        assert [c.id for c in uow.customers.with_keys(keys)] == [customer.id]
        listed = uow.customers.names_by_block(blocking_keys(customer.name), 100)
        rows = {row for found in listed.values() for row in found}
        assert (customer.id, customer.name, normalise_name(customer.name)) in rows
        if customer.external_id is not None:
            found = uow.customers.with_external_ids(frozenset({customer.external_id}))
            assert found == {customer.external_id: customer.id}


class CreatedConformance:
    """:meth:`~poolkit.ports.CustomerRepository.add_created`. Subclass with a ``store``
    fixture returning a fresh, empty store."""

    def test_many_customers_are_written_with_their_histories_and_indexes(
        self, store: Store
    ) -> None:
        batch = [
            created("c1", "深圳市某某科技有限公司", "+8613800000001", "crm-1"),
            created("c2", "Moumou Trading", "+8613800000002", owner=True),
            created("c3", "某某科技（广州）有限公司", "+8613800000003", "crm-3"),
        ]
        with store.unit_of_work() as uow:
            uow.customers.add_created(batch)
            _written(uow, batch)  # in the unit of work that wrote them
            uow.customers.add_created([])
            uow.commit()
        with store.unit_of_work() as uow:
            _written(uow, batch)
            # In the change feed, in the order given.
            feed = uow.events.since(0, 10)
            assert [entry.event for entry in feed] == [event for event, _, _ in batch]
            assert uow.customers.holdings("alice").owned == 1
            # Written like any customer: an update of one follows the indexes.
            renamed = batch[0][1]
            moved = public("c1", name="Beta Foods", keys={"phone": "+8613800000009"}, version=2)
            uow.customers.update(moved, NO_SCHEDULE, renamed.version)
            phone = frozenset({IdentityKey("phone", "+8613800000001")})
            assert uow.customers.with_keys(phone) == []
            uow.commit()

    @pytest.mark.parametrize(
        ("batch", "refused"),
        [
            # c1 is stored
            (lambda: [created("n1", "Alpha", "+861"), created("c1", "Beta", "+862")], "c1"),
            # c9 was removed: its history keeps its id
            (lambda: [created("c9", "Alpha", "+861")], "c9"),
            # twice among them
            (lambda: [created("n1", "Alpha", "+861"), created("n1", "Beta", "+862")], "n1"),
        ],
        ids=["stored", "a history", "repeated"],
    )
    def test_a_taken_id_refuses_them_all_and_writes_nothing(
        self, store: Store, batch: object, refused: str
    ) -> None:
        self._refused(store, batch, ("customer", refused))

    @pytest.mark.parametrize(
        ("batch", "refused"),
        [
            (
                lambda: [created("n1", "Alpha", "+861", "x-2"), created("n2", "B", "+862", "x-1")],
                "x-1",
            ),
            (
                lambda: [created("n1", "Alpha", "+861", "x-7"), created("n2", "B", "+862", "x-7")],
                "x-7",
            ),
        ],
        ids=["stored", "repeated"],
    )
    def test_a_taken_external_id_refuses_them_all_and_writes_nothing(
        self, store: Store, batch: object, refused: str
    ) -> None:
        self._refused(store, batch, ("external", refused))

    def _refused(self, store: Store, batch: object, refusal: tuple[str, str]) -> None:
        assert callable(batch)
        with store.unit_of_work() as uow:
            event, customer, schedule = created("c1", "Stored", "+8613800000001", "x-1")
            uow.events.append(event)
            uow.customers.add(customer, schedule)
            gone, customer, schedule = created("c9", "Removed", "+8613800000009")
            uow.events.append(gone)
            uow.customers.add(customer, schedule)
            uow.customers.remove("c9", 1)
            uow.commit()
        new: Batch = batch()
        with store.unit_of_work() as uow:
            with pytest.raises(DuplicateIdError) as error:
                uow.customers.add_created(new)
            assert (error.value.kind, error.value.id) == refusal
            # The unit of work goes on: the refusal wrote nothing of them.
            last = created("n3", "Gamma", "+8613800000003")
            uow.customers.add_created([last])
            uow.commit()
        with store.unit_of_work() as uow:
            for _, customer, _ in new:
                if customer.id not in ("c1", "c9"):
                    assert uow.customers.get(customer.id) is None
                    assert uow.events.history(customer.id) == []
            assert uow.customers.with_keys(frozenset({IdentityKey("phone", "+861")})) == []
            stored = uow.customers.get("c1")
            assert stored is not None and stored.name == "Stored"
            _written(uow, [last])
            # c1's, c9's and n3's created events, and c9's removal wrote none
            assert len(uow.events.since(0, 10)) == 3

    def test_rolled_back_they_leave_nothing(self, store: Store) -> None:
        batch = [created("c1", "Alpha Trading", "+8613800000001", "crm-1")]
        with store.unit_of_work() as uow:
            uow.customers.add_created(batch)
            uow.rollback()
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1") is None
            assert uow.events.history("c1") == []
            assert uow.customers.with_external_ids(frozenset({"crm-1"})) == {}
            assert uow.customers.names_by_block(frozenset({"w:alpha"}), 10) == {"w:alpha": []}
            # and the ids are free again
            uow.customers.add_created(batch)
            uow.commit()
