"""What every store checks of the customers given to ``add_created`` before it looks at
what it stores: each with its first event, no id or external id twice."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from poolkit.errors import DuplicateIdError, InvalidValueError
from poolkit.model.customer import Customer
from poolkit.model.events import Created
from poolkit.model.schedule import Schedule

__all__ = ["checked_ids"]


def checked_ids(
    created: Sequence[tuple[Created, Customer, Schedule]],
) -> tuple[list[str], list[str]]:
    """The ids and the external ids of ``created``, in order, after checking that each
    event is seq 1 of its customer and that no id or external id comes twice
    (:class:`DuplicateIdError` naming the first repeated)."""
    for event, customer, _ in created:
        if event.customer_id != customer.id or event.seq != 1:
            raise InvalidValueError(
                "created",
                f"event {event.customer_id}#{event.seq} is not the first of {customer.id!r}",
            )
    ids = [customer.id for _, customer, _ in created]
    external = [c.external_id for _, c, _ in created if c.external_id is not None]
    for kind, values in (("customer", ids), ("external", external)):
        repeated = _first_repeat(values)
        if repeated is not None:
            raise DuplicateIdError(kind, repeated)
    return ids, external


def _first_repeat(values: Iterable[str]) -> str | None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None
