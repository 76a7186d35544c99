"""Moving customers between pools, and working them: ``claim``, ``assign``, ``return``,
``recycle``, ``transfer``, ``reassign``, ``change-pool``, ``freeze``, ``restore``,
``follow-up``."""

from __future__ import annotations

import argparse

from poolkit import Customer, FollowUpKind
from poolkit.cli._bulk import BULK, CUSTOMERS, move
from poolkit.cli._context import Context
from poolkit.cli._output import customer_json, next_drop, plain, when
from poolkit.cli._registry import arg, command
from poolkit.events import FollowedUp

__all__ = [
    "assign",
    "change_pool",
    "claim",
    "follow_up",
    "freeze",
    "reassign",
    "recycle",
    "restore",
    "return_",
    "transfer",
]

CUSTOMER = arg("customer", help="customer id")
TO_REP = arg("--to", required=True, metavar="REP", help="the rep who receives it")
REASON = arg("--reason", default="", help="why")


def _moved(ctx: Context, action: str, customer: Customer) -> None:
    ctx.emit(customer_json(customer), f"{action}: {customer.id} is now {customer.where}")


def _where(customer: Customer) -> str:
    return f"is now {customer.where}"


@command("claim", "claim customers from a public pool", CUSTOMERS, *BULK)
def claim(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    move(
        ctx,
        args,
        "claim",
        lambda one: service.claim(args.actor, one),
        lambda ids, mode: service.bulk_claim(args.actor, ids, mode=mode),
        _where,
    )


@command("assign", "assign public customers to a pool member", CUSTOMERS, TO_REP, *BULK)
def assign(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    move(
        ctx,
        args,
        "assign",
        lambda one: service.assign(args.actor, one, args.to),
        lambda ids, mode: service.bulk_assign(args.actor, ids, args.to, mode=mode),
        _where,
    )


@command(
    "return",
    "return customers to their public pool",
    CUSTOMERS,
    arg("--reason", required=True, help="why (required)"),
    *BULK,
)
def return_(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    move(
        ctx,
        args,
        "return",
        lambda one: service.return_to_pool(args.actor, one, args.reason),
        lambda ids, mode: service.bulk_return_to_pool(args.actor, ids, args.reason, mode=mode),
        _where,
    )


@command("recycle", "take customers back to their public pool", CUSTOMERS, REASON, *BULK)
def recycle(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    move(
        ctx,
        args,
        "recycle",
        lambda one: service.recycle(args.actor, one, args.reason),
        lambda ids, mode: service.bulk_recycle(args.actor, ids, args.reason, mode=mode),
        _where,
    )


@command("transfer", "hand customers to another rep", CUSTOMERS, TO_REP, *BULK)
def transfer(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    move(
        ctx,
        args,
        "transfer",
        lambda one: service.transfer(args.actor, one, args.to),
        lambda ids, mode: service.bulk_transfer(args.actor, ids, args.to, mode=mode),
        _where,
    )


@command(
    "reassign",
    "take a customer from one rep and give it to another (supervisors)",
    CUSTOMER,
    TO_REP,
    REASON,
)
def reassign(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    _moved(ctx, "reassign", service.reassign(args.actor, args.customer, args.to, args.reason))


@command(
    "change-pool",
    "move a public customer to another public pool",
    CUSTOMER,
    arg("--to", required=True, metavar="POOL", help="the pool it moves to"),
)
def change_pool(ctx: Context, args: argparse.Namespace) -> None:
    _moved(ctx, "change-pool", ctx.service().change_pool(args.actor, args.customer, args.to))


@command("freeze", "put customers in the recycle bin", CUSTOMERS, REASON, *BULK)
def freeze(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    move(
        ctx,
        args,
        "freeze",
        lambda one: service.freeze(args.actor, one, args.reason),
        lambda ids, mode: service.bulk_freeze(args.actor, ids, args.reason, mode=mode),
        _where,
    )


@command(
    "restore",
    "bring a customer back from the recycle bin",
    CUSTOMER,
    arg("--pool", help="pool to restore into (default: its own)"),
)
def restore(ctx: Context, args: argparse.Namespace) -> None:
    _moved(ctx, "restore", ctx.service().restore(args.actor, args.customer, args.pool))


@command(
    "follow-up",
    "record a follow-up (resets the drop clock)",
    CUSTOMER,
    arg("--kind", default="call", choices=[k.value for k in FollowUpKind]),
    arg("--note", default="", help="what was said or done"),
)
def follow_up(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    customer = service.follow_up(args.actor, args.customer, args.kind, args.note)
    # What was recorded is the event that made this version of the customer (another
    # process may have added events since).
    recorded = next(e for e in service.history(customer.id) if e.seq == customer.version)
    assert isinstance(recorded, FollowedUp)
    note = f": {recorded.note}" if recorded.note else ""
    phrase, deadline = next_drop(customer, service)
    ctx.emit(
        {**customer_json(customer), "recorded": plain(recorded), "next_drop": deadline},
        [
            f"follow-up: {customer.id} ({customer.where}): {recorded.method.value} by "
            f"{recorded.actor_id} at {when(service, recorded.at)}{note}",
            f"  next drop: {phrase}",
        ],
    )
