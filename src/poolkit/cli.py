"""The ``poolkit`` command: a thin layer over the public API, on a SQLite database.

Human-readable output by default, ``--json`` for scripts. A user mistake prints one line on
stderr and exits non-zero, never a traceback:

=====  ==========================================================
code   meaning
=====  ==========================================================
0      done
1      refused for another reason (an unexpected PoolkitError)
2      bad usage or bad configuration (policy, team, CSV, dates)
3      unknown customer, rep or pool
4      permission denied, or the actor has departed
5      refused by a pool rule: cap, claim limit, cooldown, collision, id taken,
       wrong state
=====  ==========================================================
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, TextIO

from poolkit import codec
from poolkit.clock import Clock, ManualClock, SystemClock
from poolkit.errors import (
    CapExceeded,
    ClaimLimitExceeded,
    CollisionError,
    ConfigError,
    CooldownActive,
    DuplicateIdError,
    InvalidValueError,
    NotFoundError,
    PermissionDenied,
    PolicyConflictError,
    PoolkitError,
    RepInactiveError,
    UsageError,
    WrongStateError,
)
from poolkit.importer import Outcome, RowResult, read_csv
from poolkit.model.customer import Customer, CustomerStatus
from poolkit.model.events import FollowUpKind
from poolkit.model.review import ReviewStatus
from poolkit.model.team import Team
from poolkit.policy import rules
from poolkit.policy.calendar import format_instant
from poolkit.policy.config import Policy
from poolkit.ports import CustomerQuery
from poolkit.service import PoolService
from poolkit.stores.sqlite import SqliteStore

POLICY_KEY = "policy.json"
DEFAULT_DB = "poolkit.db"


EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (NotFoundError, 3),
    (PermissionDenied, 4),
    (RepInactiveError, 4),
    (CapExceeded, 5),
    (ClaimLimitExceeded, 5),
    (CooldownActive, 5),
    (CollisionError, 5),
    (DuplicateIdError, 5),
    (WrongStateError, 5),
    (ConfigError, 2),
    (InvalidValueError, 2),
    (UsageError, 2),
    (PoolkitError, 1),
]


def exit_code(error: BaseException) -> int:
    for kind, code in EXIT_CODES:
        if isinstance(error, kind):
            return code
    return 1


# ---------------------------------------------------------------------- plumbing


class Context:
    """What every command needs: where the database is, the clock, how to print."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.db = Path(args.db)
        self.json = bool(args.json)
        self.out = out
        self.err = err
        self.clock: Clock = ManualClock(_instant(args.now, "--now")) if args.now else SystemClock()
        self._opened: list[SqliteStore] = []

    def store(self, must_exist: bool = True) -> SqliteStore:
        if must_exist and not self.db.exists():
            raise UsageError(
                f"no database at {self.db}; create one with `poolkit init` or `poolkit demo`"
            )
        try:
            store = SqliteStore(self.db)
        except sqlite3.Error as error:
            # A missing directory or a file that is not a database: a wrong --db, said in
            # one line rather than as a traceback.
            raise UsageError(f"cannot open database {self.db}: {error}") from error
        self._opened.append(store)
        return store

    def close(self) -> None:
        """Close what the command opened, so that main() can run many commands in one
        process (tests, scripts) without piling up connections."""
        for store in self._opened:
            store.close()

    def service(self) -> PoolService:
        store = self.store()
        with store.unit_of_work() as uow:
            text = uow.settings.get(POLICY_KEY)
        if text is None:
            raise UsageError(f"{self.db} has no policy; run `poolkit init` first")
        return PoolService(store, Policy.from_dict(json.loads(text)), self.clock)

    def emit(self, data: Any, text: str | Sequence[str]) -> None:
        if self.json:
            json.dump(data, self.out, ensure_ascii=False, indent=2, sort_keys=True)
            self.out.write("\n")
        else:
            lines = [text] if isinstance(text, str) else list(text)
            for line in lines:
                self.out.write(line + "\n")


