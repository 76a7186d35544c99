"""Setting up and changing the team and its rules: ``init``, ``policy``, ``depart``."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

from poolkit import Policy, Team
from poolkit.cli._args import MAX_DAYS, whole_number
from poolkit.cli._context import Context
from poolkit.cli._output import assignment_line, count, plain
from poolkit.cli._registry import Actor, arg, command
from poolkit.cli._service import adopt_policy
from poolkit.cli.what_if import what_if_json, what_if_lines
from poolkit.errors import UsageError

__all__ = ["depart", "init", "policy"]


@command(
    "init",
    "create a database from a policy and a team",
    arg("--policy", required=True, help="policy TOML file"),
    arg("--team", required=True, help="team TOML file (reps, org tree, pools)"),
    arg("--force", action="store_true", help="update an existing database"),
    actor=Actor.NONE,
)
def init(ctx: Context, args: argparse.Namespace) -> None:
    policy = Policy.from_toml(args.policy)
    team = Team.from_toml(args.team)
    if ctx.exists() and not args.force:
        raise UsageError(f"{ctx.name} already exists; pass --force to update its policy and team")
    store = ctx.store(must_exist=False)
    service, replace = adopt_policy(store, ctx.clock, policy)
    # The team first: when it does not fit the reps and pools already stored (--force), the
    # stored policy is left as it was too.
    service.setup(team)
    if replace:
        service.change_policy(policy)
    ctx.emit(
        {"db": ctx.name, "reps": len(team.reps), "pools": len(team.pools)},
        f"initialised {ctx.name}: {len(team.reps)} reps, {len(team.pools)} pools, "
        f"{len(policy.drop_rules)} drop rules, time zone {policy.timezone}",
    )


@command(
    "policy",
    "show the policy, replace it with --set FILE, or see what FILE would do with --what-if",
    arg("--set", metavar="FILE", help="new policy TOML; stored deadlines are recomputed"),
    arg(
        "--what-if",
        metavar="FILE",
        help="candidate policy TOML: what it would do, compared with the stored one; "
        "changes nothing",
    ),
    arg(
        "--days",
        type=whole_number(0, MAX_DAYS),
        help="with --what-if: how far ahead to look (default 7)",
    ),
    arg(
        "--limit",
        type=whole_number(0),
        help="with --what-if: how many changed customers to list, soonest first (default 20)",
    ),
    actor=Actor.NONE,
)
def policy(ctx: Context, args: argparse.Namespace) -> None:
    if args.set and args.what_if:
        raise UsageError("--set and --what-if: give one (ask first, then set)")
    if not args.what_if and (args.days is not None or args.limit is not None):
        raise UsageError("--days and --limit go with --what-if")
    service = ctx.service()
    if args.what_if:
        candidate = Policy.from_toml(args.what_if)
        days = 7 if args.days is None else args.days
        now = service.clock.now()
        try:
            until = now + timedelta(days=days)
        except OverflowError:
            raise UsageError(
                f"--days: {days} days after {now.isoformat()} is past the end of the calendar"
            ) from None
        result = service.what_if(candidate, until, limit=20 if args.limit is None else args.limit)
        ctx.emit(
            what_if_json(result),
            what_if_lines(result, args.what_if, service.policy.zone, days),
        )
        return
    if args.set:
        changed = service.change_policy(Policy.from_toml(args.set))
        ctx.emit(
            {"rescheduled": changed},
            f"policy updated; {count(changed, 'customer')} rescheduled",
        )
        return
    document = service.policy.to_dict()
    ctx.emit(document, json.dumps(document, ensure_ascii=False, indent=2))


@command(
    "depart",
    "register that a rep has left: their customers drop to the public pool, or go to "
    "pool members where the policy spreads departures",
    arg("rep", help="the rep who leaves"),
)
def depart(ctx: Context, args: argparse.Namespace) -> None:
    report = ctx.service().depart(args.actor, args.rep)
    dropped = f": {', '.join(report.dropped)}" if report.dropped else ""
    ctx.emit(
        plain(report),
        [
            f"depart: {report.rep_id} has left; "
            f"{count(len(report.dropped), 'customer')} dropped to the public pool{dropped}",
            # The pools that take departures handed these on (or say why they could not).
            *(assignment_line(decision) for decision in report.assigned),
        ],
    )
