"""Values to column values and back: instants as integers, documents as JSON text.

Imports nothing from :mod:`sqlite3`: any store that keeps instants as integer microseconds
and values as JSON documents can use it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from poolkit.errors import DamagedRecordError
from poolkit.model.customer import Customer
from poolkit.model.events import Event
from poolkit.model.pool import Pool
from poolkit.model.rep import Rep
from poolkit.model.review import ReviewItem
from poolkit.stores import _documents as documents
from poolkit.stores._codec import T, decode, encode

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(at: datetime) -> int:
    """Microseconds since the epoch: an integer that sorts like the instant it stands for."""
    return (at - _EPOCH) // _MICROSECOND


def instant(value: int) -> datetime:
    return _EPOCH + value * _MICROSECOND


def optional_micros(at: datetime | None) -> int | None:
    return None if at is None else micros(at)


def optional_instant(value: int | None) -> datetime | None:
    return None if value is None else instant(value)


def json_text(value: Customer | Event | Rep | Pool | ReviewItem) -> str:
    """The stored document of one of poolkit's values."""
    return documents.dumps(encode(value))


def json_list(values: Collection[str]) -> str:
    """A parameter for ``IN (SELECT value FROM json_each(?))``: any number of values, one
    placeholder (no limit on bound variables). Written like the documents (by orjson, when
    installed: an import's batch passes some 50,000 ids, which the standard library's
    encoder took ten times as long to write)."""
    return documents.dumps(sorted(values))


# What reading a damaged document can raise: the JSON parsers' errors (orjson's and the
# standard library's are ValueErrors, as is the codec's InvalidValueError), and what the
# codec meets when the JSON is valid but not the shape of a document.
_UNREADABLE = (ValueError, TypeError, KeyError, AttributeError)


def read_document(kind: type[T], body: str, what: str, record_id: str) -> T:
    """The value a stored document holds; a document that cannot be read is a
    :class:`DamagedRecordError` naming the record (``what`` says what it is), so a caller
    learns which record to restore and the others stay readable."""
    return read_with_document(kind, body, what, record_id)[0]


def read_with_document(kind: type[T], body: str, what: str, record_id: str) -> tuple[T, Any]:
    """:func:`read_document`, and the document itself (for
    :func:`~poolkit.stores._codec.encode_changed`)."""
    try:
        document = documents.loads(body)
        return decode(kind, document), document
    except _UNREADABLE as error:
        raise DamagedRecordError(what, record_id, f"{type(error).__name__}: {error}") from error


__all__ = [
    "instant",
    "json_list",
    "json_text",
    "micros",
    "optional_instant",
    "optional_micros",
    "read_document",
    "read_with_document",
]
