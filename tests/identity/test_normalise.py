"""Tests of poolkit.identity.normalise: one canonical string per key, or InvalidKeyError."""

from __future__ import annotations

import string
import unicodedata

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from poolkit.errors import InvalidKeyError, InvalidValueError
from poolkit.identity import (
    KEY_KINDS,
    normalise_email,
    normalise_key,
    normalise_name,
    normalise_org_code,
    normalise_phone,
    normalise_uscc,
)
from poolkit.identity.normalise import registered_regions


def fullwidth(text: str) -> str:
    """The full-width form of ASCII text, as a Chinese input method types it."""
    return "".join(
        "\u3000" if ch == " " else chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text
    )


# --------------------------------------------------------------------------------------------
# Phone
# --------------------------------------------------------------------------------------------

MOBILE = "+8613800138000"


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "138 0013 8000",
        "+86 13800138000",
        "+8613800138000",
        "008613800138000",
        "0086 138 0013 8000",
        "8613800138000",
        "+86-138-0013-8000",
        "(+86) 138-0013-8000",
        "+86 (138) 0013 8000",
        "１３８００１３８０００",
        "＋８６ １３８ ００１３ ８０００",
        "  138.0013.8000  ",
        "tel:+86-138-0013-8000",
    ],
)
def test_phone_formats_of_one_mobile(raw: str) -> None:
    assert normalise_phone(raw) == MOBILE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(010) 6552 9988", "+861065529988"),
        ("010-65529988", "+861065529988"),
        ("+86 10 6552 9988", "+861065529988"),
        ("0755-8888 8888", "+8675588888888"),
        ("+86 (0)755 8888 8888", "+8675588888888"),
    ],
)
def test_phone_landlines(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "010-65529988 ext. 123",
        "010-65529988 x123",
        "010-65529988转123",
        "010-65529988 分机 123",
        "010-65529988#123",
        "+861065529988;ext=123",
        "010-65529988 分机：123",
        "010-65529988 ext: 123",
    ],
)
def test_phone_extension_is_kept(raw: str) -> None:
    assert normalise_phone(raw) == "+861065529988;ext=123"


@pytest.mark.parametrize(
    "raw", ["13800138000 ext", "13800138000 x", "13800138000#", "13800138000转"]
)
def test_phone_marker_without_extension_is_ignored(raw: str) -> None:
    assert normalise_phone(raw) == MOBILE


def test_phone_00_is_the_international_prefix_in_china() -> None:
    assert normalise_phone("0086 138 0013 8000", "CN") == MOBILE
    assert normalise_phone("00 1 202 456 1111", "CN") == "+12024561111"
    # From the US, 00 is not the international prefix (011 is), so 0086... is no number.
    with pytest.raises(InvalidKeyError):
        normalise_phone("008613800138000", "US")
    assert normalise_phone("011 86 138 0013 8000", "US") == MOBILE


def test_phone_default_region_reads_national_numbers() -> None:
    assert normalise_phone("(202) 456-1111", "US") == "+12024561111"
    assert normalise_phone("+86 138 0013 8000", "US") == MOBILE


def test_phone_unknown_default_region() -> None:
    with pytest.raises(InvalidValueError) as info:
        normalise_phone("13800138000", "XX")
    assert info.value.field == "default_region"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "12345",
        "1380013800",  # a digit short
        "138001380001",  # a digit long
        "0013800138000",  # 00 then country code 1 and a number that is not American
        "not a phone",
        "138OO138OOO",  # letter O for zero: phonenumbers would read it as a keypad 6
        "手机13800138000",
        "13800138000 / 13900139000",
        "13800138000机",
    ],
)
def test_phone_rejects(raw: str) -> None:
    with pytest.raises(InvalidKeyError) as info:
        normalise_phone(raw)
    assert info.value.kind == "phone"
    assert info.value.value == raw
    assert repr(raw) in str(info.value)


