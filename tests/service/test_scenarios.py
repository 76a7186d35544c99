"""The scenarios of the source articles (OKKI CRM, a CRM manual, a CRM designer's write-up),
one test each, run against PoolService on the memory store with a manual clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from poolkit import ManualClock, PoolService
from poolkit.errors import (
    CapExceeded,
    ClaimLimitExceeded,
    CollisionError,
    CooldownActive,
    CustomerNotFound,
    DuplicateIdError,
    PermissionDenied,
    WrongStateError,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # the clock fixture's start

Factory = Callable[..., PoolService]

# A sales team: a manager over two supervisors, each with their reps.
TEAM: dict[str, Any] = {
    "reps": [
        {"id": "admin", "admin": True},
        {"id": "manager"},
        {"id": "north_lead", "supervisor": "manager"},
        {"id": "li", "supervisor": "north_lead"},
        {"id": "wang", "supervisor": "north_lead"},
        {"id": "south_lead", "supervisor": "manager"},
        {"id": "zhao", "supervisor": "south_lead"},
    ],
    "pools": [
        {
            "id": "company",
            "default": True,
            "members": ["li", "wang", "zhao"],
            "managers": ["manager"],
        },
    ],
}


def policy(**extra: Any) -> dict[str, Any]:
    return {"timezone": "Asia/Shanghai", **extra}


def stale(days: int, warn_days: int = 0) -> dict[str, Any]:
    return {"name": f"stale-{days}", "kind": "no_follow_up", "days": days, "warn_days": warn_days}


def at(day: int, hour: int = 9) -> datetime:
    """Day ``day`` of the story (day 0 is the clock's start), at ``hour`` o'clock."""
    # Shanghai keeps no daylight saving time, so calendar days are 24-hour days here.
    return NOW.replace(hour=hour) + timedelta(days=day)


def dropped_ids(svc: PoolService) -> list[str]:
    return [item.customer_id for item in svc.sweep().dropped]


def test_a_cap_of_100_refuses_the_101st_by_every_route_until_one_is_released(
    make_service: Factory,
) -> None:
    svc = make_service(policy(caps={"default": 100}), TEAM)
    held = [svc.create("li", f"Shop {n}").id for n in range(100)]
    in_pool = svc.create("admin", "Pool shop", public=True).id
    wangs = svc.create("wang", "Wang's shop").id

    refusals: list[Callable[[], object]] = [
        lambda: svc.create("li", "Shop 101"),
        lambda: svc.claim("li", in_pool),
        lambda: svc.assign("manager", in_pool, "li"),
        lambda: svc.transfer("wang", wangs, "li"),
    ]
    for attempt in refusals:
        with pytest.raises(CapExceeded) as refused:
            attempt()
        assert (refused.value.rep_id, refused.value.cap, refused.value.count) == ("li", 100, 100)
    assert len(svc.private_pool("li")) == 100

    svc.return_to_pool("li", held[0], "no longer buying")
    assert svc.claim("li", in_pool).owner_id == "li"
    with pytest.raises(CapExceeded):
        svc.create("li", "Shop 101")


def test_personal_caps_10_for_big_accounts_and_100_for_many_small_ones(
    make_service: Factory,
) -> None:
    team = {
        "reps": [
            {"id": "admin", "admin": True},
            {"id": "key_accounts", "cap": 10},
            {"id": "fast_deals", "cap": 100},
            {"id": "newcomer"},
        ],
        "pools": [{"id": "company", "default": True}],
    }
    svc = make_service(policy(caps={"default": 30}), team)
    for rep, cap in (("key_accounts", 10), ("fast_deals", 100), ("newcomer", 30)):
        for n in range(cap):
            svc.create(rep, f"{rep} customer {n}")
        with pytest.raises(CapExceeded) as refused:
            svc.create(rep, f"{rep} one too many")
        assert (refused.value.cap, refused.value.count) == (cap, cap)


def test_15_days_without_follow_up_drops_at_the_boundary_and_not_one_second_early(
    make_service: Factory, clock: ManualClock
) -> None:
    svc = make_service(policy(drop_rules=[stale(15)]), TEAM)
    customer = svc.create("li", "Acme")
    due = at(15)
    clock.set(due - timedelta(seconds=1))
    assert dropped_ids(svc) == []
    assert svc.customer(customer.id).owner_id == "li"
    clock.set(due)
    assert dropped_ids(svc) == [customer.id]
    dropped = svc.customer(customer.id)
    assert dropped.is_public and dropped.pool_id == "company"
    event = svc.history(customer.id)[-1]
    assert event.kind == "dropped"
    assert event.describe() == (
        "dropped from li: no follow-up for 15 days since 2026-03-02 09:00 +08:00, rule 'stale-15'"
    )


def test_a_follow_up_restarts_the_15_days(make_service: Factory, clock: ManualClock) -> None:
    svc = make_service(policy(drop_rules=[stale(15)]), TEAM)
    customer = svc.create("li", "Acme")
    clock.set(at(10, hour=14))
    svc.follow_up("li", customer.id, "call", "asked for samples")
    clock.set(at(15))
    assert dropped_ids(svc) == []
    clock.set(at(25, hour=14) - timedelta(seconds=1))
    assert dropped_ids(svc) == []
    clock.set(at(25, hour=14))
    assert dropped_ids(svc) == [customer.id]


def test_the_owner_is_warned_3_days_before_the_drop(
    make_service: Factory, clock: ManualClock
) -> None:
    svc = make_service(policy(drop_rules=[stale(15, warn_days=3)]), TEAM)
    customer = svc.create("li", "Acme")
    clock.set(at(12) - timedelta(seconds=1))
    assert not svc.sweep().changed
    clock.set(at(12))
    report = svc.sweep()
    assert [(w.customer_id, w.rep_id, w.due_at) for w in report.warned] == [
        (customer.id, "li", at(15))
    ]
    assert report.warned[0].message.startswith("will drop at 2026-03-17 09:00 +08:00")
    clock.set(at(14))
    assert not svc.sweep().changed  # warned once per deadline
    # A follow-up moves the deadline, and the warning comes again before the new one.
    svc.follow_up("li", customer.id)
    clock.set(at(26))
    assert [w.due_at for w in svc.sweep().warned] == [at(29)]


def test_grades_b_25_c_and_d_10_e_40_days_and_the_grade_stays_filterable_in_the_pool(
    make_service: Factory, clock: ManualClock
) -> None:
    rules = [
        {"name": "grade-B", "kind": "no_follow_up", "days": 25, "grades": ["B"]},
        {"name": "grade-C-D", "kind": "no_follow_up", "days": 10, "grades": ["C", "D"]},
        {"name": "grade-E", "kind": "no_follow_up", "days": 40, "grades": ["E"]},
    ]
    svc = make_service(policy(drop_rules=rules), TEAM)
    by_grade = {grade: svc.create("li", f"Grade {grade}", grade=grade).id for grade in "ABCDE"}

    clock.set(NOW + timedelta(days=10, seconds=-1))
    assert dropped_ids(svc) == []
    clock.set(NOW + timedelta(days=10))
    assert sorted(dropped_ids(svc)) == sorted([by_grade["C"], by_grade["D"]])
    clock.set(NOW + timedelta(days=25))
    assert dropped_ids(svc) == [by_grade["B"]]
    clock.set(NOW + timedelta(days=40))
    assert dropped_ids(svc) == [by_grade["E"]]
    clock.set(NOW + timedelta(days=400))
    assert dropped_ids(svc) == []  # grade A (big closed accounts) has no rule
    assert svc.customer(by_grade["A"]).owner_id == "li"

    [b_customer] = svc.public_pool("company", grades=["B"])
    assert b_customer.id == by_grade["B"] and b_customer.grade == "B"
    assert {c.grade for c in svc.public_pool("company", grades=["C", "D"])} == {"C", "D"}
    assert len(svc.public_pool("company")) == 4


def test_rep_b_creating_a_customer_rep_a_owns_is_told_a_follows_it(
    make_service: Factory,
) -> None:
    svc = make_service(policy(), TEAM)
    acme = svc.create("li", "Acme", keys={"phone": "+8613800138000"})
    with pytest.raises(CollisionError) as refused:
        svc.create("wang", "ACME Ltd", keys={"phone": "+8613800138000"})
    assert refused.value.owner_id == "li" and refused.value.customer_id == acme.id
    assert "colleague li is already following this customer" in str(refused.value)
    assert svc.private_pool("wang") == []


def test_a_claim_pool_beside_an_assign_only_pool(make_service: Factory) -> None:
    team = {
        "reps": TEAM["reps"],
        "pools": [
            *TEAM["pools"],
            {
                "id": "vip",
                "mode": "manager_assigns",
                "members": ["li", "wang"],
                "managers": ["manager"],
            },
        ],
    }
    svc = make_service(policy(), team)
    open_customer = svc.create("admin", "Open", public=True)
    vip_customer = svc.create("admin", "Big fish", pool_id="vip", public=True)

    assert svc.claim("li", open_customer.id).owner_id == "li"
    with pytest.raises(PermissionDenied) as refused:
        svc.claim("wang", vip_customer.id)
    assert "assign-only" in refused.value.reason
    assert svc.assign("manager", vip_customer.id, "wang").owner_id == "wang"


def test_no_first_deal_within_30_days_and_no_repeat_deal_within_90_days(
    make_service: Factory, clock: ManualClock
) -> None:
    rules = [
        {"name": "first-deal", "kind": "no_first_deal", "days": 30},
        {"name": "repeat-deal", "kind": "no_repeat_deal", "days": 90},
    ]
    svc = make_service(policy(drop_rules=rules), TEAM)
    talker = svc.create("li", "Talks a lot").id
    buyer = svc.create("li", "Buys once").id

    clock.set(NOW + timedelta(days=20))
    svc.follow_up("li", talker, "visit")  # follow-ups are not deals
    svc.follow_up("li", buyer, "deal")
    clock.set(NOW + timedelta(days=30, seconds=-1))
    assert dropped_ids(svc) == []
    clock.set(NOW + timedelta(days=30))
    report = svc.sweep()
    assert [(d.customer_id, d.code) for d in report.dropped] == [(talker, "drop.no_first_deal")]

    clock.set(NOW + timedelta(days=100))
    svc.follow_up("li", buyer, "deal")  # a repeat deal restarts the 90 days
    clock.set(NOW + timedelta(days=190, seconds=-1))
    assert dropped_ids(svc) == []
    clock.set(NOW + timedelta(days=190))
    report = svc.sweep()
    assert [(d.customer_id, d.code) for d in report.dropped] == [(buyer, "drop.no_repeat_deal")]


def test_the_former_owner_becomes_related_and_the_next_owner_sees_the_whole_history(
    make_service: Factory, clock: ManualClock
) -> None:
    svc = make_service(policy(drop_rules=[stale(15)]), TEAM)
    customer = svc.create("li", "Acme")
    clock.set(at(2))
    svc.follow_up("li", customer.id, "call", "quoted 120 per unit")
    clock.set(at(17))
    assert dropped_ids(svc) == [customer.id]
    assert svc.customer(customer.id).related_reps == {"li": at(17)}

    claimed = svc.claim("zhao", customer.id)
    assert claimed.owner_id == "zhao" and "li" in claimed.related_reps
    history = svc.history(customer.id, actor_id="zhao")
    assert [e.kind for e in history] == ["created", "followed_up", "dropped", "claimed"]
    assert history[1].describe() == "call by li: quoted 120 per unit"
    # The former owner keeps read access and may still record what they know.
    assert svc.customer(customer.id, actor_id="li").owner_id == "zhao"
    svc.follow_up("li", customer.id, "message", "they prefer WeChat")
    assert customer.id in {c.id for c in svc.visible_to("li")}


def test_frozen_customers_are_neither_claimed_nor_edited_restore_brings_them_back_delete_is_final(
    make_service: Factory,
) -> None:
    svc = make_service(policy(), TEAM)
    customer = svc.create("admin", "One-year contract", public=True, customer_id="contract")
    svc.freeze("manager", customer.id, "contract runs until next year")
    with pytest.raises(WrongStateError):
        svc.claim("li", customer.id)
    with pytest.raises(WrongStateError):
        svc.edit("manager", customer.id, name="Renamed")
    with pytest.raises(WrongStateError):
        svc.follow_up("admin", customer.id)

    svc.restore("manager", customer.id)
    assert svc.claim("li", customer.id).owner_id == "li"

    svc.delete("admin", customer.id)
    with pytest.raises(CustomerNotFound):
        svc.customer(customer.id)
    with pytest.raises(CustomerNotFound):
        svc.restore("admin", customer.id)
    with pytest.raises(DuplicateIdError):
        svc.create("admin", "One-year contract", customer_id="contract")
    assert svc.history(customer.id)[-1].kind == "deleted"


def test_a_departing_reps_customers_all_drop_at_once(make_service: Factory) -> None:
    svc = make_service(policy(), TEAM)
    lis = {svc.create("li", f"Shop {n}").id for n in range(5)}
    wangs = svc.create("wang", "Wang's shop").id
    report = svc.depart("admin", "li")
    assert set(report.dropped) == lis
    assert svc.private_pool("li") == []
    assert {c.id for c in svc.public_pool("company")} == lis
    for customer_id in lis:
        assert svc.history(customer_id)[-1].kind == "dropped"
    assert svc.customer(wangs).owner_id == "wang"


def test_5_claims_per_7_days_the_6th_waits_until_the_window_moves(
    make_service: Factory, clock: ManualClock
) -> None:
    svc = make_service(policy(claim_limit={"max_claims": 5, "window_days": 7}), TEAM)
    pool = [svc.create("admin", f"Lead {n}", public=True).id for n in range(7)]
    for day in range(5):
        clock.set(at(day, hour=10))
        svc.claim("li", pool[day])

    clock.set(at(5, hour=10))
    with pytest.raises(ClaimLimitExceeded) as refused:
        svc.claim("li", pool[5])
    assert refused.value.next_claim_at == at(7, hour=10)
    assert svc.claim("wang", pool[6]).owner_id == "wang"  # the limit is per rep

    clock.set(at(7, hour=10) - timedelta(seconds=1))
    with pytest.raises(ClaimLimitExceeded):
        svc.claim("li", pool[5])
    clock.set(at(7, hour=10))
    assert svc.claim("li", pool[5]).owner_id == "li"


def test_the_previous_owner_waits_out_the_cooldown_but_others_need_not(
    make_service: Factory, clock: ManualClock
) -> None:
    svc = make_service(policy(cooldown={"days": 10}), TEAM)
    first = svc.create("li", "Returned").id
    second = svc.create("li", "Also returned").id
    svc.return_to_pool("li", first, "no budget")
    svc.return_to_pool("li", second, "no budget")

    clock.set(at(10) - timedelta(seconds=1))
    with pytest.raises(CooldownActive) as refused:
        svc.claim("li", first)
    assert refused.value.ends_at == at(10)
    assert svc.claim("wang", second).owner_id == "wang"
    clock.set(at(10))
    assert svc.claim("li", first).owner_id == "li"


def test_a_supervisor_reassigns_and_sees_subordinates_customers_a_peer_sees_none(
    make_service: Factory,
) -> None:
    svc = make_service(policy(), TEAM)
    lis = [svc.create("li", f"Li's shop {n}").id for n in range(3)]

    assert {c.id for c in svc.visible_to("north_lead")} == set(lis)
    assert {c.id for c in svc.visible_to("manager")} >= set(lis)
    for peer in ("wang", "south_lead", "zhao"):
        assert {c.id for c in svc.visible_to(peer)} & set(lis) == set()
        with pytest.raises(PermissionDenied):
            svc.customer(lis[0], actor_id=peer)
    with pytest.raises(PermissionDenied):
        svc.reassign("south_lead", lis[0], "zhao")

    moved = svc.reassign("north_lead", lis[0], "wang", "team contest")
    assert moved.owner_id == "wang"
    assert {c.id for c in svc.visible_to("wang")} >= {lis[0]}


def test_routing_by_attribute_sends_a_customer_to_its_regions_pool(
    make_service: Factory, clock: ManualClock
) -> None:
    team = {
        "reps": TEAM["reps"],
        "pools": [
            *TEAM["pools"],
            {"id": "north_china", "members": ["li", "wang"]},
            {"id": "south_china", "members": ["zhao"]},
        ],
    }
    routing = [
        {"attribute": "region", "equals": "north", "pool": "north_china"},
        {"attribute": "region", "equals": "south", "pool": "south_china"},
    ]
    svc = make_service(policy(routing=routing, drop_rules=[stale(15)]), team)
    north = svc.create("admin", "Harbin Co", attributes={"region": "north"}, public=True)
    south = svc.create("zhao", "Shenzhen Co", attributes={"region": "south"})
    elsewhere = svc.create("li", "Lhasa Co", attributes={"region": "west"})
    chosen = svc.create("li", "Special", attributes={"region": "south"}, pool_id="company")
    assert (north.pool_id, south.pool_id, elsewhere.pool_id, chosen.pool_id) == (
        "north_china",
        "south_china",
        "company",
        "company",
    )
    # When its owner lets it go, the customer lands in its region's pool.
    clock.set(at(15))
    svc.sweep()
    assert [c.id for c in svc.public_pool("south_china")] == [south.id]
    with pytest.raises(PermissionDenied):
        svc.claim("li", south.id)
