"""An import written row by row on a real PostgreSQL server: a row the store refuses as it
writes leaves nothing behind in the batch that commits (tests/service/test_import_batches.py
runs the same check on the memory and SQLite stores)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.test_import_batches import a_refused_row_leaves_no_history


def test_a_row_the_store_refuses_as_it_writes_leaves_no_history(
    make_store: Callable[..., Any],
) -> None:
    a_refused_row_leaves_no_history(make_store())
