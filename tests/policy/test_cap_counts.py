"""The cap and the lock cap decided from a rep's holdings (counts), as from the customers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poolkit.errors import InvalidValueError
from poolkit.model.customer import Customer
from poolkit.model.rep import Rep
from poolkit.policy import rules
from poolkit.policy.config import Policy
from poolkit.ports import Holdings
from poolkit.testing.builders import T0, private


def book(*shapes: tuple[bool, bool]) -> list[Customer]:
    """Li's customers, one per ``(has a deal, locked)``."""
    return [
        private(f"c{n}", "li", last_deal_at=T0 if dealt else None, locked=locked)
        for n, (dealt, locked) in enumerate(shapes)
    ]


def capped(cap: int | None, *, count_dealt: bool = True, count_locked: bool = True) -> Policy:
    caps: dict[str, object] = {"count_dealt": count_dealt, "count_locked": count_locked}
    if cap is not None:
        caps["default"] = cap
    return Policy.from_dict({"caps": caps})


LI = Rep(id="li")
# 2 plain, 2 dealt only, 1 locked only, 1 dealt and locked.
MIXED = book(
    (False, False), (False, False), (True, False), (True, False), (False, True), (True, True)
)


@given(
    st.lists(st.tuples(st.booleans(), st.booleans()), max_size=20),
    st.booleans(),
    st.booleans(),
    st.one_of(st.none(), st.integers(0, 22)),
)
def test_the_counts_decide_as_the_customers_do(
    shapes: list[tuple[bool, bool]], count_dealt: bool, count_locked: bool, cap: int | None
) -> None:
    customers = book(*shapes)
    policy = capped(cap, count_dealt=count_dealt, count_locked=count_locked)
    holdings = Holdings.of(customers)
    counted = sum(1 for customer in customers if rules.counts_toward_cap(customer, policy))
    assert rules.cap_count(holdings, policy) == counted
    assert rules.check_cap(LI, holdings, policy) == rules.check_cap(LI, customers, policy)
    assert holdings == Holdings(
        owned=len(shapes),
        dealt=sum(dealt for dealt, _ in shapes),
        locked=sum(locked for _, locked in shapes),
        dealt_and_locked=sum(dealt and locked for dealt, locked in shapes),
    )


def test_holdings_of_a_mixed_book() -> None:
    assert Holdings.of(MIXED) == Holdings(owned=6, dealt=3, locked=2, dealt_and_locked=1)


@pytest.mark.parametrize(
    ("count_dealt", "count_locked", "counted"),
    [(True, True, 6), (False, True, 3), (True, False, 4), (False, False, 2)],
)
def test_the_cap_refuses_exactly_at_the_counted_customers(
    count_dealt: bool, count_locked: bool, counted: int
) -> None:
    holdings = Holdings.of(MIXED)
    below = capped(counted + 1, count_dealt=count_dealt, count_locked=count_locked)
    allowed = rules.check_cap(LI, holdings, below)
    assert allowed.allowed and allowed.code is rules.Reason.CAP_OK
    assert (allowed.limit, allowed.count) == (counted + 1, counted)
    assert allowed.message == f"li holds {counted} of a cap of {counted + 1}"
    at = capped(counted, count_dealt=count_dealt, count_locked=count_locked)
    full = rules.check_cap(LI, holdings, at)
    assert isinstance(full, rules.CapFull) and full.code is rules.Reason.CAP_FULL
    assert (full.limit, full.count) == (counted, counted)
    over = capped(counted - 1, count_dealt=count_dealt, count_locked=count_locked)
    assert not rules.check_cap(LI, holdings, over).allowed


def test_without_a_cap_the_count_is_still_told() -> None:
    decision = rules.check_cap(LI, Holdings.of(MIXED), capped(None, count_dealt=False))
    assert decision.allowed and decision.code is rules.Reason.CAP_OK
    assert (decision.limit, decision.count) == (None, 3)


def test_the_lock_cap_counts_every_locked_customer_whatever_the_cap_counts() -> None:
    holdings = Holdings.of(MIXED)  # 2 locked, one of them with a deal
    for count_dealt in (True, False):
        caps = {"count_dealt": count_dealt, "count_locked": False}
        below = Policy.from_dict({"caps": {**caps, "max_locked": 3}})
        allowed = rules.check_lock_cap("li", holdings, below)
        assert allowed.allowed and allowed.code is rules.Reason.LOCK_CAP_OK
        assert (allowed.limit, allowed.count) == (3, 2)
        at = Policy.from_dict({"caps": {**caps, "max_locked": 2}})
        full = rules.check_lock_cap("li", holdings, at)
        assert isinstance(full, rules.CapFull) and full.code is rules.Reason.LOCK_CAP_FULL
        assert (full.limit, full.count) == (2, 2)
        assert full.message == "li holds 2 locked customers of a lock cap of 2"


def test_a_lock_cap_of_zero_refuses_the_first_lock_and_none_allows_any() -> None:
    nothing = Holdings()
    none_allowed = Policy.from_dict({"caps": {"locked_per_rep": {"li": 0}}})
    full = rules.check_lock_cap("li", nothing, none_allowed)
    assert isinstance(full, rules.CapFull) and (full.limit, full.count) == (0, 0)
    unlimited = rules.check_lock_cap("li", Holdings.of(MIXED), Policy())
    assert unlimited.allowed and unlimited.code is rules.Reason.LOCK_CAP_OK
    assert (unlimited.limit, unlimited.count) == (None, 2)


@pytest.mark.parametrize(
    "counts",
    [
        {"owned": -1},
        {"owned": 1, "dealt": 1, "dealt_and_locked": 1},  # both, but not locked
        {"owned": 1, "dealt": 1, "locked": 1},  # two customers' worth in one
        {"owned": 2, "dealt": 1, "locked": 1, "dealt_and_locked": 2},
    ],
)
def test_holdings_that_cannot_be_are_refused(counts: dict[str, int]) -> None:
    with pytest.raises(InvalidValueError):
        Holdings(**counts)