MOBILE_PREFIXES = [
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
    "150", "151", "152", "153", "155", "156", "157", "158", "159",
    "180", "181", "182", "183", "184", "185", "186", "187", "188", "189",
]  # fmt: skip


@st.composite
def cn_mobiles(draw: st.DrawFn) -> str:
    """Eleven national digits of a valid Chinese mobile number."""
    digits = draw(st.sampled_from(MOBILE_PREFIXES)) + draw(
        st.text(alphabet=string.digits, min_size=8, max_size=8)
    )
    assume(phonenumbers.is_valid_number(phonenumbers.parse("+86" + digits)))
    return digits


@st.composite
def formatted(draw: st.DrawFn, digits: str) -> str:
    """One way a person might write the mobile number ``digits``."""
    sep = draw(st.sampled_from(["", " ", "-", ".", "  "]))
    groups = [digits[:3], digits[3:7], digits[7:]]
    if draw(st.booleans()):
        groups[0] = f"({groups[0]})"
    body = sep.join(groups)
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "+86-", "0086", "0086 ", "(+86) ", "86"]))
    text = draw(st.sampled_from(["", " ", "\t"])) + prefix + body + draw(st.sampled_from(["", " "]))
    if draw(st.booleans()):
        text = fullwidth(text)
    return text


@given(st.data())
def test_phone_every_formatting_of_a_mobile_agrees(data: st.DataObject) -> None:
    digits = data.draw(cn_mobiles())
    raw = data.draw(formatted(digits))
    assert normalise_phone(raw) == "+86" + digits


@given(cn_mobiles(), cn_mobiles(), st.data())
def test_phone_different_numbers_never_agree(a: str, b: str, data: st.DataObject) -> None:
    assume(a != b)
    assert normalise_phone(data.draw(formatted(a))) != normalise_phone(data.draw(formatted(b)))


@given(st.data(), st.one_of(st.none(), st.text(alphabet=string.digits, min_size=1, max_size=5)))
def test_phone_idempotent_on_valid(data: st.DataObject, extension: str | None) -> None:
    raw = data.draw(formatted(data.draw(cn_mobiles())))
    if extension is not None:
        raw += f" ext. {extension}"
    once = normalise_phone(raw)
    assert normalise_phone(once) == once


@given(
    st.one_of(
        st.text(),
        st.text(alphabet="0123456789+-() .#x转０１２３４５６７８９", max_size=30),
    )
)
def test_phone_idempotent_on_any_text(raw: str) -> None:
    try:
        once = normalise_phone(raw)
    except InvalidKeyError:
        return
    assert normalise_phone(once) == once


def _outcome(raw: str, region: str) -> str:
    try:
        return normalise_phone(raw, region)
    except InvalidKeyError:
        return "refused"


@given(
    st.one_of(cn_mobiles(), st.text(alphabet="0123456789+-() ", max_size=24)),
    st.sampled_from(["CN", "US"]),
)
def test_phone_written_plainly_reads_as_any_other_way(raw: str, region: str) -> None:
    # Digits, spaces, +, - and brackets skip the clean-up of markers and full-width
    # characters; an ideographic space (which the clean-up folds and trims) takes it.
    assert _outcome(raw, region) == _outcome(raw + "\u3000", region)


# --------------------------------------------------------------------------------------------
# Unified social credit code
# --------------------------------------------------------------------------------------------

# Real codes, as published (Tencent Technology (Shenzhen), Sinopec, Baosteel...).
REAL_USCCS = [
    "91110000600037341L",
    "9144030071526726XG",
    "91110000710926094P",
    "91310000631696382C",
    "91420684MA4927PJ7B",
]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@pytest.mark.parametrize("code", REAL_USCCS)
def test_uscc_real_codes(code: str) -> None:
    assert normalise_uscc(code) == code
    assert normalise_uscc(code.lower()) == code
    assert normalise_uscc(fullwidth(code)) == code
    assert normalise_uscc(f" {code[:2]} {code[2:8]}-{code[8:17]}-{code[17]} ") == code


