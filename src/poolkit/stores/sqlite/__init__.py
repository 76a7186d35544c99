"""A SQLite store: one file, safe for many threads and many processes at once.

How it keeps the contract of :mod:`poolkit.ports`:

- The file runs in WAL mode, and every unit of work starts with ``BEGIN IMMEDIATE``: the
  write lock is taken up front, so units of work are serialised across threads and
  processes, and a decision read inside one (how many customers a rep holds, how many
  claims they made) still holds when it commits. A unit of work that waits longer than
  ``busy_timeout_s`` for the lock fails with :class:`~poolkit.errors.StoreBusyError`.
- A connection serves one unit of work at a time; idle ones are kept for reuse, never
  shared by two threads at once, and never used in a process that forked from the one
  that opened them.
- Customer writes name the version they are based on (``WHERE id = ? AND version = ?``);
  no matching row is a :class:`~poolkit.errors.StaleVersionError`.
- Events are rows of an append-only table keyed by ``(customer_id, seq)``, written in the
  same transaction as the state they describe.
- A file that is not poolkit's is refused before anything is written to it, and every
  failure of the file is a :class:`~poolkit.errors.StoreError`.

The modules, by job:

- :mod:`.store`: :class:`SqliteStore`, the file and its idle connections;
- :mod:`.connection`: opening, recognising a file before writing to it, and turning
  sqlite3's errors into poolkit's (the one place that does);
- :mod:`.migrations`: the versioned schema steps (frozen once shipped) and ``migrate``;
- :mod:`.unit_of_work`: one transaction, the one place statements run;
- :mod:`.repositories`: customers, reps and pools, events, review items, settings;
- :mod:`.queries`: the statements only SQLite runs as written (its JSON functions);
- shared with any relational store, in :mod:`poolkit.stores.sql` (no :mod:`sqlite3` there):
  the customers row and its version check, the side tables and their upkeep, the claims
  index, ``CustomerQuery`` as SQL, instants as integers, JSON documents, and the dialect
  that renders them for SQLite.
"""

from __future__ import annotations

from poolkit.stores.sqlite.migrations import (
    APPLICATION_ID,
    MIGRATIONS,
    SCHEMA_VERSION,
    migrate,
    schema_version,
    sync_name_blocks,
)
from poolkit.stores.sqlite.store import SqliteStore
from poolkit.stores.sqlite.unit_of_work import SqliteUnitOfWork

__all__ = [
    "APPLICATION_ID",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SqliteStore",
    "SqliteUnitOfWork",
    "migrate",
    "schema_version",
    "sync_name_blocks",
]
