"""Which look-alike names are worth a person's review: "maybe the same company", not "the
same pattern".

A fuzzy score alone files `Company 12` against `Company 13` (one character apart, 92) and
the Beijing branch against the Shanghai branch: names that differ only where they say
*which* company it is. The review list then fills with pairs nobody would merge (20,000
rows named `Company N 贸易有限公司` filed a million items). :func:`may_be_same` is the
second opinion, applied to pairs that already score high:

- **A number differs.** The runs of digits (`12`, `2024`), and Chinese ordinals (`第一`,
  `二分店`, `三厂`), of the two names must be the same, in the same order. Numbers in
  company names are branch, store, factory or batch numbers; a typo in one is rarer than
  two numbered companies, and a wrong number is not what a review finds.
- **A place differs.** The places named in the two names (Chinese provinces and major
  cities, regions such as 华东; their pinyin; and English region words such as `north`,
  `central`, `asia`) must be the same set when both name one. `北京分公司` and `上海分公司`,
  `Acme Shanghai Branch` and `Acme Beijing Branch` are different customers (the name
  normaliser keeps branches whole for the same reason). A name with a place and one
  without may still be one company (`Acme Shanghai` and `Acme`), and go by their score.
- **The distinctive part differs.** What is left of each name without its places,
  numbers and the words of a trade (科技, 贸易, 供应链管理, `trading`, `imports`...) is the
  trade name proper. Two names sharing a long generic tail score high however different
  their trade names (`Nexnex Shanghai Imports` and `Metornex Shanghai Imports`, 87.5), so
  the trade names must be one typo apart at most (two for trade names of 8 characters or
  more). When either name is nothing but generic words, the score alone decides.
- **They were registered apart.** A Chinese company name starts with the place it was
  registered in (南京市..., 广东省深圳市...), which the normal form drops so that
  `深圳市某某科技` and `某某科技` meet. Given the names as written, two registered in
  different places (南京 and 杭州; not 广东 and its city 深圳) must have the same trade
  name: `南京市广天南供应链管理` and `杭州市广北南供应链管理` are two companies, not a typo.
- **A two-character trade name has another character.** Chinese is typed by sound, so a
  mistyped character sounds like the right one (腾迅 for 腾讯, both xun). In a trade name of
  two characters, one replaced by a character of another sound is half the name changed:
  `鸿文供应链管理` and `吉文供应链管理` are two companies, however alike the long generic
  tail makes them score (:mod:`poolkit.identity.readings`).

:func:`review_matches` puts it together for one new name: score the candidates that the
blocking index found, keep those at or above the threshold that :func:`may_be_same`
accepts, best first, at most ``limit`` of them (:data:`MAX_PER_CUSTOMER`). Its cost is one
score per candidate and the checks above only for candidates over the threshold: it reads
nothing else, so it is proportional to the candidates, never to the book.
:class:`LookalikeIndex` is an in-memory blocking index with the same candidate rule as the
stores, for dry runs and for proving the list on a whole book without a store.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise

import attrs
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from poolkit.identity._memo import remembered
from poolkit.identity.normalise import (
    _AUTONOMOUS_REGIONS,
    _LATIN_REGIONS,
    _MUNICIPALITIES_AND_CITIES,
    _PROVINCES,
    _SPECIAL_REGIONS,
    _is_cjk,
    registered_regions,
)
from poolkit.identity.readings import sound_alike
from poolkit.identity.similarity import name_blocks, normalised_name, normalised_similarity

__all__ = [
    "MAX_PER_CUSTOMER",
    "LookalikeIndex",
    "ReviewMatch",
    "core_of",
    "may_be_same",
    "numbers_in",
    "places_in",
    "registered_apart",
    "review_matches",
]

# How many look-alikes one new customer files at most: the best few are what a reviewer
# can judge; past that, a name is generic (`贸易`) rather than a likely duplicate. The
# policy key `similarity.max_per_customer` is meant to carry it.
MAX_PER_CUSTOMER = 5

_CJK_PLACES = frozenset(
    (*_PROVINCES, *_MUNICIPALITIES_AND_CITIES, *_AUTONOMOUS_REGIONS, *_SPECIAL_REGIONS)
) | frozenset(("华北", "华东", "华南", "华中", "西南", "西北", "东北"))  # fmt: skip
_LONGEST_CJK_PLACE = max(map(len, _CJK_PLACES))
_LATIN_PLACES = _LATIN_REGIONS | frozenset(
    {
        "north", "south", "east", "west", "central", "northern", "southern", "eastern",
        "western", "northeast", "northwest", "southeast", "southwest", "asia", "europe",
        "america", "americas", "africa", "pacific", "emea", "apac", "london", "paris",
        "tokyo", "singapore", "seoul", "sydney", "dubai", "hong kong", "new york",
    }
)  # fmt: skip
# Words of a trade, which many unrelated companies share: the core a name is compared on is
# what is left without them. Chinese ones are cut wherever they occur, longest first;
# Latin ones as whole words.
_CJK_TRADE_WORDS = tuple(
    sorted(
        {
            "科技", "技术", "电子", "贸易", "商贸", "食品", "物流", "建材", "医疗器械", "医疗",
            "器械", "软件", "机械", "服装", "网络", "信息", "生物", "新材料", "材料", "环保",
            "文化", "传媒", "餐饮", "管理", "实业", "进出口", "供应链", "电气", "汽车", "配件",
            "家居", "教育", "咨询", "广告", "工程", "建设", "投资", "发展", "制造", "设备",
            "化工", "医药", "装饰", "设计", "服务", "能源", "农业", "房地产", "置业", "印刷",
            "包装", "纺织", "照明", "通信", "智能", "自动化", "仪器", "五金", "酒店", "旅游",
            "电商", "电子商务", "计算机", "系统", "国际", "控股", "企业", "工贸", "经营部",
            "商行", "门市", "分公司", "分店", "分厂", "分部", "办事处", "营业部", "店", "厂",
            # Legal forms left inside a branch's name (某某有限公司北京分公司).
            "股份有限公司", "有限责任公司", "有限公司", "公司", "集团", "股份",
        },
        key=len,
        reverse=True,
    )
)  # fmt: skip
_LATIN_TRADE_WORDS = frozenset(
    {
        "trading", "trade", "technology", "technologies", "tech", "logistics", "electronics",
        "electronic", "foods", "food", "machinery", "textiles", "textile", "software",
        "materials", "material", "consulting", "industries", "industrial", "industry",
        "imports", "import", "export", "exports", "international", "intl", "holdings",
        "services", "service", "solutions", "systems", "system", "manufacturing",
        "engineering", "development", "enterprises", "enterprise", "company", "supply",
        "chain", "management", "branch", "office", "store", "shop", "factory", "the", "and",
        "of", "global", "group", "partners", "investment", "media", "network", "networks",
        "medical", "equipment", "digital", "energy", "products", "design", "center", "centre",
    }
)  # fmt: skip
_DIGITS = re.compile(r"\d+")
_SPACED_DIGITS = re.compile(r"(?<=\d) +(?=\d)")
# A Chinese numeral is a number only where it counts something: after 第, or before a
# unit that numbers branches, stores and plants. Elsewhere it is part of a name (一汽, 三星).
_CHINESE_NUMERAL = "零〇一二三四五六七八九十百千两"
_ORDINAL = re.compile(
    rf"第[{_CHINESE_NUMERAL}]+|[{_CHINESE_NUMERAL}]+(?=分公司|分店|分厂|分部|店|厂|号|部|期|车间|门市)"
)


@remembered(65536)
def numbers_in(normalised: str) -> tuple[str, ...]:
    """The numbers of a normalised name, in order: digit runs without leading zeros, and
    Chinese ordinals (``第三``, the ``二`` of ``二分店``)."""
    # Digits split by spaces are one number (`1 2` typed for 12).
    joined = _SPACED_DIGITS.sub("", normalised)
    found = [(m.start(), m.group().lstrip("0") or "0") for m in _DIGITS.finditer(joined)]
    found += [(m.start(), m.group().removeprefix("第")) for m in _ORDINAL.finditer(joined)]
    return tuple(number for _, number in sorted(found))


def places_in(normalised: str) -> frozenset[str]:
    """The places a normalised name names: Chinese ones found anywhere (longest first, so
    内蒙古 is not also 蒙古), Latin ones as whole words or word pairs (``hong kong``)."""
    return frozenset(_places_in(normalised))


@remembered(65536)
def _places_in(normalised: str) -> tuple[str, ...]:
    # Remembered as a tuple, which the garbage collector stops tracking (see name_blocks).
    places: set[str] = set()
    at = 0
    while at < len(normalised):
        if _is_cjk(normalised[at]):
            for size in range(min(_LONGEST_CJK_PLACE, len(normalised) - at), 1, -1):
                if normalised[at : at + size] in _CJK_PLACES:
                    places.add(normalised[at : at + size])
                    at += size
                    break
            else:
                at += 1
        else:
            at += 1
    words = normalised.split()
    places |= {word for word in words if word in _LATIN_PLACES}
    places |= {f"{a} {b}" for a, b in pairwise(words)} & _LATIN_PLACES
    return tuple(frozenset(places))  # in the order core_of has always taken them


@remembered(65536)
def core_of(normalised: str) -> str:
    """The trade name proper: a normalised name without its places, numbers and trade
    words; Latin words sorted, so that reordering does not count as a difference."""
    text = _DIGITS.sub(" ", _ORDINAL.sub(" ", normalised))
    for place in _places_in(normalised):
        for form in (place + "市", place + "省", place):
            text = text.replace(form, " ")
    for word in _CJK_TRADE_WORDS:
        text = text.replace(word, " ")
    words = [word for word in text.split() if word not in _LATIN_TRADE_WORDS]
    return "".join(sorted(words))


@remembered(65536)
def _registered(written: str) -> tuple[str, ...]:
    return tuple(registered_regions(written))


def registered_apart(a: str, b: str) -> bool:
    """Whether two names, as written, say they were registered in different places: both
    name a region (:func:`~poolkit.identity.normalise.registered_regions`) and neither's
    regions hold the other's. 南京 and 杭州, 南京 and 苏州 are apart; 广东 and 深圳 (a city
    of 广东), 深圳 and 深圳 are not."""
    regions_a, regions_b = frozenset(_registered(a)), frozenset(_registered(b))
    if not regions_a or not regions_b:
        return False
    return not (regions_a <= regions_b or regions_b <= regions_a)


def may_be_same(a: str, b: str, *, written: tuple[str, str] | None = None) -> bool:
    """Whether two normalised names may denote the same company, as far as their numbers,
    places and trade names tell: False when the numbers differ, when both name places and
    the places differ, when a trade name of two Chinese characters has one replaced by a
    character of another sound, or when their trade names are more than a typo apart. Says
    nothing of how alike the whole names are (that is the score's job).

    ``written``: the two names as written, in the same order. With them, names registered
    in different places (:func:`registered_apart`: 南京市... and 杭州市..., whose regions the
    normal forms no longer hold) must have the same trade name, not one a typo away."""
    if numbers_in(a) != numbers_in(b):
        return False
    places_a, places_b = places_in(a), places_in(b)
    if places_a and places_b and places_a != places_b:
        return False
    core_a, core_b = core_of(a), core_of(b)
    if not core_a or not core_b:
        return True
    # A company is registered once, in one place: two names registered apart whose trade
    # names differ (南京市广天南..., 杭州市广北南...) are two companies, however alike the rest.
    # The same trade name in two places (a group's companies, a move) is worth a look.
    if written is not None and core_a != core_b and registered_apart(*written):
        return False
    if _another_two_character_name(core_a, core_b):
        return False
    # A typo anywhere (in the trade name, or in a trade word: `Machinury`) is what a review
    # is for; names further apart must agree on their trade names. How many typos, by the
    # trade name's length: two characters changed in `axsol` make another company.
    typos = _typos(core_a, core_b)
    if Levenshtein.distance(a, b, score_cutoff=typos + 1) <= typos:
        return True
    return Levenshtein.distance(core_a, core_b, score_cutoff=typos + 1) <= typos


def _another_two_character_name(core_a: str, core_b: str) -> bool:
    """Two Chinese trade names of two characters, one of them replaced by a character that
    does not sound like it (鸿文 and 吉文): half the name, and not how Chinese is mistyped.
    An input method types by sound, so a slip is a homophone (腾迅 for 腾讯), which stays
    a typo; so does a character whose reading is not known."""
    if len(core_a) != 2 or len(core_b) != 2 or not all(map(_is_cjk, core_a + core_b)):
        return False
    replaced = [(x, y) for x, y in zip(core_a, core_b, strict=True) if x != y]
    return len(replaced) == 1 and sound_alike(*replaced[0]) is False


def _typos(a: str, b: str) -> int:
    """How many edits still count as typing the same trade name: one, two from 8
    characters on."""
    return 1 if max(len(a), len(b)) < 8 else 2


@attrs.frozen
class ReviewMatch:
    customer_id: str
    name: str
    score: float


def review_matches(
    own: str,
    candidates: Iterable[tuple[str, str]],
    *,
    threshold: float,
    limit: int = MAX_PER_CUSTOMER,
    normalise: bool = True,
    name: str | None = None,
    name_of: Callable[[str], str] | None = None,
) -> list[ReviewMatch]:
    """The look-alikes of the normalised name ``own`` worth filing, best first (score, then
    id), at most ``limit``: the ``candidates`` (``(customer_id, name)`` pairs, as a store's
    ``similar_names`` returns them) scoring ``threshold`` or more that :func:`may_be_same`
    accepts. ``normalise`` False: the candidates' names are normalised already.

    ``name``: the new name as written. Given it, :func:`may_be_same` also compares where
    the two names say they were registered, reading each candidate's name as written from
    ``candidates`` (or, when they are normalised already, from ``name_of(customer_id)``)."""
    pairs = list(candidates)
    others = [normalised_name(written) if normalise else written for _, written in pairs]
    names = dict(pairs)
    matches = normalised_matches(
        own,
        [customer_id for customer_id, _ in pairs],
        others,
        threshold=threshold,
        limit=limit,
        name=name,
        name_of=names.__getitem__ if normalise and name_of is None else name_of,
    )
    return [ReviewMatch(m.customer_id, names[m.customer_id], m.score) for m in matches]


def normalised_matches(
    own: str,
    ids: Sequence[str],
    others: Sequence[str],
    *,
    threshold: float,
    limit: int,
    name: str | None = None,
    name_of: Callable[[str], str] | None = None,
) -> list[ReviewMatch]:
    """:func:`review_matches` of candidates given as two lists, their ids and their names'
    normal forms (the ``name`` of each match is its normal form): for a caller that holds
    them so, without a tuple per candidate. ``name`` and ``name_of`` (a candidate's name as
    written, by id): the names as written, for :func:`may_be_same`'s ``written``; asked
    only of the candidates over the threshold."""
    # The score is the larger of two scorers (normalised_similarity); each runs over every
    # candidate in rapidfuzz's own loop, keeping only those at the threshold, and only the
    # few kept are scored in Python, the same way, and judged by may_be_same.
    over = {
        at
        for scorer in (fuzz.ratio, fuzz.token_sort_ratio)
        for _, _, at in process.extract(
            own, others, scorer=scorer, score_cutoff=threshold, limit=None
        )
    }
    kept: list[tuple[float, str, str]] = []
    for at in sorted(over):
        other = others[at]
        score = normalised_similarity(own, other)
        if score < threshold:
            continue
        written = None if name is None or name_of is None else (name, name_of(ids[at]))
        if may_be_same(own, other, written=written):
            kept.append((round(score, 1), ids[at], other))
    best = heapq.nsmallest(limit, kept, key=lambda match: (-match[0], match[1]))
    return [ReviewMatch(customer_id, normal, score) for score, customer_id, normal in best]


def telling_blocks(blocks: frozenset[str], common: Iterable[str]) -> frozenset[str]:
    """The blocks of a name that a look-alike lookup reads: those not ``common`` (a block
    that more than ``per_block`` stored names have), or all of them when every one is.

    A common block (``b:有限``, ``^com``, ``w:trading`` in a large book) tells no name apart,
    and reading it gives its first ``per_block`` customers by id: whichever were stored
    first, not the likeliest matches. A near duplicate shares its rarer blocks with its
    original (the trade name, one end of the name), so the lookup reads those, whole; a
    name made of common blocks only keeps the first ``per_block`` of each, as before. In a
    book of 1,000,000 names this reads a third of the candidates and finds the same near
    duplicates but one in a hundred (``benchmarks/bench_review.py``)."""
    telling = blocks.difference(common)
    return telling if telling else blocks


class LookalikeIndex:
    """Names by blocking key, in memory, read as the stores read theirs
    (:func:`telling_blocks`): every customer of the new name's uncommon keys, or, when all
    its keys are common, at most ``per_block`` per key, the first ones added."""

    def __init__(self, per_block: int = 50, *, skip_common: bool = True) -> None:
        self.per_block = per_block
        # False: every key's first ``per_block``, common or not (the rule before common
        # keys were skipped), for comparing the lists the two rules file.
        self.skip_common = skip_common
        self._names: dict[str, str] = {}
        self._by_block: dict[str, list[str]] = {}

    def add(self, customer_id: str, name: str) -> None:
        self._names[customer_id] = name
        for block in name_blocks(name):
            self._by_block.setdefault(block, []).append(customer_id)

    def candidates(self, name: str) -> list[tuple[str, str]]:
        """``(customer_id, name)`` of the customers sharing a key with ``name``."""
        blocks = name_blocks(name)
        lists = self._by_block
        common = (block for block in blocks if len(lists.get(block, ())) > self.per_block)
        found = {
            customer_id
            for block in (telling_blocks(blocks, common) if self.skip_common else blocks)
            for customer_id in lists.get(block, ())[: self.per_block]
        }
        return [(customer_id, self._names[customer_id]) for customer_id in sorted(found)]
