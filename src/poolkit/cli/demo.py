"""``demo``: a simulated team at work for a few weeks, on a database kept for the other
commands."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from poolkit import Clock, Policy, PoolService
from poolkit import _demo as simulation
from poolkit.cli._args import whole_number
from poolkit.cli._context import Context
from poolkit.cli._output import plain
from poolkit.cli._registry import Actor, arg, command
from poolkit.cli._service import open_service
from poolkit.errors import UsageError
from poolkit.ports import Store

__all__ = ["demo"]


def _open(store: Store, policy: Policy, clock: Clock, new_id: Callable[[], str]) -> PoolService:
    return open_service(store, clock, policy, new_id=new_id)


@command(
    "demo",
    "simulate a team for a few weeks and keep the database",
    arg("--seed", type=whole_number(0), default=7, help="same seed, same story (default 7)"),
    arg("--days", type=whole_number(1, 3650), default=21, help="how many days (default 21)"),
    arg(
        "--customers",
        type=whole_number(1, 1_000_000),
        default=300,
        help="how many customers to start with (default 300)",
    ),
    arg("--force", action="store_true", help="replace an existing database"),
    actor=Actor.NONE,
)
def demo(ctx: Context, args: argparse.Namespace) -> None:
    if ctx.on_server:
        raise UsageError("the demo writes a file of its own: give --db a file path")
    if ctx.db.exists():
        if not args.force:
            raise UsageError(
                f"{ctx.db} already exists; pass --force to replace it, or --db another path"
            )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{ctx.db}{suffix}").unlink(missing_ok=True)
    store = ctx.store(must_exist=False)
    days = []
    for summary in simulation.simulate(
        store, seed=args.seed, days=args.days, customers=args.customers, open_service=_open
    ):
        days.append(summary)
        if not ctx.json:
            for line in summary.lines():
                ctx.out.write(line + "\n")
    where = simulation.final_state(ctx.service())
    if ctx.json:
        ctx.emit(
            {"db": str(ctx.db.resolve()), "days": [plain(d) for d in days], "where": where}, []
        )
        return
    end = simulation.START + timedelta(days=args.days, hours=9)
    again = f"poolkit --db {shlex.quote(str(ctx.db))} --now {end.isoformat()}"
    ctx.emit(
        None,
        [
            "",
            "Where the customers are now: " + ", ".join(f"{k}: {v}" for k, v in where.items()),
            f"The database is {ctx.db.resolve()}. Go on with, for example:",
            f"  {again} list --owner li",
            f"  {again} history c0001",
            f"  {again} forecast --days 7",
        ],
    )
