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


def test_a_v1_schema_gets_its_sort_columns_filled(pg_dsn: str) -> None:
    import json

    import psycopg

    from poolkit.ports import CustomerQuery
    from poolkit.stores._codec import encode
    from poolkit.stores.postgres._schema import MIGRATIONS, migrate
    from poolkit.testing.builders import SHANGHAI, T0, private, public

    customers = [
        private("owned", owned_since=T0.astimezone(SHANGHAI), name="B"),
        public("waiting", public_since=T0, name="A"),
    ]
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS old_pages CASCADE")
        migrate(conn, "old_pages", MIGRATIONS[:1])
        for c in customers:
            conn.execute(
                "INSERT INTO old_pages.customers (id, status, owner_id, pool_id, public_since, "
                "version, name, body) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    c.id,
                    c.status.value,
                    c.owner_id,
                    c.pool_id,
                    c.public_since,
                    c.version,
                    c.name,
                    json.dumps(encode(c)),
                ),
            )
    with PostgresStore(pg_dsn, schema="old_pages") as store, store.unit_of_work() as uow:
        page = uow.customers.page([CustomerQuery()], CustomerOrder.ENTERED, limit=5)
        assert [(c.id, p.value) for c, p in page] == [("owned", T0), ("waiting", T0)]
        page = uow.customers.page([CustomerQuery()], CustomerOrder.NAME, limit=5)
        assert [c.id for c, _ in page] == ["waiting", "owned"]
