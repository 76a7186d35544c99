"""Reading ahead (``UnitOfWork.read_ahead``): the reads an operation starts with, in one
statement instead of one round trip each.

An operation on a customer reads the policy's version, the actor, the customer and the
customer's pool before it decides anything. Read one by one, that is four round trips
before the first write; read ahead, one. The rows are kept, each served once, only until
the unit of work runs its next statement: what is served is what a read of its own would
have given a moment earlier, with no write of this unit of work in between.

Reps may be locked too (``lock_reps``, as ``lock_rep`` would): a claim locks its claimer
here, before it counts the claimer's holdings and claims, rather than in a statement of its
own. Read ahead ``to_change``, the customers' rows are locked (``FOR NO KEY UPDATE``) for the
rest of the transaction, as their first write would lock them: the unit of work then holds
them (``PostgresUnitOfWork._held``), so their event and their row are checked here and
travel with the commit, in its round trip. Two operations on one customer queue on the
lock, and the second reads what the first committed: the loser of a claim race learns the
winner at once, with no retry.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, LiteralString

if TYPE_CHECKING:
    from poolkit.stores.postgres._store import PostgresUnitOfWork

# What each row of the statement is: the first column.
SETTING, REP, CUSTOMER, POOL = 0, 1, 2, 3


def _statement(lock: LiteralString) -> LiteralString:
    # The customers are locked first (the first branch reads them), then the reps to lock,
    # in order of id: a claim takes its locks customer first, then rep.
    return f"""WITH wanted AS (
    SELECT id, pool_id, body FROM customers WHERE id = ANY(%(customers)s::text[]){lock}
), locked_reps AS (
    SELECT id, body FROM reps WHERE id = ANY(%(lock_reps)s::text[])
    ORDER BY id FOR NO KEY UPDATE
)
SELECT {CUSTOMER}, id, body, NULL FROM wanted
UNION ALL SELECT {POOL}, id, body, NULL FROM pools
    WHERE id IN (SELECT pool_id FROM wanted WHERE pool_id IS NOT NULL)
UNION ALL SELECT {REP}, id, body, NULL FROM locked_reps
UNION ALL SELECT {REP}, id, body, NULL FROM reps
    WHERE id = ANY(%(reps)s::text[]) AND NOT id = ANY(%(lock_reps)s::text[])
UNION ALL SELECT {SETTING}, key, NULL, value FROM settings WHERE key = ANY(%(settings)s::text[])"""


READ_SQL = _statement("")
READ_TO_CHANGE_SQL = _statement(" FOR NO KEY UPDATE")


class ReadAhead:
    """The rows read ahead, by kind and id (``None``: read, and not there), and the
    statement count they are good for."""

    def __init__(self) -> None:
        self._rows: dict[tuple[int, str], Any] = {}
        self._at = -1

    def read(
        self,
        uow: PostgresUnitOfWork,
        customers: Collection[str],
        reps: Collection[str],
        settings: Collection[str],
        to_change: bool,
        lock_reps: Collection[str] = (),
    ) -> list[tuple[int, str, Any, Any]]:
        """Run the statement; keep the customers, reps and pools (found or not) and return
        every row, for the settings and the customers to take their own. The reps of
        ``lock_reps`` are locked, read at their newest version, and kept like ``reps``."""
        reps = [*reps, *(rep for rep in lock_reps if rep not in reps)]
        params = {
            "customers": list(customers),
            "reps": reps,
            "lock_reps": sorted(lock_reps),
            "settings": list(settings),
        }
        found = uow._execute(READ_TO_CHANGE_SQL if to_change else READ_SQL, params).fetchall()
        self._at = uow.statements
        self._rows = {(CUSTOMER, c): None for c in customers}
        self._rows.update(((REP, r), None) for r in reps)
        for what, key, body, _ in found:
            if what != SETTING:
                self._rows[what, key] = body
        return found

    def served(self, uow: PostgresUnitOfWork, what: int, key: str) -> tuple[bool, Any]:
        """``(True, body)`` for a row read ahead and not yet served, if no statement ran
        since; otherwise ``(False, None)``: the caller reads it itself."""
        if self._at != uow.statements or (what, key) not in self._rows:
            return False, None
        return True, self._rows.pop((what, key))

    def keep(self, what: int, key: str, value: Any) -> None:
        """Serve ``value`` for the row instead of its body (a customer decoded once)."""
        self._rows[what, key] = value

    def forget(self) -> None:
        self._rows.clear()
        self._at = -1
