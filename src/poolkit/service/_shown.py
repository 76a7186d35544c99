"""What a rep is shown of a customer and its history: under the policy's
``visibility.mask_keys``, identity keys masked unless :func:`~poolkit.service.rights.may_see_keys`.
Every read made with an actor goes through here."""

from __future__ import annotations

import attrs

from poolkit.identity.masking import mask_key, masked
from poolkit.model.customer import Customer
from poolkit.model.events import Created, Edited, Event, Merged
from poolkit.model.rep import Rep
from poolkit.policy.config import Policy
from poolkit.service import rights


def hides_keys(policy: Policy, team: rights.TeamView, actor: Rep, customer: Customer) -> bool:
    """Whether ``actor`` is shown ``customer``'s keys masked."""
    return policy.visibility.mask_keys and not rights.may_see_keys(team, actor, customer)


def shown(policy: Policy, team: rights.TeamView, actor: Rep, customer: Customer) -> Customer:
    """``customer`` as ``actor`` is shown it."""
    return masked(customer) if hides_keys(policy, team, actor, customer) else customer


def shown_events(
    policy: Policy,
    team: rights.TeamView,
    actor: Rep,
    customer: Customer | None,
    events: list[Event],
) -> list[Event]:
    """A customer's events as ``actor`` is shown them: the events that carry keys (created,
    edited, merged) with their keys masked when the customer's are. A deleted customer
    (None) is shown only to admins, who see everything."""
    if customer is None or not hides_keys(policy, team, actor, customer):
        return events
    return [
        attrs.evolve(event, keys=frozenset(mask_key(key) for key in event.keys))
        if isinstance(event, Created | Edited | Merged)
        else event
        for event in events
    ]
