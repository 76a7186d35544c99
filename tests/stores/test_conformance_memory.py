"""The in-memory store against the store conformance suite, and the suite's own shape."""

import ast
from pathlib import Path

import pytest

from poolkit.stores.memory import MemoryStore
from poolkit.testing import conformance
from poolkit.testing.conformance import StoreConformance


class TestMemoryStore(StoreConformance):
    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()


def test_only_the_service_contracts_import_the_service() -> None:
    """A store author runs the store contracts without the service in the picture: a
    failure there is the store's. Two contracts are about the service on a store
    (``ServiceConformance``, ``WhatIfConformance``) and import it. Read from the source,
    since importing ``poolkit`` itself loads the service anyway."""
    package = Path(conformance.__file__).parent
    importers = set()
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(
                name == "poolkit.service" or name.startswith("poolkit.service.") for name in names
            ):
                importers.add(module.name)
    assert importers == {"service.py", "what_if.py"}


def test_the_union_runs_every_check_of_every_contract() -> None:
    contracts = StoreConformance.__mro__[1:-1]
    # ConcurrentUnitsOfWork is the alternative to two checks of the union, for stores
    # whose units of work run side by side: not part of it.
    assert {contract.__name__ for contract in contracts} == set(conformance.__all__) - {
        "StoreConformance",
        "ConcurrentUnitsOfWork",
    }
    checks = [name for contract in contracts for name in vars(contract) if name.startswith("test_")]
    assert len(checks) == len(set(checks)), "two contracts define a check of the same name"
    assert set(checks) == {name for name in dir(StoreConformance) if name.startswith("test_")}
