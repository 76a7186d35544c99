"""Import of a customer file on the SQLite store, against a raw SQL floor.

Run:  python benchmarks/bench_import.py                         (50,000 rows; empty, 1,000,000)
      python benchmarks/bench_import.py --rows 5000 --stored 20000   (quicker)
      python benchmarks/bench_import.py --batch-size 5000     (the import's batch_size)
      python benchmarks/bench_import.py --keep /var/tmp/poolkit-bench
          (keeps the databases it builds there, named by schema version and book make, and
          reuses them: the 1,000,000-customer one takes minutes to build)

The book (``--rows``) is a realistic mix (``poolkit.testing.books.realistic_names``: Chinese
and English names, branches, 2% near-duplicates of earlier rows) with a mobile phone each;
5% of the rows carry a phone of a stored customer written another way (collisions, when
customers are stored), 3% repeat the phone of an earlier row (duplicates), 2% a phone that
is no phone (invalid). It is written as a UTF-8 CSV and as an ``.xlsx``, and the script
times:

1. reading: ``poolkit.importing.read_file`` over each file, every row parsed;
2. the import: ``PoolService.import_customers`` of the CSV, read lazily, into a SQLite
   store that is empty and into one holding ``--stored`` public customers (written in bulk
   as the store writes them, see ``build``), with the policy's defaults: collision
   check on every key, look-alike names filed for review;
3. the floor, in the same run on a copy of the same database: one transaction of
   ``executemany`` inserting the rows the import created, their keys, name blocks, normal
   names and ``created`` events into the same tables, everything computed beforehand:
   what the writes alone cost in SQLite;

and prints the figures, the import's ratio to the floor, the peak memory of each import
(resident set of the process that runs it, alone, and of one of a fifth of the rows: the
file is streamed and the report keeps the rows that need attention only, so they differ by
what grows with the rows: the keys and external ids seen, for the duplicates within the
file, and the rows kept), and the top
functions of a cProfile of the import (of ``--profile-rows`` rows, into a fresh copy):
what is left to speed up. Wall times vary with the machine: compare the ratio.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import multiprocessing
import pstats
import random
import resource
import shutil
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from poolkit import ManualClock, Policy, PoolService, Team
from poolkit.identity.keys import normalise_keys
from poolkit.identity.similarity import name_blocks, normal_form
from poolkit.ids import TimeOrderedIds
from poolkit.importing import read_file
from poolkit.model.events import Created
from poolkit.model.history import apply
from poolkit.policy import rules
from poolkit.service.stored_policy import StoredPolicy, save
from poolkit.stores import _codec as codec  # the floor writes rows as the store would
from poolkit.stores.sql.converters import json_text
from poolkit.stores.sql.dialect import SQLITE
from poolkit.stores.sql.rows import NAME_BLOCKS, NORMAL_NAMES, SIDES, customer_row, statements
from poolkit.stores.sqlite import SqliteStore
from poolkit.stores.sqlite.migrations import SCHEMA_VERSION
from poolkit.testing.books import realistic_names
from poolkit.testing.files import write_xlsx

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
POLICY = Policy.from_dict({"timezone": "Asia/Shanghai"})
SEED = 20260112
HEADER = ["external_id", "name", "phone", "grade", "region", "tags"]
# The stored book's make, in the names of the kept books: 2 since its customers have the
# ids poolkit gives them (time-ordered, made over BOOK_SPAN) rather than numbers.
BOOK = 2
BOOK_SPAN = timedelta(days=365)


def stored_phone(number: int) -> str:
    return f"+86138{number:08d}"


def book_rows(rows: int, stored: int) -> list[list[str]]:
    rng = random.Random(SEED)
    names = realistic_names(rows, seed=SEED).names
    out: list[list[str]] = []
    for line, name in enumerate(names):
        kind = rng.random()
        if kind < 0.05 and stored:
            digits = stored_phone(rng.randrange(stored))[3:]
            phone = f"{digits[:3]} {digits[3:7]} {digits[7:]}"
        elif kind < 0.08 and line > 10:
            phone = out[rng.randrange(line)][2]
        elif kind < 0.10:
            phone = f"555-{line:04d}"
        else:
            phone = f"+86 139-{line // 10_000:04d}-{line % 10_000:04d}"
        grade, region = rng.choice("ABCDE"), rng.choice(("east", "north"))
        out.append([f"crm-{line:07d}", name, phone, grade, region, "expo"])
    return out


def write_book(directory: Path, rows: list[list[str]]) -> tuple[Path, Path]:
    csv_path, xlsx_path = directory / "book.csv", directory / "book.xlsx"
    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    write_xlsx(xlsx_path, [HEADER, *rows])
    return csv_path, xlsx_path


def time_reading(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    found = read_file(path)
    count = sum(1 for _ in found) + len(found.issues)
    return time.perf_counter() - started, count


def team() -> Team:
    return Team.from_dict(
        {
            "reps": [{"id": "admin", "admin": True}, {"id": "rep000"}],
            "pools": [
                {"id": "main", "default": True, "members": ["rep000"], "managers": ["admin"]}
            ],
        }
    )


def build(path: Path, stored: int) -> float:
    """A database holding ``stored`` public customers, each with a phone and a created
    event. Written in bulk (``executemany``, 20,000 customers a transaction) from the rows
    the store itself makes of each customer (``customer_row``, the side tables' rows,
    the codec): the same database the repositories would write, a million customers in
    minutes rather than the better part of an hour. Its indexes grow by these inserts, as
    a real book's do (an index built in one go, by ``CREATE INDEX`` or a migration that
    rebuilds it, has full pages, which the import's inserts would then split)."""
    store = SqliteStore(path)
    service = PoolService(store, POLICY, ManualClock(START))
    service.setup(team())
    with store.unit_of_work() as uow:
        save(uow.settings, StoredPolicy(POLICY, 1, 1))
        uow.commit()
    store.close()
    names = realistic_names(stored, seed=SEED + 1).names if stored else ()
    # The ids poolkit would have given customers created over the year before the import,
    # so that the indexes keyed by id look like a real book's: appended to in the order
    # the customers came, not numbered by the benchmark.
    clock = ManualClock(START - BOOK_SPAN)
    new_id = TimeOrderedIds(clock, start=SEED)
    step = BOOK_SPAN / max(stored, 1)
    sql = statements(SQLITE)
    conn = sqlite3.connect(str(path), isolation_level=None)
    started = time.perf_counter()
    for first in range(0, stored, 20_000):
        customers, events = [], []
        sides: dict[str, list[tuple[str, ...]]] = {table: [] for table in SIDES}
        blocks: list[tuple[str, str]] = []
        normals: list[tuple[str, str, str]] = []
        for number in range(first, min(stored, first + 20_000)):
            clock.advance(step)
            event = Created(
                seq=1, actor_id="admin", customer_id=new_id(), at=START,
                name=names[number], pool_id="main", keys={"phone": stored_phone(number)},
            )  # fmt: skip
            customer = apply(None, event)
            assert customer is not None
            customers.append(customer_row(customer, rules.schedule(customer, POLICY), SQLITE))
            for table, side in SIDES.items():
                sides[table] += [(*row, customer.id) for row in side.rows_of(customer)]
            blocks += [(block, customer.id) for block in name_blocks(customer.name)]
            if (form := normal_form(customer.name)) is not None:
                normals.append((form, customer.name, customer.id))
            events.append((customer.id, 1, event.kind, micros(START), json_text(event)))
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql.insert_customer, customers)
        for table, rows in sides.items():
            conn.executemany(sql.insert_side_row[table], rows)
        conn.executemany(sql.insert_side_row[NAME_BLOCKS], blocks)
        conn.executemany(sql.insert_side_row[NORMAL_NAMES], normals)
        conn.executemany(
            "INSERT INTO events (customer_id, seq, kind, at, body) VALUES (?, ?, ?, ?, ?)", events
        )
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return time.perf_counter() - started


