"""The manager's report: ``report`` writes one self-contained HTML page, with ``--what-if``
a last section on what a candidate policy would do."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path
from typing import Any

from poolkit import Policy, PoolService, WhatIf
from poolkit.cli._args import MAX_DAYS, instant, whole_number
from poolkit.cli._context import Context
from poolkit.cli._output import count
from poolkit.cli._registry import Actor, arg, command
from poolkit.cli.what_if import what_if_json
from poolkit.errors import UsageError
from poolkit.report import MAX_REPORT_DAYS, render_html
from poolkit.rules import format_instant

__all__ = ["report"]


@command(
    "report",
    "write the manager's report: one HTML page of charts and tables, no network needed",
    arg("--out", required=True, metavar="FILE", help="the HTML file to write"),
    arg(
        "--days-back",
        type=whole_number(1, MAX_REPORT_DAYS),
        default=30,
        help="days of inflow and outflow, ending today (default 30)",
    ),
    arg(
        "--days-ahead",
        type=whole_number(1, MAX_REPORT_DAYS),
        default=21,
        help="days of forecast, starting today (default 21)",
    ),
    arg("--at", metavar="ISO", help="the report as of this time (default now)"),
    arg(
        "--what-if",
        metavar="FILE",
        help="candidate policy TOML: add a section on what it would do, compared with the "
        "stored one; changes nothing",
    ),
    arg(
        "--what-if-days",
        type=whole_number(0, MAX_DAYS),
        help="with --what-if: how far ahead to look (default 7)",
    ),
    arg(
        "--what-if-limit",
        type=whole_number(0),
        help="with --what-if: how many changed customers to list, soonest first (default 20)",
    ),
    actor=Actor.NONE,
)
def report(ctx: Context, args: argparse.Namespace) -> None:
    if not args.what_if and (args.what_if_days is not None or args.what_if_limit is not None):
        raise UsageError("--what-if-days and --what-if-limit go with --what-if")
    if args.what_if and args.at:
        raise UsageError(
            "--what-if looks ahead from now and --at reports the past: give one "
            "(set now with --now)"
        )
    service = ctx.service()
    at = instant(args.at, "--at") if args.at else None
    candidate = Policy.from_toml(args.what_if) if args.what_if else None
    figures = service.report(at, days_back=args.days_back, days_ahead=args.days_ahead)
    outlook = None if candidate is None else _what_if(service, candidate, args)
    out = Path(args.out)
    page = render_html(figures, what_if=outlook, candidate=str(args.what_if))
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"--out: cannot write {out}: {error.strerror or error}") from None
    zone = service.policy.zone
    data: dict[str, Any] = {"out": str(out), "report": figures.to_plain()}
    line = (
        f"wrote {out}: {count(figures.total, 'customer')} in {count(len(figures.pools), 'pool')}, "
        f"{count(figures.reviews.open, 'open review')}, as of {format_instant(figures.at, zone)}"
    )
    if outlook is not None:
        data["what_if"] = what_if_json(outlook)
        line += (
            f"; what-if {args.what_if}: {count(outlook.changed, 'customer')} changed "
            f"({outlook.earlier} earlier, {outlook.later} later), "
            f"{count(outlook.new_drops, 'drop')} (now {outlook.drops}) by "
            f"{format_instant(outlook.until, zone)}"
        )
    ctx.emit(data, line)


def _what_if(service: PoolService, candidate: Policy, args: argparse.Namespace) -> WhatIf:
    days = 7 if args.what_if_days is None else args.what_if_days
    now = service.clock.now()
    try:
        until = now + timedelta(days=days)
    except OverflowError:
        raise UsageError(
            f"--what-if-days: {days} days after {now.isoformat()} is past the end of the calendar"
        ) from None
    limit = 20 if args.what_if_limit is None else args.what_if_limit
    return service.what_if(candidate, until, limit=limit)
