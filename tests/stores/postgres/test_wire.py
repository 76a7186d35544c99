"""The PostgreSQL store's pipeline (postgres._wire): placeholders converted as psycopg
converts them, each statement prepared once per connection, every result read, and an
error raised as psycopg raises it, with what came after it not run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg import sql

from poolkit.errors import StaleVersionError
from poolkit.stores.postgres import PostgresStore
from poolkit.stores.postgres._wire import _convert
from poolkit.testing.builders import NO_SCHEDULE, private

StoreFactory = Callable[..., PostgresStore]


def test_placeholders_are_converted_as_psycopg_converts_them() -> None:
    named = _convert(b"SELECT %(a)s, %(b)b, %(a)s, %(c.d)t, 100%%")
    assert named.text == b"SELECT $1, $2, $1, $3, 100%"
    assert named.names == ("a", "b", "c.d")
    assert [f.name for f in named.formats] == ["AUTO", "BINARY", "TEXT"]
    positional = _convert(b"UPDATE t SET x = %s WHERE id = %s")
    assert positional.text == b"UPDATE t SET x = $1 WHERE id = $2"
    assert positional.names is None and positional.preparable
    assert not _convert(b"SET LOCAL enable_seqscan = off").preparable
    with pytest.raises(psycopg.ProgrammingError):
        _convert(b"SELECT %s, %(a)s")


def test_statements_are_prepared_once_per_connection(make_store: StoreFactory) -> None:
    store = make_store()
    with store.unit_of_work() as uow:
        for n in range(3):
            uow.customers.add(private(f"c{n}"), NO_SCHEDULE)
            assert uow.customers.get(f"c{n}") is not None
        uow.commit()
    with store.unit_of_work() as uow:
        names = uow._execute(
            "SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'poolkit%%'"
        ).fetchall()
    statements = [statement for _, statement in names]
    assert len(statements) == len(set(statements))  # each text once (one type per param)
    assert any("INSERT INTO customers" in statement for statement in statements)


def test_results_are_read_like_a_cursor_s(make_store: StoreFactory) -> None:
    store = make_store()
    with store.unit_of_work() as uow:
        found = uow._execute("SELECT n FROM generate_series(1, %s) AS n", (3,))
        assert found.rowcount == 3
        assert found.fetchone() == (1,)
        assert found.fetchall() == [(2,), (3,)]
        assert found.fetchone() is None
        query = sql.SQL("SELECT {}, %(x)s::text").format(sql.Literal(7))
        assert list(uow._execute(query, {"x": "seven"})) == [(7, "seven")]
        assert uow._execute("SELECT 1 WHERE false").fetchall() == []


def test_an_error_stops_the_pipeline_and_the_transaction(make_store: StoreFactory) -> None:
    store = make_store()
    with store.unit_of_work() as uow:
        uow.customers.add(private("c1"), NO_SCHEDULE)
        uow.commit()
    statements: list[tuple[Any, Any]] = [
        ("UPDATE settings SET value = 'x' WHERE key = %s", ("nothing",)),
        ("SELECT %s::int", ("not a number",)),
        ("INSERT INTO settings (key, value) VALUES (%s, %s)", ("after", "error")),
    ]
    with store.unit_of_work() as uow:
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            uow._execute_together(statements)
        uow.rollback()
        assert uow.settings.get("after") is None  # the statement after the error never ran
        # The unit of work goes on after the rollback, on the same connection.
        with pytest.raises(StaleVersionError):
            uow.customers.update(private("c1", owner_id="bob", version=3), NO_SCHEDULE, 2)
        uow.settings.set("after", "rollback")
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.settings.get("after") == "rollback"
