"""The manager's report: ``report`` writes one self-contained HTML page."""

from __future__ import annotations

import argparse
from pathlib import Path

from poolkit.cli._args import instant, whole_number
from poolkit.cli._context import Context
from poolkit.cli._output import count
from poolkit.cli._registry import Actor, arg, command
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
    actor=Actor.NONE,
)
def report(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    at = instant(args.at, "--at") if args.at else None
    figures = service.report(at, days_back=args.days_back, days_ahead=args.days_ahead)
    out = Path(args.out)
    try:
        out.write_text(render_html(figures), encoding="utf-8")
    except OSError as error:
        raise UsageError(f"--out: cannot write {out}: {error.strerror or error}") from None
    zone = service.policy.zone
    ctx.emit(
        {"out": str(out), "report": figures.to_plain()},
        f"wrote {out}: {count(figures.total, 'customer')} in {count(len(figures.pools), 'pool')}, "
        f"{count(figures.reviews.open, 'open review')}, as of {format_instant(figures.at, zone)}",
    )
