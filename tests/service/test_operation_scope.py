"""The unit of work of a single move ends however the move ends: committed, refused while
it opens (unknown or departed actor, unknown customer), or refused by its checks; its end
is told the error that ended it, and the store is left as the refusal found it."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import pytest

from poolkit import ManualClock, MemoryStore, Policy, PoolService, SqliteStore, Team
from poolkit.errors import (
    CustomerNotFound,
    PoolkitError,
    RepInactiveError,
    RepNotFound,
    WrongStateError,
)
from poolkit.ports import Store, UnitOfWork

TEAM = Team.from_dict(
    {
        "reps": [{"id": "boss", "admin": True}, {"id": "li"}, {"id": "wang"}, {"id": "gone"}],
        "pools": [{"id": "main", "default": True, "members": ["li", "wang", "gone"]}],
    }
)


class _Watched:
    """A unit of work that tells its store when it opens and how it ends."""

    def __init__(self, inner: UnitOfWork, store: WatchedStore) -> None:
        self._inner = inner
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _Watched:
        self._inner.__enter__()
        self._store.open += 1
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._store.open -= 1
        self._store.ended.append(kind)
        self._inner.__exit__(kind, exc, tb)


class WatchedStore:
    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.open = 0
        self.ended: list[type[BaseException] | None] = []

    def unit_of_work(self) -> _Watched:
        return _Watched(self.inner.unit_of_work(), self)


@pytest.fixture(params=["memory", "sqlite"])
def watched(request: pytest.FixtureRequest, tmp_path: Any, clock: ManualClock) -> Any:
    inner: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "p.db")
    store = WatchedStore(inner)
    service = PoolService(store, Policy.from_dict({"timezone": "Asia/Shanghai"}), clock)
    service.setup(TEAM)
    service.depart("boss", "gone")
    return store, service


@pytest.mark.parametrize(
    ("actor", "customer", "error"),
    [
        ("nobody", "c1", RepNotFound),
        ("gone", "c1", RepInactiveError),
        ("wang", "missing", CustomerNotFound),
        ("li", "c1", WrongStateError),  # opened, then refused by the claim's own check
    ],
)
def test_a_refused_claim_ends_its_unit_of_work_with_the_refusal(
    watched: tuple[WatchedStore, PoolService],
    actor: str,
    customer: str,
    error: type[PoolkitError],
) -> None:
    store, service = watched
    service.create("li", "Acme", customer_id="c1")
    store.ended.clear()
    with pytest.raises(error):
        service.claim(actor, customer)
    assert store.open == 0
    assert store.ended == [error]
    # Nothing held: the next move runs at once, and the refused one changed nothing.
    service.return_to_pool("li", "c1", "not for me")
    assert service.claim("wang", "c1").owner_id == "wang"
    assert store.open == 0
    assert store.ended[1:] == [None, None]
    assert [event.kind for event in service.history("c1")] == ["created", "returned", "claimed"]
