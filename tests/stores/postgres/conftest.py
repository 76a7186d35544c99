"""Fixtures of the PostgreSQL tests: a database per test module, a schema per store.

The server is named by ``POOLKIT_TEST_PG_DSN`` (a superuser's ``postgresql://`` URL, as
``scripts/pg-test-server`` prints). Without it the tests here are not collected and the run
ends with one line saying how to run them; in CI (``CI=true``) a missing server fails the
run instead, so the PostgreSQL tests can never be silently skipped there.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _pg import IN_CI, url_of

# The races, faults and state machine here reuse the judges of the SQLite tests beside
# them (tests/stores/test_concurrency.py, test_crash_safety.py) and of the state machine
# (tests/testing/test_stateful.py), as modules: their folders are importable whichever
# tests a run collects.
_TESTS = Path(__file__).resolve().parents[2]
for _folder in (_TESTS / "stores", _TESTS / "testing"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

DSN = os.environ.get("POOLKIT_TEST_PG_DSN", "")
HOW_TO_RUN = (
    "PostgreSQL tests not run: POOLKIT_TEST_PG_DSN is not set; run them with "
    "`scripts/pg-test-server run -- python -m pytest tests/stores/postgres`"
)

if not DSN and not IN_CI:
    collect_ignore_glob = ["test_*.py"]

    def pytest_terminal_summary(terminalreporter: Any) -> None:
        terminalreporter.write_line(HOW_TO_RUN, yellow=True)


_names = itertools.count(1)


def _admin_connect() -> Any:
    import psycopg

    return psycopg.connect(DSN, autocommit=True)


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The server's DSN, after checking it answers; fails (never skips) when it does not."""
    if not DSN:
        pytest.fail(f"CI=true but {HOW_TO_RUN.split(': ', 1)[1]}", pytrace=False)
    try:
        with _admin_connect() as conn:
            conn.execute("SELECT 1")
    except Exception as error:  # any failure to reach the server is fatal here
        pytest.fail(f"the PostgreSQL server at POOLKIT_TEST_PG_DSN does not answer: {error}")
    return DSN


@pytest.fixture(scope="module")
def pg_dsn(pg_server: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database for the test module, dropped after it: its ``postgresql://`` URL."""
    from psycopg import sql

    module = re.sub(r"[^a-z0-9]+", "_", request.module.__name__.rsplit(".", 1)[-1].lower())
    name = f"pk_{module}_{os.getpid()}_{next(_names)}"[:63]
    with _admin_connect() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                sql.Identifier(name)
            )
        )
    yield url_of(pg_server, dbname=name)
    with _admin_connect() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


StoreFactory = Callable[..., Any]


@pytest.fixture
def make_store(pg_dsn: str) -> Iterator[StoreFactory]:
    """``make_store(**options)``: a PostgresStore in a schema of its own in the module's
    database (a new, empty one per call unless ``schema=`` is given); closed after the test."""
    from poolkit.stores.postgres import PostgresStore

    opened: list[PostgresStore] = []

    def make(**options: Any) -> PostgresStore:
        options.setdefault("schema", f"s{next(_names)}")
        store = PostgresStore(pg_dsn, **options)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def location(pg_dsn: str, request: pytest.FixtureRequest) -> str:
    """The URL of a fresh schema for the test, for tests whose worker processes each open
    their own store on it (the races)."""
    import hashlib

    # A hash of the whole name: two tests whose names share their first characters must
    # not share a schema (each stores its own policy there).
    name = request.node.name.lower()
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return url_of(pg_dsn, schema=f"{name[:40]}_{digest}")


@pytest.fixture
def store(location: str) -> Iterator[Any]:
    """The test's own store, opened on :func:`location` as the worker processes open it."""
    from poolkit.stores import open_store
    from poolkit.stores.postgres import PostgresStore

    opened = open_store(location)
    assert isinstance(opened, PostgresStore)
    yield opened
    opened.close()