def test_uscc_letter_registering_authority() -> None:
    # GB 32100 allows A, N (rural collectives) and Y as the first character; stdnum does not.
    body = "N2440300MA5FXXXX0".replace("X", "0")
    code = body + stdnum_uscc.calc_check_digit(body)
    assert normalise_uscc(code) == code
    wrong = body + next(c for c in USCC_ALPHABET if c != code[-1])
    with pytest.raises(InvalidKeyError, match="check digit"):
        normalise_uscc(wrong)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "91110000600037341",  # 17 characters
        "91110000600037341LL",  # 19
        "91110000600037341A",  # wrong check digit
        "9111000O600037341L",  # letter O in the region code
        "91110000600O37341L",  # O is not in the alphabet
        "000000000000000000",  # all zeros: right check digit, no registering authority 0
        "B1110000600037341L",  # B is no registering authority
        "N1110000600037341L",  # a letter authority, but the check digit does not match
    ],
)
def test_uscc_rejects(raw: str) -> None:
    with pytest.raises(InvalidKeyError) as info:
        normalise_uscc(raw)
    assert info.value.kind == "uscc"
    assert info.value.value == raw


@st.composite
def usccs(draw: st.DrawFn) -> str:
    """A valid credit code, its check digit computed by stdnum."""
    body = (
        draw(st.sampled_from("123456789ANY"))
        + draw(st.sampled_from("123459"))
        + draw(st.text(alphabet=string.digits, min_size=6, max_size=6))
        + draw(st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9))
    )
    return body + stdnum_uscc.calc_check_digit(body)


@given(usccs())
def test_uscc_valid_codes_pass_and_are_idempotent(code: str) -> None:
    assert normalise_uscc(code) == code
    assert normalise_uscc(normalise_uscc(code.lower())) == code


@given(usccs(), st.sampled_from(USCC_ALPHABET))
def test_uscc_wrong_check_digit_is_refused(code: str, other: str) -> None:
    assume(other != code[-1])
    with pytest.raises(InvalidKeyError, match="check digit"):
        normalise_uscc(code[:-1] + other)


@given(st.one_of(st.text(), st.text(alphabet=USCC_ALPHABET + " -", min_size=17, max_size=20)))
def test_uscc_idempotent_on_any_text(raw: str) -> None:
    try:
        once = normalise_uscc(raw)
    except InvalidKeyError:
        return
    assert normalise_uscc(once) == once


# --------------------------------------------------------------------------------------------
# Organisation code (GB 11714)
# --------------------------------------------------------------------------------------------


def reference_org_check(body: str) -> str:
    """GB 11714-1997, written independently of the implementation under test."""
    values = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    total = sum(values.index(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    return "0123456789X0"[11 - total % 11]


@pytest.mark.parametrize("code", REAL_USCCS)
def test_org_code_embedded_in_real_credit_codes(code: str) -> None:
    # Characters 9-17 of a credit code are the old organisation code, with its own check digit:
    # real data that the GB 11714 implementation must accept.
    org = code[8:17]
    assert normalise_org_code(org) == org
    assert normalise_org_code(f"{org[:8]}-{org[8]}") == org


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("60003734-1", "600037341"),
        ("600037341", "600037341"),
        ("71526726-x", "71526726X"),
        ("７１５２６７２６－Ｘ", "71526726X"),
        (" 6000 3734 - 1 ", "600037341"),
    ],
)
def test_org_code_formats(raw: str, expected: str) -> None:
    assert normalise_org_code(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "60003734-2", "6000373-1", "600037341-1", "6000373!-1", "60003734-A", "00000000-0"],
)
def test_org_code_rejects(raw: str) -> None:
    with pytest.raises(InvalidKeyError) as info:
        normalise_org_code(raw)
    assert info.value.kind == "org_code"
    assert info.value.value == raw


