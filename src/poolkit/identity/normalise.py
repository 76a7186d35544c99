"""Normalise identity keys (phone, credit code, organisation code, email, company name).

Every function here is pure: it takes the text a person typed and returns one canonical
string, or raises :class:`~poolkit.errors.InvalidKeyError` naming the input. Two inputs that
denote the same key normalise to the same string, and every normaliser is idempotent
(``f(f(x)) == f(x)``), so a stored key can be normalised again without harm.

The parsing is done by maintained libraries: ``phonenumbers`` for phones, ``python-stdnum``
for the unified social credit code. The organisation code (GB 11714) has no stdnum module,
so its check digit is computed here (see :func:`_org_code_check_digit`).
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Callable

import phonenumbers
from stdnum.cn import uscc as _stdnum_uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

from poolkit.errors import InvalidKeyError, InvalidValueError

__all__ = [
    "KEY_KINDS",
    "SIMPLIFIES_CHINESE",
    "normalise_email",
    "normalise_key",
    "normalise_name",
    "normalise_org_code",
    "normalise_phone",
    "normalise_uscc",
    "registered_regions",
]

KEY_KINDS: frozenset[str] = frozenset({"phone", "uscc", "org_code", "email", "name"})


def _nfkc(text: str) -> str:
    """NFKC: full-width letters, digits and punctuation become their ASCII forms."""
    return unicodedata.normalize("NFKC", text)


# --------------------------------------------------------------------------------------------
# Phone
# --------------------------------------------------------------------------------------------

_LETTER = r"[^\W\d_]"
# Words that announce an extension. They are the only letters a phone may contain: any other
# letter is refused, because phonenumbers would read it as a vanity letter on a keypad
# ("138OO138OOO" with the letter O would silently become the valid, different, +8613866138666).
_EXTENSION_MARKERS = re.compile(
    rf";ext=|(?<!{_LETTER})(?:extension|extn|ext|x)(?!{_LETTER})\.?|#|转|分机",
    re.IGNORECASE,
)
_TEL_SCHEME = re.compile(r"^\s*tel:", re.IGNORECASE)
# Chinese writes an extension as 转 ("transfer to") or 分机 ("extension"); phonenumbers does not
# know these words, so they are rewritten to one it knows.
_CHINESE_EXTENSION = re.compile(r"\s*(?:转|分机)[\s:]*")
# A marker with no extension after it ("13800138000 ext") would otherwise be read as letters.
_DANGLING_EXTENSION = re.compile(
    rf"(?<!{_LETTER})(?:extension|extn|ext|x)\.?[\s:]*$|(?:#|转|分机|:|\s)+$", re.IGNORECASE
)

# A number written with ASCII digits, spaces, +, - and brackets only.
_PLAIN_PHONE = re.compile(r"[0-9 +()\-]*")


def normalise_phone(raw: str, default_region: str = "CN") -> str:
    """Return the phone number in E.164 (``+8613800138000``), extension as ``;ext=123``.

    ``default_region`` (ISO 3166 code) says how to read a number written without ``+``:
    with ``"CN"``, ``138 0013 8000``, ``(010) 6552 9988`` and ``0086 138 0013 8000`` (``00`` is
    China's international prefix) are all understood. Numbers that phonenumbers cannot parse
    or does not consider valid for their region are refused.
    """
    if default_region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidValueError(
            "default_region", f"{default_region!r} is not a region phonenumbers knows"
        )
    if _PLAIN_PHONE.fullmatch(raw):
        # Digits, spaces, +, - and brackets only (most numbers): NFKC keeps them, and no
        # extension marker, scheme or letter can be among them.
        text = without_markers = raw.strip()
    else:
        text = _DANGLING_EXTENSION.sub("", _nfkc(raw).strip())
        text = _CHINESE_EXTENSION.sub(" ext. ", text)
        without_markers = _EXTENSION_MARKERS.sub(" ", _TEL_SCHEME.sub("", text))
    if any(ch.isalpha() for ch in without_markers):
        raise InvalidKeyError(
            "phone", raw, "contains letters (only an extension marker such as 'ext' is allowed)"
        )
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidKeyError("phone", raw, str(exc)) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidKeyError(
            "phone", raw, "not a valid number (wrong length or unallocated prefix)"
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if number.extension:
        return f"{e164};ext={number.extension}"
    return e164


# --------------------------------------------------------------------------------------------
# Unified social credit code (统一社会信用代码, GB 32100-2015)
# --------------------------------------------------------------------------------------------

# The characters GB 32100 uses: digits and capitals except I, O, Z, S, V.
_USCC_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPQRTUWXY")
# First character, the registering authority: 1-9 (机构编制, 外交, 司法行政, 文化, 民政, 旅游,
# 宗教, 工会, 工商), A (中央军委改革和编制办公室), N (农业: rural collective economic
# organisations) and Y (其他). stdnum.cn.uscc only accepts digits there, so the three letter
# authorities are checked here, still with stdnum's check-digit function.
_USCC_LETTER_AUTHORITIES = frozenset("ANY")


def normalise_uscc(raw: str) -> str:
    """Return the 18-character unified social credit code, upper-case, check digit verified.

    Spaces and dashes are dropped and full-width characters are folded, so
    ``９１１１０００ ０６０００３７３４１ｌ`` gives ``91110000600037341L``.
    """
    code = _stdnum_uscc.compact(_nfkc(raw))
    if len(code) != 18:
        raise InvalidKeyError("uscc", raw, f"has {len(code)} characters, needs 18")
    authority = code[0]
    if authority in _USCC_LETTER_AUTHORITIES:
        if not code[1:8].isdigit() or not code[1:8].isascii():
            raise InvalidKeyError("uscc", raw, "characters 2-8 must be digits")
        if any(ch not in _USCC_ALPHABET for ch in code[8:]):
            raise InvalidKeyError(
                "uscc", raw, "characters 9-18 must be digits or capitals other than I O Z S V"
            )
        if _stdnum_uscc.calc_check_digit(code) != code[-1]:
            raise InvalidKeyError("uscc", raw, "wrong check digit")
        return code
    if authority not in "123456789":
        raise InvalidKeyError(
            "uscc", raw, "the first character (registering authority) must be 1-9, A, N or Y"
        )
    try:
        return str(_stdnum_uscc.validate(code))
    except InvalidChecksum as exc:
        raise InvalidKeyError("uscc", raw, "wrong check digit") from exc
    except InvalidLength as exc:  # pragma: no cover - the length was checked above
        raise InvalidKeyError("uscc", raw, "wrong length") from exc
    except InvalidFormat as exc:
        raise InvalidKeyError(
            "uscc",
            raw,
            "characters 1-8 must be digits and 9-18 digits or capitals other than I O Z S V",
        ) from exc
    except ValidationError as exc:  # pragma: no cover - any other stdnum refusal
        raise InvalidKeyError("uscc", raw, str(exc)) from exc


# --------------------------------------------------------------------------------------------
# Organisation code (组织机构代码, GB 11714-1997)
# --------------------------------------------------------------------------------------------

_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CODE_BODY = re.compile(r"[0-9A-Z]{8}")


def _org_code_char_value(ch: str) -> int:
    """GB 11714 value of a body character: digits are themselves, A=10 ... Z=35."""
    return int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10


def _org_code_check_digit(body: str) -> str:
    """Check digit of an 8-character organisation-code body, per GB 11714-1997.

    python-stdnum has no module for this code, so it is implemented here. The rule:
    C9 = 11 - (sum of value(Ci) * Wi, i = 1..8, mod 11), with weights 3 7 9 10 5 8 4 2;
    C9 = 10 is written ``X`` and C9 = 11 is written ``0``. Checked against real codes,
    e.g. the organisation code 60003734-1 embedded in the credit code 91110000600037341L.
    """
    total = sum(_org_code_char_value(c) * w for c, w in zip(body, _ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 10:
        return "X"
    if check == 11:
        return "0"
    return str(check)


def normalise_org_code(raw: str) -> str:
    """Return the 9-character organisation code without its dash, e.g. ``600037341``.

    The certificate prints ``60003734-1``; the canonical form drops the dash because it is
    then exactly characters 9-17 of the unified social credit code that replaced it, so a
    store can compare the two. Spaces and dashes are ignored, full-width characters folded,
    a lower-case ``x`` check digit accepted. The all-zero placeholder is refused (its check
    digit happens to be right, and it would make every placeholder collide).
    """
    code = re.sub(r"[\s\-]", "", _nfkc(raw)).upper()
    if len(code) != 9:
        raise InvalidKeyError("org_code", raw, f"has {len(code)} characters, needs 9")
    body, check = code[:8], code[8]
    if not _ORG_CODE_BODY.fullmatch(body):
        raise InvalidKeyError("org_code", raw, "the first 8 characters must be digits or capitals")
    if check not in "0123456789X":
        raise InvalidKeyError("org_code", raw, "the check digit must be 0-9 or X")
    if body == "00000000":
        raise InvalidKeyError("org_code", raw, "all-zero placeholder")
    if _org_code_check_digit(body) != check:
        raise InvalidKeyError("org_code", raw, "wrong check digit")
    return code


# --------------------------------------------------------------------------------------------
# Email
# --------------------------------------------------------------------------------------------

# RFC 5322 "atext": what an unquoted local part may hold besides letters and digits.
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*")
_ASCII_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


def normalise_email(raw: str) -> str:
    """Return the address trimmed, with full-width characters folded and both parts lower-case.

    Lower-casing the local part is a deliberate choice. RFC 5321 lets a server treat
    ``Li.Lei`` and ``li.lei`` as different mailboxes, but the providers customers use
    (QQ, 163/126, Aliyun, Gmail, Outlook, Yahoo, corporate Exchange) all ignore case, and two
    CRM records differing only in case are the same person far more often than not.
    Dots and ``+tags`` are kept: ignoring them is Gmail-specific, and on other providers
    ``a.b@`` and ``ab@`` are different people.

    The domain is run through IDNA (``xn--`` labels become Unicode, ``。`` is a dot), and a
    trailing dot is dropped. Refused: no ``@`` or several, quoted local parts, non-ASCII
    local parts, domains without a dot, IP-literal domains.
    """
    text = _nfkc(raw).strip()
    if not text:
        raise InvalidKeyError("email", raw, "empty")
    if any(ch.isspace() for ch in text):
        raise InvalidKeyError("email", raw, "contains whitespace")
    if text.count("@") != 1:
        raise InvalidKeyError("email", raw, "needs exactly one '@'")
    local, domain = text.split("@")
    if not local or len(local) > 64:
        raise InvalidKeyError("email", raw, "the part before '@' must have 1 to 64 characters")
    if not local.isascii() or not _LOCAL_PART.fullmatch(local):
        raise InvalidKeyError(
            "email", raw, "the part before '@' has a character or dot that is not allowed"
        )
    return f"{local.lower()}@{_normalise_domain(raw, domain)}"


def _normalise_domain(raw: str, domain: str) -> str:
    domain = domain.replace("。", ".")
    if domain.endswith("."):
        domain = domain[:-1]
    if not domain or len(domain) > 253:
        raise InvalidKeyError("email", raw, "the domain must have 1 to 253 characters")
    try:
        # The stdlib IDNA codec (IDNA 2003, nameprep): Unicode labels are case-folded and
        # checked; decoding turns xn-- labels back into Unicode, so both spellings agree.
        domain = domain.encode("idna").decode("idna").lower()
    except UnicodeError as exc:
        raise InvalidKeyError("email", raw, f"bad domain: {exc}") from exc
    labels = domain.split(".")
    if len(labels) < 2:
        raise InvalidKeyError("email", raw, "the domain needs a dot (e.g. example.com)")
    for label in labels:
        ascii_ok = label.isascii() and _ASCII_LABEL.fullmatch(label) is not None
        unicode_ok = (
            not label.isascii()
            and not label.startswith("-")
            and not label.endswith("-")
            and all(ch == "-" or ch.isalnum() or unicodedata.category(ch)[0] == "M" for ch in label)
        )
        if not (ascii_ok or unicode_ok) or len(label) > 63:
            raise InvalidKeyError("email", raw, f"bad domain label {label!r}")
    if labels[-1].isdigit():
        raise InvalidKeyError("email", raw, "the top-level domain cannot be numeric")
    return domain


# --------------------------------------------------------------------------------------------
# Company name
# --------------------------------------------------------------------------------------------

# Legal forms, dropped from the end of a name (repeatedly). Chinese forms are matched as a
# plain suffix; 集团 ("group") is dropped too, so 某某集团 and 某某集团有限公司 agree.
_CJK_LEGAL_SUFFIXES: tuple[str, ...] = tuple(
    sorted(
        {
            "集团股份有限公司",
            "股份有限公司",
            "有限责任公司",
            "责任有限公司",
            "集团有限公司",
            "有限公司",
            "股份公司",
            "集团公司",
            "公司",
            "集团",
        },
        key=len,
        reverse=True,
    )
)
# Latin legal forms, as whole words once punctuation is gone ("Co.,Ltd" -> "co ltd").
_LATIN_LEGAL_WORDS: tuple[str, ...] = (
    "co",
    "company",
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "llc",
    "l l c",
    "llp",
    "lp",
    "corp",
    "corporation",
    "gmbh",
    "ag",
    "plc",
    "pte",
    "pty",
    "sa",
    "s a",
    "sarl",
    "s a r l",
    "bv",
    "b v",
    "nv",
    "n v",
    "group",
)
# A branch (某某科技有限公司深圳分公司) is kept whole: it is registered on its own, and the
# Shenzhen and Beijing branches of one company are often different customers of different
# reps, so a branch must not collide with its head office or with another branch.
_BRANCH = "分公司"
# Parenthesised contents that are a legal form rather than part of the name.
_PAREN_LEGAL_FORMS = frozenset(
    {"集团", "股份", "普通合伙", "特殊普通合伙", "有限合伙", "group", "holdings"}
)

# Provinces and provincial-level municipalities / regions, and major cities. Each may appear
# bare or with its administrative suffix (省, 市, 自治区, 特别行政区).
_PROVINCES = (
    "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西", "山东",
    "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海",
    "台湾",
)  # fmt: skip
_MUNICIPALITIES_AND_CITIES = (
    "北京", "天津", "上海", "重庆",
    "深圳", "广州", "杭州", "南京", "苏州", "成都", "武汉", "西安", "长沙", "郑州", "青岛",
    "宁波", "厦门", "大连", "沈阳", "济南", "合肥", "福州", "东莞", "佛山", "无锡", "昆明",
    "哈尔滨", "长春", "石家庄", "太原", "南昌", "南宁", "贵阳", "兰州", "海口", "三亚",
    "珠海", "中山", "惠州", "温州", "常州", "烟台", "泉州", "嘉兴", "绍兴", "金华", "台州",
    "徐州", "南通", "扬州", "洛阳", "呼和浩特", "乌鲁木齐", "拉萨", "银川", "西宁", "唐山",
    "保定", "潍坊", "汕头", "江门", "义乌", "昆山",
)  # fmt: skip
_AUTONOMOUS_REGIONS = {
    "内蒙古": "内蒙古自治区",
    "广西": "广西壮族自治区",
    "西藏": "西藏自治区",
    "宁夏": "宁夏回族自治区",
    "新疆": "新疆维吾尔自治区",
}
_SPECIAL_REGIONS = ("香港", "澳门")


def _cjk_region_forms() -> frozenset[str]:
    forms: set[str] = set()
    for p in _PROVINCES:
        forms |= {p, p + "省"}
    for c in _MUNICIPALITIES_AND_CITIES:
        forms |= {c, c + "市"}
    for short, full in _AUTONOMOUS_REGIONS.items():
        forms |= {short, full, short + "自治区"}
    for s in _SPECIAL_REGIONS:
        forms |= {s, s + "特别行政区"}
    return frozenset(forms)


_CJK_REGIONS = _cjk_region_forms()
_REGION_SUFFIXES = frozenset(
    {"省", "市", "自治区", "特别行政区", "壮族自治区", "回族自治区", "维吾尔自治区"}
)
# Each form of a region (深圳市, 广东省, 广西壮族自治区) to its bare name (深圳, 广东, 广西).
_REGION_BASES: dict[str, str] = {
    form: base
    for base in (*_PROVINCES, *_MUNICIPALITIES_AND_CITIES, *_AUTONOMOUS_REGIONS, *_SPECIAL_REGIONS)
    for form in (base, *(base + suffix for suffix in _REGION_SUFFIXES))
    if form in _CJK_REGIONS
}
# The region each city lies in (its province, or the prefecture of a county-level city):
# a company registered in 广东 may also be written as one of 深圳, but not as one of 南京.
# The four municipalities and the two special regions are provinces of their own.
_PARENT_REGION = {
    "深圳": "广东", "广州": "广东", "东莞": "广东", "佛山": "广东", "珠海": "广东",
    "中山": "广东", "惠州": "广东", "汕头": "广东", "江门": "广东",
    "杭州": "浙江", "宁波": "浙江", "温州": "浙江", "嘉兴": "浙江", "绍兴": "浙江",
    "金华": "浙江", "台州": "浙江", "义乌": "金华",
    "南京": "江苏", "苏州": "江苏", "无锡": "江苏", "常州": "江苏", "徐州": "江苏",
    "南通": "江苏", "扬州": "江苏", "昆山": "苏州",
    "成都": "四川", "武汉": "湖北", "西安": "陕西", "长沙": "湖南", "郑州": "河南",
    "洛阳": "河南", "青岛": "山东", "济南": "山东", "烟台": "山东", "潍坊": "山东",
    "厦门": "福建", "福州": "福建", "泉州": "福建", "大连": "辽宁", "沈阳": "辽宁",
    "合肥": "安徽", "昆明": "云南", "哈尔滨": "黑龙江", "长春": "吉林", "石家庄": "河北",
    "唐山": "河北", "保定": "河北", "太原": "山西", "南昌": "江西", "南宁": "广西",
    "贵阳": "贵州", "兰州": "甘肃", "海口": "海南", "三亚": "海南", "呼和浩特": "内蒙古",
    "乌鲁木齐": "新疆", "拉萨": "西藏", "银川": "宁夏", "西宁": "青海",
}  # fmt: skip
# The lengths of the regions, longest first, so 内蒙古自治区 wins over 内蒙古 and 黑龙江省
# over 黑龙江 (a name starts with at most one region of each length).
_CJK_REGION_SIZES: tuple[int, ...] = tuple(sorted({len(r) for r in _CJK_REGIONS}, reverse=True))
_LATIN_REGIONS = frozenset(
    {
        "beijing", "tianjin", "shanghai", "chongqing", "shenzhen", "guangzhou", "hangzhou",
        "nanjing", "suzhou", "chengdu", "wuhan", "xian", "changsha", "zhengzhou", "qingdao",
        "ningbo", "xiamen", "dalian", "shenyang", "jinan", "hefei", "fuzhou", "dongguan",
        "foshan", "wuxi", "kunming", "harbin", "changchun", "shijiazhuang", "taiyuan",
        "nanchang", "nanning", "guiyang", "lanzhou", "haikou", "sanya", "zhuhai", "zhongshan",
        "huizhou", "wenzhou", "changzhou", "yantai", "quanzhou", "jiaxing", "shaoxing",
        "jinhua", "taizhou", "xuzhou", "nantong", "yangzhou", "luoyang", "hohhot", "urumqi",
        "lhasa", "yinchuan", "xining", "tangshan", "baoding", "weifang", "shantou",
        "jiangmen", "yiwu", "kunshan",
        "hebei", "shanxi", "shaanxi", "liaoning", "jilin", "heilongjiang", "jiangsu",
        "zhejiang", "anhui", "fujian", "jiangxi", "shandong", "henan", "hubei", "hunan",
        "guangdong", "hainan", "sichuan", "guizhou", "yunnan", "gansu", "qinghai", "taiwan",
        "innermongolia", "guangxi", "tibet", "xizang", "ningxia", "xinjiang",
        "hongkong", "hk", "macau", "macao",
    }
)  # fmt: skip
# Only inside brackets: 某某（中国）有限公司 is the usual form of a foreign-owned subsidiary,
# while 中国 at the front is part of the name (中国银行).
_PAREN_ONLY_REGIONS = frozenset({"中国", "china", "prc"})

# A leading region is dropped only when this much name remains, so that a name whose trade
# name *is* the region survives: 北京银行 (Bank of Beijing) stays, and is not confused with
# 上海银行. A Chinese company name is region + trade name (2+ characters) + industry
# (2+ characters) + legal form, hence 4 characters.
_MIN_CJK_REMAINDER = 4
_MIN_LATIN_REMAINDER_WORDS = 2

_APOSTROPHES = frozenset("'’‘ʼ`´")
_BRACKETED = re.compile(r"[(\[【]([^()\[\]【】]*)[)\]】]")
_LATIN_LEGAL_SUFFIX = re.compile(
    r"(?:^|(?<=\s)|(?<=[\u2e80-\u9fff\uf900-\ufaff]))(?:"
    + "|".join(re.escape(w) for w in sorted(_LATIN_LEGAL_WORDS, key=len, reverse=True))
    + r")$"
)


# The last characters of the Latin legal forms ("\n" too: ``$`` matches before a final one).
_LATIN_LEGAL_ENDS = frozenset({word[-1] for word in _LATIN_LEGAL_WORDS} | {"\n"})


# The same characters as a regular expression's class, for matching them in C.
_CJK_CLASS = "\u2e80-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"


def _is_cjk(ch: str) -> bool:
    """Whether ``ch`` is a Chinese/Japanese character (written without spaces between words)."""
    cp = ord(ch)
    return 0x2E80 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x3FFFF


def _drop_bracketed_region(match: re.Match[str], dropped: list[str] | None = None) -> str:
    inner = match.group(1)
    key = re.sub(r"[\W_]+", "", inner)
    if key in _CJK_REGIONS or key in _LATIN_REGIONS or key in _PAREN_ONLY_REGIONS:
        if dropped is not None:
            dropped.append(key)
        return " "
    if key in _PAREN_LEGAL_FORMS:
        return " "
    return f" {inner} "


def _cleaned(ch: str) -> str | None:
    """What :func:`_clean_characters` makes of ``ch``: a space, itself, or None (dropped)."""
    if ch in _APOSTROPHES:
        return None
    category = unicodedata.category(ch)
    if ch.isspace() or category[0] in "PSZ":
        return " "
    if category[0] == "C":
        return None
    return ch


class _CleanTable(dict[int, str | None]):
    """:func:`_cleaned` of each character, worked out the first time it is met, for
    ``str.translate`` (which then goes through a name in C, not a Python step a character).
    Remembers at most :data:`_CLEAN_TABLE_SIZE` characters."""

    def __missing__(self, code: int) -> str | None:
        out = _cleaned(chr(code))
        if len(self) < _CLEAN_TABLE_SIZE:
            self[code] = out
        return out


_CLEAN_TABLE_SIZE = 1 << 16
_CLEAN_TABLE = _CleanTable()


def _clean_characters(text: str) -> str:
    """Punctuation, symbols and separators become spaces; apostrophes and controls vanish."""
    return text.translate(_CLEAN_TABLE)


def _join_words(text: str) -> str:
    """Collapse whitespace to one space, and drop it next to a Chinese character."""
    result = ""
    for word in text.split():
        if result and not _is_cjk(result[-1]) and not _is_cjk(word[0]):
            result += " "
        result += word
    return result


def _strip_legal_suffix(name: str) -> str:
    if name.endswith(_BRANCH):
        return name
    # One C-level endswith over the whole tuple first: the loop (longest first) only finds
    # which one it is.
    for suffix in _CJK_LEGAL_SUFFIXES if name.endswith(_CJK_LEGAL_SUFFIXES) else ():
        if name.endswith(suffix):
            return name[: -len(suffix)].rstrip()
    if name[-1:] not in _LATIN_LEGAL_ENDS:  # no Latin legal form can end it
        return name.rstrip()
    stripped = _LATIN_LEGAL_SUFFIX.sub("", name)
    return stripped.rstrip()


def _split_region_prefix(name: str) -> tuple[str, str]:
    """The leading province or city that may be dropped from ``name`` (as it stands there:
    ``深圳市``, ``shanghai``), and the rest; ``("", name)`` when there is none."""
    # The longest region the name starts with, found by its first few characters in the
    # set of regions, a look-up for each length a region has (a startswith over the 300
    # regions was a fifth of normalising a name).
    for size in _CJK_REGION_SIZES:
        if name[:size] in _CJK_REGIONS:
            rest = name[size:].lstrip()
            if len(rest.replace(" ", "")) >= _MIN_CJK_REMAINDER:
                return name[:size], rest
            return "", name
    words = name.split(" ")
    for n in (2, 1):  # "hong kong" / "inner mongolia" are two words
        if len(words) - n >= _MIN_LATIN_REMAINDER_WORDS and "".join(words[:n]) in _LATIN_REGIONS:
            return "".join(words[:n]), " ".join(words[n:])
    return "", name


def _name_pass(text: str, dropped: list[str] | None = None) -> str:
    """One pass of :func:`normalise_name`; the regions it drops are added to ``dropped``."""
    text = _nfkc(_nfkc(text).casefold())
    if _SIMPLIFY is not None:
        text = _SIMPLIFY(text)
    if dropped is None:
        text = _BRACKETED.sub(_drop_bracketed_region, text)
    else:
        text = _BRACKETED.sub(lambda match: _drop_bracketed_region(match, dropped), text)
    name = _join_words(_clean_characters(text))
    while True:
        # Every legal-form word goes before the region is looked at: whether a region may
        # be dropped depends on how many words remain, which "Co., Ltd." must not sway.
        bare = _strip_legal_suffix(name)
        while bare != name:
            name, bare = bare, _strip_legal_suffix(bare)
        region, shorter = _split_region_prefix(name)
        if not region:
            return name
        if dropped is not None:
            dropped.append(region)
        name = shorter


def _load_simplifier() -> Callable[[str], str] | None:
    """Traditional-to-simplified conversion with OpenCC, when the ``hanzi`` extra is
    installed (``pip install 'poolkit[hanzi]'``); None otherwise."""
    try:
        opencc = importlib.import_module("opencc")
    except ImportError:
        return None
    convert: Callable[[str], str] = opencc.OpenCC("t2s").convert
    return convert


_SIMPLIFY = _load_simplifier()

SIMPLIFIES_CHINESE: bool = _SIMPLIFY is not None
"""Whether company names are folded from traditional to simplified characters (臺灣 -> 台湾):
true exactly when the optional ``hanzi`` extra (OpenCC) is installed. Stores that index
names record which way their index was built and rebuild it when this changes."""


def normalise_name(raw: str) -> str:
    """Return a company name reduced to what distinguishes it.

    Steps: NFKC (full-width to half-width) and case folding; drop a bracketed region or
    legal form (``（深圳）``, ``(Shenzhen)``, ``（中国）``, ``（集团）``, ``（特殊普通合伙）``);
    drop apostrophes, turn other punctuation and symbols into spaces; collapse whitespace,
    removing it next to Chinese characters; then repeatedly drop a trailing legal form
    (有限公司, 股份有限公司, 公司, 集团, Co., Ltd., Inc., LLC, GmbH...) and a leading province or
    city (深圳市, 广东省, 北京, Shenzhen...) when at least 4 Chinese characters (or 2 Latin
    words) remain. 深圳市某某科技有限公司 and 某某科技（深圳）有限公司 both give ``某某科技``.

    Raises :class:`InvalidKeyError` if nothing remains (e.g. ``有限公司``).
    """
    name = _passes(raw)
    if not name:
        raise InvalidKeyError(
            "name", raw, "nothing remains once legal forms, regions and punctuation are removed"
        )
    return name


def _passes(raw: str, dropped: list[str] | None = None) -> str:
    """:func:`normalise_name`'s passes over ``raw``; the regions they drop go to ``dropped``."""
    name = raw
    # Each pass only removes or folds characters; a second pass settles the rare input where
    # a removal lets NFKC compose two characters that were apart. Five passes is ample.
    for _ in range(5):
        again = _name_pass(name, dropped)
        if again == name:
            break
        name = again
    return name


def registered_regions(raw: str) -> frozenset[str]:
    """The Chinese provinces and cities a company name was registered in, as far as the
    name says: the regions :func:`normalise_name` drops (a leading one, 深圳市 or
    广东省深圳市, or one in brackets, （深圳）), by their bare names, with the regions those
    lie in. ``广东省深圳市某某科技有限公司`` and ``某某科技（深圳）有限公司`` both give
    ``{"深圳", "广东"}``; a name whose region stays in its normal form (北京银行) or that
    names none gives an empty set. Latin region words and ``（中国）`` are not counted."""
    dropped: list[str] = []
    _passes(raw, dropped)
    found: set[str] = set()
    for form in dropped:
        region = _REGION_BASES.get(form)
        while region is not None and region not in found:
            found.add(region)
            region = _PARENT_REGION.get(region)
    return frozenset(found)


# --------------------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------------------

_NORMALISERS: dict[str, Callable[[str], str]] = {
    "uscc": normalise_uscc,
    "org_code": normalise_org_code,
    "email": normalise_email,
    "name": normalise_name,
}


def normalise_key(kind: str, raw: str, *, default_region: str = "CN") -> str:
    """Normalise ``raw`` as a key of ``kind`` (one of :data:`KEY_KINDS`).

    ``default_region`` is used for phones only. An unknown kind raises
    :class:`InvalidKeyError`.
    """
    if kind == "phone":
        return normalise_phone(raw, default_region)
    normaliser = _NORMALISERS.get(kind)
    if normaliser is None:
        raise InvalidKeyError(
            kind, raw, f"unknown key kind; expected one of {', '.join(sorted(KEY_KINDS))}"
        )
    return normaliser(raw)
