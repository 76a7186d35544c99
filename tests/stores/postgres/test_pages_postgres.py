"""Paging the PostgreSQL store while customers move (the property of
tests/stores/test_page_moves.py), and the plan of a public-pool page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from _pg import empty_schema
from hypothesis import given, settings
from hypothesis import strategies as st
from test_page_moves import LIST, paging_with_moves

from poolkit.ports import CustomerOrder
from poolkit.stores.postgres import PostgresStore
from poolkit.stores.postgres._customers import SORTS
from poolkit.stores.sql.customer_page import select_page
from poolkit.stores.sql.dialect import POSTGRES

StoreFactory = Callable[..., Any]


def test_paging_postgres_with_moves(make_store: StoreFactory, pg_dsn: str) -> None:
    make_store(schema="pages").close()  # migrated once; each example empties it

    @settings(max_examples=25, deadline=None)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        empty_schema(pg_dsn, "pages")
        store = PostgresStore(pg_dsn, schema="pages")
        try:
            paging_with_moves(store, data)
        finally:
            store.close()

    run()


def test_a_public_pool_page_walks_its_index(make_store: StoreFactory) -> None:
    store = make_store()
    for order in CustomerOrder:
        fetch = select_page(LIST, order, False, None, 50, POSTGRES, SORTS)
        with store.unit_of_work() as uow:
            uow._execute("SET LOCAL enable_seqscan = off")
            plan = "\n".join(
                str(row[0]) for row in uow._execute("EXPLAIN " + fetch.sql, fetch.params)
            )
        assert f"customers_pool_by_{order.value}" in plan, plan
        assert "Sort" not in plan.replace("Sort Key", ""), plan
    store.close()
