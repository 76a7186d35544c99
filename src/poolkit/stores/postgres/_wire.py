"""A unit of work's statements sent together in one pipeline, with libpq's own calls.

psycopg's pipeline (``Connection.pipeline()``) is built for any use: each ``execute``
converts its query, dumps its parameters, and then talks to the server at once, sending
what it has and reading what came back, so a pipeline of five statements is five sends
and five polls of the socket, with psycopg's Python around each. A claim is two such
pipelines, and that work was most of the client's CPU for a claim: measured on this store's
statements, the same pipelines sent here, with libpq's calls through psycopg's ``pgconn``,
cost about a third of the CPU.

Here the statements are queued in libpq's pipeline mode and sent in one write, ended by
one Sync, and their results read after: one send, and the server gets the whole batch at
once (psycopg's own adapters still dump the parameters and load the rows, so the values
are what psycopg gives). Each statement is converted to ``$n`` placeholders once per
process, and prepared once per connection (named ``poolkit_N``, apart from psycopg's own
``_pg3_N``): the server parses and plans it once, as psycopg's automatic preparation did
after five runs. Only statements of fixed text that PostgreSQL can prepare are prepared,
at most :data:`MOST_PREPARED` per connection; a statement composed at run time (a page's
query) is sent unnamed.

An error is raised as psycopg raises it (``psycopg.errors``), after every result is read:
the statements after a failed one were not run (``PIPELINE_ABORTED``), and the transaction
is failed until rolled back, as with psycopg's pipeline.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import psycopg
from psycopg import abc, generators, pq
from psycopg import errors as pg
from psycopg.adapt import PyFormat, Transformer

# At most this many statements are prepared on one connection; the rest are sent unnamed.
MOST_PREPARED = 256
# At most this many statements are kept converted; the rest are converted at each use.
MOST_CONVERTED = 1024

# Placeholders as psycopg writes them: %s, %b, %t, %(name)s, %(name)b, %(name)t, and %%.
_PLACEHOLDER = re.compile(rb"%(?:\(([^)]+)\))?([sbt%])")
_FORMATS = {b"s": PyFormat.AUTO, b"b": PyFormat.BINARY, b"t": PyFormat.TEXT}
# What PostgreSQL can prepare (utility statements such as SET or SHOW it cannot).
_PREPARABLE = re.compile(rb"\s*(?:SELECT|WITH|INSERT|UPDATE|DELETE)\b", re.IGNORECASE)

_BEGIN = b"BEGIN ISOLATION LEVEL READ COMMITTED"
_COMMIT = b"COMMIT"


class _Converted(NamedTuple):
    """A statement with ``$n`` placeholders: its text, the names of its parameters in
    ``$n`` order (``None``: positional), their formats, and whether it can be prepared."""

    text: bytes
    names: tuple[str, ...] | None
    formats: tuple[PyFormat, ...]
    preparable: bool


# The statements of fixed text, converted once per process.
_CONVERTED: dict[bytes | str, _Converted] = {}
# The statements prepared on each connection, by text and parameter types, and their names.
_PREPARED: weakref.WeakKeyDictionary[Any, dict[tuple[bytes, tuple[int, ...]], bytes]] = (
    weakref.WeakKeyDictionary()
)


def _convert(query: bytes) -> _Converted:
    names: list[str] = []
    formats: list[PyFormat] = []
    positional = named = False
    index: dict[str, int] = {}

    def placeholder(match: re.Match[bytes]) -> bytes:
        nonlocal positional, named
        name, kind = match.group(1), match.group(2)
        if kind == b"%":
            return b"%"
        if name is None:
            positional = True
            formats.append(_FORMATS[kind])
            return b"$%d" % len(formats)
        named = True
        key = name.decode()
        if key not in index:
            names.append(key)
            formats.append(_FORMATS[kind])
            index[key] = len(names)
        return b"$%d" % index[key]

    text = _PLACEHOLDER.sub(placeholder, query)
    if positional and named:
        raise psycopg.ProgrammingError("a statement mixes positional and named placeholders")
    return _Converted(
        text, tuple(names) if named else None, tuple(formats), bool(_PREPARABLE.match(text))
    )


def converted(query: bytes | str, conn: psycopg.Connection[Any]) -> _Converted:
    """``query`` with ``$n`` placeholders; a statement of fixed text (``str`` or ``bytes``)
    is converted once per process."""
    found = _CONVERTED.get(query)
    if found is None:
        text = query.encode(conn.info.encoding) if isinstance(query, str) else query
        found = _convert(text)
        if len(_CONVERTED) < MOST_CONVERTED:  # statements built at run time are not kept
            _CONVERTED[query] = found
    return found


class Results:
    """What one statement gave: its rows (read like a cursor's) and its row count."""

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._next = self._rows[self._next :], len(self._rows)
        return rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())


