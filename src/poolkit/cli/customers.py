"""One customer and lists of them: ``create``, ``show``, ``history``, ``list``, ``edit``,
``change-grade``, ``lock``, ``unlock``, ``delete``."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from datetime import datetime

import attrs

from poolkit import Customer, CustomerStatus, Event, PoolService
from poolkit.cli._args import instant, pairs, whole_number
from poolkit.cli._bulk import BULK, CUSTOMERS, move
from poolkit.cli._context import Context
from poolkit.cli._output import count, customer_json, details, line, plain
from poolkit.cli._registry import Actor, arg, command
from poolkit.errors import UsageError
from poolkit.rules import format_instant

__all__ = [
    "change_grade",
    "create",
    "delete",
    "edit",
    "history",
    "list_",
    "lock",
    "show",
    "unlock",
]

CUSTOMER = arg("customer", help="customer id")
KEYS = (
    arg("--phone", action="append", help="a phone number (repeatable)"),
    arg("--email", action="append", help="an email address (repeatable)"),
    arg("--uscc", action="append", help="unified social credit code (repeatable)"),
    arg("--key", action="append", metavar="KIND=VALUE", help="any other identity key"),
)


def _keys(args: argparse.Namespace) -> list[tuple[str, str]]:
    # The service normalises them, so "138 0013 8000" and "+86 138-0013-8000" are one key.
    found = [
        (kind, value)
        for kind, values in (("phone", args.phone), ("email", args.email), ("uscc", args.uscc))
        for value in values or ()
    ]
    return found + pairs(args.key, "--key", "KIND=VALUE")


def _attributes(items: Iterable[str] | None) -> dict[str, str]:
    return dict(pairs(items, "--attr", "NAME=VALUE"))


@command(
    "create",
    "enter one customer (collision check first)",
    arg("name"),
    arg("--id", help="customer id (default: generated)"),
    *KEYS,
    arg("--grade"),
    arg("--tag", action="append", help="a tag (repeatable)"),
    arg("--attr", action="append", metavar="NAME=VALUE", help="an attribute (repeatable)"),
    arg("--pool", help="its public pool"),
    arg("--public", action="store_true", help="straight into the public pool"),
)
def create(ctx: Context, args: argparse.Namespace) -> None:
    result = ctx.service().create_with_warnings(
        args.actor,
        args.name,
        customer_id=args.id,
        keys=_keys(args),
        grade=args.grade,
        tags=args.tag or (),
        attributes=_attributes(args.attr),
        pool_id=args.pool,
        public=args.public,
    )
    customer = result.customer
    lines = [f"created {customer.id}: {customer.name}, {customer.where}"]
    lines += [
        f"  looks like {m.customer_id} {m.name!r} (score {m.score:g}); filed for review"
        for m in result.similar
    ]
    ctx.emit({**customer_json(customer), "similar": [plain(m) for m in result.similar]}, lines)


@command("show", "show one customer", CUSTOMER, actor=Actor.OPTIONAL)
def show(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    customer = service.customer(args.customer, actor_id=args.actor)
    ctx.emit(customer_json(customer), details(customer, service))


@command(
    "history",
    "show a customer's history",
    CUSTOMER,
    arg("--merged", action="store_true", help="with the histories of customers merged into it"),
    actor=Actor.OPTIONAL,
)
def history(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    if args.merged:
        # Checks that the rep may see the customer; merged_history takes no actor itself.
        if args.actor:
            service.history(args.customer, actor_id=args.actor)
        events = service.merged_history(args.customer)
    else:
        events = service.history(args.customer, actor_id=args.actor)
    zone = service.policy.zone

    def text(event: Event) -> str:
        # Merged histories interleave customers: each line names its own.
        whose = f"{event.customer_id:<8} " if args.merged else ""
        return f"{whose}{event.seq:>3}  {format_instant(event.at, zone)}  {event.describe()}"

    ctx.emit([plain(event) for event in events], [text(event) for event in events])


@attrs.frozen
class _Filter:
    """The filters of ``list``, applied to what the service's queries return."""

    status: CustomerStatus | None
    owner: str | None
    pool: str | None
    grades: frozenset[str] | None
    tags: frozenset[str]
    attributes: dict[str, str] = attrs.field(hash=False)
    dropped_since: datetime | None = None

    def keeps(self, customer: Customer) -> bool:
        since = customer.public_since
        return (
            (self.status is None or customer.status is self.status)
            and (self.owner is None or customer.owner_id == self.owner)
            and (self.pool is None or customer.pool_id == self.pool)
            and (self.grades is None or customer.grade in self.grades)
            and self.tags <= customer.tags
            and all(customer.attributes.get(k) == v for k, v in self.attributes.items())
            and (self.dropped_since is None or (since is not None and since >= self.dropped_since))
        )


