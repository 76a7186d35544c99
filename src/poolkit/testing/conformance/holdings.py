"""The holdings contract: a rep's counts for the caps equal counting the customers ``find``
returns for that owner, for random books, after updates and removals, inside a unit of
work (its own writes), after a commit and after a rollback."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from poolkit.model.customer import Customer
from poolkit.model.holdings import Holdings
from poolkit.ports import CustomerQuery, Store, UnitOfWork
from poolkit.testing.builders import NO_SCHEDULE, T0, private, public

# What a customer becomes: owned by one of the example's reps (by index) or public (None),
# with a deal or not, locked or not (a public customer is never locked).
_Shape = tuple[int | None, bool, bool]
_SHAPES = st.tuples(st.one_of(st.none(), st.integers(0, 2)), st.booleans(), st.booleans())


def _customer(customer_id: str, reps: list[str], shape: _Shape, version: int) -> Customer:
    owner, dealt, locked = shape
    deal = T0 if dealt else None
    if owner is None:
        return public(customer_id, last_deal_at=deal, version=version)
    return private(customer_id, reps[owner], last_deal_at=deal, locked=locked, version=version)


def _counted(uow: UnitOfWork, rep_id: str) -> Holdings:
    return Holdings.of(uow.customers.find(CustomerQuery(owner_ids=frozenset({rep_id}))))


def _check(uow: UnitOfWork, reps: list[str]) -> dict[str, Holdings]:
    found = {rep_id: uow.customers.holdings(rep_id) for rep_id in reps}
    assert found == {rep_id: _counted(uow, rep_id) for rep_id in reps}
    return found


class HoldingsConformance:
    """:meth:`~poolkit.ports.CustomerRepository.holdings`. Subclass with a ``store``
    fixture returning a fresh, empty store."""

    def test_a_rep_who_owns_nothing_holds_nothing(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(public("p1", last_deal_at=T0), NO_SCHEDULE)
            assert uow.customers.holdings("alice") == Holdings()
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.holdings("alice") == Holdings()
            assert uow.customers.holdings("nobody") == Holdings()

    def test_holdings_count_each_kind_of_customer_once(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            for customer in (
                private("a1"),
                private("a2", last_deal_at=T0),
                private("a3", locked=True),
                private("a4", locked=True, last_deal_at=T0),
                private("a5", locked=True, last_deal_at=T0),
                private("b1", "bob", locked=True),
                public("p1"),
            ):
                uow.customers.add(customer, NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.holdings("alice") == Holdings(5, 3, 3, 2)
            assert uow.customers.holdings("bob") == Holdings(1, 0, 1, 0)

    def test_holdings_equal_counting_what_find_finds(self, store: Store) -> None:
        examples = itertools.count()

        # Each example has reps and customers of its own, so examples run on one store
        # without seeing each other.
        @settings(max_examples=25, deadline=None)
        @given(data=st.data())
        def check(data: st.DataObject) -> None:
            n = next(examples)
            reps = [f"h{n}-rep{index}" for index in range(3)]
            shapes = data.draw(st.lists(_SHAPES, max_size=12), label="book")
            stored: dict[str, Customer] = {}
            with store.unit_of_work() as uow:
                for index, shape in enumerate(shapes):
                    customer = _customer(f"h{n}-c{index:02d}", reps, shape, 1)
                    uow.customers.add(customer, NO_SCHEDULE)
                    stored[customer.id] = customer
                _check(uow, reps)  # its own writes, before the commit
                uow.commit()
            for _ in range(2):
                with store.unit_of_work() as uow:
                    before = _check(uow, reps)
                if not stored:
                    return
                ids = sorted(stored)
                changes = data.draw(
                    st.lists(
                        st.tuples(st.sampled_from(ids), st.one_of(st.none(), _SHAPES)), max_size=8
                    ),
                    label="changes",
                )
                keep = data.draw(st.booleans(), label="commit")
                after = dict(stored)
                with store.unit_of_work() as uow:
                    for customer_id, change in changes:
                        current = after.get(customer_id)
                        if current is None:
                            continue
                        if change is None:
                            uow.customers.remove(customer_id, current.version)
                            del after[customer_id]
                        else:
                            changed = _customer(customer_id, reps, change, current.version + 1)
                            uow.customers.update(changed, NO_SCHEDULE, current.version)
                            after[customer_id] = changed
                        _check(uow, reps)
                    if keep:
                        uow.commit()
                        stored = after
                    else:
                        uow.rollback()
                with store.unit_of_work() as uow:
                    found = _check(uow, reps)
                    if not keep:
                        assert found == before

        check()
