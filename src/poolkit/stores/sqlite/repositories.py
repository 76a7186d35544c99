"""The repositories of a SQLite unit of work: customers, reps and pools, events, review
items and settings. Each runs its statements through its unit of work, in its transaction.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from poolkit.errors import DamagedRecordError, DuplicateIdError, ReviewNotFound, StaleVersionError
from poolkit.model.customer import Customer, CustomerStatus, IdentityKey
from poolkit.model.events import Claimed, Created, Event
from poolkit.model.feed import FeedEntry
from poolkit.model.holdings import Holdings
from poolkit.model.pool import Pool
from poolkit.model.rep import Rep
from poolkit.model.review import ReviewItem, ReviewStatus
from poolkit.model.schedule import Schedule
from poolkit.ports import CustomerOrder, CustomerQuery, CustomerTally, Position
from poolkit.stores import _documents as documents
from poolkit.stores._codec import encode, encode_changed
from poolkit.stores._created import checked_ids
from poolkit.stores.sql import customer_page
from poolkit.stores.sql.converters import (
    instant,
    json_list,
    json_text,
    micros,
    optional_instant,
    read_document,
    read_with_document,
)
from poolkit.stores.sql.customer_query import select_customers
from poolkit.stores.sql.dialect import SQLITE
from poolkit.stores.sql.rows import (
    ALL_SIDES,
    SIDE_TABLES,
    SIDES,
    SideTables,
    changed_update,
    customer_row,
    document_rows,
    statements,
)
from poolkit.stores.sqlite.ahead import CUSTOMER, POOL, REP, SETTING
from poolkit.stores.sqlite.migrations import PAGE_SORT_COLUMNS
from poolkit.stores.sqlite.queries import (
    APPEND_EVENT_SQL,
    COMMON_BLOCKS_SQL,
    DELETE_EXTERNAL_ID_SQL,
    DUE_SQL,
    EXTERNAL_ID_SQL,
    FEED_SQL,
    HOLDINGS_SQL,
    INSERT_EVENT_SQL,
    INSERT_EXTERNAL_ID_SQL,
    NAMES_BY_BLOCK_SQL,
    NORMAL_NAMES_SQL,
    REVIEWS_OF_CUSTOMER_SQL,
    SIMILAR_NAMES_SQL,
    STORED_SIDES_SQL,
    TAKEN_IDS_SQL,
    WITH_EXTERNAL_IDS_SQL,
    WITH_KEYS_SQL,
)

if TYPE_CHECKING:
    from poolkit.stores.sqlite.unit_of_work import SqliteUnitOfWork

SQL = statements(SQLITE)
_FIRST, _SECOND = itemgetter(0), itemgetter(1)
_NO_DROP = 2**63 - 1  # as the next-drop index has it: no drop due sorts last
SORTS = customer_page.PageSorts(
    expressions={
        CustomerOrder.NAME: PAGE_SORT_COLUMNS["name"],
        CustomerOrder.ENTERED: PAGE_SORT_COLUMNS["entered"],
        CustomerOrder.NEXT_DROP: PAGE_SORT_COLUMNS["next_drop"],
    },
    marks=dict.fromkeys(CustomerOrder, "?"),
    drop_value=lambda at: _NO_DROP if at is None else micros(at),
    read_drop=optional_instant,
    instant=micros,
)


def read_customer(customer_id: str, body: str) -> Customer:
    return read_document(Customer, body, "customer", customer_id)


class Customers:
    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow
        self._sides = SideTables(uow._run, SQL, uow._run_many)

    def get(self, customer_id: str) -> Customer | None:
        served, body = self._uow.ahead.served(self._uow.statements, CUSTOMER, customer_id)
        if not served:
            found = self._uow._one("SELECT body FROM customers WHERE id = ?", (customer_id,))
            body = None if found is None else found[0]
        return None if body is None else self._loaded(customer_id, body)

    def schedule_of(self, customer_id: str) -> Schedule | None:
        found = self._uow._one(
            "SELECT drop_at, warn_at FROM customers WHERE id = ?", (customer_id,)
        )
        if found is None:
            return None
        drop_at, warn_at = found
        return Schedule(optional_instant(drop_at), optional_instant(warn_at))

    def add(self, customer: Customer, schedule: Schedule) -> None:
        external_id = customer.external_id
        # Checked before anything is written, so that a refusal leaves nothing behind; one
        # writer at a time holds the file, so the answer still holds at the insert.
        if external_id is not None and self._uow._one(EXTERNAL_ID_SQL, (external_id,)):
            raise DuplicateIdError("external", external_id)
        try:
            self._uow._run(SQL.insert_customer, customer_row(customer, schedule, SQLITE))
        except sqlite3.IntegrityError as error:
            raise DuplicateIdError("customer", customer.id) from error
        if external_id is not None:
            self._uow._run(INSERT_EXTERNAL_ID_SQL, (external_id, customer.id))
        self._sides.add(customer)
        self._uow._known[customer.id] = customer, None

    def add_created(self, created: Sequence[tuple[Created, Customer, Schedule]]) -> None:
        """One ``executemany`` per table for all of them (an import's batch): a row at a
        time, the statements' own cost was most of an import into an empty file."""
        if not created:
            return
        ids, external = checked_ids(created)
        # Checked before anything is written; one writer at a time holds the file, so the
        # answers still hold at the inserts.
        taken = self._uow._rows(TAKEN_IDS_SQL, (json.dumps(ids, ensure_ascii=False),))
        if taken:
            raise DuplicateIdError("customer", str(taken[0][0]))
        if external:
            stored = self._uow._rows(WITH_EXTERNAL_IDS_SQL, (json_list(frozenset(external)),))
            if stored:
                raise DuplicateIdError("external", min(str(row[0]) for row in stored))
        run_many = self._uow._run_many
        run_many(
            INSERT_EVENT_SQL,
            [
                (event.customer_id, event.seq, event.kind, micros(event.at), json_text(event))
                for event, _, _ in created
            ],
        )
        run_many(
            SQL.insert_customer,
            [customer_row(customer, schedule, SQLITE) for _, customer, schedule in created],
        )
        run_many(
            INSERT_EXTERNAL_ID_SQL,
            [(c.external_id, c.id) for _, c, _ in created if c.external_id is not None],
        )
        for table, side in ALL_SIDES.items():
            rows = [(*row, c.id) for _, c, _ in created for row in sorted(side.rows_of(c))]
            if rows:
                run_many(SQL.insert_side_row[table], rows)
        known = self._uow._known
        for _, customer, _ in created:
            known[customer.id] = customer, None

    def update(self, customer: Customer, schedule: Schedule, expected_version: int) -> None:
        known = self._uow._known.pop(customer.id, None)
        if known is not None and known[0].version == expected_version:
            document = self._update_known(*known, customer, schedule)
        else:
            self._update_unknown(customer, schedule, expected_version)
            document = None
        self._uow._known[customer.id] = customer, document

    def _update_known(
        self, stored: Customer, document: Any, customer: Customer, schedule: Schedule
    ) -> dict[str, Any]:
        """Update a customer this transaction read or wrote: the side tables follow the
        difference between the two values, with no read of the stored document. The new
        document (returned) takes the fields left as they were from the stored one, when it
        is known."""
        new = encode(customer) if document is None else encode_changed(customer, stored, document)
        statement, params = changed_update(stored, customer, schedule, SQLITE, documents.dumps(new))
        changed = self._uow._run(statement, params)
        if changed == 0:  # unreachable while the write lock is held; kept as a guard
            raise StaleVersionError(customer.id, stored.version, self._version(customer.id))
        self._sides.follow(stored, customer)
        return new

    def _update_unknown(
        self, customer: Customer, schedule: Schedule, expected_version: int
    ) -> None:
        """Update a customer this transaction has not read: one read of the stored row
        tells its version and which side tables need a change."""
        row = customer_row(customer, schedule, SQLITE)
        body = row[-2]
        stored = self._uow._one(STORED_SIDES_SQL, (body, customer.id))
        if stored is None or stored[0] != expected_version:
            actual = None if stored is None else int(stored[0])
            raise StaleVersionError(customer.id, expected_version, actual)
        if stored[1]:
            raise DamagedRecordError("customer", customer.id, "its stored document is not JSON")
        changed = self._uow._run(SQL.update_customer, (*row, expected_version))
        if changed == 0:  # unreachable while the write lock is held; kept as a guard
            raise StaleVersionError(customer.id, expected_version, None)
        name_changed, old_keys, old_tags, old_related = stored[2:]
        for table, stored_field in zip(SIDE_TABLES, (old_keys, old_tags, old_related), strict=True):
            if stored_field is not None:
                self._sides.write(
                    table,
                    customer.id,
                    document_rows(documents.loads(stored_field)),
                    SIDES[table].rows_of(customer),
                )
        if name_changed:
            self._sides.replace_name_blocks(customer)

    def remove(self, customer_id: str, expected_version: int) -> None:
        self._uow._known.pop(customer_id, None)
        changed = self._uow._run(SQL.delete_customer, (customer_id, expected_version))
        if changed == 0:
            raise StaleVersionError(customer_id, expected_version, self._version(customer_id))
        self._sides.remove(customer_id)
        self._uow._run(DELETE_EXTERNAL_ID_SQL, (customer_id,))

    def _version(self, customer_id: str) -> int | None:
        found = self._uow._one(SQL.version_of, (customer_id,))
        return None if found is None else int(found[0])

    def find(
        self, query: CustomerQuery, limit: int | None = None, *, after: str | None = None
    ) -> list[Customer]:
        if limit is not None and limit <= 0:
            return []
        select = select_customers(query, limit, SQLITE, after)
        out: list[Customer] = []
        for customer_id, body in self._uow._iterate(select.sql, select.params):
            customer, document = read_with_document(Customer, body, "customer", customer_id)
            if select.complete or query.matches(customer):
                self._uow._known[customer.id] = customer, document
                out.append(customer)
                if limit is not None and len(out) >= limit:
                    break
        return out

    def with_keys(self, keys: frozenset[IdentityKey]) -> list[Customer]:
        if not keys:
            return []
        pairs = json.dumps(sorted([key.kind, key.value] for key in keys), ensure_ascii=False)
        rows = self._uow._rows(WITH_KEYS_SQL, (pairs,))
        return [self._loaded(customer_id, body) for customer_id, body in rows]

    def similar_names(self, blocks: frozenset[str], per_block: int) -> list[tuple[str, str]]:
        if not blocks or per_block <= 0:
            return []
        rows = self._uow._rows(SIMILAR_NAMES_SQL, (json_list(blocks), per_block - 1))
        out: list[tuple[str, str]] = []
        for customer_id, name in rows:
            if not isinstance(name, str):  # NULL: not written by poolkit, or damaged
                raise DamagedRecordError("customer", customer_id, "its stored name is unreadable")
            out.append((customer_id, name))
        return out

    def common_blocks(self, blocks: frozenset[str], per_block: int) -> frozenset[str]:
        if not blocks:
            return frozenset()
        rows = self._uow._rows(COMMON_BLOCKS_SQL, (json_list(blocks), max(per_block, 0)))
        return frozenset(block for (block,) in rows)

    def names_by_block(
        self, blocks: frozenset[str], per_block: int
    ) -> dict[str, list[tuple[str, str, str]]]:
        out: dict[str, list[tuple[str, str, str]]] = {block: [] for block in blocks}
        if not blocks or per_block <= 0:
            return out
        rows = self._uow._rows(NAMES_BY_BLOCK_SQL, (json_list(blocks), per_block - 1))
        # Each row is (id, name, normal form), as the lists give them. An import's batch
        # reads some 50,000 into a large book: they are gathered in C loops (map, zip,
        # groupby), not a Python statement each.
        ids = json_list(set(map(_SECOND, rows)))
        found = self._uow._rows(NORMAL_NAMES_SQL, (ids,))
        names = dict(zip(map(_FIRST, found), found, strict=True))
        try:
            # The rows come block by block (the blocks are the join's outer loop); a block
            # met again later would only be extended again.
            for block, group in itertools.groupby(rows, _FIRST):
                out[block].extend(map(names.__getitem__, map(_SECOND, group)))
        except KeyError as missing:  # blocks without their name: not poolkit's, or damaged
            raise DamagedRecordError(
                "customer", str(missing.args[0]), "its name blocks have no stored name"
            ) from None
        for listed in out.values():
            listed.sort()  # by id: each block's range was read in id order, kept so
        return out

    def due(self, at: datetime, limit: int) -> list[Customer]:
        rows = self._uow._rows(DUE_SQL, (micros(at), limit))
        return [self._loaded(customer_id, body) for customer_id, body in rows]

    def upcoming(self, at: datetime, limit: int) -> list[Customer]:
        return self.due(at, limit)  # SQLite locks the whole file, not rows: nothing to spare

    def _loaded(self, customer_id: str, body: str) -> Customer:
        customer, document = read_with_document(Customer, body, "customer", customer_id)
        self._uow._known[customer.id] = customer, document
        return customer

    def ids(self) -> Iterator[str]:
        rows = self._uow._rows("SELECT id FROM customers ORDER BY id")
        return iter([customer_id for (customer_id,) in rows])

    def count(self) -> int:
        total: int = self._uow._one("SELECT COUNT(*) FROM customers")[0]
        return total

    def holdings(self, rep_id: str) -> Holdings:
        found = self._uow._one(HOLDINGS_SQL, (rep_id,))
        assert found is not None  # an aggregate without GROUP BY always has its row
        return Holdings(*found)

    def tally(self) -> list[CustomerTally]:
        rows = self._uow._rows(
            "SELECT status, pool_id, owner_id, grade, COUNT(*) FROM customers "
            "GROUP BY status, pool_id, owner_id, grade "
            "ORDER BY status, pool_id, owner_id, grade"
        )
        return [
            CustomerTally(CustomerStatus(status), pool_id, owner_id, grade, count)
            for status, pool_id, owner_id, grade, count in rows
        ]

    def page(
        self,
        queries: Sequence[CustomerQuery],
        order: CustomerOrder,
        *,
        descending: bool = False,
        after: Position | None = None,
        limit: int,
    ) -> list[tuple[Customer, Position]]:
        return customer_page.page(
            self._uow._rows, self._loaded, queries, order, descending, after, limit, SQLITE, SORTS
        )

    def count_matching(self, queries: Sequence[CustomerQuery]) -> int:
        return customer_page.count(
            self._uow._rows,
            lambda sql, params: int(self._uow._one(sql, params)[0]),
            read_customer,
            queries,
            SQLITE,
            SORTS,
        )

    def with_external_ids(self, external_ids: frozenset[str]) -> dict[str, str]:
        if not external_ids:
            return {}
        rows = self._uow._rows(WITH_EXTERNAL_IDS_SQL, (json_list(external_ids),))
        return {str(external_id): str(customer_id) for external_id, customer_id in rows}


_Member = TypeVar("_Member", Rep, Pool)


class TeamDocuments(Generic[_Member]):
    """Reps or pools: one JSON document per id, in the table of that name."""

    def __init__(self, uow: SqliteUnitOfWork, table: str, kind: type[_Member]) -> None:
        self._uow = uow
        self._table = table
        self._kind: type[_Member] = kind
        self._what = table.removesuffix("s")
        self._ahead = REP if table == "reps" else POOL

    def get(self, item_id: str) -> _Member | None:
        served, body = self._uow.ahead.served(self._uow.statements, self._ahead, item_id)
        if not served:
            found = self._uow._one(f"SELECT body FROM {self._table} WHERE id = ?", (item_id,))
            body = None if found is None else found[0]
        if body is None:
            return None
        decoded = self._uow._store.team_documents
        key = (self._table, item_id)
        known = decoded.get(key)
        if known is not None and known[0] == body and isinstance(known[1], self._kind):
            return known[1]
        item = read_document(self._kind, body, self._what, item_id)
        if isinstance(body, str):
            decoded[key] = (body, item)
        return item

    def put(self, item: _Member) -> None:
        self._uow._run(
            f"INSERT INTO {self._table} (id, body) VALUES (?, ?) "
            "ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            (item.id, json_text(item)),
        )

    def all(self) -> list[_Member]:
        rows = self._uow._rows(f"SELECT id, body FROM {self._table} ORDER BY id")
        return [read_document(self._kind, body, self._what, item_id) for item_id, body in rows]


class Events:
    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def append(self, event: Event) -> None:
        cid = event.customer_id
        at = micros(event.at)
        # One statement checks that the event follows the last one and writes it: it
        # inserts nothing when the history has a different last event.
        written = self._uow._run(
            APPEND_EVENT_SQL, (cid, event.seq, event.kind, at, json_text(event))
        )
        if written != 1:
            last = self._uow._one("SELECT MAX(seq) FROM events WHERE customer_id = ?", (cid,))
            raise StaleVersionError(cid, event.seq - 1, last[0] or 0)
        if isinstance(event, Claimed):
            self._uow._run(SQL.insert_claim, (event.rep_id, at, cid, event.seq))

    def history(self, customer_id: str) -> list[Event]:
        rows = self._uow._rows(
            "SELECT seq, body FROM events WHERE customer_id = ? ORDER BY seq", (customer_id,)
        )
        return [read_document(Event, body, "event", f"{customer_id}#{seq}") for seq, body in rows]

    def claims_by(self, rep_id: str, since: datetime) -> list[datetime]:
        rows = self._uow._rows(SQL.claims_by, (rep_id, micros(since)))
        return [instant(at) for (at,) in rows]

    def customer_ids(self) -> Iterator[str]:
        rows = self._uow._rows("SELECT DISTINCT customer_id FROM events ORDER BY customer_id")
        return iter([customer_id for (customer_id,) in rows])

    def count_kinds(self, since: datetime, until: datetime) -> dict[str, int]:
        rows = self._uow._rows(
            "SELECT kind, COUNT(*) FROM events WHERE at >= ? AND at < ? GROUP BY kind",
            (micros(since), micros(until)),
        )
        return {kind: count for kind, count in rows}

    def since(self, position: int, limit: int) -> list[FeedEntry]:
        # One writer at a time (BEGIN IMMEDIATE), so positions are taken in commit order:
        # the next free integer key, under the write lock.
        if limit <= 0:
            return []
        rows = self._uow._rows(FEED_SQL, (position, limit))
        return [
            FeedEntry(pos, read_document(Event, body, "event", f"{customer_id}#{seq}"))
            for pos, customer_id, seq, body in rows
        ]


class Reviews:
    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def add(self, item: ReviewItem) -> None:
        try:
            self._uow._run(
                """INSERT INTO reviews (status, customer_id, similar_id, created_at, body, id)
                VALUES (?, ?, ?, ?, ?, ?)""",
                _review_columns(item),
            )
        except sqlite3.IntegrityError as error:
            raise DuplicateIdError("review item", item.id) from error

    def get(self, review_id: str) -> ReviewItem | None:
        found = self._uow._one("SELECT body FROM reviews WHERE id = ?", (review_id,))
        return None if found is None else _review(review_id, found[0])

    def update(self, item: ReviewItem) -> None:
        changed = self._uow._run(
            """UPDATE reviews SET status = ?, customer_id = ?, similar_id = ?, created_at = ?,
            body = ? WHERE id = ?""",
            _review_columns(item),
        )
        if changed == 0:
            raise ReviewNotFound(item.id)

    def find(
        self, status: ReviewStatus | None = None, customer_id: str | None = None
    ) -> list[ReviewItem]:
        wanted = None if status is None else status.value
        if customer_id is not None:
            rows = self._uow._rows(REVIEWS_OF_CUSTOMER_SQL, (customer_id, wanted))
        elif wanted is not None:
            rows = self._uow._rows(
                "SELECT id, body FROM reviews WHERE status = ? ORDER BY created_at, id", (wanted,)
            )
        else:
            rows = self._uow._rows("SELECT id, body FROM reviews ORDER BY created_at, id")
        return [_review(review_id, body) for review_id, body in rows]


def _review(review_id: str, body: str) -> ReviewItem:
    return read_document(ReviewItem, body, "review item", review_id)


def _review_columns(item: ReviewItem) -> tuple[Any, ...]:
    """The reviews row in the column order of add and update, ``id`` last."""
    return (
        item.status.value,
        item.customer_id,
        item.similar_id,
        micros(item.created_at),
        json_text(item),
        item.id,
    )


class Settings:
    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def get(self, key: str) -> str | None:
        served, value = self._uow.ahead.served(self._uow.statements, SETTING, key)
        if served:
            return str(value)
        found = self._uow._one("SELECT value FROM settings WHERE key = ?", (key,))
        return None if found is None else str(found[0])

    def set(self, key: str, value: str) -> None:
        self._uow._run(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


__all__ = ["Customers", "Events", "Reviews", "Settings", "TeamDocuments"]
