"""Writes of rows a PostgreSQL unit of work holds locked, gathered into few statements.

A held row's write cannot be refused (see :class:`~._store.PostgresUnitOfWork`), so it
waits among the unit of work's pending statements. Writes of the same kind need not wait
one statement each: the first is deferred as a statement whose parameters are arrays (one
per column, sent in binary), and the next ones of that kind join it, each an element of
those arrays, for as long as it has not been sent. A sweep's batch of 500 drops is then a
statement for the events and one for the customers, not a thousand.

The statement stays checked: it fails unless it wrote exactly one row per element. Two
writes of one customer must run in the order they were made, so a write joins a waiting
statement only if that customer's previous write comes before it; otherwise it starts a
new statement, after every other.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from poolkit.stores.postgres._store import PostgresUnitOfWork


class _Statement:
    """One deferred statement of held writes: its array parameters, where it waits among
    the unit of work's pending statements."""

    def __init__(self, names: Iterable[str]) -> None:
        self.params: dict[str, list[Any]] = {name: [] for name in names}
        self.pending: list[Any] = []
        self.index = -1

    def waiting(self, pending: list[Any]) -> bool:
        """Whether it has not been sent: still where it was put among the pending."""
        return (
            pending is self.pending
            and self.index < len(pending)
            and pending[self.index][1] is self.params
        )


class HeldWrites:
    """The held writes of one table (customers, or events) of a unit of work."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow
        self._latest: dict[Hashable, _Statement] = {}
        self._last_of: dict[str, _Statement] = {}

    def params(
        self,
        kind: Hashable,
        customer_id: str,
        statement: Callable[[], bytes],
        names: Callable[[], Iterable[str]],
    ) -> dict[str, list[Any]]:
        """The arrays to append ``customer_id``'s write of ``kind`` to: those of the
        waiting statement of that kind, or of a new one (``statement()``, with arrays
        ``names()``) deferred now."""
        pending = self._uow._pending
        found = self._latest.get(kind)
        last = self._last_of.get(customer_id)
        if (
            found is None
            or not found.waiting(pending)
            or (last is not None and last.waiting(pending) and last.index >= found.index)
        ):
            found = _Statement(names())
            self._uow._defer(statement(), found.params)
            found.pending = self._uow._pending
            found.index = len(found.pending) - 1
            self._latest[kind] = found
        self._last_of[customer_id] = found
        return found.params

    def forget(self) -> None:
        """The transaction ended: nothing waits any more."""
        self._latest.clear()
        self._last_of.clear()


# The events of held rows: their histories are locked with the rows, so each event's seq
# is checked against the last one stored, as for a single event (_records.CHECKED_EVENT_SQL),
# and the statement fails unless every one was written. A claim also writes its row of
# the claims index.
_EVENT_COLUMNS = ("customer_id", "seq", "kind", "at", "body")
_EVENT_ARRAYS = (
    "unnest(%(customer_id)b::text[], %(seq)b::bigint[], %(kind)b::text[], "
    "%(at)b::timestamptz[], %(body)b::text[]{extra}) AS e(customer_id, seq, kind, at, body{name})"
)
_APPEND_EVENTS = """WITH appended AS (
    INSERT INTO events (customer_id, seq, kind, at, body)
    SELECT e.customer_id, e.seq, e.kind, e.at, e.body::json
    FROM {arrays}
    WHERE e.seq = 1 + coalesce(
        (SELECT max(x.seq) FROM events AS x WHERE x.customer_id = e.customer_id), 0)
    ON CONFLICT DO NOTHING
    RETURNING customer_id, seq, at
){index}
SELECT 1 / ((SELECT count(*) FROM appended) = cardinality(%(customer_id)b::text[]))::int"""
HELD_EVENTS_SQL = _APPEND_EVENTS.format(
    arrays=_EVENT_ARRAYS.format(extra="", name=""), index=""
).encode()
HELD_CLAIMS_SQL = _APPEND_EVENTS.format(
    arrays=_EVENT_ARRAYS.format(extra=", %(rep_id)b::text[]", name=", rep_id"),
    index=""", indexed AS (
    INSERT INTO claims (rep_id, at, customer_id, seq)
    SELECT c.rep_id, a.at, a.customer_id, a.seq
    FROM appended AS a
    JOIN unnest(%(customer_id)b::text[], %(seq)b::bigint[], %(rep_id)b::text[])
        AS c(customer_id, seq, rep_id) ON c.customer_id = a.customer_id AND c.seq = a.seq
)""",
).encode()


def append_event(held: HeldWrites, params: dict[str, Any]) -> None:
    """Defer the checked append of an event to a held row (``params`` as for
    ``_records.CHECKED_EVENT_SQL``, with ``rep_id`` for a claim)."""
    claim = "rep_id" in params
    names = (*_EVENT_COLUMNS, "rep_id") if claim else _EVENT_COLUMNS
    arrays = held.params(
        claim,
        params["customer_id"],
        lambda: HELD_CLAIMS_SQL if claim else HELD_EVENTS_SQL,
        lambda: names,
    )
    for name in names:
        arrays[name].append(params[name])
