"""Keyset pages and counts of customers (:meth:`~poolkit.ports.CustomerRepository.page`,
:meth:`~poolkit.ports.CustomerRepository.count_matching`) as SQL any relational store runs.

A page is ``WHERE <any of the queries> AND (<sort>, id) > (<after>) ORDER BY <sort>, id
LIMIT n``: with an index on the filter columns, the sort and the id, the database reads
``n`` rows wherever the page starts (no ``OFFSET``, which reads and throws away every row
before it). What differs between databases is how each sort is spelled and how a sort value
is given as a parameter: a :class:`PageSorts` per store.

Imports nothing from a driver; the text is rendered for a :class:`~.dialect.Dialect`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import attrs

from poolkit.model.customer import Customer
from poolkit.ports import CustomerOrder, CustomerQuery, Position, entered_at
from poolkit.stores.sql.customer_query import where_clause
from poolkit.stores.sql.dialect import Dialect


class PageSorts(NamedTuple):
    """How one database sorts customers for pages."""

    expressions: Mapping[CustomerOrder, str]
    """Each order's SQL expression; the store's indexes are on exactly these."""
    marks: Mapping[CustomerOrder, str]
    """The placeholder of each order's sort value (``?``, or a cast of it)."""
    drop_value: Callable[[datetime | None], Any]
    """The parameter of a ``drop_at`` sort value; None (no drop due) sorts last."""
    read_drop: Callable[[Any], datetime | None]
    """The ``drop_at`` column as read back (None when no drop is due)."""
    instant: Callable[[datetime], Any]
    """The parameter of an ``entered_at`` sort value."""


class Fetch(NamedTuple):
    sql: str
    params: list[Any]
    complete: bool
    """Whether SQL checks every condition; if not, the caller keeps only the rows that
    match one of the queries (their ``attributes`` are Python's, see :mod:`.customer_query`)."""


def _one_query(query: CustomerQuery, dialect: Dialect) -> tuple[str, list[Any]]:
    # A single owner or pool is written as an equality: a list test (``IN (json_each)``,
    # ``= ANY``) would keep the database from walking a sort index in order.
    where: list[str] = []
    params: list[Any] = []
    singles: dict[str, Any] = {}
    for column, field in (("owner_id", "owner_ids"), ("pool_id", "pool_ids")):
        values = getattr(query, field)
        if values is not None and len(values) == 1:
            where.append(f"{column} = ?")
            params.append(next(iter(values)))
            singles[field] = None
    rest, rest_params = where_clause(attrs.evolve(query, **singles), dialect)
    if rest:
        where.append(rest)
        params.extend(rest_params)
    return " AND ".join(where), params


def matching(queries: Sequence[CustomerQuery], dialect: Dialect) -> tuple[str, list[Any], bool]:
    """The condition of "matches any of ``queries``" (``""`` when it is every customer),
    its parameters, and whether SQL checks all of it."""
    parts: list[str] = []
    params: list[Any] = []
    for query in queries:
        where, where_params = _one_query(query, dialect)
        if not where:
            return "", [], not query.attributes
        parts.append(f"({where})")
        params.extend(where_params)
    if not parts:
        return "1 = 0", [], True
    complete = not any(query.attributes for query in queries)
    return " OR ".join(parts), params, complete


def sort_value(position: Position, order: CustomerOrder, sorts: PageSorts) -> Any:
    """The parameter of a position's sort value."""
    value = position.value
    if order is CustomerOrder.NAME:
        return value
    if order is CustomerOrder.ENTERED:
        assert isinstance(value, datetime)
        return sorts.instant(value)
    assert value is None or isinstance(value, datetime)
    return sorts.drop_value(value)


