"""The pure rules of a policy: when a customer drops or its owner is warned, whether a rep
is at their cap or claim limit or in a cooldown, where a new customer is routed (and why:
``explain``), and which member of a pool automatic assignment picks (``choose``).

Functions of values (a customer, a policy, an instant) that read no store and change
nothing: a program can ask "when will this customer drop?" without a service, and the
service asks the same functions. The calendar helpers say how a policy counts days in its
time zone.
"""

from poolkit.policy.assignment import Candidate, Choice, Turn, candidate, choose
from poolkit.policy.calendar import add_days, format_instant, start_of_day
from poolkit.policy.routing import Miss, RouteExplanation, explain
from poolkit.policy.rules import (
    ActionKind,
    CapFull,
    ClaimLimitReached,
    CooldownRunning,
    Deadline,
    Decision,
    Drop,
    DueAction,
    Reason,
    Reschedule,
    Warn,
    cap_count,
    check_cap,
    check_claim_limit,
    check_cooldown,
    check_lock_cap,
    deadlines,
    due_action,
    evaluate_drop,
    next_drop,
    route,
    schedule,
    warning_due,
)

__all__ = [
    "ActionKind",
    "Candidate",
    "CapFull",
    "Choice",
    "ClaimLimitReached",
    "CooldownRunning",
    "Deadline",
    "Decision",
    "Drop",
    "DueAction",
    "Miss",
    "Reason",
    "Reschedule",
    "RouteExplanation",
    "Turn",
    "Warn",
    "add_days",
    "candidate",
    "cap_count",
    "check_cap",
    "check_claim_limit",
    "check_cooldown",
    "check_lock_cap",
    "choose",
    "deadlines",
    "due_action",
    "evaluate_drop",
    "explain",
    "format_instant",
    "next_drop",
    "route",
    "schedule",
    "start_of_day",
    "warning_due",
]
