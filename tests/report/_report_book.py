"""A small book for the report's page tests: two pools (one with a name that holds markup),
reps with caps and claim limits, flows on several days, a forecast, an open review."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from poolkit import ManualClock, MemoryStore, Policy, PoolService, Team
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
