"""Reading ahead on SQLite (``UnitOfWork.read_ahead``): an operation's first reads in one
statement.

An operation on a customer reads the policy's version and the schedules' version, the
actor, the customer and the customer's pool before it decides anything: five statements,
each prepared, stepped and wrapped by the unit of work. SQLite runs in the process, so one
statement saves no round trip, but it does save four statements' work (on the claims
benchmark's machine, about 23 µs of CPU of the 34 the five took, against 11 for the one).

The rows are kept, each served once, only until the unit of work runs its next statement,
as on PostgreSQL: ``BEGIN IMMEDIATE`` keeps every other writer out, so what is served is
what a read of its own would have given, and a write of this unit of work is a statement,
after which nothing is served. Only the common case is read ahead: one customer and one
rep (an operation by its actor); other requests are left to the reads that follow. Of the
settings, the small values are read (the versions; not the policy's document, which is
read only when it changed); a setting not among them is read as ever.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from poolkit.stores.sql.ahead import ServedRows

# What each row of the statement is: the first column.
SETTING, REP, CUSTOMER, POOL = 0, 1, 2, 3

# The longest setting worth reading unasked.
_SMALL = 256

READ_AHEAD_SQL = f"""SELECT {CUSTOMER}, id, body FROM customers WHERE id = ?1
UNION ALL SELECT {POOL}, id, body FROM pools
    WHERE id = (SELECT pool_id FROM customers WHERE id = ?1)
UNION ALL SELECT {REP}, id, body FROM reps WHERE id = ?2
UNION ALL SELECT {SETTING}, key, value FROM settings WHERE length(value) <= {_SMALL}"""
"""The customer ``?1`` (NULL: none), its pool, the rep ``?2`` (NULL: none), and the small
settings."""


class ReadAhead(ServedRows):
    """The rows read ahead (see :class:`~poolkit.stores.sql.ahead.ServedRows`)."""

    def took(
        self,
        rows: Iterable[tuple[int, str, Any]],
        customer_id: str | None,
        rep_id: str | None,
        statements: int,
    ) -> None:
        """Serve the rows :data:`READ_AHEAD_SQL` read for ``customer_id`` and ``rep_id``
        (each served as missing if it found none), while the unit of work has run
        ``statements`` statements."""
        found: dict[tuple[int, str], Any] = {}
        if customer_id is not None:
            found[CUSTOMER, customer_id] = None
        if rep_id is not None:
            found[REP, rep_id] = None
        for what, key, body in rows:
            found[what, key] = body
        self.fill(found, statements)
