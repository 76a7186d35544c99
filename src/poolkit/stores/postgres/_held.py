"""Writes of rows a PostgreSQL unit of work holds locked, gathered into few statements.

A held row's write cannot be refused (see :class:`~._store.PostgresUnitOfWork`), so it
waits among the unit of work's pending statements. Writes of one kind need not wait one
statement each: the first waits as its own single-row statement, and when a second of
that kind comes while it still waits, a statement whose parameters are arrays (one per
column, sent in binary) takes its place, holding both, each an element of the arrays;
the next ones join it for as long as it has not been sent. A sweep's batch of 500 drops
is then a statement for the events and one for the customers, not a thousand. A write
alone (a claim's) keeps its single-row statement, which the server plans once, where it
would plan the statement of arrays every time.

The statement stays checked: it fails unless it wrote exactly one row per element. Two
writes of one customer must run in the order they were made, so a write joins a waiting
statement only if that customer's previous write comes before it; otherwise it starts a
new statement, after every other.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any, LiteralString

if TYPE_CHECKING:
    from poolkit.stores.postgres._store import PostgresUnitOfWork


class Write:
    """One held write, as the caller makes it: alone, ``single`` (its statement and
    parameters); among others, ``bulk()`` (the statement of arrays ``names()``) with its
    elements appended by ``append(arrays)``."""

    def __init__(
        self,
        single: tuple[bytes | LiteralString, dict[str, Any]],
        bulk: Callable[[], bytes],
        names: Callable[[], Iterable[str]],
        append: Callable[[dict[str, list[Any]]], None],
    ) -> None:
        self.single = single
        self.bulk = bulk
        self.names = names
        self.append = append


class _Waiting:
    """A deferred statement of held writes: where it waits among the unit of work's
    pending statements, its parameters, and its first write while it is alone."""

    def __init__(self, first: Write, pending: list[Any]) -> None:
        self.first: Write | None = first
        self.params: dict[str, Any] = first.single[1]
        self.pending = pending
        self.index = len(pending) - 1

    def waiting(self, pending: list[Any]) -> bool:
        """Whether it has not been sent: still where it was put among the pending."""
        return (
            pending is self.pending
            and self.index < len(pending)
            and pending[self.index][1] is self.params
        )

    def join(self, write: Write) -> None:
        """Add ``write``: the first one alone becomes the bulk statement, in its place."""
        first, self.first = self.first, None
        if first is not None:
            arrays: dict[str, list[Any]] = {name: [] for name in first.names()}
            first.append(arrays)
            self.params = arrays
            self.pending[self.index] = (first.bulk(), arrays)
        write.append(self.params)


def _never(*_: Any) -> Any:
    raise AssertionError("a write deferred alone is never joined")


class HeldWrites:
    """The held writes of one table (customers, or events) of a unit of work."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow
        self._latest: dict[Hashable, _Waiting] = {}
        self._last_of: dict[str, _Waiting] = {}

    def add(self, kind: Hashable, customer_id: str, write: Write) -> None:
        """Defer ``write`` of ``customer_id``: in the waiting statement of its ``kind``, or
        alone (as ``write.single``) after every other pending statement."""
        pending = self._uow._pending
        found = self._latest.get(kind)
        last = self._last_of.get(customer_id)
        if (
            found is None
            or not found.waiting(pending)
            or (last is not None and last.waiting(pending) and last.index >= found.index)
        ):
            self._uow._defer(*write.single)
            found = _Waiting(write, self._uow._pending)
            self._latest[kind] = found
        else:
            found.join(write)
        self._last_of[customer_id] = found

    def alone(
        self, customer_id: str, statement: bytes | LiteralString, params: dict[str, Any]
    ) -> None:
        """Defer a write of ``customer_id`` that no other joins; a later write of the same
        customer still goes after it."""
        self._uow._defer(statement, params)
        self._last_of[customer_id] = _Waiting(
            Write((statement, params), _never, _never, _never), self._uow._pending
        )

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


def append_event(held: HeldWrites, params: dict[str, Any], single: bytes | LiteralString) -> None:
    """Defer the checked append of an event to a held row: ``single`` with ``params``
    alone (``_records.CHECKED_EVENT_SQL``, or ``CHECKED_CLAIM_SQL`` with ``rep_id``), or
    as elements of the arrays of the other held events of its kind."""
    claim = "rep_id" in params
    names = (*_EVENT_COLUMNS, "rep_id") if claim else _EVENT_COLUMNS

    def append(arrays: dict[str, list[Any]]) -> None:
        for name in names:
            arrays[name].append(params[name])

    bulk = HELD_CLAIMS_SQL if claim else HELD_EVENTS_SQL
    held.add(
        claim, params["customer_id"], Write((single, params), lambda: bulk, lambda: names, append)
    )
