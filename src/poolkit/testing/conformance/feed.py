"""The change feed contract (:meth:`~poolkit.ports.EventLog.since`): every committed event
once, in the order it was appended, positions strictly increasing, pages that continue
where the last ended, nothing of a rolled-back unit of work, and an event committed later
never behind a position already read."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import pytest

from poolkit.model.events import Event
from poolkit.model.feed import FeedEntry
from poolkit.ports import Store
from poolkit.testing.builders import (
    DAY,
    T0,
    claimed,
    drop_at,
    followed_up,
    one_of_each_event,
    private,
)

Reopen = Callable[[], Store]


def read_all(store: Store, page: int = 1000, after: int = 0) -> list[FeedEntry]:
    """The whole feed after ``after``, read ``page`` entries at a time, each page in a unit
    of work of its own, as a consumer reads it."""
    entries: list[FeedEntry] = []
    while True:
        with store.unit_of_work() as uow:
            found = uow.events.since(after, page)
        entries.extend(found)
        if len(found) < page:
            return entries
        after = found[-1].position


def commit_events(store: Store, events: Sequence[Event]) -> None:
    with store.unit_of_work() as uow:
        for event in events:
            uow.events.append(event)
        uow.commit()


class FeedConformance:
    """The change feed of the :class:`~poolkit.ports.EventLog`. Subclass with a ``store``
    fixture returning a fresh, empty store; a store kept outside the process also overrides
    ``reopen`` (a fresh store object on the same data, which the test closes if it can)."""

    @pytest.fixture
    def reopen(self, store: Store) -> Reopen:
        return lambda: store

    def test_an_empty_log_has_an_empty_feed(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            assert uow.events.since(0, 10) == []
            assert uow.events.since(5, 10) == []

    def test_the_feed_holds_every_event_once_in_the_order_it_was_appended(
        self, store: Store
    ) -> None:
        first = [followed_up("c2", 1), claimed("c1", 1, T0), followed_up("c2", 2)]
        second = one_of_each_event("c3")
        third = [followed_up("c1", 2, T0 - DAY)]  # earlier `at`, later commit: later in the feed
        for events in (first, second, third):
            commit_events(store, events)
        entries = read_all(store)
        assert [entry.event for entry in entries] == [*first, *second, *third]
        positions = [entry.position for entry in entries]
        assert positions[0] >= 1
        assert all(a < b for a, b in itertools.pairwise(positions))
        assert all(isinstance(entry, FeedEntry) for entry in entries)

    def test_pages_continue_where_the_last_one_ended(self, store: Store) -> None:
        events = [followed_up(f"c{i % 3}", i // 3 + 1) for i in range(10)]
        commit_events(store, events)
        whole = read_all(store)
        assert [entry.event for entry in whole] == events
        for page in (1, 3, 4, 10, 11):
            assert read_all(store, page) == whole, page
        with store.unit_of_work() as uow:
            assert uow.events.since(0, 4) == whole[:4]
            assert uow.events.since(whole[3].position, 4) == whole[4:8]
            assert uow.events.since(whole[-1].position, 5) == []
            assert uow.events.since(0, 0) == []

    def test_a_rolled_back_event_never_appears(self, store: Store) -> None:
        commit_events(store, [followed_up("c1", 1)])
        with store.unit_of_work() as uow:
            uow.events.append(followed_up("c1", 2))
            uow.events.append(followed_up("c2", 1))
            uow.rollback()
        with store.unit_of_work() as uow:
            uow.events.append(followed_up("c3", 1))
            # Left without a commit: rolled back on the way out.
        commit_events(store, [followed_up("c2", 1, T0 + DAY)])
        assert [entry.event for entry in read_all(store)] == [
            followed_up("c1", 1),
            followed_up("c2", 1, T0 + DAY),
        ]

    def test_what_commits_later_comes_after_every_position_already_read(self, store: Store) -> None:
        commit_events(store, [followed_up("c1", 1), followed_up("c2", 1)])
        read = read_all(store)
        passed = read[-1].position
        with store.unit_of_work() as uow:  # rolled back: its positions may be given again
            uow.events.append(followed_up("c3", 1))
        commit_events(store, [followed_up("c3", 1), followed_up("c1", 2)])
        later = read_all(store, after=passed)
        assert [entry.event for entry in later] == [followed_up("c3", 1), followed_up("c1", 2)]
        assert all(entry.position > passed for entry in later)
        assert read_all(store) == read + later

    @pytest.mark.parametrize("held_by", ["due", "read_ahead", "first_event"])
    def test_events_of_a_customer_the_unit_of_work_holds_are_in_the_feed(
        self, store: Store, held_by: str
    ) -> None:
        # A store may write the events of a customer it holds (locked by the sweep's read,
        # read ahead to change, or by an earlier event of the same unit of work) another
        # way than the first event; they must be in the feed all the same.
        with store.unit_of_work() as uow:
            uow.customers.add(private("c1", version=1), drop_at(T0))
            uow.events.append(followed_up("c1", 1))
            uow.commit()
        with store.unit_of_work() as uow:
            if held_by == "due":
                assert [c.id for c in uow.customers.due(T0, 10)] == ["c1"]
            elif held_by == "read_ahead":
                uow.read_ahead(customers=("c1",), to_change=True)
                assert uow.customers.get("c1") == private("c1", version=1)
            uow.events.append(followed_up("c1", 2, T0 + DAY))
            uow.customers.update(private("c1", version=2), drop_at(None), 1)
            uow.events.append(followed_up("c1", 3, T0 + DAY))
            uow.commit()
        assert [entry.event for entry in read_all(store)] == [
            followed_up("c1", 1),
            followed_up("c1", 2, T0 + DAY),
            followed_up("c1", 3, T0 + DAY),
        ]

    def test_the_feed_agrees_with_each_history(self, store: Store) -> None:
        commit_events(store, [followed_up("a", 1), followed_up("b", 1)])
        commit_events(store, [followed_up("b", 2), followed_up("a", 2), followed_up("a", 3)])
        entries = read_all(store)
        with store.unit_of_work() as uow:
            for customer_id in ("a", "b"):
                mine = [e.event for e in entries if e.event.customer_id == customer_id]
                assert mine == uow.events.history(customer_id)

    def test_the_feed_survives_reopening_the_store(self, store: Store, reopen: Reopen) -> None:
        commit_events(store, [followed_up("c1", 1), followed_up("c2", 1)])
        before = read_all(store)
        reopened = reopen()
        try:
            assert read_all(reopened) == before
            commit_events(reopened, [followed_up("c1", 2)])
            after = read_all(reopened)
            assert after[:2] == before
            assert after[2].event == followed_up("c1", 2)
            assert after[2].position > before[-1].position
        finally:
            close = getattr(reopened, "close", None)
            if reopened is not store and close is not None:
                close()


__all__ = ["FeedConformance", "commit_events", "read_all"]