org_bodies = st.text(
    alphabet=string.digits + string.ascii_uppercase, min_size=8, max_size=8
).filter(lambda b: b != "00000000")


@given(org_bodies, st.booleans())
def test_org_code_valid_codes_pass_and_are_idempotent(body: str, dashed: bool) -> None:
    code = body + reference_org_check(body)
    raw = f"{body}-{code[8]}" if dashed else code
    assert normalise_org_code(raw) == code
    assert normalise_org_code(normalise_org_code(raw.lower())) == code


@given(org_bodies, st.sampled_from("0123456789X"))
def test_org_code_wrong_check_digit_is_refused(body: str, check: str) -> None:
    assume(check != reference_org_check(body))
    with pytest.raises(InvalidKeyError, match="check digit"):
        normalise_org_code(body + check)


@given(st.text())
def test_org_code_idempotent_on_any_text(raw: str) -> None:
    try:
        once = normalise_org_code(raw)
    except InvalidKeyError:
        return
    assert normalise_org_code(once) == once


# --------------------------------------------------------------------------------------------
# Email
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("li.lei@qq.com", "li.lei@qq.com"),
        ("  Li.Lei@QQ.COM \n", "li.lei@qq.com"),
        ("li.lei+crm@Example.com", "li.lei+crm@example.com"),  # +tag kept
        ("lilei@gmail.com", "lilei@gmail.com"),  # dots are not stripped: li.lei is another
        ("ｔｅｓｔ＠ｑｑ．ｃｏｍ", "test@qq.com"),
        ("test@qq。com", "test@qq.com"),
        ("sales@example.com.", "sales@example.com"),
        ("info@例子.中国", "info@例子.中国"),
        ("info@xn--fsqu00a.xn--fiqs8s", "info@例子.中国"),
        ("o'brien@mail-server.example.org", "o'brien@mail-server.example.org"),
    ],
)
def test_email_formats(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


def test_email_dots_and_tags_are_distinct_addresses() -> None:
    assert normalise_email("li.lei@163.com") != normalise_email("lilei@163.com")
    assert normalise_email("lilei+a@163.com") != normalise_email("lilei@163.com")


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "lilei",
        "lilei@",
        "@qq.com",
        "li@lei@qq.com",
        "li lei@qq.com",
        "lilei@qq",
        "lilei@qq..com",
        "lilei@-qq.com",
        "lilei@qq_mail.com",
        "lilei@1.2.3.4",
        "lilei@[1.2.3.4]",
        ".lilei@qq.com",
        "li..lei@qq.com",
        '"li lei"@qq.com',
        "李雷@qq.com",
        "x" * 65 + "@qq.com",
    ],
)
def test_email_rejects(raw: str) -> None:
    with pytest.raises(InvalidKeyError) as info:
        normalise_email(raw)
    assert info.value.kind == "email"
    assert info.value.value == raw


local_parts = st.from_regex(r"[A-Za-z0-9_+\-]{1,10}(\.[A-Za-z0-9_+\-]{1,10}){0,2}", fullmatch=True)
labels = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9\-]{0,8}[A-Za-z0-9])?", fullmatch=True)
tlds = st.sampled_from(["com", "cn", "COM", "net", "org", "com.cn", "中国"])


@given(local_parts, st.lists(labels, min_size=1, max_size=3), tlds, st.booleans())
def test_email_valid_addresses_are_lower_case_and_idempotent(
    local: str, domain: list[str], tld: str, wide: bool
) -> None:
    raw = f"{local}@{'.'.join(domain)}.{tld}"
    if wide:
        raw = fullwidth(raw)
    once = normalise_email(raw)
    assert once == once.lower()
    assert normalise_email(once) == once
    assert normalise_email(raw.upper()) == once
    assert normalise_email(f"  {raw}\t") == once


