"""``import``: many customers from a CSV file, with a report of every row not created."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from poolkit.cli._context import Context
from poolkit.cli._output import count, plain
from poolkit.cli._registry import Interrupted, arg, command
from poolkit.importer import Outcome, RowResult, read_csv

__all__ = ["import_"]


@command(
    "import",
    "import customers from a CSV file, with a per-row report",
    arg(
        "csv",
        help="CSV with a header: id,name,grade,tags,phone,email,uscc,org_code "
        "(other columns become attributes)",
    ),
    arg(
        "--private",
        action="store_true",
        help="into the importer's own private pool (cap permitting) instead of the public pools",
    ),
    arg("--pool", help="public pool for every row (else routing rules, else the default pool)"),
    arg("--verbose", action="store_true", help="list created rows too"),
)
def import_(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    # Keys are normalised by the service: a malformed one makes its row invalid.
    rows = read_csv(Path(args.csv))
    # A progress line is for a person watching a terminal, not for a cron log or a pipe.
    show = _progress(ctx.err, len(rows)) if rows and not ctx.json and ctx.err.isatty() else None
    committed = [0]

    def progress(done: int) -> None:
        # Called once a batch is committed: the rows up to ``done`` are in for good.
        committed[0] = done
        if show is not None:
            show(done)

    try:
        report = service.import_customers(
            args.actor, rows, public=not args.private, pool_id=args.pool, progress=progress
        )
    except KeyboardInterrupt:
        done = committed[0]
        if show is not None:
            ctx.err.write("\n")  # past the progress line
        last = f", up to line {rows[done - 1].row} of the file" if done else ""
        raise Interrupted(
            f"interrupted: {done} of {count(len(rows), 'row')} handled and committed{last}; "
            "the batch under way was rolled back. To resume, run the same command again: "
            "the rows already in are reported as collisions"
        ) from None
    lines = [_row_line(r) for r in report.rows if r.outcome is not Outcome.CREATED or args.verbose]
    lines.append(report.summary())
    ctx.emit(plain(report), lines)


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
