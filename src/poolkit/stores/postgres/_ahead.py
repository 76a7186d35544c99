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

A claim also counts its claimer's holdings (the cap) and reads the claimer's claims of the
window (the claim limit), after the claimer is locked. Those are read by a statement of
their own per rep, sent in the same round trip right after the first (:data:`COUNTS_SQL`,
see ``PostgresUnitOfWork._execute_together``): each statement
takes its snapshot when it starts, so the counts are taken after the lock was granted, and
see every claim committed by whoever held the lock before. (Counted in the first statement,
they would be read at that statement's snapshot, taken before it waited for the lock, and
two claims at the cap could both find room.) With the ``BEGIN`` that starts the
transaction, a claim's reads are one round trip.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any, LiteralString

from poolkit.model.holdings import Holdings
from poolkit.stores.sql.ahead import ServedRows

if TYPE_CHECKING:
    from poolkit.stores.postgres._store import PostgresUnitOfWork

# What each row of the statement is: the first column.
SETTING, REP, CUSTOMER, POOL, HOLDINGS, CLAIMS = 0, 1, 2, 3, 4, 5


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

# A rep's holdings (as Customers.holdings counts them) and its claims since an instant (as
# Events.claims_by reads them): one statement per rep, each part only if asked (a
# statement of arrays for any number of reps cost the server twice as much for one).
_HOLDINGS: LiteralString = (
    "count(*), count(*) FILTER (WHERE dealt), count(*) FILTER (WHERE locked), "
    "count(*) FILTER (WHERE dealt AND locked)"
)
_CLAIMS: LiteralString = (
    "SELECT at FROM claims WHERE rep_id = %(rep)s AND at > %(since)s ORDER BY at, customer_id, seq"
)
COUNTS_SQL: dict[tuple[bool, bool], LiteralString] = {
    (True, True): f"SELECT {_HOLDINGS}, ARRAY({_CLAIMS}) FROM customers WHERE owner_id = %(rep)s",
    (True, False): f"SELECT {_HOLDINGS}, NULL FROM customers WHERE owner_id = %(rep)s",
    (False, True): f"SELECT NULL, NULL, NULL, NULL, ARRAY({_CLAIMS})",
}


class ReadAhead(ServedRows):
    """The rows read ahead (see :class:`~poolkit.stores.sql.ahead.ServedRows`)."""

    def read(
        self,
        uow: PostgresUnitOfWork,
        customers: Collection[str],
        reps: Collection[str],
        settings: Collection[str],
        to_change: bool,
        lock_reps: Collection[str] = (),
        holdings_of: Collection[str] = (),
        claims_of: Collection[tuple[str, datetime]] = (),
    ) -> list[tuple[int, str, Any, Any]]:
        """Run the statement (and :data:`COUNTS_SQL` after it, in the same round trip, for
        each rep of ``holdings_of`` and ``claims_of``); keep the customers, reps and pools (found or
        not), the holdings and the claims, and return the rows of the first statement, for
        the settings and the customers to take their own. The reps of ``lock_reps`` are
        locked, read at their newest version, and kept like ``reps``."""
        reps = [*reps, *(rep for rep in lock_reps if rep not in reps)]
        params = {
            "customers": list(customers),
            "reps": reps,
            "lock_reps": sorted(lock_reps),
            "settings": list(settings),
        }
        statements: list[tuple[LiteralString, dict[str, Any]]] = [
            (READ_TO_CHANGE_SQL if to_change else READ_SQL, params)
        ]
        since = dict(claims_of)
        counted = [*holdings_of, *(rep for rep in since if rep not in holdings_of)]
        for rep in counted:
            kind = (rep in holdings_of, rep in since)
            statements.append((COUNTS_SQL[kind], {"rep": rep, "since": since.get(rep)}))
        cursors = uow._execute_together(statements)
        found = cursors[0].fetchall()
        rows: dict[tuple[int, str], Any] = {(CUSTOMER, c): None for c in customers}
        rows.update(((REP, r), None) for r in reps)
        for what, key, body, _ in found:
            if what != SETTING:
                rows[what, key] = body
        for rep, cursor in zip(counted, cursors[1:], strict=True):
            row = cursor.fetchone()
            assert row is not None  # an aggregate, or a SELECT without FROM: one row
            if rep in holdings_of:
                rows[HOLDINGS, rep] = Holdings(*(int(count) for count in row[:4]))
            if rep in since:
                rows[CLAIMS, rep] = (since[rep], row[4])
        self.fill(rows, uow.statements)
        return found

    def claims(
        self, uow: PostgresUnitOfWork, rep_id: str, since: datetime
    ) -> list[datetime] | None:
        """The claims of ``rep_id`` since ``since`` read ahead, served like a row (once);
        ``None`` if they were not read ahead, or since another instant."""
        served, value = self.served(uow.statements, CLAIMS, rep_id)
        if not served or value[0] != since:
            return None
        return list(value[1])
