"""``import``: many customers from a CSV or ``.xlsx`` file, with a report of every row not
created, progress on stderr and a resumable run."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Iterator
from types import FrameType
from typing import Any, TextIO

from poolkit.cli._context import Context
from poolkit.cli._output import count, plain
from poolkit.cli._progress import Progress
from poolkit.cli._registry import Interrupted, arg, command
from poolkit.importing import ImportFile, ImportReport, ImportRow, Outcome, RowResult, read_file

__all__ = ["import_"]


@command(
    "import",
    "import customers from a CSV or .xlsx file, with a per-row report",
    arg(
        "file",
        help="CSV (UTF-8, GBK/GB18030 or UTF-16, found out from the file) or .xlsx, with a "
        "header: name, and any of id, external_id, grade, tags, phone, email, uscc, "
        "org_code (other columns become attributes)",
    ),
    arg(
        "--private",
        action="store_true",
        help="into the importer's own private pool (cap permitting) instead of the public pools",
    ),
    arg("--pool", help="public pool for every row (else routing rules, else the default pool)"),
    arg("--encoding", help="the CSV's encoding (e.g. gbk, utf-16), when not to be found out"),
    arg("--sheet", help="the .xlsx sheet to read, by name or number from 0 (default: the first)"),
    arg(
        "--batch-size",
        type=int,
        default=1000,
        help="rows committed together (default 1000); larger batches write fewer pages a row "
        "into a large book, and hold SQLite's write lock longer",
    ),
    arg("--dry-run", action="store_true", help="report what would happen; store nothing"),
    arg("--quiet", action="store_true", help="no progress on stderr"),
    arg("--verbose", action="store_true", help="list created rows too"),
)
def import_(ctx: Context, args: argparse.Namespace) -> None:
    service = ctx.service()
    sheet: str | int = 0
    if args.sheet is not None:
        sheet = int(args.sheet) if args.sheet.isdigit() else args.sheet
    # Keys are normalised by the service: a malformed one makes its row invalid. The file
    # is read as the import goes, so memory stays bounded whatever its size.
    found = read_file(args.file, encoding=args.encoding, sheet=sheet)
    show = None if args.quiet else Progress(ctx.err, fraction=lambda: found.fraction_read)
    stop = _StopRequest(ctx.err)
    reading = _Reading(found, stop)
    committed = [0, 0]  # rows handled and committed, the line of the last of them

    def progress(done: int) -> None:
        # Called once a batch is committed: the rows up to ``done`` are in for good.
        committed[:] = [done, reading.last_line]
        if show is not None:
            show.update(done)

    try:
        report = found.report(
            service.import_customers(
                args.actor,
                reading,
                public=not args.private,
                pool_id=args.pool,
                batch_size=args.batch_size,
                progress=progress,
                dry_run=args.dry_run,
                # The lines printed are the rows that need attention, which the report
                # keeps; the others are only counted, so memory stays bounded whatever the
                # file's size. --verbose and --json list every row: the report keeps all.
                on_row=None if args.verbose or ctx.json else _counted_only,
            )
        )
    except KeyboardInterrupt:
        if show is not None and show.shown:
            ctx.err.write("\n")  # past the progress line
        raise Interrupted(_interrupted(args.dry_run, stop.at_once, *committed)) from None
    finally:
        stop.close()
        found.close()
    if show is not None:
        show.finish()
    # Rows created, or created by an earlier run, are listed with --verbose only: a resumed
    # import of 50,000 rows would otherwise list every one already in.
    quiet = (Outcome.CREATED, Outcome.ALREADY_IMPORTED)
    lines = [_row_line(r) for r in report.rows if r.outcome not in quiet or args.verbose]
    lines.append(report.summary())
    if args.dry_run:
        lines.append("dry run: nothing was stored")
    ctx.emit(_json(report, args.dry_run), lines)


class _StopRequest:
    """Ctrl-C during an import, taken between batches. The first one lets the batch under way
    finish and be committed, and stops the import when it asks for its next rows (see
    :class:`_Reading`): a Ctrl-C that broke in at once could land after a batch's commit
    and before its count was reported, and the count of rows in for good would be short.
    A second Ctrl-C stops at once, rolling the batch under way back. Outside the main
    thread, where Python takes no signals, Ctrl-C is left as it is."""

    def __init__(self, err: TextIO) -> None:
        self._err = err
        self.requested = False
        self.at_once = False
        self._previous: Any = None
        self._installed = False
        try:
            self._previous = signal.signal(signal.SIGINT, self._ask)
            self._installed = True
        except ValueError:  # not the main thread
            pass

    def _ask(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            self.at_once = True
            raise KeyboardInterrupt
        self.requested = True
        self._err.write("\nstopping once the batch under way is committed (Ctrl-C again: now)\n")

    def close(self) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False


class _Reading:
    """The rows of the file, remembering the line of the last one handed out: when a
    batch is committed, that is the last line in for good. Once a stop is asked for, the
    next row asked for ends the import instead: the import asks for a batch's rows before it
    writes any of them, so it stops between two batches."""

    def __init__(self, found: ImportFile, stop: _StopRequest) -> None:
        self._found = found
        self._stop = stop
        self.last_line = 0

    def __iter__(self) -> Iterator[ImportRow]:
        for row in self._found:
            if self._stop.requested:
                raise KeyboardInterrupt
            self.last_line = row.row
            yield row


def _counted_only(result: RowResult) -> None:
    """Nothing to do with a row as it is decided: the report counts it."""


def _interrupted(dry_run: bool, at_once: bool, done: int, last_line: int) -> str:
    if dry_run:
        return "interrupted: a dry run, nothing was stored"
    last = f", up to line {last_line} of the file" if done else ""
    how = (
        "the batch under way was rolled back"
        if at_once
        else "the import stopped between two batches"
    )
    return (
        f"interrupted: {count(done, 'row')} handled and committed{last}; {how}. To resume, "
        "run the same command again: rows with an external_id already in are skipped "
        "(reported as already imported); rows without one come back as collisions"
    )


def _row_line(result: RowResult) -> str:
    if result.outcome is Outcome.CREATED:
        looks_like = f" ({result.message})" if result.message else ""
        return f"row {result.row}: created {result.customer_id}{looks_like}"
    if result.outcome is Outcome.ALREADY_IMPORTED:
        return f"row {result.row}: {result.message}"
    return f"row {result.row}: {result.outcome.value}: {result.message}"


def _json(report: ImportReport, dry_run: bool) -> dict[str, Any]:
    counts = {outcome.name.lower(): report.count(outcome) for outcome in Outcome}
    listed = plain(report)
    # In the counts (and empty: --json keeps every row).
    listed.pop("handed_on", None)
    listed.pop("lookalikes_handed_on", None)
    return {
        **listed,
        "counts": {**counts, "lookalikes_filed": report.lookalikes()},
        "dry_run": dry_run,
    }
