"""An import batch reads the name-block lists it needs from the store once and keeps them
up to date as it adds customers (``_reviews.NameBlocks``): at every step its candidates
must be exactly what a single lookup of the store reads then (``common_blocks``, then
``similar_names`` of the telling blocks), on both shipped stores, whether the customers it
adds are written as they come (a private pool's rows) or only at the batch's end."""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poolkit.identity.lookalike import telling_blocks
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


def check(
    reads: Store, truth: Store, stored: list[tuple[int, str]], script: list[tuple[bool, str, int]]
) -> None:
    """``reads`` is the store the lists read; ``truth`` the one each added customer is
    written to as it is added (the same store, or another holding the same customers: the
    batch writes them at its end)."""
    for store in {id(reads): reads, id(truth): truth}.values():
        with store.unit_of_work() as uow:
            for number, name in stored:
                uow.customers.add(public(f"s{number:03d}", name=name), NO_SCHEDULE)
            uow.commit()
    with ExitStack() as stack:
        uow = stack.enter_context(reads.unit_of_work())
        written = uow if truth is reads else stack.enter_context(truth.unit_of_work())
        per_block = 2
        lists = NameBlocks(uow, per_block)
        lists.prepare(name_blocks(name) for _, name, _ in script)
        for position, (add, name, number) in enumerate(script):
            if add:
                customer = public(f"n{number:03d}-{position}", name=name)
                written.customers.add(customer, NO_SCHEDULE)
                lists.added(customer)
            else:
                blocks = name_blocks(name)
                common = written.customers.common_blocks(blocks, per_block)
                found = written.customers.similar_names(telling_blocks(blocks, common), per_block)
                assert sorted(lists.candidate_ids(blocks)) == [cid for cid, _ in found]
                # Each candidate compared by the normal form the store keeps of its name.
                for customer_id, name_found in found:
                    assert lists.name_of(customer_id) == (name_found, normalise_name(name_found))


def test_the_lists_are_prepared_before_any_customer_is_added() -> None:
    with MemoryStore().unit_of_work() as uow:
        lists = NameBlocks(uow, 2)
        lists.prepare([name_blocks("Acme Trading")])
        lists.added(public("c1", name="Acme Trading"))
        with pytest.raises(RuntimeError, match="prepare after"):
            lists.prepare([name_blocks("Beta Tools")])
        with pytest.raises(KeyError, match="not prepared"):
            lists.candidate_ids(name_blocks("Beta Tools"))


# A name whose blocks were uncommon when the batch began, and all common after its adds:
# its lookup then reads the first ``per_block`` of a block no list was read for, and those
# are the customers just added (ids ``n...`` sort before the stored ``s...``).
BECOMES_COMMON = (
    [(1, "Acme Trading"), (2, "Acme Trading"), (3, "Acme Trading")],
    [
        (False, "Acme Beta", 0),
        (True, "Acme Beta", 1),
        (True, "Acme Beta", 2),
        (True, "Acme Beta", 3),
        (False, "Acme Beta", 0),
    ],
)


@pytest.mark.parametrize("at_the_end", [False, True])
def test_a_list_read_late_has_the_customers_added_before_memory(at_the_end: bool) -> None:
    reads = MemoryStore()
    check(reads, MemoryStore() if at_the_end else reads, *BECOMES_COMMON)


@pytest.mark.parametrize("at_the_end", [False, True])
def test_a_list_read_late_has_the_customers_added_before_sqlite(at_the_end: bool) -> None:
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        reads = stack.enter_context(SqliteStore(Path(folder) / "reads.db"))
        truth = stack.enter_context(SqliteStore(Path(folder) / "truth.db")) if at_the_end else reads
        check(reads, truth, *BECOMES_COMMON)


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
    stored=st.lists(st.tuples(st.integers(0, 999), names), unique_by=lambda p: p[0]),
    script=steps,
    at_the_end=st.booleans(),
)
def test_the_lists_answer_as_the_memory_store_does(
    stored: list[tuple[int, str]], script: list[tuple[bool, str, int]], at_the_end: bool
) -> None:
    reads = MemoryStore()
    check(reads, MemoryStore() if at_the_end else reads, stored, script)


@settings(deadline=None)
@given(
    stored=st.lists(st.tuples(st.integers(0, 999), names), unique_by=lambda p: p[0]),
    script=steps,
    at_the_end=st.booleans(),
)
def test_the_lists_answer_as_the_sqlite_store_does(
    stored: list[tuple[int, str]], script: list[tuple[bool, str, int]], at_the_end: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        reads = stack.enter_context(SqliteStore(Path(folder) / "reads.db"))
        truth = stack.enter_context(SqliteStore(Path(folder) / "truth.db")) if at_the_end else reads
        check(reads, truth, stored, script)
