"""Books of company names for proving the review list, generated deterministically.

- :func:`numbered_names`: ``Company N 贸易有限公司``, the pattern that once filed a million
  review items;
- :func:`realistic_names`: a mixed book (Chinese names with a city, a brand, a trade and a
  legal form; branches; numbered stores; English names with region words) into which a
  known share of near-duplicates of earlier names is mixed, the pairs a review list exists
  to find;
- :func:`review_list`: what importing a book into an empty store would file, computed in
  memory with the blocking keys and :func:`~poolkit.identity.lookalike.review_matches`,
  without a store or a service.
"""

from __future__ import annotations

import random

import attrs

from poolkit.errors import InvalidKeyError
from poolkit.identity.lookalike import MAX_PER_CUSTOMER, LookalikeIndex, review_matches
from poolkit.identity.normalise import normalise_name
from poolkit.identity.similarity import normalised_similarity

__all__ = ["Book", "Filed", "numbered_names", "realistic_names", "review_list"]

_CITIES = ("深圳市", "广州市", "杭州市", "上海", "北京", "成都市", "武汉市", "南京市", "苏州市")
_BRANCH_CITIES = ("北京", "上海", "广州", "深圳", "成都", "武汉", "西安", "南京", "杭州", "重庆")
# ~300 characters common in Chinese trade names.
_BRAND = (
    "华强东方星海天宏安信和泰恒达盛通金元美嘉德利鑫瑞新中永亿博丰腾创兴隆昌源远志诚汇聚宇辰"
    "佳鸿智蓝光明启航云峰长江山川青松柏林森木水火土石玉珠宝银铜铁钢夏龙凤虎豹鹏燕鹤"
    "春秋冬晨曦阳月日辉煌耀亮彩虹霞雪霜雨露风雷电声音乐歌舞诗书画墨香茶酒饮食品味"
    "福寿康宁吉祥如意万家百千广大小高远近南北西锦绣文武正良善同仁义礼思捷迅达讯飞扬"
    "凯旋胜威力士卓越精工匠心尚品优选惠众众邦联合立方圆融汇通达亚欧美澳非洲际环球宇宙"
)
_TRADES = (
    "科技", "电子", "贸易", "食品", "物流", "建材", "医疗器械", "软件", "机械", "服装",
    "网络科技", "信息技术", "生物科技", "新材料", "环保科技", "文化传媒", "餐饮管理", "实业",
    "进出口", "供应链管理", "电气", "汽车配件", "家居", "教育咨询", "广告",
)  # fmt: skip
_LEGAL = ("有限公司", "股份有限公司", "有限责任公司", "")
_SYLLABLES = (
    "ac", "me", "zen", "tor", "vi", "sta", "lum", "bri", "cor", "nex", "pro", "tek", "ga",
    "lo", "ra", "mi", "son", "del", "ta", "ver", "ion", "ax", "or", "ka", "fin", "sol",
)  # fmt: skip
_EN_TRADES = (
    "Trading", "Technology", "Logistics", "Electronics", "Foods", "Machinery", "Textiles",
    "Software", "Materials", "Consulting", "Industries", "Imports",
)  # fmt: skip
_EN_REGIONS = ("Shanghai", "Beijing", "East", "North", "Asia", "Shenzhen", "Europe", "")
_EN_LEGAL = ("Co., Ltd.", "Inc.", "LLC", "Ltd", "Limited", "")


@attrs.frozen
class Book:
    names: tuple[str, ...]
    # (earlier index, later index) of each near-duplicate mixed in, and how it was made.
    duplicates: tuple[tuple[int, int, str], ...]


@attrs.frozen
class Filed:
    customer: int
    similar: int
    score: float


def numbered_names(count: int) -> Book:
    return Book(tuple(f"Company {n} 贸易有限公司" for n in range(1, count + 1)), ())


def _chinese(rng: random.Random) -> str:
    brand = "".join(rng.choice(_BRAND) for _ in range(rng.choice((2, 2, 3, 3, 4))))
    name = rng.choice((*_CITIES, "", "")) + brand + rng.choice(_TRADES) + rng.choice(_LEGAL)
    kind = rng.random()
    if kind < 0.08:
        return f"{name or brand + '有限公司'}{rng.choice(_BRANCH_CITIES)}分公司"
    if kind < 0.12:
        return f"{brand}{rng.choice(_TRADES)}第{rng.randint(1, 30)}分店"
    return name


