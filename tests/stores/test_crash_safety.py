"""Crash safety: a process sweeping or importing thousands of customers is killed with
SIGKILL at a random moment, again and again; after every kill the file must open, be
intact and consistent, and a new sweep or a new import must finish the work.

A kill lands after a random delay (from a seeded RNG) once the worker says it is about to
start. The delays are drawn up to ``max_delay``; a kill that came too late (the worker
had finished) halves it, so most kills land mid-work whatever the speed of the machine.
Which moment a kill hit does not change what must hold afterwards, only the counts each
test prints.

What is checked after every kill (``check_book``), from raw SQL and through the store:

- ``PRAGMA integrity_check`` is ok, after ``SqliteStore(path)`` opened (and recovered) it;
- every customer row's columns (status, owner, pool, grade, version, public since, the
  schedule's instants) agree with its JSON document, its schedule is the one the rules
  compute, and its key, tag and related-rep rows are exactly its keys, tags and related
  reps; every owner is a rep and every pool exists;
- every history runs ``seq`` 1..n from a ``Created`` event, its index columns agree with
  the events, and it replays to exactly the stored customer; the customers stored are
  exactly the histories not ending in ``Deleted``;
- the claims index holds exactly the ``Claimed`` events.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from _workers import ZONE, import_rows, import_until_killed, started_process, sweep_until_killed
from poolkit import ManualClock, Policy, PoolService, Team
from poolkit.events import replay
from poolkit.importer import Outcome
from poolkit.model.customer import Customer, CustomerStatus
from poolkit.model.events import Claimed, Created, Deleted, Dropped, Event, Warned
from poolkit.model.history import apply
from poolkit.policy import rules
from poolkit.stores.sqlite import SqliteStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZONE)
STALE_DAYS = 15
WARN_DAYS = 3
SWEEP_AT = T0 + timedelta(days=STALE_DAYS)
POLICY_DOC: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "drop_rules": [
        {"name": "stale-15", "kind": "no_follow_up", "days": STALE_DAYS, "warn_days": WARN_DAYS}
    ],
    # Every customer here is a "Shop <n>": look-alike reviews would only add noise.
    "similarity": {"enabled": False},
}
REPS = [f"rep{index:02d}" for index in range(30)]
# The sweep's book: four in five customers were taken at T0 and drop at SWEEP_AT; the
# fifth were taken two days later and are only warned then.
BOOK = 3000
TO_DROP = BOOK * 4 // 5
SWEEP_BATCH = 50
IMPORT_ROWS = 3000
IMPORT_BATCH = 50
SWEEP_KILLS = 12
IMPORT_KILLS = 12
FIRST_MAX_DELAY_S = 0.6

# What the ``say`` fixture (tests/conftest.py) is: it prints counts past pytest's capture.
Say = Callable[[str], None]


def team() -> Team:
    return Team.from_dict(
        {
            "reps": [{"id": "boss", "admin": True}]
            + [{"id": rep, "supervisor": "boss"} for rep in REPS],
            "pools": [{"id": "main", "default": True, "members": REPS, "managers": ["boss"]}],
        }
    )


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's backup API (whatever is still in the WAL)."""
    origin, copy = sqlite3.connect(source), sqlite3.connect(target)
    try:
        origin.backup(copy)
    finally:
        origin.close()
        copy.close()


@pytest.fixture(scope="module")
def sweep_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file holding BOOK private customers spread over 30 reps, every one of them due
    at SWEEP_AT. The customers are written straight through the store, exactly as
    ``PoolService.create`` writes them (Created event, customer, schedule) but in one
    transaction instead of 3,000."""
    path = tmp_path_factory.mktemp("sweep-book") / "book.db"
    policy = Policy.from_dict(POLICY_DOC)
    with SqliteStore(path) as store:
        PoolService(store, policy, ManualClock(T0)).setup(team())
        with store.unit_of_work() as uow:
            for number in range(BOOK):
                rep = REPS[number % len(REPS)]
                created = Created(
                    customer_id=f"c{number:05d}",
                    seq=1,
                    at=T0 if number < TO_DROP else T0 + timedelta(days=2),
                    actor_id=rep,
                    name=f"Shop {number:05d}",
                    pool_id="main",
                    owner_id=rep,
                    keys={"phone": f"+86138{number:08d}"},
                    grade="CDE"[number % 3],
                    tags={f"fair-{number % 4}"},
                )
                customer = apply(None, created)
                assert customer is not None
                uow.events.append(created)
                uow.customers.add(customer, rules.schedule(customer, policy))
            uow.commit()
    return path


@pytest.fixture(scope="module")
def empty_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file with the team and no customer, for the import."""
    path = tmp_path_factory.mktemp("empty-book") / "book.db"
    with SqliteStore(path) as store:
        PoolService(store, Policy.from_dict(POLICY_DOC), ManualClock(T0)).setup(team())
    return path


