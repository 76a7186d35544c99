"""The manager's report as one self-contained HTML page.

Everything is inline: the CSS, the SVG charts (:mod:`poolkit.report.svg`), the tables that
say the same as each chart for a reader who cannot see it. No script, no font, no image or
style sheet is fetched, so the page opens from a file, offline, and can be mailed. Every
text from the store (pool, rep and grade names) is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from html import escape
from zoneinfo import ZoneInfo

from poolkit.policy.calendar import format_instant
from poolkit.report.figures import INFLOW_KINDS, OUTFLOW_KINDS, PoolFigures, PoolReport
from poolkit.report.svg import Meter, Series, bar_chart, meter_chart

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
.s-warn{fill:#e3b43c;background:#e3b43c}
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


def render_html(report: PoolReport, *, title: str = "Pools report") -> str:
    """One HTML page showing every figure of ``report`` as charts and tables."""
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
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"
