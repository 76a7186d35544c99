"""A unit of work of the SQLite store: one ``BEGIN IMMEDIATE`` transaction on one
connection, from ``with`` to its end, and the one place its statements run (so every
sqlite3 error they raise is turned into poolkit's, see :mod:`.connection`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from poolkit.errors import PoolkitError
from poolkit.model.customer import Customer
from poolkit.model.pool import Pool
from poolkit.model.rep import Rep
from poolkit.stores.sqlite.ahead import READ_AHEAD_SQL, ReadAhead
from poolkit.stores.sqlite.checkpoints import AUTOCHECKPOINT, BULK_CHANGES
from poolkit.stores.sqlite.connection import raise_mapped
from poolkit.stores.sqlite.repositories import (
    Customers,
    Events,
    Reviews,
    Settings,
    TeamDocuments,
)

if TYPE_CHECKING:
    from poolkit.stores.sqlite.store import SqliteStore


class SqliteUnitOfWork:
    """One transaction on one connection, from ``with`` to its end.

    ``commit()`` and ``rollback()`` end the current transaction; using the repositories
    afterwards (in the same ``with`` block) starts the next one.
    """

    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._conn: sqlite3.Connection | None = None
        # The customers read or written in the current transaction, as stored. The write
        # lock is held from the first statement, so nobody else changes them meanwhile: an
        # update of one of them knows what changed without reading the row back. Each with
        # the document it was read from, or None (see _codec.encode_changed).
        self._known: dict[str, tuple[Customer, Any]] = {}
        # Statements run so far: what is read ahead is served until the next one runs.
        self.statements = 0
        # Rows the connection had changed when the transaction began: a commit that
        # changed BULK_CHANGES more leaves its checkpoint to the store's thread.
        self._changes_at_begin = 0
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
        conn = self._store._check_out()
        try:
            self._begin(conn)
        except BaseException:
            self._store._check_in(conn)
            raise
        self._conn = conn
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        self._known.clear()
        if conn is None:
            return
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            # Closing a connection rolls back whatever it had open; the error that brought
            # us here, if any, is the one worth raising.
            conn.close()
            return
        except BaseException:
            conn.close()
            raise
        self._store._check_in(conn)

    def lock_rep(self, rep_id: str) -> None:
        """Nothing to hold: ``BEGIN IMMEDIATE`` lets one writer in at a time."""

    def lock_pool(self, pool_id: str) -> None:
        """Nothing to hold, as for :meth:`lock_rep`."""

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
        """Read one customer, its pool, one rep and the small settings in one statement,
        to serve the reads that follow (see :mod:`.ahead`); any other request is left to
        them. Nothing to lock: ``BEGIN IMMEDIATE`` already holds every customer and rep."""
        wanted_reps = {*reps, *lock_reps}
        if len(customers) > 1 or len(wanted_reps) > 1 or not (customers or wanted_reps):
            return
        customer_id = next(iter(customers), None)
        rep_id = next(iter(wanted_reps), None)
        rows = self._rows(READ_AHEAD_SQL, (customer_id, rep_id))
        self.ahead.took(rows, customer_id, rep_id, self.statements)

    def commit(self) -> None:
        conn = self._open_connection()
        self._known.clear()
        if not conn.in_transaction:
            return
        checkpoints = self._store.checkpoints
        if conn.total_changes - self._changes_at_begin < BULK_CHANGES or not checkpoints.available:
            self._run_on(conn, "COMMIT")
            return
        # A bulk commit leaves its checkpoint to the store's thread (see .checkpoints).
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        try:
            self._run_on(conn, "COMMIT")
        finally:
            conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT:d}")
        checkpoints.request()

    def rollback(self) -> None:
        conn = self._open_connection()
        self._known.clear()
        if conn.in_transaction:
            self._run_on(conn, "ROLLBACK")

    def _open_connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise PoolkitError("use the unit of work inside a `with` block")
        return self._conn

    def _begin(self, conn: sqlite3.Connection) -> None:
        self._known.clear()
        self._store.checkpoints.before_begin()
        self._changes_at_begin = conn.total_changes
        self._run_on(conn, "BEGIN IMMEDIATE")

    def _run_on(self, conn: sqlite3.Connection, sql: str) -> None:
        self.statements += 1
        try:
            conn.execute(sql)
        except sqlite3.Error as error:
            self._raise_mapped(error)
            raise

    def _raise_mapped(self, error: sqlite3.Error) -> None:
        raise_mapped(error, str(self._store.path), self._store.busy_timeout_s)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run ``sql`` in this unit of work's transaction (starting the next one after a
        commit or rollback). The first row is read here; read the others through
        :meth:`_rows` or :meth:`_iterate`, which turn errors met later into poolkit's."""
        conn = self._open_connection()
        if not conn.in_transaction:
            self._begin(conn)
        self.statements += 1
        try:
            return conn.execute(sql, params)
        except sqlite3.Error as error:
            self._raise_mapped(error)
            raise

    def _run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement that returns no rows; the number of rows it changed."""
        return self._execute(sql, params).rowcount

    def _run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run a statement that returns no rows once per row of ``rows``."""
        conn = self._open_connection()
        if not conn.in_transaction:
            self._begin(conn)
        self.statements += 1
        try:
            conn.executemany(sql, rows)
        except sqlite3.Error as error:
            self._raise_mapped(error)
            raise

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first row of ``sql``, or None."""
        cursor = self._execute(sql, params)
        try:
            return cursor.fetchone()
        except sqlite3.Error as error:
            self._raise_mapped(error)
            raise

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cursor = self._execute(sql, params)
        try:
            return cursor.fetchall()
        except sqlite3.Error as error:
            self._raise_mapped(error)
            raise

    def _iterate(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Any]:
        """The rows of ``sql`` one at a time, for a reader that may stop early."""
        cursor = self._execute(sql, params)
        try:
            yield from cursor
        except sqlite3.Error as error:
            self._raise_mapped(error)
            raise


__all__ = ["SqliteUnitOfWork"]
