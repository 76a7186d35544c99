"""Time: ``sweep`` drops and warns what is due, ``forecast`` says what is coming."""

from __future__ import annotations

import argparse
from datetime import timedelta

from poolkit import SweepReport
from poolkit.cli._args import MAX_DAYS, instant, whole_number
from poolkit.cli._context import Context
from poolkit.cli._output import assignment_line, count, plain
from poolkit.cli._registry import Actor, arg, command
from poolkit.errors import UsageError
from poolkit.rules import format_instant

__all__ = ["forecast", "sweep"]


@command(
    "sweep",
    "drop and warn whatever is due (run it from cron)",
    arg("--at", metavar="ISO", help="sweep as of this time (not after now)"),
    arg("--dry-run", action="store_true", help="show what would happen, change nothing"),
    actor=Actor.NONE,
)
def sweep(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    now = service.clock.now()
    at = instant(args.at, "--at") if args.at else now
    zone = service.policy.zone
    if at > now:
        # Checked here for the dry run too: it would promise drops that no sweep makes.
        raise UsageError(
            f"--at: cannot sweep the future ({at.isoformat()} is after now "
            f"{now.isoformat()}); see what is coming with `poolkit forecast`"
        )
    if args.dry_run:
        report = service.sweep(at, dry_run=True)
        ctx.emit(
            plain(report),
            [
                *_lines(report, "would drop {c} ({r}): {m}", "would warn {c} ({r}): {m}"),
                f"(dry run at {format_instant(at, zone)}: nothing changed)",
            ],
        )
        return
    report = service.sweep(at)
    ctx.emit(
        plain(report),
        [
            *_lines(report, "dropped {c} from {r}: {m}", "warned {r} about {c}: {m}"),
            f"sweep at {format_instant(at, zone)}: {len(report.dropped)} dropped, "
            f"{len(report.warned)} warned",
        ],
    )


def _lines(report: SweepReport, drop: str, warn: str) -> list[str]:
    lines = [
        drop.format(c=i.customer_id, r=i.rep_id, m=i.message.removeprefix("dropped: "))
        for i in report.dropped
    ]
    lines += [assignment_line(a) for a in report.assigned]
    return lines + [warn.format(c=i.customer_id, r=i.rep_id, m=i.message) for i in report.warned]


@command(
    "forecast",
    "what will drop or be warned in the coming days",
    arg("--days", type=whole_number(0, MAX_DAYS), default=7, help="how far ahead (default 7)"),
    actor=Actor.NONE,
)
def forecast(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    now = service.clock.now()
    try:
        until = now + timedelta(days=args.days)
    except OverflowError:
        raise UsageError(
            f"--days: {args.days} days after {now.isoformat()} is past the end of the calendar"
        ) from None
    items = service.forecast(until)
    zone = service.policy.zone
    ctx.emit(
        [plain(item) for item in items],
        [
            f"{format_instant(i.at, zone)}  {i.action:<7} {i.customer_id} ({i.owner_id}): "
            f"{i.message}"
            for i in items
        ]
        + [f"({count(len(items), 'event')} in the next {count(args.days, 'day')})"],
    )
