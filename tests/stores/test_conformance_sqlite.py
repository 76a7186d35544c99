"""The SQLite store against the store conformance suite, plus what only a file can show:
durability across reopening, WAL readers, the busy timeout, and units of work serialised
across processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from poolkit import ManualClock, Policy, PoolService, Team
from poolkit.errors import InvalidValueError, StaleVersionError, StoreBusyError
from poolkit.model.customer import IdentityKey
from poolkit.ports import CustomerQuery
from poolkit.stores import _documents as documents
from poolkit.stores.sqlite import SCHEMA_VERSION, SqliteStore
from poolkit.stores.sqlite.queries import DUE_SQL, WITH_KEYS_SQL
from poolkit.testing.builders import NO_SCHEDULE, T0, drop_at, followed_up, private
from poolkit.testing.conformance import StoreConformance


class TestSqliteStore(StoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqliteStore]:
        with SqliteStore(tmp_path / "pool.db") as store:
            yield store

    @pytest.fixture
    def reopen(self, tmp_path: Path) -> Callable[[], SqliteStore]:
        return lambda: SqliteStore(tmp_path / "pool.db")


class TestSqliteStoreWithoutTheFastExtra(StoreConformance):
    """The same suite with the documents written and read by the standard library, as
    where orjson (the ``fast`` extra) is not installed."""

    @pytest.fixture
    def store(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqliteStore]:
        monkeypatch.setattr(documents, "orjson", None)
        assert not documents.fast()
        with SqliteStore(tmp_path / "pool.db") as store:
            yield store


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "pool.db"


def test_committed_data_survives_reopening_the_file(path: Path) -> None:
    with SqliteStore(path) as store, store.unit_of_work() as uow:
        uow.customers.add(private("c1", keys={"phone": "1"}), drop_at(T0))
        uow.events.append(followed_up("c1", 1))
        uow.commit()
    with SqliteStore(path) as reopened, reopened.unit_of_work() as uow:
        assert uow.customers.get("c1") == private("c1", keys={"phone": "1"})
        assert uow.customers.schedule_of("c1") == drop_at(T0)
        assert uow.events.history("c1") == [followed_up("c1", 1)]
        assert reopened.migrated_from == SCHEMA_VERSION


def test_the_file_is_in_wal_mode_and_readers_do_not_wait_for_a_writer(path: Path) -> None:
    with SqliteStore(path) as store:
        reader = sqlite3.connect(path, timeout=0)
        try:
            assert reader.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            with store.unit_of_work() as uow:
                uow.customers.add(private("c1"), NO_SCHEDULE)
                # The write lock is held; a plain reader still reads, and sees no partial state.
                assert reader.execute("SELECT COUNT(*) FROM customers").fetchone() == (0,)
                uow.commit()
            assert reader.execute("SELECT COUNT(*) FROM customers").fetchone() == (1,)
        finally:
            reader.close()


def test_a_unit_of_work_that_cannot_get_the_lock_in_time_is_refused(path: Path) -> None:
    with SqliteStore(path, busy_timeout_s=0.05) as store, store.unit_of_work() as holder:
        holder.settings.set("held", "yes")
        with pytest.raises(StoreBusyError) as refused, store.unit_of_work():
            pass
        assert refused.value.timeout_s == 0.05


def test_leaving_a_unit_of_work_releases_the_lock(path: Path) -> None:
    with SqliteStore(path) as store, SqliteStore(path, busy_timeout_s=0) as impatient:
        with pytest.raises(RuntimeError), store.unit_of_work() as uow:
            uow.settings.set("k", "v")
            raise RuntimeError("boom")
        with impatient.unit_of_work() as uow:
            assert uow.settings.get("k") is None
        with store.unit_of_work() as uow:
            uow.settings.set("k", "v")
            uow.commit()
            uow.settings.set("k", "uncommitted")
        with impatient.unit_of_work() as uow:
            assert uow.settings.get("k") == "v"


def test_a_memory_database_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        SqliteStore(":memory:")
    with pytest.raises(InvalidValueError):
        SqliteStore("pool.db", busy_timeout_s=-1)


def test_due_and_key_lookups_read_an_index_not_the_table(path: Path) -> None:
    with SqliteStore(path):
        conn = sqlite3.connect(path)
        try:
            due_plan = conn.execute("EXPLAIN QUERY PLAN " + DUE_SQL, (0, 10)).fetchall()
            keys_plan = conn.execute("EXPLAIN QUERY PLAN " + WITH_KEYS_SQL, ("[]",)).fetchall()
        finally:
            conn.close()
    due_steps = " / ".join(step[-1] for step in due_plan)
    assert "USING INDEX customers_due" in due_steps and "TEMP B-TREE" not in due_steps
    key_steps = " / ".join(step[-1] for step in keys_plan)
    assert "SEARCH k USING PRIMARY KEY (kind=? AND value=?)" in key_steps


def test_find_by_tag_and_related_rep_use_the_side_tables(path: Path) -> None:
    with SqliteStore(path) as store, store.unit_of_work() as uow:
        uow.customers.add(private("c1", tags={"vip"}, related_reps={"bob": T0}), NO_SCHEDULE)
        uow.customers.add(private("c2", keys={"phone": "1"}), NO_SCHEDULE)
        uow.commit()
        rows = uow._execute("SELECT tag, customer_id FROM customer_tags").fetchall()
        assert rows == [("vip", "c1")]
        related = uow._execute("SELECT rep_id, customer_id FROM customer_related").fetchall()
        assert related == [("bob", "c1")]
        assert [c.id for c in uow.customers.find(CustomerQuery(related_rep="bob"))] == ["c1"]
        assert [c.id for c in uow.customers.with_keys(frozenset({IdentityKey("phone", "1")}))] == [
            "c2"
        ]


def _count_to(store: SqliteStore, times: int) -> None:
    """Read a counter and write it back plus one, ``times`` times, each in a unit of work."""
    for _ in range(times):
        with store.unit_of_work() as uow:
            value = int(uow.settings.get("counter") or "0")
            uow.settings.set("counter", str(value + 1))
            uow.commit()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs os.fork")
def test_processes_sharing_a_file_lose_no_update(path: Path) -> None:
    """Four processes increment one counter; with units of work serialised across
    processes, no increment is lost and none fails. The children inherit the parent's
    store (and its idle connections) through fork, as a pre-forking server would."""
    store = SqliteStore(path)
    _count_to(store, 1)  # leaves an idle connection for the children to inherit
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_count_to, args=(store, 25)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    with store.unit_of_work() as uow:
        assert uow.settings.get("counter") == str(1 + 4 * 25)
    store.close()


def test_what_a_unit_of_work_read_before_its_commit_does_not_vouch_for_after_it(
    path: Path,
) -> None:
    # The store updates a customer its transaction read without reading it back; once the
    # transaction ends, another may change it, so the next one must check the stored row.
    with SqliteStore(path) as store:
        with store.unit_of_work() as uow:
            uow.customers.add(private("c1"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as first:
            assert first.customers.get("c1") == private("c1")
            first.commit()
            with store.unit_of_work() as second:
                second.customers.update(private("c1", owner_id="bob", version=2), NO_SCHEDULE, 1)
                second.commit()
            with pytest.raises(StaleVersionError) as refused:
                first.customers.update(private("c1", owner_id="carol", version=2), NO_SCHEDULE, 1)
            assert refused.value.actual == 2
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1") == private("c1", owner_id="bob", version=2)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_non_finite_attribute_is_refused_before_it_reaches_the_file(
    path: Path, value: float
) -> None:
    # Found while timing the JSON documents: NaN was accepted and written as `NaN`, which
    # is not JSON, so SQLite's JSON functions failed on the customer's next edit.
    with SqliteStore(path) as store:
        service = PoolService(store, Policy.from_dict({"timezone": "UTC"}), ManualClock(T0))
        service.setup(
            Team.from_dict(
                {
                    "reps": [{"id": "boss", "admin": True}],
                    "pools": [{"id": "north", "default": True, "members": ["boss"]}],
                }
            )
        )
        with pytest.raises(InvalidValueError) as refused:
            service.create("boss", "Acme", attributes={"score": value}, public=True)
        assert refused.value.field == "attributes.score"
        acme = service.create("boss", "Acme", attributes={"score": 1.5}, public=True)
        with pytest.raises(InvalidValueError):
            service.edit("boss", acme.id, attributes={"score": value})
        assert service.customer(acme.id).attributes == {"score": 1.5}
        assert len(service.history(acme.id)) == 1


def test_the_sql_a_store_for_another_database_reuses_does_not_depend_on_sqlite3() -> None:
    """The shared modules (rows and their version checks, side tables, claims index, the
    query builder, converters, dialect) import nothing from sqlite3, directly or through
    the SQLite-only modules, so a PostgreSQL store can use them as they are."""
    import ast

    import poolkit.stores.sql as shared

    folder = Path(shared.__file__).parent
    for path in sorted(folder.glob("*.py")):
        name = path.stem
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "sqlite3" not in imported, name
        assert not any(module.startswith("poolkit.stores.sqlite") for module in imported), name


def test_the_package_exports_what_it_did_as_one_module() -> None:
    import poolkit.stores.sqlite as package

    assert set(package.__all__) >= {
        "MIGRATIONS", "SCHEMA_VERSION", "SqliteStore", "SqliteUnitOfWork", "migrate",
        "schema_version", "sync_name_blocks",
    }  # fmt: skip
    assert all(hasattr(package, name) for name in package.__all__)
