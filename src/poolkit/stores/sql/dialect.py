"""What the SQL shared between stores needs to know about one database: how a statement
marks its parameters, how it tests a column against a list given as one parameter, and
how it stores an instant.

The shared statements (:mod:`.rows`, :mod:`.customer_query`) are written with ``?``
placeholders and no ``?`` anywhere else, so :meth:`Dialect.sql` can turn them into another
driver's style by replacing the mark. Kept this small on purpose: what differs beyond
this (SQLite's ``json_each``, ``BEGIN IMMEDIATE``, the schema itself) stays in the
store's own modules.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any, NamedTuple

from poolkit.stores.sql.converters import json_list, micros


class Dialect(NamedTuple):
    param: str
    """The placeholder of the driver: ``?`` for sqlite3, ``%s`` for psycopg."""
    in_list: str
    """A condition true when ``{column}`` is one of the values of one list parameter."""
    list_value: Callable[[Collection[str]], Any]
    """The parameter value :attr:`in_list` takes."""
    instant: Callable[[datetime], Any]
    """The parameter value of an instant, as its columns store it."""
    document_field: str
    """The text of the top-level ``{field}`` of a customer's stored JSON document."""

    def sql(self, text: str) -> str:
        """``text``, written with ``?`` placeholders, in this dialect's style."""
        return text if self.param == "?" else text.replace("?", self.param)


SQLITE = Dialect(
    param="?",
    # One JSON parameter whatever the length of the list: no limit on bound variables.
    in_list="{column} IN (SELECT value FROM json_each(?))",
    list_value=json_list,
    instant=micros,
    document_field="json_extract(body, '$.{field}')",
)


POSTGRES = Dialect(
    param="%s",
    # One array parameter whatever the length of the list.
    in_list="{column} = ANY(?)",
    list_value=sorted,
    # timestamptz columns take the aware datetime itself.
    instant=lambda at: at,
    document_field="(body ->> '{field}')",
)


__all__ = ["POSTGRES", "SQLITE", "Dialect"]
