"""Page cursors: opaque strings that say where the next page starts.

A cursor holds the list it belongs to (a digest of the operation and its filters), the
sort, and the position of the last item shown (its sort value and id): the next page is
"what comes after that position", read again from the store, so customers that moved in
between shift nothing (see ``docs/queries.md``). It carries a checksum, so a cursor that
was cut or altered is refused, as is one of another list or sort, with
:class:`~poolkit.errors.InvalidCursorError`. It is not a secret: it holds no right, and
every page re-checks what the rep may see.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime
from typing import Any

from poolkit.errors import InvalidCursorError
from poolkit.stores._codec import decode_datetime, encode_datetime

_VERSION = 1
_PERSON = b"poolkit-cursor"


def listing(*parts: object) -> str:
    """The digest that names one list: the operation and its filters, each as its repr."""
    text = "\x1f".join(repr(part) for part in parts)
    return hashlib.blake2b(text.encode(), digest_size=8, person=b"poolkit-list").hexdigest()


def _checksum(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=8, person=_PERSON).hexdigest()


def _value(value: str | datetime | int | None) -> list[Any]:
    if value is None:
        return ["n"]
    if isinstance(value, datetime):
        return ["t", encode_datetime(value)]
    if isinstance(value, int):
        return ["i", value]
    return ["s", value]


def encode(list_id: str, sort: str, value: str | datetime | int | None, item_id: str) -> str:
    """The cursor after the item ``item_id`` whose sort value is ``value``."""
    body = json.dumps(
        {"v": _VERSION, "l": list_id, "s": sort, "k": _value(value), "i": item_id},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    token = base64.urlsafe_b64encode(body).decode().rstrip("=")
    return f"{token}.{_checksum(body)}"


def decode(cursor: str, list_id: str, sort: str) -> tuple[str | datetime | int | None, str]:
    """The sort value and id a cursor of list ``list_id`` in ``sort`` holds."""
    token, dot, checksum = cursor.partition(".")
    try:
        body = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as error:
        raise InvalidCursorError("not a poolkit page cursor") from error
    if not dot or checksum != _checksum(body):
        raise InvalidCursorError("not a poolkit page cursor, or altered")
    try:
        data = json.loads(body)
        version, found_list, found_sort = data["v"], data["l"], data["s"]
        kind, *raw = data["k"]
        item_id = data["i"]
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidCursorError("not a poolkit page cursor") from error
    if version != _VERSION:
        raise InvalidCursorError(f"a cursor of another poolkit version ({version!r})")
    if found_list != list_id:
        raise InvalidCursorError("a cursor of another list: start from the first page")
    if found_sort != sort:
        raise InvalidCursorError("a cursor of another sort order: start from the first page")
    if not isinstance(item_id, str):
        raise InvalidCursorError("not a poolkit page cursor")
    return _read_value(kind, raw), item_id


def _read_value(kind: object, raw: list[Any]) -> str | datetime | int | None:
    if kind == "n" and not raw:
        return None
    if len(raw) == 1:
        value = raw[0]
        if kind == "s" and isinstance(value, str):
            return value
        if kind == "i" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind == "t" and isinstance(value, str):
            try:
                return decode_datetime(value, "cursor")
            except ValueError as error:
                raise InvalidCursorError("not a poolkit page cursor") from error
    raise InvalidCursorError("not a poolkit page cursor")


__all__ = ["decode", "encode", "listing"]