# ---------------------------------------------------------------------------- inspection

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(at: datetime | None) -> int | None:
    return None if at is None else (at - _EPOCH) // timedelta(microseconds=1)


@attrs.frozen
class Book:
    """What a file holds, read and checked by :func:`check_book`."""

    customers: dict[str, Customer]
    histories: dict[str, list[Event]]
    due: list[str]  # customers still due at SWEEP_AT
    problems: list[str]

    def events(self, kind: type[Event]) -> Counter[str]:
        """How many events of ``kind`` each customer has."""
        return Counter(
            event.customer_id
            for history in self.histories.values()
            for event in history
            if isinstance(event, kind)
        )


def _grouped(raw: sqlite3.Connection, sql: str) -> defaultdict[str, set[Any]]:
    grouped: defaultdict[str, set[Any]] = defaultdict(set)
    for customer_id, *rest in raw.execute(sql):
        grouped[customer_id].add(tuple(rest) if len(rest) > 1 else rest[0])
    return grouped


def check_book(path: Path, policy: Policy) -> Book:
    problems: list[str] = []
    # Opening the store is the first thing checked: it recovers what the killed process
    # left in the WAL.
    with SqliteStore(path) as store:
        raw = sqlite3.connect(path)
        try:
            integrity = raw.execute("PRAGMA integrity_check").fetchall()
            rows = raw.execute(
                "SELECT id, status, owner_id, pool_id, grade, public_since, version, "
                "drop_at, warn_at, next_at, dealt, locked FROM customers ORDER BY id"
            ).fetchall()
            keys = _grouped(raw, "SELECT customer_id, kind, value FROM customer_keys")
            tags = _grouped(raw, "SELECT customer_id, tag FROM customer_tags")
            related = _grouped(raw, "SELECT customer_id, rep_id FROM customer_related")
            indexed = _grouped(raw, "SELECT customer_id, seq, kind, at FROM events")
            claims = {tuple(row) for row in raw.execute("SELECT * FROM claims")}
        finally:
            raw.close()
        if integrity != [("ok",)]:
            problems.append(f"integrity_check: {integrity}")
        with store.unit_of_work() as uow:
            reps = {rep.id for rep in uow.reps.all()}
            pools = {pool.id for pool in uow.pools.all()}
            customers: dict[str, Customer] = {}
            for row in rows:
                customer_id = row[0]
                # Decoding builds a Customer, whose construction refuses an owner without
                # a private status and the reverse.
                customer = uow.customers.get(customer_id)
                schedule = uow.customers.schedule_of(customer_id)
                assert customer is not None and schedule is not None
                customers[customer_id] = customer
                columns = (
                    customer.id,
                    customer.status.value,
                    customer.owner_id,
                    customer.pool_id,
                    customer.grade,
                    micros(customer.public_since),
                    customer.version,
                    micros(schedule.drop_at),
                    micros(schedule.warn_at),
                    micros(schedule.next_at),
                    int(customer.last_deal_at is not None),
                    int(customer.locked),
                )
                if tuple(row) != columns:
                    problems.append(f"{customer_id}: columns {row} but document {columns}")
                if schedule != rules.schedule(customer, policy):
                    problems.append(f"{customer_id}: stored schedule {schedule} is not the rules'")
                if keys[customer_id] != {(key.kind, key.value) for key in customer.keys}:
                    problems.append(f"{customer_id}: key rows {keys[customer_id]}")
                if tags[customer_id] != set(customer.tags):
                    problems.append(f"{customer_id}: tag rows {tags[customer_id]}")
                if related[customer_id] != set(customer.related_reps):
                    problems.append(f"{customer_id}: related rows {related[customer_id]}")
                if customer.owner_id is not None and customer.owner_id not in reps:
                    problems.append(f"{customer_id}: owned by unknown rep {customer.owner_id}")
                if customer.pool_id not in pools:
                    problems.append(f"{customer_id}: in unknown pool {customer.pool_id}")
            histories = {cid: uow.events.history(cid) for cid in uow.events.customer_ids()}
            due = [customer.id for customer in uow.customers.due(SWEEP_AT, 1 << 30)]
    for side_table in (keys, tags, related):
        strays = set(side_table) - set(customers)
        if strays:
            problems.append(f"side-table rows of no customer: {sorted(strays)[:5]}")
    alive = {cid for cid, history in histories.items() if not isinstance(history[-1], Deleted)}
    if alive != set(customers):
        problems.append(
            f"{len(customers)} customers but {len(alive)} live histories: "
            f"{sorted(alive ^ set(customers))[:5]}"
        )
    expected_claims: set[tuple[Any, ...]] = set()
    for customer_id, history in histories.items():
        if [event.seq for event in history] != list(range(1, len(history) + 1)):
            problems.append(f"{customer_id}: history seqs {[e.seq for e in history]}")
            continue
        if not isinstance(history[0], Created):
            problems.append(f"{customer_id}: history starts with {history[0]}")
        index_rows = {(event.seq, event.kind, micros(event.at)) for event in history}
        if indexed[customer_id] != index_rows:
            problems.append(f"{customer_id}: event rows {indexed[customer_id]}")
        if customer_id in customers and replay(history) != customers[customer_id]:
            problems.append(f"{customer_id}: the replay of {history} is not the stored customer")
        expected_claims |= {
            (e.rep_id, micros(e.at), e.customer_id, e.seq)
            for e in history
            if isinstance(e, Claimed)
        }
    if claims != expected_claims:
        problems.append(f"claims index {sorted(claims ^ expected_claims)[:5]}")
    return Book(customers, histories, due, problems)