Statement = tuple[bytes | str | psycopg.sql.Composable, Sequence[Any] | Mapping[str, Any]]


def run(
    conn: psycopg.Connection[Any],
    statements: Sequence[Statement],
    *,
    begin: bool,
    commit: bool,
) -> list[Results]:
    """Send ``BEGIN`` (if ``begin``), ``statements`` and ``COMMIT`` (if ``commit``) in one
    pipeline, and return what each of ``statements`` gave. Raises the first error, as
    psycopg would, once every result is read."""
    with conn.lock:
        return _run(conn, statements, begin, commit)


def _run(
    conn: psycopg.Connection[Any], statements: Sequence[Statement], begin: bool, commit: bool
) -> list[Results]:
    pgconn = conn.pgconn
    if pgconn.status == pq.ConnStatus.BAD or conn.closed:
        raise psycopg.OperationalError("the connection is closed")
    tx = Transformer(conn)
    prepared = _PREPARED.get(conn)
    if prepared is None:
        prepared = _PREPARED.setdefault(conn, {})
    # What each command sent gives back: None for BEGIN and COMMIT, the prepared key and
    # name for a Parse, the statement's index for a statement.
    expected: list[tuple[str, Any]] = []
    # The statements prepared in this pipeline, recorded in ``prepared`` once it succeeded.
    queued: dict[tuple[bytes, tuple[int, ...]], bytes] = {}
    pgconn.enter_pipeline_mode()
    try:
        if begin:
            pgconn.send_query_params(_BEGIN, None)
            expected.append(("command", None))
        for index, (query, params) in enumerate(statements):
            if isinstance(query, bytes | str):
                fixed, statement = True, converted(query, conn)
            else:
                fixed, statement = False, _convert(query.as_bytes(conn))
            if statement.names is None:
                values: Sequence[Any] = params  # type: ignore[assignment]
            else:
                named: Mapping[str, Any] = params  # type: ignore[assignment]
                values = [named[name] for name in statement.names]
            dumped = tx.dump_sequence(values, statement.formats) if values else None
            types = tuple(tx.types or ()) if values else ()
            formats = list(tx.formats or ()) if values else None
            key = (statement.text, types)
            name = prepared.get(key) or queued.get(key)
            known = len(prepared) + len(queued)
            if name is None and fixed and statement.preparable and known < MOST_PREPARED:
                name = queued[key] = b"poolkit_%d" % known
                pgconn.send_prepare(name, statement.text, param_types=types or None)
                expected.append(("prepare", (key, name)))
            if name is not None:
                pgconn.send_query_prepared(name, dumped, param_formats=formats)
            else:
                pgconn.send_query_params(
                    statement.text, dumped, param_types=types or None, param_formats=formats
                )
            expected.append(("statement", index))
        if commit:
            pgconn.send_query_params(_COMMIT, None)
            expected.append(("command", None))
        pgconn.pipeline_sync()
        conn.wait(generators.send(pgconn))
        out: list[Results | None] = [None] * len(statements)
        error: psycopg.Error | None = None
        for what, detail in expected:
            results = conn.wait(generators.fetch_many(pgconn))
            for result in results:
                status = result.status
                if status == pq.ExecStatus.FATAL_ERROR:
                    if error is None:
                        error = pg.error_from_result(result, encoding=conn.info.encoding)
                elif status == pq.ExecStatus.PIPELINE_ABORTED:
                    if error is None:
                        error = pg.PipelineAborted("pipeline aborted")
                elif what == "prepare":
                    key, name = detail
                    prepared[key] = name
                elif what == "statement":
                    out[detail] = _results(tx, result)
        synced = conn.wait(generators.fetch_many(pgconn))
        if not synced or synced[-1].status != pq.ExecStatus.PIPELINE_SYNC:
            raise psycopg.OperationalError("the pipeline's Sync was not answered")
        if error is not None:
            raise error
    finally:
        if pgconn.status != pq.ConnStatus.BAD:
            try:
                pgconn.exit_pipeline_mode()
            except psycopg.OperationalError:
                # Results left unread after a failure: the connection cannot go on.
                if pgconn.status != pq.ConnStatus.BAD:
                    pgconn.finish()
    return [found if found is not None else Results([], 0) for found in out]


def _results(tx: abc.Transformer, result: pq.abc.PGresult) -> Results:
    rows: list[tuple[Any, ...]] = []
    if result.status == pq.ExecStatus.TUPLES_OK and result.ntuples:
        tx.set_pgresult(result)
        rows = tx.load_rows(0, result.ntuples, tuple)
    count = result.command_tuples
    return Results(rows, len(rows) if count is None else count)