@given(st.one_of(st.text(), st.text(alphabet="abcAB.@+-_中。 ", max_size=20)))
def test_email_idempotent_on_any_text(raw: str) -> None:
    try:
        once = normalise_email(raw)
    except InvalidKeyError:
        return
    assert normalise_email(once) == once


# --------------------------------------------------------------------------------------------
# Company name
# --------------------------------------------------------------------------------------------


def test_name_same_company_written_three_ways() -> None:
    assert normalise_name("深圳市某某科技有限公司") == "某某科技"
    assert normalise_name("某某科技（深圳）有限公司") == "某某科技"
    # The English name is a translation: no normalisation can turn 某某 into "moumou", so
    # cross-script matching is out of reach. It normalises on its own terms.
    assert normalise_name("Moumou Technology Co., Ltd.") == "moumou technology"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("某某科技(深圳)有限公司", "某某科技"),  # half-width brackets
        ("某某科技【深圳】有限公司", "某某科技"),
        ("某某科技（深圳市）有限公司", "某某科技"),
        ("深圳某某科技有限公司", "某某科技"),  # region without 市
        ("广东省深圳市某某科技股份有限公司", "某某科技"),
        ("广东某某科技有限责任公司", "某某科技"),
        ("内蒙古自治区某某乳业有限公司", "某某乳业"),
        ("某某科技集团有限公司", "某某科技"),
        ("某某科技集团", "某某科技"),
        ("某某科技（集团）股份有限公司", "某某科技"),
        ("某某（中国）投资有限公司", "某某投资"),
        ("某某律师事务所（特殊普通合伙）", "某某律师事务所"),
        ("某某科技（新材料）有限公司", "某某科技新材料"),  # unknown bracket content is kept
        ("某某 科技 有限公司", "某某科技"),
        ("ＡＢＣ科技有限公司", "abc科技"),
        ("北京银行股份有限公司", "北京银行"),  # the region is the trade name: kept
        ("上海银行股份有限公司", "上海银行"),
        ("中国银行股份有限公司", "中国银行"),
        ("Moumou Technology Co.,Ltd", "moumou technology"),
        ("MOUMOU TECHNOLOGY CO LTD", "moumou technology"),
        ("Moumou Technology (Shenzhen) Co., Ltd.", "moumou technology"),
        ("Shenzhen Moumou Technology Co., Ltd.", "moumou technology"),
        ("Moumou Technology (China) Limited", "moumou technology"),
        ("Hong Kong Moumou Trading Ltd", "moumou trading"),
        ("Shanghai Electric", "shanghai electric"),  # one word would remain: kept
        ("Acme, Inc.", "acme"),
        ("Acme LLC", "acme"),
        ("ACME Corporation", "acme"),
        ("Acme GmbH", "acme"),
        ("Société Générale S.A.", "société générale"),
        ("Straße AG", "strasse"),  # casefold: ß is ss
        ("Acme Group Holdings Corp.", "acme group holdings"),
        ("McDonald's", "mcdonalds"),
        ("Procter & Gamble", "procter gamble"),
        ("  Tesco  ", "tesco"),
        # Branches are kept whole: they must not collide with the head office or each other.
        ("某某科技有限公司深圳分公司", "某某科技有限公司深圳分公司"),
        ("深圳市某某科技有限公司北京分公司", "某某科技有限公司北京分公司"),
        ("Ａｃｍｅ　Ｉｎｃ．", "acme"),
    ],
)
def test_name_formats(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "   ", "有限公司", "股份有限公司", "（深圳）", "Co., Ltd.", "...", "Limited"]
)
def test_name_rejects_when_nothing_remains(raw: str) -> None:
    with pytest.raises(InvalidKeyError) as info:
        normalise_name(raw)
    assert info.value.kind == "name"
    assert info.value.value == raw


