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
no bound, the first ``per_block`` names of every blocking key), "every key" (score,
:func:`may_be_same`, at most ``--limit`` per new customer, every key's first ``per_block``)
and "after" (the same, through the telling keys: a key more than ``per_block`` names have
is skipped unless all of the name's keys are, :func:`telling_blocks`),
the most filed by one customer, how many of the mixed-in near-duplicates were filed, the
time, and a few of the other items filed, for a person to judge.

With ``--large N`` it then builds a realistic book of N names (1,000,000: a few minutes and
a few GB of memory) and looks up only its last ``--tail`` names against all the names
before them, as an import into a large book does, with every key's first ``per_block``
and with the telling keys: the items filed, the near duplicates found, and the candidates
scored per name.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from poolkit.errors import InvalidKeyError
from poolkit.identity.lookalike import MAX_PER_CUSTOMER, LookalikeIndex, review_matches
from poolkit.identity.normalise import normalise_name
from poolkit.testing.books import Book, numbered_names, realistic_names, review_list


def report(label: str, book: Book, limit: int, examples: int) -> None:
    injected = {(a, b) for a, b, _ in book.duplicates}
    for mode in ("before", "every key", "after"):
        started = time.perf_counter()
        if mode == "before":
            filed = review_list(book.names, filtered=False, limit=None, skip_common=False)
        elif mode == "every key":
            filed = review_list(book.names, limit=limit, skip_common=False)
        else:
            filed = review_list(book.names, limit=limit)
        elapsed = time.perf_counter() - started
        most = max(Counter(item.customer for item in filed).values(), default=0)
        found = sum(1 for item in filed if (item.similar, item.customer) in injected)
        print(
            f"{label:<10} {mode:<9} {len(filed):>10,} items  most by one customer {most:>4}"
            f"  near-duplicates filed {found:>5,}/{len(injected):,}  {elapsed:6.1f} s"
        )
        others = [item for item in filed if (item.similar, item.customer) not in injected]
        for item in others[:examples] if mode != "every key" else ():
            print(
                f"    {book.names[item.customer]}  ~  {book.names[item.similar]}  ({item.score:g})"
            )


def report_tail(size: int, tail: int, limit: int) -> None:
    """The last ``tail`` names of a book of ``size`` looked up against the rest, both ways."""
    book = realistic_names(size)
    injected = {(a, b) for a, b, _ in book.duplicates if b >= size - tail}
    index = LookalikeIndex(50)
    normal: dict[str, str] = {}
    # mode -> items filed, near duplicates filed, candidates scored, seconds
    totals = {mode: [0, 0, 0, 0.0] for mode in ("every key", "after")}
    for number, name in enumerate(book.names):
        try:
            own = normalise_name(name)
        except InvalidKeyError:
            continue
        if number >= size - tail:
            for mode, total in totals.items():
                started = time.perf_counter()
                index.skip_common = mode == "after"
                candidates = [(cid, normal[cid]) for cid, _ in index.candidates(name)]
                found = review_matches(
                    own,
                    candidates,
                    threshold=85,
                    limit=limit,
                    normalise=False,
                    name=name,
                    name_of=lambda customer_id: book.names[int(customer_id)],
                )
                total[3] += time.perf_counter() - started
                total[0] += len(found)
                total[1] += sum(1 for m in found if (int(m.customer_id), number) in injected)
                total[2] += len(candidates)
        normal[str(number)] = own
        index.add(str(number), name)
    for mode, (filed, near, scored, elapsed) in totals.items():
        print(
            f"last {tail:,} of {size:,} {mode:<9} {filed:>7,} items  near-duplicates filed"
            f" {near:>4,}/{len(injected):,}  candidates per name {scored / tail:6.1f}"
            f"  {elapsed:6.1f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--numbered", type=int, default=20_000)
    parser.add_argument("--random", type=int, default=50_000)
    parser.add_argument("--limit", type=int, default=MAX_PER_CUSTOMER)
    parser.add_argument("--examples", type=int, default=8)
    parser.add_argument("--large", type=int, default=0, help="a book this large, its tail")
    parser.add_argument("--tail", type=int, default=10_000)
    args = parser.parse_args()
    print(f"Review list, in memory: threshold 85, per_block 50, after: at most {args.limit}")
    report("numbered", numbered_names(args.numbered), args.limit, args.examples)
    report("random", realistic_names(args.random), args.limit, args.examples)
    if args.large:
        report_tail(args.large, min(args.tail, args.large), args.limit)


if __name__ == "__main__":
    main()
