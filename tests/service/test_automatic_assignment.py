"""Automatic assignment through the service: on create, on a drop in the sweep, on a
departure and on demand; routing explained; availability. Each assignment is one event
with its reason, written in the unit of work of the change that brought the customer in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from conftest import ServiceFactory
from poolkit import ManualClock, Policy, PoolService
from poolkit.errors import ConfigError, InvalidValueError, PermissionDenied
from poolkit.events import replay
from poolkit.model.events import Assigned
from poolkit.ports import Store
from poolkit.stores._codec import decode_event, encode_event
from poolkit.testing.builders import T0

Unchanged = Callable[[Store], AbstractContextManager[None]]

TEAM: dict[str, Any] = {
    "reps": [
        {"id": "boss", "admin": True},
        {"id": "mgr"},
        {"id": "li", "supervisor": "mgr", "cap": 3},
        {"id": "wang", "supervisor": "mgr"},
        {"id": "zhou", "supervisor": "mgr"},
    ],
    "pools": [
        {"id": "east", "default": True, "managers": ["mgr"], "members": ["li", "wang", "zhou"]},
        {"id": "north", "managers": ["mgr"], "members": ["li", "wang"]},
        {"id": "vip", "mode": "manager_assigns", "managers": ["mgr"], "members": ["li", "wang"]},
    ],
}


def policy(*assignment: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "drop_rules": [{"name": "stale", "kind": "no_follow_up", "days": 15}],
        "cooldown": {"days": 30},
        "assignment": list(assignment),
        **extra,
    }


def consistent(svc: PoolService, customer_id: str) -> None:
    assert replay(svc.history(customer_id)) == svc.customer(customer_id)


def owners(svc: PoolService) -> Counter[str]:
    return Counter(
        c.owner_id for rep in ("li", "wang", "zhou") for c in svc.private_pool(rep) if c.owner_id
    )


# ---------------------------------------------------------------- on create


def test_a_new_customer_routed_to_the_pool_is_assigned_in_turn(
    make_service: ServiceFactory,
) -> None:
    svc = make_service(policy({"pool": "east", "strategy": "round_robin"}), TEAM)
    made = [svc.create_with_warnings("boss", f"Shop {n}", public=True) for n in range(4)]
    assert [r.customer.owner_id for r in made] == ["li", "wang", "zhou", "li"]
    first = made[0]
    assert first.assignment is not None and first.assignment.reason == "round robin: first in turn"
    event = svc.history(first.customer.id)[-1]
    assert isinstance(event, Assigned)
    assert (event.seq, event.actor_id, event.rep_id, event.pool_id) == (2, None, "li", "east")
    assert event.reason == "round robin: first in turn"
    assert event.describe() == (
        "assigned to li from pool east by the system (round robin: first in turn)"
    )
    assert svc.history(made[1].customer.id)[-1].reason == "round robin: next after li"  # type: ignore[attr-defined]
    for result in made:
        consistent(svc, result.customer.id)


def test_a_private_create_and_a_pool_without_assignment_are_left_alone(
    make_service: ServiceFactory,
) -> None:
    svc = make_service(policy({"pool": "north", "strategy": "round_robin"}), TEAM)
    mine = svc.create_with_warnings("wang", "Mine")
    assert (mine.customer.owner_id, mine.assignment) == ("wang", None)
    public = svc.create_with_warnings("boss", "Public", public=True)
    assert (public.customer.owner_id, public.assignment) == (None, None)
    svc.change_policy(
        Policy.from_dict(policy({"pool": "east", "strategy": "round_robin", "on": ["dropped"]}))
    )
    assert svc.create_with_warnings("boss", "X", public=True).assignment is None


def test_a_rep_at_the_cap_is_skipped_and_when_everyone_is_full_the_customer_stays(
    make_service: ServiceFactory,
) -> None:
    svc = make_service(
        policy({"pool": "north", "strategy": "least_loaded"}, caps={"default": 2}), TEAM
    )
    made = [
        svc.create_with_warnings("boss", f"S{n}", public=True, pool_id="north") for n in range(6)
    ]
    # li's own cap (3) stands over the policy's default (2).
    assert [r.customer.owner_id for r in made] == ["li", "wang", "li", "wang", "li", None]
    assert [r.assignment.reason for r in made if r.assignment] == [
        "least loaded: 0 of 3",
        "least loaded: 0 of 2",
        "least loaded: 1 of 3",
        "least loaded: 1 of 2",
        "least loaded: 2 of 3",
        "nobody eligible: li at the cap, 3 of 3, wang at the cap, 2 of 2",
    ]
    assert made[-1].customer.where == "in pool north"
    assert [e.kind for e in svc.history(made[-1].customer.id)] == ["created"]


def test_an_unavailable_rep_is_passed_over_until_back(make_service: ServiceFactory) -> None:
    svc = make_service(policy({"pool": "north", "strategy": "round_robin"}), TEAM)
    assert svc.set_availability("li", "li", False).available is False
    made = [svc.create("boss", f"S{n}", public=True, pool_id="north") for n in range(2)]
    assert [c.owner_id for c in made] == ["wang", "wang"]
    assert svc.history(made[1].id)[-1].reason == (  # type: ignore[attr-defined]
        "round robin: next after wang; passed over li (unavailable)"
    )
    svc.set_availability("mgr", "li", True)
    assert svc.create("boss", "S2", public=True, pool_id="north").owner_id == "li"
    # Unavailable is not departed: li may still be given a customer by hand.
    svc.set_availability("boss", "li", False)
    lead = svc.create("boss", "By hand", public=True, pool_id="vip")
    assert svc.assign("mgr", lead.id, "li").owner_id == "li"


def test_only_the_rep_a_superior_or_an_admin_sets_availability(
    make_service: ServiceFactory, unchanged: Unchanged
) -> None:
    svc = make_service(policy(), TEAM)
    with unchanged(svc.store), pytest.raises(PermissionDenied):
        svc.set_availability("wang", "li", False)
    with pytest.raises(InvalidValueError):
        svc.set_availability("li", "li", "no")  # type: ignore[arg-type]


def test_weighted_assignment_follows_the_weights(make_service: ServiceFactory) -> None:
    svc = make_service(
        policy({"pool": "east", "strategy": "weighted", "weights": {"li": 3, "zhou": 2}}), TEAM
    )
    for n in range(12):  # ids in the order of creation, so private_pool lists them so
        svc.create("boss", f"S{n}", customer_id=f"s{n:02d}", public=True)
    li = svc.private_pool("li")
    assert len(li) == 3  # li's cap of 3 stops li; the others share the rest 2:1
    assert owners(svc) == Counter({"li": 3, "zhou": 6, "wang": 3})
    reasons = [svc.history(c.id)[-1].reason for c in li]  # type: ignore[attr-defined]
    assert reasons[0] == "weighted: weight 3 of 6, highest credit 3"


# ---------------------------------------------------------------- on a drop


def test_a_dropped_customer_goes_to_someone_else_in_the_sweep(
    make_service: ServiceFactory, clock: ManualClock
) -> None:
    svc = make_service(policy({"pool": "east", "strategy": "round_robin", "on": ["dropped"]}), TEAM)
    lead = svc.create("li", "Lead")
    clock.advance(days=15)
    report = svc.sweep()
    assert [item.customer_id for item in report.dropped] == [lead.id]
    (decision,) = report.assigned
    assert (decision.customer_id, decision.rep_id) == (lead.id, "wang")
    assert decision.reason == "round robin: first in turn; passed over li (just lost this customer)"
    assert [e.kind for e in svc.history(lead.id)] == ["created", "dropped", "assigned"]
    assert svc.customer(lead.id).owner_id == "wang"
    assert "li" in svc.customer(lead.id).related_reps
    consistent(svc, lead.id)


def test_a_dry_run_reports_the_assignment_and_changes_nothing(
    make_service: ServiceFactory, clock: ManualClock, unchanged: Unchanged
) -> None:
    svc = make_service(policy({"pool": "east", "strategy": "least_loaded"}), TEAM)
    svc.create("li", "Lead", customer_id="lead")
    clock.advance(days=15)
    with unchanged(svc.store):
        report = svc.sweep(dry_run=True)
    assert [(a.customer_id, a.rep_id) for a in report.assigned] == [("lead", "wang")]


# ---------------------------------------------------------------- on a departure


def test_a_departing_reps_customers_are_spread_when_the_policy_says_so(
    make_service: ServiceFactory,
) -> None:
    svc = make_service(
        policy(
            {"pool": "east", "strategy": "round_robin", "on": ["departed"]},
            caps={"per_rep": {"wang": 1}},
        ),
        TEAM,
    )
    leads = [svc.create("zhou", f"L{n}", customer_id=f"l{n}").id for n in range(6)]
    report = svc.depart("boss", "zhou")
    got = {a.customer_id: a.rep_id for a in report.assigned}
    # li (cap 3) takes three, wang (cap 1) one; the last two nobody may take: they drop.
    assert got == {"l0": "li", "l1": "wang", "l2": "li", "l3": "li", "l4": None, "l5": None}
    assert report.dropped == ("l4", "l5")
    assert report.assigned[-1].reason == (
        "nobody eligible: li at the cap, 3 of 3, wang at the cap, 1 of 1, "
        "zhou just lost this customer"
    )
    assert [e.kind for e in svc.history("l0")] == ["created", "dropped", "assigned"]
    assert svc.customer("l4").where == "in pool east"
    for lead in leads:
        consistent(svc, lead)


def test_without_balancing_a_departure_drops_everything_as_before(
    make_service: ServiceFactory,
) -> None:
    svc = make_service(policy({"pool": "east", "strategy": "round_robin"}), TEAM)
    svc.create("zhou", "L", customer_id="l0")
    report = svc.depart("boss", "zhou")
    assert (report.dropped, report.assigned) == (("l0",), ())


# ---------------------------------------------------------------- on demand


def test_a_manager_distributes_a_pools_customers(
    make_service: ServiceFactory, unchanged: Unchanged
) -> None:
    svc = make_service(policy(), TEAM)
    for n in range(5):
        svc.create("boss", f"V{n}", customer_id=f"v{n}", public=True, pool_id="vip")
    with unchanged(svc.store), pytest.raises(InvalidValueError, match="no automatic assignment"):
        svc.distribute("mgr", "vip")
    with unchanged(svc.store), pytest.raises(PermissionDenied):
        svc.distribute("li", "vip", strategy="round_robin")  # type: ignore[arg-type]
    done = svc.distribute("mgr", "vip", strategy="round_robin", limit=3)  # type: ignore[arg-type]
    assert [(a.customer_id, a.rep_id) for a in done] == [("v0", "li"), ("v1", "wang"), ("v2", "li")]
    assert svc.history("v0")[-1].actor_id == "mgr"
    rest = svc.distribute("mgr", "vip", strategy="least_loaded")  # type: ignore[arg-type]
    assert [(a.customer_id, a.rep_id, a.reason) for a in rest] == [
        ("v3", "wang", "least loaded: 1, no cap"),
        ("v4", "li", "least loaded: 2 of 3"),
    ]


# ---------------------------------------------------------------- routing


ROUTED = policy(
    {"pool": "north", "strategy": "round_robin"},
    routing=[
        {"attribute": "tier", "equals": "vip", "pool": "vip"},
        {
            "name": "north region, finance",
            "attributes": {"region": ["north", "northeast"], "industry": "finance"},
            "pool": "north",
        },
        {"name": "trade fair", "tags": ["fair-2026"], "pool": "north"},
    ],
)


def test_route_explains_the_rule_that_matched(make_service: ServiceFactory) -> None:
    svc = make_service(ROUTED, TEAM)
    why = svc.route(attributes={"region": "northeast", "industry": "finance"})
    assert (why.pool_id, why.rule_index, why.rule_name) == ("north", 1, "north region, finance")
    assert why.conditions == ("industry is 'finance'", "region is one of 'north', 'northeast'")
    assert [miss.message for miss in why.misses] == ["rule 0: no tier, not 'vip'"]
    assert why.message == (
        "rule 1 ('north region, finance') matched "
        "(industry is 'finance' and region is one of 'north', 'northeast'): pool north"
    )
    assert svc.route(tags=["fair-2026"]).rule_name == "trade fair"


def test_route_says_why_the_default_applied(make_service: ServiceFactory) -> None:
    svc = make_service(ROUTED, TEAM)
    why = svc.route(attributes={"region": "south", "industry": "finance", "tier": True})
    assert (why.pool_id, why.matched) == ("east", False)
    assert [miss.message for miss in why.misses] == [
        "rule 0: tier is true, not 'vip'",
        "rule 1 ('north region, finance'): region is 'south', not 'north' or 'northeast'",
        "rule 2 ('trade fair'): not tagged 'fair-2026'",
    ]
    assert why.message == "no rule matched: pool east (the default)"


def test_a_customer_is_created_where_route_says(make_service: ServiceFactory) -> None:
    svc = make_service(ROUTED, TEAM)
    made = svc.create("boss", "Bank", public=True, tags=["fair-2026"], customer_id="bank")
    assert (made.pool_id, made.owner_id) == ("north", "li")
    assert svc.route(customer_id="bank").rule_index == 2
    assert svc.route(customer_id="bank", tags=[]).pool_id == "east"


def test_routing_default_names_the_pool_for_everyone_else(make_service: ServiceFactory) -> None:
    svc = make_service(policy(routing_default="vip"), TEAM)
    assert svc.route().pool_id == "vip"
    assert svc.create("boss", "Anyone", public=True).pool_id == "vip"


def test_a_policy_naming_an_unknown_pool_is_refused(
    make_service: ServiceFactory, unchanged: Unchanged
) -> None:
    svc = make_service(policy(), TEAM)
    bad = Policy.from_dict(
        policy(
            {"pool": "south", "strategy": "round_robin"},
            routing=[{"attribute": "r", "equals": "s", "pool": "west"}],
            routing_default="nowhere",
        )
    )
    with unchanged(svc.store), pytest.raises(ConfigError) as refused:
        svc.change_policy(bad)
    assert list(refused.value.problems) == [
        ("routing[0].pool", "unknown pool 'west'"),
        ("routing_default", "unknown pool 'nowhere'"),
        ("assignment[0].pool", "unknown pool 'south'"),
    ]


# ---------------------------------------------------------------- the event


def test_an_assigned_event_stored_before_reasons_is_read_as_without_one() -> None:
    event = Assigned(
        customer_id="c1",
        seq=2,
        at=T0,
        actor_id="mgr",
        rep_id="li",
        pool_id="east",
    )
    stored = encode_event(event)
    del stored["reason"]
    assert decode_event(stored) == event
    assert event.reason == "" and event.describe() == "assigned to li from pool east by mgr"
