"""The shortest useful tour of poolkit: one rule book, one team, one customer's month.

Shows, in order: a policy and a team given as plain data; a customer entered into a rep's
private pool (私海); a colleague refused because the customer already exists (撞单); a
follow-up restarting the drop clock; the forecast; the sweep warning the owner, then
dropping the customer to the public pool (公海) exactly at its deadline; the former owner
kept out by the cooldown while a colleague claims it; and the history that stays with
the customer through all of it.

Time is a ManualClock, so the month passes in a blink and every instant is exact.

Run:  python examples/quickstart.py
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from poolkit import ManualClock, MemoryStore, Policy, PoolService, Team
from poolkit.errors import CollisionError, CooldownActive


def main() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=zone))
    policy = Policy.from_dict(
        {
            "timezone": "Asia/Shanghai",
            "drop_rules": [
                {"name": "stale-15", "kind": "no_follow_up", "days": 15, "warn_days": 3}
            ],
            "caps": {"default": 100},
            "cooldown": {"days": 7},
        }
    )
    team = Team.from_dict(
        {
            "reps": [
                {"id": "zhao", "name": "Zhao", "admin": True},
                {"id": "li", "name": "Li", "supervisor": "zhao"},
                {"id": "chen", "name": "Chen", "supervisor": "zhao"},
            ],
            "pools": [
                {"id": "east", "default": True, "managers": ["zhao"], "members": ["li", "chen"]}
            ],
        }
    )
    service = PoolService(MemoryStore(), policy, clock)
    service.setup(team)

    acme = service.create(
        "li", "Acme Textiles", customer_id="acme", keys={"phone": "+8613800138000"}, grade="B"
    )
    print(f"1. li enters {acme.name}: it is {acme.where}")

    try:
        service.create("chen", "ACME Textiles Ltd", keys={"phone": "+8613800138000"})
    except CollisionError as error:
        print(f"2. chen enters it again and is refused: {error}")

    clock.advance(days=2)
    service.follow_up("li", "acme", "call", note="sent a quote")
    print("3. li calls on 03-04: the 15 days now count from this call")

    for item in service.forecast(clock.now() + timedelta(days=30)):
        print(f"4. forecast: {item.action} at {item.at:%m-%d %H:%M}: {item.message}")

    clock.set(datetime(2026, 3, 16, 18, 0, tzinfo=zone))
    for warned in service.sweep().warned:
        print(f"5. evening sweep on 03-16 warns {warned.rep_id}: {warned.message}")

    deadline = datetime(2026, 3, 19, 9, 0, tzinfo=zone)
    clock.set(deadline - timedelta(seconds=1))
    print(f"6. sweep one second before the deadline drops {len(service.sweep().dropped)}")
    clock.set(deadline)
    for dropped in service.sweep().dropped:
        print(f"7. sweep at the deadline: {dropped.customer_id} {dropped.message}")
    print(f"   acme is now {service.customer('acme').where}")

    try:
        service.claim("li", "acme")
    except CooldownActive as error:
        print(f"8. li wants it back: {error}")
    print(f"9. chen claims it: acme is {service.claim('chen', 'acme').where}")

    print("10. its history, which chen reads before calling:")
    for event in service.history("acme"):
        print(f"    {event.at:%m-%d %H:%M} {event.describe()}")


if __name__ == "__main__":
    main()