# ---------------------------------------------------------------------------- killing


@attrs.define
class Killer:
    """Kills a worker after a random delay, and learns to come earlier when it was late."""

    rng: random.Random
    max_delay_s: float = FIRST_MAX_DELAY_S
    exit_codes: Counter[int | None] = attrs.field(factory=Counter)

    def run(self, target: Any, *args: Any) -> bool:
        """Start ``target``, kill it once it has started and a random delay has passed;
        True if it was killed, False if it had already finished."""
        delay = self.rng.uniform(0, self.max_delay_s)
        with started_process(target, *args) as process:
            # The sleep picks the moment of the kill; nothing asserted depends on it.
            time.sleep(delay)
            process.kill()
            process.join()
        self.exit_codes[process.exitcode] += 1
        finished = process.exitcode == 0
        if finished:
            self.max_delay_s /= 2
        return not finished


def spread(values: list[int]) -> str:
    return f"{min(values)}-{max(values)}" if values else "none"


# ---------------------------------------------------------------------------- sweep


def test_a_sweep_killed_at_random_moments_leaves_whole_customers_and_resumes(
    sweep_book: Path, tmp_path: Path, say: Say
) -> None:
    policy = Policy.from_dict(POLICY_DOC)
    killer = Killer(random.Random(20260305))
    problems: list[str] = []
    handled_at_kill: list[int] = []
    for trial in range(SWEEP_KILLS):
        path = tmp_path / f"sweep-{trial}.db"
        copy_database(sweep_book, path)
        killed = killer.run(
            sweep_until_killed, str(path), POLICY_DOC, SWEEP_AT.isoformat(), SWEEP_BATCH
        )
        book = check_book(path, policy)
        problems += [f"trial {trial}, after the kill: {p}" for p in book.problems]
        done = set(book.events(Dropped)) | set(book.events(Warned))
        if killed:
            handled_at_kill.append(len(done))
        # A batch is one transaction, so the customers handled are whole batches.
        if len(done) % SWEEP_BATCH and len(done) != BOOK:
            problems.append(f"trial {trial}: {len(done)} customers handled, not whole batches")
        clock = ManualClock(SWEEP_AT)
        with SqliteStore(path) as store:
            PoolService(store, policy, clock, sweep_batch=SWEEP_BATCH).sweep()
        finished = check_book(path, policy)
        problems += [f"trial {trial}, after the new sweep: {p}" for p in finished.problems]
        problems += [f"trial {trial}: {p}" for p in sweep_is_complete(finished)]
    mid_sweep = [n for n in handled_at_kill if 0 < n < BOOK]
    say(
        f"crash (sweep of {BOOK} due customers, batches of {SWEEP_BATCH}): {SWEEP_KILLS} runs, "
        f"{len(handled_at_kill)} killed ({len(mid_sweep)} mid-sweep, customers handled "
        f"before the kill: {spread(handled_at_kill)}), "
        f"{SWEEP_KILLS - len(handled_at_kill)} finished first; exit codes "
        f"{dict(killer.exit_codes)}; checked after every run: file intact, {BOOK} customers "
        f"consistent and replayable, the new sweep drops the rest ({TO_DROP} in all) and "
        f"warns {BOOK - TO_DROP}, each exactly once; {len(problems)} problems"
    )
    assert problems == []
    assert mid_sweep, "no kill landed mid-sweep: the test proved nothing"


