"""Transient store failures: the service runs an operation again, a bounded number of
times, so a caller sees answers and refusals, not a busy or conflicting database; a failure
that is not transient, or that lasts, reaches the caller, and a failed run wrote nothing."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

import pytest

from poolkit import ManualClock, MemoryStore, Policy, PoolService, Team
from poolkit.errors import DatabaseDamaged, StaleVersionError, StoreBusyError, WrongStateError
from poolkit.importer import ImportRow, Outcome
from poolkit.ports import UnitOfWork
from poolkit.service._retry import ATTEMPTS

POLICY = Policy.from_dict(
    {
        "timezone": "Asia/Shanghai",
        "drop_rules": [{"name": "stale", "kind": "no_follow_up", "days": 5}],
        "caps": {"default": 10},
    }
)
TEAM = Team.from_dict(
    {
        "reps": [{"id": "boss", "admin": True}, {"id": "li"}, {"id": "wang"}],
        "pools": [{"id": "main", "default": True, "members": ["li", "wang"]}],
    }
)


class _FailingCommit:
    """A unit of work whose commit raises the store's next planted failure instead."""

    def __init__(self, inner: UnitOfWork, store: FlakyStore) -> None:
        self._inner = inner
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _FailingCommit:
        self._inner.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._inner.__exit__(kind, exc, tb)

    def commit(self) -> None:
        if self._store.failures:
            self._store.commits_refused += 1
            raise self._store.failures.pop(0)()
        self._inner.commit()


class FlakyStore:
    """A memory store whose next commits fail with the planted errors, in order."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.failures: list[Callable[[], Exception]] = []
        self.commits_refused = 0
        # Run once before the next unit of work opens: another process's write, landing
        # between a failed attempt and the next.
        self.meanwhile: Callable[[], object] | None = None

    def unit_of_work(self) -> _FailingCommit:
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile is not None:
            meanwhile()
        return _FailingCommit(self.inner.unit_of_work(), self)


def busy() -> Exception:
    return StoreBusyError("pool.db", 0.1)


def stale() -> Exception:
    return StaleVersionError("c1", 1, 2)


@pytest.fixture
def flaky(clock: ManualClock) -> tuple[FlakyStore, PoolService]:
    store = FlakyStore()
    service = PoolService(store, POLICY, clock)
    service.setup(TEAM)
    return store, service


def test_a_claim_that_meets_a_busy_store_is_run_again_and_succeeds(
    flaky: tuple[FlakyStore, PoolService],
) -> None:
    store, service = flaky
    customer = service.create("li", "Acme", public=True)
    store.failures = [busy, stale]
    claimed = service.claim("wang", customer.id)
    assert claimed.owner_id == "wang"
    assert store.commits_refused == 2
    assert [e.kind for e in service.history(customer.id)] == ["created", "claimed"]


def test_a_failure_that_lasts_reaches_the_caller_and_writes_nothing(
    flaky: tuple[FlakyStore, PoolService],
) -> None:
    store, service = flaky
    customer = service.create("li", "Acme", public=True)
    store.failures = [busy] * ATTEMPTS
    with pytest.raises(StoreBusyError):
        service.claim("wang", customer.id)
    assert store.commits_refused == ATTEMPTS
    assert service.customer(customer.id).owner_id is None


def test_a_failure_that_is_not_transient_is_not_run_again(
    flaky: tuple[FlakyStore, PoolService],
) -> None:
    store, service = flaky
    customer = service.create("li", "Acme", public=True)
    store.failures = [lambda: DatabaseDamaged("pool.db", "planted")]
    with pytest.raises(DatabaseDamaged):
        service.claim("wang", customer.id)
    assert store.commits_refused == 1
    # The next attempt, by anyone, finds the customer where it was.
    assert service.claim("wang", customer.id).owner_id == "wang"


def test_a_run_again_gives_the_real_answer_of_a_lost_race(
    flaky: tuple[FlakyStore, PoolService],
) -> None:
    # A conflict, then another rep's claim commits first: the retry reads it and refuses
    # with the winner's name, as the loser of a race must hear.
    store, service = flaky
    customer = service.create("li", "Acme", public=True)

    def conflict_while_li_claims() -> Exception:
        store.meanwhile = lambda: service.claim("li", customer.id)
        return stale()

    store.failures = [conflict_while_li_claims]
    with pytest.raises(WrongStateError) as refused:
        service.claim("wang", customer.id)
    assert refused.value.owner_id == "li"


def test_an_import_batch_run_again_reports_each_row_once(
    flaky: tuple[FlakyStore, PoolService],
) -> None:
    store, service = flaky
    rows = [
        ImportRow(row=n, name=f"Shop {n}", keys=(("phone", f"1380013800{n}"),)) for n in range(4)
    ]
    store.failures = [busy]
    report = service.import_customers("boss", rows, batch_size=2)
    assert [r.row for r in report.rows] == [0, 1, 2, 3]
    assert report.count(Outcome.CREATED) == 4


def test_a_sweep_batch_run_again_reports_each_drop_once(
    flaky: tuple[FlakyStore, PoolService], clock: ManualClock
) -> None:
    store, service = flaky
    for number in range(3):
        service.create("li", f"Shop {number}")
    clock.advance(days=5)
    store.failures = [busy, stale]
    report = service.sweep()
    assert len(report.dropped) == 3
    assert len({item.customer_id for item in report.dropped}) == 3
    assert service.private_pool("li") == []


def test_an_import_batch_run_again_forgets_the_rows_it_had_seen(
    flaky: tuple[FlakyStore, PoolService],
) -> None:
    """Run again, a batch must not find its own rows among the keys and external ids seen
    (each would be a duplicate of itself)."""
    store, service = flaky
    rows = [
        ImportRow(row=2, name="Alpha", external_id="x1", keys=(("phone", "13800138001"),)),
        ImportRow(row=3, name="Beta", external_id="x2"),
        ImportRow(row=4, name="Alpha again", external_id="x1"),
        ImportRow(row=5, name="Gamma", keys=(("phone", "138 0013 8001"),)),
    ]
    store.failures = [busy]
    report = service.import_customers("boss", rows, batch_size=4)
    assert store.commits_refused == 1
    assert [(r.row, r.outcome, r.duplicate_of_row) for r in report.rows] == [
        (2, Outcome.CREATED, None),
        (3, Outcome.CREATED, None),
        (4, Outcome.DUPLICATE, 2),
        (5, Outcome.DUPLICATE, 2),
    ]
