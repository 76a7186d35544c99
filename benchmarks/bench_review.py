"""The review list filed for the two books of issue 12, before and after the look-alike
rules of ``poolkit.identity.lookalike``, computed in memory (blocking keys and scores as
the stores and the service use them, no store).

Run:  python benchmarks/bench_review.py                       (20,000 and 50,000 names)
      python benchmarks/bench_review.py --numbered 2000 --random 5000   (quicker)

Books (``poolkit.testing.books``): ``Company N 贸易有限公司`` for N = 1..numbered; and a
realistic mixed book of ``random`` names (Chinese names with a city, a brand, a trade and a
legal form, branches, numbered stores, English names with region words) into which 2% of
near-duplicates of earlier names are mixed (typos, legal form dropped, full-width, a
bracketed region, spacing). For each, it prints the items filed "before" (the score alone,
no bound) and "after" (score, :func:`may_be_same`, at most ``--limit`` per new customer),
the most filed by one customer, how many of the mixed-in near-duplicates were filed, the
time, and a few of the other items filed, for a person to judge.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from poolkit.identity.lookalike import MAX_PER_CUSTOMER
from poolkit.testing.books import Book, numbered_names, realistic_names, review_list


def report(label: str, book: Book, limit: int, examples: int) -> None:
    injected = {(a, b) for a, b, _ in book.duplicates}
    for mode in ("before", "after"):
        started = time.perf_counter()
        if mode == "before":
            filed = review_list(book.names, filtered=False, limit=None)
        else:
            filed = review_list(book.names, limit=limit)
        elapsed = time.perf_counter() - started
        most = max(Counter(item.customer for item in filed).values(), default=0)
        found = sum(1 for item in filed if (item.similar, item.customer) in injected)
        print(
            f"{label:<10} {mode:<7} {len(filed):>10,} items  most by one customer {most:>4}"
            f"  near-duplicates filed {found:>5,}/{len(injected):,}  {elapsed:6.1f} s"
        )
        others = [item for item in filed if (item.similar, item.customer) not in injected]
        for item in others[:examples]:
            print(
                f"    {book.names[item.customer]}  ~  {book.names[item.similar]}  ({item.score:g})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--numbered", type=int, default=20_000)
    parser.add_argument("--random", type=int, default=50_000)
    parser.add_argument("--limit", type=int, default=MAX_PER_CUSTOMER)
    parser.add_argument("--examples", type=int, default=8)
    args = parser.parse_args()
    print(f"Review list, in memory: threshold 85, per_block 50, after: at most {args.limit}")
    report("numbered", numbered_names(args.numbered), args.limit, args.examples)
    report("random", realistic_names(args.random), args.limit, args.examples)


if __name__ == "__main__":
    main()
