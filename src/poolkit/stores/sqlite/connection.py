"""Opening a SQLite file for poolkit, and turning sqlite3's errors into poolkit's.

Before poolkit writes anything to an existing file (its journal mode, its schema, its
header), :func:`recognise` reads it without any write access (``mode=ro``) and refuses a
file that is not poolkit's: a text file, a directory, another application's database
(its ``application_id``, or tables and ``user_version`` of its own), a truncated one.
Only then is the file opened read-write, so a refused file keeps every byte, and gets no
``-wal`` or ``-shm`` file beside it.

Every sqlite3 error a unit of work can meet goes through :func:`store_error`, the one
place that decides which poolkit error it is.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from pathlib import Path

from poolkit.errors import (
    DatabaseDamaged,
    NotAPoolkitDatabase,
    SchemaVersionError,
    StoreBusyError,
    StoreError,
    StoreUnavailableError,
)
from poolkit.stores.sqlite.migrations import (
    APPLICATION_ID,
    application_id,
    columns_of,
    missing_columns,
    schema_version,
)

_MAGIC = b"SQLite format 3\x00"
_HEADER_SIZE = 100


def connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    # isolation_level=None: the module issues no implicit BEGIN/COMMIT; we do.
    # check_same_thread=False: a connection moves between threads through the idle
    # list, but serves one unit of work (one thread) at a time.
    return sqlite3.connect(
        str(path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
    )


def recognise(path: Path, known: int, busy_timeout_s: float) -> None:
    """Refuse ``path`` unless it is missing or empty (a new database), or a poolkit
    database of a schema version up to ``known`` with every table of that version.
    Reads only; raises :class:`NotAPoolkitDatabase`, :class:`DatabaseDamaged`,
    :class:`SchemaVersionError` or :class:`StoreUnavailableError`."""
    where = str(path)
    if path.is_dir():
        raise NotAPoolkitDatabase(where, "it is a directory")
    if not path.parent.is_dir():
        raise NotAPoolkitDatabase(where, "its folder does not exist")
    if not path.exists():
        return
    header, size = _read_header(path, where)
    if size == 0:
        return  # SQLite's own view of an empty file: a database with nothing in it yet
    uri = f"file:{urllib.parse.quote(str(path.absolute()))}?mode=ro"
    # A reader of a WAL file creates its -wal and -shm files, even read-only. With no -wal
    # file nobody has it open, so the file alone is the whole truth: it is read as
    # immutable, which creates nothing, and its size must be what its header says. (The
    # header is read without SQLite's locks, so it is trusted only then; anything else,
    # a text file included, is judged by SQLite under its locks. A rollback-journal file
    # gets no -wal or -shm either way.)
    wal_mode = header.startswith(_MAGIC) and header[18:20] == b"\x02\x02"
    if wal_mode and not path.with_name(path.name + "-wal").exists():
        # Read again now that nobody has it open: the first read may have met the last
        # checkpoint of a closing writer, which writes the header before the pages.
        header, size = _read_header(path, where)
        _check_size(where, header, size)
        uri += "&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=busy_timeout_s)
        try:
            app, version, tables = application_id(conn), schema_version(conn), columns_of(conn)
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise_mapped(error, where, busy_timeout_s)
        raise
    _judge(where, app, version, tables, known)


def _read_header(path: Path, where: str) -> tuple[bytes, int]:
    try:
        with path.open("rb") as file:
            header = file.read(_HEADER_SIZE)
            size = os.fstat(file.fileno()).st_size
    except OSError as error:
        raise StoreUnavailableError(where, error.strerror or str(error)) from error
    return header, size


def _check_size(where: str, header: bytes, size: int) -> None:
    """A file shorter than its header says was truncated (a copy cut short, a full disk).
    The page count in the header is valid only when its change counter matches."""
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[24:28] == header[92:96] and pages > 0
    if valid and pages * page_size > size:
        raise DatabaseDamaged(
            where, f"the file is {size} bytes, its header says {pages * page_size}: truncated"
        )


def _judge(
    where: str, app: int, version: int, tables: dict[str, frozenset[str]], known: int
) -> None:
    if app == APPLICATION_ID:
        if version > known:
            raise SchemaVersionError(where, version, known)
        missing = missing_columns(tables, version)
        if missing:
            raise DatabaseDamaged(where, f"schema version {version} lacks {', '.join(missing)}")
        return
    if app != 0:
        raise NotAPoolkitDatabase(
            where, f"it belongs to another application (application_id {app:#010x})"
        )
    # No application id: a new database, one poolkit wrote before it set the id, or
    # another application's.
    if version == 0 and not tables:
        return
    if version == 0:
        names = ", ".join(sorted(tables)[:5])
        raise NotAPoolkitDatabase(
            where, f"it has tables of its own ({names}) and no poolkit schema"
        )
    if version > known:
        raise NotAPoolkitDatabase(
            where, f"its user_version is {version}, and it is not marked as poolkit's"
        )
    missing = missing_columns(tables, version)
    if missing:
        raise NotAPoolkitDatabase(
            where,
            f"its user_version is {version}, but it lacks poolkit's {', '.join(missing[:5])}",
        )


# sqlite3's result codes; the extended code's low byte is the primary one
# (SQLITE_BUSY_SNAPSHOT -> SQLITE_BUSY).
_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_UNAVAILABLE = {
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_NOLFS,
    sqlite3.SQLITE_NOMEM,
    sqlite3.SQLITE_PERM,
    sqlite3.SQLITE_PROTOCOL,
    sqlite3.SQLITE_READONLY,
}
# SQLITE_ERROR is also what a mistake in poolkit's own SQL gives; only these messages,
# about what the file holds, are the file's fault.
_DAMAGE_MESSAGES = ("no such table", "no such column", "malformed JSON", "could not decode")


def store_error(error: sqlite3.Error, path: str, busy_timeout_s: float) -> StoreError | None:
    """The poolkit error ``error`` stands for, or None when it is not the store's failure
    but the caller's (a constraint the caller checks, a programming error)."""
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    if code in _BUSY:
        return StoreBusyError(path, busy_timeout_s)
    if code == sqlite3.SQLITE_CORRUPT:
        return DatabaseDamaged(path, str(error))
    if code == sqlite3.SQLITE_NOTADB:
        return NotAPoolkitDatabase(path, f"it is not a SQLite database ({error})")
    if code in _UNAVAILABLE:
        return StoreUnavailableError(path, str(error))
    if isinstance(error, sqlite3.OperationalError):
        message = str(error).lower()
        if any(text.lower() in message for text in _DAMAGE_MESSAGES):
            return DatabaseDamaged(path, str(error))
    return None


def raise_mapped(error: sqlite3.Error, path: str, busy_timeout_s: float) -> None:
    """Raise the poolkit error ``error`` stands for, chained to it, if there is one."""
    found = store_error(error, path, busy_timeout_s)
    if found is not None:
        raise found from error


__all__ = ["connect", "raise_mapped", "recognise", "store_error"]
