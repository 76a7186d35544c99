"""The report's page as text: self-contained, escaped, a chart for each figure with one bar
per grade, day or rep, and a table saying the same."""

from __future__ import annotations

import re

import attrs
import pytest
from _report_book import DAYS_AHEAD, DAYS_BACK, NASTY, build, parse

from poolkit.report import PoolReport, ReviewBacklog, render_html


@pytest.fixture(scope="module")
def report() -> PoolReport:
    return build()[1]


def test_each_chart_has_a_title_and_one_bar_per_figure(report: PoolReport) -> None:
    page = parse(render_html(report))
    assert page.bars == {
        "pool-0": 3,  # east: grades A, B, C
        "pool-1": 1,  # vip: grade A
        "flows": DAYS_BACK,
        "forecast": DAYS_AHEAD,
        "caps": 3,
        "claims": 3,
    }
    assert page.titles["pool-0"] == "Customers of pool East <China> (east) by grade"
    assert set(page.titles) == set(page.bars)


def test_names_are_escaped(report: PoolReport) -> None:
    html = render_html(report)
    assert NASTY not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in html
    page = parse(html)
    assert "script" not in page.tags
    assert any(NASTY in text for text in page.text)  # shown as text, as written


def test_the_page_fetches_nothing(report: PoolReport) -> None:
    html = render_html(report)
    page = parse(html)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(page.tags)
    names = {name for name, _ in page.attributes}
    assert not {"src", "href", "srcset"} & names
    urls = set(re.findall(r"[a-z]+://[^\s\"')]+", html))
    assert urls == {"http://www.w3.org/2000/svg"}  # a namespace name, never fetched
    assert "@import" not in html and "url(" not in html


def test_the_tables_say_what_the_charts_show(report: PoolReport) -> None:
    text = " ".join(parse(render_html(report)).text)
    east = report.pools[0]
    assert (east.public, east.private, east.frozen) == (3, 4, 1)
    assert "all grades 3 4 1 8" in " ".join(text.split())
    flows = {f.day.isoformat(): (f.inflow, f.outflow) for f in report.flows}
    assert flows["2026-03-04"] == (0, 3)
    assert flows["2026-03-06"] == (1, 1)
    assert "2026-03-04 0 3" in " ".join(text.split())


def test_an_empty_book_renders(report: PoolReport) -> None:
    empty = attrs.evolve(report, pools=(), reps=(), reviews=ReviewBacklog(0, None, None))
    page = parse(render_html(empty))
    assert page.bars == {"flows": DAYS_BACK, "forecast": DAYS_AHEAD}
