"""The page contract of the customer repository: keyset pages and counts
(:meth:`~poolkit.ports.CustomerRepository.page`, ``count_matching``)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from poolkit.model.customer import Customer, CustomerStatus
from poolkit.model.schedule import Schedule
from poolkit.ports import (
    CustomerOrder,
    CustomerQuery,
    Position,
    Store,
    UnitOfWork,
    position_of,
    sort_key,
)
from poolkit.testing.builders import (
    DAY,
    NEW_YORK,
    NO_SCHEDULE,
    SECOND,
    SHANGHAI,
    T0,
    drop_at,
    private,
    public,
)

# Names that sort differently by code point, by case and by locale, with ties.
_NAMES = ["beta", "Alpha", "alpha", "张三", "Ä", "beta", "Zeta", "李四", "a", "张三"]


def book() -> list[tuple[Customer, Schedule]]:
    """Customers in two public pools, two private pools and the recycle bin, with names,
    entry times (the same instant written in two zones among them) and drop deadlines
    that tie, and attributes some queries filter on in Python."""
    out: list[tuple[Customer, Schedule]] = []
    for n in range(24):
        name = _NAMES[n % len(_NAMES)]
        at = (T0 + (n % 5) * DAY + (n % 3) * SECOND).astimezone(NEW_YORK if n % 2 else SHANGHAI)
        cid = f"c{n:02d}"
        attributes = {"city": "杭州" if n % 3 else "上海"}
        if n % 4 == 0:
            customer = public(cid, "north", name=name, public_since=at, attributes=attributes)
            schedule = NO_SCHEDULE
        elif n % 4 == 1:
            customer = public(cid, "south", name=name, public_since=at, attributes=attributes)
            schedule = NO_SCHEDULE
        elif n % 4 == 2:
            customer = private(
                cid,
                "alice" if n % 8 == 2 else "bob",
                name=name,
                owned_since=at,
                related_reps={"carol": T0} if n % 3 == 0 else {},
                attributes=attributes,
            )
            schedule = drop_at(None if n % 5 == 0 else at + 10 * DAY)
        else:
            customer = public(
                cid,
                "north",
                name=name,
                status=CustomerStatus.FROZEN,
                public_since=None if n % 3 else at,
                attributes=attributes,
            )
            schedule = NO_SCHEDULE
        out.append((customer, schedule))
    return out


QUERIES: dict[str, list[CustomerQuery]] = {
    "public pool": [CustomerQuery(status=CustomerStatus.PUBLIC, pool_ids=frozenset({"north"}))],
    "two pools": [CustomerQuery(pool_ids=frozenset({"north", "south"}))],
    "one owner": [CustomerQuery(owner_ids=frozenset({"alice"}))],
    "a rep's view": [
        CustomerQuery(owner_ids=frozenset({"alice", "bob"})),
        CustomerQuery(related_rep="carol"),
        CustomerQuery(status=CustomerStatus.PUBLIC, pool_ids=frozenset({"south"})),
    ],
    "recycle bin": [CustomerQuery(status=CustomerStatus.FROZEN)],
    "everyone": [CustomerQuery()],
    "by attribute": [
        CustomerQuery(status=CustomerStatus.PUBLIC, attributes=(("city", "杭州"),)),
        CustomerQuery(owner_ids=frozenset({"bob"}), attributes=(("city", "上海"),)),
    ],
    "nothing": [],
}


def expected(
    uow: UnitOfWork, queries: Sequence[CustomerQuery], order: CustomerOrder, descending: bool
) -> list[tuple[Customer, Position]]:
    """What paging must give, from ``find`` (ordered by id) and the stored schedules."""
    found: dict[str, Customer] = {}
    for query in queries:
        for customer in uow.customers.find(query):
            found[customer.id] = customer
    placed = []
    for customer in found.values():
        schedule = uow.customers.schedule_of(customer.id)
        assert schedule is not None
        placed.append((customer, position_of(customer, schedule, order)))
    return sorted(placed, key=lambda item: sort_key(item[1]), reverse=descending)


def walk(
    uow: UnitOfWork,
    queries: Sequence[CustomerQuery],
    order: CustomerOrder,
    descending: bool,
    size: int,
) -> list[tuple[Customer, Position]]:
    """Every page, each after the last position of the one before."""
    out: list[tuple[Customer, Position]] = []
    after = None
    while True:
        page = uow.customers.page(queries, order, descending=descending, after=after, limit=size)
        out.extend(page)
        if len(page) < size:
            return out
        after = page[-1][1]


class PageConformance:
    """The page contract. Subclass with a ``store`` fixture returning a fresh, empty store."""

    def fill(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            for customer, schedule in book():
                uow.customers.add(customer, schedule)
            uow.commit()

    @pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
    @pytest.mark.parametrize("order", list(CustomerOrder), ids=lambda order: order.value)
    def test_pages_walk_the_sorted_find_result(
        self, store: Store, order: CustomerOrder, descending: bool
    ) -> None:
        self.fill(store)
        with store.unit_of_work() as uow:
            for name, queries in QUERIES.items():
                want = expected(uow, queries, order, descending)
                for size in (1, 4, 50):
                    got = walk(uow, queries, order, descending, size)
                    assert [(c.id, p) for c, p in got] == [(c.id, p) for c, p in want], name
                    assert [c for c, _ in got] == [c for c, _ in want], name
                assert uow.customers.count_matching(queries) == len(want), name

    def test_a_page_starts_strictly_after_its_position(self, store: Store) -> None:
        self.fill(store)
        queries = QUERIES["everyone"]
        with store.unit_of_work() as uow:
            everyone = expected(uow, queries, CustomerOrder.NAME, False)
            middle = everyone[7][1]
            page = uow.customers.page(queries, CustomerOrder.NAME, after=middle, limit=3)
            assert [c.id for c, _ in page] == [c.id for c, _ in everyone[8:11]]
            # A position no customer holds (one that left) still starts where it sorts.
            gone = Position(middle.value, middle.customer_id + "-gone")
            page = uow.customers.page(queries, CustomerOrder.NAME, after=gone, limit=50)
            assert [c.id for c, _ in page] == [
                c.id for c, p in everyone if sort_key(p) > sort_key(gone)
            ]

    def test_no_drop_due_sorts_after_every_deadline(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(private("late"), drop_at(T0 + 400 * DAY))
            uow.customers.add(private("none"), drop_at(None))
            uow.customers.add(private("soon"), drop_at(T0 + DAY))
            uow.commit()
        queries = [CustomerQuery(owner_ids=frozenset({"alice"}))]
        with store.unit_of_work() as uow:
            up = uow.customers.page(queries, CustomerOrder.NEXT_DROP, limit=10)
            down = uow.customers.page(queries, CustomerOrder.NEXT_DROP, descending=True, limit=10)
            assert [c.id for c, _ in up] == ["soon", "late", "none"]
            assert [c.id for c, _ in down] == ["none", "late", "soon"]
            assert up[-1][1] == Position(None, "none")
            after_none = uow.customers.page(
                queries, CustomerOrder.NEXT_DROP, descending=True, after=down[0][1], limit=10
            )
            assert [c.id for c, _ in after_none] == ["late", "soon"]

    def test_a_customer_that_stays_is_shown_once_while_others_move(self, store: Store) -> None:
        """Page 1 is read; then a customer shown on it leaves, one sorting before the
        cursor arrives, one after it arrives, and one not shown yet leaves: the rest of the
        walk shows every customer that stayed exactly once, and the newcomer after it."""
        self.fill(store)
        query = [CustomerQuery(status=CustomerStatus.PUBLIC, pool_ids=frozenset({"north"}))]
        order = CustomerOrder.NAME
        with store.unit_of_work() as uow:
            before = expected(uow, query, order, False)
            first = uow.customers.page(query, order, limit=3)
        shown = [c.id for c, _ in first]
        later = [c.id for c, _ in before[3:]]
        with store.unit_of_work() as uow:
            left_shown = uow.customers.get(shown[0])
            left_later = uow.customers.get(later[0])
            assert left_shown is not None and left_later is not None
            for gone in (left_shown, left_later):
                uow.customers.update(
                    public(gone.id, "south", name=gone.name, version=gone.version + 1),
                    NO_SCHEDULE,
                    gone.version,
                )
            uow.customers.add(public("early", "north", name="0 early"), NO_SCHEDULE)
            uow.customers.add(public("late", "north", name="~ late"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            rest = walk_from(uow, query, order, first[-1][1], 2)
        ids = shown + [c.id for c, _ in rest]
        assert len(ids) == len(set(ids))
        stayed = set(shown[1:]) | set(later[1:])
        assert stayed <= set(ids)
        assert "late" in ids and "early" not in ids and left_later.id not in ids

    def test_limits_that_ask_for_nothing_give_nothing(self, store: Store) -> None:
        self.fill(store)
        with store.unit_of_work() as uow:
            assert uow.customers.page([CustomerQuery()], CustomerOrder.NAME, limit=0) == []
            assert uow.customers.page([], CustomerOrder.NAME, limit=5) == []
            assert uow.customers.count_matching([]) == 0


def walk_from(
    uow: UnitOfWork,
    queries: Sequence[CustomerQuery],
    order: CustomerOrder,
    after: Position,
    size: int,
) -> list[tuple[Customer, Position]]:
    out: list[tuple[Customer, Position]] = []
    while True:
        page = uow.customers.page(queries, order, after=after, limit=size)
        out.extend(page)
        if len(page) < size:
            return out
        after = page[-1][1]


__all__ = ["QUERIES", "PageConformance", "book", "expected", "walk", "walk_from"]
