"""Telling reps about warnings and drops, from the change feed, across a restart.

A CRM sends each rep a message when one of their customers is about to drop to the public
pool (a warning, 移入公海预警) and when it has dropped. The sweep records both as events;
this script follows them on the change feed with a :class:`poolkit.feed.FeedConsumer`
named ``rep-notifications``, whose position is kept in the same SQLite file as the pools.

It plays two weeks of a small team in a temporary file: reps enter customers, follow up
some of them, and the nightly sweep warns and then drops the neglected ones. Half-way the
notifier "restarts" (the store, the service and the consumer are opened again, as a new
worker process would): it resumes from its saved position, so no message is lost and none
is sent twice. At the end the messages sent are checked against the feed.

Run it::

    python examples/notify_reps.py
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from poolkit import ManualClock, Policy, PoolService, SqliteStore, Team
from poolkit.errors import CustomerNotFound
from poolkit.events import Dropped, FeedEntry, Warned
from poolkit.feed import FeedConsumer

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
TEAM = Team.from_dict(
    {
        "reps": [{"id": "admin", "admin": True}, {"id": "li"}, {"id": "wang"}, {"id": "zhao"}],
        "pools": [{"id": "company", "default": True, "members": ["li", "wang", "zhao"]}],
    }
)
POLICY = Policy.from_dict(
    {
        "timezone": "Asia/Shanghai",
        "drop_rules": [{"name": "stale-7", "kind": "no_follow_up", "days": 7, "warn_days": 2}],
    }
)


class RepNotifier:
    """The handler: a message to the rep concerned by each warning and drop. A real one
    would send mail or a chat message, keyed on ``(customer_id, seq)`` so that an entry
    handed over twice (at least once) is sent once."""

    def __init__(self, service: PoolService) -> None:
        self.service = service
        self.sent: list[tuple[str, int]] = []

    def __call__(self, entry: FeedEntry) -> None:
        event = entry.event
        if not isinstance(event, Warned | Dropped):
            return
        name = self._name(event.customer_id)
        if isinstance(event, Warned):
            text = f"{name} drops on {event.due_at:%m-%d %H:%M} unless you follow it up"
        elif isinstance(event, Dropped):
            text = f"{name} went back to the public pool ({event.rule or event.code})"
        print(f"  [#{entry.position}] to {event.rep_id}: {text}")
        self.sent.append((event.customer_id, event.seq))

    def _name(self, customer_id: str) -> str:
        try:
            return self.service.customer(customer_id).name
        except CustomerNotFound:  # deleted since: the id is all there is
            return customer_id


def open_notifier(path: Path, clock: ManualClock) -> tuple[SqliteStore, FeedConsumer, RepNotifier]:
    """What a notification worker does when it starts."""
    store = SqliteStore(path)
    service = PoolService(store, None, clock)  # the policy stored by the application
    notifier = RepNotifier(service)
    return store, FeedConsumer(service, "rep-notifications", notifier, batch=50), notifier


def night(service: PoolService, clock: ManualClock, day: int) -> None:
    clock.set(START + timedelta(days=day, hours=9))  # 18:00
    report = service.sweep()
    print(f"day {day:2}: sweep warned {len(report.warned)}, dropped {len(report.dropped)}")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pools.sqlite"
        clock = ManualClock(START)
        app = PoolService(SqliteStore(path), POLICY, clock)  # the CRM's request handlers
        app.setup(TEAM)
        owners = ["li", "li", "li", "wang", "wang", "zhao"]
        ids = [app.create(rep, f"Shop {n}").id for n, rep in enumerate(owners, 1)]

        store, consumer, notifier = open_notifier(path, clock)
        for day in range(1, 7):
            if day == 3:
                clock.set(START + timedelta(days=day))
                app.follow_up("wang", ids[3])
            night(app, clock, day)
            consumer.drain()
        stopped_at = consumer.position
        first_run = list(notifier.sent)
        store.close()
        print(f"-- the notifier stops at position {stopped_at} ({len(first_run)} sent) --")

        for day in range(7, 15):
            if day == 8:
                clock.set(START + timedelta(days=day))
                app.claim("zhao", ids[0])  # dropped on day 7, fished out again
            night(app, clock, day)
            if day == 9:
                store, consumer, notifier = open_notifier(path, clock)
                print(f"-- the notifier restarts from position {consumer.position} --")
            if day >= 9:
                consumer.drain()

        sent = first_run + notifier.sent
        expected = [
            (e.event.customer_id, e.event.seq)
            for e in app.events_since(0, limit=10_000)
            if isinstance(e.event, Warned | Dropped)
        ]
        assert sent == expected, (sent, expected)
        print(f"{len(sent)} messages sent, each once, in the order of the feed")
        store.close()


if __name__ == "__main__":
    main()
