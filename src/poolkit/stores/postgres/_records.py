"""Reps, pools, the event log, the review list and the settings of the PostgreSQL store."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, LiteralString, TypeVar

from poolkit.errors import DuplicateIdError, ReviewNotFound, StaleVersionError
from poolkit.model.events import Claimed, Event
from poolkit.model.feed import FeedEntry
from poolkit.model.pool import Pool
from poolkit.model.rep import Rep
from poolkit.model.review import ReviewItem, ReviewStatus
from poolkit.stores import _documents as documents
from poolkit.stores._codec import decode, encode
from poolkit.stores.postgres._ahead import POOL, REP, SETTING
from poolkit.stores.postgres._held import HeldWrites, append_event

if TYPE_CHECKING:
    from poolkit.stores.postgres._store import PostgresUnitOfWork

_Member = TypeVar("_Member", Rep, Pool)

_TEAM_SQL: dict[str, tuple[LiteralString, LiteralString, LiteralString]] = {
    table: (
        f"SELECT body FROM {table} WHERE id = %s",
        f"INSERT INTO {table} (id, body) VALUES (%s, %s) "
        "ON CONFLICT (id) DO UPDATE SET body = excluded.body",
        f"SELECT body FROM {table} ORDER BY id",
    )
    for table in ("reps", "pools")
}


class TeamDocuments(Generic[_Member]):
    """Reps or pools: one JSON document per id, in the table of that name."""

    def __init__(self, uow: PostgresUnitOfWork, table: str, kind: type[_Member]) -> None:
        self._uow = uow
        self._get, self._put, self._all = _TEAM_SQL[table]
        self._kind: type[_Member] = kind
        self._ahead = REP if table == "reps" else POOL

    def get(self, item_id: str) -> _Member | None:
        served, body = self._uow.ahead.served(self._uow.statements, self._ahead, item_id)
        if served:
            return None if body is None else decode(self._kind, body)
        found = self._uow._execute(self._get, (item_id,)).fetchone()
        return None if found is None else decode(self._kind, found[0])

    def put(self, item: _Member) -> None:
        self._uow._execute(self._put, (item.id, documents.dumps(encode(item))))

    def all(self) -> list[_Member]:
        return [decode(self._kind, body) for (body,) in self._uow._execute(self._all)]


# The next event of a history, or nothing when ``seq`` does not follow the last one. Two
# transactions appending the same ``seq`` at once: the second waits on the primary key
# until the first ends, then finds the conflict and inserts nothing (ON CONFLICT), so both
# cases are a row count of 0 and neither aborts the transaction.
#
# The customer's row is locked first (``guard``; no row yet for a Created event): every
# writer of a customer then takes its locks in one order, row before event. Without it, a
# follow-up that had appended its event and waited for the row held by a sweeper, while the
# sweeper waited to append an event with the same ``seq``, was a deadlock. The statement
# returns how many events it wrote and the version of the row it locked: the unit of work
# then holds that row (PostgresUnitOfWork._held), and the customer's write that follows is
# checked there and sent with the commit.
_GUARD: LiteralString = """guard AS (
    SELECT version FROM customers WHERE id = %(customer_id)s FOR NO KEY UPDATE
)"""
_NEXT_EVENT: LiteralString = """INSERT INTO events (customer_id, seq, kind, at, body)
SELECT %(customer_id)s, %(seq)s, %(kind)s, %(at)s, %(body)s
WHERE %(seq)s = 1 + coalesce(
        (SELECT max(seq) FROM events WHERE customer_id = %(customer_id)s), 0)"""
_APPEND: LiteralString = (
    _NEXT_EVENT + "\n  AND (SELECT count(*) FROM guard) >= 0\nON CONFLICT DO NOTHING"
)
# The event of a row this transaction holds (locked already): no guard to take.
_HELD_APPEND: LiteralString = _NEXT_EVENT + "\nON CONFLICT DO NOTHING"
# A claim also writes its row of the claims index, in the same statement.
_INDEX: LiteralString = """, indexed AS (
    INSERT INTO claims (rep_id, at, customer_id, seq)
    SELECT %(rep_id)s, at, customer_id, seq FROM appended
)"""
_RESULT: LiteralString = "SELECT (SELECT count(*) FROM appended), (SELECT version FROM guard)"
# For a customer whose row this transaction holds: fail, rather than write nothing.
_CHECKED: LiteralString = "SELECT 1 / (count(*) = 1)::int FROM appended"

APPEND_EVENT_SQL: LiteralString = (
    f"WITH {_GUARD}, appended AS ({_APPEND} RETURNING customer_id, seq, at) {_RESULT}"
)
APPEND_CLAIM_SQL: LiteralString = (
    f"WITH {_GUARD}, appended AS ({_APPEND} RETURNING customer_id, seq, at){_INDEX} {_RESULT}"
)
CHECKED_EVENT_SQL: LiteralString = (
    f"WITH appended AS ({_HELD_APPEND} RETURNING customer_id, seq, at) {_CHECKED}"
)
CHECKED_CLAIM_SQL: LiteralString = (
    f"WITH appended AS ({_HELD_APPEND} RETURNING customer_id, seq, at){_INDEX} {_CHECKED}"
)


# The change feed: a narrow table of (position, customer_id, seq), written just before a
# transaction commits for the events it appended (the events themselves are written as
# before, and never rewritten). The one row of feed_head is the tail lock: a second
# committing transaction waits on it until the first has committed (READ COMMITTED then
# reads the row as that one left it), so positions become visible in the order they were
# given, and a reader that passed position N never finds a smaller one appear later. Only
# this statement and the COMMIT run under it, sent together in one round trip: the lock is
# held for as long as the server takes to run them, never across a trip to the client. The
# units of work themselves run side by side.
#
# The head row is updated (a HOT update of one row). Should it be missing (the tables
# emptied by hand), the statement puts it back above any position left; two transactions
# doing so at once cannot both succeed (the primary key), and the statement fails unless
# it numbered every event, so the loser's unit of work is rolled back and run again.
ASSIGN_POSITIONS_SQL: LiteralString = """WITH head AS (
    UPDATE feed_head SET last = last + %(count)s WHERE id = 1 RETURNING last
), restored AS (
    INSERT INTO feed_head (id, last)
    SELECT 1, (SELECT coalesce(max(position), 0) FROM feed) + %(count)s
    WHERE NOT EXISTS (SELECT FROM head)
    ON CONFLICT (id) DO NOTHING
    RETURNING last
), numbered AS (
    INSERT INTO feed (position, customer_id, seq)
    SELECT given.last - %(count)s + mine.n, mine.customer_id, mine.seq
    FROM (SELECT last FROM head UNION ALL SELECT last FROM restored) AS given,
        unnest(%(customer_ids)s::text[], %(seqs)s::bigint[]) WITH ORDINALITY
            AS mine (customer_id, seq, n)
    RETURNING 1
)
SELECT 1 / ((SELECT count(*) FROM numbered) = %(count)s)::int"""

# The feed's range of positions, each joined to its event by the primary key.
FEED_SQL: LiteralString = """SELECT f.position, e.body
FROM (SELECT position, customer_id, seq FROM feed
      WHERE position > %s ORDER BY position LIMIT %s) AS f
