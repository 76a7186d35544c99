"""The PostgreSQL store: a connection pool, and one transaction per unit of work."""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, LiteralString, Self

import psycopg
import psycopg_pool
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus
from psycopg.types.json import set_json_loads

from poolkit.errors import (
    InvalidValueError,
    PoolkitError,
    SchemaVersionError,
    StoreConflictError,
    StoreUnavailableError,
)
from poolkit.model.pool import Pool
from poolkit.model.rep import Rep
from poolkit.stores import _documents as documents
from poolkit.stores.postgres import _wire
from poolkit.stores.postgres._ahead import CUSTOMER, ReadAhead
from poolkit.stores.postgres._customers import Customers
from poolkit.stores.postgres._errors import translated
from poolkit.stores.postgres._records import Events, Reviews, Settings, TeamDocuments
from poolkit.stores.postgres._schema import (
    SCHEMA_VERSION,
    migrate,
    schema_version,
    up_to_date,
)

Connection = psycopg.Connection[tuple[Any, ...]]
Query = LiteralString | bytes | sql.SQL | sql.Composed

_IDENTIFIER_MAX = 63  # PostgreSQL truncates longer names silently


def _seconds(name: str, value: float | None) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not value >= 0:
        raise InvalidValueError(name, f"must be >= 0 or None, got {value!r}")
    return float(value)


class PostgresStore:
    """Keeps everything in one schema of a PostgreSQL database; see the package docs for
    the guarantees.

    ``conninfo`` is a ``postgresql://`` URL or a libpq connection string. ``schema`` is the
    schema poolkit's tables live in (created and migrated on open). ``busy_timeout_s`` is how
    long a statement waits for a lock before :class:`~poolkit.errors.StoreBusyError`;
    ``statement_timeout_s`` how long one statement may run (``None``: no limit).
    ``pool_size`` is the most connections this store opens at once (one per unit of work in
    progress; a unit of work waits up to ``connect_timeout_s`` for one).
    """

    def __init__(
        self,
        conninfo: str,
        *,
        schema: str = "poolkit",
        busy_timeout_s: float | None = 30.0,
        statement_timeout_s: float | None = None,
        pool_size: int = 10,
        connect_timeout_s: float = 30.0,
    ) -> None:
        if not schema or len(schema.encode()) > _IDENTIFIER_MAX or "\x00" in schema:
            raise InvalidValueError("schema", f"must be 1 to 63 bytes, got {schema!r}")
        if isinstance(pool_size, bool) or pool_size < 1:
            raise InvalidValueError("pool_size", f"must be >= 1, got {pool_size!r}")
        self.schema = schema
        self.busy_timeout_s = _seconds("busy_timeout_s", busy_timeout_s)
        self.statement_timeout_s = _seconds("statement_timeout_s", statement_timeout_s)
        self.connect_timeout_s = _seconds("connect_timeout_s", connect_timeout_s)
        self.pool_size = pool_size
        try:
            conninfo_to_dict(conninfo)
        except psycopg.ProgrammingError as error:
            message = f"not a PostgreSQL URL or connection string: {error}"
            raise InvalidValueError("conninfo", message) from None
        self._conninfo = conninfo
        self.where = _without_password(conninfo)
        self._pid = os.getpid()
        self._fork_lock = threading.Lock()
        # The pools inherited through fork, kept unclosed for the life of the process:
        # closing (or collecting) one would end the parent's sessions, whose sockets it shares.
        self._inherited: list[psycopg_pool.ConnectionPool[Connection]] = []
        # The small settings keys read in this process, fetched together (Settings).
        self._setting_companions: set[str] = set()
        # Migrate on a connection of its own, before the pool sets search_path to a schema
        # that may not exist yet.
        with (
            self._translated(),
            psycopg.connect(conninfo, connect_timeout=_connect_timeout(self)) as conn,
        ):
            found = schema_version(conn, schema)
            if found > SCHEMA_VERSION:
                raise SchemaVersionError(self.where, found, SCHEMA_VERSION)
            # The schema version the database had when opened (0 for a new schema).
            self.migrated_from = found
            # A schema already up to date is not touched, not even locked: so a store opens
            # on a read-only replica, and many processes start without queueing.
            if not up_to_date(conn, schema):
                conn.rollback()
                self.migrated_from = migrate(conn, schema, where=self.where)
            conn.rollback()
        self._pool = self._new_pool()

    def __repr__(self) -> str:
        return f"PostgresStore({self.where!r}, schema={self.schema!r})"

    def unit_of_work(self) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(self)

    @property
    def schema_version(self) -> int:
        with self._connection() as conn:
            version = schema_version(conn, self.schema)
            conn.rollback()
            return version

    def close(self) -> None:
        """Close every connection; the store cannot be used afterwards."""
        self._pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ connections

    def _new_pool(self) -> psycopg_pool.ConnectionPool[Connection]:
        pool: psycopg_pool.ConnectionPool[Connection] = psycopg_pool.ConnectionPool(
            self._conninfo,
            min_size=1,
            max_size=self.pool_size,
            timeout=self.connect_timeout_s or 30.0,
            kwargs={"connect_timeout": _connect_timeout(self)},
            configure=self._configure,
            name=f"poolkit-{self.schema}",
            open=False,
        )
        with self._translated():
            pool.open(wait=True, timeout=self.connect_timeout_s or 30.0)
        return pool

    def _configure(self, conn: Connection) -> None:
        """Settings every connection keeps for its life: poolkit's schema first in the
        search path (so the SQL names its tables plainly), the time zone the timestamps come
        back in, the timeouts, and READ COMMITTED (see the package docs for why)."""
        set_json_loads(_loads, conn)
        conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
        conn.autocommit = True
        conn.execute(
            sql.SQL(
                "SET search_path TO {}; SET TimeZone TO 'UTC'; "
                "SET lock_timeout TO {}; SET statement_timeout TO {}"
            ).format(
                sql.Identifier(self.schema),
                sql.Literal(_millis(self.busy_timeout_s)),
                sql.Literal(_millis(self.statement_timeout_s)),
            )
        )
        conn.autocommit = False

    @contextmanager
    def _translated(self) -> Iterator[None]:
        with translated(self.where, self.busy_timeout_s, self.statement_timeout_s):
            yield

    def _check_out(self) -> Connection:
        self._forget_after_fork()
        with self._translated():
            return self._pool.getconn()

    def _check_in(self, conn: Connection) -> None:
        # The pool rolls back an open transaction itself and discards a broken connection.
        self._pool.putconn(conn)

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        conn = self._check_out()
        try:
            with self._translated():
                yield conn
        finally:
            self._check_in(conn)

    def _forget_after_fork(self) -> None:
        """A forked child must not share its parent's connections (their sockets would carry
        two conversations at once) nor its pool's threads, which fork does not copy: it
        opens a pool of its own and leaves the parent's untouched."""
        if os.getpid() == self._pid:
            return
        with self._fork_lock:
            if os.getpid() != self._pid:
                self._inherited.append(self._pool)
                self._pool = self._new_pool()
                self._pid = os.getpid()