def select_page(
    queries: Sequence[CustomerQuery],
    order: CustomerOrder,
    descending: bool,
    after: Position | None,
    limit: int,
    dialect: Dialect,
    sorts: PageSorts,
) -> Fetch:
    """``SELECT id, body, drop_at`` of the next ``limit`` rows after ``after``; when the
    fetch is not complete, some of them may not match (the caller filters and reads on)."""
    where, params, complete = matching(queries, dialect)
    conditions = [f"({where})"] if where else []
    sort = sorts.expressions[order]
    if after is not None:
        # A row value: the database walks the (sort, id) index from there.
        conditions.append(f"({sort}, id) {'<' if descending else '>'} ({sorts.marks[order]}, ?)")
        params.extend([sort_value(after, order, sorts), after.customer_id])
    direction = " DESC" if descending else ""
    sql = "SELECT id, body, drop_at FROM customers"
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    sql += f" ORDER BY {sort}{direction}, id{direction} LIMIT ?"
    params.append(limit)
    return Fetch(dialect.sql(sql), params, complete)


def select_count(queries: Sequence[CustomerQuery], dialect: Dialect) -> Fetch:
    """``SELECT count(*)`` of the customers matching any of ``queries``; when not complete,
    use :func:`select_page` and count the rows that match instead."""
    where, params, complete = matching(queries, dialect)
    sql = "SELECT count(*) FROM customers"
    if where:
        sql += " WHERE " + where
    return Fetch(dialect.sql(sql), params, complete)


def position(customer: Customer, drop_at: datetime | None, order: CustomerOrder) -> Position:
    """The position of a row read by :func:`select_page`."""
    if order is CustomerOrder.NAME:
        return Position(customer.name, customer.id)
    if order is CustomerOrder.ENTERED:
        return Position(entered_at(customer), customer.id)
    return Position(drop_at, customer.id)


_BATCH = 500

Rows = Callable[[str, list[Any]], Iterable[tuple[Any, Any, Any]]]
"""Runs a query and gives its ``(id, body, drop_at)`` rows."""
Read = Callable[[str, Any], Customer]
"""Reads a customer from its id and stored document."""


def page(
    rows: Rows,
    read: Read,
    queries: Sequence[CustomerQuery],
    order: CustomerOrder,
    descending: bool,
    after: Position | None,
    limit: int,
    dialect: Dialect,
    sorts: PageSorts,
) -> list[tuple[Customer, Position]]:
    """A page read through ``rows``: one query when SQL checks every condition, else
    batches in sort order until ``limit`` customers matched (memory stays one batch)."""
    if limit <= 0 or not queries:
        return []
    # When Python checks some condition, read in batches big enough to skip the misses.
    batch = limit if matching(queries, dialect)[2] else max(limit, _BATCH)
    out: list[tuple[Customer, Position]] = []
    walked = _walk(rows, read, queries, order, descending, after, batch, dialect, sorts)
    for customer, place in walked:
        out.append((customer, place))
        if len(out) >= limit:
            break
    return out


def count(
    rows: Rows,
    one: Callable[[str, list[Any]], int],
    read: Read,
    queries: Sequence[CustomerQuery],
    dialect: Dialect,
    sorts: PageSorts,
) -> int:
    """How many customers match: one ``count(*)``, or a walk in batches when some condition
    is Python's."""
    if not queries:
        return 0
    fetch = select_count(queries, dialect)
    if fetch.complete:
        return one(fetch.sql, fetch.params)
    walked = _walk(rows, read, queries, CustomerOrder.NAME, False, None, _BATCH, dialect, sorts)
    return sum(1 for _ in walked)


def _walk(
    rows: Rows,
    read: Read,
    queries: Sequence[CustomerQuery],
    order: CustomerOrder,
    descending: bool,
    after: Position | None,
    batch: int,
    dialect: Dialect,
    sorts: PageSorts,
) -> Iterator[tuple[Customer, Position]]:
    while True:
        fetch = select_page(queries, order, descending, after, batch, dialect, sorts)
        read_rows = 0
        for customer_id, body, drop_at in list(rows(fetch.sql, fetch.params)):
            read_rows += 1
            customer = read(customer_id, body)
            place = position(customer, sorts.read_drop(drop_at), order)
            after = place
            if fetch.complete or any(query.matches(customer) for query in queries):
                yield customer, place
        if fetch.complete or read_rows < batch:
            return


__all__ = [
    "Fetch",
    "PageSorts",
    "count",
    "matching",
    "page",
    "position",
    "select_count",
    "select_page",
]
