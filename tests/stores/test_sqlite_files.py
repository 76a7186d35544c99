"""What the SQLite store does with files that are not a healthy poolkit database: another
application's file is refused before a single byte of it changes; a text file, a
directory, a truncated or damaged database, or one missing a table is a typed
:class:`~poolkit.errors.StoreError`, never a raw sqlite3 error; and one customer whose
stored JSON is damaged is named in the error while the others stay readable, with either
JSON backend."""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from poolkit import ManualClock, Policy, PoolService, Team
from poolkit.cli import main
from poolkit.errors import (
    DamagedRecordError,
    DatabaseDamaged,
    NotAPoolkitDatabase,
    StoreBusyError,
    StoreError,
    StoreUnavailableError,
)
from poolkit.identity.similarity import blocking_keys
from poolkit.model.customer import IdentityKey
from poolkit.model.rep import Rep
from poolkit.ports import CustomerQuery
from poolkit.stores import _documents as documents
from poolkit.stores.sqlite import APPLICATION_ID, SCHEMA_VERSION, SqliteStore
from poolkit.stores.sqlite.connection import store_error
from poolkit.testing.builders import NO_SCHEDULE, T0, drop_at, private

# ---------------------------------------------------------------------------- helpers


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "pool.db"


def fingerprint(path: Path) -> tuple[str, list[str]]:
    """The file's bytes, and every file of its folder (a -wal or -shm would show)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest, sorted(p.name for p in path.parent.iterdir())


def foreign(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


def header_pragmas(path: Path) -> tuple[int, int, str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()
    return app, version, mode


def filled(path: Path, count: int = 3) -> None:
    with SqliteStore(path) as store, store.unit_of_work() as uow:
        for i in range(count):
            customer = private(f"c{i:03d}", name=f"Customer {i} " + "x" * 200, tags={"vip"})
            uow.customers.add(customer, drop_at(T0))
        uow.commit()


# ---------------------------------------------------------------------------- foreign files

FOREIGN_FILES = {
    "its own customers table": (
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)",
        "INSERT INTO customers (email) VALUES ('a@b.cn')",
    ),
    "a user_version of its own": (
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)",
        "PRAGMA user_version = 3",
    ),
    "poolkit's table names but a user_version of its own": (
        "CREATE TABLE customers (id TEXT PRIMARY KEY, body TEXT)",
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)",
        "PRAGMA user_version = 2",
    ),
    "another application's id": (
        "PRAGMA application_id = 1234",
        "CREATE TABLE customers (id INTEGER PRIMARY KEY)",
    ),
    "another application's id and nothing else": ("PRAGMA application_id = 1234",),
    "a user_version beyond poolkit's": ("PRAGMA user_version = 99",),
}


@pytest.mark.parametrize("statements", FOREIGN_FILES.values(), ids=FOREIGN_FILES.keys())
def test_another_applications_file_is_refused_byte_for_byte_unchanged(
    path: Path, statements: tuple[str, ...]
) -> None:
    foreign(path, *statements)
    before = fingerprint(path)
    with pytest.raises(NotAPoolkitDatabase) as refused:
        SqliteStore(path)
    assert refused.value.path == str(path)
    assert "nothing was written" in str(refused.value)
    assert refused.value.field == "path"  # also an InvalidValueError: the path is wrong
    assert fingerprint(path) == before  # same bytes, and no -wal or -shm beside it
    assert header_pragmas(path)[2] == "delete"


def test_a_new_database_is_marked_as_poolkits(path: Path) -> None:
    SqliteStore(path).close()
    assert header_pragmas(path) == (APPLICATION_ID, SCHEMA_VERSION, "wal")


def test_a_poolkit_file_from_before_the_mark_is_recognised_and_marked(path: Path) -> None:
    filled(path)
    foreign(path, "PRAGMA application_id = 0")
    with SqliteStore(path) as store, store.unit_of_work() as uow:
        assert store.migrated_from == SCHEMA_VERSION
        assert uow.customers.count() == 3
    assert header_pragmas(path)[0] == APPLICATION_ID


def test_an_empty_file_becomes_a_new_database(path: Path) -> None:
    path.write_bytes(b"")
    with SqliteStore(path) as store:
        assert store.migrated_from == 0


# ---------------------------------------------------------------------------- broken files


def test_a_text_file_is_not_a_poolkit_database(path: Path) -> None:
    path.write_text("name,phone\nAcme,13800138000\n" * 20)
    before = fingerprint(path)
    with pytest.raises(NotAPoolkitDatabase, match="not a SQLite database"):
        SqliteStore(path)
    assert fingerprint(path) == before


def test_a_short_text_file_is_not_a_poolkit_database(path: Path) -> None:
    path.write_text("hello")
    with pytest.raises(NotAPoolkitDatabase):
        SqliteStore(path)
    assert path.read_text() == "hello"


def test_a_directory_is_not_a_poolkit_database(tmp_path: Path) -> None:
    with pytest.raises(NotAPoolkitDatabase, match="directory") as refused:
        SqliteStore(tmp_path)
    assert refused.value.reason == "it is a directory"


def test_a_missing_folder_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(NotAPoolkitDatabase, match="folder does not exist") as refused:
        SqliteStore(tmp_path / "no" / "such" / "pool.db")
    assert refused.value.path.endswith("pool.db")
    assert not (tmp_path / "no").exists()


def test_a_file_that_cannot_be_read_is_unavailable(path: Path) -> None:
    filled(path)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user whom file permissions do not stop (root)")
        with pytest.raises(StoreUnavailableError):
            SqliteStore(path)
    finally:
        path.chmod(0o600)


def test_a_truncated_database_is_damaged(path: Path) -> None:
    filled(path, 300)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    before = fingerprint(path)
    with pytest.raises(DatabaseDamaged, match="truncated"):
        SqliteStore(path)
    assert fingerprint(path) == before


def test_a_database_overwritten_in_part_is_damaged_not_a_raw_error(path: Path) -> None:
    filled(path, 300)
    data = bytearray(path.read_bytes())
    pages = len(data) // 4096
    for page in range(pages // 2, pages - 1):
        data[page * 4096 : (page + 1) * 4096] = b"\xa5" * 4096
    path.write_bytes(bytes(data))
    # Met on open or by the first unit of work that reads the damaged pages.
    with (
        pytest.raises(DatabaseDamaged, match="malformed"),
        SqliteStore(path) as store,
        store.unit_of_work() as uow,
    ):
        uow.customers.find(CustomerQuery())


@pytest.mark.parametrize("table", ["reviews", "customer_name_blocks", "settings", "customers"])
def test_a_poolkit_database_missing_a_table_is_damaged(path: Path, table: str) -> None:
    filled(path)
    foreign(path, f"DROP TABLE {table}")
    before = fingerprint(path)
    with pytest.raises(DatabaseDamaged, match=f"table {table}") as refused:
        SqliteStore(path)
    assert refused.value.path == str(path)
    assert fingerprint(path) == before


def test_a_poolkit_database_missing_a_column_is_damaged(path: Path) -> None:
    filled(path)
    foreign(path, "ALTER TABLE customers DROP COLUMN grade")
    with pytest.raises(DatabaseDamaged, match=r"column customers\.grade"):
        SqliteStore(path)


def test_a_table_dropped_while_the_store_is_open_is_damage_in_the_unit_of_work(
    path: Path,
) -> None:
    filled(path)
    with SqliteStore(path) as store:
        foreign(path, "DROP TABLE reviews")
        with pytest.raises(DatabaseDamaged, match="no such table"), store.unit_of_work() as uow:
            uow.reviews.find()


def test_every_store_failure_is_a_store_error() -> None:
    for kind in (NotAPoolkitDatabase, DatabaseDamaged, StoreUnavailableError, DamagedRecordError):
        assert issubclass(kind, StoreError)
        assert not kind.retryable


def test_database_unavailable_is_a_deprecated_name_of_store_unavailable() -> None:
    """Code written against the former name still catches what the stores raise."""
    import poolkit.errors

    with pytest.warns(DeprecationWarning, match="StoreUnavailableError"):
        old = poolkit.errors.DatabaseUnavailable
    assert old is StoreUnavailableError
    with pytest.raises(AttributeError):
        poolkit.errors.NoSuchError  # noqa: B018


# ---------------------------------------------------------------------------- damaged records


@pytest.fixture(params=["orjson", "json"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both JSON backends: orjson (the ``fast`` extra) and the standard library."""
    if request.param == "json":
        monkeypatch.setattr(documents, "orjson", None)
    else:
        pytest.importorskip("orjson")
    assert documents.fast() == (request.param == "orjson")
    return str(request.param)


