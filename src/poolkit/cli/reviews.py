"""Look-alike customers: ``similar``, ``reviews``, ``not-same``, ``merge``."""

from __future__ import annotations

import argparse

from poolkit import ReviewStatus
from poolkit.cli._context import Context
from poolkit.cli._output import count, customer_json, plain
from poolkit.cli._registry import Actor, arg, command

__all__ = ["merge", "not_same", "reviews", "similar"]


@command(
    "similar",
    "stored customers whose names look like NAME (check before entering one)",
    arg("name"),
    actor=Actor.NONE,
)
def similar(ctx: Context, args: argparse.Namespace) -> None:
    matches = ctx.service().similar(args.name)
    ctx.emit(
        [plain(m) for m in matches],
        [f"{m.customer_id:<12} {m.name}  (score {m.score:g})" for m in matches]
        + [f"({count(len(matches), 'look-alike')})"],
    )


@command(
    "reviews",
    "the review list: pairs of customers whose names look alike",
    arg("--all", action="store_true", help="resolved items too, not only open ones"),
    arg("--customer", help="only the items of this customer"),
    actor=Actor.NONE,
)
def reviews(ctx: Context, args: argparse.Namespace) -> None:
    status = None if args.all else ReviewStatus.OPEN
    items = ctx.service().reviews(status, args.customer)
    ctx.emit(
        [plain(item) for item in items],
        [
            f"{item.id:<24} {item.customer_id} looks like {item.similar_id} "
            f"(score {item.score:g}) [{item.status.value}]"
            for item in items
        ]
        + [f"({count(len(items), 'review item')})"],
    )


@command(
    "not-same",
    "decide that the two customers of a review item are different (admins)",
    arg("review", help="review item id, as `poolkit reviews` shows it"),
)
def not_same(ctx: Context, args: argparse.Namespace) -> None:
    item = ctx.service().mark_not_same(args.actor, args.review)
    ctx.emit(
        plain(item),
        f"not-same: {item.id}: {item.customer_id} and {item.similar_id} are different customers",
    )


@command(
    "merge",
    "merge one customer into another (admins): one remains, with both histories",
    arg("keep", help="the customer that remains"),
    arg("absorb", help="the customer merged into it"),
)
def merge(ctx: Context, args: argparse.Namespace) -> None:
    customer = ctx.service().merge(args.actor, args.keep, args.absorb)
    ctx.emit(
        customer_json(customer),
        f"merge: {args.absorb} merged into {customer.id}, now {customer.where}",
    )
