"""The JSON text of stored documents: orjson (the ``fast`` extra) and the standard library
write the same documents, read each other's, and round-trip every value poolkit stores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poolkit.model.customer import Customer
from poolkit.model.events import Event
from poolkit.stores import _documents as documents
from poolkit.stores._codec import decode, encode
from poolkit.testing.strategies import customers, events

pytest.importorskip("orjson")


@contextmanager
def standard_library() -> Iterator[None]:
    """Within it, the standard library writes and reads documents, as without the extra."""
    saved = documents.orjson
    documents.orjson = None  # type: ignore[assignment]
    try:
        yield
    finally:
        documents.orjson = saved


def write_standard(document: Any) -> str:
    with standard_library():
        return documents.dumps(document)


def read_standard(text: str) -> Any:
    with standard_library():
        return documents.loads(text)


WRITERS = {"orjson": documents.dumps, "standard": write_standard}
READERS = {"orjson": documents.loads, "standard": read_standard}


def test_the_extra_is_what_the_tests_run_with() -> None:
    assert documents.fast()
    with standard_library():
        assert not documents.fast()


@given(customers(), st.sampled_from(sorted(WRITERS)), st.sampled_from(sorted(READERS)))
def test_customers_survive_either_writer_and_either_reader(
    customer: Customer, writer: str, reader: str
) -> None:
    text = WRITERS[writer](encode(customer))
    assert decode(Customer, READERS[reader](text)) == customer


@given(events(), st.sampled_from(sorted(WRITERS)), st.sampled_from(sorted(READERS)))
def test_events_survive_either_writer_and_either_reader(
    event: Event, writer: str, reader: str
) -> None:
    text = WRITERS[writer](encode(event))
    assert decode(Event, READERS[reader](text)) == event


@given(customers())
def test_both_writers_write_the_same_document(customer: Customer) -> None:
    fast, standard = documents.dumps(encode(customer)), write_standard(encode(customer))
    assert json.loads(fast) == json.loads(standard)
    # Compact, keys sorted, non-ASCII kept: the same text but for how a float is spelled.
    if not any(isinstance(value, float) for value in customer.attributes.values()):
        assert fast == standard


def test_the_text_is_compact_sorted_and_keeps_non_ascii() -> None:
    document = {"name": "深圳华强", "b": [1, None, True], "a": {"y": 1.5, "x": "é"}}
    expected = '{"a":{"x":"é","y":1.5},"b":[1,null,true],"name":"深圳华强"}'
    assert documents.dumps(document) == write_standard(document) == expected


def test_the_widest_integers_a_value_may_hold_come_back_exact() -> None:
    document = {"high": 2**63 - 1, "low": -(2**63), "tier": "vip"}
    for write in WRITERS.values():
        text = write(document)
        assert text == '{"high":9223372036854775807,"low":-9223372036854775808,"tier":"vip"}'
        for read in READERS.values():
            assert read(text) == document