CITIES = ["深圳", "北京", "上海", "广州", "杭州", "成都", "武汉", "南京"]
TRADE_CHARS = "鑫泰达恒创远瑞博宏兴盛翔"
INDUSTRIES = ["科技", "贸易", "电子", "实业", "网络科技", "食品", "建筑工程"]
LEGAL_FORMS = ["有限公司", "股份有限公司", "有限责任公司", "集团有限公司", "公司"]


@given(
    st.sampled_from(CITIES),
    st.text(alphabet=TRADE_CHARS, min_size=2, max_size=4),
    st.sampled_from(INDUSTRIES),
    st.sampled_from(LEGAL_FORMS),
)
def test_name_city_prefix_and_bracketed_city_agree(
    city: str, trade: str, industry: str, legal: str
) -> None:
    expected = trade + industry
    assert normalise_name(f"{city}市{trade}{industry}{legal}") == expected
    assert normalise_name(f"{city}{trade}{industry}{legal}") == expected
    assert normalise_name(f"{trade}{industry}（{city}）{legal}") == expected
    assert normalise_name(f"{trade}{industry}({city}){legal}") == expected


company_names = st.builds(
    "".join,
    st.tuples(
        st.sampled_from(["", "深圳市", "广东省", "北京", "Shenzhen "]),
        st.text(alphabet=TRADE_CHARS + "abc XYZ&.,'", min_size=1, max_size=8),
        st.sampled_from(["", "科技", " Technology"]),
        st.sampled_from(["", "（深圳）", "(Beijing)", "（集团）", "(新材料)"]),
        st.sampled_from(["", "有限公司", " Co., Ltd.", " Inc.", "集团", " Limited"]),
    ),
)


@given(st.one_of(company_names, st.text()))
def test_name_idempotent(raw: str) -> None:
    try:
        once = normalise_name(raw)
    except InvalidKeyError:
        return
    assert once
    assert normalise_name(once) == once


def _clean_each(text: str) -> str:
    """The cleaning step's rule, a character at a time (as it was written first)."""
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in "'’‘ʼ`´" or (category[0] == "C" and not ch.isspace()):
            continue
        out.append(" " if ch.isspace() or category[0] in "PSZ" else ch)
    return "".join(out)


@given(st.one_of(company_names, st.text()))
def test_name_steps_agree_with_their_plain_rules(raw: str) -> None:
    # The steps look things up (a table of characters, the regions by length, the legal
    # forms' last characters) to be quick; the answers are the plain rules'.
    from poolkit.identity import normalise as steps

    assert steps._clean_characters(raw) == _clean_each(raw)
    regions = sorted(steps._CJK_REGIONS, key=len, reverse=True)
    region = next((r for r in regions if raw.startswith(r)), None)
    dropped, kept = steps._split_region_prefix(raw)
    if region is None:
        assert (dropped, kept) == ("", raw) or (
            dropped in steps._LATIN_REGIONS
            and kept in (" ".join(raw.split(" ")[1:]), " ".join(raw.split(" ")[2:]))
        )
    else:
        rest = raw[len(region) :].lstrip()
        if len(rest.replace(" ", "")) >= 4:
            assert (dropped, kept) == (region, rest)
        else:
            assert (dropped, kept) == ("", raw)
    if not raw.endswith("分公司") and not raw.endswith(steps._CJK_LEGAL_SUFFIXES):
        assert steps._strip_legal_suffix(raw) == steps._LATIN_LEGAL_SUFFIX.sub("", raw).rstrip()


def test_name_cleaning_past_its_table_of_characters() -> None:
    from poolkit.identity import normalise as steps

    text = "".join(chr(code) for code in range(0x4E00, 0x4E00 + steps._CLEAN_TABLE_SIZE + 10))
    assert steps._clean_characters(text) == _clean_each(text)
    assert len(steps._CLEAN_TABLE) <= steps._CLEAN_TABLE_SIZE
    assert steps._clean_characters("Li's  Co.,\u200bLtd\x00") == _clean_each(
        "Li's  Co.,\u200bLtd\x00"
    )


# --------------------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------------------