def _instant(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as error:
        raise UsageError(f"{option}: {text!r} is not an ISO 8601 date-time") from error
    if value.tzinfo is None:
        raise UsageError(
            f"{option}: {text!r} has no time zone; add one, e.g. {value.isoformat()}+08:00"
        )
    return value


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _when(customer: Customer, policy: Policy, value: datetime | None) -> str:
    return format_instant(value, policy.zone) if value is not None else "-"


def _line(customer: Customer) -> str:
    grade = customer.grade or "-"
    tags = f" [{', '.join(sorted(customer.tags))}]" if customer.tags else ""
    lock = " (locked)" if customer.locked else ""
    return f"{customer.id:<12} {grade:<2} {customer.name}  — {customer.where}{tags}{lock}"


def _details(customer: Customer, service: PoolService) -> list[str]:
    policy = service.policy
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
        f"  created:        {_when(customer, policy, customer.created_at)}"
        f" by {customer.creator_id or '-'}",
        f"  owned since:    {_when(customer, policy, customer.owned_since)}",
        f"  last follow-up: {_when(customer, policy, customer.last_follow_up_at)}",
        f"  last deal:      {_when(customer, policy, customer.last_deal_at)}",
        f"  locked:         {'yes' if customer.locked else 'no'}",
    ]
    deadline = rules.next_drop(customer, policy)
    if deadline is not None:
        lines.append(
            f"  next drop:      {format_instant(deadline.due_at, policy.zone)} ({deadline.message})"
        )
    return lines


def _customer_json(customer: Customer) -> dict[str, Any]:
    # to_plain, not encode: plain ISO 8601 datetimes, without the storage format's [zone].
    plain: dict[str, Any] = codec.to_plain(customer)
    return plain


# ---------------------------------------------------------------------- commands


def cmd_init(ctx: Context, args: argparse.Namespace) -> None:
    policy = Policy.from_toml(args.policy)
    team = Team.from_toml(args.team)
    if ctx.db.exists() and not args.force:
        raise UsageError(f"{ctx.db} already exists; pass --force to update its policy and team")
    store = ctx.store(must_exist=False)
    try:
        service, replace = PoolService(store, policy, ctx.clock), False
    except PolicyConflictError:  # --force with another policy: changed after the team
        service, replace = PoolService(store, None, ctx.clock), True
    # The team first: when it does not fit the reps and pools already stored (--force), the
    # stored policy is left as it was too.
    service.setup(team)
    if replace:
        service.change_policy(policy)
    with store.unit_of_work() as uow:
        uow.settings.set(POLICY_KEY, json.dumps(policy.to_dict(), ensure_ascii=False))
        uow.commit()
    ctx.emit(
        {"db": str(ctx.db), "reps": len(team.reps), "pools": len(team.pools)},
        f"initialised {ctx.db}: {len(team.reps)} reps, {len(team.pools)} pools, "
        f"{len(policy.drop_rules)} drop rules, time zone {policy.timezone}",
    )


