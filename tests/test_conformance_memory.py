"""The in-memory store against the store conformance suite."""

import pytest

from poolkit.stores.memory import MemoryStore
from poolkit.testing.conformance import StoreConformance


class TestMemoryStore(StoreConformance):
    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()