def kept_name(stored: int, version: int) -> str:
    return f"stored-{stored}-v{version}-book{BOOK}.db"


def copy(base: Path, path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copy(base, path)
    return path


def run_import_alone(
    path: Path, csv_path: Path, limit: int | None = None, batch_size: int = 1000
) -> tuple[float, str, int]:
    """:func:`run_import` in a process of its own, and its peak resident set in bytes."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result: tuple[float, str, int] = pool.apply(
            _import_measured, (path, csv_path, limit, batch_size)
        )
    return result


def _import_measured(
    path: Path, csv_path: Path, limit: int | None, batch_size: int
) -> tuple[float, str, int]:
    cpu = time.process_time()
    elapsed, summary = run_import(path, csv_path, limit, batch_size)
    used = time.process_time() - cpu
    # The process's CPU time beside the wall time: on a machine other work keeps busy, the
    # wall time is mostly waiting for a core.
    summary += f"; {used:.1f} s of CPU"
    return elapsed, summary, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_import(
    path: Path, csv_path: Path, limit: int | None = None, batch_size: int = 1000
) -> tuple[float, str]:
    store = SqliteStore(path)
    service = PoolService(store, POLICY, ManualClock(START + timedelta(days=1)))
    found = read_file(csv_path)
    rows = (
        iter(found) if limit is None else (row for _, row in zip(range(limit), found, strict=False))
    )
    started = time.perf_counter()
    # As the CLI imports: each row's result handed on, the report keeping the rows that
    # need attention (look-alikes filed among them), so memory does not follow the file.
    report = found.report(
        service.import_customers("admin", rows, batch_size=batch_size, on_row=lambda result: None)
    )
    # Closing waits for the last batch's checkpoint, which the store runs on a thread of
    # its own: counted, as an import that leaves it undone is not finished.
    store.close()
    elapsed = time.perf_counter() - started
    return elapsed, f"{report.summary()}; {len(report.rows):,} rows kept in the report"


def micros(at: datetime | None) -> int | None:
    return (
        None if at is None else (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    )


def floor(path: Path, csv_path: Path) -> tuple[float, int]:
    """Insert what a perfect import of the rows would write, all computed beforehand."""
    at = START + timedelta(days=1)
    customers, keys, blocks, normals, events, external = [], [], [], [], [], []
    # Rows whose key a stored customer holds are collisions: the import creates none.
    with sqlite3.connect(str(path)) as conn:
        seen = {value for (value,) in conn.execute("SELECT value FROM customer_keys")}
    for row in read_file(csv_path):
        try:
            normalised = normalise_keys(row.keys, POLICY.phone_region)
        except Exception:
            continue
        if any(key.value in seen for key in normalised):
            continue
        seen |= {key.value for key in normalised}
        event = Created(
            seq=1, actor_id="admin", customer_id=f"f{row.row}", at=at, name=row.name,
            pool_id="main", keys=normalised, grade=row.grade, tags=row.tags,
            attributes=dict(row.attributes),
        )  # fmt: skip
        customer = apply(None, event)
        assert customer is not None
        schedule = rules.schedule(customer, POLICY)
        customers.append(
            (
                customer.id, customer.status.value, customer.owner_id, customer.pool_id,
                customer.grade, micros(customer.public_since), customer.version,
                micros(schedule.drop_at), micros(schedule.warn_at), micros(schedule.next_at),
                customer.name, json.dumps(codec.encode(customer), ensure_ascii=False),
            )
        )  # fmt: skip
        if row.external_id is not None:
            external.append((row.external_id, customer.id))
        keys += [(key.kind, key.value, customer.id) for key in normalised]
        blocks += [(block, customer.id) for block in name_blocks(customer.name)]
        if (form := normal_form(customer.name)) is not None:
            normals.append((form, customer.name, customer.id))
        events.append(
            (
                customer.id,
                1,
                "created",
                micros(at),
                json.dumps(codec.encode(event), ensure_ascii=False),
            )
        )
    conn = sqlite3.connect(str(path), isolation_level=None)
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO customers (id, status, owner_id, pool_id, grade, public_since, version, "
        "drop_at, warn_at, next_at, name, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        customers,
    )
    conn.executemany(
        "INSERT INTO customer_external_ids (external_id, customer_id) VALUES (?, ?)", external
    )
    conn.executemany("INSERT INTO customer_keys (kind, value, customer_id) VALUES (?, ?, ?)", keys)
    conn.executemany("INSERT INTO customer_name_blocks (block, customer_id) VALUES (?, ?)", blocks)
    conn.executemany(
        "INSERT INTO customer_normal_names (normal, name, customer_id) VALUES (?, ?, ?)",
        normals,
    )
    conn.executemany(
        "INSERT INTO events (customer_id, seq, kind, at, body) VALUES (?, ?, ?, ?, ?)", events
    )
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, len(customers)


def profile(path: Path, csv_path: Path, rows: int, top: int, batch_size: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    run_import(path, csv_path, limit=rows, batch_size=batch_size)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    lines = out.getvalue().splitlines()
    start = next(n for n, line in enumerate(lines) if "ncalls" in line)
    return "\n".join(lines[start : start + top + 1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--profile-rows", type=int, default=2_000)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument(
        "--batch-size", type=int, default=1000, help="the import's batch_size (default 1000)"
    )
    parser.add_argument(
        "--keep", type=Path, help="keep the stored books in this folder, and reuse them"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="poolkit-bench-") as tmp:
        workdir = Path(tmp)
        books = args.keep if args.keep is not None else workdir
        books.mkdir(parents=True, exist_ok=True)
        csv_path, xlsx_path = write_book(workdir, book_rows(args.rows, args.stored))
        print(f"Import of {args.rows:,} rows on SQLite (WAL), in batches of {args.batch_size:,}")
        for label, path in (("csv", csv_path), ("xlsx", xlsx_path)):
            elapsed, count = time_reading(path)
            print(
                f"read {label:<5} {count:>9,} rows in {elapsed:7.2f} s"
                f"  ({count / elapsed:,.0f} rows/s, {path.stat().st_size / 1e6:.1f} MB)"
            )
        results = []
        for stored in sorted({0, args.stored}):
            base = books / kept_name(stored, SCHEMA_VERSION)
            # A kept book of an older schema is not migrated: a migration that rebuilds an
            # index leaves its pages full, which the import's inserts would then split.
            if base.exists():
                print(f"N = {stored:,} stored (reused {base})")
            else:
                for suffix in ("", "-wal", "-shm"):  # what an interrupted build left
                    Path(f"{books / 'building.db'}{suffix}").unlink(missing_ok=True)
                built = build(books / "building.db", stored)
                (books / "building.db").rename(base)
                print(f"N = {stored:,} stored (built in {built:.1f} s)")
            elapsed, summary, peak = run_import_alone(
                copy(base, workdir / "import.db"), csv_path, None, args.batch_size
            )
            print(
                f"  import_customers {elapsed:8.2f} s  ({elapsed / args.rows * 1e3:.2f} ms a row)"
                f"  peak memory {peak / 1e6:,.0f} MB"
            )
            print(f"    {summary}")
            fifth = max(1, args.rows // 5)
            _, _, small_peak = run_import_alone(
                copy(base, workdir / "import.db"), csv_path, fifth, args.batch_size
            )
            print(f"    peak memory importing {fifth:,} rows: {small_peak / 1e6:,.0f} MB")
            raw, written = floor(copy(base, workdir / "floor.db"), csv_path)
            print(f"  floor            {raw:8.2f} s  (executemany of {written:,} customers)")
            results.append((stored, elapsed, raw))
            last_base = base
        print()
        print(f"{'stored':>10} {'import s':>10} {'floor s':>9} {'ratio':>8}")
        for stored, elapsed, raw in results:
            print(f"{stored:>10,} {elapsed:>10.2f} {raw:>9.3f} {elapsed / raw:>7.0f}x")
        print("ratio: import time / floor time, same rows, same database, same run")
        print()
        rows = min(args.profile_rows, args.rows)
        print(
            f"profile of the import of {rows:,} rows into {results[-1][0]:,} stored, by own time:"
        )
        print(
            profile(
                copy(last_base, workdir / "profile.db"), csv_path, rows, args.top, args.batch_size
            )
        )


if __name__ == "__main__":
    main()
