"""How customers, times and counts read on a terminal and in JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from poolkit import Assignment, Customer, PoolService, rules
from poolkit.plain import to_plain
from poolkit.rules import format_instant

__all__ = [
    "assignment_line",
    "count",
    "customer_json",
    "details",
    "line",
    "next_drop",
    "plain",
    "when",
]


def count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def plain(value: object) -> Any:
    """A library value as JSON-ready data: ISO 8601 times with their offset."""
    return to_plain(value)


def customer_json(customer: Customer) -> dict[str, Any]:
    # to_plain, not encode: plain ISO 8601 datetimes, without the storage format's [zone].
    data: dict[str, Any] = to_plain(customer)
    return data


def when(service: PoolService, value: datetime | None) -> str:
    return format_instant(value, service.policy.zone) if value is not None else "-"


def line(customer: Customer) -> str:
    grade = customer.grade or "-"
    tags = f" [{', '.join(sorted(customer.tags))}]" if customer.tags else ""
    lock = " (locked)" if customer.locked else ""
    return f"{customer.id:<12} {grade:<2} {customer.name}  — {customer.where}{tags}{lock}"


def next_drop(customer: Customer, service: PoolService) -> tuple[str, dict[str, Any] | None]:
    """When ``customer`` drops if nobody touches it, as a phrase and as JSON."""
    deadline = rules.next_drop(customer, service.policy)
    if deadline is None:
        return "none", None
    at = format_instant(deadline.due_at, service.policy.zone)
    data = {
        "at": deadline.due_at.isoformat(),
        "rule": deadline.rule.name,
        "message": deadline.message,
    }
    return f"{at} ({deadline.message})", data


def details(customer: Customer, service: PoolService) -> list[str]:
    keys = ", ".join(str(key) for key in sorted(customer.keys)) or "-"
    related = ", ".join(sorted(customer.related_reps)) or "-"
    attributes = ", ".join(f"{k}={v}" for k, v in sorted(customer.attributes.items())) or "-"
    lines = [
        f"{customer.id}: {customer.name}",
        f"  where:          {customer.where}",
        f"  pool:           {customer.pool_id}",
        f"  grade:          {customer.grade or '-'}",
        f"  tags:           {', '.join(sorted(customer.tags)) or '-'}",
        f"  attributes:     {attributes}",
        f"  keys:           {keys}",
        f"  related reps:   {related}",
        f"  created:        {when(service, customer.created_at)} by {customer.creator_id or '-'}",
        f"  owned since:    {when(service, customer.owned_since)}",
        f"  last follow-up: {when(service, customer.last_follow_up_at)}",
        f"  last deal:      {when(service, customer.last_deal_at)}",
        f"  locked:         {'yes' if customer.locked else 'no'}",
    ]
    phrase, data = next_drop(customer, service)
    if data is not None:
        lines.append(f"  next drop:      {phrase}")
    return lines


def assignment_line(decision: Assignment) -> str:
    """One automatic assignment in words: who got the customer and why, or why nobody."""
    if decision.rep_id is None:
        return f"{decision.customer_id} stays in pool {decision.pool_id}: {decision.reason}"
    return f"assigned {decision.customer_id} to {decision.rep_id}: {decision.reason}"
