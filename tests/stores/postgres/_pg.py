"""Helpers of the PostgreSQL tests that are not fixtures."""

from __future__ import annotations

import os

# The CI flag as .ci/run sets it: there, a missing server fails the run.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def url_of(dsn: str, **params: str) -> str:
    """``dsn`` (a URL or a key=value string) as a ``postgresql://`` URL, with ``params``
    (``dbname``, or poolkit's ``schema``) set: the form ``open_store`` and the worker
    processes take."""
    from urllib.parse import quote, urlencode

    from psycopg.conninfo import conninfo_to_dict

    merged = {key: str(value) for key, value in conninfo_to_dict(dsn).items()}
    merged.update(params)
    return "postgresql://?" + urlencode(merged, quote_via=quote)


def empty_schema(dsn: str, schema: str) -> None:
    """Delete every row of a poolkit schema but its version: a store opened on it next is
    fresh, without the cost of creating the tables again (a migration takes ~0.4 s)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename <> %s",
            (schema, "schema_version"),
        ).fetchall()
        for (table,) in tables:
            conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(schema, table)))
