"""An import batch reads each name block's list from the store once and keeps it up to date
as it adds customers (``_reviews.NameBlocks``): at every step it must answer exactly what
the store's ``similar_names`` answers then, on both shipped stores."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from poolkit.identity.similarity import name_blocks
from poolkit.ports import Store
from poolkit.service._reviews import NameBlocks
from poolkit.stores.memory import MemoryStore
from poolkit.stores.sqlite import SqliteStore
from poolkit.testing.builders import NO_SCHEDULE, public

# Few words, so that names share blocks and lists overflow a small per_block.
WORDS = ["华强", "科技", "贸易", "Acme", "Trading", "深圳", "物流", "Beta", "Tools", "电子"]
names = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)
steps = st.lists(
    st.tuples(st.booleans(), names, st.integers(min_value=0, max_value=999)),
    min_size=1,
    max_size=25,
)


def check(store: Store, stored: list[tuple[int, str]], script: list[tuple[bool, str, int]]) -> None:
    with store.unit_of_work() as uow:
        for number, name in stored:
            uow.customers.add(public(f"s{number:03d}", name=name), NO_SCHEDULE)
        uow.commit()
    with store.unit_of_work() as uow:
        per_block = 2
        lists = NameBlocks(uow, per_block)
        for position, (add, name, number) in enumerate(script):
            if add:
                customer = public(f"n{number:03d}-{position}", name=name)
                uow.customers.add(customer, NO_SCHEDULE)
                lists.added(customer)
            else:
                blocks = name_blocks(name)
                assert lists.candidates(blocks) == uow.customers.similar_names(blocks, per_block)


# Each example writes a store (a file, for SQLite): its time is the disk's, not a bound.
@settings(deadline=None)
@given(
    stored=st.lists(st.tuples(st.integers(0, 999), names), unique_by=lambda p: p[0]), script=steps
)
def test_the_lists_answer_as_the_memory_store_does(
    stored: list[tuple[int, str]], script: list[tuple[bool, str, int]]
) -> None:
    check(MemoryStore(), stored, script)


@settings(deadline=None)
@given(
    stored=st.lists(st.tuples(st.integers(0, 999), names), unique_by=lambda p: p[0]), script=steps
)
def test_the_lists_answer_as_the_sqlite_store_does(
    stored: list[tuple[int, str]], script: list[tuple[bool, str, int]]
) -> None:
    with tempfile.TemporaryDirectory() as folder, SqliteStore(Path(folder) / "x.db") as store:
        check(store, stored, script)
