"""A :class:`~poolkit.ports.CustomerQuery` as one SELECT over the customers table and its
side tables (see :mod:`.rows`). Imports nothing from :mod:`sqlite3`; the SQL is rendered
for a :class:`~.dialect.Dialect`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from poolkit.ports import CustomerQuery
from poolkit.stores.sql.dialect import Dialect


class Select(NamedTuple):
    sql: str
    params: list[Any]
    complete: bool
    """Whether the SQL checks every condition; if not, the caller checks the rows with
    :meth:`CustomerQuery.matches` (``attributes`` are checked in Python)."""


def where_clause(query: CustomerQuery, dialect: Dialect) -> tuple[str, list[Any]]:
    """The conditions of ``query`` that SQL can check, joined with AND (``""`` when none),
    in ``dialect``'s style, and their parameters. ``attributes`` are left out: their
    equality is Python's (``True == 1``), which no database's comparison matches, so the
    caller checks them with :meth:`CustomerQuery.matches`."""
    where: list[str] = []
    params: list[Any] = []
    if query.status is not None:
        # One of the enum's own values (no quote in any), written as a literal: SQLite
        # uses a partial index (``WHERE status = 'frozen'``) only for a query that says
        # the same literal, never for a bound parameter.
        where.append(f"status = '{query.status.value}'")
        # A customer has an owner exactly when it is private (Customer checks it): said
        # here too, a query of public, frozen or recycled customers can use an index that
        # keeps only the customers without an owner (SQLite's pool indexes).
        where.append(
            "owner_id IS NOT NULL" if query.status.value == "private" else "owner_id IS NULL"
        )
    for column, values in (
        ("owner_id", query.owner_ids),
        ("pool_id", query.pool_ids),
        ("grade", query.grades),
    ):
        if values is not None:
            where.append(dialect.in_list.format(column=column))
            params.append(dialect.list_value(values))
    if query.related_rep is not None:
        where.append("id IN (SELECT customer_id FROM customer_related WHERE rep_id = ?)")
        params.append(query.related_rep)
    if query.creator_id is not None:
        # Read from the stored document: no index yet, so this condition scans.
        where.append(dialect.document_field.format(field="creator_id") + " = ?")
        params.append(query.creator_id)
    for tag in sorted(query.tags):
        where.append("id IN (SELECT customer_id FROM customer_tags WHERE tag = ?)")
        params.append(tag)
    if query.public_since is not None:
        where.append("public_since >= ?")
        params.append(dialect.instant(query.public_since))
    return dialect.sql(" AND ".join(where)), params


def select_customers(
    query: CustomerQuery, limit: int | None, dialect: Dialect, after: str | None = None
) -> Select:
    """``SELECT id, body FROM customers`` for ``query``, ordered by id, with ``LIMIT`` only
    when the SQL checks every condition (else cutting rows off would lose matches); with
    ``after``, only the ids after it (one page of a longer read)."""
    where, params = where_clause(query, dialect)
    if after is not None:
        where = f"{where} AND id > ?" if where else "id > ?"
        params.append(after)
    sql = "SELECT id, body FROM customers"
    if where:
        sql += " WHERE " + where
    sql += " ORDER BY id"
    complete = not query.attributes
    if limit is not None and complete:
        sql += " LIMIT ?"
        params.append(limit)
    return Select(dialect.sql(sql), params, complete)


__all__ = ["Select", "select_customers", "where_clause"]
