"""The pure rules of a policy: when a customer drops or its owner is warned, whether a rep
is at their cap or claim limit or in a cooldown, where a new customer is routed.

Functions of values (a customer, a policy, an instant) that read no store and change
nothing: a program can ask "when will this customer drop?" without a service, and the
service asks the same functions. The calendar helpers say how a policy counts days in its
time zone.
"""

from poolkit.policy.calendar import add_days, format_instant, start_of_day
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
    "CapFull",
    "ClaimLimitReached",
    "CooldownRunning",
    "Deadline",
    "Decision",
    "Drop",
    "DueAction",
    "Reason",
    "Reschedule",
    "Warn",
    "add_days",
    "cap_count",
    "check_cap",
    "check_claim_limit",
    "check_cooldown",
    "check_lock_cap",
    "deadlines",
    "due_action",
    "evaluate_drop",
    "format_instant",
    "next_drop",
    "route",
    "schedule",
    "start_of_day",
    "warning_due",
]
