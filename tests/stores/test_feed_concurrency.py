"""The change feed under concurrent writers: several processes append and commit (some
holding their transaction open after appending, so commits come out of the order of
appends) while the test process follows the feed in small pages, as a consumer does.

The judge: what the follower read, page after page, is exactly the feed read once at the
end (so nothing it passed was filled in behind it later, and nothing came twice or out of
order), and that is every event every writer committed. The same race runs on PostgreSQL
(tests/stores/postgres/test_feed_postgres.py), where the units of work really overlap.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from _workers import WAIT_S, feed_writers
from poolkit.model.feed import FeedEntry
from poolkit.ports import Store
from poolkit.stores.sqlite import SqliteStore
from poolkit.testing.conformance.feed import read_all

Say = Callable[[str], None]

WRITERS = 4
PER_WRITER = 60
PAGE = 7  # small, so that the follower reads between commits


def follow_while_writing(
    store: Store, location: str, say: Say, *, per_writer: int, hold_every: int, hold_s: float
) -> None:
    names = [f"w{i}" for i in range(WRITERS)]
    followed: list[FeedEntry] = []
    position = 0
    polls = 0
    with feed_writers(location, names, per_writer, hold_every, hold_s) as writers:
        deadline = time.monotonic() + WAIT_S
        while any(w.is_alive() for w in writers) and time.monotonic() < deadline:
            with store.unit_of_work() as uow:
                page = uow.events.since(position, PAGE)
            polls += 1
            followed.extend(page)
            if page:
                position = page[-1].position
            else:
                time.sleep(0.001)
    assert [w.exitcode for w in writers] == [0] * WRITERS
    followed.extend(read_all(store, PAGE, after=position))
    final = read_all(store)
    say(
        f"feed race: {WRITERS} writers x {per_writer} events, {len(followed)} followed in "
        f"{polls} polls, {len(final)} in the final feed"
    )
    missed = [entry for entry in final if entry not in followed]
    assert not missed, f"committed behind the follower's position: {missed[:5]}"
    assert followed == final
    positions = [entry.position for entry in final]
    assert all(a < b for a, b in itertools.pairwise(positions))
    per_name = Counter(entry.event.customer_id.split("-")[0] for entry in final)
    assert per_name == dict.fromkeys(names, per_writer)
    with store.unit_of_work() as uow:
        for name in names:
            for k in range(4):
                customer_id = f"{name}-{k}"
                mine = [e.event for e in final if e.event.customer_id == customer_id]
                assert mine == uow.events.history(customer_id)


def test_a_follower_sees_every_event_of_several_writing_processes_once_in_order(
    tmp_path: Path, say: Say
) -> None:
    path = tmp_path / "pool.db"
    with SqliteStore(path) as store:
        follow_while_writing(
            store, str(path), say, per_writer=PER_WRITER, hold_every=5, hold_s=0.005
        )
