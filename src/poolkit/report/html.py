"""The manager's report as one self-contained HTML page.

Everything is inline: the CSS, the SVG charts (:mod:`poolkit.report.svg`), the tables that
say the same as each chart for a reader who cannot see it. No script, no font, no image or
style sheet is fetched, so the page opens from a file, offline, and can be mailed. Every
text from the store (pool, rep and grade names) is escaped. Given a
:class:`~poolkit.WhatIf`, a last section draws what a candidate policy would do; it only
draws what the what-if found, and this package imports nothing of the service to do so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from html import escape
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from poolkit.policy.calendar import format_instant
from poolkit.report.figures import INFLOW_KINDS, OUTFLOW_KINDS, PoolFigures, PoolReport
from poolkit.report.svg import Meter, Series, bar_chart, meter_chart

if TYPE_CHECKING:  # for the annotations only: the report draws a what-if, never makes one
    from poolkit.service.what_if import WhatIf, WhatIfCustomer

__all__ = ["render_html"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;
color:#1d2733;background:#fff;max-width:1100px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid
#d5dbe3;padding-bottom:4px}h3{font-size:14px;margin:16px 0 6px}
p.meta{color:#5b6878;margin:0 0 16px}
.summary{display:flex;gap:12px;flex-wrap:wrap}
.summary div{border:1px solid #d5dbe3;border-radius:6px;padding:8px 14px;min-width:110px}
.summary b{display:block;font-size:20px}
table{border-collapse:collapse;font-size:12px;margin:6px 0 12px}
th,td{border:1px solid #d5dbe3;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f2f5f8}
.legend{font-size:12px;margin:2px 0 6px}.legend span{margin-right:14px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
.chart{display:block;max-width:100%;height:auto;overflow:visible}
.grid{stroke:#e3e8ee;stroke-width:1}.tick,.label,.figure{fill:#44505e}
.s-public{fill:#2f7dd1;background:#2f7dd1}.s-private{fill:#3aa675;background:#3aa675}
.s-frozen{fill:#9aa5b1;background:#9aa5b1}.s-in{fill:#3aa675;background:#3aa675}
.s-out{fill:#d4763b;background:#d4763b}.s-drop{fill:#c9423a;background:#c9423a}
.s-warn{fill:#e3b43c;background:#e3b43c}.s-now{fill:#7b8794;background:#7b8794}
.track{fill:#eef1f4}.used{fill:#2f7dd1}.over{fill:#c9423a}.nolimit{fill:#9aa5b1}
.scroll{overflow-x:auto}
"""


def _legend(series: Iterable[Series]) -> str:
    items = "".join(f'<span><i class="{escape(s.css)}"></i>{escape(s.name)}</span>' for s in series)
    return f'<div class="legend" aria-hidden="true">{items}</div>'


