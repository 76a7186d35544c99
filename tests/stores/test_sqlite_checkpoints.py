"""The SQLite store's checkpoint thread: a bulk unit of work leaves its WAL checkpoint to
it, a small one does not, the WAL is let start again once it is large, a failed
checkpoint falls back to SQLite's own, and closing the store ends the thread."""

from __future__ import annotations

import gc
import multiprocessing
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from poolkit.stores.sqlite import SqliteStore
from poolkit.stores.sqlite import checkpoints as module
from poolkit.stores.sqlite.checkpoints import BULK_CHANGES, WAL_LIMIT, Checkpointer


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "pool.db"


def write(store: SqliteStore, rows: int, prefix: str = "k") -> None:
    """One unit of work changing ``rows`` rows (settings: nothing else in the way)."""
    with store.unit_of_work() as uow:
        for number in range(rows):
            uow.settings.set(f"{prefix}{number}", "v")
        uow.commit()


def checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("poolkit-checkpoint")]


def test_a_bulk_commit_leaves_its_checkpoint_to_the_stores_thread(path: Path) -> None:
    store = SqliteStore(path)
    write(store, 10)
    assert store.checkpoints.runs == 0 and checkpoint_threads() == []
    write(store, BULK_CHANGES - 1, "small")  # one row short: SQLite's own checkpoint
    assert store.checkpoints.runs == 0 and checkpoint_threads() == []
    write(store, BULK_CHANGES, "bulk")
    assert store.checkpoints.wait(30)
    assert store.checkpoints.runs == 1 and len(checkpoint_threads()) == 1
    # The thread checkpointed what the commit wrote: the WAL holds nothing left to copy.
    side = sqlite3.connect(str(path))
    busy, pages, copied = side.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0]
    assert busy == 0 and pages == copied
    side.close()
    store.close()
    assert checkpoint_threads() == []
    with SqliteStore(path) as again, again.unit_of_work() as uow:
        assert uow.settings.get(f"bulk{BULK_CHANGES - 1}") == "v"
        assert uow.settings.get(f"small{BULK_CHANGES - 2}") == "v"


def test_the_connection_checkpoints_as_before_after_a_bulk_commit(path: Path) -> None:
    store = SqliteStore(path)
    write(store, BULK_CHANGES)
    with store.unit_of_work() as uow:
        uow.settings.set("one", "v")
        uow.commit()
        conn = uow._conn
        assert conn is not None
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    store.close()


class _Gated:
    """A connection whose checkpoint waits for ``gate``, to hold one under way."""

    def __init__(self, conn: sqlite3.Connection, gate: threading.Event) -> None:
        self._conn, self._gate = conn, gate

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if "wal_checkpoint" in sql:
            assert self._gate.wait(30)
        return self._conn.execute(sql, *args)

    def close(self) -> None:
        self._conn.close()


def gated(monkeypatch: pytest.MonkeyPatch, gate: threading.Event) -> None:
    real = sqlite3.connect

    class Shim:
        Connection = sqlite3.Connection

        @staticmethod
        def connect(*args: Any, **kwargs: Any) -> _Gated:
            return _Gated(real(*args, **kwargs), gate)

    monkeypatch.setattr(module, "sqlite3", Shim)


def test_past_the_limit_a_unit_of_work_waits_for_the_checkpoint_under_way(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SqliteStore(path).close()
    gate = threading.Event()
    gated(monkeypatch, gate)
    checkpoints = Checkpointer(path, 5.0)
    checkpoints.wal_pages = WAL_LIMIT - 1
    checkpoints.request()
    checkpoints.before_begin()  # below the limit: goes on while the checkpoint waits
    assert checkpoints.runs == 0
    checkpoints.wal_pages = WAL_LIMIT
    waiting = threading.Thread(target=checkpoints.before_begin)
    waiting.start()
    waiting.join(0.3)
    assert waiting.is_alive()  # held until the checkpoint under way is done
    gate.set()
    waiting.join(30)
    assert not waiting.is_alive()
    assert checkpoints.runs == 1
    assert checkpoints.wal_pages == 0  # the WAL starts again with the unit of work
    checkpoints.close()


def test_a_store_writing_bulk_batches_keeps_its_wal_bounded(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "WAL_LIMIT", 50)
    store = SqliteStore(path)
    wal = Path(f"{path}-wal")
    sizes = []
    for batch in range(30):
        write(store, BULK_CHANGES, f"b{batch}-")
        sizes.append(wal.stat().st_size)
    store.close()
    # Thirty batches of about 15 pages each: the WAL started again on the way, and stayed
    # within the limit and a few batches (87 pages; about 490 when it never waits).
    page = 4096 + 24
    assert max(sizes) < 200 * page
    with SqliteStore(path) as again, again.unit_of_work() as uow:
        assert uow.settings.get(f"b29-{BULK_CHANGES - 1}") == "v"


def test_a_checkpoint_that_fails_leaves_bulk_commits_to_sqlites_own(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        Connection = sqlite3.Connection

        @staticmethod
        def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(module, "sqlite3", Broken)
    store = SqliteStore(path)
    write(store, BULK_CHANGES, "first")
    assert store.checkpoints.wait(30)
    assert isinstance(store.checkpoints.failure, sqlite3.OperationalError)
    assert not store.checkpoints.available
    write(store, BULK_CHANGES, "second")
    with store.unit_of_work() as uow:
        assert uow.settings.get(f"second{BULK_CHANGES - 1}") == "v"
        conn = uow._conn
        assert conn is not None
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    store.close()
    assert checkpoint_threads() == []


def _bulk_in_child(store: SqliteStore) -> None:
    write(store, BULK_CHANGES, "child")
    assert store.checkpoints.wait(30) and store.checkpoints.runs == 1
    store.close()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs os.fork")
def test_a_forked_child_runs_checkpoints_of_its_own(path: Path) -> None:
    store = SqliteStore(path)
    write(store, BULK_CHANGES, "parent")  # the parent's thread is running
    assert store.checkpoints.wait(30) and store.checkpoints.runs == 1
    child = multiprocessing.get_context("fork").Process(target=_bulk_in_child, args=(store,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    with store.unit_of_work() as uow:
        assert uow.settings.get(f"child{BULK_CHANGES - 1}") == "v"
    store.close()


def test_a_store_dropped_unclosed_ends_its_thread(path: Path) -> None:
    store = SqliteStore(path)
    write(store, BULK_CHANGES)
    assert store.checkpoints.wait(30) and len(checkpoint_threads()) == 1
    del store
    gc.collect()
    assert checkpoint_threads() == []