def test_key_kinds() -> None:
    assert frozenset({"phone", "uscc", "org_code", "email", "name"}) == KEY_KINDS


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("phone", "138 0013 8000", MOBILE),
        ("uscc", "91110000600037341l", "91110000600037341L"),
        ("org_code", "60003734-1", "600037341"),
        ("email", "Li.Lei@QQ.com", "li.lei@qq.com"),
        ("name", "深圳市某某科技有限公司", "某某科技"),
    ],
)
def test_normalise_key_dispatches(kind: str, raw: str, expected: str) -> None:
    assert normalise_key(kind, raw) == expected


def test_normalise_key_passes_the_region_to_phones() -> None:
    assert normalise_key("phone", "(202) 456-1111", default_region="US") == "+12024561111"


def test_normalise_key_unknown_kind() -> None:
    with pytest.raises(InvalidKeyError) as info:
        normalise_key("fax", "123")
    assert info.value.kind == "fax"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "written", ["Hangzhou Tea Co.", "Hangzhou Tea Co., Ltd.", "HANGZHOU TEA LTD"]
)
def test_how_many_legal_form_words_follow_does_not_decide_the_region(written: str) -> None:
    # Found by the identity benchmark: "Co., Ltd." used to leave one word after the city
    # in one pass and strip the city, so "hangzhou tea" and "tea" never matched.
    assert normalise_name(written) == "hangzhou tea"


def test_traditional_and_simplified_names_normalise_alike_with_the_hanzi_extra() -> None:
    pytest.importorskip("opencc")
    from poolkit.identity.normalise import SIMPLIFIES_CHINESE

    assert SIMPLIFIES_CHINESE
    assert normalise_name("臺灣國際貿易股份有限公司") == normalise_name("台湾国际贸易股份有限公司")
    assert normalise_name("廣州某某科技有限公司") == normalise_name("某某科技（广州）有限公司")


@pytest.mark.parametrize(
    ("raw", "regions"),
    [
        ("深圳市华强科技有限公司", {"深圳", "广东"}),
        ("广东省深圳市华强科技有限公司", {"深圳", "广东"}),
        ("华强科技（深圳）有限公司", {"深圳", "广东"}),
        ("广西壮族自治区南宁市某某科技有限公司", {"南宁", "广西"}),
        ("义乌市小商品贸易有限公司", {"义乌", "金华", "浙江"}),
        ("上海恒达物流有限公司", {"上海"}),
        ("北京银行", set()),  # the region stays: it is the trade name
        ("华强科技有限公司", set()),
        ("某某（中国）有限公司", set()),  # 中国 is no place of registration
        ("Shanghai Acme Trading Co., Ltd.", set()),  # Latin region words are not counted
        ("华强科技有限公司北京分公司", set()),  # a branch's city is kept in its name
    ],
)
def test_registered_regions(raw: str, regions: set[str]) -> None:
    assert registered_regions(raw) == regions


def test_every_city_lies_in_a_region_the_names_know() -> None:
    # A city added to the list without its province would make 广东省某某 and 新城市某某
    # look registered apart.
    from poolkit.identity import normalise as steps

    municipalities = {"北京", "天津", "上海", "重庆"}
    bases = set(steps._REGION_BASES.values())
    assert set(steps._REGION_BASES) == steps._CJK_REGIONS
    for city in steps._MUNICIPALITIES_AND_CITIES:
        assert (city in steps._PARENT_REGION) != (city in municipalities), city
    assert set(steps._PARENT_REGION.values()) <= bases


@given(st.one_of(company_names, st.text()))
def test_registered_regions_hold_the_regions_they_lie_in(raw: str) -> None:
    from poolkit.identity import normalise as steps

    regions = registered_regions(raw)
    assert regions <= set(steps._REGION_BASES.values())
    for region in regions:
        parent = steps._PARENT_REGION.get(region)
        assert parent is None or parent in regions
