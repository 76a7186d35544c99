"""Paging while customers move: a property over random moves between the pages, on the
memory and SQLite stores (the PostgreSQL store runs it in tests/stores/postgres).

What "stays correct" means: a customer that is in the list at every page read and keeps
its sort value is shown exactly once; positions shown only ever increase (so nothing
shown is shown again unless its sort value changed); whatever others do meanwhile (leave,
arrive before or after the cursor, change their own sort value)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from poolkit.model.customer import Customer, CustomerStatus
from poolkit.ports import CustomerOrder, CustomerQuery, Position, Store, position_of, sort_key
from poolkit.stores.memory import MemoryStore
from poolkit.stores.sqlite import SqliteStore
from poolkit.testing.builders import NEW_YORK, NO_SCHEDULE, SHANGHAI, T0, public

NAMES = ("Acme", "acme", "Globex", "华为", "Ä", "Initech")
LIST = [CustomerQuery(status=CustomerStatus.PUBLIC, pool_ids=frozenset({"north"}))]


@st.composite
def entries(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "name": draw(st.sampled_from(NAMES)),
        "pool_id": draw(st.sampled_from(("north", "north", "south"))),
        "public_since": (T0 + timedelta(minutes=draw(st.integers(0, 6)))).astimezone(
            draw(st.sampled_from((SHANGHAI, NEW_YORK)))
        ),
    }


moves = st.lists(
    st.tuples(st.sampled_from(("move", "rename", "add", "delete")), st.integers(0, 40), entries()),
    max_size=4,
)


def paging_with_moves(store: Store, data: st.DataObject) -> None:
    first = data.draw(st.lists(entries(), max_size=25), label="customers")
    order = data.draw(st.sampled_from(list(CustomerOrder)), label="order")
    descending = data.draw(st.booleans(), label="descending")
    size = data.draw(st.integers(1, 5), label="page size")
    with store.unit_of_work() as uow:
        for n, fields in enumerate(first):
            uow.customers.add(public(f"c{n:02d}", **fields), NO_SCHEDULE)
        uow.commit()
    next_id = len(first)

    def listed() -> dict[str, Position]:
        with store.unit_of_work() as uow:
            return {c.id: position_of(c, NO_SCHEDULE, order) for c in uow.customers.find(LIST[0])}

    # Each customer's position at the start; a customer "stays" while it is listed at
    # every read with that position.
    start = listed()
    stayed = set(start)
    shown: list[tuple[str, Position]] = []
    after: Position | None = None
    while True:
        now = listed()
        stayed = {cid for cid in stayed if now.get(cid) == start[cid]}
        with store.unit_of_work() as uow:
            page = uow.customers.page(LIST, order, descending=descending, after=after, limit=size)
        for customer, place in page:
            assert place == now[customer.id]
            if shown:
                previous = sort_key(shown[-1][1])
                assert (sort_key(place) < previous) if descending else (sort_key(place) > previous)
            shown.append((customer.id, place))
        if len(page) < size:
            break
        after = page[-1][1]
        next_id = _move(store, data.draw(moves, label="moves"), next_id)
    now = listed()
    stayed = {cid for cid in stayed if now.get(cid) == start[cid]}
    ids = [cid for cid, _ in shown]
    for cid in stayed:
        assert ids.count(cid) == 1, cid
    # Shown twice only with a new sort value in between (positions strictly increase).
    assert len(set(shown)) == len(shown)


def _move(store: Store, steps: list[tuple[str, int, dict[str, Any]]], next_id: int) -> int:
    with store.unit_of_work() as uow:
        known = sorted(uow.customers.ids())
        for kind, pick, fields in steps:
            if kind == "add" or not known:
                uow.customers.add(public(f"c{next_id:02d}", **fields), NO_SCHEDULE)
                known.append(f"c{next_id:02d}")
                next_id += 1
                continue
            cid = known[pick % len(known)]
            customer = uow.customers.get(cid)
            if customer is None:
                continue
            if kind == "delete":
                uow.customers.remove(cid, customer.version)
                known.remove(cid)
                continue
            changes: dict[str, Any] = (
                {"pool_id": fields["pool_id"], "public_since": fields["public_since"]}
                if kind == "move"
                else {"name": fields["name"]}
            )
            moved: Customer = attrs.evolve(customer, version=customer.version + 1, **changes)
            uow.customers.update(moved, NO_SCHEDULE, customer.version)
        uow.commit()
    return next_id


@contextmanager
def sqlite_store() -> Iterator[Store]:
    with tempfile.TemporaryDirectory() as folder, SqliteStore(Path(folder) / "p.db") as store:
        yield store


STORES: dict[str, Callable[[], Any]] = {
    "memory": lambda: _nothing(MemoryStore()),
    "sqlite": sqlite_store,
}


@contextmanager
def _nothing(store: Store) -> Iterator[Store]:
    yield store


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_paging_the_memory_store_with_moves(data: st.DataObject) -> None:
    with STORES["memory"]() as store:
        paging_with_moves(store, data)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_paging_the_sqlite_store_with_moves(data: st.DataObject) -> None:
    with STORES["sqlite"]() as store:
        paging_with_moves(store, data)


def test_sqlite_pages_walk_their_index(tmp_path: Path) -> None:
    """A page of a public pool or a private pool reads its sort index in order: no sort of
    the whole list, whatever page it is."""
    from poolkit.stores.sql.customer_page import select_page
    from poolkit.stores.sql.dialect import SQLITE
    from poolkit.stores.sqlite.repositories import SORTS

    after = Position("Acme", "c01")
    owner = [CustomerQuery(owner_ids=frozenset({"alice"}))]
    with SqliteStore(tmp_path / "p.db") as store, store.unit_of_work() as uow:
        for order in CustomerOrder:
            for queries, index in ((LIST, "customers_pool_by_"), (owner, "customers_owner_by_")):
                for start in (None, after if order is CustomerOrder.NAME else None):
                    fetch = select_page(queries, order, False, start, 50, SQLITE, SORTS)
                    plan = " / ".join(
                        str(row[-1])
                        for row in uow._rows("EXPLAIN QUERY PLAN " + fetch.sql, fetch.params)  # type: ignore[attr-defined]
                    )
                    assert index + order.value in plan, plan
                    assert "TEMP B-TREE" not in plan, plan
