"""Stores: one module (or package) per kind of storage, each implementing
:mod:`poolkit.ports`: :mod:`poolkit.stores.memory`, :mod:`poolkit.stores.sqlite` and
:mod:`poolkit.stores.postgres`; and :func:`open_store`, which opens a file path or a
``postgresql://`` URL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

if TYPE_CHECKING:
    from poolkit.stores.postgres import PostgresStore
    from poolkit.stores.sqlite import SqliteStore

_POSTGRES_SCHEMES = ("postgresql", "postgres")


def open_store(location: str | Path, **options: Any) -> SqliteStore | PostgresStore:
    """The store at ``location``: a :class:`~poolkit.stores.postgres.PostgresStore` for a
    ``postgresql://`` (or ``postgres://``) URL, else a
    :class:`~poolkit.stores.sqlite.SqliteStore` for a file path. What ``--db`` and
    ``POOLKIT_DB`` accept.

    A URL may name poolkit's schema with a ``schema`` query parameter
    (``postgresql://app@db/crm?schema=sales``; default ``poolkit``), which is taken off
    before the rest goes to libpq. ``options`` go to the store's constructor
    (``busy_timeout_s``...). The PostgreSQL store needs the ``postgres`` extra.
    """
    text = str(location)
    parts = urlsplit(text)
    if parts.scheme.lower() not in _POSTGRES_SCHEMES:
        from poolkit.stores.sqlite import SqliteStore

        return SqliteStore(location, **options)
    from poolkit.stores.postgres import PostgresStore

    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(key, value) for key, value in query if key != "schema"]
    schemas = [value for key, value in query if key == "schema"]
    if schemas:
        options.setdefault("schema", schemas[-1])
    # Built by hand: urlunsplit drops the "//" of a URL without a host
    # ("postgresql://?host=/run/postgresql"), which libpq then cannot read; and spaces
    # as %20, since libpq does not read "+" as one (options=-c%20search_path=...).
    url = f"{parts.scheme}://{parts.netloc}{parts.path}"
    if kept:
        url += "?" + urlencode(kept, quote_via=quote)
    return PostgresStore(url, **options)


__all__ = ["open_store"]
