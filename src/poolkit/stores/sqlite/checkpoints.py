"""The checkpoint after a bulk unit of work, run on a thread of the store's own.

In WAL mode a commit appends the pages it changed to the ``-wal`` file, and SQLite's
automatic checkpoint, run by the commit that takes the WAL past 1,000 pages, copies them
into the database file and syncs it. After a unit of work that changed thousands of rows
(an import batch into a large book) that is thousands of pages written at random places
of the file, and the committing thread then mostly waits for the disk. Nothing needs it to
wait: the store runs that checkpoint on a thread of its own, and the import goes on with
its next batch meanwhile. A ``PASSIVE`` checkpoint never blocks a reader or a writer, of
this process or another; a commit that needs a checkpoint is durable without one.

The WAL starts again from its beginning only when a writer begins after a checkpoint has
copied all of it. So a unit of work that begins while the last checkpoint found more than
:data:`WAL_LIMIT` pages in the WAL first waits for the checkpoint under way to finish:
the WAL then stays within about :data:`WAL_LIMIT` pages and two batches'.

Small units of work (a claim, a follow-up) keep SQLite's automatic checkpoint: handing
each of them a thread would sync the file far more often for nothing.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

__all__ = ["BULK_CHANGES", "WAL_LIMIT", "Checkpointer"]

BULK_CHANGES = 1_000
"""Rows a unit of work changes (``sqlite3.Connection.total_changes``) for its commit to
leave the checkpoint to the store's thread."""

WAL_LIMIT = 16_000
"""Pages (of 4 KiB: 64 MiB) in the WAL past which a unit of work waits, before it begins,
for the checkpoint under way, so that the WAL can start again."""

AUTOCHECKPOINT = 1_000
"""SQLite's own default, which the store's connections keep between bulk commits."""


class Checkpointer:
    """Runs ``PRAGMA wal_checkpoint(PASSIVE)`` on a thread and a connection of its own,
    each time :meth:`request` asks (requests made while one runs are served by one more
    run). The thread starts with the first request and ends with :meth:`close`.

    If a checkpoint fails (the disk full, the file gone), the checkpointer gives up:
    :attr:`available` turns false and bulk commits checkpoint as any other does.
    """

    def __init__(self, path: Path, busy_timeout_s: float) -> None:
        self._path = path
        self._busy_timeout_s = busy_timeout_s
        self._pid = os.getpid()
        self._condition = threading.Condition()
        self._requested = False
        self._running = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.failure: Exception | None = None
        # Pages in the WAL when the last checkpoint ran, and the checkpoints run so far.
        self.wal_pages = 0
        self.runs = 0

    @property
    def available(self) -> bool:
        return self.failure is None and os.getpid() == self._pid

    def request(self) -> None:
        """Run a checkpoint soon, on the thread (started if it is not)."""
        with self._condition:
            if self._stopping or not self.available:
                return
            self._requested = True
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name=f"poolkit-checkpoint {self._path.name}", daemon=True
                )
                self._thread.start()
            self._condition.notify_all()

    def before_begin(self) -> None:
        """Wait for the checkpoint under way if the WAL has grown past :data:`WAL_LIMIT`,
        so that the unit of work about to begin lets the WAL start again."""
        if self.wal_pages < WAL_LIMIT or os.getpid() != self._pid:
            return
        self.wait()
        # The unit of work beginning now restarts the WAL (unless a reader of another
        # process still needs its end): the count is that of the WAL before it.
        self.wal_pages = 0

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until no checkpoint is running or asked for; False if ``timeout_s`` ran
        out first."""
        with self._condition:
            return self._condition.wait_for(
                lambda: not (self._requested or self._running) or self._thread is None,
                timeout_s,
            )

    def close(self) -> None:
        """Finish the checkpoint asked for, if any, and end the thread and its connection.
        A later :meth:`request` starts them again."""
        with self._condition:
            thread = self._thread
            if thread is None or os.getpid() != self._pid:
                return
            self._stopping = True
            self._condition.notify_all()
        thread.join()
        with self._condition:
            self._thread = None
            self._stopping = False

    def _serve(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                str(self._path), timeout=self._busy_timeout_s, check_same_thread=False
            )
            while True:
                with self._condition:
                    self._condition.wait_for(lambda: self._requested or self._stopping)
                    if not self._requested:
                        return
                    self._requested, self._running = False, True
                try:
                    _, pages, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0]
                    self.wal_pages, self.runs = pages, self.runs + 1
                finally:
                    with self._condition:
                        self._running = False
                        self._condition.notify_all()
        except Exception as error:  # kept: bulk commits then checkpoint as others do
            with self._condition:
                self.failure = error
                self._requested = self._running = False
                self._condition.notify_all()
        finally:
            if conn is not None:
                conn.close()
