"""The event log contract: every kind of event round-trips, ``seq`` has no gaps and no
repeats, claims are counted by time, and the log outlives deleted customers."""

from __future__ import annotations

import pytest

from poolkit.errors import StaleVersionError
from poolkit.model.events import EVENT_TYPES, Assigned, Deleted
from poolkit.ports import Store
from poolkit.testing.builders import (
    DAY,
    NEW_YORK,
    NO_SCHEDULE,
    SECOND,
    T0,
    claimed,
    followed_up,
    one_of_each_event,
    private,
)


class EventLogConformance:
    """The :class:`~poolkit.ports.EventLog` contract. Subclass with a ``store`` fixture
    returning a fresh, empty store."""

    def test_every_kind_of_event_comes_back_equal_and_in_order(self, store: Store) -> None:
        history = one_of_each_event("c1")
        assert {type(event) for event in history} == set(EVENT_TYPES.values())
        with store.unit_of_work() as uow:
            for event in history:
                uow.events.append(event)
            uow.events.append(followed_up("c2", 1))
            uow.commit()
        with store.unit_of_work() as uow:
            stored = uow.events.history("c1")
            assert stored == history
            assert [type(event) for event in stored] == [type(event) for event in history]
            assert uow.events.history("c2") == [followed_up("c2", 1)]
            assert uow.events.history("nobody") == []

    def test_a_second_event_with_the_same_seq_is_refused(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.events.append(followed_up("c1", 1))
            uow.commit()
        with store.unit_of_work() as uow:
            with pytest.raises(StaleVersionError) as refused:
                uow.events.append(claimed("c1", 1, T0 + DAY))
            assert refused.value.customer_id == "c1"
            uow.events.append(followed_up("c1", 2))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.events.history("c1") == [followed_up("c1", 1), followed_up("c1", 2)]
            assert uow.events.claims_by("alice", T0 - DAY) == []

    def test_a_gap_in_the_history_is_refused(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            with pytest.raises(StaleVersionError):
                uow.events.append(followed_up("c1", 2))
            uow.events.append(followed_up("c1", 1))
            with pytest.raises(StaleVersionError):
                uow.events.append(followed_up("c1", 3))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.events.history("c1") == [followed_up("c1", 1)]

    def test_claims_by_counts_claims_strictly_after_since(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.events.append(claimed("c1", 1, T0 + 2 * DAY))
            uow.events.append(claimed("c2", 1, T0))
            uow.events.append(claimed("c3", 1, T0 + DAY, rep_id="bob"))
            uow.events.append(claimed("c4", 1, T0 + DAY))
            # An assignment is not a claim.
            uow.events.append(
                Assigned(
                    customer_id="c5",
                    seq=1,
                    at=T0 + DAY,
                    actor_id="boss",
                    rep_id="alice",
                    pool_id="north",
                )
            )
            uow.commit()
        with store.unit_of_work() as uow:
            claims = uow.events.claims_by
            assert claims("alice", T0 - SECOND) == [T0, T0 + DAY, T0 + 2 * DAY]
            assert claims("alice", T0) == [T0 + DAY, T0 + 2 * DAY]
            assert claims("alice", T0 + DAY - SECOND) == [T0 + DAY, T0 + 2 * DAY]
            assert claims("alice", T0 + DAY) == [T0 + 2 * DAY]
            assert claims("alice", T0 + 2 * DAY) == []
            assert claims("bob", T0) == [T0 + DAY]
            assert claims("nobody", T0 - DAY) == []
            assert claims("alice", (T0 + DAY).astimezone(NEW_YORK)) == [T0 + 2 * DAY]

    def test_the_log_keeps_the_history_of_removed_customers(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            for customer_id in ("c2", "c1", "c3"):
                uow.customers.add(private(customer_id), NO_SCHEDULE)
                uow.events.append(followed_up(customer_id, 1))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.events.append(
                Deleted(customer_id="c2", seq=2, at=T0 + DAY, actor_id="boss", reason="dup")
            )
            uow.customers.remove("c2", 1)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get("c2") is None
            assert [e.seq for e in uow.events.history("c2")] == [1, 2]
            assert list(uow.events.customer_ids()) == ["c1", "c2", "c3"]
            assert list(uow.customers.ids()) == ["c1", "c3"]


__all__ = ["EventLogConformance"]
