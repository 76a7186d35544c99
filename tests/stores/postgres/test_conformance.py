"""The PostgreSQL store against the store conformance suite and the shipped state machine.

Its units of work run side by side on purpose, so the contract of such stores
(poolkit.testing.conformance) replaces the two checks of the suite that require them to be
serialised.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from _pg import empty_schema
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from test_stateful import POLICY, STEPS, TEAM

from poolkit.stores.postgres import PostgresStore
from poolkit.testing.conformance import ConcurrentUnitsOfWork, StoreConformance
from poolkit.testing.statemachine import pool_machine

StoreFactory = Callable[..., Any]
# POOLKIT_STATEFUL_PG_EXAMPLES sets the number of examples of the state machine run.
MACHINE_EXAMPLES = int(os.environ.get("POOLKIT_STATEFUL_PG_EXAMPLES", "30"))


class TestPostgresStore(ConcurrentUnitsOfWork, StoreConformance):
    @pytest.fixture
    def store(self, make_store: StoreFactory) -> Any:
        return make_store()

    @pytest.fixture
    def reopen(self, store: Any, make_store: StoreFactory) -> Callable[[], Any]:
        return lambda: make_store(schema=store.schema)


def test_the_state_machine_runs_on_postgres(make_store: StoreFactory, pg_dsn: str) -> None:
    make_store(schema="machine").close()  # migrated once; each example empties it

    def fresh_store() -> Any:
        empty_schema(pg_dsn, "machine")
        return PostgresStore(pg_dsn, schema="machine")

    run_state_machine_as_test(
        pool_machine(policy=POLICY, team=TEAM, store_factory=fresh_store),
        settings=settings(
            max_examples=MACHINE_EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
