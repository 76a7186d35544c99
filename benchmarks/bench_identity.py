"""Collision checks, look-alike lookups and imports on the SQLite store, at growing sizes.

Run:  python benchmarks/bench_identity.py                      (100,000 and 1,000,000 stored)
      python benchmarks/bench_identity.py --stored 20000 100000 (quicker)

For each stored size it builds a database of public customers, each with a mobile phone
and a generated Chinese company name (a city, a brand, a trade, a legal form: the names
share their trades, so some name blocks are held by a tenth of the book), loaded through
the store's repositories in one unit of work. Then it times:

- collisions: ``uow.customers.with_keys`` for ``--lookups`` phones, half held by a stored
  customer and half by nobody (the check every create and import row makes);
- look-alikes: ``uow.customers.similar_names(blocking_keys(name), per_block)`` for
  ``--lookups`` names, half typos of stored names and half new ones; only the store's
  lookup is timed (the blocks are computed first), and the mean number of candidates it
  returned is shown;
- import: ``PoolService.import_customers`` of ``--rows`` rows, a mix of new customers
  (some with names close to stored ones, which files review items), phones already stored
  but written another way (collisions), and malformed phones (invalid).

It prints microseconds per operation at each size and the ratio of the largest size to
the smallest: 1.00x means the cost does not grow with the customers stored. Figures go
to stdout; nothing is asserted. Wall time varies with the machine: compare the ratios.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable, Sized
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from _books import store_created

from poolkit import ManualClock, Policy, PoolService, Team
from poolkit.identity import blocking_keys
from poolkit.importer import ImportRow
from poolkit.model.customer import IdentityKey
from poolkit.service.stored_policy import StoredPolicy, save
from poolkit.stores.sqlite import SqliteStore

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
POLICY = Policy.from_dict({"timezone": "Asia/Shanghai"})
SEED = 20260101
A = TypeVar("A")

CITIES = ("深圳市", "广州市", "杭州市", "上海", "北京", "成都市", "武汉市", "南京市", "苏州市", "")
# Brands are two to four of these ~160 characters: ~25,000 two-character brands, millions
# of longer ones. Most names are then unique, a brand bigram is held by about a hundred
# customers per million, and a trade by a tenth of the book.
BRAND_CHARACTERS = (
    "华强东方星海天宏安信和泰恒达盛通金元美嘉德利鑫瑞新中永亿博丰腾创兴隆昌源远志诚汇聚宇辰"
    "佳鸿智蓝光明启航云峰长江山川青松柏林森木水火土石玉珠宝银铜铁钢华夏龙凤虎豹鹏燕鹤"
    "春秋冬夏晨曦阳月日辉煌耀亮彩虹霞雪霜雨露风雷电声音乐歌舞诗书画墨香茶酒饮食品味"
    "福寿康宁吉祥如意万家百千一二三四五六七八九十广大小高远近南北西锦绣文武正良善"
)
TRADES = ("科技", "电子", "贸易", "食品", "物流", "建材", "医疗器械", "软件", "机械", "服装")
LEGAL_FORMS = ("有限公司", "股份有限公司", "有限责任公司", "")


def phone(number: int) -> str:
    """The stored (normalised) mobile phone of customer ``number``."""
    return f"+86138{number:08d}"


def company_name(rng: random.Random) -> str:
    brand = "".join(rng.choice(BRAND_CHARACTERS) for _ in range(rng.choice((2, 3, 3, 4))))
    return rng.choice(CITIES) + brand + rng.choice(TRADES) + rng.choice(LEGAL_FORMS)


def typo(name: str, rng: random.Random) -> str:
    """``name`` with one brand character replaced: a near miss a rep might type."""
    start = next((len(city) for city in CITIES if city and name.startswith(city)), 0)
    chars = list(name)
    chars[start] = rng.choice(BRAND_CHARACTERS)
    return "".join(chars)


def team() -> Team:
    return Team.from_dict(
        {
            "reps": [{"id": "admin", "admin": True}, {"id": "rep000"}],
            "pools": [
                {"id": "main", "default": True, "members": ["rep000"], "managers": ["admin"]}
            ],
        }
    )


def build(path: Path, stored: int) -> list[str]:
    """A database of ``stored`` public customers; returns their names, by number."""
    store = SqliteStore(path)
    service = PoolService(store, POLICY, ManualClock(START))
    service.setup(team())
    rng = random.Random(SEED)
    names = [company_name(rng) for _ in range(stored)]
    started = time.perf_counter()
    with store.unit_of_work() as uow:
        for number, name in enumerate(names):
            store_created(
                uow,
                POLICY,
                customer_id=f"c{number:07d}",
                at=START,
                name=name,
                pool_id="main",
                keys={"phone": phone(number)},
            )
        # Every schedule above was computed with POLICY: version 1, schedules current.
        save(uow.settings, StoredPolicy(POLICY, 1, 1))
        uow.commit()
    store.close()
    print(f"  built {stored:,} customers in {time.perf_counter() - started:.1f} s")
    return names


def timed(call: Callable[[A], Sized], arguments: list[A]) -> tuple[float, list[int]]:
    """Microseconds per call of ``call`` over ``arguments``, and the size of each result."""
    sizes = []
    started = time.perf_counter()
    for argument in arguments:
        sizes.append(len(call(argument)))
    return (time.perf_counter() - started) / len(arguments) * 1e6, sizes


def bench_lookups(path: Path, names: list[str], lookups: int, per_block: int) -> dict[str, float]:
    stored = len(names)
    rng = random.Random(SEED + 1)
    held = [
        frozenset({IdentityKey("phone", phone(rng.randrange(stored)))}) for _ in range(lookups // 2)
    ]
    missing = [
        frozenset({IdentityKey("phone", phone(stored + rng.randrange(stored)))})
        for _ in range(lookups - lookups // 2)
    ]
    wanted = [typo(rng.choice(names), rng) for _ in range(lookups // 2)]
    wanted += [company_name(rng) for _ in range(lookups - lookups // 2)]
    blocks = [blocking_keys(name) for name in wanted]
    store = SqliteStore(path)
    with store.unit_of_work() as uow:
        customers = uow.customers

        def similar(each: frozenset[str]) -> list[tuple[str, str]]:
            return customers.similar_names(each, per_block)

        # Untimed: the first reads of a fresh connection pay for its page cache.
        timed(customers.with_keys, held[:100])
        timed(similar, blocks[:100])
        held_us, found = timed(customers.with_keys, held)
        missing_us, _ = timed(customers.with_keys, missing)
        similar_us, candidates = timed(similar, blocks)
    store.close()
    print(f"  with_keys found {sum(found):,} customers for {len(held):,} held phones")
    print(
        f"  similar_names returned {sum(candidates) / len(candidates):.0f} candidates on average"
        f" (at most {per_block} per block, {sum(map(len, blocks)) / len(blocks):.1f} blocks)"
    )
    return {
        "with_keys, held": held_us,
        "with_keys, missing": missing_us,
        "similar_names": similar_us,
    }


def import_rows(names: list[str], rows: int) -> list[ImportRow]:
    """70% new customers (a third of them typos of stored names); 20% stored phones, half
    written as stored and half written another way (``138 0000 0001``); 10% malformed, half
    with no name and half with a phone that is no phone."""
    stored = len(names)
    rng = random.Random(SEED + 2)
    out = []
    for line in range(1, rows + 1):
        kind = rng.random()
        if kind < 0.7:
            name = typo(rng.choice(names), rng) if rng.random() < 1 / 3 else company_name(rng)
            raw_phone = f"+86 139-{line:04d}-{rng.randrange(10_000):04d}"
        elif kind < 0.9:
            number = rng.randrange(stored)
            name = names[number]
            raw_phone = phone(number)
            if kind < 0.8:
                digits = raw_phone[3:]
                raw_phone = f"{digits[:3]} {digits[3:7]} {digits[7:]}"
        elif kind < 0.95:
            name, raw_phone = "", f"+86 137-{line:04d}-0000"
        else:
            name, raw_phone = company_name(rng), f"555-{line:04d}"
        out.append(ImportRow(row=line, name=name, keys=(("phone", raw_phone),)))
    return out


def bench_import(path: Path, names: list[str], rows: int) -> float:
    batch = import_rows(names, rows)
    store = SqliteStore(path)
    service = PoolService(store, POLICY, ManualClock(START))
    started = time.perf_counter()
    report = service.import_customers("admin", batch)
    elapsed = time.perf_counter() - started
    filed = sum(1 for result in report.rows if result.similar_ids)
    print(f"  import: {report.summary()}; {filed:,} created rows filed for review")
    store.close()
    return elapsed / rows * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stored", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--lookups", type=int, default=1_000)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    per_block = POLICY.similarity.per_block
    print(f"Identity on SQLite (WAL): per_block = {per_block}")
    results: list[tuple[int, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="poolkit-bench-") as tmp:
        for stored in args.stored:
            print(f"N = {stored:,}")
            path = Path(tmp) / f"identity-{stored}.db"
            names = build(path, stored)
            figures = bench_lookups(path, names, args.lookups, per_block)
            figures["import_customers, per row"] = bench_import(path, names, args.rows)
            results.append((stored, figures))
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    print()
    operations = list(results[0][1])
    header = f"{'us per operation':<28}" + "".join(f"{stored:>12,}" for stored, _ in results)
    if len(results) > 1:
        header += f"{'ratio':>9}"
    print(header)
    for operation in operations:
        line = f"{operation:<28}" + "".join(f"{fig[operation]:>12.1f}" for _, fig in results)
        if len(results) > 1:
            ratio = results[-1][1][operation] / results[0][1][operation]
            line += f"{ratio:>8.2f}x"
        print(line)
    if len(results) > 1:
        print(
            f"ratio: cost at {results[-1][0]:,} stored / cost at {results[0][0]:,} "
            "(1.00x = independent of what is stored)"
        )


if __name__ == "__main__":
    main()
