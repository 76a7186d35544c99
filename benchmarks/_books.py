"""How the benchmarks load their books of customers: straight through a store's
repositories, each customer with its ``Created`` event and its schedule, in the caller's
unit of work. Much quicker than the service, and the store ends exactly as if the
customers had been created through it."""

from __future__ import annotations

from typing import Any

from poolkit import Policy
from poolkit.model.events import Created
from poolkit.model.history import apply
from poolkit.policy import rules
from poolkit.ports import UnitOfWork


def store_created(uow: UnitOfWork, policy: Policy, **created: Any) -> None:
    """Store the customer that ``Created(**created)`` (by the admin) makes."""
    event = Created(seq=1, actor_id="admin", **created)
    customer = apply(None, event)
    assert customer is not None
    uow.events.append(event)
    uow.customers.add(customer, rules.schedule(customer, policy))