def _table(caption: str, head: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = [f"<table><caption>{escape(caption)}</caption><thead><tr>"]
    out.extend(f'<th scope="col">{escape(h)}</th>' for h in head)
    out.append("</tr></thead><tbody>")
    for row in rows:
        cells = [escape(str(cell)) for cell in row]
        out.append(
            f'<tr><th scope="row">{cells[0]}</th>'
            + "".join(f"<td>{cell}</td>" for cell in cells[1:])
            + "</tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


def _grade(grade: str | None) -> str:
    return "(no grade)" if grade is None else grade


def _pool_title(pool: PoolFigures) -> str:
    return f"{pool.name} ({pool.pool_id})" if pool.name else pool.pool_id


def _age(age: timedelta) -> str:
    days, seconds = age.days, age.seconds
    return (
        f"{days} d {seconds // 3600} h"
        if days
        else f"{seconds // 3600} h {seconds % 3600 // 60} min"
    )


def _pools(report: PoolReport) -> list[str]:
    out = ['<section id="pools"><h2>Pool sizes by grade</h2>']
    if not report.pools:
        out.append("<p>No pools.</p>")
    for n, pool in enumerate(report.pools):
        labels = [_grade(g.grade) for g in pool.grades]
        series = [
            Series("public", "s-public", [g.public for g in pool.grades]),
            Series("owned", "s-private", [g.private for g in pool.grades]),
            Series("recycle bin", "s-frozen", [g.frozen for g in pool.grades]),
        ]
        title = _pool_title(pool)
        out.append(f"<h3>{escape(title)}: {pool.total} customers</h3>")
        if pool.grades:
            out.append(_legend(series))
            out.append(
                bar_chart(
                    f"pool-{n}",
                    f"Customers of pool {title} by grade",
                    labels,
                    series,
                    stacked=True,
                    desc="One bar per grade: public, owned and in the recycle bin, stacked.",
                )
            )
        out.append(
            _table(
                f"Customers of pool {title} by grade",
                ["grade", "public", "owned", "recycle bin", "total"],
                [
                    *[
                        (_grade(g.grade), g.public, g.private, g.frozen, g.total)
                        for g in pool.grades
                    ],
                    ("all grades", pool.public, pool.private, pool.frozen, pool.total),
                ],
            )
        )
    out.append("</section>")
    return out


def _flows(report: PoolReport) -> list[str]:
    labels = [f.day.strftime("%m-%d") for f in report.flows]
    series = [
        Series("in", "s-in", [f.inflow for f in report.flows]),
        Series("out", "s-out", [f.outflow for f in report.flows]),
    ]
    kinds = [*INFLOW_KINDS, *OUTFLOW_KINDS]
    return [
        '<section id="flows"><h2>Inflow and outflow per day</h2>',
        f"<p>In: {escape(', '.join(INFLOW_KINDS))}. Out: {escape(', '.join(OUTFLOW_KINDS))}.</p>",
        _legend(series),
        '<div class="scroll">',
        bar_chart(
            "flows",
            f"Customers in and out per day, last {len(report.flows)} days",
            labels,
            series,
            stacked=False,
            desc="One pair of bars per day: customers in, customers out.",
        ),
        "</div>",
        _table(
            "Customers in and out per day, by event",
            ["day", "in", "out", *kinds],
            [
                (f.day.isoformat(), f.inflow, f.outflow, *(f.kinds.get(k, 0) for k in kinds))
                for f in report.flows
            ],
        ),
        "</section>",
    ]


def _forecast(report: PoolReport) -> list[str]:
    labels = [f.day.strftime("%m-%d") for f in report.forecast]
    series = [
        Series("drops", "s-drop", [f.drops for f in report.forecast]),
        Series("warnings", "s-warn", [f.warnings for f in report.forecast]),
    ]
    return [
        '<section id="forecast"><h2>Forecast: drops and warnings per day</h2>',
        "<p>What the sweep would do each day if nobody followed up.</p>",
        _legend(series),
        '<div class="scroll">',
        bar_chart(
            "forecast",
            f"Drops and warnings forecast per day, next {len(report.forecast)} days",
            labels,
            series,
            stacked=True,
            desc="One bar per day: drops and warnings, stacked.",
        ),
        "</div>",
        _table(
            "Drops and warnings forecast per day",
            ["day", "drops", "warnings"],
            [(f.day.isoformat(), f.drops, f.warnings) for f in report.forecast],
        ),
        "</section>",
    ]


def _reps(report: PoolReport) -> list[str]:
    out = ['<section id="reps"><h2>Reps: load against cap, claims against limit</h2>']
    if not report.reps:
        out.append("<p>No active reps.</p></section>")
        return out
    label = [f"{r.name} ({r.rep_id})" if r.name else r.rep_id for r in report.reps]
    out.append(
        meter_chart(
            "caps",
            "Customers held against cap",
            [Meter(lbl, r.counted, r.cap) for lbl, r in zip(label, report.reps, strict=True)],
            desc="One meter per rep: customers counted toward the cap, against the cap.",
        )
    )
    window = report.claim_window_days
    out.append(
        meter_chart(
            "claims",
            f"Claims in the last {window} days against the claim limit",
            [
                Meter(lbl, r.claims, r.claim_limit)
                for lbl, r in zip(label, report.reps, strict=True)
            ],
            desc="One meter per rep: claims counting against the limit now, against it.",
        )
    )
    out.append(
        _table(
            "Reps' load and claims",
            ["rep", "owned", "counted toward cap", "cap", "claims", "claim limit"],
            [
                (
                    lbl,
                    r.owned,
                    r.counted,
                    "none" if r.cap is None else r.cap,
                    r.claims,
                    "none" if r.claim_limit is None else r.claim_limit,
                )
                for lbl, r in zip(label, report.reps, strict=True)
            ],
        )
    )
    out.append("</section>")
    return out


def _reviews(report: PoolReport, zone: ZoneInfo) -> list[str]:
    backlog = report.reviews
    if backlog.oldest_at is None or backlog.oldest_age is None:
        oldest = "none open"
    else:
        oldest = f"filed {format_instant(backlog.oldest_at, zone)}, {_age(backlog.oldest_age)} ago"
    return [
        '<section id="reviews"><h2>Look-alike review backlog</h2>',
        _table(
            "Look-alike review backlog",
            ["figure", "value"],
            [("open items", backlog.open), ("oldest open item", oldest)],
        ),
        "</section>",
    ]


def _span(span: timedelta) -> str:
    """``10 d``, ``3 d 2 h``, ``1 h 30 min``: how far a drop moves, to the minute."""
    minutes = abs(span) // timedelta(minutes=1)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    parts.append(f"{minutes} min" if minutes or not (days or hours) else "")
    return " ".join(part for part in parts if part)


def _from_to(old: int | None, new: int | None) -> str:
    def shown(value: int | None) -> str:
        return "none" if value is None else str(value)

    return shown(old) if old == new else f"{shown(old)} \u2192 {shown(new)}"


def _drop(at: datetime | None, rule: str | None, zone: ZoneInfo, since: datetime) -> str:
    if at is None:
        return "none"
    overdue = ", overdue: the first sweep drops it" if at <= since else ""
    return f"{format_instant(at, zone)} ({rule}{overdue})"


def _shift(item: WhatIfCustomer) -> str:
    moved = item.moved_by
    if item.shift == "new":
        return "new: gains a drop"
    if item.shift == "gone":
        return "gone: loses its drop"
    if moved is None or not moved:
        return "same drop, other warnings or rule"
    return f"{item.shift} by {_span(moved)}"


def _what_if_reps(what_if: WhatIf, names: dict[str, str]) -> list[str]:
    over = [rep for rep in what_if.reps if rep.over_cap or rep.over_claim_limit]
    out = ["<h3>Reps over the candidate's cap or claim limit</h3>"]
    if not over:
        return [*out, "<p>No rep would be over the candidate's cap or claim limit.</p>"]
    over_cap, over_limit = what_if.over_cap, what_if.over_claim_limit
    if over_cap:
        out.append(
            meter_chart(
                "what-if-caps",
                "Customers held against the candidate's cap",
                [Meter(names[r.rep_id], r.new_held, r.new_cap) for r in over_cap],
                desc="One meter per rep over the candidate's cap: customers it would count "
                "toward the cap, against that cap.",
            )
        )
    if over_limit:
        out.append(
            meter_chart(
                "what-if-claims",
                "Claims in the candidate's window against its claim limit",
                [Meter(names[r.rep_id], r.new_claims, r.new_claim_limit) for r in over_limit],
                desc="One meter per rep over the candidate's claim limit: claims in its "
                "window now, against that limit.",
            )
        )
    out.append(
        _table(
            "Reps over the candidate's cap or claim limit (policy in force \u2192 candidate)",
            ["rep", "held", "cap", "over cap", "claims", "claim limit", "over limit"],
            [
                (
                    names[r.rep_id],
                    _from_to(r.held, r.new_held),
                    _from_to(r.cap, r.new_cap),
                    r.over_cap,
                    _from_to(r.claims, r.new_claims),
                    _from_to(r.claim_limit, r.new_claim_limit),
                    r.over_claim_limit,
                )
                for r in over
            ],
        )
    )
    return out


def _what_if_pools(what_if: WhatIf, names: dict[str, str], until: str) -> list[str]:
    out = [f"<h3>Drops per pool by {escape(until)}</h3>"]
    if not what_if.pools:
        return [*out, "<p>No private customer was looked at.</p>"]
    labels = [names.get(p.pool_id, p.pool_id) for p in what_if.pools]
    series = [
        Series("policy in force", "s-now", [p.drops for p in what_if.pools]),
        Series("candidate", "s-drop", [p.new_drops for p in what_if.pools]),
    ]
    return [
        *out,
        _legend(series),
        '<div class="scroll">',
        bar_chart(
            "what-if-pools",
            f"Drops per pool by {until}: policy in force and candidate",
            labels,
            series,
            stacked=False,
            desc="One pair of bars per pool: its customers' drops under the policy in "
            "force, then under the candidate.",
        ),
        "</div>",
        _table(
            f"Drops and warnings per pool by {until}",
            [
                "pool",
                "drops now",
                "drops under candidate",
                "warnings now",
                "warnings under candidate",
                "earlier",
                "later",
            ],
            [
                (label, p.drops, p.new_drops, p.warnings, p.new_warnings, p.earlier, p.later)
                for label, p in zip(labels, what_if.pools, strict=True)
            ],
        ),
    ]


def _what_if_items(what_if: WhatIf, names: dict[str, str], zone: ZoneInfo) -> list[str]:
    out = ["<h3>Changed customers, soonest drop first</h3>"]
    if not what_if.items:
        listed = "None." if not what_if.changed else "None listed."
        out.append(f"<p>{listed}</p>")
    else:
        out.append(
            _table(
                "Changed customers: next drop under the policy in force and under the candidate",
                ["customer", "owner", "pool", "drop now", "drop under candidate", "shift"],
                [
                    (
                        item.customer_id,
                        names.get(item.owner_id, item.owner_id),
                        item.pool_id,
                        _drop(item.drop_at, item.rule, zone, what_if.at),
                        _drop(item.new_drop_at, item.new_rule, zone, what_if.at),
                        _shift(item),
                    )
                    for item in what_if.items
                ],
            )
        )
    if what_if.more:
        out.append(f"<p>And {what_if.more} more changed customers, not listed.</p>")
    return out


def _what_if(report: PoolReport, what_if: WhatIf, candidate: str, zone: ZoneInfo) -> list[str]:
    reps = {r.rep_id: f"{r.name} ({r.rep_id})" if r.name else r.rep_id for r in report.reps}
    for rep in what_if.reps:
        reps.setdefault(rep.rep_id, rep.rep_id)
    pools = {p.pool_id: _pool_title(p) for p in report.pools}
    until = format_instant(what_if.until, zone)
    return [
        f'<section id="what-if"><h2>What if: {escape(candidate)}</h2>',
        f'<p class="meta">Compared with the policy in force (version {what_if.version}), '
        f"applied at {escape(format_instant(what_if.at, zone))}, up to {escape(until)}. "
        "Nothing was changed.</p>",
        f"<p>Of the {what_if.customers} private customers looked at, {what_if.changed} "
        f"would see their outlook change: {what_if.earlier} would drop earlier, "
        f"{what_if.later} later, {what_if.new} would gain a drop (no rule drops them now) "
        f"and {what_if.gone} would lose theirs.</p>",
        _table(
            f"Drops and warnings by {until}",
            ["figure", "policy in force", "candidate"],
            [
                ("drops", what_if.drops, what_if.new_drops),
                ("warnings", what_if.warnings, what_if.new_warnings),
            ],
        ),
        *_what_if_reps(what_if, reps),
        *_what_if_pools(what_if, pools, until),
        *_what_if_items(what_if, reps, zone),
        "</section>",
    ]


def render_html(
    report: PoolReport,
    *,
    title: str = "Pools report",
    what_if: WhatIf | None = None,
    candidate: str = "the candidate policy",
) -> str:
    """One HTML page showing every figure of ``report`` as charts and tables; with
    ``what_if`` (what :meth:`~poolkit.PoolService.what_if` returned), a last section
    comparing the candidate, called ``candidate`` there, with the policy in force. Its
    instants are shown in the report's time zone."""
    zone = ZoneInfo(report.timezone)
    public = sum(p.public for p in report.pools)
    private = sum(p.private for p in report.pools)
    frozen = sum(p.frozen for p in report.pools)
    summary = [
        ("customers", report.total),
        ("public", public),
        ("owned", private),
        ("recycle bin", frozen),
        ("open reviews", report.reviews.open),
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{escape(title)}</h1>",
        f'<p class="meta">As of {escape(format_instant(report.at, zone))} '
        f"({escape(report.timezone)})</p>",
        '<div class="summary">'
        + "".join(
            f'<div id="total-{escape(name.replace(" ", "-"))}"><b>{value}</b>{escape(name)}</div>'
            for name, value in summary
        )
        + "</div></header><main>",
        *_pools(report),
        *_flows(report),
        *_forecast(report),
        *_reps(report),
        *_reviews(report, zone),
        *([] if what_if is None else _what_if(report, what_if, candidate, zone)),
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"