DAMAGE = {
    "cut short": lambda body: body[: len(body) // 2],
    "not JSON": lambda body: "garbage",
    "JSON, but not a customer": lambda body: "[1, 2, 3]",
    "a field of the wrong shape": lambda body: body.replace('"version":1', '"version":"one"'),
}


@pytest.fixture(params=DAMAGE.values(), ids=DAMAGE.keys())
def damaged(request: pytest.FixtureRequest, path: Path, backend: str) -> Iterator[SqliteStore]:
    """A store of c1, c2, c3 whose c2 has a damaged document."""
    with SqliteStore(path) as store:
        with store.unit_of_work() as uow:
            for cid in ("c1", "c2", "c3"):
                customer = private(cid, keys={"phone": cid}, tags={"vip"})
                uow.customers.add(customer, drop_at(T0))
            uow.commit()
            (body,) = uow._one("SELECT body FROM customers WHERE id = 'c2'")
            uow._run("UPDATE customers SET body = ? WHERE id = 'c2'", (request.param(body),))
            uow.commit()
        yield store


def test_a_damaged_customer_is_named_and_the_others_stay_readable(damaged: SqliteStore) -> None:
    with damaged.unit_of_work() as uow:
        with pytest.raises(DamagedRecordError) as refused:
            uow.customers.get("c2")
        assert (refused.value.kind, refused.value.record_id) == ("customer", "c2")
        assert "c2" in str(refused.value)
        assert uow.customers.get("c1") == private("c1", keys={"phone": "c1"}, tags={"vip"})
        assert uow.customers.get("c3") is not None
        assert uow.customers.schedule_of("c2") == drop_at(T0)
        assert uow.customers.find(CustomerQuery(), limit=1)[0].id == "c1"
        assert list(uow.customers.ids()) == ["c1", "c2", "c3"]
        phone = frozenset({IdentityKey("phone", "c3")})
        assert [c.id for c in uow.customers.with_keys(phone)] == ["c3"]


@pytest.mark.parametrize(
    "read",
    [
        lambda uow: uow.customers.find(CustomerQuery()),
        lambda uow: uow.customers.find(CustomerQuery(tags=frozenset({"vip"}))),
        lambda uow: uow.customers.due(T0, 10),
        lambda uow: uow.customers.with_keys(frozenset({IdentityKey("phone", "c2")})),
    ],
    ids=["find", "find by tag", "due", "with_keys"],
)
def test_every_read_that_meets_the_damaged_customer_names_it(damaged: SqliteStore, read) -> None:  # type: ignore[no-untyped-def]
    with damaged.unit_of_work() as uow, pytest.raises(DamagedRecordError) as refused:
        read(uow)
    assert refused.value.record_id == "c2"


def test_an_unreadable_name_is_named_by_the_look_alike_lookup(path: Path, backend: str) -> None:
    with SqliteStore(path) as store, store.unit_of_work() as uow:
        uow.customers.add(private("c1", name="Acme Trading"), NO_SCHEDULE)
        uow.commit()
        # The lookup reads the name column (not the document): damaged, it is NULL.
        uow._run("UPDATE customers SET name = NULL WHERE id = 'c1'")
        with pytest.raises(DamagedRecordError) as refused:
            uow.customers.similar_names(blocking_keys("Acme Trading"), 10)
        assert refused.value.record_id == "c1"


def test_name_blocks_without_their_stored_name_are_named_by_the_import_lookup(
    path: Path, backend: str
) -> None:
    with SqliteStore(path) as store, store.unit_of_work() as uow:
        uow.customers.add(private("c1", name="Acme Trading"), NO_SCHEDULE)
        uow.commit()
        uow._run("DELETE FROM customer_normal_names WHERE customer_id = 'c1'")
        with pytest.raises(DamagedRecordError) as refused:
            uow.customers.names_by_block(blocking_keys("Acme Trading"), 10)
        assert refused.value.record_id == "c1"


def test_an_update_of_a_damaged_customer_not_read_first_names_it(path: Path, backend: str) -> None:
    with SqliteStore(path) as store, store.unit_of_work() as uow:
        uow.customers.add(private("c1"), NO_SCHEDULE)
        uow.commit()
        uow._run("UPDATE customers SET body = 'garbage' WHERE id = 'c1'")
        uow.commit()
        with pytest.raises(DamagedRecordError) as refused:
            uow.customers.update(private("c1", owner_id="bob", version=2), NO_SCHEDULE, 1)
        assert refused.value.record_id == "c1"


def test_damaged_events_reps_pools_and_review_items_are_named(path: Path, backend: str) -> None:
    from poolkit.testing.builders import followed_up, review

    with SqliteStore(path) as store:
        service = PoolService(store, Policy(), ManualClock(T0))
        service.setup(
            Team.from_dict({"reps": [{"id": "li"}], "pools": [{"id": "p", "default": True}]})
        )
        with store.unit_of_work() as uow:
            uow.events.append(followed_up("c9", 1))
            uow.reviews.add(review("r1", "c1", "c2"))
            for table, key in (("events", "customer_id"), ("reps", "id"), ("pools", "id")):
                uow._run(f"UPDATE {table} SET body = '{{' WHERE {key} IN ('c9', 'li', 'p')")
            uow._run("UPDATE reviews SET body = 'x' WHERE id = 'r1'")
            uow.commit()
            reads = {
                ("event", "c9#1"): lambda: uow.events.history("c9"),
                ("rep", "li"): lambda: uow.reps.get("li"),
                ("pool", "p"): lambda: uow.pools.all(),
                ("review item", "r1"): lambda: uow.reviews.find(),
            }
            for (kind, record_id), read in reads.items():
                with pytest.raises(DamagedRecordError) as refused:
                    read()
                assert (refused.value.kind, refused.value.record_id) == (kind, record_id)


def test_the_service_names_the_damaged_customer(path: Path, backend: str) -> None:
    with SqliteStore(path) as store:
        service = PoolService(store, Policy(), ManualClock(T0))
        service.setup(
            Team.from_dict(
                {
                    "reps": [{"id": "li", "admin": True}],
                    "pools": [{"id": "p", "default": True, "members": ["li"]}],
                }
            )
        )
        service.create("li", "Acme", customer_id="acme")
        service.create("li", "Beta", customer_id="beta")
        damage(store, "acme")
        with pytest.raises(DamagedRecordError, match="'acme'"):
            service.customer("acme")
        assert service.customer("beta").name == "Beta"


def damage(store: SqliteStore, customer_id: str) -> None:
    with store.unit_of_work() as uow:
        uow._run("UPDATE customers SET body = '{\"id\": ' WHERE id = ?", (customer_id,))
        uow.commit()


@pytest.mark.parametrize("command", ["show acme", "list"])
def test_the_command_line_names_the_damaged_customer_in_one_line(
    tmp_path: Path, backend: str, command: str
) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples" / "cli"
    db = str(tmp_path / "crm.db")

    def poolkit(*args: str) -> tuple[int, str]:
        out, err = io.StringIO(), io.StringIO()
        status = main(["--db", db, *args], out=out, err=err)
        return status, err.getvalue()

    policy, team = str(examples / "policy.toml"), str(examples / "team.toml")
    assert poolkit("init", "--policy", policy, "--team", team)[0] == 0
    assert poolkit("create", "Acme", "--id", "acme", "--as", "li")[0] == 0
    assert poolkit("create", "Beta", "--id", "beta", "--as", "li")[0] == 0
    with SqliteStore(db) as store:
        damage(store, "acme")
    status, err = poolkit(*command.split())
    assert status != 0
    assert err.count("\n") == 1 and "'acme'" in err and "Traceback" not in err
    assert poolkit("show", "beta")[0] == 0


# ---------------------------------------------------------------------------- the one mapping


Operational = sqlite3.OperationalError


def failure(kind: type[sqlite3.Error], code: int, message: str) -> sqlite3.Error:
    error = kind(message)
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (failure(Operational, 5, "locked"), StoreBusyError),
        (failure(Operational, 517, "busy snapshot"), StoreBusyError),
        (failure(sqlite3.DatabaseError, 11, "malformed"), DatabaseDamaged),
        (failure(sqlite3.DatabaseError, 26, "not a db"), NotAPoolkitDatabase),
        (failure(Operational, 13, "disk full"), StoreUnavailableError),
        (failure(Operational, 266, "disk I/O error"), StoreUnavailableError),
        (failure(Operational, 8, "ro"), StoreUnavailableError),
        (failure(Operational, 1, "no such table: reviews"), DatabaseDamaged),
        (failure(Operational, 1, "malformed JSON"), DatabaseDamaged),
        # The caller's business, or a mistake in poolkit's own SQL: left as they are.
        (failure(sqlite3.IntegrityError, 1555, "UNIQUE constraint failed"), None),
        (failure(Operational, 1, 'near "SELEC": syntax error'), None),
        (sqlite3.ProgrammingError("Error binding parameter 1"), None),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_sqlite_errors_are_mapped_in_one_place(
    error: sqlite3.Error, expected: type[StoreError] | None
) -> None:
    mapped = store_error(error, "/data/pool.db", 2.5)
    if expected is None:
        assert mapped is None
    else:
        assert type(mapped) is expected
        assert mapped.path == "/data/pool.db"  # type: ignore[union-attr]


def test_a_rep_changed_by_another_process_is_read_anew(path: Path) -> None:
    """Reps and pools are decoded once per stored text; a change written through another
    store on the file (another process) is seen at the next read, and a damaged one is
    named, not served from memory."""
    with SqliteStore(path) as first, SqliteStore(path) as second:
        with first.unit_of_work() as uow:
            uow.reps.put(Rep(id="li", name="Li"))
            uow.commit()
        with first.unit_of_work() as uow:
            assert uow.reps.get("li") == Rep(id="li", name="Li")
        with second.unit_of_work() as uow:
            uow.reps.put(Rep(id="li", name="Li Wei", cap=7))
            uow.commit()
        with first.unit_of_work() as uow:
            assert uow.reps.get("li") == Rep(id="li", name="Li Wei", cap=7)
            uow._run("UPDATE reps SET body = 'garbage' WHERE id = 'li'")
            with pytest.raises(DamagedRecordError):
                uow.reps.get("li")