def _candidates(service: PoolService, found: _Filter, actor: str | None) -> list[Customer]:
    """Every customer the filter may keep, from the narrowest query that holds them all.

    The service has no one query over every customer with these filters, so this asks
    private_pool, public_pool, recycle_bin or visible_to and the filter does the rest.
    """
    if found.owner is not None:
        owned = service.private_pool(found.owner)  # an unknown rep: RepNotFound, exit 3
        if actor is None:
            return owned
    if actor is not None:
        return service.visible_to(actor)
    status = found.status
    candidates: list[Customer] = []
    if status in (None, CustomerStatus.PRIVATE):
        for rep in service.reps():
            candidates += service.private_pool(rep.id)
    if status in (None, CustomerStatus.PUBLIC):
        pools = [found.pool] if found.pool is not None else [p.id for p in service.pools()]
        for pool_id in pools:
            candidates += service.public_pool(pool_id)
    if status in (None, CustomerStatus.FROZEN):
        candidates += service.recycle_bin()
    return candidates


@command(
    "list",
    "list customers, with filters",
    arg("--status", choices=[s.value for s in CustomerStatus]),
    arg("--owner", metavar="REP"),
    arg("--pool", help="the customers whose home pool it is, wherever they are now"),
    arg("--grade", action="append", help="any of these grades (repeatable)"),
    arg("--tag", action="append", help="all of these tags (repeatable)"),
    arg("--attr", action="append", metavar="NAME=VALUE", help="attribute equals (repeatable)"),
    arg("--dropped-since", metavar="ISO", help="entered the public pool at or after this time"),
    arg("--limit", type=whole_number(0), help="at most this many"),
    actor=Actor.OPTIONAL,
)
def list_(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    found = _Filter(
        status=CustomerStatus(args.status) if args.status else None,
        owner=args.owner,
        pool=args.pool,
        grades=frozenset(args.grade) if args.grade else None,
        tags=frozenset(args.tag or ()),
        attributes=_attributes(args.attr),
        dropped_since=instant(args.dropped_since, "--dropped-since")
        if args.dropped_since
        else None,
    )
    unique = {c.id: c for c in _candidates(service, found, args.actor) if found.keeps(c)}
    # With --as, the limit counts what the rep may see, not what a query found.
    shown = [unique[key] for key in sorted(unique)][: args.limit]
    ctx.emit(
        [customer_json(c) for c in shown],
        [line(c) for c in shown] + [f"({count(len(shown), 'customer')})"],
    )


def _changed(ctx: Context, action: str, customer: Customer, what: str) -> None:
    ctx.emit(customer_json(customer), f"{action}: {customer.id} {what}")


@command(
    "edit",
    "change a customer's name, keys, tags or attributes (each given one is replaced)",
    CUSTOMER,
    arg("--name", help="its new name"),
    *KEYS,
    arg("--tag", action="append", help="its tags, replacing the old ones (repeatable)"),
    arg("--no-tags", action="store_true", help="remove every tag"),
    arg("--attr", action="append", metavar="NAME=VALUE", help="its attributes (repeatable)"),
)
def edit(ctx: Context, args: argparse.Namespace) -> None:
    keys = _keys(args)
    if args.tag and args.no_tags:
        raise UsageError("--tag and --no-tags: give one or the other")
    tags = () if args.no_tags else args.tag
    customer = ctx.service().edit(
        args.actor,
        args.customer,
        name=args.name,
        keys=keys or None,
        tags=tags,
        attributes=_attributes(args.attr) if args.attr else None,
    )
    _changed(ctx, "edit", customer, f"is now {customer.name!r}, {customer.where}")


@command(
    "change-grade",
    "re-grade customers; their drop deadlines follow the new grade",
    CUSTOMERS,
    arg("grade", help="the new grade, or - for none"),
    *BULK,
)
def change_grade(ctx: Context, args: argparse.Namespace) -> None:
    grade = None if args.grade == "-" else args.grade
    service = ctx.service()
    move(
        ctx,
        args,
        "change-grade",
        lambda one: service.change_grade(args.actor, one, grade),
        lambda ids, mode: service.bulk_change_grade(args.actor, ids, grade, mode=mode),
        lambda customer: f"is now grade {customer.grade or '-'}",
    )


@command("lock", "exempt a customer from every drop rule", CUSTOMER)
def lock(ctx: Context, args: argparse.Namespace) -> None:
    customer = ctx.service().lock(args.actor, args.customer)
    _changed(ctx, "lock", customer, f"is locked ({customer.where}): it does not drop")


@command("unlock", "let the drop rules apply to a customer again", CUSTOMER)
def unlock(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    customer = service.unlock(args.actor, args.customer)
    _changed(ctx, "unlock", customer, f"is unlocked ({customer.where})")


@command(
    "delete",
    "remove a customer for good (admins; its history stays)",
    CUSTOMER,
    arg("--reason", default="", help="why, kept in its history"),
)
def delete(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    service.delete(args.actor, args.customer, args.reason)
    ctx.emit(
        {"deleted": args.customer},
        f"delete: {args.customer} is gone; `poolkit history {args.customer}` still shows it",
    )
