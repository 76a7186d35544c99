"""An import batch reads each name block's list from the store once and keeps it up to date
as it adds customers (``_reviews.NameBlocks``): at every step it must answer exactly what
the store's ``similar_names`` answers then, on both shipped stores."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from poolkit.identity.normalise import normalise_name
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
                # Each candidate compared by the normal form the store keeps of its name.
                for customer_id, found in lists.candidates(blocks):
                    assert lists.name_of(customer_id) == (found, normalise_name(found))


# Any text a customer's name may be (non-empty, trimmed): what the store keeps of a name
# must be exactly what normalising it gives.
any_names = (
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20)
    | st.lists(
        st.sampled_from([*WORDS, "有限公司", "（上海）", "Co., Ltd.", "第一", "12"]),
        min_size=1,
        max_size=4,
    ).map("".join)
).filter(lambda name: name == name.strip() and name != "")


def check_normal_forms(store: Store, named: list[str]) -> None:
    with store.unit_of_work() as uow:
        for number, name in enumerate(named):
            uow.customers.add(public(f"c{number:03d}", name=name), NO_SCHEDULE)
        uow.commit()
    with store.unit_of_work() as uow:
        for name in named:
            blocks = name_blocks(name)
            for rows in uow.customers.names_by_block(blocks, 1000).values():
                for _, stored_name, normal in rows:
                    assert normal == normalise_name(stored_name)
            if blocks:  # the name itself is among its blocks' names
                listed = uow.customers.names_by_block(blocks, 1000)
                assert any(row[1] == name for rows in listed.values() for row in rows)


@settings(deadline=None)
@given(st.lists(any_names, max_size=8))
def test_the_stored_normal_form_is_the_normalised_name_memory(named: list[str]) -> None:
    check_normal_forms(MemoryStore(), named)


@settings(deadline=None)
@given(st.lists(any_names, max_size=8))
def test_the_stored_normal_form_is_the_normalised_name_sqlite(named: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder, SqliteStore(Path(folder) / "x.db") as store:
        check_normal_forms(store, named)


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
