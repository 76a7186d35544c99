"""Fuzzing the public API and the command line with nasty values.

Every operation of :class:`~poolkit.PoolService`, on a :class:`~poolkit.MemoryStore` and
on a :class:`~poolkit.stores.sqlite.SqliteStore`, is called with arguments drawn from
nasty values (lone surrogates, empty and huge strings, integers beyond 64 bits, negative
numbers, None, lists, objects, naive datetimes, instants at the ends of the calendar)
mixed with valid ids, under a clock that may sit at either end of the calendar. Each call
either succeeds or raises a :class:`~poolkit.errors.PoolkitError` (or a ``TypeError``
for a wrong type), and a call that fails leaves the store exactly as it was: customers,
schedules, histories, reps, pools, reviews and the stored policy. The command line, given
nasty argument lists, exits with one of its documented codes and never prints a traceback.

The failures found by the fuzzing are kept below as plain tests. Bounded to about half a
minute in all.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _state import StoreState, store_state
from poolkit import ManualClock, MemoryStore, Policy, Pool, PoolService, Rep, Team
from poolkit.cli import main
from poolkit.errors import InvalidValueError, PoolkitError
from poolkit.ports import Store
from poolkit.service.stored_policy import POLICY_KEY, SCHEDULES_KEY, VERSION_KEY
from poolkit.stores.sqlite import SqliteStore

# Enough to run about half a minute in all; POOLKIT_FUZZ_EXAMPLES=5000 for a long hunt.
FUZZ_EXAMPLES = int(os.environ.get("POOLKIT_FUZZ_EXAMPLES", "500"))
CLI_EXAMPLES = int(os.environ.get("POOLKIT_FUZZ_EXAMPLES", "800"))
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIRST = datetime.min.replace(tzinfo=UTC)
LAST = datetime.max.replace(tzinfo=UTC)
NEAR_END = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)

POLICY = {
    "timezone": "Asia/Shanghai",
    "drop_rules": [{"name": "stale-15", "kind": "no_follow_up", "days": 15, "warn_days": 3}],
    "caps": {"default": 3},
    "claim_limit": {"max_claims": 2, "window_days": 7},
    "cooldown": {"days": 10},
}
SHORTER = {**POLICY, "drop_rules": [{"name": "stale-5", "kind": "no_follow_up", "days": 5}]}
TEAM = {
    "reps": [
        {"id": "boss", "admin": True},
        {"id": "sup", "supervisor": "boss"},
        {"id": "alice", "supervisor": "sup"},
        {"id": "bob", "supervisor": "sup"},
    ],
    "pools": [
        {"id": "main", "default": True, "members": ["alice", "bob"], "managers": ["sup"]},
        {"id": "vip", "mode": "manager_assigns", "members": ["alice"], "managers": ["sup"]},
    ],
}
REPS = ["boss", "sup", "alice", "bob"]
POOLS = ["main", "vip"]
CUSTOMERS = ["c1", "c2", "c3", "p1", "p2"]


class Opaque:
    """An object of no type poolkit knows."""

    def __repr__(self) -> str:
        return "Opaque()"


NASTY: list[Any] = [
    "\ud800",
    "a\udcffb",
    "",
    " ",
    "x" * 5000,
    "🙂",
    2**63,
    -(2**63) - 1,
    2**64 + 1,
    -1,
    0,
    1.5,
    float("nan"),
    True,
    None,
    [],
    ["boss"],
    ("phone", "\ud800"),
    {"\ud800": 1},
    {"k": 2**70},
    Opaque(),
    b"bytes",
    datetime(2026, 3, 1),  # naive
    FIRST,
    LAST,
    NEAR_END,
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
    datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14))),
]

nasty = st.sampled_from(NASTY)


def valid(kind: str) -> st.SearchStrategy[Any]:
    """A value of the kind a parameter takes that may well succeed."""
    return {
        "actor": st.sampled_from(REPS),
        "rep": st.sampled_from(REPS),
        "customer": st.sampled_from(CUSTOMERS),
        "pool": st.sampled_from(POOLS),
        "text": st.sampled_from(["Acme", "Acme Ltd", "a reason", "x"]),
        "grade": st.sampled_from(["A", "B", None]),
        "keys": st.sampled_from([(), [("phone", "13800138000")], [("email", "a@b.example")]]),
        "tags": st.sampled_from([(), ["hot"], {"hot", "cold"}]),
        "attributes": st.sampled_from([None, {"region": "east"}, {"size": 3}]),
        "bool": st.booleans(),
        "int": st.integers(min_value=-3, max_value=600),
        "when": st.sampled_from([START, START + timedelta(days=30), START - timedelta(days=1)]),
        "status": st.sampled_from([None, "open", "merged"]),
        "method": st.sampled_from(["call", "visit", "deal"]),
        "review": st.sampled_from(["r1", "c1~c2"]),
        "rep_value": st.sampled_from([Rep("zed"), Rep("alice", cap=1), Rep("bob", active=False)]),
        "pool_value": st.sampled_from([Pool("south"), Pool("main", is_default=True)]),
        "team_value": st.just(Team.from_dict(TEAM)),
        "policy_value": st.sampled_from([Policy.from_dict(POLICY), Policy.from_dict(SHORTER)]),
        "customers": st.lists(st.sampled_from([*CUSTOMERS, "ghost"]), min_size=1, max_size=4),
        "mode": st.sampled_from(["per-customer", "all-or-nothing"]),
        "order": st.sampled_from(["name", "entered", "next_drop"]),
        "cursor": st.sampled_from([None, "", "garbage", "e30.0000000000000000"]),
    }[kind]


def argument(kind: str) -> st.SearchStrategy[Any]:
    return st.one_of(valid(kind), nasty) if kind != "opt" else nasty


# The keywords every page of customers takes.
PAGE = {"order": "order", "descending": "bool", "cursor": "cursor", "limit": "int"}

# name: (positional kinds, keyword kinds)
OPERATIONS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "create": (
        ("actor", "text"),
        {
            "customer_id": "customer",
            "keys": "keys",
            "grade": "grade",
            "tags": "tags",
            "attributes": "attributes",
            "pool_id": "pool",
            "public": "bool",
        },
    ),
    "create_with_warnings": (("actor", "text"), {"customer_id": "customer", "public": "bool"}),
    "claim": (("actor", "customer"), {}),
    "assign": (("actor", "customer", "rep"), {}),
    "return_to_pool": (("actor", "customer", "text"), {}),
    "recycle": (("actor", "customer", "text"), {}),
    "transfer": (("actor", "customer", "rep"), {}),
    "reassign": (("actor", "customer", "rep", "text"), {}),
    "change_pool": (("actor", "customer", "pool"), {}),
    "freeze": (("actor", "customer", "text"), {}),
    "restore": (("actor", "customer", "pool"), {}),
    "delete": (("actor", "customer", "text"), {}),
    "lock": (("actor", "customer"), {}),
    "unlock": (("actor", "customer"), {}),
    "change_grade": (("actor", "customer", "grade"), {}),
    "edit": (
        ("actor", "customer"),
        {"name": "text", "keys": "keys", "tags": "tags", "attributes": "attributes"},
    ),
    "follow_up": (("actor", "customer", "method", "text"), {}),
    "customer": (("customer",), {"actor_id": "actor"}),
    "history": (("customer",), {"actor_id": "actor"}),
    "merged_history": (("customer",), {}),
    "private_pool": (("rep",), {}),
    "public_pool": (
        ("pool",),
        {
            "grades": "tags",
            "tags": "tags",
            "attributes": "attributes",
            "dropped_since": "when",
            "limit": "int",
        },
    ),
    "recycle_bin": ((), {}),
    "private_pool_page": (("rep",), {**PAGE, "actor_id": "actor"}),
    "public_pool_page": (
        ("pool",),
        {**PAGE, "grades": "tags", "dropped_since": "when", "actor_id": "actor"},
    ),
    "recycle_bin_page": ((), {**PAGE, "pool_id": "pool", "actor_id": "actor"}),
    "visible_page": (("rep",), {**PAGE, "with_total": "bool"}),
    "history_page": (
        ("customer",),
        {"newest_first": "bool", "cursor": "cursor", "limit": "int", "actor_id": "actor"},
    ),
    "can_see": (("actor", "customer"), {}),
    "visible_to": (("rep",), {}),
    "reviews": (("status", "customer"), {}),
    "mark_not_same": (("actor", "review"), {}),
    "merge": (("actor", "customer", "customer"), {}),
    "similar": (("text",), {"exclude": "customer"}),
    "sweep": (("when",), {"dry_run": "bool"}),
    "forecast": (("when",), {"since": "when"}),
    "report": (("when",), {"days_back": "int", "days_ahead": "int", "actor_id": "actor"}),
    "depart": (("actor", "rep"), {}),
    "import_customers": (("actor", "opt"), {"batch_size": "int", "public": "bool"}),
    "setup": (("team_value",), {}),
    "add_rep": (("rep_value",), {}),
    "update_rep": (("rep_value",), {}),
    "add_pool": (("pool_value",), {}),
    "update_pool": (("pool_value",), {}),
    "change_policy": (("policy_value",), {}),
    "events_since": (("int",), {"limit": "int"}),
    "feed_position": (("text",), {}),
    "save_feed_position": (("text", "int"), {}),
    "bulk_claim": (("actor", "customers"), {"mode": "mode"}),
    "bulk_assign": (("actor", "customers", "rep"), {"mode": "mode"}),
    "bulk_transfer": (("actor", "customers", "rep"), {"mode": "mode"}),
    "bulk_return_to_pool": (("actor", "customers", "text"), {"mode": "mode"}),
    "bulk_recycle": (("actor", "customers", "text"), {"mode": "mode"}),
    "bulk_freeze": (("actor", "customers", "text"), {"mode": "mode"}),
    "bulk_change_grade": (("actor", "customers", "grade"), {"mode": "mode"}),
}


@attrs.frozen
class Call:
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def __repr__(self) -> str:
        parts = [repr(arg) for arg in self.args]
        parts += [f"{key}={value!r}" for key, value in self.kwargs.items()]
        return f"{self.name}({', '.join(parts)})"


@st.composite
def calls(draw: st.DrawFn) -> Call:
    name = draw(st.sampled_from(sorted(OPERATIONS)))
    positional, keywords = OPERATIONS[name]
    args = tuple(draw(argument(kind)) for kind in positional)
    chosen = draw(st.lists(st.sampled_from(sorted(keywords)), unique=True)) if keywords else []
    kwargs = {key: draw(argument(keywords[key])) for key in chosen}
    return Call(name, args, kwargs)


clocks = st.sampled_from([START, START, START, NEAR_END, FIRST, LAST, START + timedelta(days=40)])


@attrs.frozen
class Snapshot:
    state: StoreState
    reviews: list[Any]
    settings: dict[str, str | None]


def snapshot(store: Store) -> Snapshot:
    with store.unit_of_work() as uow:
        reviews = uow.reviews.find(None)
        stored = {key: uow.settings.get(key) for key in (POLICY_KEY, VERSION_KEY, SCHEDULES_KEY)}
    return Snapshot(store_state(store), reviews, stored)


def seeded(store: Store, clock: ManualClock) -> PoolService:
    """A service with two private customers, one public and a look-alike pair."""
    service = PoolService(store, Policy.from_dict(POLICY), clock)
    service.setup(Team.from_dict(TEAM))
    service.create("alice", "Acme Trading", customer_id="c1", keys=[("phone", "13800138000")])
    service.create("bob", "Acme Trading Co", customer_id="c2")
    service.create("boss", "Public One", customer_id="p1", public=True)
    return service


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    opened: list[SqliteStore] = []
    count = iter(range(10**6))

    def make() -> Store:
        if request.param == "memory":
            return MemoryStore()
        store = SqliteStore(tmp_path / f"fuzz-{next(count)}.db")
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def run(service: PoolService, call: Call) -> None:
    """Call it; a failure must be poolkit's (or a TypeError) and change nothing."""
    before = snapshot(service.store)
    try:
        getattr(service, call.name)(*call.args, **call.kwargs)
    except (PoolkitError, TypeError):
        assert snapshot(service.store) == before, f"{call!r} failed and changed the store"


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.tuples(clocks, calls()), min_size=1, max_size=10))
def test_every_failure_of_the_api_is_typed_and_changes_nothing(
    make_store: Callable[[], Store], script: list[tuple[datetime, Call]]
) -> None:
    clock = ManualClock(START)
    service = seeded(make_store(), clock)
    for now, call in script:
        clock.set(now)
        run(service, call)


