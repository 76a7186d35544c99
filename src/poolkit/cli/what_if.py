"""How ``poolkit policy --what-if FILE`` prints a :class:`~poolkit.WhatIf`: a summary, the
reps, the pools and the changed customers as tables, or one JSON document."""

from __future__ import annotations

from datetime import timedelta, tzinfo
from typing import Any

from poolkit import WhatIf, WhatIfCustomer
from poolkit.cli._output import count, plain
from poolkit.rules import format_instant

__all__ = ["what_if_json", "what_if_lines"]


def _moved(value: timedelta | None) -> str:
    """``-5d``, ``+2d 3h``, ``+45m``: how far a drop moves, to the minute."""
    if value is None:
        return "-"
    sign = "-" if value < timedelta(0) else "+"
    minutes = abs(value) // timedelta(minutes=1)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    return sign + (" ".join(part for part in parts if part) or "0m")


def _from_to(old: int | None, new: int | None) -> str:
    def shown(value: int | None) -> str:
        return "-" if value is None else str(value)

    return shown(old) if old == new else f"{shown(old)}->{shown(new)}"


def _over(number: int) -> str:
    return str(number) if number else "-"


def _drop(item: WhatIfCustomer, zone: tzinfo, new: bool) -> str:
    at, rule = (item.new_drop_at, item.new_rule) if new else (item.drop_at, item.rule)
    return "none" if at is None else f"{format_instant(at, zone)} {rule}"


def _actions(item: WhatIfCustomer, zone: tzinfo) -> str:
    if not item.actions:
        return "-"
    return ", ".join(
        f"{action.action} {format_instant(action.at, zone)}" for action in item.actions
    )


def what_if_lines(result: WhatIf, source: str, zone: tzinfo, days: int) -> list[str]:
    """The what-if as a person reads it: what changes, who is over a limit, who drops."""
    until = format_instant(result.until, zone)
    lines = [
        f"what-if {source} against policy version {result.version}, "
        f"from {format_instant(result.at, zone)} to {until} ({count(days, 'day')})",
        f"{count(result.customers, 'private customer')}: {result.changed} changed "
        f"({result.earlier} earlier, {result.later} later, {result.new} gain a drop, "
        f"{result.gone} lose theirs)",
        f"by {until}: {count(result.new_drops, 'drop')} (now {result.drops}), "
        f"{count(result.new_warnings, 'warning')} (now {result.warnings})",
    ]
    if result.reps:
        lines += [
            "",
            f"{'rep':<12} {'held':>9} {'cap':>9} {'over':>5} {'claims':>7} {'limit':>7} "
            f"{'over':>5} {'drops':>7} {'warnings':>9}",
        ]
        for rep in result.reps:
            lines.append(
                f"{rep.rep_id:<12} {_from_to(rep.held, rep.new_held):>9} "
                f"{_from_to(rep.cap, rep.new_cap):>9} {_over(rep.over_cap):>5} "
                f"{_from_to(rep.claims, rep.new_claims):>7} "
                f"{_from_to(rep.claim_limit, rep.new_claim_limit):>7} "
                f"{_over(rep.over_claim_limit):>5} {_from_to(rep.drops, rep.new_drops):>7} "
                f"{_from_to(rep.warnings, rep.new_warnings):>9}"
            )
    if result.pools:
        lines += ["", f"{'pool':<12} {'drops':>7} {'warnings':>9} {'earlier':>8} {'later':>6}"]
        for pool in result.pools:
            lines.append(
                f"{pool.pool_id:<12} {_from_to(pool.drops, pool.new_drops):>7} "
                f"{_from_to(pool.warnings, pool.new_warnings):>9} {pool.earlier:>8} "
                f"{pool.later:>6}"
            )
    for item in result.items:
        lines += [
            "",
            f"{item.customer_id} ({item.owner_id}, pool {item.pool_id}): {item.shift} "
            f"{_moved(item.moved_by)}",
            f"  next drop: {_drop(item, zone, False)} -> {_drop(item, zone, True)}",
            f"  by {until}: {_actions(item, zone)}",
        ]
    if result.more:
        lines += ["", f"({count(result.more, 'more changed customer')}: raise --limit to see them)"]
    lines += ["", "(nothing was changed: apply it with `poolkit policy --set`)"]
    return lines


def what_if_json(result: WhatIf) -> dict[str, Any]:
    """The what-if as JSON: every field, plus what the tables work out (who is over a
    limit, how far each drop moves, in seconds)."""
    data: dict[str, Any] = plain(result)
    for row, rep in zip(data["reps"], result.reps, strict=True):
        row.update(
            over_cap=rep.over_cap,
            cap_full=rep.cap_full,
            over_claim_limit=rep.over_claim_limit,
            claims_blocked=rep.claims_blocked,
        )
    for row, item in zip(data["items"], result.items, strict=True):
        moved = item.moved_by
        row["moved_by_seconds"] = None if moved is None else int(moved.total_seconds())
    return data
