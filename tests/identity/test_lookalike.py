"""The review list files "maybe the same company", not "the same pattern": the pure
look-alike rules, and the list filed for two whole books (numbered names, and a realistic
mixed book with known near-duplicates), computed in memory without a store."""

from __future__ import annotations

from collections import Counter

import pytest
from rapidfuzz.distance import Levenshtein

from poolkit.identity import normalise_name
from poolkit.identity.lookalike import (
    MAX_PER_CUSTOMER,
    LookalikeIndex,
    core_of,
    may_be_same,
    numbers_in,
    places_in,
    review_matches,
)
from poolkit.testing.books import Book, Filed, numbered_names, realistic_names, review_list


def same(a: str, b: str) -> bool:
    return may_be_same(normalise_name(a), normalise_name(b))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Company 12 贸易有限公司", "Company 13 贸易有限公司"),
        ("Company 12", "Company 120"),
        ("Acme 12", "Acme"),
        ("某某科技有限公司北京分公司", "某某科技有限公司上海分公司"),
        ("Acme Shanghai Branch", "Acme Beijing Branch"),
        ("Acme East Trading", "Acme West Trading"),
        ("华强第一分店", "华强第二分店"),
        ("华强一分店", "华强二分店"),
        ("Nexnex Shanghai Imports", "Metornex Shanghai Imports"),
        ("信海进出口有限公司深圳分公司", "燕祥进出口有限公司深圳分公司"),
        ("Axsol Materials", "Orsol Materials Co., Ltd."),
    ],
)
def test_names_that_say_which_company_differently_are_not_the_same(a: str, b: str) -> None:
    assert not same(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("深圳市腾讯计算机系统有限公司", "深圳市腾迅计算机系统有限公司"),  # a typo
        ("张记五金店", "张记五金"),
        ("Technology Moumou", "Moumou Technology"),
        ("Acme Shanghai", "Acme"),  # a place on one side only: the score decides
        ("Company 12 Trading", "Company 1 2 Trading"),
        ("Corion East Materials", "Corion East Miterials"),  # a typo in a trade word
        ("一汽大众", "一汽大众汽车"),  # 一 counts nothing here
        ("贸易有限公司北京", "贸易北京"),  # nothing but generic words: the score decides
    ],
)
def test_names_that_may_be_one_company_pass(a: str, b: str) -> None:
    assert same(a, b)


def test_the_parts_it_reads() -> None:
    assert numbers_in("company 007 store 12") == ("7", "12")
    assert numbers_in("华强第三分店2号") == ("三", "2")
    assert places_in("内蒙古某某科技北京分公司") == {"内蒙古", "北京"}
    assert places_in("acme hong kong east") == {"hong kong", "east"}
    assert core_of(normalise_name("Moumou Technology (Shenzhen) Co., Ltd.")) == "moumou"
    assert core_of("聚达进出口有限责任公司北京分公司") == "聚达"


def test_review_matches_scores_filters_and_bounds() -> None:
    candidates = [(f"c{n}", f"Acme Trading {n}") for n in range(10)]
    candidates += [(f"d{n}", name) for n, name in enumerate(["Acme Tradin", "Acme Trading"] * 4)]
    found = review_matches("acme trading", candidates, threshold=85)
    assert len(found) == MAX_PER_CUSTOMER
    assert [(m.customer_id, m.score) for m in found[:4]] == [
        ("d1", 100.0), ("d3", 100.0), ("d5", 100.0), ("d7", 100.0)
    ]  # fmt: skip
    assert all(not m.customer_id.startswith("c") for m in found)  # numbered: not the same
    assert review_matches("acme trading", candidates, threshold=85, limit=1)[0].customer_id == "d1"


def test_the_index_reads_at_most_per_block_customers_per_key() -> None:
    index = LookalikeIndex(per_block=3)
    for n in range(10):
        index.add(str(n), f"华强{n}号科技")
    assert len(index.candidates("华强科技")) <= 3 * len(
        {"^华强", "$科技", "b:华强", "b:科技", "^华强科", "$强科技"}
    )


def test_the_numbered_book_files_nothing_where_it_filed_thousands() -> None:
    names = numbered_names(1_500).names
    before = review_list(names, filtered=False, limit=None, skip_common=False)
    after = review_list(names)
    assert len(before) > 40_000  # every name against the first ~50 it shares keys with
    assert after == []


@pytest.fixture(scope="module")
def book_and_lists() -> tuple[Book, list[Filed], list[Filed]]:
    book = realistic_names(6_000, seed=7)
    return (
        book,
        review_list(book.names, filtered=False, limit=None, skip_common=False),
        review_list(book.names),
    )


def test_the_realistic_book_files_the_near_duplicates_and_little_else(
    book_and_lists: tuple[Book, list[Filed], list[Filed]],
) -> None:
    book, before, after = book_and_lists
    injected = {(a, b) for a, b, _ in book.duplicates}
    pairs_before = {(item.similar, item.customer) for item in before}
    pairs_after = {(item.similar, item.customer) for item in after}
    # Every near-duplicate the score found is still filed...
    assert injected & pairs_before == injected & pairs_after
    assert len(injected & pairs_after) >= 0.85 * len(injected)
    # ...the rest shrinks to a few...
    others = pairs_after - injected
    assert len(others) < len(pairs_before - injected) / 3
    assert len(after) < 2 * len(injected)
    # ...each of which a person would check: one name a typo or two from the other (or a
    # copy of an injected duplicate), never a different number or place.
    for earlier, later in others:
        a, b = normalise_name(book.names[earlier]), normalise_name(book.names[later])
        assert numbers_in(a) == numbers_in(b), (a, b)
        assert Levenshtein.distance(core_of(a), core_of(b)) <= 2 or Levenshtein.distance(a, b) <= 2
    # And no customer files more than the bound.
    assert max(Counter(item.customer for item in after).values()) <= MAX_PER_CUSTOMER
