"""A :class:`~poolkit.ports.CustomerQuery` as a SQL ``WHERE`` clause over the customers
table and its side tables.

Written against a tiny :class:`Dialect` rather than PostgreSQL itself: what differs between
databases here is only how a parameter is written and how a column is matched against a
list bound as one parameter. The SQLite store builds the same clause by hand today; it can
take this builder with ``Dialect("?", "{column} IN (SELECT value FROM json_each(?))",
json_list)`` when the stores share their SQL (issue 9 keeps that move for later).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import attrs

from poolkit.ports import CustomerQuery


@attrs.frozen
class Dialect:
    """How one database spells the pieces of the clause.

    ``param`` is a parameter placeholder; ``in_list`` a condition that ``{column}`` is one
    of the values of a single list parameter; ``list_value`` turns a set of strings into
    that parameter; ``instant`` a datetime into a parameter.
    """

    param: str
    in_list: str
    list_value: Callable[[Iterable[str]], Any]
    instant: Callable[[datetime], Any]


POSTGRES = Dialect(
    param="%s",
    in_list="{column} = ANY(%s)",
    list_value=lambda values: sorted(values),
    instant=lambda at: at,
)


def where_clause(query: CustomerQuery, dialect: Dialect) -> tuple[str, list[Any]]:
    """The conditions of ``query`` that SQL can check, joined with AND (``""`` when none),
    and their parameters. Attributes are left out: their equality is Python's
    (``True == 1``), which no database's comparison matches, so the caller filters them
    with :meth:`CustomerQuery.matches`."""
    where: list[str] = []
    params: list[Any] = []
    p = dialect.param
    if query.status is not None:
        where.append(f"status = {p}")
        params.append(query.status.value)
    for column, values in (
        ("owner_id", query.owner_ids),
        ("pool_id", query.pool_ids),
        ("grade", query.grades),
    ):
        if values is not None:
            where.append(dialect.in_list.format(column=column))
            params.append(dialect.list_value(values))
    if query.related_rep is not None:
        where.append(f"id IN (SELECT customer_id FROM customer_related WHERE rep_id = {p})")
        params.append(query.related_rep)
    if query.creator_id is not None:
        # Read from the stored document: no index yet, so this condition scans.
        where.append(f"(body ->> 'creator_id') = {p}")
        params.append(query.creator_id)
    for tag in sorted(query.tags):
        where.append(f"id IN (SELECT customer_id FROM customer_tags WHERE tag = {p})")
        params.append(tag)
    if query.public_since is not None:
        where.append(f"public_since >= {p}")
        params.append(dialect.instant(query.public_since))
    return " AND ".join(where), params
