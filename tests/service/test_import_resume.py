"""An import run again: rows with an external id already stored are skipped and reported
``ALREADY_IMPORTED``; a repeated external id is a duplicate of its first row; a dry run
reports what a real run would and stores nothing. Run on both shipped stores."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from poolkit import ManualClock, MemoryStore, Policy, PoolService, Team
from poolkit.events import replay
from poolkit.importing import ImportRow, Outcome
from poolkit.model.events import Created
from poolkit.ports import Store
from poolkit.stores.sqlite import SqliteStore

Unchanged = Callable[[Store], AbstractContextManager[None]]


@pytest.fixture(params=["memory", "sqlite"])
def import_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
    else:
        with SqliteStore(tmp_path / "import.db") as store:
            yield store


@pytest.fixture
def service(import_store: Store, clock: ManualClock) -> PoolService:
    service = PoolService(
        import_store, Policy.from_dict({"timezone": "Asia/Shanghai", "caps": {"default": 2}}), clock
    )
    service.setup(
        Team.from_dict(
            {
                "reps": [{"id": "admin", "admin": True}, {"id": "li"}],
                "pools": [{"id": "main", "default": True, "members": ["li"]}],
            }
        )
    )
    return service


def rows(count: int, start: int = 0) -> list[ImportRow]:
    return [
        ImportRow(row=n + 2, name=f"Firm {n} Trading", external_id=f"crm-{n}")
        for n in range(start, start + count)
    ]


def test_a_second_run_skips_what_the_first_stored(service: PoolService) -> None:
    first = service.import_customers("admin", rows(3), batch_size=2)
    assert first.count(Outcome.CREATED) == 3
    created = {result.row: result.customer_id for result in first.rows}
    again = service.import_customers("admin", rows(5), batch_size=2)
    assert [(r.row, r.outcome) for r in again.rows] == [
        (2, Outcome.ALREADY_IMPORTED),
        (3, Outcome.ALREADY_IMPORTED),
        (4, Outcome.ALREADY_IMPORTED),
        (5, Outcome.CREATED),
        (6, Outcome.CREATED),
    ]
    assert again.rows[0].customer_id == created[2]
    assert again.rows[0].message == f"already imported as {created[2]}"
    assert again.summary() == (
        "5 rows: 2 created, 0 collision, 0 duplicate, 0 invalid, 3 already imported"
    )
    assert len(service.public_pool("main")) == 5


def test_the_external_id_is_in_the_history_and_on_the_customer(service: PoolService) -> None:
    (result,) = service.import_customers("admin", rows(1)).rows
    assert result.customer_id is not None
    history = service.history(result.customer_id)
    assert isinstance(history[0], Created) and history[0].external_id == "crm-0"
    customer = service.customer(result.customer_id)
    assert customer.external_id == "crm-0" and replay(history) == customer


def test_a_repeated_external_id_is_a_duplicate_of_its_first_row(service: PoolService) -> None:
    book = [
        ImportRow(row=2, name="Alpha", external_id="x1"),
        ImportRow(row=3, name="Beta", external_id="x2"),
        ImportRow(row=4, name="Alpha again", external_id="x1"),
    ]
    report = service.import_customers("admin", book, batch_size=1)
    assert [r.outcome for r in report.rows] == [
        Outcome.CREATED,
        Outcome.CREATED,
        Outcome.DUPLICATE,
    ]
    assert report.rows[2].duplicate_of_row == 2
    assert report.rows[2].message == "external id 'x1' duplicates row 2"


def test_rows_without_an_external_id_are_not_skipped(service: PoolService) -> None:
    book = [ImportRow(row=2, name="Gamma", keys=(("phone", "13800138000"),))]
    service.import_customers("admin", book)
    (again,) = service.import_customers("admin", book).rows
    assert again.outcome is Outcome.COLLISION  # found by its key, as before


def test_a_dry_run_reports_what_a_run_would_and_stores_nothing(
    service: PoolService, import_store: Store, unchanged: Unchanged
) -> None:
    service.import_customers("admin", rows(2))
    book = [
        *rows(3),  # two already in
        ImportRow(row=10, name="Delta", keys=(("phone", "13800138001"),)),
        ImportRow(row=11, name="Delta copy", keys=(("phone", "138 0013 8001"),)),
        ImportRow(row=12, name="Echo", keys=(("phone", "12345"),)),
        ImportRow(row=13, name="Firm 0 Trading"),  # a look-alike
    ]
    done: list[int] = []
    with unchanged(import_store):
        dry = service.import_customers(
            "admin", book, batch_size=2, dry_run=True, progress=done.append
        )
    assert done == [2, 4, 6, 7]
    real = service.import_customers("admin", book, batch_size=2)
    # The same outcomes and messages, but for the new ids, made anew by each run.
    assert [(r.row, r.outcome) for r in dry.rows] == [(r.row, r.outcome) for r in real.rows]
    assert [r.message for r in dry.rows if r.outcome is not Outcome.CREATED] == [
        r.message for r in real.rows if r.outcome is not Outcome.CREATED
    ]
    assert dry.summary() == real.summary()
    assert dry.count(Outcome.ALREADY_IMPORTED) == 2 and dry.lookalikes() > 0


def test_a_dry_run_into_a_private_pool_counts_the_cap(service: PoolService) -> None:
    report = service.import_customers("admin", rows(3), public=False, dry_run=True)
    # The cap of 2 is reached by the rows of the dry run itself, as in a real one.
    assert [r.outcome for r in report.rows] == [Outcome.CREATED, Outcome.CREATED, Outcome.INVALID]
    assert service.private_pool("admin") == [] and service.public_pool("main") == []
