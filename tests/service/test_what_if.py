"""What-if: what a candidate policy would do, before anyone applies it.

One test per kind of change (shorter and longer periods, rules added and removed, grade
scopes, caps and claim limits cut), who may ask what, and the property that matters most:
on random books, policies and candidates, the drops and warnings the what-if predicts are
exactly those sweeps then make once ``change_policy(candidate)`` is applied, on the memory
and the SQLite stores. The what-if itself changes nothing: the store's values, and on
SQLite the database file's bytes.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _state import store_state
from poolkit import (
    ActionKind,
    DropShift,
    ManualClock,
    MemoryStore,
    Policy,
    PoolService,
    Rep,
    Team,
    WhatIf,
)
from poolkit.clock import utc
from poolkit.errors import ConfigError, InvalidValueError, RepInactiveError
from poolkit.events import Event
from poolkit.model.history import replay
from poolkit.policy import rules
from poolkit.ports import Store
from poolkit.service.stored_policy import StoredPolicy, save
from poolkit.stores.sqlite import SqliteStore
from poolkit.testing import strategies

DAY = timedelta(days=1)
START = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # the fixture clock's

# The conftest's make_service, typed here: no test imports a conftest by name.
ServiceFactory = Callable[[Mapping[str, Any] | Policy, Mapping[str, Any] | Team], PoolService]

POLICY: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "drop_rules": [
        {"name": "stale", "kind": "no_follow_up", "days": 15, "warn_days": 3},
    ],
    "caps": {"default": 100},
    "claim_limit": {"max_claims": 5, "window_days": 7},
}

TEAM: dict[str, Any] = {
    "reps": [
        {"id": "admin", "admin": True},
        {"id": "zhao"},
        {"id": "li", "supervisor": "zhao"},
        {"id": "wang", "supervisor": "zhao"},
        {"id": "chen"},
    ],
    "pools": [
        {"id": "east", "default": True, "managers": ["chen"]},
        {"id": "vip", "members": ["li", "wang", "chen"]},
    ],
}


def candidate(**changes: Any) -> Policy:
    return Policy.from_dict({**POLICY, **changes})


@pytest.fixture
def service(make_service: ServiceFactory, clock: ManualClock) -> PoolService:
    """Li took a1..a4 on days 0..3 (grade A, B, C, C), Wang w1 on day 0; it is day 4."""
    service = make_service(POLICY, TEAM)
    for number, grade in enumerate("ABCC", start=1):
        service.create("li", f"Acme {number}", customer_id=f"a{number}", grade=grade)
        clock.advance(days=1)
    clock.set(START)
    service.create("wang", "Wu", customer_id="w1", grade="B")
    clock.set(START + 4 * DAY)
    return service


def shifts(result: WhatIf) -> dict[str, tuple[DropShift, timedelta | None]]:
    return {item.customer_id: (item.shift, item.moved_by) for item in result.items}


def acts(result: WhatIf) -> list[tuple[str, ActionKind, datetime, str]]:
    return [
        (item.customer_id, action.action, action.at, action.rule)
        for item in result.items
        for action in item.actions
    ]


def test_a_shorter_period_moves_every_drop_earlier_and_names_who_drops_by_until(
    service: PoolService,
) -> None:
    ten = candidate(drop_rules=[{"name": "stale-10", "kind": "no_follow_up", "days": 10}])
    result = service.what_if(ten, START + 12 * DAY)
    assert (result.customers, result.changed, result.earlier, result.later) == (5, 5, 5, 0)
    assert shifts(result)["a1"] == (DropShift.EARLIER, -5 * DAY)
    # Soonest drop first: a1 and w1 were taken first (ties by id).
    assert [item.customer_id for item in result.items] == ["a1", "w1", "a2", "a3", "a4"]
    assert acts(result) == [
        ("a1", ActionKind.DROP, START + 10 * DAY, "stale-10"),
        ("w1", ActionKind.DROP, START + 10 * DAY, "stale-10"),
        ("a2", ActionKind.DROP, START + 11 * DAY, "stale-10"),
        ("a3", ActionKind.DROP, START + 12 * DAY, "stale-10"),
    ]
    a1 = result.items[0]
    assert (a1.drop_at, a1.rule, a1.new_drop_at, a1.new_rule) == (
        START + 15 * DAY,
        "stale",
        START + 10 * DAY,
        "stale-10",
    )
    assert a1.actions[0].code == "drop.no_follow_up" and "10 days" in a1.actions[0].message
    # Under the policy in force, the same days bring only warnings (three days ahead).
    assert [a.action for a in a1.current_actions] == [ActionKind.WARN]
    assert (result.drops, result.new_drops, result.warnings, result.new_warnings) == (0, 4, 2, 0)
    rows = {rep.rep_id: rep for rep in result.reps}
    assert (rows["li"].new_drops, rows["li"].earlier, rows["wang"].new_drops) == (3, 4, 1)
    assert (rows["li"].warnings, rows["wang"].warnings) == (1, 1)
    assert [(p.pool_id, p.new_drops, p.earlier) for p in result.pools] == [("east", 4, 5)]


def test_until_takes_in_a_drop_due_exactly_then_and_not_a_second_earlier(
    service: PoolService,
) -> None:
    ten = candidate(drop_rules=[{"name": "stale-10", "kind": "no_follow_up", "days": 10}])
    due = START + 10 * DAY  # a1 and w1, taken on day 0
    second = timedelta(seconds=1)
    assert service.what_if(ten, due - second).new_drops == 0
    assert service.what_if(ten, due).new_drops == 2
    assert service.what_if(ten, due + second).new_drops == 2
    # A drop the candidate makes overdue is made by the first sweep: now.
    clock = service.clock
    assert isinstance(clock, ManualClock)
    clock.set(START + 11 * DAY - second)
    overdue = service.what_if(ten, clock.now())
    assert {(a.customer_id, a.at) for i in overdue.items for a in i.actions} == {
        ("a1", clock.now()),
        ("w1", clock.now()),
    }
    assert overdue.items[0].new_drop_at == due


def test_a_longer_period_moves_drops_later_and_takes_back_the_warnings(
    service: PoolService,
) -> None:
    thirty = candidate(
        drop_rules=[{"name": "stale", "kind": "no_follow_up", "days": 30, "warn_days": 3}]
    )
    result = service.what_if(thirty, START + 15 * DAY)
    assert (result.later, result.earlier, result.new_drops, result.new_warnings) == (5, 0, 0, 0)
    assert (result.drops, result.warnings) == (2, 5)
    assert shifts(result)["a4"] == (DropShift.LATER, 15 * DAY)
    assert all(item.actions == () for item in result.items)


def test_a_new_rule_drops_customers_no_rule_watched(service: PoolService) -> None:
    no_rules = candidate(drop_rules=[])
    service.change_policy(no_rules)
    result = service.what_if(candidate(), START + 13 * DAY)
    assert {item.customer_id: item.shift for item in result.items} == dict.fromkeys(
        ["a1", "a2", "a3", "a4", "w1"], DropShift.NEW
    )
    assert result.items[0].drop_at is None and result.items[0].moved_by is None
    # Warned three days ahead: a1 and w1 (taken on day 0) and a2 (day 1) by day 13.
    assert result.new == 5 and result.new_warnings == 3 and result.warnings == 0


def test_a_removed_rule_drops_nobody(service: PoolService) -> None:
    result = service.what_if(candidate(drop_rules=[]), START + 20 * DAY)
    assert result.gone == 5 and result.drops == 5 and result.new_drops == 0
    assert all(item.new_drop_at is None and item.actions == () for item in result.items)


def test_a_rule_scoped_to_a_grade_changes_that_grade_only(service: PoolService) -> None:
    scoped = candidate(
        drop_rules=[
            {"name": "stale", "kind": "no_follow_up", "days": 15, "warn_days": 3},
            {"name": "cold-c", "kind": "no_follow_up", "days": 5, "grades": ["C"]},
        ]
    )
    result = service.what_if(scoped, START + 9 * DAY)
    assert sorted(shifts(result)) == ["a3", "a4"]
    assert acts(result) == [
        ("a3", ActionKind.DROP, START + 7 * DAY, "cold-c"),
        ("a4", ActionKind.DROP, START + 8 * DAY, "cold-c"),
    ]
    assert result.customers == 5 and result.changed == 2


def test_the_same_instant_under_a_new_warning_is_a_change_of_warnings_only(
    service: PoolService,
) -> None:
    earlier_warning = candidate(
        drop_rules=[{"name": "stale", "kind": "no_follow_up", "days": 15, "warn_days": 7}]
    )
    result = service.what_if(earlier_warning, START + 9 * DAY)
    assert {item.shift for item in result.items} == {DropShift.SAME}
    assert sorted(shifts(result)) == ["a1", "a2", "w1"]  # warned by day 9 now
    assert result.new_warnings == 3 and result.warnings == 0
    assert (result.earlier, result.later, result.new, result.gone) == (0, 0, 0, 0)


def test_the_same_policy_changes_nothing(service: PoolService) -> None:
    result = service.what_if(service.policy, START + 30 * DAY)
    assert (result.changed, result.items, result.more, result.customers) == (0, (), 0, 5)
    assert result.drops == result.new_drops == 5


def test_a_lower_cap_names_who_would_be_over_it_and_by_how_many(service: PoolService) -> None:
    service.update_rep(Rep(id="wang", supervisor_id="zhao", cap=3))
    result = service.what_if(candidate(caps={"default": 2, "per_rep": {"chen": 9}}), START)
    rows = {rep.rep_id: rep for rep in result.reps}
    li, wang, chen = rows["li"], rows["wang"], rows["chen"]
    assert (li.held, li.new_held, li.cap, li.new_cap, li.over_cap, li.cap_full) == (
        4, 4, 100, 2, 2, True,
    )  # fmt: skip
    # A rep's own cap outranks the default, the policy's per-rep entry outranks both.
    assert (wang.cap, wang.new_cap, wang.over_cap, wang.cap_full) == (3, 3, 0, False)
    assert (chen.new_cap, chen.over_cap) == (9, 0)
    assert result.over_cap == (li,)
    # Cap counting follows the candidate too: with deals not counted, a customer with a
    # deal leaves the count.
    service.follow_up("li", "a1", "deal")
    not_dealt = service.what_if(candidate(caps={"default": 2, "count_dealt": False}), START)
    li = {rep.rep_id: rep for rep in not_dealt.reps}["li"]
    assert (li.held, li.new_held, li.over_cap) == (4, 3, 1)


def test_a_lower_claim_limit_names_who_claimed_past_it(
    make_service: ServiceFactory, clock: ManualClock
) -> None:
    service = make_service(POLICY, TEAM)
    for number in range(4):
        service.create("admin", f"Lead {number}", customer_id=f"p{number}", public=True)
    for number in range(4):
        service.claim("li" if number < 3 else "wang", f"p{number}")
        clock.advance(days=2)
    # Li claimed on days 0, 2 and 4; it is day 8: the 7-day window holds days 2 and 4.
    result = service.what_if(
        candidate(claim_limit={"max_claims": 1, "window_days": 10}), clock.now()
    )
    rows = {rep.rep_id: rep for rep in result.reps}
    li = rows["li"]
    assert (li.claims, li.new_claims, li.claim_limit, li.new_claim_limit) == (2, 3, 5, 1)
    assert (li.over_claim_limit, li.claims_blocked) == (2, True)
    assert (rows["wang"].new_claims, rows["wang"].over_claim_limit) == (1, 0)
    assert rows["wang"].claims_blocked
    assert result.over_claim_limit == (li,)


def test_who_asks_decides_whose_customers_it_covers(service: PoolService) -> None:
    ten = candidate(drop_rules=[{"name": "stale-10", "kind": "no_follow_up", "days": 10}])
    until = START + 30 * DAY

    def covered(actor_id: str | None) -> tuple[list[str], list[str]]:
        result = service.what_if(ten, until, actor_id=actor_id)
        return [i.customer_id for i in result.items], [r.rep_id for r in result.reps]

    everyone = covered(None)
    assert everyone == (["a1", "w1", "a2", "a3", "a4"], ["admin", "chen", "li", "wang", "zhao"])
    assert covered("admin") == everyone
    assert covered("zhao") == (everyone[0], ["li", "wang", "zhao"])  # the reps below
    assert covered("li") == (["a1", "a2", "a3", "a4"], ["li"])
    # Chen manages the default pool, where every customer here belongs: Chen oversees them,
    # but has rows only for Chen.
    assert covered("chen") == (everyone[0], ["chen"])
    service.depart("admin", "wang")
    with pytest.raises(RepInactiveError):
        service.what_if(ten, until, actor_id="wang")


def test_the_stream_lists_every_changed_customer_by_id_and_the_summary_keeps_limit(
    service: PoolService,
) -> None:
    ten = candidate(drop_rules=[{"name": "stale-10", "kind": "no_follow_up", "days": 10}])
    until = START + 30 * DAY
    everything = service.what_if(ten, until, limit=None)
    assert len(everything.items) == everything.changed == 5 and everything.more == 0
    two = service.what_if(ten, until, limit=2)
    assert two.items == everything.items[:2] and two.more == 3
    assert (two.changed, two.new_drops, two.reps) == (5, 5, everything.reps)
    assert service.what_if(ten, until, limit=0).items == ()
    streamed = list(service.what_if_items(ten, until))
    assert streamed == sorted(everything.items, key=lambda item: item.customer_id)
    with pytest.raises(InvalidValueError):
        service.what_if(ten, until, limit=-1)


def test_a_candidate_change_policy_would_refuse_is_refused(service: PoolService) -> None:
    routed = candidate(routing=[{"attribute": "city", "equals": "Ningbo", "pool": "nowhere"}])
    with pytest.raises(ConfigError):
        service.what_if(routed, START + DAY)
    with pytest.raises(ConfigError):
        service.change_policy(routed)


def test_the_what_if_changes_nothing_and_reads_in_pages(
    make_service: ServiceFactory, store: MemoryStore, clock: ManualClock
) -> None:
    service = PoolService(store, Policy.from_dict(POLICY), clock, sweep_batch=2)
    service.setup(Team.from_dict(TEAM))
    for number in range(7):
        service.create("li", f"Acme {number}", customer_id=f"a{number}")
    service.create("admin", "Public", customer_id="p1", public=True)
    before = store_state(store)
    with store.unit_of_work() as uow:
        settings_before = {key: uow.settings.get(key) for key in ("policy", "policy.version")}
    ten = candidate(drop_rules=[{"name": "stale-10", "kind": "no_follow_up", "days": 10}])
    result = service.what_if(ten, START + 20 * DAY)
    assert result.customers == 7 and result.new_drops == 7
    assert store_state(store) == before
    with store.unit_of_work() as uow:
        assert {key: uow.settings.get(key) for key in settings_before} == settings_before
    assert service.policy == Policy.from_dict(POLICY)


# ---------------------------------------------------------------- not blocking writers


def test_a_writer_commits_at_once_between_the_pages_of_a_long_what_if(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    clock = ManualClock(START)
    with SqliteStore(path) as store, SqliteStore(path, busy_timeout_s=0) as impatient:
        service = PoolService(store, Policy.from_dict(POLICY), clock, sweep_batch=3)
        service.setup(Team.from_dict(TEAM))
        for number in range(10):
            service.create("li", f"Acme {number}", customer_id=f"a{number}")
        writer = PoolService(impatient, None, clock)
        ten = candidate(drop_rules=[{"name": "stale-10", "kind": "no_follow_up", "days": 10}])
        stream = service.what_if_items(ten, START + 30 * DAY)
        first = next(stream)  # the first page was read; the what-if is under way
        assert first.customer_id == "a0"
        # Another connection, one that will not wait a moment for a lock, writes and
        # commits: the what-if holds no lock between its pages. a9's page is still to be
        # read, so the what-if sees its follow-up; a1's was read, so a1 is judged as it was.
        clock.advance(days=1)
        writer.follow_up("li", "a9", "call")
        writer.follow_up("li", "a1", "call")
        rest = {item.customer_id: item for item in stream}
        assert sorted(rest) == [f"a{n}" for n in range(1, 10)]
        assert rest["a1"].drop_at == START + 15 * DAY
        assert rest["a9"].drop_at == START + 16 * DAY


def test_writers_in_other_threads_carry_on_while_a_what_if_runs(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    clock = ManualClock(START)
    with SqliteStore(path) as store:
        service = PoolService(store, Policy.from_dict(POLICY), clock, sweep_batch=5)
        service.setup(Team.from_dict(TEAM))
        for number in range(60):
            service.create("li", f"Acme {number}", customer_id=f"a{number:02d}")
        ten = candidate(drop_rules=[{"name": "stale-10", "kind": "no_follow_up", "days": 10}])
        results: list[WhatIf] = []
        errors: list[BaseException] = []

        def ask() -> None:
            try:
                results.append(service.what_if(ten, START + 30 * DAY))
            except BaseException as error:  # reported below
                errors.append(error)

        asker = threading.Thread(target=ask)
        asker.start()
        with SqliteStore(path) as other:
            writer = PoolService(other, None, clock)
            for number in range(20):
                writer.follow_up("li", f"a{number:02d}", "call")
        asker.join(120)
        assert not asker.is_alive() and errors == []
        assert results[0].customers == 60
        assert len(service.history("a00")) == 2


# ---------------------------------------------------------------- the file's bytes


def file_hashes(path: Path) -> dict[str, str]:
    out = {}
    for suffix in ("", "-wal"):
        part = Path(f"{path}{suffix}")
        out[suffix] = hashlib.sha256(part.read_bytes()).hexdigest() if part.exists() else ""
    return out


def test_a_what_if_leaves_the_database_file_byte_for_byte_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    clock = ManualClock(START)
    with SqliteStore(path) as store:
        service = PoolService(store, Policy.from_dict(POLICY), clock, sweep_batch=4)
        service.setup(Team.from_dict(TEAM))
        for number in range(10):
            service.create("li" if number % 2 else "wang", f"Acme {number}")
        service.create("admin", "Public", public=True)
        clock.advance(days=9)
        before = file_hashes(path)
        ten = candidate(
            drop_rules=[{"name": "stale-10", "kind": "no_follow_up", "days": 10}],
            caps={"default": 3},
        )
        result = service.what_if(ten, clock.now() + 14 * DAY, actor_id="zhao")
        assert result.new_drops == 10 and len(result.over_cap) == 2
        list(service.what_if_items(ten, clock.now() + 14 * DAY))
        assert file_hashes(path) == before


# ---------------------------------------------------------------- the property

REPS = ("li", "wang", "zhao")
POOLS = ("east", "north")


@st.composite
def cases(draw: st.DrawFn) -> tuple[Policy, Policy, list[list[Event]], datetime, timedelta]:
    """A policy in force, a candidate, a few random histories, a time after every event
    and how far ahead to ask."""

    def policy() -> Policy:
        return draw(
            strategies.policies(
                rep_ids=REPS, pool_ids=POOLS, max_rules=3, max_days=20, timezones=st.just("UTC")
            )
            | strategies.policies(rep_ids=REPS, pool_ids=POOLS, max_rules=3, max_days=20)
        )

    current = policy()
    other = policy()
    # Most of the time the candidate changes only the rules, as a director's edit would:
    # other rules, or the same rules with other periods and warnings.
    edit = draw(st.sampled_from(["all", "rules", "periods"]))
    if edit == "rules":
        other = Policy.from_dict({**current.to_dict(), "drop_rules": other.to_dict()["drop_rules"]})
    elif edit == "periods":
        edited = []
        for rule in current.to_dict()["drop_rules"]:
            days = draw(st.integers(1, 20))
            edited.append({**rule, "days": days, "warn_days": draw(st.integers(0, days - 1))})
        other = Policy.from_dict({**current.to_dict(), "drop_rules": edited})
    logs = [
        draw(strategies.histories(rep_ids=REPS, pool_ids=POOLS, max_events=6, customer_id=f"c{n}"))
        for n in range(draw(st.integers(1, 6)))
    ]
    latest = max((event.at for log in logs for event in log), key=utc)
    now = latest + draw(st.timedeltas(timedelta(0), timedelta(days=10)))
    return current, other, logs, now, draw(st.timedeltas(timedelta(0), timedelta(days=40)))


def load(store: Store, policy: Policy, logs: list[list[Event]]) -> None:
    with store.unit_of_work() as uow:
        for log in logs:
            for event in log:
                uow.events.append(event)
            customer = replay(log)
            if customer is not None:
                uow.customers.add(customer, rules.schedule(customer, policy))
        save(uow.settings, StoredPolicy(policy, 1, 1))
        uow.commit()


Seen = tuple[str, ActionKind, datetime, str, str]


def what_if_then_apply(store: Store, case: Any) -> None:
    current, other, logs, now, ahead = case
    load(store, current, logs)
    clock = ManualClock(now)
    service = PoolService(store, None, clock, sweep_batch=2)
    until = now + ahead
    before = store_state(store)
    result = service.what_if(other, until, limit=None)
    forecast = service.forecast(until)
    assert store_state(store) == before
    assert list(service.what_if_items(other, until)) == sorted(
        result.items, key=lambda item: item.customer_id
    )
    changed = {item.customer_id: item for item in result.items}
    # The what-if's own view of the policy in force is the forecast's.
    assert [f for f in forecast if f.customer_id in changed] == sorted(
        (a for item in result.items for a in item.current_actions),
        key=lambda f: (utc(f.at), f.customer_id, f.action.value),
    )
    predicted: list[Seen] = sorted(
        (f.customer_id, f.action, utc(f.at), f.rule, f.code)
        for f in [
            *(f for f in forecast if f.customer_id not in changed),
            *(a for item in result.items for a in item.actions),
        ]
    )
    assert result.new_drops == sum(1 for p in predicted if p[1] is ActionKind.DROP)
    assert result.new_warnings == sum(1 for p in predicted if p[1] is ActionKind.WARN)
    # Now apply the candidate and let sweeps run at every instant the what-if named.
    service.change_policy(other)
    swept: list[Seen] = []
    for at in sorted({p[2] for p in predicted}):
        clock.set(at)
        report = service.sweep(at)
        swept += [
            (item.customer_id, item.kind, at, item.rule, item.code)
            for item in report.dropped + report.warned
        ]
    assert sorted(swept) == predicted
    # Nothing is left for a sweep at the end of the window that the what-if did not name.
    clock.set(max(until, now, key=utc))
    assert not service.sweep().changed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_applying_the_candidate_does_what_the_what_if_said_in_memory(case: Any) -> None:
    what_if_then_apply(MemoryStore(), case)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_applying_the_candidate_does_what_the_what_if_said_on_sqlite(case: Any) -> None:
    with tempfile.TemporaryDirectory() as folder, SqliteStore(Path(folder) / "p.db") as store:
        what_if_then_apply(store, case)
