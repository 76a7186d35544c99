"""The PostgreSQL examples of the documentation run, against the test server.

tests/test_docs.py runs the ```python blocks of every page; the blocks that need a
PostgreSQL server are tagged ```python-postgres instead, and run here, in order per page,
with the example URL of the pages (postgresql://app@db.internal/crm) pointed at a fresh
database of the test server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from test_docs import PAGES, fenced_blocks

EXAMPLE_URL = "postgresql://app@db.internal/crm"
TAG = "python-postgres"
WITH_POSTGRES = [page for page in PAGES if any(b.tag == TAG for b in fenced_blocks(page))]


def test_some_pages_show_postgres_code() -> None:
    assert {page.name for page in WITH_POSTGRES} >= {"stores.md"}


@pytest.mark.parametrize("page", WITH_POSTGRES, ids=lambda page: page.name)
def test_postgres_blocks_run(page: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(page.parent.parent)
    namespace: dict[str, object] = {"__name__": f"docs_pg_{page.stem}"}
    for block in fenced_blocks(page):
        if block.tag != TAG:
            continue
        assert EXAMPLE_URL in block.code or "store" in block.code
        code = block.code.replace(repr(EXAMPLE_URL).replace("'", '"'), repr(pg_dsn))
        source = "\n" * (block.line - 1) + code
        exec(compile(source, str(page), "exec"), namespace)
