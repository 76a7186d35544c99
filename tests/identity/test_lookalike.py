"""The review list files "maybe the same company", not "the same pattern": the pure
look-alike rules, and the list filed for two whole books (numbered names, and a realistic
mixed book with known near-duplicates), computed in memory without a store."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz.distance import Levenshtein

from poolkit.errors import InvalidKeyError
from poolkit.identity import normalise_name
from poolkit.identity.lookalike import (
    MAX_PER_CUSTOMER,
    LookalikeIndex,
    core_of,
    may_be_same,
    numbers_in,
    places_in,
    registered_apart,
    review_matches,
)
from poolkit.identity.readings import sound_alike
from poolkit.testing.books import Book, Filed, numbered_names, realistic_names, review_list

# Names as registered, from few parts, so that pairs often share all but their place or a
# character of their trade name.
company_names = st.builds(
    "{}{}{}{}{}".format,
    st.sampled_from(["", "南京市", "杭州市", "苏州市", "江苏省", "广东省深圳市", "深圳", "上海"]),
    st.text(alphabet="广天南北木华强", min_size=2, max_size=3),
    st.sampled_from(["供应链管理", "科技", "贸易", ""]),
    st.sampled_from(["", "（深圳）", "（南京）", "（中国）"]),
    st.sampled_from(["", "有限公司", "有限责任公司"]),
)


def same(a: str, b: str) -> bool:
    return may_be_same(normalise_name(a), normalise_name(b), written=(a, b))


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
        # Registered in two cities, the trade names a character apart: two companies.
        ("南京市广天南供应链管理有限责任公司", "杭州市广北南供应链管理有限公司"),
        ("南京市松木供应链管理", "苏州市电木供应链管理"),  # two cities of one province
        ("北京汇光达电气", "苏州市汇光电气"),
        ("华强科技（深圳）有限公司", "上海华墙科技有限公司"),
        # Two characters, one replaced by another sound: another name.
        ("鸿文供应链管理有限公司", "吉文供应链管理股份有限公司"),
        ("深圳市思霞科技", "深圳市美霞科技"),
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
        ("南京市广天南供应链管理", "杭州市广天南供应链管理"),  # one trade name, two cities
        ("南京市广天南供应链管理", "南京市广北南供应链管理"),  # a typo, one city
        ("江苏省广天南供应链管理", "南京市广北南供应链管理"),  # a province and its city
        ("深圳市华强科技有限公司", "华墙科技有限公司"),  # a city on one side only
        ("华强科技（深圳）有限公司", "广东省华墙科技有限公司"),
        ("华强科技有限公司", "华墙科技有限公司"),  # a homophone (qiang): how Chinese is mistyped
        ("鸿文供应链管理", "鸿文思供应链管理"),  # a character more: left to the score
    ],
)
def test_names_that_may_be_one_company_pass(a: str, b: str) -> None:
    assert same(a, b)


def test_the_names_as_written_only_add_the_registration_rule() -> None:
    a, b = "南京市广天南供应链管理有限责任公司", "杭州市广北南供应链管理有限公司"
    assert may_be_same(normalise_name(a), normalise_name(b))  # the normal forms alone
    assert not may_be_same(normalise_name(a), normalise_name(b), written=(a, b))
    assert registered_apart(a, b) and registered_apart(b, a)
    assert not registered_apart(a, "广天南供应链管理")
    assert not registered_apart("江苏省广天南", a)
    stored = [("c1", b), ("c2", "南京市广北南供应链管理")]
    own = normalise_name(a)
    assert [m.customer_id for m in review_matches(own, stored, threshold=85)] == ["c1", "c2"]
    found = review_matches(own, stored, threshold=85, name=a)
    assert [m.customer_id for m in found] == ["c2"]
    # Candidates normalised already: their names as written come from name_of.
    normal = [(cid, normalise_name(written)) for cid, written in stored]
    found = review_matches(
        own, normal, threshold=85, normalise=False, name=a, name_of=dict(stored).__getitem__
    )
    assert [m.customer_id for m in found] == ["c2"]


@given(company_names, company_names)
def test_may_be_same_is_symmetric(a: str, b: str) -> None:
    try:
        normal_a, normal_b = normalise_name(a), normalise_name(b)
    except InvalidKeyError:
        return
    assert may_be_same(normal_a, normal_b, written=(a, b)) == may_be_same(
        normal_b, normal_a, written=(b, a)
    )


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
        # Two Chinese characters of a trade name, one replaced: only by one that sounds alike.
        core_a, core_b = core_of(a), core_of(b)
        if len(core_a) == len(core_b) == 2 and not (core_a + core_b).isascii():
            replaced = [(x, y) for x, y in zip(core_a, core_b, strict=True) if x != y]
            assert len(replaced) != 1 or sound_alike(*replaced[0]) is not False, (a, b)
        # Registered in two places, only the same trade name.
        written = book.names[earlier], book.names[later]
        assert core_of(a) == core_of(b) or not registered_apart(*written), written
    # And no customer files more than the bound.
    assert max(Counter(item.customer for item in after).values()) <= MAX_PER_CUSTOMER