# ---------------------------------------------------------------- found by fuzzing, kept


def test_nasty_arguments_are_refused_with_a_typed_error_naming_them(
    make_store: Callable[[], Store],
) -> None:
    clock = ManualClock(START)
    service = seeded(make_store(), clock)
    refusals: list[tuple[Callable[[], Any], str]] = [
        (lambda: service.create("alice", "\ud800"), "name"),
        (lambda: service.create("alice", "ok", tags=["\ud800"]), "tags"),
        (lambda: service.create("alice", "ok", attributes={"k": "\udcff"}), "attributes"),
        (lambda: service.create("alice", "ok", keys=[("phone", "\ud800")]), "keys"),
        (lambda: service.customer("\udcff"), "customer_id"),
        (lambda: service.follow_up("alice", "c1", "call", "\ud800"), "note"),
        (lambda: service.recycle("sup", "c1", "\ud800"), "reason"),
        (lambda: service.public_pool("main", limit=2**63), "limit"),
        (lambda: service.public_pool("main", limit=True), "limit"),
        (lambda: service.claim(["boss"], "p1"), "actor_id"),  # type: ignore[arg-type]
        (lambda: service.customer(object()), "customer_id"),  # type: ignore[arg-type]
        (lambda: service.reviews("nope"), "status"),  # type: ignore[arg-type]
        (lambda: service.sweep(datetime(2026, 1, 1)), "at"),
        (lambda: service.sweep(dry_run=[]), "dry_run"),  # type: ignore[arg-type]
        (lambda: service.forecast(NASTY[-2]), "until"),
    ]
    for refuse, field in refusals:
        before = snapshot(service.store)
        with pytest.raises(InvalidValueError) as caught:
            refuse()
        assert caught.value.field.startswith(field), caught.value
        assert snapshot(service.store) == before


