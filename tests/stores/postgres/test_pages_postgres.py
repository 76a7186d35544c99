"""Paging the PostgreSQL store while customers move (the property of
tests/stores/test_page_moves.py), and the plan of a public-pool page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from _pg import empty_schema
from hypothesis import given, settings
from hypothesis import strategies as st
from test_page_moves import LIST, paging_with_moves

from poolkit.model.customer import CustomerStatus
from poolkit.ports import CustomerOrder, CustomerQuery
from poolkit.stores.postgres import PostgresStore
from poolkit.stores.postgres._customers import SORTS
from poolkit.stores.sql.customer_page import select_page
from poolkit.stores.sql.customer_query import select_customers
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


def test_each_index_keeps_only_the_customers_its_queries_ask_for(make_store: StoreFactory) -> None:
    # A claim's new row version gets an entry in every index whose condition it meets:
    # the rep's indexes keep owned customers, the pool's those without an owner.
    store = make_store()
    with store.unit_of_work() as uow:
        found = dict(
            uow._execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() AND tablename = 'customers'"
            ).fetchall()
        )
    store.close()
    assert not {"customers_owner", "customers_pool_status", "customers_status"} & set(found)
    for order in CustomerOrder:
        assert found[f"customers_owner_by_{order.value}"].endswith("WHERE (owner_id IS NOT NULL)")
        assert found[f"customers_pool_by_{order.value}"].endswith("WHERE (owner_id IS NULL)")
    assert found["customers_holdings"].endswith("WHERE (owner_id IS NOT NULL)")
    assert found["customers_private"].endswith("(id) WHERE (owner_id IS NOT NULL)")
    assert found["customers_frozen"].endswith("(id) WHERE (status = 'frozen'::text)")


@pytest.mark.parametrize(
    ("status", "index"),
    [(CustomerStatus.PRIVATE, "customers_private"), (CustomerStatus.FROZEN, "customers_frozen")],
)
def test_every_private_or_frozen_customer_is_read_through_its_own_index(
    make_store: StoreFactory, status: CustomerStatus, index: str
) -> None:
    # The what-if reads every private customer page by page, the recycle bin every frozen
    # one: the status in the SQL is a literal, so the planner proves the index's condition.
    store = make_store()
    fetch = select_customers(CustomerQuery(status=status), 50, POSTGRES, "c0042")
    with store.unit_of_work() as uow:
        uow._execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(str(row[0]) for row in uow._execute("EXPLAIN " + fetch.sql, fetch.params))
    store.close()
    # (An empty table: the planner may walk the index or take a bitmap of it.)
    assert f"Scan using {index} on customers" in plan or f"Scan on {index}" in plan, plan
    assert "Seq Scan" not in plan, plan


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