def _english(rng: random.Random) -> str:
    word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 3)))).title()
    parts = [word]
    if rng.random() < 0.3:
        parts.append("".join(rng.choice(_SYLLABLES) for _ in range(2)).title())
    parts += [rng.choice(_EN_REGIONS), rng.choice(_EN_TRADES), rng.choice(_EN_LEGAL)]
    return " ".join(part for part in parts if part)


def _variant(name: str, rng: random.Random) -> tuple[str, str]:
    """A near-duplicate of ``name`` as another rep or CRM would have typed it."""
    how = rng.choice(("typo", "legal form", "full width", "bracketed region", "spacing"))
    if how == "typo":
        chars = list(name)
        latin = [at for at, ch in enumerate(chars) if ch.isascii() and ch.isalpha()]
        brand = [at for at, ch in enumerate(chars) if ch in _BRAND]
        at = rng.choice(latin or brand or [0])
        chars[at] = rng.choice("aeiou") if latin else rng.choice(_BRAND)
        return "".join(chars), how
    if how == "legal form":
        for form in (*_LEGAL[:3], "Co., Ltd.", "Inc.", "LLC", "Limited", "Ltd"):
            if name.endswith(form):
                return name.removesuffix(form).rstrip(), how
        return name + (
            "有限公司" if any("\u4e00" <= ch <= "\u9fff" for ch in name) else " Ltd"
        ), how
    if how == "full width":
        return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in name), how
    if how == "bracketed region":
        return name + "（深圳）", how
    return name.replace(" ", "  ") if " " in name else " ".join(name), how


def realistic_names(count: int, *, seed: int = 20260101, duplicates: float = 0.02) -> Book:
    """``count`` names, about ``duplicates`` of them near-duplicates of an earlier one."""
    rng = random.Random(seed)
    names: list[str] = []
    pairs: list[tuple[int, int, str]] = []
    for index in range(count):
        if names and rng.random() < duplicates:
            original = rng.randrange(len(names))
            name, how = _variant(names[original], rng)
            pairs.append((original, index, how))
        else:
            name = _english(rng) if rng.random() < 0.25 else _chinese(rng)
        names.append(name)
    return Book(tuple(names), tuple(pairs))


def review_list(
    names: tuple[str, ...] | list[str],
    *,
    threshold: float = 85.0,
    per_block: int = 50,
    limit: int | None = MAX_PER_CUSTOMER,
    filtered: bool = True,
    skip_common: bool = True,
) -> list[Filed]:
    """The review items importing ``names`` in order into an empty store files: each name
    against those before it, through the blocking keys, as the stores read them
    (:class:`~poolkit.identity.lookalike.LookalikeIndex`). ``filtered`` False, ``limit``
    None and ``skip_common`` False: the score alone against each key's first ``per_block``,
    as filing worked before :mod:`poolkit.identity.lookalike`."""
    index = LookalikeIndex(per_block, skip_common=skip_common)
    normalised: dict[str, str] = {}
    filed: list[Filed] = []
    for number, name in enumerate(names):
        try:
            own = normalise_name(name)
        except InvalidKeyError:
            continue
        candidates = [(cid, normalised[cid]) for cid, _ in index.candidates(name)]
        if filtered:
            matches = [
                (match.customer_id, match.score)
                for match in review_matches(
                    own,
                    candidates,
                    threshold=threshold,
                    limit=limit if limit is not None else len(candidates),
                    normalise=False,
                    name=name,
                    name_of=lambda customer_id: names[int(customer_id)],
                )
            ]
        else:
            scored = [
                (cid, round(normalised_similarity(own, other), 1)) for cid, other in candidates
            ]
            matches = [(cid, score) for cid, score in scored if score >= threshold]
            matches.sort(key=lambda match: (-match[1], match[0]))
            matches = matches[:limit] if limit is not None else matches
        filed += [Filed(number, int(cid), score) for cid, score in matches]
        customer_id = str(number)
        normalised[customer_id] = own
        index.add(customer_id, name)
    return filed