def cmd_policy(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    if args.set:
        policy = Policy.from_toml(args.set)
        changed = service.change_policy(policy)
        with service.store.unit_of_work() as uow:
            uow.settings.set(POLICY_KEY, json.dumps(policy.to_dict(), ensure_ascii=False))
            uow.commit()
        ctx.emit(
            {"rescheduled": changed},
            f"policy updated; {_count(changed, 'customer')} rescheduled",
        )
        return
    ctx.emit(
        service.policy.to_dict(), json.dumps(service.policy.to_dict(), ensure_ascii=False, indent=2)
    )


def _keys(args: argparse.Namespace) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for kind, value in (("phone", args.phone), ("email", args.email), ("uscc", args.uscc)):
        for item in value or ():
            pairs.append((kind, item))
    for item in args.key or ():
        kind, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--key {item!r}: expected KIND=VALUE")
        pairs.append((kind.strip(), value.strip()))
    return pairs


def _attributes(items: Sequence[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--attr {item!r}: expected NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


def cmd_create(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    result = service.create_with_warnings(
        args.actor,
        args.name,
        customer_id=args.id,
        # The service compares keys exactly as given, so "138 0013 8000" and
        # "+86 138-0013-8000" must be made one before they reach it.
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
    ctx.emit(
        {**_customer_json(customer), "similar": [codec.to_plain(m) for m in result.similar]},
        lines,
    )


def _simple(action: str) -> Callable[[Context, argparse.Namespace], None]:
    """A command that runs one operation on one customer and reports where it is now."""

    def run(ctx: Context, args: argparse.Namespace) -> None:
        service = ctx.service()
        calls: dict[str, Callable[[], Customer]] = {
            "claim": lambda: service.claim(args.actor, args.customer),
            "assign": lambda: service.assign(args.actor, args.customer, args.to),
            "return": lambda: service.return_to_pool(args.actor, args.customer, args.reason),
            "recycle": lambda: service.recycle(args.actor, args.customer, args.reason or ""),
            "transfer": lambda: service.transfer(args.actor, args.customer, args.to),
            "freeze": lambda: service.freeze(args.actor, args.customer, args.reason or ""),
            "restore": lambda: service.restore(args.actor, args.customer, args.pool),
            "follow-up": lambda: service.follow_up(
                args.actor, args.customer, args.kind, args.note or ""
            ),
        }
        customer = calls[action]()
        ctx.emit(_customer_json(customer), f"{action}: {customer.id} is now {customer.where}")

    return run


def cmd_show(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    customer = service.customer(args.customer, actor_id=args.actor)
    ctx.emit(_customer_json(customer), _details(customer, service))


def cmd_history(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    events = service.history(args.customer, actor_id=args.actor)
    zone = service.policy.zone
    ctx.emit(
        [codec.to_plain(event) for event in events],
        [
            f"{event.seq:>3}  {format_instant(event.at, zone)}  {event.describe()}"
            for event in events
        ],
    )


def cmd_list(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    query = CustomerQuery(
        status=CustomerStatus(args.status) if args.status else None,
        owner_ids=frozenset({args.owner}) if args.owner else None,
        pool_ids=frozenset({args.pool}) if args.pool else None,
        grades=frozenset(args.grade) if args.grade else None,
        tags=frozenset(args.tag or ()),
        attributes=tuple(sorted(_attributes(args.attr).items())),
        public_since=_instant(args.dropped_since, "--dropped-since")
        if args.dropped_since
        else None,
    )
    # With --as, the limit applies to what the rep may see, not to what the query finds.
    with service.store.unit_of_work() as uow:
        found = uow.customers.find(query, None if args.actor else args.limit)
    if args.actor:
        visible = {customer.id for customer in service.visible_to(args.actor)}
        found = [customer for customer in found if customer.id in visible][: args.limit]
    ctx.emit(
        [_customer_json(c) for c in found],
        [_line(c) for c in found] + [f"({_count(len(found), 'customer')})"],
    )


def cmd_sweep(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    now = service.clock.now()
    at = _instant(args.at, "--at") if args.at else now
    zone = service.policy.zone
    if at > now:
        # Checked here for the dry run too: it would promise drops that no sweep makes.
        raise UsageError(
            f"--at: cannot sweep the future ({at.isoformat()} is after now "
            f"{now.isoformat()}); see what is coming with `poolkit forecast`"
        )
    if args.dry_run:
        due = [
            item for item in service.forecast(at, since=at - timedelta(days=36500)) if item.at <= at
        ]
        # A sweep drops a customer whose drop is due without warning it first.
        dropping = {item.customer_id for item in due if item.action == "drop"}
        items = [item for item in due if item.action == "drop" or item.customer_id not in dropping]
        verb = {"drop": "drop", "warning": "warn"}
        ctx.emit(
            [codec.to_plain(item) for item in items],
            [
                f"would {verb[item.action]} {item.customer_id} ({item.owner_id}): {item.message}"
                for item in items
            ]
            + [f"(dry run at {format_instant(at, zone)}: nothing changed)"],
        )
        return
    report = service.sweep(at)
    lines = [
        f"dropped {i.customer_id} from {i.rep_id}: {i.message.removeprefix('dropped: ')}"
        for i in report.dropped
    ]
    lines += [f"warned {i.rep_id} about {i.customer_id}: {i.message}" for i in report.warned]
    lines.append(
        f"sweep at {format_instant(at, zone)}: {len(report.dropped)} dropped, "
        f"{len(report.warned)} warned"
    )
    ctx.emit(codec.to_plain(report), lines)


def cmd_forecast(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    now = service.clock.now()
    items = service.forecast(now + timedelta(days=args.days))
    zone = service.policy.zone
    ctx.emit(
        [codec.to_plain(item) for item in items],
        [
            f"{format_instant(i.at, zone)}  {i.action:<7} {i.customer_id} ({i.owner_id}): "
            f"{i.message}"
            for i in items
        ]
        + [f"({_count(len(items), 'event')} in the next {_count(args.days, 'day')})"],
    )


def cmd_import(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    # Keys are normalised by the service: a malformed one makes its row invalid.
    rows = read_csv(Path(args.csv))
    # A progress line is for a person watching a terminal, not for a cron log or a pipe.
    show_progress = not ctx.json and ctx.err.isatty()
    progress = _progress(ctx.err, len(rows)) if show_progress and rows else None
    report = service.import_customers(
        args.actor, rows, public=not args.private, pool_id=args.pool, progress=progress
    )
    lines = [_row_line(r) for r in report.rows if r.outcome is not Outcome.CREATED or args.verbose]
    lines.append(report.summary())
    ctx.emit(codec.to_plain(report), lines)


def _row_line(result: RowResult) -> str:
    if result.outcome is Outcome.CREATED:
        looks_like = f" ({result.message})" if result.message else ""
        return f"row {result.row}: created {result.customer_id}{looks_like}"
    return f"row {result.row}: {result.outcome.value}: {result.message}"


def _progress(stream: TextIO, total: int) -> Callable[[int], None]:
    step = max(1, total // 20)

    def show(done: int) -> None:
        if done == total or done % step == 0:
            stream.write(f"\rimported {done}/{total} rows")
            if done == total:
                stream.write("\n")
            stream.flush()

    return show


def cmd_reviews(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    status = None if args.all else ReviewStatus.OPEN
    items = service.reviews(status, args.customer)
    ctx.emit(
        [codec.to_plain(item) for item in items],
        [
            f"{item.id:<24} {item.customer_id} looks like {item.similar_id} "
            f"(score {item.score:g}) [{item.status.value}]"
            for item in items
        ]
        + [f"({len(items)} review items)"],
    )


def cmd_not_same(ctx: Context, args: argparse.Namespace) -> None:
    item = ctx.service().mark_not_same(args.actor, args.review)
    ctx.emit(codec.to_plain(item), f"{item.id}: marked not the same")


def cmd_merge(ctx: Context, args: argparse.Namespace) -> None:
    customer = ctx.service().merge(args.actor, args.keep, args.absorb)
    ctx.emit(_customer_json(customer), f"merged {args.absorb} into {customer.id}: {customer.where}")


def cmd_demo(ctx: Context, args: argparse.Namespace) -> None:
    from poolkit import demo

    if ctx.db.exists():
        if not args.force:
            raise UsageError(
                f"{ctx.db} already exists; pass --force to replace it, or --db another path"
            )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{ctx.db}{suffix}").unlink(missing_ok=True)
    store = ctx.store(must_exist=False)
    with store.unit_of_work() as uow:
        uow.settings.set(
            POLICY_KEY, json.dumps(Policy.from_dict(demo.DEMO_POLICY).to_dict(), ensure_ascii=False)
        )
        uow.commit()
    days = []
    for summary in demo.simulate(store, seed=args.seed, days=args.days, customers=args.customers):
        days.append(summary)
        if not ctx.json:
            for line in summary.lines():
                ctx.out.write(line + "\n")
    where = demo.final_state(store)
    end = demo.START + timedelta(days=args.days, hours=9)
    again = f"poolkit --db {shlex.quote(str(ctx.db))} --now {end.isoformat()}"
    tail = [
        "",
        "Where the customers are now: " + ", ".join(f"{k}: {v}" for k, v in where.items()),
        f"The database is {ctx.db.resolve()}. Go on with, for example:",
        f"  {again} list --owner li",
        f"  {again} history c0001",
        f"  {again} forecast --days 7",
    ]
    if ctx.json:
        ctx.emit(
            {
                "db": str(ctx.db.resolve()),
                "days": [codec.to_plain(d) for d in days],
                "where": where,
            },
            [],
        )
    else:
        for line in tail:
            ctx.out.write(line + "\n")


# ---------------------------------------------------------------------- parser


class _Parser(argparse.ArgumentParser):
    """Reports a usage mistake like every other error: one line, exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _whole_number(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="poolkit",
        description="Public and private customer pools (公海/私海) on a SQLite database.",
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("POOLKIT_DB", DEFAULT_DB),
        help="database file (env POOLKIT_DB; default %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.add_argument(
        "--now",
        default=os.environ.get("POOLKIT_NOW"),
        help="pretend the time is this ISO 8601 instant (env POOLKIT_NOW)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str,
        run: Callable[[Context, argparse.Namespace], None],
        text: str,
        actor: bool | None = True,
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(run=run)
        if actor is True:
            sub.add_argument(
                "--as", dest="actor", required=True, metavar="REP", help="the rep who acts"
            )
        elif actor is None:
            sub.add_argument(
                "--as", dest="actor", metavar="REP", help="show only what this rep may see"
            )
        return sub

    sub = command("init", cmd_init, "create a database from a policy and a team", actor=False)
    sub.add_argument("--policy", required=True, help="policy TOML file")
    sub.add_argument("--team", required=True, help="team TOML file (reps, org tree, pools)")
    sub.add_argument("--force", action="store_true", help="update an existing database")

    sub = command(
        "policy", cmd_policy, "show the policy, or replace it with --set FILE", actor=False
    )
    sub.add_argument(
        "--set", metavar="FILE", help="new policy TOML; stored deadlines are recomputed"
    )

    sub = command("import", cmd_import, "import customers from a CSV file, with a per-row report")
    sub.add_argument(
        "csv",
        help="CSV with a header: id,name,grade,tags,phone,email,uscc,org_code "
        "(other columns become attributes)",
    )
    sub.add_argument(
        "--private",
        action="store_true",
        help="into the importer's own private pool (cap permitting) instead of the public pools",
    )
    sub.add_argument(
        "--pool", help="public pool for every row (else routing rules, else the default pool)"
    )
    sub.add_argument("--verbose", action="store_true", help="list created rows too")

    sub = command("create", cmd_create, "enter one customer (collision check first)")
    sub.add_argument("name")
    sub.add_argument("--id", help="customer id (default: generated)")
    sub.add_argument("--phone", action="append")
    sub.add_argument("--email", action="append")
    sub.add_argument("--uscc", action="append", help="unified social credit code")
    sub.add_argument("--key", action="append", metavar="KIND=VALUE", help="any other identity key")
    sub.add_argument("--grade")
    sub.add_argument("--tag", action="append")
    sub.add_argument("--attr", action="append", metavar="NAME=VALUE")
    sub.add_argument("--pool", help="its public pool")
    sub.add_argument("--public", action="store_true", help="straight into the public pool")

    for name, text in (
        ("claim", "claim a customer from a public pool"),
        ("assign", "assign a public customer to a pool member"),
        ("return", "return a customer to its public pool"),
        ("recycle", "take a customer back to its public pool"),
        ("transfer", "hand a customer to another rep"),
        ("freeze", "put a customer in the recycle bin"),
        ("restore", "bring a customer back from the recycle bin"),
        ("follow-up", "record a follow-up (resets the drop clock)"),
    ):
        sub = command(name, _simple(name), text)
        sub.add_argument("customer")
        if name in ("assign", "transfer"):
            sub.add_argument("--to", required=True, metavar="REP")
        if name == "return":
            sub.add_argument("--reason", required=True)
        if name in ("recycle", "freeze"):
            sub.add_argument("--reason")
        if name == "restore":
            sub.add_argument("--pool", help="pool to restore into (default: its own)")
        if name == "follow-up":
            sub.add_argument("--kind", default="call", choices=[k.value for k in FollowUpKind])
            sub.add_argument("--note")

    sub = command("show", cmd_show, "show one customer", actor=None)
    sub.add_argument("customer")
    sub = command("history", cmd_history, "show a customer's history", actor=None)
    sub.add_argument("customer")

    sub = command("list", cmd_list, "list customers, with filters", actor=None)
    sub.add_argument("--status", choices=[s.value for s in CustomerStatus])
    sub.add_argument("--owner")
    sub.add_argument("--pool")
    sub.add_argument("--grade", action="append")
    sub.add_argument("--tag", action="append")
    sub.add_argument("--attr", action="append", metavar="NAME=VALUE")
    sub.add_argument(
        "--dropped-since", metavar="ISO", help="entered the public pool at or after this time"
    )
    sub.add_argument("--limit", type=_whole_number(0))

    sub = command(
        "sweep", cmd_sweep, "drop and warn whatever is due (run it from cron)", actor=False
    )
    sub.add_argument("--at", metavar="ISO", help="sweep as of this time (not after now)")
    sub.add_argument(
        "--dry-run", action="store_true", help="show what would happen, change nothing"
    )

    sub = command(
        "forecast", cmd_forecast, "what will drop or be warned in the coming days", actor=False
    )
    sub.add_argument("--days", type=_whole_number(0), default=7)

    sub = command(
        "demo", cmd_demo, "simulate a team for a few weeks and keep the database", actor=False
    )
    sub.add_argument("--seed", type=int, default=7)
    sub.add_argument("--days", type=_whole_number(1), default=21)
    sub.add_argument("--customers", type=_whole_number(1), default=300)
    sub.add_argument("--force", action="store_true", help="replace an existing database")
    return parser


@contextmanager
def _errors(err: TextIO) -> Iterator[list[int]]:
    status = [0]
    try:
        yield status
    except PoolkitError as error:
        err.write(f"error: {error}\n")
        status[0] = exit_code(error)
    except sqlite3.Error as error:
        # The database failed under us (disk full, file removed...): not a user mistake,
        # but still one line rather than a traceback.
        err.write(f"error: database: {error}\n")
        status[0] = 1


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    with _errors(err) as status:
        try:
            # --help prints to stdout, which is ``out`` here.
            with redirect_stdout(out):
                args = parser.parse_args(argv)
        except SystemExit as exit:
            return int(exit.code or 0)
        ctx = Context(args, out, err)
        try:
            args.run(ctx, args)
        finally:
            ctx.close()
    return status[0]


def entry_point() -> None:
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`poolkit list | head`): stop quietly, as other tools do,
        # with stdout pointed at /dev/null so that the flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    sys.exit(code)
