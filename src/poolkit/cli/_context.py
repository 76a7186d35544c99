"""What every command is handed: the database, the clock, the service, and how to print."""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

from poolkit import Clock, ManualClock, PoolService, SystemClock
from poolkit.cli._args import instant
from poolkit.cli._service import open_service
from poolkit.errors import ConfigError, UsageError
from poolkit.ports import Store
from poolkit.stores import open_store
from poolkit.stores.sqlite import SqliteStore

_SERVER_SCHEMES = ("postgresql", "postgres")


def _shown(location: str) -> str:
    """A database URL as it may be printed: without its password."""
    parts = urlsplit(location)
    if parts.password is None:
        return location
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


__all__ = ["Context"]


class Context:
    """The options every command shares (``--db``, ``--now``, ``--json``), made usable."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.location = str(args.db)
        # --db is a file path, or a postgresql:// URL for a database on a server.
        self.on_server = urlsplit(self.location).scheme.lower() in _SERVER_SCHEMES
        self.db = Path(args.db)
        self.name = _shown(self.location) if self.on_server else self.location
        self.json = bool(args.json)
        self.out = out
        self.err = err
        self.clock: Clock = ManualClock(instant(args.now, "--now")) if args.now else SystemClock()
        self._opened: list[Store] = []

    def exists(self) -> bool:
        """Whether ``--db`` names a poolkit database that holds a policy already (a file
        that exists; on a server, a schema that was initialised)."""
        if not self.on_server:
            return self.db.exists()
        try:
            open_service(self.store(), self.clock)
        except UsageError:
            return False
        return True

    def store(self, must_exist: bool = True) -> Store:
        if self.on_server:
            try:
                store: Store = open_store(self.location)
            except ImportError as error:
                raise UsageError(
                    f"{self.name}: a PostgreSQL database needs the postgres extra "
                    f"(pip install 'poolkit[postgres]'): {error}"
                ) from None
        else:
            if must_exist and not self.db.exists():
                raise UsageError(
                    f"no database at {self.db}; create one with `poolkit init` or `poolkit demo`"
                )
            try:
                store = SqliteStore(self.db)
            except sqlite3.Error as error:
                # A missing directory or a file that is not a database: a wrong --db, said
                # in one line rather than as a traceback.
                raise UsageError(f"cannot open database {self.db}: {error}") from error
        self._opened.append(store)
        return store

    def service(self) -> PoolService:
        """The service on the database, under the policy stored in it."""
        store = self.store()
        try:
            return open_service(store, self.clock)
        except (UsageError, ConfigError) as error:
            if isinstance(error, ConfigError) and error.path != "policy":
                raise
            raise UsageError(f"{self.name} has no policy; run `poolkit init` first") from None

    def close(self) -> None:
        """Close what the command opened, so that main() can run many commands in one
        process (tests, scripts) without piling up connections."""
        for store in self._opened:
            close = getattr(store, "close", None)  # the ports do not require one
            if close is not None:
                close()

    def emit(self, data: Any, text: str | Sequence[str]) -> None:
        """Print ``data`` as JSON with ``--json``, else ``text`` as lines."""
        if self.json:
            json.dump(data, self.out, ensure_ascii=False, indent=2, sort_keys=True)
            self.out.write("\n")
        else:
            lines = [text] if isinstance(text, str) else list(text)
            for line in lines:
                self.out.write(line + "\n")