def test_a_review_status_may_be_given_by_its_value(make_store: Callable[[], Store]) -> None:
    service = seeded(make_store(), ManualClock(START))
    assert service.reviews("open") == service.reviews()  # type: ignore[arg-type]


def test_a_deadline_beyond_the_calendar_refuses_the_operation(
    make_store: Callable[[], Store],
) -> None:
    clock = ManualClock(START)
    service = seeded(make_store(), clock)
    clock.set(NEAR_END)
    before = snapshot(service.store)
    with pytest.raises(InvalidValueError, match="outside the calendar"):
        service.create("alice", "Late Ltd")
    with pytest.raises(InvalidValueError, match="outside the calendar"):
        service.claim("alice", "p1")
    assert snapshot(service.store) == before
    service.sweep()  # the stored deadlines are all before the end: nothing overflows


def test_the_first_days_of_the_calendar_work(make_store: Callable[[], Store]) -> None:
    clock = ManualClock(FIRST)
    service = seeded(make_store(), clock)
    assert service.claim("alice", "p1").owner_id == "alice"  # a claim window before year 1
    service.sweep(dry_run=True)
    assert service.forecast(FIRST + timedelta(days=40))


# ---------------------------------------------------------------- the command line


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("fuzz-cli") / "crm.db"
    argv = ["--db", str(db), "--now", "2026-03-02T09:00:00+08:00", "init"]
    argv += ["--policy", str(EXAMPLES / "policy.toml"), "--team", str(EXAMPLES / "team.toml")]
    assert main(argv, out=io.StringIO(), err=io.StringIO()) == 0
    argv = ["--db", str(db), "--now", "2026-03-02T09:00:00+08:00", "create", "Acme"]
    assert main([*argv, "--id", "c1", "--as", "li"], out=io.StringIO(), err=io.StringIO()) == 0
    return db


