"""The JSON text of stored documents.

Stores keep poolkit's values as JSON documents (the dicts of :mod:`poolkit.stores._codec`). The
text is compact, with keys sorted and non-ASCII characters kept as they are, so equal
values give equal text. With the optional ``fast`` extra, orjson writes and reads it:
several times faster than the standard library, which counts when a sweep rewrites
thousands of customers. Without it, the standard library does. Both write the same
documents and read each other's, so one file may be shared by processes with and without
the extra (floats may be spelled differently, ``1e16`` or ``1e+16``, never valued so).
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # the ``fast`` extra is not installed
    orjson = None  # type: ignore[assignment]

_STANDARD = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def fast() -> bool:
    """Whether orjson (the ``fast`` extra) writes and reads the documents."""
    return orjson is not None


def dumps(document: Any) -> str:
    """The text of a document (a dict of JSON types; its integers fit in 64 bits, as the
    validators of poolkit's values make sure)."""
    if orjson is not None:
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()
    return _STANDARD.encode(document)


def loads(text: str) -> Any:
    """The document a text holds."""
    if orjson is not None:
        return orjson.loads(text)
    return json.loads(text)