def _loads(text: str | bytes) -> Any:
    # orjson (the ``fast`` extra) reads the documents several times faster than json.
    return documents.loads(text if isinstance(text, str) else text.decode())


def _millis(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms"  # 0 disables the limit, as in PostgreSQL


def _connect_timeout(store: PostgresStore) -> int:
    # libpq counts whole seconds and reads 0 as "wait forever"; round up.
    return max(1, int(-(-store.connect_timeout_s // 1))) if store.connect_timeout_s else 0


def _without_password(conninfo: str) -> str:
    """The connection string with any password left out, for messages and logs."""
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "<unparsable connection string>"
    params.pop("password", None)
    return make_conninfo("", **params)


class PostgresUnitOfWork:
    """One READ COMMITTED transaction on one pooled connection, from ``with`` to its end.

    ``commit()`` and ``rollback()`` end the current transaction; using the repositories
    afterwards (in the same ``with`` block) starts the next one.

    Writes of a customer whose row this transaction holds locked are not sent one by one.
    The sweep's read locks its batch (``FOR UPDATE``), and appending an event locks its
    customer's row; from then on nobody else can change that row's version or history
    until this transaction ends, so this unit of work knows them exactly (:attr:`_held`)
    and checks a write against them itself, refusing a mismatch at once with the same
    :class:`~poolkit.errors.StaleVersionError` the database would give. The checked writes
    wait in :attr:`_pending` and go to the server together, pipelined, before the next
    statement or with the commit: a sweep's batch is one round trip instead of two per
    customer, and an operation's last write travels with its commit.
    """

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._conn: Connection | None = None
        self._locked_reps: set[str] = set()
        self._locked_pools: set[str] = set()
        # Customer id -> [version of its row, last seq of its history] for the rows this
        # transaction holds locked, as its own writes leave them.
        self._held: dict[str, list[int]] = {}
        # Checked writes not sent yet: statements that fail (rather than change nothing) if
        # the database disagrees, so a disagreement aborts the transaction.
        self._pending: list[tuple[bytes | LiteralString, dict[str, Any]]] = []
        # Set when a pending write was refused after all: the transaction was rolled back,
        # and this unit of work refuses everything until it ends.
        self._refused: PoolkitError | None = None
        # How many statements this unit of work has run: a value read along with an
        # earlier one is served only if no statement ran in between (see Settings).
        self.statements = 0
        self.ahead = ReadAhead()
        self.customers = Customers(self)
        self.reps = TeamDocuments(self, "reps", Rep)
        self.pools = TeamDocuments(self, "pools", Pool)
        self.events = Events(self)
        self.settings = Settings(self)
        self.reviews = Reviews(self)

    def __enter__(self) -> Self:
        if self._conn is not None:
            raise PoolkitError("this unit of work is already open")
        self._conn = self._store._check_out()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        self._ended()
        self._refused = None
        if conn is None:
            return
        try:
            if conn.info.transaction_status != TransactionStatus.IDLE and not conn.broken:
                conn.rollback()
        except psycopg.Error:
            # The pool discards a connection it cannot reset; the error that brought us
            # here, if any, is the one worth raising.
            pass
        finally:
            self._store._check_in(conn)

    def commit(self) -> None:
        conn = self._open_connection()
        # The change feed's positions, under its tail lock: taken here, last, in the same
        # round trip as the writes still pending and the COMMIT.
        self.events.number_appended()
        if self._pending:
            self._flush(commit=True)
            return
        self._ended()
        with self._store._translated():
            conn.commit()

    def rollback(self) -> None:
        conn = self._open_connection()
        self._ended()
        with self._store._translated():
            conn.rollback()

    def read_ahead(
        self,
        *,
        customers: Collection[str] = (),
        reps: Collection[str] = (),
        to_change: bool = False,
        lock_reps: Collection[str] = (),
        holdings_of: Collection[str] = (),
        claims_of: Collection[tuple[str, datetime]] = (),
    ) -> None:
        """Read the customers, their pools, the reps and the settings this process reads
        at the start of a unit of work in one statement (see :mod:`._ahead`); with
        ``to_change``, lock the customers' rows too, so that their writes travel with the
        commit; lock the reps of ``lock_reps`` as :meth:`lock_rep` would. The holdings of
        ``holdings_of`` and the claims of ``claims_of`` (a rep and the instant after which
        its claims count) are read by a second statement in the same round trip, after
        the locks are granted."""
        lock_reps = [rep for rep in lock_reps if rep not in self._locked_reps]
        if not customers and not reps and not lock_reps and not holdings_of and not claims_of:
            return
        settings = self.settings.companions()
        rows = self.ahead.read(
            self, customers, reps, settings, to_change, lock_reps, holdings_of, claims_of
        )
        self._locked_reps.update(lock_reps)  # held until the transaction ends
        self.settings.fetched(settings, rows)
        for what, customer_id, body, _ in rows:
            if what == CUSTOMER:
                customer = self.customers.loaded_ahead(body)
                if to_change:
                    # Locked, and read at its newest version: a customer's version is the
                    # seq of the last event of its history (as for the sweep's batch).
                    self._held[customer_id] = [customer.version, customer.version]

    def _defer(self, statement: bytes | LiteralString, params: dict[str, Any]) -> None:
        """Send ``statement`` later, with the next statement or the commit. It must raise
        in the database when it finds other than what the caller checked (its result is
        never read)."""
        self._open_connection()
        self._pending.append((statement, params))
        # It runs before anything read from now on: a value read earlier, and not served
        # yet, is not what a read would give any more (see ReadAhead, Settings).
        self.statements += 1

    def _flush(
        self,
        statements: Sequence[tuple[Query, Any]] = (),
        commit: bool = False,
        keep_on_loss: bool = False,
    ) -> list[_wire.Results]:
        """Send the pending statements, then ``statements`` (each a statement and its
        parameters) and the commit if asked, in one pipeline (:mod:`._wire`): one round
        trip, with the transaction's ``BEGIN`` if it starts here. Returns what each of
        ``statements`` gave.
        ``keep_on_loss``: if the connection is found gone, keep the pending statements
        (nothing of them ran), for the caller to send them again on a new connection."""
        conn = self._open_connection()
        pending, self._pending = self._pending, []
        begin = conn.info.transaction_status == TransactionStatus.IDLE
        try:
            with self._store._translated():
                results = _wire.run(conn, [*pending, *statements], begin=begin, commit=commit)
        except psycopg.errors.DivisionByZero:
            # A checked write found its row or history other than this transaction held
            # them (only a database whose history and rows disagree does that), or the
            # change feed's head row was put back by another transaction at the same
            # moment. Nothing of the transaction stays; the operation may run again.
            self._ended()
            with self._store._translated():
                conn.rollback()
            self._refused = StoreConflictError(
                "a write this transaction had checked was refused by the database (a "
                "customer's row or history not as it was locked, or the change feed's head "
                "row just put back); the transaction was rolled back"
            )
            raise self._refused from None
        except StoreUnavailableError:
            if keep_on_loss and conn.broken:
                self._pending = pending
            else:
                self._ended()
            raise
        except BaseException:
            self._ended()
            raise
        if commit:
            self._ended()
        return results[len(pending) :]

    def lock_rep(self, rep_id: str) -> None:
        """Serialise the decisions about ``rep_id`` until this unit of work ends: a second
        unit of work locking the same rep waits, at its next statement (the lock is sent
        with it), until this one commits or rolls back, and then reads what it committed.
        The service calls it before it counts a rep's customers or claims (cap, claim
        limit), so two of them cannot both see room for one more. Locking a rep that does
        not exist locks nothing."""
        if rep_id in self._locked_reps:  # held until the transaction ends
            return
        # Sent with the next statement (the count it guards) or the commit, before it in
        # the same pipeline: the count's snapshot is still taken after the lock is granted.
        self._defer("SELECT 1 FROM reps WHERE id = %(id)s FOR NO KEY UPDATE", {"id": rep_id})
        self._locked_reps.add(rep_id)

    def lock_pool(self, pool_id: str) -> None:
        """Serialise automatic assignment from ``pool_id`` until this unit of work ends,
        like :meth:`lock_rep` for a rep: the pool's turn is read and written under it.
        ``FOR NO KEY UPDATE`` does not hold back customers that merely point at the pool."""
        if pool_id in self._locked_pools:  # held until the transaction ends
            return
        self._execute("SELECT 1 FROM pools WHERE id = %s FOR NO KEY UPDATE", (pool_id,))
        self._locked_pools.add(pool_id)

    def _ended(self) -> None:
        """The transaction ended: its locks are gone, and what it read vouches for nothing."""
        self.statements += 1  # what was read along vouches for nothing now
        self._locked_reps.clear()
        self._locked_pools.clear()
        self._held.clear()
        self._pending.clear()
        self.ahead.forget()
        self.customers.forget()
        self.events.forget()

    def _open_connection(self) -> Connection:
        if self._conn is None:
            raise PoolkitError("use the unit of work inside a `with` block")
        if self._refused is not None:
            raise self._refused
        return self._conn

    def _execute(self, query: Query, params: Sequence[Any] | dict[str, Any] = ()) -> _wire.Results:
        """Run one statement in this unit of work's transaction (starting the next one after
        a commit or rollback)."""
        return self._execute_together([(query, params)])[0]

    def _execute_together(self, statements: Sequence[tuple[Query, Any]]) -> list[_wire.Results]:
        """Run ``statements`` one after the other, in one round trip: with the pending
        statements before them and, when they start a transaction, its ``BEGIN``. Each
        still takes its own snapshot (READ COMMITTED), after the one before it ended: a
        count sent after a lock is taken after the lock is granted."""
        self.statements += 1
        conn = self._open_connection()
        fresh = conn.info.transaction_status == TransactionStatus.IDLE
        try:
            return self._flush(statements, keep_on_loss=fresh)
        except StoreUnavailableError:
            if not (fresh and conn.broken):
                raise
        # The connection the server dropped while it was idle in the pool (a restart, an
        # idle timeout), found by the first statements of a transaction, before anything
        # was written: run them on a new connection. Checking every connection at checkout
        # instead would cost a round trip per unit of work.
        self._store._check_in(conn)
        self._conn = self._store._check_out()
        return self._flush(statements)


__all__ = ["PostgresStore", "PostgresUnitOfWork"]