def sweep_is_complete(book: Book) -> Iterator[str]:
    """After the sweep: nothing due, every customer taken at T0 dropped once and public,
    every later one warned once and still private."""
    if len(book.customers) != BOOK:
        yield f"{len(book.customers)} customers, expected {BOOK}"
    if book.due:
        yield f"still due: {book.due[:5]}"
    drops, warnings = book.events(Dropped), book.events(Warned)
    for number in range(BOOK):
        customer_id = f"c{number:05d}"
        customer = book.customers[customer_id]
        expected = (
            (CustomerStatus.PUBLIC, 1, 0) if number < TO_DROP else (CustomerStatus.PRIVATE, 0, 1)
        )
        found = (customer.status, drops[customer_id], warnings[customer_id])
        if found != expected:
            yield f"{customer_id}: {found}, expected {expected}"


# ---------------------------------------------------------------------------- import


def test_an_import_killed_at_random_moments_leaves_whole_rows_and_a_new_import_finishes(
    empty_book: Path, tmp_path: Path, say: Say
) -> None:
    policy = Policy.from_dict(POLICY_DOC)
    rows = import_rows(IMPORT_ROWS)
    names = [row.name for row in rows]
    killer = Killer(random.Random(20260306))
    problems: list[str] = []
    imported_at_kill: list[int] = []
    for trial in range(IMPORT_KILLS):
        path = tmp_path / f"import-{trial}.db"
        copy_database(empty_book, path)
        killed = killer.run(
            import_until_killed,
            str(path),
            POLICY_DOC,
            T0.isoformat(),
            "boss",
            IMPORT_ROWS,
            IMPORT_BATCH,
        )
        book = check_book(path, policy)
        problems += [f"trial {trial}, after the kill: {p}" for p in book.problems]
        count = len(book.customers)
        if killed:
            imported_at_kill.append(count)
        # Rows are imported in order, a batch per transaction: what is in is a prefix of
        # the file, in whole batches.
        stored = sorted(customer.name for customer in book.customers.values())
        if stored != names[:count] or (count % IMPORT_BATCH and count != IMPORT_ROWS):
            problems.append(f"trial {trial}: {count} rows in, not whole leading batches")
        with SqliteStore(path) as store:
            report = PoolService(store, policy, ManualClock(T0)).import_customers(
                "boss", rows, batch_size=500
            )
        outcomes = (report.count(Outcome.COLLISION), report.count(Outcome.CREATED))
        if outcomes != (count, IMPORT_ROWS - count) or len(report.rows) != IMPORT_ROWS:
            problems.append(f"trial {trial}: {count} were in, the new import: {report.summary()}")
        finished = check_book(path, policy)
        problems += [f"trial {trial}, after the new import: {p}" for p in finished.problems]
        if sorted(c.name for c in finished.customers.values()) != names:
            problems.append(f"trial {trial}: {len(finished.customers)} customers after the import")
        if any(c.status is not CustomerStatus.PUBLIC for c in finished.customers.values()):
            problems.append(f"trial {trial}: an imported customer is not public")
    mid_import = [n for n in imported_at_kill if 0 < n < IMPORT_ROWS]
    say(
        f"crash (import of {IMPORT_ROWS} rows, batches of {IMPORT_BATCH}): {IMPORT_KILLS} runs, "
        f"{len(imported_at_kill)} killed ({len(mid_import)} mid-import, rows in before the "
        f"kill: {spread(imported_at_kill)}), {IMPORT_KILLS - len(imported_at_kill)} finished "
        f"first; exit codes {dict(killer.exit_codes)}; checked after every run: file intact, "
        f"whole leading batches of rows only, each with its Created event; the new import "
        f"reports every row already in as a collision and creates the rest; "
        f"{len(problems)} problems"
    )
    assert problems == []
    assert mid_import, "no kill landed mid-import: the test proved nothing"
