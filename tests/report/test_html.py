"""The report's page as text: self-contained, escaped, a chart for each figure with one bar
per grade, day or rep, and a table saying the same; the what-if section only when asked."""

from __future__ import annotations

import re

import attrs
import pytest
from _report_book import (
    DAYS_AHEAD,
    DAYS_BACK,
    NASTY,
    POLICY,
    Page,
    build,
    candidate,
    parse,
    what_if,
)

from poolkit import PoolService, WhatIf
from poolkit.report import PoolReport, ReviewBacklog, render_html


@pytest.fixture(scope="module")
def book() -> tuple[PoolService, PoolReport]:
    return build()


@pytest.fixture(scope="module")
def report(book: tuple[PoolService, PoolReport]) -> PoolReport:
    return book[1]


@pytest.fixture(scope="module")
def stricter(book: tuple[PoolService, PoolReport]) -> WhatIf:
    return what_if(book[0])


def words(page: Page) -> str:
    return " ".join(" ".join(page.text).split())


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


def test_the_what_if_section_is_there_only_when_asked(report: PoolReport, stricter: WhatIf) -> None:
    assert 'id="what-if"' not in render_html(report)
    plain = parse(render_html(report))
    page = parse(render_html(report, what_if=stricter, candidate="stricter.toml"))
    assert page.bars == {
        **plain.bars,
        "what-if-caps": 1,  # li: 3 held, candidate cap 2
        "what-if-claims": 1,  # li: 2 claims, candidate limit 1
        "what-if-pools": 1,  # every private customer is in east
    }
    assert page.titles["what-if-caps"] == "Customers held against the candidate's cap"
    assert page.titles["what-if-pools"] == (
        "Drops per pool by 2026-03-15 09:00 +08:00: policy in force and candidate"
    )
    assert "What if: stricter.toml" in page.text


def test_the_what_if_tables_say_what_it_found(report: PoolReport, stricter: WhatIf) -> None:
    assert (stricter.drops, stricter.new_drops, stricter.warnings, stricter.new_warnings) == (
        4, 4, 4, 0,
    )  # fmt: skip
    text = words(parse(render_html(report, what_if=stricter)))
    assert "version 1), applied at 2026-03-08 09:00 +08:00, up to 2026-03-15 09:00" in text
    assert "drops 4 4 warnings 4 0" in text
    assert "4 would see their outlook change: 4 would drop earlier, 0 later, 0 would" in text
    assert f"{NASTY} (li) 3 4 \u2192 2 1 2 3 \u2192 1 1" in text  # held, cap, over, claims...
    assert "East <China> (east) 4 4 4 0 4 0" in text
    # chen1 drops at 03-10 now; 3 days after its creation on 03-03 is already past.
    assert (
        "chen1 Chen (chen) east 2026-03-10 09:00 +08:00 (stale-7) "
        "2026-03-06 09:00 +08:00 (stale-3, overdue: the first sweep drops it) earlier by 4 d"
    ) in text
    rows = [item.customer_id for item in stricter.items]
    assert rows == ["chen1", "li1", "p0", "p1"]
    assert all(f"{row} " in text for row in rows)
    assert "more changed customers" not in text


def test_the_what_if_lists_its_first_customers_and_counts_the_rest(
    book: tuple[PoolService, PoolReport],
) -> None:
    svc, report = book
    first = what_if(svc, limit=1)
    text = words(parse(render_html(report, what_if=first)))
    assert "chen1 Chen (chen)" in text and "li1 " not in text
    assert "And 3 more changed customers, not listed." in text


def test_a_what_if_that_changes_nothing_says_so(book: tuple[PoolService, PoolReport]) -> None:
    svc, report = book
    same = what_if(svc, candidate())
    page = parse(render_html(report, what_if=same))
    assert "what-if-caps" not in page.bars and "what-if-claims" not in page.bars
    assert page.bars["what-if-pools"] == 1
    text = words(page)
    assert "No rep would be over the candidate's cap or claim limit." in text
    assert "Changed customers, soonest drop first None." in text


def test_the_what_if_names_drops_gone_and_moved_by_days_or_hours(
    book: tuple[PoolService, PoolReport],
) -> None:
    svc, report = book
    gone = words(parse(render_html(report, what_if=what_if(svc, candidate(drop_rules=[])))))
    assert "2026-03-10 09:00 +08:00 (stale-7) none gone: loses its drop" in gone
    slower = [{**POLICY["drop_rules"][0], "days": 9}]
    later = words(parse(render_html(report, what_if=what_if(svc, candidate(drop_rules=slower)))))
    assert "2026-03-12 09:00 +08:00 (stale-7) later by 2 d" in later
    midnight = what_if(svc, candidate(drop_time="start_of_day"))
    at_midnight = words(parse(render_html(report, what_if=midnight)))
    assert "2026-03-10 09:00 +08:00 (stale-7) 2026-03-10 00:00 +08:00 (stale-7) earlier by 9 h" in (
        at_midnight
    )


def test_the_what_if_is_escaped_and_fetches_nothing(report: PoolReport, stricter: WhatIf) -> None:
    html = render_html(report, what_if=stricter, candidate=NASTY)
    assert NASTY not in html
    assert "What if: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in html
    page = parse(html)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(page.tags)
    assert not {"src", "href", "srcset"} & {name for name, _ in page.attributes}
