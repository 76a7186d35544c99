"""Bulk moves: each move in both modes, the refusals of a request, the cap and the claim
limit reached part-way, chunks, retries, and (a property) that a bulk move is the single
moves one by one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_retries import FlakyStore, busy

from _bulk import (
    ALL,
    EACH,
    MODES,
    cap_in_a_later_chunk,
    cap_minus_two,
    claim_limit_part_way,
    owned,
    policy_doc,
    public,
    receivers_cap,
    service_on,
)
from _state import store_state
from poolkit import BulkMode, BulkResult, ManualClock, MemoryStore, PoolService
from poolkit.errors import (
    BulkAborted,
    CustomerNotFound,
    InvalidValueError,
    LockCapExceeded,
    PermissionDenied,
    PoolkitError,
    RepInactiveError,
    RepNotFound,
    WrongStateError,
)
from poolkit.events import (
    Assigned,
    Claimed,
    Frozen,
    GradeChanged,
    Recycled,
    Returned,
    Transferred,
)
from poolkit.ports import Store
from poolkit.service import bulk
from poolkit.stores.sqlite import SqliteStore


@pytest.fixture(params=["memory", "sqlite"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    with SqliteStore(tmp_path / "pool.db") as store:
        yield store


def owners(service: PoolService, ids: list[str]) -> list[str | None]:
    return [service.customer(customer_id).owner_id for customer_id in ids]


# ---------------------------------------------------------------------------- each move


@pytest.mark.parametrize("mode", MODES)
def test_each_move_moves_every_customer_with_the_single_moves_event(mode: BulkMode) -> None:
    service = service_on(MemoryStore())
    ids = public(service, 3)
    moves: list[tuple[Callable[[list[str]], BulkResult], type, Callable[[Any], bool]]] = [
        (lambda i: service.bulk_claim("li", i, mode=mode), Claimed, lambda c: c.owner_id == "li"),
        (
            lambda i: service.bulk_transfer("li", i, "wang", mode=mode),
            Transferred,
            lambda c: c.owner_id == "wang",
        ),
        (
            lambda i: service.bulk_recycle("boss", i, "slow", mode=mode),
            Recycled,
            lambda c: c.is_public,
        ),
        (
            lambda i: service.bulk_assign("boss", i, "li", mode=mode),
            Assigned,
            lambda c: c.owner_id == "li",
        ),
        (
            lambda i: service.bulk_return_to_pool("li", i, " no budget ", mode=mode),
            Returned,
            lambda c: c.is_public,
        ),
        (
            lambda i: service.bulk_change_grade("boss", i, "A", mode=mode),
            GradeChanged,
            lambda c: c.grade == "A",
        ),
        (
            lambda i: service.bulk_freeze("boss", i, "closed", mode=mode),
            Frozen,
            lambda c: c.is_frozen,
        ),
    ]
    for run, kind, moved in moves:
        result = run(ids)
        assert result.all_done and result.mode is mode
        assert [item.customer_id for item in result.items] == ids
        assert (result.done_count, result.refused_count) == (3, 0)
        for item in result.items:
            assert item.done and item.reason == "" and item.customer is not None
            stored = service.customer(item.customer_id)
            assert stored == item.customer and moved(stored), kind
            assert isinstance(service.history(item.customer_id)[-1], kind)
    returned = service.history(ids[0])[-3]
    assert isinstance(returned, Returned) and returned.reason == "no budget"


def test_a_refusal_per_customer_is_the_single_moves_refusal_and_leaves_the_others_done(
    unchanged: Callable[[Store], AbstractContextManager[None]],
) -> None:
    service = service_on(MemoryStore())
    free = public(service, 2)
    taken = owned(service, "wang", 1)[0]
    result = service.bulk_claim("li", [free[0], taken, "ghost", free[1]], mode=EACH)
    assert [item.done for item in result.items] == [True, False, False, True]
    refused = result.items[1].refusal
    assert isinstance(refused, WrongStateError) and refused.owner_id == "wang"
    assert isinstance(result.items[2].refusal, CustomerNotFound)
    assert owners(service, [free[0], taken, free[1]]) == ["li", "wang", "li"]
    # The refusals are word for word what the single move says.
    with unchanged(service.store), pytest.raises(WrongStateError) as single:
        service.claim("li", taken)
    assert str(single.value) == result.items[1].reason
    assert [item.customer_id for item in result.refused] == [taken, "ghost"]


def test_all_or_nothing_rolls_back_on_a_refusal_and_says_who_refused_and_why(
    unchanged: Callable[[Store], AbstractContextManager[None]],
) -> None:
    service = service_on(MemoryStore())
    ids = owned(service, "li", 3)
    with unchanged(service.store):
        # wang may not return li's customers: the second one refuses, all stay with li
        result = service.bulk_transfer("li", [*ids, "ghost"], "wang", mode=ALL)
    assert result.done_count == 0 and not result.all_done
    cause = result.items[3].refusal
    assert isinstance(cause, CustomerNotFound)
    for item in result.items[:3]:
        aborted = item.refusal
        assert isinstance(aborted, BulkAborted)
        assert (aborted.customer_id, aborted.refused_id, aborted.cause) == (
            item.customer_id,
            "ghost",
            cause,
        )
        assert "rolled back" in item.reason and "'ghost'" in item.reason
    assert owners(service, ids) == ["li", "li", "li"]


def test_a_right_refused_by_one_customer_refuses_only_that_customer() -> None:
    service = service_on(MemoryStore())
    mine = owned(service, "li", 1)
    theirs = owned(service, "wang", 1)
    result = service.bulk_return_to_pool("li", [*mine, *theirs], "no budget", mode=EACH)
    assert [item.done for item in result.items] == [True, False]
    refusal = result.items[1].refusal
    assert isinstance(refusal, PermissionDenied)
    assert refusal.reason == "only the owner returns a customer"


# ---------------------------------------------------------------------------- the request


@pytest.mark.parametrize(
    ("ids", "words"),
    [
        ([], "at least one"),
        (["c001", "c002", "c001"], "more than once: c001"),
        ("c001", "collection of strings"),
        (["c001", 7], "must be a string"),
        ([f"x{n}" for n in range(bulk.MAX_BULK + 1)], f"at most {bulk.MAX_BULK}"),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_a_bad_list_of_ids_is_refused_whole_and_changes_nothing(
    ids: Any, words: str, mode: BulkMode, unchanged: Callable[[Store], Any]
) -> None:
    service = service_on(MemoryStore())
    public(service, 2)
    with unchanged(service.store), pytest.raises(InvalidValueError) as error:
        service.bulk_claim("li", ids, mode=mode)
    assert error.value.field == "customer_ids" and words in str(error.value)


@pytest.mark.parametrize("mode", MODES)
def test_a_bad_actor_mode_or_reason_is_refused_whole_and_changes_nothing(
    mode: BulkMode, unchanged: Callable[[Store], Any]
) -> None:
    service = service_on(MemoryStore())
    ids = owned(service, "li", 2)
    with unchanged(service.store):
        with pytest.raises(RepNotFound):
            service.bulk_claim("nobody", ids, mode=mode)
        with pytest.raises(InvalidValueError, match="mode"):
            service.bulk_claim("li", ids, mode="sometimes")  # type: ignore[arg-type]
        with pytest.raises(InvalidValueError, match="a return needs a reason"):
            service.bulk_return_to_pool("li", ids, "  ", mode=mode)
        with pytest.raises(TypeError, match="mode"):
            service.bulk_claim("li", ids)  # type: ignore[call-arg]
    service.depart("boss", "wang")
    with unchanged(service.store), pytest.raises(RepInactiveError):
        service.bulk_claim("wang", ids, mode=mode)


def test_the_mode_may_be_given_by_its_name() -> None:
    service = service_on(MemoryStore())
    result = service.bulk_claim("li", public(service, 1), mode="all-or-nothing")  # type: ignore[arg-type]
    assert result.mode is ALL and result.all_done


def test_a_generator_of_ids_is_read_once() -> None:
    service = service_on(MemoryStore())
    ids = public(service, 3)
    result = service.bulk_claim("li", (customer_id for customer_id in ids), mode=EACH)
    assert [item.customer_id for item in result.done] == ids


# ---------------------------------------------------------------------------- caps and limits


@pytest.mark.parametrize("mode", MODES)
def test_a_bulk_claim_at_cap_minus_two_claims_two_and_refuses_the_rest_with_the_cap(
    any_store: Store, mode: BulkMode
) -> None:
    cap_minus_two(any_store, mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("move", ["assign", "transfer"])
def test_a_bulk_assign_or_transfer_stops_at_the_receivers_cap(
    any_store: Store, mode: BulkMode, move: str
) -> None:
    receivers_cap(any_store, mode, move)


@pytest.mark.parametrize("mode", MODES)
def test_a_bulk_claim_stops_at_the_claim_limit(any_store: Store, mode: BulkMode) -> None:
    claim_limit_part_way(any_store, mode)


def test_a_per_customer_bulk_larger_than_a_chunk_reaches_the_cap_in_a_later_chunk(
    any_store: Store,
) -> None:
    cap_in_a_later_chunk(any_store)


def test_a_departure_between_chunks_refuses_the_later_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = service_on(MemoryStore())
    ids = public(service, 5)
    monkeypatch.setattr(bulk, "CHUNK", 2)
    moves = bulk.BulkJobs._per_customer

    def depart_after_first(self: PoolService, actor_id: str, chunk: Any, *rest: Any) -> Any:
        items = moves(self, actor_id, chunk, *rest)
        if chunk[0] == ids[0]:
            service.depart("boss", "li")
        return items

    monkeypatch.setattr(bulk.BulkJobs, "_per_customer", depart_after_first)
    result = service.bulk_claim("li", ids, mode=EACH)
    assert [item.done for item in result.items] == [True, True, False, False, False]
    assert all(isinstance(item.refusal, RepInactiveError) for item in result.refused)


# ---------------------------------------------------------------------------- retries


@pytest.mark.parametrize("mode", MODES)
def test_a_chunk_that_fails_transiently_is_run_again_whole(mode: BulkMode) -> None:
    flaky = FlakyStore()
    service = service_on(flaky)  # type: ignore[arg-type]
    ids = public(service, 3)
    flaky.failures = [busy, busy]
    result = service.bulk_claim("li", ids, mode=mode)
    assert result.all_done and flaky.commits_refused == 2
    assert owners(service, ids) == ["li"] * 3
    # Each customer claimed once: the failed runs wrote nothing.
    assert [len(service.history(customer_id)) for customer_id in ids] == [2, 2, 2]


# ---------------------------------------------------------------------------- the property

MOVES = ("claim", "assign", "transfer", "return", "recycle", "freeze", "grade")
PLACES = ("public", "li", "wang", "frozen")


def single(service: PoolService, move: str, actor: str, customer_id: str) -> None:
    if move == "claim":
        service.claim(actor, customer_id)
    elif move == "assign":
        service.assign(actor, customer_id, "wang")
    elif move == "transfer":
        service.transfer(actor, customer_id, "wang")
    elif move == "return":
        service.return_to_pool(actor, customer_id, "no budget")
    elif move == "recycle":
        service.recycle(actor, customer_id, "slow")
    elif move == "freeze":
        service.freeze(actor, customer_id, "closed")
    else:
        service.change_grade(actor, customer_id, "B")


def bulked(
    service: PoolService, move: str, actor: str, ids: list[str], mode: BulkMode
) -> BulkResult:
    if move == "claim":
        return service.bulk_claim(actor, ids, mode=mode)
    if move == "assign":
        return service.bulk_assign(actor, ids, "wang", mode=mode)
    if move == "transfer":
        return service.bulk_transfer(actor, ids, "wang", mode=mode)
    if move == "return":
        return service.bulk_return_to_pool(actor, ids, "no budget", mode=mode)
    if move == "recycle":
        return service.bulk_recycle(actor, ids, "slow", mode=mode)
    if move == "freeze":
        return service.bulk_freeze(actor, ids, "closed", mode=mode)
    return service.bulk_change_grade(actor, ids, "B", mode=mode)


def seeded(places: list[str], room: dict[str, int], limit: int | None) -> PoolService:
    """Customers placed as ``places`` say; a rep in ``room`` has a cap that many above what
    they hold, and each rep may make ``limit`` claims a day."""
    caps = {rep: places.count(rep) + extra for rep, extra in room.items()}
    policy = policy_doc(caps={"per_rep": caps})
    if limit is not None:
        policy["claim_limit"] = {"window_days": 1, "per_rep": {"li": limit, "wang": limit}}
    service = service_on(MemoryStore(), policy)
    for number, place in enumerate(places):
        made = service.create("boss", f"Shop {number}", public=True, grade="AB"[number % 2])
        if place in ("li", "wang"):
            service.assign("boss", made.id, place)
        elif place == "frozen":
            service.freeze("boss", made.id)
    return service


@settings(max_examples=60)
@given(
    places=st.lists(st.sampled_from(PLACES), min_size=1, max_size=8),
    move=st.sampled_from(MOVES),
    actor=st.sampled_from(("boss", "li", "wang")),
    room=st.dictionaries(st.sampled_from(("li", "wang")), st.integers(0, 3)),
    limit=st.none() | st.integers(0, 4),
    data=st.data(),
)
def test_a_bulk_move_is_the_single_moves_one_by_one(
    places: list[str],
    move: str,
    actor: str,
    room: dict[str, int],
    limit: int | None,
    data: st.DataObject,
) -> None:
    known = [f"c{n:03d}" for n in range(1, len(places) + 1)]
    ids = data.draw(
        st.lists(st.sampled_from([*known, "ghost"]), min_size=1, unique=True).flatmap(
            st.permutations
        ),
        label="ids",
    )
    # The single moves, one by one, on one store...
    by_hand = seeded(places, room, limit)
    expected: list[PoolkitError | None] = []
    for customer_id in ids:
        try:
            single(by_hand, move, actor, customer_id)
            expected.append(None)
        except PoolkitError as error:
            expected.append(error)
    # ...are what a per-customer bulk move does on a store set up alike,
    each = seeded(places, room, limit)
    result = bulked(each, move, actor, ids, EACH)
    assert [(type(e), str(e)) for e in expected] == [
        (type(item.refusal), str(item.refusal)) for item in result.items
    ]
    assert store_state(each.store) == store_state(by_hand.store)
    # and an all-or-nothing one does them all, or none when any is refused.
    whole = seeded(places, room, limit)
    before = store_state(whole.store)
    result = bulked(whole, move, actor, ids, ALL)
    refused = [n for n, error in enumerate(expected) if error is not None]
    if refused:
        assert store_state(whole.store) == before
        first = refused[0]
        assert result.done_count == 0
        cause = result.items[first].refusal
        assert (type(cause), str(cause)) == (type(expected[first]), str(expected[first]))
        for n, item in enumerate(result.items):
            if n != first:
                assert isinstance(item.refusal, BulkAborted)
                assert item.refusal.refused_id == ids[first]
    else:
        assert result.all_done
        assert store_state(whole.store) == store_state(by_hand.store)


# ---------------------------------------------------------------------------- the calendar's end


@pytest.mark.parametrize("mode", MODES)
def test_a_deadline_past_the_calendar_refuses_that_customer_and_writes_none_of_it(
    any_store: Store, mode: BulkMode
) -> None:
    """The refusal comes from the write (the new schedule), not the checks: it must still
    come before anything of that customer is written, so the chunk can go on."""
    policy = policy_doc(drop_rules=[{"name": "stale", "kind": "no_follow_up", "days": 5}])
    service = service_on(any_store, policy)
    ids = public(service, 2)
    clock = service.clock
    assert isinstance(clock, ManualClock)
    before = store_state(any_store)
    clock.set(datetime(9999, 12, 31, 23, 0, tzinfo=UTC))
    result = service.bulk_claim("li", ids, mode=mode)
    assert result.done_count == 0
    refusal = result.items[0].refusal
    assert isinstance(refusal, InvalidValueError) and "outside the calendar" in str(refusal)
    assert store_state(any_store) == before


# ---------------------------------------------------------------------------- the books


@pytest.mark.parametrize("mode", MODES)
def test_a_bulk_transfer_of_locked_customers_stops_at_the_receivers_lock_cap(
    any_store: Store, mode: BulkMode
) -> None:
    service = service_on(any_store, policy_doc(caps={"max_locked": 2}))
    held = owned(service, "wang", 1)
    service.lock("boss", held[0])
    mine = owned(service, "li", 3)
    service.lock("boss", mine[0])
    service.lock("boss", mine[1])
    # li's third customer is not locked: it does not count toward wang's lock cap
    result = service.bulk_transfer("li", [mine[2], mine[0], mine[1]], "wang", mode=mode)
    if mode is EACH:
        assert [item.done for item in result.items] == [True, True, False]
        refusal = result.items[2].refusal
        assert isinstance(refusal, LockCapExceeded) and (refusal.cap, refusal.count) == (2, 2)
    else:
        assert result.done_count == 0
        assert isinstance(result.items[2].refusal, LockCapExceeded)
