"""What every command is handed: the database, the clock, the service, and how to print."""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from poolkit import Clock, ManualClock, PoolService, SystemClock
from poolkit.cli._args import instant
from poolkit.cli._service import open_service
from poolkit.errors import UsageError
from poolkit.stores.sqlite import SqliteStore

__all__ = ["Context"]


class Context:
    """The options every command shares (``--db``, ``--now``, ``--json``), made usable."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.db = Path(args.db)
        self.json = bool(args.json)
        self.out = out
        self.err = err
        self.clock: Clock = ManualClock(instant(args.now, "--now")) if args.now else SystemClock()
        self._opened: list[SqliteStore] = []

    def store(self, must_exist: bool = True) -> SqliteStore:
        if must_exist and not self.db.exists():
            raise UsageError(
                f"no database at {self.db}; create one with `poolkit init` or `poolkit demo`"
            )
        try:
            store = SqliteStore(self.db)
        except sqlite3.Error as error:
            # A missing directory or a file that is not a database: a wrong --db, said in
            # one line rather than as a traceback.
            raise UsageError(f"cannot open database {self.db}: {error}") from error
        self._opened.append(store)
        return store

    def service(self) -> PoolService:
        """The service on the database, under the policy stored in it."""
        store = self.store()
        try:
            return open_service(store, self.clock)
        except UsageError:
            raise UsageError(f"{self.db} has no policy; run `poolkit init` first") from None

    def close(self) -> None:
        """Close what the command opened, so that main() can run many commands in one
        process (tests, scripts) without piling up connections."""
        for store in self._opened:
            store.close()

    def emit(self, data: Any, text: str | Sequence[str]) -> None:
        """Print ``data`` as JSON with ``--json``, else ``text`` as lines."""
        if self.json:
            json.dump(data, self.out, ensure_ascii=False, indent=2, sort_keys=True)
            self.out.write("\n")
        else:
            lines = [text] if isinstance(text, str) else list(text)
            for line in lines:
                self.out.write(line + "\n")
