"""Tests of poolkit.identity.similarity: fuzzy name scores and blocking keys."""

from __future__ import annotations

import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from poolkit.errors import InvalidKeyError
from poolkit.identity import blocking_keys, name_similarity, normalise_name


def test_same_company_scores_100() -> None:
    assert name_similarity("深圳市某某科技有限公司", "某某科技（深圳）有限公司") == 100
    assert name_similarity("Moumou Technology Co., Ltd.", "MOUMOU TECHNOLOGY LIMITED") == 100


def test_translation_is_not_matched() -> None:
    # Cross-script matching (某某 vs Moumou) is out of reach of string similarity.
    assert name_similarity("某某科技有限公司", "Moumou Technology Co., Ltd.") == 0


def test_reordered_latin_words_score_100() -> None:
    assert name_similarity("Technology Moumou", "Moumou Technology") == 100


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("深圳市腾讯计算机系统有限公司", "深圳市腾迅计算机系统有限公司"),  # 讯 / 迅 typo
        ("Moumou Technology Co., Ltd.", "Moumuo Technology Co., Ltd."),
        ("Moumou Technology", "Moumou Technologies"),
        ("北京字节跳动网络技术有限公司", "北京字节跳动网络科技有限公司"),
    ],
)
def test_near_duplicates_score_high(a: str, b: str) -> None:
    assert name_similarity(a, b) >= 85
    assert blocking_keys(a) & blocking_keys(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("华为技术有限公司", "小米科技有限责任公司"),
        ("Moumou Technology", "Acme Trading"),
        ("北京银行股份有限公司", "上海银行股份有限公司"),
        ("华为", "华为技术"),  # a name contained in a longer one is not a duplicate
    ],
)
def test_different_companies_score_below_85(a: str, b: str) -> None:
    assert name_similarity(a, b) < 85


def test_invalid_name_raises() -> None:
    with pytest.raises(InvalidKeyError):
        name_similarity("有限公司", "某某科技")
    with pytest.raises(InvalidKeyError):
        blocking_keys("Co., Ltd.")


def test_blocking_keys_of_a_chinese_name() -> None:
    assert blocking_keys("深圳市某某科技有限公司") == {
        "^某某科",
        "$某科技",
        "^某某",
        "$科技",
        "b:某某",
        "b:某科",
        "b:科技",
    }


def test_blocking_keys_of_a_latin_name() -> None:
    assert blocking_keys("Moumou Technology Co., Ltd.") == {
        "^mou",
        "$ogy",
        "w:moumou",
        "p:mou",
        "w:technology",
        "p:tec",
    }


def test_blocking_keys_agree_across_spellings_of_one_name() -> None:
    assert blocking_keys("深圳市某某科技有限公司") == blocking_keys("某某科技（深圳）有限公司")


NAME_ALPHABET = "某华鑫泰达恒创远瑞博宏兴盛翔科技电子贸易" + string.ascii_lowercase[:12] + " "
names = st.text(alphabet=NAME_ALPHABET, min_size=4, max_size=24)


@st.composite
def one_edit(draw: st.DrawFn, text: str) -> str:
    """``text`` with one character inserted, deleted or substituted."""
    op = draw(st.sampled_from(["insert", "delete", "substitute"]))
    if op == "insert":
        i = draw(st.integers(0, len(text)))
        return text[:i] + draw(st.sampled_from(NAME_ALPHABET)) + text[i:]
    i = draw(st.integers(0, len(text) - 1))
    if op == "delete":
        return text[:i] + text[i + 1 :]
    return text[:i] + draw(st.sampled_from(NAME_ALPHABET)) + text[i + 1 :]


@given(names, st.data())
def test_one_edit_apart_and_similar_means_a_shared_blocking_key(
    raw: str, data: st.DataObject
) -> None:
    try:
        a = normalise_name(raw)
    except InvalidKeyError:
        assume(False)
        raise
    assume(len(a) >= 4)
    edited = data.draw(one_edit(a))
    try:
        b = normalise_name(edited)
    except InvalidKeyError:
        assume(False)
        raise
    if name_similarity(a, b) >= 85:
        assert blocking_keys(a) & blocking_keys(b), (a, b)


@given(names, names)
def test_similarity_is_symmetric_and_bounded(a: str, b: str) -> None:
    try:
        score = name_similarity(a, b)
    except InvalidKeyError:
        return
    assert 0 <= score <= 100
    assert score == name_similarity(b, a)
    assert name_similarity(a, a) == 100


@given(names)
def test_blocking_keys_are_stable_under_normalisation(raw: str) -> None:
    try:
        keys = blocking_keys(raw)
    except InvalidKeyError:
        return
    assert keys
    assert blocking_keys(normalise_name(raw)) == keys
