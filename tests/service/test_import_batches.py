"""An import writes each batch's new customers together (``add_created``) and must report
and store exactly what writing them one row at a time does: a dry run (which writes row by
row) reports the same, every stored customer is the replay of its history, and a batch the
store refuses (an id taken after the batch's look-ups) is written again row by row. On
both shipped stores."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poolkit import ManualClock, MemoryStore, Policy, PoolService, Team
from poolkit.events import replay
from poolkit.importing import ImportReport, ImportRow, Outcome, RowResult
from poolkit.ports import Store
from poolkit.stores.sqlite import SqliteStore

TEAM = {
    "reps": [{"id": "admin", "admin": True}, {"id": "li"}],
    "pools": [{"id": "main", "default": True, "members": ["li"], "managers": ["admin"]}],
}
POLICY = Policy.from_dict({"timezone": "Asia/Shanghai"})


def counter(prefix: str) -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"{prefix}{next(numbers):04d}"


def service_on(store: Store, clock: ManualClock, new_id: Callable[[], str]) -> PoolService:
    service = PoolService(store, POLICY, clock, new_id=new_id)
    service.setup(Team.from_dict(TEAM))
    return service


MakeStore = Callable[[], Iterator[Store]]


def memory() -> Iterator[Store]:
    yield MemoryStore()


def sqlite() -> Iterator[Store]:
    with tempfile.TemporaryDirectory() as folder, SqliteStore(Path(folder) / "x.db") as store:
        yield store


STORES: list[MakeStore] = [memory, sqlite]


START = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
# Rows that collide with the stored book, with each other and with themselves: few phones,
# few external ids, some given ids (b0001 is stored), names that look alike.
WORDS = ["华强", "科技", "Acme", "Trading", "深圳", "Beta"]
row_values = st.tuples(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join),
    st.sampled_from(["+8613900000001", "+8613900000002", "139 0000 0003", "bad", None]),
    st.sampled_from([None, None, "x-1", "x-2", "x-3", "x-4"]),
    st.sampled_from([None, None, None, "b0001", "given-1", "given-2"]),
)
Values = list[tuple[str, str | None, str | None, str | None]]


def import_rows(values: Values) -> list[ImportRow]:
    return [
        ImportRow(
            row=n + 2,
            name=name,
            keys=(("phone", phone),) if phone else (),
            external_id=external_id,
            customer_id=customer_id,
        )
        for n, (name, phone, external_id, customer_id) in enumerate(values)
    ]


def stored_book(store: Store, clock: ManualClock) -> None:
    service = service_on(store, clock, counter("b"))
    service.create("admin", "深圳 华强 科技", keys={"phone": "+8613900000001"}, public=True)
    service.import_customers("admin", [ImportRow(row=2, name="Acme Beta", external_id="x-2")])


def shape(report: ImportReport) -> list[tuple[object, ...]]:
    return [
        (
            r.row,
            r.outcome,
            r.customer_id,
            r.message,
            r.other_customer_id,
            r.duplicate_of_row,
            r.similar_ids,
        )
        for r in report.rows
    ]


def check_stored(store: Store, report: ImportReport, before: int) -> None:
    with store.unit_of_work() as uow:
        for result in report.rows:
            if result.outcome is Outcome.CREATED:
                assert result.customer_id is not None
                customer = uow.customers.get(result.customer_id)
                history = uow.events.history(result.customer_id)
                assert customer is not None and replay(history) == customer
        assert uow.customers.count() == before + report.count(Outcome.CREATED)


@settings(deadline=None, max_examples=30)
@given(values=st.lists(row_values, max_size=12), batch_size=st.integers(1, 5))
def test_batches_report_and_store_what_rows_one_by_one_do(values: Values, batch_size: int) -> None:
    rows = import_rows(values)
    for make in STORES:
        for store in make():
            clock = ManualClock(START)
            stored_book(store, clock)
            # A dry run writes row by row (in one unit of work it rolls back); the real run
            # makes the same ids in the same order.
            dry = service_on(store, clock, counter("n"))
            expected = dry.import_customers("admin", rows, batch_size=batch_size, dry_run=True)
            real = service_on(store, clock, counter("n"))
            report = real.import_customers("admin", rows, batch_size=batch_size)
            assert shape(report) == shape(expected)
            check_stored(store, report, 2)


@pytest.mark.parametrize("make", STORES, ids=["memory", "sqlite"])
def test_a_batch_the_store_refuses_is_written_row_by_row(make: MakeStore) -> None:
    for store in make():
        clock = ManualClock(START)
        stored_book(store, clock)  # b0001 and b0002 are taken
        # The ids made for the new rows: the second is taken (as a made id may be, one in
        # 2**48), which only the store's write of the batch finds out.
        made = iter(["n1", "b0001", "n3", "n4", "n5", "n6", "n7", "n8"])
        service = service_on(store, clock, made.__next__)
        rows = [ImportRow(row=n + 2, name=f"Firm {n} Works") for n in range(4)]
        report = service.import_customers("admin", rows, batch_size=10)
        # The batch again, row by row: new ids for every row, each created once.
        assert [(r.row, r.outcome, r.customer_id) for r in report.rows] == [
            (2, Outcome.CREATED, "n5"),
            (3, Outcome.CREATED, "n6"),
            (4, Outcome.CREATED, "n7"),
            (5, Outcome.CREATED, "n8"),
        ]
        check_stored(store, report, 2)


def test_an_external_id_stored_after_the_look_up_is_already_imported(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "x.db") as store:
        clock = ManualClock(START)
        stored_book(store, clock)  # x-2 is stored, as b0002
        service = service_on(store, clock, counter("n"))
        rows = [
            ImportRow(row=2, name="Firm Works", external_id="x-1"),
            ImportRow(row=3, name="Acme Beta", external_id="x-2"),
        ]
        # As if x-2 had been stored by another import after this batch looked it up: the
        # batch's look-up (the first) misses it.
        customers = type(store.unit_of_work().customers)
        look_up = customers.with_external_ids
        calls = itertools.count()

        def late(self: object, ids: frozenset[str]) -> dict[str, str]:
            return {} if next(calls) == 0 else look_up(self, ids)  # type: ignore[arg-type]

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(customers, "with_external_ids", late)
            report = service.import_customers("admin", rows)
        assert [(r.row, r.outcome, r.customer_id) for r in report.rows] == [
            (2, Outcome.CREATED, "n0003"),  # the batch again, row by row, with a new id
            (3, Outcome.ALREADY_IMPORTED, "b0002"),
        ]
        check_stored(store, report, 2)


@pytest.mark.parametrize("dry_run", [False, True])
def test_rows_handed_on_leave_the_report_the_rows_that_need_attention(dry_run: bool) -> None:
    store = MemoryStore()
    clock = ManualClock(START)
    stored_book(store, clock)  # x-2 stored; the phone +8613900000001 taken
    service = service_on(store, clock, counter("n"))
    rows = import_rows(
        [
            ("Firm One Works", "+8613900000002", "x-1", None),  # created
            ("Firm Two Works", "+8613900000001", None, None),  # collision
            ("Acme Beta", None, "x-2", None),  # already imported
            ("Firm Four", "+8613900000002", None, None),  # duplicate of row 2
            ("深圳华强科技", None, None, None),  # created, looks like the stored one
            ("Firm Six", "bad", None, None),  # invalid
            ("Firm Seven Works", None, None, None),  # created
        ]
    )
    whole = service_on(MemoryStore(), clock, counter("n"))  # the same import, every row kept
    stored_book(whole.store, clock)
    expected = service_on(whole.store, clock, counter("n")).import_customers(
        "admin", rows, batch_size=3, dry_run=dry_run
    )
    handed: list[RowResult] = []
    report = service.import_customers(
        "admin", rows, batch_size=3, dry_run=dry_run, on_row=handed.append
    )
    assert handed == list(expected.rows)  # every row, in order
    assert report.rows == tuple(r for r in expected.rows if ImportReport.needs_attention(r))
    assert [r.row for r in report.rows] == [3, 5, 7]
    assert report.summary() == expected.summary()
    assert report.handed_on == {Outcome.CREATED: 3, Outcome.ALREADY_IMPORTED: 1}
    assert report.lookalikes_handed_on == expected.lookalikes()
    for outcome in Outcome:
        assert report.count(outcome) == expected.count(outcome)
    assert report.lookalikes() == expected.lookalikes() > 0


def test_an_item_that_is_no_row_is_named_by_its_position_among_handed_on_rows() -> None:
    store = MemoryStore()
    service = service_on(store, ManualClock(START), counter("n"))
    items: list[object] = [ImportRow(row=n + 2, name=f"Firm {n}") for n in range(4)]
    items.insert(3, "not a row")
    report = service.import_customers("admin", items, batch_size=2, on_row=lambda r: None)  # type: ignore[arg-type]
    assert [(r.row, r.outcome) for r in report.rows] == [(4, Outcome.INVALID)]
    assert report.rows[0].message.startswith("rows: item 4 is not an ImportRow")


@pytest.mark.parametrize("make", STORES)
def test_a_row_the_store_refuses_as_it_writes_leaves_no_history(make: MakeStore) -> None:
    for store in make():
        a_refused_row_leaves_no_history(store)


def a_refused_row_leaves_no_history(store: Store) -> None:
    """Written row by row (into a private pool), a row whose external id another import
    stored after this batch's look-up is refused by the store's write itself: nothing of
    it may stay in the batch that commits, not even its created event."""
    clock = ManualClock(START)
    stored_book(store, clock)  # x-2 is stored, as b0002
    made: list[str] = []
    new_id = counter("n")

    def recorded() -> str:
        made.append(new_id())
        return made[-1]

    service = PoolService(store, POLICY, clock, new_id=recorded)
    customers = type(store.unit_of_work().customers)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(customers, "with_external_ids", lambda self, ids: {})
        report = service.import_customers(
            "admin",
            [
                ImportRow(row=2, name="Firm Works", external_id="x-1"),
                ImportRow(row=3, name="Acme Beta", external_id="x-2"),
            ],
            public=False,
        )
    assert [r.outcome for r in report.rows] == [Outcome.CREATED, Outcome.ALREADY_IMPORTED]
    check_stored(store, report, 2)
    with store.unit_of_work() as uow:
        for customer_id in made:
            customer = uow.customers.get(customer_id)
            history = uow.events.history(customer_id)
            assert (customer is None and history == []) or replay(history) == customer
