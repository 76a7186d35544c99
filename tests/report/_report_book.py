"""A small book for the report's page tests: two pools (one with a name that holds markup),
reps with caps and claim limits, flows on several days, a forecast, an open review; a
candidate policy to ask a what-if of; and a reader of the page's elements."""

from __future__ import annotations

from copy import deepcopy
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

from poolkit import ManualClock, MemoryStore, Policy, PoolService, Team, WhatIf
from poolkit.report import PoolReport

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
DAYS_BACK = 14
DAYS_AHEAD = 10
NASTY = '<script>alert("x")</script> & Co'

TEAM = {
    "reps": [
        {"id": "boss", "name": "The Boss", "admin": True},
        {"id": "li", "name": NASTY, "supervisor": "boss", "cap": 4, "claim_limit": 3},
        {"id": "chen", "name": "Chen", "supervisor": "boss", "cap": 10},
    ],
    "pools": [
        {"id": "east", "name": "East <China>", "default": True, "members": ["li", "chen"]},
        {"id": "vip", "name": "VIP", "members": ["li"]},
    ],
}

POLICY = {
    "timezone": "Asia/Shanghai",
    "drop_rules": [{"name": "stale-7", "kind": "no_follow_up", "days": 7, "warn_days": 2}],
    "claim_limit": {"window_days": 7},
}


def candidate(**changes: Any) -> Policy:
    """:data:`POLICY` with some top-level keys replaced."""
    return Policy.from_dict({**deepcopy(POLICY), **changes})


# Drops after 3 days, not 7; Li's cap 4 -> 2 (Li holds 3) and claim limit 3 -> 1 (Li
# claimed 2 in the week).
STRICTER = {
    "drop_rules": [{"name": "stale-3", "kind": "no_follow_up", "days": 3, "warn_days": 1}],
    "caps": {"per_rep": {"li": 2}},
    "claim_limit": {"window_days": 7, "per_rep": {"li": 1}},
}
WHAT_IF_DAYS = 7


def what_if(svc: PoolService, policy: Policy | None = None, limit: int | None = 100) -> WhatIf:
    """What ``policy`` (default: :data:`STRICTER`) would do in the next week."""
    chosen = candidate(**STRICTER) if policy is None else policy
    return svc.what_if(chosen, svc.clock.now() + timedelta(days=WHAT_IF_DAYS), limit=limit)


def build() -> tuple[PoolService, PoolReport]:
    clock = ManualClock(START)
    svc = PoolService(MemoryStore(), Policy.from_dict(POLICY), clock)
    svc.setup(Team.from_dict(TEAM))
    for n in range(6):
        svc.create("boss", f"Public {n}", customer_id=f"p{n}", public=True, grade="AB"[n % 2])
    svc.create("boss", "Vip one", customer_id="v1", pool_id="vip", public=True, grade="A")
    clock.advance(days=1)
    svc.create("li", "Acme Textiles", customer_id="li1", grade="C")
    svc.create("chen", "Acme Textiles", customer_id="chen1", grade="C")  # a look-alike
    clock.advance(days=1)
    svc.claim("li", "p0")
    svc.claim("li", "p1")
    svc.claim("chen", "p2")
    clock.advance(days=2)
    svc.return_to_pool("chen", "p2", "not interested")
    svc.freeze("boss", "p3")
    clock.advance(days=2)
    return svc, svc.report(days_back=DAYS_BACK, days_ahead=DAYS_AHEAD)


class Page(HTMLParser):
    """The elements of a page: each chart's bars, the tags seen, every attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.chart: str | None = None
        self.bars: dict[str, int] = {}
        self.titles: dict[str, str] = {}
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)
        found = dict(attrs)
        if tag == "svg":
            self.chart = found.get("id") or ""
            self.bars[self.chart] = 0
        elif tag == "g" and found.get("class") == "bar" and self.chart is not None:
            self.bars[self.chart] += 1
        elif tag == "title" and self.chart is not None and self.chart not in self.titles:
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.chart = None
        self._in_title = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_title and self.chart is not None:
            self.titles[self.chart] = data


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page
