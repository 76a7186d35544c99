"""The SQLite store itself: the file, and the connections kept for its units of work."""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from pathlib import Path
from types import TracebackType
from typing import Self

from poolkit.errors import InvalidValueError, PoolkitError, SchemaVersionError
from poolkit.stores.sqlite.checkpoints import Checkpointer
from poolkit.stores.sqlite.connection import connect, raise_mapped, recognise
from poolkit.stores.sqlite.migrations import (
    MIGRATIONS,
    SCHEMA_VERSION,
    migrate,
    schema_version,
    sync_name_blocks,
)
from poolkit.stores.sqlite.unit_of_work import SqliteUnitOfWork

_MAX_IDLE = 8


class SqliteStore:
    """Keeps everything in one SQLite file; see :mod:`poolkit.stores.sqlite` for the
    guarantees.

    ``path`` is the database file (created if missing; ``":memory:"`` is refused, because
    every connection would see a different empty database: use
    :class:`~poolkit.stores.memory.MemoryStore`). ``busy_timeout_s`` is how long a unit of
    work waits for another to finish before :class:`~poolkit.errors.StoreBusyError`.

    A file that is not a poolkit database is refused before anything in it changes
    (:class:`~poolkit.errors.NotAPoolkitDatabase`), and so is a damaged one
    (:class:`~poolkit.errors.DatabaseDamaged`).
    """

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 30.0) -> None:
        if str(path) in ("", ":memory:"):
            raise InvalidValueError(
                "path", f"give a file path, not {str(path)!r} (for memory, use MemoryStore)"
            )
        if isinstance(busy_timeout_s, bool) or not busy_timeout_s >= 0:
            raise InvalidValueError("busy_timeout_s", f"must be >= 0, got {busy_timeout_s!r}")
        # Absolute, so that a later chdir does not point new connections at another file.
        self.path = Path(path).absolute()
        self.busy_timeout_s = float(busy_timeout_s)
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._inherited: list[sqlite3.Connection] = []
        self.checkpoints = self._checkpointer()
        # Reps and pools as last decoded, with the document they were decoded from: every
        # operation reads its actor and pool, and decoding them was a fifth of a claim's
        # time. A value is reused only for the very same stored text (values are frozen).
        self.team_documents: dict[tuple[str, str], tuple[str, object]] = {}
        # Read-only, before the first write below (even the journal mode is one).
        recognise(self.path, SCHEMA_VERSION, self.busy_timeout_s)
        try:
            conn = connect(self.path, self.busy_timeout_s)
        except sqlite3.Error as error:
            raise_mapped(error, str(self.path), self.busy_timeout_s)
            raise
        try:
            self.migrated_from = self._prepare(conn)
        except sqlite3.Error as error:
            conn.close()
            raise_mapped(error, str(self.path), self.busy_timeout_s)
            raise
        except BaseException:
            conn.close()
            raise
        self._check_in(conn)

    def _prepare(self, conn: sqlite3.Connection) -> int:
        """WAL mode, the current schema, and a name-block index built the way this poolkit
        normalises names; the schema version the file had (0 for a new file)."""
        # Checked again now that the file is open for writing: another process may have
        # migrated it since it was recognised.
        found = schema_version(conn)
        if found > SCHEMA_VERSION:
            raise SchemaVersionError(str(self.path), found, SCHEMA_VERSION)
        # WAL lets readers of other processes carry on while one unit of work writes;
        # the mode is stored in the file, so this is a no-op after the first open.
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise PoolkitError(f"database {self.path} cannot use WAL mode (got {mode!r})")
        migrated_from = migrate(conn, MIGRATIONS, path=str(self.path))
        sync_name_blocks(conn)
        return migrated_from

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    def unit_of_work(self) -> SqliteUnitOfWork:
        return SqliteUnitOfWork(self)

    @property
    def schema_version(self) -> int:
        """The schema version of the file (this poolkit's :data:`SCHEMA_VERSION` once open)."""
        conn = self._check_out()
        try:
            return schema_version(conn)
        except sqlite3.Error as error:
            raise_mapped(error, str(self.path), self.busy_timeout_s)
            raise
        finally:
            self._check_in(conn)

    def close(self) -> None:
        """Close the idle connections, and end the checkpoint thread once the checkpoint
        asked of it is done (see :mod:`.checkpoints`). The store stays usable: it
        reconnects on demand."""
        self.checkpoints.close()
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check_out(self) -> sqlite3.Connection:
        self._forget_after_fork()
        with self._lock:
            if self._idle:
                return self._idle.pop()
        try:
            return connect(self.path, self.busy_timeout_s)
        except sqlite3.Error as error:
            raise_mapped(error, str(self.path), self.busy_timeout_s)
            raise

    def _check_in(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.close()
            return
        self._forget_after_fork()
        with self._lock:
            if len(self._idle) < _MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()

    def _checkpointer(self) -> Checkpointer:
        checkpoints = Checkpointer(self.path, self.busy_timeout_s)
        # A store dropped unclosed still ends its thread (after its last checkpoint).
        weakref.finalize(self, checkpoints.close)
        return checkpoints

    def _forget_after_fork(self) -> None:
        """A forked child must neither use nor close its parent's connections (SQLite
        forbids carrying one across fork), so they are parked, unclosed, for the life of
        the process. The lock is replaced too: fork may have copied it held."""
        if os.getpid() != self._pid:
            self._inherited.extend(self._idle)
            self._idle = []
            self._lock = threading.Lock()
            self._pid = os.getpid()
            # The parent's checkpoint thread did not come through fork.
            self.checkpoints = self._checkpointer()


__all__ = ["SqliteStore"]
