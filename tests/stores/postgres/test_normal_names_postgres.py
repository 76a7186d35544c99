"""The names' normal forms on PostgreSQL: a schema from before them gets them filled from
its stored names, and keeps them in step with the writes afterwards."""

from __future__ import annotations

import json

import psycopg

from poolkit.identity.normalise import normalise_name
from poolkit.identity.similarity import blocking_keys
from poolkit.stores._codec import encode
from poolkit.stores.postgres import PostgresStore, _schema
from poolkit.stores.postgres._schema import MIGRATIONS
from poolkit.stores.sql.rows import NAME_BLOCK_SIDE
from poolkit.testing.builders import NO_SCHEDULE, named

NAMES = ["深圳市某某科技有限公司", "Golden Dragon Trading Co.", "某某科技（广州）有限公司"]


def test_a_schema_before_the_normal_names_gets_them_from_its_names(pg_dsn: str) -> None:
    before = MIGRATIONS[: MIGRATIONS.index(_schema._normal_names)]
    book = [named(f"c{n}", name) for n, name in enumerate(NAMES)]
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        _schema.migrate(conn, "normal_old", before)
        for customer in book:
            conn.execute(
                "INSERT INTO normal_old.customers (id, status, pool_id, version, name, body) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    customer.id,
                    customer.status.value,
                    customer.pool_id,
                    customer.version,
                    customer.name,
                    json.dumps(encode(customer)),
                ),
            )
            conn.cursor().executemany(
                "INSERT INTO normal_old.customer_name_blocks (block, customer_id) VALUES (%s, %s)",
                [(block, customer.id) for (block,) in NAME_BLOCK_SIDE.rows_of(customer)],
            )
    with PostgresStore(pg_dsn, schema="normal_old") as store, store.unit_of_work() as uow:
        found = uow.customers.names_by_block(blocking_keys(NAMES[0]) | blocking_keys(NAMES[1]), 50)
        listed = {row for rows in found.values() for row in rows}
        assert listed == {(f"c{n}", name, normalise_name(name)) for n, name in enumerate(NAMES)}
        # and the migrated schema keeps them in step with a rename
        uow.customers.update(named("c1", "Beta Foods", version=2), NO_SCHEDULE, 1)
        found = uow.customers.names_by_block(blocking_keys("Beta Foods"), 50)
        assert ("c1", "Beta Foods", normalise_name("Beta Foods")) in found["w:beta"]
        uow.commit()
