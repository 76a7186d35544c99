"""Writes of rows a PostgreSQL unit of work holds locked: checked at the call, sent later.

The conformance suite proves the contract (a stale write is refused, nothing half-written);
these tests prove what the store does to keep it while sending such writes pipelined: the
refusal is still immediate, the writes are seen by the next read of the same unit of work,
and a database that disagrees with what was held rolls the whole transaction back.
"""

from __future__ import annotations

from typing import Any

import attrs
import psycopg
import pytest
from psycopg import sql

from poolkit.errors import StaleVersionError, StoreConflictError
from poolkit.ports import CustomerQuery
from poolkit.stores.postgres import _wire
from poolkit.testing.builders import DAY, T0, claimed, drop_at, followed_up, private

StoreFactory = Any


def _with_due(store: Any, count: int) -> None:
    with store.unit_of_work() as uow:
        for n in range(count):
            customer_id = f"c{n}"
            uow.events.append(followed_up(customer_id, 1))
            uow.customers.add(private(customer_id), drop_at(T0 + DAY))
        uow.commit()


def _statements(uow: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement the unit of work sends from now on (its pipelines, postgres._wire)."""
    sent: list[str] = []
    conn = uow._conn
    run = _wire.run

    def spy(on: Any, statements: Any, **options: Any) -> Any:
        if on is conn:
            for query, _ in statements:
                sent.append(query.decode() if isinstance(query, bytes) else str(query))
        return run(on, statements, **options)

    monkeypatch.setattr(_wire, "run", spy)
    return sent


def test_a_batch_of_held_rows_is_written_with_the_commit(
    make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store()
    _with_due(store, 3)
    with store.unit_of_work() as uow:
        batch = uow.customers.due(T0 + 2 * DAY, 10)
        assert [customer.id for customer in batch] == ["c0", "c1", "c2"]
        sent = _statements(uow, monkeypatch)
        for customer in batch:
            uow.events.append(followed_up(customer.id, 2, T0 + DAY))
            uow.customers.update(attrs.evolve(customer, version=2), drop_at(None), 1)
        assert sent == []  # nothing sent yet: all of it travels with the commit
        uow.commit()
    # One statement for the three events, one for the three customers' rows, then the
    # feed's positions of the three events.
    assert len(sent) == 3
    assert "INSERT INTO feed " in sent[-1]
    with store.unit_of_work() as uow:
        assert [entry.event.seq for entry in uow.events.since(0, 10)] == [1, 1, 1, 2, 2, 2]
        for n in range(3):
            found = uow.customers.get(f"c{n}")
            assert found is not None and found.version == 2
            assert [event.seq for event in uow.events.history(f"c{n}")] == [1, 2]
        assert uow.customers.due(T0 + 2 * DAY, 10) == []


def test_held_rows_changed_differently_or_twice_are_written_in_order(
    make_store: StoreFactory,
) -> None:
    store = make_store()
    _with_due(store, 3)
    with store.unit_of_work() as uow:
        c0, c1, c2 = uow.customers.due(T0 + 2 * DAY, 10)
        moved = {
            "c0": attrs.evolve(c0, version=2, related_reps={"bob": T0}),
            "c1": attrs.evolve(c1, version=2, tags=frozenset({"vip"})),
            "c2": attrs.evolve(c2, version=2, grade="A"),
        }
        for customer in moved.values():
            uow.events.append(followed_up(customer.id, 2, T0 + DAY))
            uow.customers.update(customer, drop_at(None), 1)
        # c0 again, after c1 and c2 joined statements written before it: its second write
        # must follow its first. Then its related reps shrink and its tags grow.
        again = attrs.evolve(moved["c0"], version=3, related_reps={"carol": T0 + DAY})
        uow.events.append(followed_up("c0", 3, T0 + DAY))
        uow.customers.update(again, drop_at(T0 + 9 * DAY), 2)
        last = attrs.evolve(again, version=4, tags=frozenset({"new", "vip"}))
        uow.events.append(followed_up("c0", 4, T0 + DAY))
        uow.customers.update(last, drop_at(T0 + 9 * DAY), 3)
        uow.commit()
    with store.unit_of_work() as uow:
        found = {n: uow.customers.get(n) for n in ("c0", "c1", "c2")}
        assert found == {"c0": last, "c1": moved["c1"], "c2": moved["c2"]}
        assert [c.id for c in uow.customers.find(CustomerQuery(related_rep="carol"))] == ["c0"]
        assert uow.customers.find(CustomerQuery(related_rep="bob")) == []
        assert [c.id for c in uow.customers.find(CustomerQuery(tags=frozenset({"vip"})))] == [
            "c0",
            "c1",
        ]
        assert [c.id for c in uow.customers.find(CustomerQuery(tags=frozenset({"new"})))] == ["c0"]
        assert [c.id for c in uow.customers.due(T0 + 10 * DAY, 10)] == ["c0"]


def test_events_of_held_rows_are_written_in_order_claims_indexed(
    make_store: StoreFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = make_store()
    _with_due(store, 2)
    with store.unit_of_work() as uow:
        uow.customers.due(T0 + 2 * DAY, 10)
        sent = _statements(uow, monkeypatch)
        uow.events.append(followed_up("c0", 2, T0 + DAY))
        uow.events.append(followed_up("c1", 2, T0 + DAY))
        uow.events.append(claimed("c0", 3, T0 + 2 * DAY, rep_id="bob"))
        uow.events.append(followed_up("c0", 4, T0 + 3 * DAY))
        uow.events.append(claimed("c1", 3, T0 + 3 * DAY, rep_id="bob"))
        uow.commit()
    # c0's second and third events each wait for the statement before them.
    assert len([text for text in sent if "INSERT INTO events" in text]) == 3
    with store.unit_of_work() as uow:
        assert [(e.kind, e.seq) for e in uow.events.history("c0")] == [
            ("followed_up", 1),
            ("followed_up", 2),
            ("claimed", 3),
            ("followed_up", 4),
        ]
        assert [e.seq for e in uow.events.history("c1")] == [1, 2, 3]
        assert uow.events.claims_by("bob", T0) == [T0 + 2 * DAY, T0 + 3 * DAY]


def test_a_row_held_but_not_read_is_written_whole_and_in_order(
    make_store: StoreFactory,
) -> None:
    store = make_store()
    _with_due(store, 2)
    with store.unit_of_work() as uow:
        (c1,) = [c for c in uow.customers.due(T0 + 2 * DAY, 10) if c.id == "c1"]
        uow.rollback()
    with store.unit_of_work() as uow:
        # c0 read and held by the batch; c1 held by its event, never read here.
        (c0,) = [c for c in uow.customers.due(T0 + 2 * DAY, 1)]
        uow.events.append(followed_up("c1", 2, T0 + DAY))
        uow.events.append(followed_up("c0", 2, T0 + DAY))
        uow.customers.update(attrs.evolve(c0, version=2, grade="A"), drop_at(None), 1)
        # c1's first update is written whole, after c0's; its second must follow it, not
        # join c0's statement of the same kind before it.
        first = attrs.evolve(c1, version=2, tags=frozenset({"vip"}))
        uow.customers.update(first, drop_at(None), 1)
        uow.events.append(followed_up("c1", 3, T0 + DAY))
        uow.customers.update(attrs.evolve(first, version=3, grade="B"), drop_at(None), 2)
        uow.commit()
    with store.unit_of_work() as uow:
        found = [(c.id, c.grade, c.version, c.tags) for c in uow.customers.find(CustomerQuery())]
        assert found == [("c0", "A", 2, frozenset()), ("c1", "B", 3, frozenset({"vip"}))]


def test_a_held_row_written_after_a_statement_ran_is_written_too(
    make_store: StoreFactory,
) -> None:
    store = make_store()
    _with_due(store, 2)
    with store.unit_of_work() as uow:
        c0, c1 = uow.customers.due(T0 + 2 * DAY, 10)
        uow.events.append(followed_up("c0", 2, T0 + DAY))
        uow.customers.update(attrs.evolve(c0, version=2, grade="A"), drop_at(None), 1)
        assert uow.customers.count() == 2  # sends c0's write
        uow.events.append(followed_up("c1", 2, T0 + DAY))
        uow.customers.update(attrs.evolve(c1, version=2, grade="B"), drop_at(None), 1)
        uow.commit()
    with store.unit_of_work() as uow:
        grades = [(c.grade, c.version) for c in uow.customers.find(CustomerQuery())]
        assert grades == [("A", 2), ("B", 2)]


def test_a_stale_write_of_a_held_row_is_refused_at_the_call(make_store: StoreFactory) -> None:
    store = make_store()
    _with_due(store, 1)
    with store.unit_of_work() as uow:
        (customer,) = uow.customers.due(T0 + 2 * DAY, 10)
        with pytest.raises(StaleVersionError) as stale:
            uow.customers.update(attrs.evolve(customer, version=3), drop_at(None), 2)
        assert (stale.value.customer_id, stale.value.expected, stale.value.actual) == ("c0", 2, 1)
        with pytest.raises(StaleVersionError) as gap:
            uow.events.append(followed_up("c0", 3, T0 + DAY))
        assert (gap.value.expected, gap.value.actual) == (2, 1)
        # The unit of work goes on after a refusal, as with any store.
        uow.events.append(followed_up("c0", 2, T0 + DAY))
        uow.customers.update(attrs.evolve(customer, version=2), drop_at(None), 1)
        with pytest.raises(StaleVersionError):
            uow.customers.update(attrs.evolve(customer, version=2), drop_at(None), 1)
        uow.commit()
    with store.unit_of_work() as uow:
        assert [event.seq for event in uow.events.history("c0")] == [1, 2]


def test_pending_writes_are_seen_by_the_next_read(make_store: StoreFactory) -> None:
    store = make_store()
    _with_due(store, 1)
    with store.unit_of_work() as uow:
        (customer,) = uow.customers.due(T0 + 2 * DAY, 10)
        uow.events.append(followed_up("c0", 2, T0 + DAY))
        uow.customers.update(attrs.evolve(customer, version=2, grade="A"), drop_at(None), 1)
        found = uow.customers.get("c0")
        assert found is not None and found.grade == "A"
        assert len(uow.events.history("c0")) == 2
        uow.rollback()
    with store.unit_of_work() as uow:
        found = uow.customers.get("c0")
        assert found is not None and found.version == 1


def test_an_appended_event_holds_its_customer_and_the_update_goes_with_the_commit(
    make_store: StoreFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = make_store()
    with store.unit_of_work() as uow:
        uow.events.append(followed_up("c0", 1))
        uow.customers.add(private("c0"), drop_at(None))
        uow.commit()
    with store.unit_of_work() as uow:
        customer = uow.customers.get("c0")
        assert customer is not None
        uow.events.append(claimed("c0", 2, T0 + DAY, rep_id="bob"))
        sent = _statements(uow, monkeypatch)
        uow.customers.update(attrs.evolve(customer, version=2, owner_id="bob"), drop_at(None), 1)
        assert sent == []
        uow.commit()
    with store.unit_of_work() as uow:
        found = uow.customers.get("c0")
        assert found is not None and found.owner_id == "bob"
        assert uow.events.claims_by("bob", T0) == [T0 + DAY]


def test_a_history_that_disagrees_with_its_row_rolls_everything_back(
    make_store: StoreFactory,
) -> None:
    store = make_store()
    _with_due(store, 2)
    # An event written behind poolkit's back: c1's history now ends past its row's version.
    with psycopg.connect(store._conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(store.schema)))
        conn.execute(
            "INSERT INTO events (customer_id, seq, kind, at, body) "
            "SELECT customer_id, 2, kind, at, body FROM events WHERE customer_id = 'c1'"
        )
    with store.unit_of_work() as uow:
        uow.settings.set("written", "before")
        batch = uow.customers.due(T0 + 2 * DAY, 10)
        for customer in batch:
            uow.events.append(followed_up(customer.id, 2, T0 + DAY))
            uow.customers.update(attrs.evolve(customer, version=2), drop_at(None), 1)
        with pytest.raises(StoreConflictError) as conflict:
            uow.commit()
        assert conflict.value.retryable
        # The transaction is gone; the unit of work says so rather than start another.
        with pytest.raises(StoreConflictError):
            uow.settings.get("written")
    with store.unit_of_work() as uow:
        assert uow.settings.get("written") is None
        assert [customer.version for customer in uow.customers.due(T0 + 2 * DAY, 10)] == [1, 1]


def test_settings_read_together_are_fresh_for_each_unit_of_work(
    make_store: StoreFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = make_store()
    with store.unit_of_work() as uow:
        uow.settings.set("a", "1")
        uow.settings.set("b", "1")
        uow.commit()
    with store.unit_of_work() as uow:
        assert (uow.settings.get("a"), uow.settings.get("b")) == ("1", "1")
    with store.unit_of_work() as uow:
        sent = _statements(uow, monkeypatch)
        assert uow.settings.get("a") == "1"
        # Written by another process between the two reads: a read that follows another
        # at once may still answer as of the first, but one after any other statement not.
        with store.unit_of_work() as other:
            other.settings.set("b", "2")
            other.commit()
        assert uow.settings.get("b") == "1"
        assert len(sent) == 1
        assert uow.settings.get("a") == "1"
        assert uow.settings.get("b") == "2"
    with store.unit_of_work() as uow:
        assert uow.settings.get("a") == "1"
        uow.settings.set("b", "3")
        assert uow.settings.get("b") == "3"
