"""The change feed through the service (``events_since``, the consumer positions) and
:class:`poolkit.feed.FeedConsumer`: order, paging, refusals, restarts, a failing handler."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poolkit import ManualClock, MemoryStore, Policy, PoolService, SqliteStore, Team
from poolkit.errors import InvalidValueError
from poolkit.events import Claimed, Created, Dropped, Event, FeedEntry, Warned
from poolkit.feed import FeedConsumer
from poolkit.ports import Store
from poolkit.testing.builders import followed_up
from poolkit.testing.conformance.feed import read_all

TEAM = Team.from_dict(
    {
        "reps": [{"id": "boss", "admin": True}, {"id": "li"}, {"id": "wang"}],
        "pools": [{"id": "main", "default": True, "members": ["li", "wang"], "managers": ["boss"]}],
    }
)
POLICY = Policy.from_dict(
    {
        "timezone": "Asia/Shanghai",
        "similarity": {"enabled": False},
        "drop_rules": [{"name": "stale-10", "kind": "no_follow_up", "days": 10, "warn_days": 3}],
    }
)


def busy_day(service: PoolService, clock: ManualClock) -> list[str]:
    """Creates, claims, follow-ups, then a warning sweep and a drop sweep; the ids made."""
    ids = [service.create("li", f"Shop {n}").id for n in range(3)]
    public = service.create("boss", "Open shop", public=True).id
    service.claim("wang", public)
    service.follow_up("li", ids[0])
    clock.advance(timedelta(days=8))
    service.sweep()
    clock.advance(timedelta(days=3))
    service.sweep()
    return [*ids, public]


@pytest.fixture
def service(clock: ManualClock) -> PoolService:
    made = PoolService(MemoryStore(), POLICY, clock)
    made.setup(TEAM)
    return made


def test_the_feed_holds_every_event_of_every_history_in_order(
    service: PoolService, clock: ManualClock
) -> None:
    ids = busy_day(service, clock)
    entries = service.events_since(0, limit=10_000)
    kinds = {type(entry.event) for entry in entries}
    assert {Created, Claimed, Warned, Dropped} <= kinds
    for customer_id in ids:
        mine = [entry.event for entry in entries if entry.event.customer_id == customer_id]
        assert mine == service.history(customer_id)
    positions = [entry.position for entry in entries]
    assert positions == sorted(set(positions))
    # Paging by the last position read gives the same, whatever the page.
    for page in (1, 2, 5):
        paged: list[FeedEntry] = []
        while found := service.events_since(paged[-1].position if paged else 0, limit=page):
            paged.extend(found)
        assert paged == entries


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"position": -1}, "position"),
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
        ({"position": "3"}, "position"),
        ({"limit": True}, "limit"),
    ],
)
def test_a_bad_page_is_refused(service: PoolService, arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValueError) as refused:
        service.events_since(**arguments)
    assert refused.value.field == field


def test_a_consumer_position_is_kept_and_never_goes_back(service: PoolService) -> None:
    assert service.feed_position("mailer") == 0
    assert service.save_feed_position("mailer", 7) == 7
    assert service.save_feed_position("mailer", 3) == 7
    assert service.feed_position("mailer") == 7
    assert service.feed_position("other") == 0
    for name in ("", " mailer", "mailer ", "mail\x00er"):
        with pytest.raises(InvalidValueError):
            service.save_feed_position(name, 1)
    with pytest.raises(InvalidValueError):
        service.save_feed_position("mailer", -1)


def test_a_consumer_drains_in_pages_and_resumes_after_a_restart(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "pool.db"
    handled: list[FeedEntry] = []
    with SqliteStore(path) as store:
        service = PoolService(store, POLICY, clock)
        service.setup(TEAM)
        first = service.create("li", "Shop 1").id
        consumer = FeedConsumer(service, "audit", handled.append, batch=2)
        assert consumer.drain() == len(service.events_since(0))
        assert consumer.position == handled[-1].position
        assert consumer.poll() == 0
        service.follow_up("li", first)
    with SqliteStore(path) as reopened:  # a new process, say
        service = PoolService(reopened, None, clock)
        again = FeedConsumer(service, "audit", handled.append, batch=2)
        assert again.drain() == 1
        assert handled == service.events_since(0)
        assert [e.event.seq for e in handled if e.event.customer_id == first][-1] == 2


def test_a_failing_handler_stops_at_the_entry_that_failed(
    service: PoolService, clock: ManualClock
) -> None:
    busy_day(service, clock)
    entries = service.events_since(0)
    seen: list[FeedEntry] = []
    fail_at = entries[5].position

    def handle(entry: FeedEntry) -> None:
        if entry.position == fail_at:
            raise RuntimeError("mail server down")
        seen.append(entry)

    consumer = FeedConsumer(service, "mailer", handle, batch=100)
    with pytest.raises(RuntimeError):
        consumer.poll()
    assert seen == entries[:5]
    assert consumer.position == entries[4].position
    fail_at = -1  # the mail server is back
    assert consumer.drain() == len(entries) - 5
    assert seen == entries


def test_run_sleeps_while_idle_and_stops_when_told(service: PoolService) -> None:
    handled: list[FeedEntry] = []
    naps: list[float] = []
    consumer = FeedConsumer(service, "worker", handled.append)

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 1:
            service.create("li", "Shop after a nap")

    assert consumer.run(until=lambda: len(naps) >= 3, idle_s=0.5, sleep=nap) == 1
    assert [type(e.event) for e in handled] == [Created]
    assert naps == [0.5, 0.5, 0.5]


def test_a_consumer_with_a_bad_name_or_batch_is_refused(service: PoolService) -> None:
    for name, batch in (("", 10), ("ok", 0), ("ok", 10_001), ("ok", True)):
        with pytest.raises(InvalidValueError):
            FeedConsumer(service, name, print, batch=batch)


Transactions = list[tuple[list[int], bool]]


@settings(deadline=None)  # each example opens a SQLite file: its time is the disk's
@given(
    transactions=st.lists(
        st.tuples(st.lists(st.integers(0, 4), min_size=1, max_size=4), st.booleans()),
        max_size=12,
    ),
    page=st.integers(1, 6),
)
def test_the_feed_is_the_committed_appends_in_order(transactions: Transactions, page: int) -> None:
    """Random units of work, each appending to a few customers and committing or rolling
    back: the feed is what was committed, in order, read in any page size."""
    with tempfile.TemporaryDirectory() as folder, SqliteStore(Path(folder) / "p.db") as sqlite:
        for store in (MemoryStore(), sqlite):
            feed_matches(store, transactions, page)


def feed_matches(store: Store, transactions: Transactions, page: int) -> None:
    versions = [0] * 5
    committed: list[Event] = []
    for customers, commit in transactions:
        with store.unit_of_work() as uow:
            seen = list(versions)
            appended = []
            for c in customers:
                seen[c] += 1
                appended.append(followed_up(f"c{c}", seen[c]))
                uow.events.append(appended[-1])
            if commit:
                uow.commit()
                committed.extend(appended)
                versions = seen
    assert [entry.event for entry in read_all(store, page)] == committed
