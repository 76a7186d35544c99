"""Moving several customers with one command: the ids (arguments and ``--ids-file``), the
mode (``--all-or-nothing``), and the per-customer lines and summary of a bulk move.

One id without ``--ids-file`` or ``--all-or-nothing`` is the single move, printed as it
always was. Several run the library's bulk move; when any customer was refused, the command
ends with that refusal (the first one, or the one that rolled an all-or-nothing move back),
so the exit code says what kind of refusal it was, as for a single move.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from poolkit import BulkMode, BulkResult, Customer
from poolkit.cli._context import Context
from poolkit.cli._output import customer_json
from poolkit.cli._registry import arg
from poolkit.errors import BulkAborted, UsageError

__all__ = ["BULK", "CUSTOMERS", "move"]

CUSTOMERS = arg(
    "customer", nargs="*", metavar="CUSTOMER", help="customer id; several for a bulk move"
)
IDS_FILE = arg(
    "--ids-file", metavar="PATH", help="read customer ids from a file, one per line (# comments)"
)
ALL_OR_NOTHING = arg(
    "--all-or-nothing",
    action="store_true",
    help="move every customer or none (default: each on its own)",
)
BULK = (IDS_FILE, ALL_OR_NOTHING)


def customer_ids(args: argparse.Namespace) -> list[str]:
    ids = list(args.customer)
    if args.ids_file:
        path = Path(args.ids_file)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"cannot read the ids file {path}: {error}") from None
        for line in text.splitlines():
            found = line.split("#", 1)[0].strip()
            if found:
                ids.append(found)
    if not ids:
        raise UsageError("give a customer id, several, or --ids-file")
    return ids


def move(
    ctx: Context,
    args: argparse.Namespace,
    action: str,
    single: Callable[[str], Customer],
    many: Callable[[list[str], BulkMode], BulkResult],
    what: Callable[[Customer], str],
) -> None:
    """Run ``single`` for one id, else ``many`` in the mode asked, and print the outcome;
    ``what`` says where a moved customer is now."""
    ids = customer_ids(args)
    if len(ids) == 1 and not args.ids_file and not args.all_or_nothing:
        customer = single(ids[0])
        ctx.emit(customer_json(customer), f"{action}: {customer.id} {what(customer)}")
        return
    mode = BulkMode.ALL_OR_NOTHING if args.all_or_nothing else BulkMode.PER_CUSTOMER
    result = many(ids, mode)
    ctx.emit(_json(result), _lines(action, result, what))
    first = next((item.refusal for item in result.items if item.refusal is not None), None)
    if first is not None:
        raise first.cause if isinstance(first, BulkAborted) else first


def _lines(action: str, result: BulkResult, what: Callable[[Customer], str]) -> list[str]:
    lines = []
    for item in result.items:
        if item.customer is not None:
            lines.append(f"{action}: {item.customer_id} {what(item.customer)}")
        elif isinstance(item.refusal, BulkAborted):
            lines.append(
                f"{action}: {item.customer_id} not done: rolled back, "
                f"{item.refusal.refused_id} was refused"
            )
        else:
            lines.append(f"{action}: {item.customer_id} refused: {item.reason}")
    lines.append(
        f"{action}: {result.done_count} done, {result.refused_count} refused ({result.mode.value})"
    )
    return lines


def _json(result: BulkResult) -> dict[str, Any]:
    return {
        "operation": result.operation,
        "mode": result.mode.value,
        "done": result.done_count,
        "refused": result.refused_count,
        "items": [
            {
                "customer_id": item.customer_id,
                "done": item.done,
                "customer": None if item.customer is None else customer_json(item.customer),
                "error": None if item.refusal is None else type(item.refusal).__name__,
                "reason": item.reason,
            }
            for item in result.items
        ],
    }
