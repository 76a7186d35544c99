"""Setting up and changing the team and its rules: ``init``, ``policy``, ``depart``."""

from __future__ import annotations

import argparse
import json

from poolkit import Policy, Team
from poolkit.cli._context import Context
from poolkit.cli._output import assignment_line, count, plain
from poolkit.cli._registry import Actor, arg, command
from poolkit.cli._service import adopt_policy
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
    "show the policy, or replace it with --set FILE",
    arg("--set", metavar="FILE", help="new policy TOML; stored deadlines are recomputed"),
    actor=Actor.NONE,
)
def policy(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
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
    "register that a rep has left: all their customers drop to the public pool",
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
