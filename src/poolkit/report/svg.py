"""Small SVG charts drawn as text: stacked or grouped bars, and meters against a limit.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (what a screen
reader says), one ``<g class="bar">`` per bar (or bar group, or meter row), each with its
own ``<title>`` giving the figure. Colours come from CSS classes the page defines
(``s-...``). Every text is escaped. No script, no external reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

import attrs

__all__ = ["Meter", "Series", "bar_chart", "meter_chart"]

_FONT = 11


def _ints(values: Iterable[int]) -> tuple[int, ...]:
    return tuple(values)


@attrs.frozen
class Series:
    """One series of a bar chart: its name, its CSS class, a value per label."""

    name: str
    css: str
    values: tuple[int, ...] = attrs.field(converter=_ints)


@attrs.frozen
class Meter:
    """One row of a meter chart: ``value`` against ``limit`` (None: no limit)."""

    label: str
    value: int
    limit: int | None


def _ceiling(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 5 times a power of ten)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _open(chart_id: str, title: str, desc: str, width: int, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'role="img" aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
    ]


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool,
    desc: str = "",
    height: int = 220,
    band: int = 28,
) -> str:
    """A bar per label; with ``stacked`` the series pile up in one bar, else they stand
    side by side in a group. Labels are thinned out when there are many."""
    left, right, top, bottom = 44, 10, 10, 36
    width = left + right + max(1, len(labels)) * band
    plot_height = height - top - bottom
    totals = [
        sum(s.values[i] for s in series)
        if stacked
        else max((s.values[i] for s in series), default=0)
        for i in range(len(labels))
    ]
    ceiling = _ceiling(max(totals, default=0))
    out = _open(chart_id, title, desc or title, width, height)
    for tick in (0, ceiling // 2, ceiling) if ceiling > 1 else (0, 1):
        y = top + plot_height - plot_height * tick / ceiling
        out.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" '
            f'font-size="{_FONT}">{tick}</text>'
        )
    every = max(1, -(-len(labels) // 16))
    for i, label in enumerate(labels):
        x0 = left + i * band
        parts = [f"{s.name} {s.values[i]}" for s in series]
        out.append(f'<g class="bar" data-label="{escape(label)}">')
        out.append(f"<title>{escape(label)}: {escape(', '.join(parts))}</title>")
        base: float = top + plot_height
        width_each: float = (band - 6) if stacked else (band - 6) / max(1, len(series))
        for n, s in enumerate(series):
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_height * value / ceiling
            x = x0 + 3 if stacked else x0 + 3 + n * width_each
            y = base - h
            out.append(
                f'<rect class="{escape(s.css)}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{width_each:.1f}" height="{h:.1f}" data-value="{value}"/>'
            )
            if stacked:
                base = y
        out.append("</g>")
        if i % every == 0:
            out.append(
                f'<text class="label" x="{x0 + band / 2:.1f}" y="{top + plot_height + 14}" '
                f'text-anchor="middle" font-size="{_FONT}">{escape(label)}</text>'
            )
    out.append("</svg>")
    return "".join(out)


def meter_chart(chart_id: str, title: str, meters: Sequence[Meter], *, desc: str = "") -> str:
    """A horizontal meter per row: the value filled against its limit, or against the
    largest value when it has none (drawn in the ``nolimit`` class); past the limit in
    the ``over`` class."""
    label_width, bar_width, text_width, row = 150, 260, 90, 22
    width = label_width + bar_width + text_width
    height = max(1, len(meters)) * row + 4
    scale = max((m.value for m in meters if m.limit is None), default=0)
    out = _open(chart_id, title, desc or title, width, height)
    for i, meter in enumerate(meters):
        y = 2 + i * row
        full = meter.limit if meter.limit is not None else max(scale, 1)
        share = min(1.0, meter.value / full) if full > 0 else (1.0 if meter.value else 0.0)
        if meter.limit is None:
            css, figure = "nolimit", f"{meter.value} (no limit)"
        else:
            css = "over" if meter.value >= meter.limit else "used"
            figure = f"{meter.value} / {meter.limit}"
        out.append(f'<g class="bar" data-label="{escape(meter.label)}">')
        out.append(f"<title>{escape(meter.label)}: {escape(figure)}</title>")
        out.append(
            f'<text class="label" x="{label_width - 6}" y="{y + 14}" text-anchor="end" '
            f'font-size="{_FONT}">{escape(meter.label)}</text>'
            f'<rect class="track" x="{label_width}" y="{y + 3}" width="{bar_width}" '
            f'height="{row - 8}"/>'
            f'<rect class="{css}" x="{label_width}" y="{y + 3}" '
            f'width="{bar_width * share:.1f}" height="{row - 8}" data-value="{meter.value}"/>'
            f'<text class="figure" x="{label_width + bar_width + 6}" y="{y + 14}" '
            f'font-size="{_FONT}">{escape(figure)}</text>'
        )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)
