"""The rows a unit of work read ahead (``UnitOfWork.read_ahead``), as every store that
reads ahead serves them: each once, and only while the unit of work has run no statement
since they were read, so that what is served is what a read of its own would have given.
Each store reads them its own way (:mod:`poolkit.stores.sqlite.ahead`,
``poolkit.stores.postgres._ahead``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ServedRows:
    """The rows read ahead, by kind and key (``None``: read, and not there), and the
    statement count they are good for."""

    def __init__(self) -> None:
        self._rows: dict[tuple[int, str], Any] = {}
        self._at = -1

    def fill(self, rows: Mapping[tuple[int, str], Any], statements: int) -> None:
        """Serve ``rows`` (in place of any before) while the unit of work has run
        ``statements`` statements."""
        self._rows = dict(rows)
        self._at = statements

    def served(self, statements: int, what: int, key: str) -> tuple[bool, Any]:
        """``(True, row)`` for a row read ahead and not yet served, if the unit of work
        has run no statement since (it has run ``statements``); otherwise ``(False,
        None)``: the caller reads it itself."""
        if self._at != statements or (what, key) not in self._rows:
            return False, None
        return True, self._rows.pop((what, key))

    def keep(self, what: int, key: str, value: Any) -> None:
        """Serve ``value`` for the row instead of what was read (a customer decoded once)."""
        self._rows[what, key] = value

    def forget(self) -> None:
        self._rows.clear()
        self._at = -1
