"""A store's whole content as comparable values: what "changed nothing" is checked against.

A module of its own, not in ``conftest.py``: the PostgreSQL tests have a ``conftest`` of
their own, and ``from conftest import ...`` would find whichever was imported first.
"""

from __future__ import annotations

import attrs

from poolkit import Customer, Event, Pool, Rep
from poolkit.ports import Schedule, Store

__all__ = ["StoreState", "store_state"]


@attrs.frozen
class StoreState:
    """Everything a store holds, as comparable values."""

    customers: dict[str, Customer]
    schedules: dict[str, Schedule | None]
    histories: dict[str, list[Event]]
    reps: list[Rep]
    pools: list[Pool]


def store_state(store: Store) -> StoreState:
    """Read every customer, schedule, history, rep and pool in one unit of work."""
    with store.unit_of_work() as uow:
        customers: dict[str, Customer] = {}
        schedules: dict[str, Schedule | None] = {}
        for customer_id in uow.customers.ids():
            customer = uow.customers.get(customer_id)
            assert customer is not None
            customers[customer_id] = customer
            schedules[customer_id] = uow.customers.schedule_of(customer_id)
        histories = {cid: uow.events.history(cid) for cid in uow.events.customer_ids()}
        return StoreState(customers, schedules, histories, uow.reps.all(), uow.pools.all())
