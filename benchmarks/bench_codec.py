"""The document codec: stored JSON to checked customers and events, and back.

Run:  python benchmarks/bench_codec.py                       (10,000 customers and events)
      python benchmarks/bench_codec.py --values 2000 --profile 15   (and where time goes)

``--values`` customers (private, public and frozen, with keys, tags, attributes, related
reps, follow-ups by kind, times in Asia/Shanghai and UTC) and as many events, spread evenly
over every kind of :data:`~poolkit.model.events.EVENT_TYPES`, are written as the stores
write them. Then, per value, best of ``--repeat`` passes:

- read: the store's read of a document, text to checked value
  (:func:`poolkit.stores.sql.converters.read_document`: parse, then decode);
- floor: the JSON parse alone (what any reader of the documents pays);
- write: the store's write of a value, value to text (``json_text``: encode, then dump);
- floor: the JSON dump alone of the same dicts.

Both JSON libraries run when orjson (the ``fast`` extra) is installed: orjson, then the
standard library (as without the extra). Times are the CPU time of this process, so that
other work on a shared machine counts less. Figures go to stdout; nothing is asserted.
Compare the ratios, measured in the same run.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from poolkit.model import events as ev
from poolkit.model.customer import Customer, CustomerStatus, IdentityKey
from poolkit.model.events import EVENT_TYPES, Event, FollowUpKind
from poolkit.stores import _documents as documents
from poolkit.stores._codec import encode
from poolkit.stores.sql.converters import json_text, read_document

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 1, 5, 9, 30, tzinfo=SHANGHAI)


def customer(n: int) -> Customer:
    """The n-th customer: a third private, a third public, a third frozen."""
    created = START + timedelta(minutes=n)
    status = (CustomerStatus.PRIVATE, CustomerStatus.PUBLIC, CustomerStatus.FROZEN)[n % 3]
    private = status is CustomerStatus.PRIVATE
    return Customer(
        id=f"c{n:07d}",
        name=f"深圳华强电子 {n}",
        pool_id=f"pool-{n % 7}",
        created_at=created,
        status=status,
        owner_id=f"rep{n % 50:03d}" if private else None,
        keys=frozenset(
            {IdentityKey("phone", f"138{n:08d}"), IdentityKey("email", f"buyer{n}@example.com")}
        ),
        grade=("A", "B", None)[n % 3],
        tags=frozenset({"hot", "renewal"} if n % 2 else {"hot"}),
        attributes={"industry": "electronics", "staff": 120 + n % 40, "score": 0.5, "vip": False},
        related_reps={f"rep{(n + 1) % 50:03d}": created + timedelta(days=2)},
        creator_id=f"rep{n % 50:03d}",
        owned_since=created + timedelta(days=3) if private else None,
        public_since=None if private else created.astimezone(UTC),
        last_follow_up_at=created + timedelta(days=4),
        last_follow_up_by_kind={"call": created + timedelta(days=4)},
        last_deal_at=created + timedelta(days=5) if n % 5 == 0 else None,
        locked=n % 11 == 0,
        warned_due_at=created + timedelta(days=20) if private else None,
        version=5 + n % 9,
        external_id=f"crm-{n}" if n % 4 == 0 else None,
    )


def _payload(kind: type[Event], n: int, at: datetime) -> dict[str, Any]:
    rep, other, pool = f"rep{n % 50:03d}", f"rep{(n + 1) % 50:03d}", f"pool-{n % 7}"
    keys = frozenset({IdentityKey("phone", f"139{n:08d}")})
    attributes = {"industry": "retail", "staff": 30}
    payloads: dict[type[Event], dict[str, Any]] = {
        ev.Created: {"name": f"某某科技 {n}", "pool_id": pool, "owner_id": rep, "keys": keys},
        ev.FollowedUp: {"method": FollowUpKind.CALL, "note": "no answer"},
        ev.Claimed: {"rep_id": rep, "pool_id": pool},
        ev.Assigned: {"rep_id": rep, "pool_id": pool, "reason": "round robin"},
        ev.Returned: {"rep_id": rep, "reason": "wrong contact"},
        ev.Recycled: {"rep_id": rep, "reason": "duplicate"},
        ev.Dropped: {
            "rep_id": rep,
            "code": "drop.no_follow_up",
            "rule": "stale-15",
            "due_at": at - timedelta(hours=1),
            "reason": "no follow-up in 15 days",
        },
        ev.Transferred: {"from_rep_id": rep, "to_rep_id": other},
        ev.Reassigned: {"from_rep_id": rep, "to_rep_id": other, "reason": "leave"},
        ev.PoolChanged: {"from_pool_id": pool, "to_pool_id": "pool-vip"},
        ev.Frozen: {"from_rep_id": rep, "reason": "closed"},
        ev.Restored: {"pool_id": pool},
        ev.Deleted: {"reason": "asked to be forgotten"},
        ev.LockChanged: {"locked": True},
        ev.GradeChanged: {"old": "B", "new": "A"},
        ev.Edited: {"name": f"Acme {n}", "keys": keys, "tags": {"hot"}, "attributes": attributes},
        ev.Warned: {
            "rep_id": rep,
            "rule": "stale-15",
            "due_at": at + timedelta(days=3),
            "reason": "drops in 3 days",
        },
        ev.Merged: {
            "absorbed_id": f"c{n + 1:07d}",
            "owner_id": rep,
            "owned_since": at - timedelta(days=9),
            "keys": keys,
            "tags": {"hot"},
            "attributes": attributes,
            "related_reps": {other: at - timedelta(days=2)},
            "last_follow_up_at": at - timedelta(days=1),
            "last_follow_up_by_kind": {"visit": at - timedelta(days=1)},
        },
        ev.MergedInto: {"into_id": f"c{n + 1:07d}"},
    }
    return payloads[kind]


def event(n: int) -> Event:
    """The n-th event, of the kinds in turn."""
    kinds = list(EVENT_TYPES.values())
    kind = kinds[n % len(kinds)]
    at = START + timedelta(minutes=n)
    seq = 1 if kind is ev.Created else 2 + n % 50
    return kind(
        customer_id=f"c{n:07d}",
        seq=seq,
        at=at,
        actor_id=f"rep{n % 50:03d}",
        **_payload(kind, n, at),
    )


@contextmanager
def standard_library() -> Iterator[None]:
    """Within it, the standard library writes and reads documents, as without the extra."""
    saved = documents.orjson
    documents.orjson = None  # type: ignore[assignment]
    try:
        yield
    finally:
        documents.orjson = saved


def best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        run()
        times.append(time.process_time() - started)
    return min(times)


def measure(label: str, values: Sequence[Any], kind: type[Any], repeat: int) -> None:
    texts = [json_text(value) for value in values]
    dicts = [encode(value) for value in values]
    loads, dumps = documents.loads, documents.dumps
    what = kind.__name__.lower()

    def read() -> None:
        for text in texts:
            read_document(kind, text, what, "bench")

    def parse() -> None:
        for text in texts:
            loads(text)

    def write() -> None:
        for value in values:
            json_text(value)

    def dump() -> None:
        for document in dicts:
            dumps(document)

    each = 1e6 / len(values)
    read_us, parse_us = best(repeat, read) * each, best(repeat, parse) * each
    write_us, dump_us = best(repeat, write) * each, best(repeat, dump) * each
    print(
        f"{label:<26} read  {read_us:8.2f} µs   floor {parse_us:6.2f} µs   "
        f"ratio {read_us / parse_us:6.1f}   ({1e6 / read_us:10,.0f} /s)"
    )
    print(
        f"{label:<26} write {write_us:8.2f} µs   floor {dump_us:6.2f} µs   "
        f"ratio {write_us / dump_us:6.1f}   ({1e6 / write_us:10,.0f} /s)"
    )


def run_all(
    customers: Sequence[Customer], events: Sequence[Event], reader: str, repeat: int
) -> None:
    measure(f"customers, {reader}", customers, Customer, repeat)
    measure(f"events, {reader}", events, Event, repeat)


def profile(customers: Sequence[Customer], events: Sequence[Event], top: int) -> None:
    texts = [(Customer, json_text(value)) for value in customers]
    texts += [(Event, json_text(value)) for value in events]
    profiler = cProfile.Profile()
    profiler.enable()
    for kind, text in texts:
        read_document(kind, text, "value", "bench")
    for value in [*customers, *events]:
        json_text(value)
    profiler.disable()
    print(f"\nprofile of reading and writing every value once (top {top} by own time):")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=10_000, help="customers, and as many events")
    parser.add_argument("--repeat", type=int, default=3, help="passes; the best is printed")
    parser.add_argument("--profile", type=int, default=0, metavar="TOP", help="print a profile")
    args = parser.parse_args(argv)

    customers = [customer(n) for n in range(args.values)]
    events = [event(n) for n in range(args.values)]
    print(
        f"{args.values:,} customers and {args.values:,} events "
        f"({len(EVENT_TYPES)} kinds); per value, best of {args.repeat}"
    )
    if documents.fast():
        run_all(customers, events, "orjson", args.repeat)
    with standard_library():
        run_all(customers, events, "json", args.repeat)
    if args.profile:
        profile(customers, events, args.profile)


if __name__ == "__main__":
    main()