JOIN events AS e ON e.customer_id = f.customer_id AND e.seq = f.seq
ORDER BY f.position"""


class Events:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow
        # The events appended in the current transaction, in order: numbered at commit.
        self._appended: list[tuple[str, int]] = []
        self._held = HeldWrites(uow)

    def forget(self) -> None:
        """The transaction ended: nothing of it is left to number."""
        self._appended.clear()
        self._held.forget()

    def number_appended(self) -> None:
        """Give the events this transaction appended their feed positions, with the commit
        that follows (the caller commits next: the statement waits to travel with it)."""
        if not self._appended:
            return
        params = {
            "count": len(self._appended),
            "customer_ids": [customer_id for customer_id, _ in self._appended],
            "seqs": [seq for _, seq in self._appended],
        }
        self._uow._defer(ASSIGN_POSITIONS_SQL, params)
        self._appended.clear()

    def since(self, position: int, limit: int) -> list[FeedEntry]:
        if limit <= 0:
            return []
        rows = self._uow._execute(FEED_SQL, (position, limit))
        return [FeedEntry(int(pos), decode(Event, body)) for pos, body in rows]

    def append(self, event: Event) -> None:
        params: dict[str, Any] = {
            "customer_id": event.customer_id,
            "seq": event.seq,
            "kind": event.kind,
            "at": event.at,
            "body": documents.dumps(encode(event)),
        }
        claim = isinstance(event, Claimed)
        if isinstance(event, Claimed):
            params["rep_id"] = event.rep_id
        held = self._uow._held.get(event.customer_id)
        if held is not None:
            # The row is locked by this transaction, and with it the history: the check is
            # exact here, and the write waits to travel with the next statement or commit.
            if event.seq != held[1] + 1:
                raise StaleVersionError(event.customer_id, event.seq - 1, held[1])
            # With the other held events waiting, in one statement (postgres._held).
            append_event(self._held, params, CHECKED_CLAIM_SQL if claim else CHECKED_EVENT_SQL)
            held[1] = event.seq
            self._appended.append((event.customer_id, event.seq))
            return
        found = self._uow._execute(APPEND_CLAIM_SQL if claim else APPEND_EVENT_SQL, params)
        row = found.fetchone()
        written = 0 if row is None else int(row[0])
        if written == 1 and row is not None and row[1] is not None:
            # The customer's row is now locked by this transaction, at this version.
            self._uow._held[event.customer_id] = [int(row[1]), event.seq]
        if written != 1:
            last = self._uow._execute(
                "SELECT coalesce(max(seq), 0) FROM events WHERE customer_id = %s",
                (event.customer_id,),
            ).fetchone()
            actual = 0 if last is None else int(last[0])
            raise StaleVersionError(event.customer_id, event.seq - 1, actual)
        self._appended.append((event.customer_id, event.seq))

    def history(self, customer_id: str) -> list[Event]:
        rows = self._uow._execute(
            "SELECT body FROM events WHERE customer_id = %s ORDER BY seq", (customer_id,)
        )
        return [decode(Event, body) for (body,) in rows]

    def claims_by(self, rep_id: str, since: datetime) -> list[datetime]:
        ahead = self._uow.ahead.claims(self._uow, rep_id, since)
        if ahead is not None:
            return ahead
        rows = self._uow._execute(
            "SELECT at FROM claims WHERE rep_id = %s AND at > %s ORDER BY at, customer_id, seq",
            (rep_id, since),
        )
        return [at for (at,) in rows]

    def customer_ids(self) -> Iterator[str]:
        # Each id once, read off the primary key; DISTINCT would sort the whole log.
        rows = self._uow._execute(
            """WITH RECURSIVE ids AS (
                (SELECT customer_id FROM events ORDER BY customer_id LIMIT 1)
                UNION ALL
                SELECT (SELECT e.customer_id FROM events AS e WHERE e.customer_id > ids.customer_id
                        ORDER BY e.customer_id LIMIT 1)
                FROM ids WHERE ids.customer_id IS NOT NULL
            ) SELECT customer_id FROM ids WHERE customer_id IS NOT NULL"""
        ).fetchall()
        return iter([str(customer_id) for (customer_id,) in rows])

    def count_kinds(self, since: datetime, until: datetime) -> dict[str, int]:
        rows = self._uow._execute(
            "SELECT kind, count(*) FROM events WHERE at >= %s AND at < %s GROUP BY kind",
            (since, until),
        )
        return {str(kind): int(count) for kind, count in rows}


_REVIEW_COLUMNS = "status, customer_id, similar_id, created_at, body"


class Reviews:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def add(self, item: ReviewItem) -> None:
        written = self._uow._execute(
            f"INSERT INTO reviews ({_REVIEW_COLUMNS}, id) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (id) DO NOTHING",
            _review_columns(item),
        ).rowcount
        if written != 1:
            raise DuplicateIdError("review item", item.id)

    def get(self, review_id: str) -> ReviewItem | None:
        found = self._uow._execute(
            "SELECT body FROM reviews WHERE id = %s", (review_id,)
        ).fetchone()
        return None if found is None else decode(ReviewItem, found[0])

    def update(self, item: ReviewItem) -> None:
        changed = self._uow._execute(
            f"UPDATE reviews SET ({_REVIEW_COLUMNS}) = (%s, %s, %s, %s, %s) WHERE id = %s",
            _review_columns(item),
        ).rowcount
        if changed == 0:
            raise ReviewNotFound(item.id)

    def find(
        self, status: ReviewStatus | None = None, customer_id: str | None = None
    ) -> list[ReviewItem]:
        wanted = None if status is None else status.value
        if customer_id is not None:
            # Through the two customer indexes: a customer has a few items, a status may
            # have thousands.
            rows = self._uow._execute(
                """SELECT body FROM reviews
                WHERE (customer_id = %(c)s OR similar_id = %(c)s)
                  AND (%(s)s::text IS NULL OR status = %(s)s)
                ORDER BY created_at, id""",
                {"c": customer_id, "s": wanted},
            )
        elif wanted is not None:
            rows = self._uow._execute(
                "SELECT body FROM reviews WHERE status = %s ORDER BY created_at, id", (wanted,)
            )
        else:
            rows = self._uow._execute("SELECT body FROM reviews ORDER BY created_at, id")
        return [decode(ReviewItem, body) for (body,) in rows]


def _review_columns(item: ReviewItem) -> tuple[Any, ...]:
    """The reviews row in the column order of add and update, ``id`` last."""
    return (
        item.status.value,
        item.customer_id,
        item.similar_id,
        item.created_at,
        documents.dumps(encode(item)),
        item.id,
    )


# The most keys a settings read fetches along with the one asked for, and the longest
# value worth fetching unasked (the policy document itself is read only when it changed).
_COMPANIONS = 8
_SMALL = 256


class Settings:
    """The settings, read together: each read also fetches the small keys this process read
    before, and a read of one of them that follows at once (no statement in between, as the
    policy's version and the schedules' version are read at the start of every unit of work)
    is served from that same read, a round trip saved. Served at once, such a value is what
    a read of its own would have given at that instant."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow
        self._fetched: dict[str, str | None] = {}
        self._fetched_at = -1

    def companions(self) -> list[str]:
        """The small keys this process read before: those worth fetching unasked."""
        # tuple(): copied in one step, while other threads of this process may add to it.
        return list(tuple(self._uow._store._setting_companions))

    def fetched(self, wanted: list[str], rows: Iterable[Sequence[Any]]) -> None:
        """Keep the values of ``wanted`` that the statement just run read (rows of
        ``SETTING``, key, _, value; other rows are passed over), to serve at once."""
        self._fetched = dict.fromkeys(wanted)
        self._fetched.update((str(row[1]), str(row[3])) for row in rows if row[0] == SETTING)
        self._fetched_at = self._uow.statements

    def get(self, key: str) -> str | None:
        if key in self._fetched and self._fetched_at == self._uow.statements:
            return self._fetched.pop(key)
        companions = self._uow._store._setting_companions
        wanted = [key, *(other for other in self.companions() if other != key)]
        rows = self._uow._execute(
            f"SELECT {SETTING}, key, NULL, value FROM settings WHERE key = ANY(%s)", (wanted,)
        ).fetchall()
        self.fetched(wanted, rows)
        value = self._fetched.pop(key)
        small = value is not None and len(value) <= _SMALL
        if small and key not in companions and len(companions) < _COMPANIONS:
            companions.add(key)
        return value

    def set(self, key: str, value: str) -> None:
        self._uow._execute(
            "INSERT INTO settings (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