COMMANDS = [
    "policy", "depart", "import", "create", "show", "history", "list", "edit", "change-grade",
    "lock", "unlock", "delete", "claim", "assign", "return", "recycle", "transfer", "reassign",
    "change-pool", "freeze", "restore", "follow-up", "sweep", "forecast", "reviews", "merge",
    "not-same", "report",
]  # fmt: skip
WORDS = [
    "c1", "li", "admin", "zhao", "east", "north", "Acme", "--as", "--limit", "--days", "--id",
    "--owner", "--pool", "--grade", "--dry-run", "--public", "--reason", "--tag", "--method",
    "\udcff", "\ud800", "", "99999999999999999999", "-1", "0", "9223372036854775808",
    "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "2026-03-01", "--now",
    "x" * 3000, "--json", "--", "-",
]  # fmt: skip
NOWS = ["2026-03-02T09:00:00+08:00", "0001-01-01T00:00:00+00:00", "9999-12-31T23:00:00+00:00",
        "9999-12-31T23:59:59-14:00", "\udcff", "2026-13-45"]  # fmt: skip


@settings(max_examples=CLI_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    now=st.sampled_from(NOWS),
    command=st.sampled_from(COMMANDS),
    words=st.lists(st.sampled_from(WORDS), max_size=6),
    as_json=st.booleans(),
)
def test_the_command_line_never_prints_a_traceback(
    cli_db: Path, tmp_path_factory: pytest.TempPathFactory, now: str, command: str,
    words: list[str], as_json: bool,
) -> None:  # fmt: skip
    db = tmp_path_factory.mktemp("run") / "crm.db"
    shutil.copy(cli_db, db)
    argv = ["--db", str(db), "--now", now, *(["--json"] if as_json else []), command, *words]
    out, err = io.StringIO(), io.StringIO()
    try:
        code = main(argv, out=out, err=err)
    except SystemExit as stop:  # argparse's own exit, for --help and usage errors
        code = stop.code if isinstance(stop.code, int) else 2
    assert code in {0, 2, 3, 4, 5}, (argv, code, err.getvalue())
    assert "Traceback" not in err.getvalue(), (argv, err.getvalue())
