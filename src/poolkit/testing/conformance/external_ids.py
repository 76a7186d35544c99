"""The external-id contract: imported customers found by their id in the system they came
from (what an import run again skips), one customer per external id."""

from __future__ import annotations

import attrs
import pytest

from poolkit.errors import DuplicateIdError
from poolkit.ports import Store
from poolkit.testing.builders import NO_SCHEDULE, public


class ExternalIdConformance:
    """:meth:`~poolkit.ports.CustomerRepository.with_external_ids` and the uniqueness of
    :attr:`~poolkit.model.customer.Customer.external_id`. Subclass with a ``store`` fixture
    returning a fresh, empty store."""

    def test_customers_are_found_by_their_external_ids(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(public("c1", external_id="crm-1"), NO_SCHEDULE)
            uow.customers.add(public("c2", external_id="客户-2"), NO_SCHEDULE)
            uow.customers.add(public("c3"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            found = uow.customers.with_external_ids(frozenset({"crm-1", "客户-2", "crm-9"}))
            assert found == {"crm-1": "c1", "客户-2": "c2"}
            assert uow.customers.with_external_ids(frozenset()) == {}
            stored = uow.customers.get("c2")
            assert stored is not None and stored.external_id == "客户-2"

    def test_a_taken_external_id_is_refused_and_nothing_is_written(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(public("c1", external_id="crm-1"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            with pytest.raises(DuplicateIdError) as refused:
                uow.customers.add(public("c2", external_id="crm-1"), NO_SCHEDULE)
            assert (refused.value.kind, refused.value.id) == ("external", "crm-1")
            # The unit of work goes on: the refusal wrote nothing of c2.
            uow.customers.add(public("c3", external_id="crm-3"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get("c2") is None
            assert uow.customers.with_external_ids(frozenset({"crm-1", "crm-3"})) == {
                "crm-1": "c1",
                "crm-3": "c3",
            }

    def test_a_rolled_back_add_leaves_its_external_id_free(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(public("c1", external_id="crm-1"), NO_SCHEDULE)
        with store.unit_of_work() as uow:
            assert uow.customers.with_external_ids(frozenset({"crm-1"})) == {}
            uow.customers.add(public("c2", external_id="crm-1"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.with_external_ids(frozenset({"crm-1"})) == {"crm-1": "c2"}

    def test_a_removed_customer_frees_its_external_id(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(public("c1", external_id="crm-1"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.customers.remove("c1", 1)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.with_external_ids(frozenset({"crm-1"})) == {}

    def test_an_update_keeps_the_external_id(self, store: Store) -> None:
        customer = public("c1", external_id="crm-1")
        with store.unit_of_work() as uow:
            uow.customers.add(customer, NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.customers.update(attrs.evolve(customer, name="Renamed", version=2), NO_SCHEDULE, 1)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.with_external_ids(frozenset({"crm-1"})) == {"crm-1": "c1"}

    def test_many_external_ids_are_one_lookup(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            for n in range(300):
                uow.customers.add(public(f"c{n:03d}", external_id=f"x{n}"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            wanted = frozenset(f"x{n}" for n in range(0, 600, 2))
            found = uow.customers.with_external_ids(wanted)
            assert found == {f"x{n}": f"c{n:03d}" for n in range(0, 300, 2)}
