"""Every operation of PoolService: what it does when allowed, and each way it is refused.

Every refusal is checked with ``unchanged``: the whole store (customers, schedules,
histories, reps, pools) is the same after the refused call as before it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from poolkit import (
    Customer,
    CustomerStatus,
    FollowUpKind,
    ManualClock,
    PoolkitError,
    PoolService,
    Rep,
    Scope,
    Team,
)
from poolkit.errors import (
    CapExceeded,
    ClaimLimitExceeded,
    CollisionError,
    CooldownActive,
    CustomerNotFound,
    DuplicateIdError,
    InvalidValueError,
    LockCapExceeded,
    NaiveDatetimeError,
    PermissionDenied,
    PoolNotFound,
    RepInactiveError,
    RepNotFound,
    WrongStateError,
)
from poolkit.events import replay
from poolkit.ports import Store

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # the clock fixture's start

# boss (admin)
# ├── sup ── alice, bob, gone (departed)
# ├── sup2 ── carol
# └── mgr: manages every pool
TEAM = {
    "reps": [
        {"id": "boss", "admin": True},
        {"id": "sup", "supervisor": "boss"},
        {"id": "alice", "supervisor": "sup"},
        {"id": "bob", "supervisor": "sup"},
        {"id": "gone", "supervisor": "sup", "active": False},
        {"id": "sup2", "supervisor": "boss"},
        {"id": "carol", "supervisor": "sup2"},
        {"id": "mgr", "supervisor": "boss"},
    ],
    "pools": [
        {"id": "main", "default": True, "members": ["alice", "bob", "carol"], "managers": ["mgr"]},
        {"id": "vip", "mode": "manager_assigns", "members": ["alice", "bob"], "managers": ["mgr"]},
        {"id": "east", "members": ["carol"], "managers": ["mgr"]},
    ],
}

POLICY = {
    "timezone": "Asia/Shanghai",
    "drop_rules": [{"name": "stale-15", "kind": "no_follow_up", "days": 15, "warn_days": 3}],
    "caps": {"default": 3},
    "claim_limit": {"max_claims": 2, "window_days": 7},
    "cooldown": {"days": 10},
}

Unchanged = Callable[[Store], AbstractContextManager[None]]


@pytest.fixture
def svc(make_service: Callable[..., PoolService]) -> PoolService:
    return make_service(POLICY, TEAM)


_names = itertools.count(1)


def owned(svc: PoolService, owner: str = "alice", **details: Any) -> Customer:
    """A customer in ``owner``'s private pool."""
    return svc.create(owner, f"Customer {next(_names)}", **details)


def public(svc: PoolService, pool: str = "main", **details: Any) -> Customer:
    """A customer in public pool ``pool``, entered by the admin."""
    return svc.create("boss", f"Customer {next(_names)}", pool_id=pool, public=True, **details)


def frozen(svc: PoolService) -> Customer:
    return svc.freeze("mgr", public(svc).id)


def kinds(svc: PoolService, customer_id: str) -> list[str]:
    return [event.kind for event in svc.history(customer_id)]


def consistent(svc: PoolService, customer: Customer) -> Customer:
    """The stored customer is what ``customer`` says, and the fold of its history."""
    stored = svc.customer(customer.id)
    assert stored == customer
    assert replay(svc.history(customer.id)) == stored
    return stored


# ---------------------------------------------------------------- refusals common to all

CUSTOMER_OPERATIONS: dict[str, Callable[[PoolService, str, str], object]] = {
    "follow_up": lambda s, actor, cid: s.follow_up(actor, cid),
    "claim": lambda s, actor, cid: s.claim(actor, cid),
    "assign": lambda s, actor, cid: s.assign(actor, cid, "bob"),
    "return_to_pool": lambda s, actor, cid: s.return_to_pool(actor, cid, "no budget"),
    "recycle": lambda s, actor, cid: s.recycle(actor, cid),
    "transfer": lambda s, actor, cid: s.transfer(actor, cid, "bob"),
    "reassign": lambda s, actor, cid: s.reassign(actor, cid, "bob"),
    "change_pool": lambda s, actor, cid: s.change_pool(actor, cid, "east"),
    "freeze": lambda s, actor, cid: s.freeze(actor, cid),
    "restore": lambda s, actor, cid: s.restore(actor, cid),
    "delete": lambda s, actor, cid: s.delete(actor, cid),
    "lock": lambda s, actor, cid: s.lock(actor, cid),
    "unlock": lambda s, actor, cid: s.unlock(actor, cid),
    "change_grade": lambda s, actor, cid: s.change_grade(actor, cid, "B"),
    "edit": lambda s, actor, cid: s.edit(actor, cid, name="Renamed"),
}


@pytest.mark.parametrize("operation", sorted(CUSTOMER_OPERATIONS))
def test_unknown_customer_is_refused(
    svc: PoolService, unchanged: Unchanged, operation: str
) -> None:
    owned(svc)
    with unchanged(svc.store), pytest.raises(CustomerNotFound) as refused:
        CUSTOMER_OPERATIONS[operation](svc, "boss", "no-such-customer")
    assert refused.value.id == "no-such-customer"


@pytest.mark.parametrize("operation", sorted(CUSTOMER_OPERATIONS))
def test_unknown_actor_is_refused(svc: PoolService, unchanged: Unchanged, operation: str) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(RepNotFound) as refused:
        CUSTOMER_OPERATIONS[operation](svc, "stranger", customer.id)
    assert refused.value.id == "stranger"


@pytest.mark.parametrize("operation", sorted(CUSTOMER_OPERATIONS))
def test_departed_actor_is_refused(svc: PoolService, unchanged: Unchanged, operation: str) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(RepInactiveError) as refused:
        CUSTOMER_OPERATIONS[operation](svc, "gone", customer.id)
    assert refused.value.rep_id == "gone"


# ---------------------------------------------------------------- create


def test_create_puts_the_customer_in_the_creators_private_pool(svc: PoolService) -> None:
    customer = svc.create(
        "alice",
        "Acme",
        customer_id="acme",
        keys={"phone": "+8613800138000"},
        grade="C",
        tags={"trade-fair"},
        attributes={"region": "north"},
    )
    assert customer.id == "acme"
    assert (customer.status, customer.owner_id, customer.pool_id) == (
        CustomerStatus.PRIVATE,
        "alice",
        "main",
    )
    assert (customer.creator_id, customer.owned_since, customer.created_at) == ("alice", NOW, NOW)
    assert customer.grade == "C" and customer.tags == {"trade-fair"}
    assert customer.attributes == {"region": "north"}
    assert customer.version == 1
    assert kinds(svc, "acme") == ["created"]
    assert svc.private_pool("alice") == [customer]
    consistent(svc, customer)


def test_create_public_puts_the_customer_in_the_named_pool(svc: PoolService) -> None:
    customer = svc.create("carol", "Acme", pool_id="east", public=True)
    assert (customer.status, customer.owner_id, customer.pool_id) == (
        CustomerStatus.PUBLIC,
        None,
        "east",
    )
    assert customer.public_since == NOW and customer.owned_since is None
    assert svc.public_pool("east") == [customer]
    assert svc.private_pool("carol") == []
    consistent(svc, customer)


def test_create_private_records_the_home_pool_it_will_drop_to(svc: PoolService) -> None:
    customer = owned(svc, pool_id="vip")
    assert customer.owner_id == "alice" and customer.pool_id == "vip"


def test_create_public_in_a_pool_the_actor_is_not_in_is_refused(
    svc: PoolService, unchanged: Unchanged
) -> None:
    with unchanged(svc.store), pytest.raises(PermissionDenied) as refused:
        svc.create("carol", "Acme", pool_id="vip", public=True)
    assert refused.value.actor_id == "carol"


def test_create_in_an_unknown_pool_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    with unchanged(svc.store), pytest.raises(PoolNotFound) as refused:
        svc.create("alice", "Acme", pool_id="atlantis")
    assert refused.value.id == "atlantis"


@pytest.mark.parametrize("actor, error", [("stranger", RepNotFound), ("gone", RepInactiveError)])
def test_create_by_an_unknown_or_departed_rep_is_refused(
    svc: PoolService, unchanged: Unchanged, actor: str, error: type[PoolkitError]
) -> None:
    with unchanged(svc.store), pytest.raises(error):
        svc.create(actor, "Acme")


def test_create_with_a_taken_id_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    owned(svc, customer_id="acme")
    with unchanged(svc.store), pytest.raises(DuplicateIdError) as refused:
        svc.create("bob", "Other", customer_id="acme")
    assert (refused.value.kind, refused.value.id) == ("customer", "acme")


def test_the_id_of_a_deleted_customer_is_not_reused(svc: PoolService, unchanged: Unchanged) -> None:
    svc.delete("boss", owned(svc, customer_id="acme").id)
    with unchanged(svc.store), pytest.raises(DuplicateIdError):
        svc.create("bob", "Other", customer_id="acme")


def test_create_colliding_with_a_private_customer_names_its_owner(
    svc: PoolService, unchanged: Unchanged
) -> None:
    first = owned(svc, keys={"phone": "+8613800138000", "email": "a@acme.cn"})
    with unchanged(svc.store), pytest.raises(CollisionError) as refused:
        svc.create("bob", "Acme again", keys={"phone": "+8613800138000"})
    error = refused.value
    assert (error.customer_id, error.key_kind, error.key_value) == (
        first.id,
        "phone",
        "+8613800138000",
    )
    assert (error.owner_id, error.pool_id, error.in_recycle_bin) == ("alice", "main", False)
    assert "colleague alice is already following this customer" in str(error)


def test_create_colliding_with_a_public_customer_names_its_pool(
    svc: PoolService, unchanged: Unchanged
) -> None:
    first = public(svc, "east", keys={"uscc": "91310000MA1FL8TQ36"})
    with unchanged(svc.store), pytest.raises(CollisionError) as refused:
        svc.create("bob", "Acme again", keys={"uscc": "91310000MA1FL8TQ36"})
    error = refused.value
    assert (error.customer_id, error.owner_id, error.pool_id) == (first.id, None, "east")
    assert not error.in_recycle_bin
    assert "public pool east" in str(error)


def test_create_colliding_with_a_frozen_customer_names_the_recycle_bin(
    svc: PoolService, unchanged: Unchanged
) -> None:
    first = svc.freeze("mgr", public(svc, keys={"email": "buyer@acme.cn"}).id)
    with unchanged(svc.store), pytest.raises(CollisionError) as refused:
        svc.create("bob", "Acme again", keys={"email": "buyer@acme.cn"})
    error = refused.value
    assert (error.customer_id, error.owner_id, error.in_recycle_bin) == (first.id, None, True)
    assert "recycle bin" in str(error)


def test_keys_outside_the_collision_rule_do_not_collide(svc: PoolService) -> None:
    owned(svc, keys={"wechat": "acme_shop"})
    second = svc.create("bob", "Acme again", keys={"wechat": "acme_shop"})
    assert second.owner_id == "bob"


def test_create_at_the_cap_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    for _ in range(3):
        owned(svc)
    with unchanged(svc.store), pytest.raises(CapExceeded) as refused:
        owned(svc)
    assert (refused.value.rep_id, refused.value.cap, refused.value.count) == ("alice", 3, 3)
    # The cap is about the private pool: entering public customers is not limited by it.
    assert public(svc).is_public


@pytest.mark.parametrize(
    "details, field",
    [
        ({"name": ""}, "name"),
        ({"name": "  padded "}, "name"),
        ({"keys": {"phone": ""}}, "phone"),
        ({"grade": "  "}, "grade"),
        ({"attributes": {"region": ["north"]}}, "attributes.region"),
        ({"tags": "vip"}, "tags"),
    ],
)
def test_create_with_bad_details_is_refused(
    svc: PoolService, unchanged: Unchanged, details: dict[str, object], field: str
) -> None:
    arguments: dict[str, object] = {"name": "Acme", **details}
    with unchanged(svc.store), pytest.raises(InvalidValueError) as refused:
        svc.create("alice", **arguments)  # type: ignore[arg-type]
    assert refused.value.field == field


# ---------------------------------------------------------------- follow_up


def test_follow_up_by_the_owner_resets_the_drop_clock(svc: PoolService, clock: ManualClock) -> None:
    customer = owned(svc)
    later = clock.advance(days=4)
    followed = svc.follow_up("alice", customer.id, FollowUpKind.VISIT, "met the buyer")
    assert followed.last_follow_up_at == later and followed.last_deal_at is None
    event = svc.history(customer.id)[-1]
    assert event.kind == "followed_up" and event.describe() == "visit by alice: met the buyer"
    consistent(svc, followed)


VISITS = {
    **POLICY,
    "drop_rules": [
        {"name": "unvisited-7", "kind": "no_follow_up", "days": 7, "follow_up_kinds": ["visit"]}
    ],
}


def test_the_customer_keeps_the_last_follow_up_of_each_kind(
    svc: PoolService, clock: ManualClock
) -> None:
    customer = owned(svc)
    visited = clock.advance(days=1)
    svc.follow_up("alice", customer.id, FollowUpKind.VISIT)
    called = clock.advance(days=1)
    svc.follow_up("alice", customer.id, FollowUpKind.CALL)
    again = clock.advance(hours=1)
    followed = svc.follow_up("alice", customer.id, FollowUpKind.CALL)
    assert followed.last_follow_up_by_kind == {"visit": visited, "call": again}
    assert called != again and followed.last_follow_up_at == again
    consistent(svc, followed)  # replay rebuilds it


@pytest.mark.parametrize("offset, drops", [(-1, False), (0, True), (1, True)])
def test_a_call_does_not_reset_a_visit_rule(
    make_service: Callable[..., PoolService], clock: ManualClock, offset: int, drops: bool
) -> None:
    svc = make_service(VISITS, TEAM)
    customer = owned(svc)
    clock.advance(days=3)
    svc.follow_up("alice", customer.id, FollowUpKind.CALL)
    svc.follow_up("alice", customer.id, FollowUpKind.EMAIL)
    clock.advance(seconds=(NOW + timedelta(days=7, seconds=offset) - clock.now()).total_seconds())
    assert [item.customer_id for item in svc.sweep().dropped] == ([customer.id] if drops else [])


@pytest.mark.parametrize("offset, drops", [(-1, False), (0, True), (1, True)])
def test_a_visit_resets_a_visit_rule(
    make_service: Callable[..., PoolService], clock: ManualClock, offset: int, drops: bool
) -> None:
    svc = make_service(VISITS, TEAM)
    customer = owned(svc)
    visited = clock.advance(days=3)
    svc.follow_up("alice", customer.id, FollowUpKind.VISIT)
    clock.advance(days=4)
    assert not svc.sweep().changed  # day 7 since taken: the visit counts
    at = visited + timedelta(days=7, seconds=offset)
    clock.advance(seconds=(at - clock.now()).total_seconds())
    assert [item.customer_id for item in svc.sweep().dropped] == ([customer.id] if drops else [])


def test_a_rule_without_kinds_counts_every_follow_up(svc: PoolService, clock: ManualClock) -> None:
    customer = owned(svc)
    clock.advance(days=10)
    svc.follow_up("alice", customer.id, FollowUpKind.CALL)
    clock.advance(days=15, seconds=-1)
    assert not svc.sweep().dropped
    clock.advance(seconds=1)
    assert svc.sweep().dropped


def test_a_merge_keeps_the_later_follow_up_of_each_kind(
    svc: PoolService, clock: ManualClock
) -> None:
    keep, absorb = owned(svc), owned(svc, "bob")
    clock.advance(days=1)
    svc.follow_up("alice", keep.id, FollowUpKind.VISIT)
    called = clock.advance(days=1)
    svc.follow_up("bob", absorb.id, FollowUpKind.CALL)
    visited = clock.advance(days=1)
    svc.follow_up("bob", absorb.id, FollowUpKind.VISIT)
    merged = svc.merge("boss", keep.id, absorb.id)
    assert merged.last_follow_up_by_kind == {"visit": visited, "call": called}
    consistent(svc, merged)


def test_a_deal_is_a_follow_up_that_records_a_deal(svc: PoolService) -> None:
    dealt = svc.follow_up("alice", owned(svc).id, "deal")
    assert dealt.last_deal_at == NOW and dealt.last_follow_up_at == NOW


@pytest.mark.parametrize("actor", ["sup", "boss"])
def test_superiors_and_admins_follow_up(svc: PoolService, actor: str) -> None:
    assert svc.follow_up(actor, owned(svc).id).last_follow_up_at == NOW


def test_a_former_owner_follows_up_a_public_customer(svc: PoolService) -> None:
    customer = svc.return_to_pool("alice", owned(svc).id, "no budget")
    assert svc.follow_up("alice", customer.id, "email").last_follow_up_at == NOW


@pytest.mark.parametrize("actor", ["bob", "carol", "mgr", "sup2"])
def test_follow_up_by_others_is_refused(svc: PoolService, unchanged: Unchanged, actor: str) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(PermissionDenied) as refused:
        svc.follow_up(actor, customer.id)
    assert (refused.value.actor_id, refused.value.operation) == (actor, "follow up")


def test_follow_up_of_a_public_customer_by_a_pool_member_is_refused(
    svc: PoolService, unchanged: Unchanged
) -> None:
    customer = public(svc)
    with unchanged(svc.store), pytest.raises(PermissionDenied):
        svc.follow_up("bob", customer.id)


def test_follow_up_of_a_frozen_customer_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = frozen(svc)
    with unchanged(svc.store), pytest.raises(WrongStateError) as refused:
        svc.follow_up("boss", customer.id)
    assert refused.value.customer_id == customer.id


def test_follow_up_with_an_unknown_method_is_refused(
    svc: PoolService, unchanged: Unchanged
) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(InvalidValueError) as refused:
        svc.follow_up("alice", customer.id, "fax")
    assert refused.value.field == "method"


# ---------------------------------------------------------------- claim


def test_claim_takes_a_public_customer_into_the_private_pool(svc: PoolService) -> None:
    customer = public(svc)
    claimed = svc.claim("alice", customer.id)
    assert (claimed.status, claimed.owner_id, claimed.owned_since) == (
        CustomerStatus.PRIVATE,
        "alice",
        NOW,
    )
    assert claimed.public_since is None
    assert svc.history(customer.id)[-1].describe() == "claimed by alice from pool main"
    assert svc.public_pool("main") == [] and svc.private_pool("alice") == [claimed]
    consistent(svc, claimed)


def test_an_admin_claims_from_any_pool(svc: PoolService) -> None:
    assert svc.claim("boss", public(svc, "east").id).owner_id == "boss"


def test_claim_of_a_private_customer_names_the_owner(
    svc: PoolService, unchanged: Unchanged
) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(WrongStateError) as refused:
        svc.claim("bob", customer.id)
    assert refused.value.owner_id == "alice"
    assert "owned by alice" in str(refused.value)


def test_claim_of_a_frozen_customer_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = frozen(svc)
    with unchanged(svc.store), pytest.raises(WrongStateError) as refused:
        svc.claim("alice", customer.id)
    assert refused.value.owner_id is None


def test_claim_from_a_pool_the_rep_is_not_in_is_refused(
    svc: PoolService, unchanged: Unchanged
) -> None:
    customer = public(svc, "east")
    with unchanged(svc.store), pytest.raises(PermissionDenied) as refused:
        svc.claim("alice", customer.id)
    assert "east" in refused.value.reason


def test_claim_from_an_assign_only_pool_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = public(svc, "vip")
    with unchanged(svc.store), pytest.raises(PermissionDenied) as refused:
        svc.claim("alice", customer.id)
    assert "assign-only" in refused.value.reason


def test_claim_at_the_cap_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    for _ in range(3):
        owned(svc)
    customer = public(svc)
    with unchanged(svc.store), pytest.raises(CapExceeded) as refused:
        svc.claim("alice", customer.id)
    assert (refused.value.rep_id, refused.value.cap, refused.value.count) == ("alice", 3, 3)


def test_claim_beyond_the_claim_limit_says_when_the_next_is_possible(
    svc: PoolService, clock: ManualClock, unchanged: Unchanged
) -> None:
    svc.claim("alice", public(svc).id)
    clock.advance(hours=5)
    svc.claim("alice", public(svc).id)
    clock.advance(days=2)
    customer = public(svc)
    with unchanged(svc.store), pytest.raises(ClaimLimitExceeded) as refused:
        svc.claim("alice", customer.id)
    error = refused.value
    assert (error.rep_id, error.limit, error.window_days) == ("alice", 2, 7)
    assert error.next_claim_at == datetime(2026, 3, 9, 9, 0, tzinfo=SHANGHAI)
    # Assignments are the manager's decision and do not count as claims.
    assert svc.assign("mgr", customer.id, "alice").owner_id == "alice"


def test_claim_back_during_the_cooldown_says_when_it_ends(
    svc: PoolService, clock: ManualClock, unchanged: Unchanged
) -> None:
    customer = svc.return_to_pool("alice", owned(svc).id, "no budget")
    clock.advance(days=3)
    with unchanged(svc.store), pytest.raises(CooldownActive) as refused:
        svc.claim("alice", customer.id)
    error = refused.value
    assert (error.rep_id, error.customer_id) == ("alice", customer.id)
    assert error.ends_at == datetime(2026, 3, 12, 9, 0, tzinfo=SHANGHAI)


# ---------------------------------------------------------------- assign


def test_a_pool_manager_assigns_a_public_customer(svc: PoolService) -> None:
    customer = public(svc, "vip")
    assigned = svc.assign("mgr", customer.id, "bob")
    assert (assigned.owner_id, assigned.pool_id, assigned.owned_since) == ("bob", "vip", NOW)
    assert svc.history(customer.id)[-1].describe() == "assigned to bob from pool vip by mgr"
    consistent(svc, assigned)


def test_assign_by_a_member_who_is_not_a_manager_is_refused(
    svc: PoolService, unchanged: Unchanged
) -> None:
    customer = public(svc, "vip")
    with unchanged(svc.store), pytest.raises(PermissionDenied):
        svc.assign("alice", customer.id, "alice")


@pytest.mark.parametrize("to_rep, error", [("stranger", RepNotFound), ("gone", RepInactiveError)])
def test_assign_to_an_unknown_or_departed_rep_is_refused(
    svc: PoolService, unchanged: Unchanged, to_rep: str, error: type[PoolkitError]
) -> None:
    customer = public(svc, "vip")
    with unchanged(svc.store), pytest.raises(error):
        svc.assign("mgr", customer.id, to_rep)


def test_assign_to_a_rep_outside_the_pool_is_refused(
    svc: PoolService, unchanged: Unchanged
) -> None:
    customer = public(svc, "vip")
    with unchanged(svc.store), pytest.raises(PermissionDenied) as refused:
        svc.assign("mgr", customer.id, "carol")
    assert refused.value.target == "rep 'carol'"


def test_assign_to_a_rep_at_the_cap_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    for _ in range(3):
        owned(svc, "bob")
    customer = public(svc, "vip")
    with unchanged(svc.store), pytest.raises(CapExceeded) as refused:
        svc.assign("mgr", customer.id, "bob")
    assert (refused.value.rep_id, refused.value.cap, refused.value.count) == ("bob", 3, 3)


def test_assign_of_a_private_customer_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(WrongStateError) as refused:
        svc.assign("mgr", customer.id, "bob")
    assert refused.value.owner_id == "alice"


# ---------------------------------------------------------------- return_to_pool


def test_return_gives_the_customer_back_and_keeps_the_owner_related(
    svc: PoolService,
) -> None:
    customer = owned(svc, pool_id="east")
    returned = svc.return_to_pool("alice", customer.id, "  no budget this year ")
    assert (returned.status, returned.owner_id, returned.pool_id) == (
        CustomerStatus.PUBLIC,
        None,
        "east",
    )
    assert returned.related_reps == {"alice": NOW} and returned.public_since == NOW
    event = svc.history(customer.id)[-1]
    assert event.describe() == "returned to the public pool by alice: no budget this year"
    assert svc.public_pool("east") == [returned]
    consistent(svc, returned)


@pytest.mark.parametrize("reason", ["", "   "])
def test_return_without_a_reason_is_refused(
    svc: PoolService, unchanged: Unchanged, reason: str
) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(InvalidValueError) as refused:
        svc.return_to_pool("alice", customer.id, reason)
    assert refused.value.field == "reason"


@pytest.mark.parametrize("actor", ["bob", "sup", "mgr"])
def test_return_by_anyone_but_the_owner_is_refused(
    svc: PoolService, unchanged: Unchanged, actor: str
) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(PermissionDenied):
        svc.return_to_pool(actor, customer.id, "no budget")


def test_return_of_a_public_customer_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = public(svc)
    with unchanged(svc.store), pytest.raises(WrongStateError):
        svc.return_to_pool("alice", customer.id, "no budget")


# ---------------------------------------------------------------- recycle


@pytest.mark.parametrize("actor", ["mgr", "sup", "boss"])
def test_managers_superiors_and_admins_recycle(svc: PoolService, actor: str) -> None:
    customer = owned(svc)
    recycled = svc.recycle(actor, customer.id, "idle")
    assert recycled.is_public and recycled.related_reps == {"alice": NOW}
    assert svc.history(customer.id)[-1].describe() == f"recycled from alice by {actor}: idle"
    consistent(svc, recycled)


@pytest.mark.parametrize("actor", ["alice", "bob", "sup2"])
def test_recycle_by_the_owner_or_a_peer_is_refused(
    svc: PoolService, unchanged: Unchanged, actor: str
) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(PermissionDenied):
        svc.recycle(actor, customer.id)


def test_recycle_of_a_public_customer_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = public(svc)
    with unchanged(svc.store), pytest.raises(WrongStateError):
        svc.recycle("mgr", customer.id)


# ---------------------------------------------------------------- transfer


def test_transfer_hands_the_customer_to_a_colleague(svc: PoolService, clock: ManualClock) -> None:
    customer = owned(svc)
    later = clock.advance(days=2)
    moved = svc.transfer("alice", customer.id, "carol")
    assert (moved.owner_id, moved.owned_since) == ("carol", later)
    assert moved.related_reps == {"alice": later}
    assert svc.history(customer.id)[-1].describe() == "transferred from alice to carol"
    assert svc.private_pool("alice") == [] and svc.private_pool("carol") == [moved]
    consistent(svc, moved)


@pytest.mark.parametrize("actor", ["bob", "sup", "boss"])
def test_transfer_by_anyone_but_the_owner_is_refused(
    svc: PoolService, unchanged: Unchanged, actor: str
) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(PermissionDenied):
        svc.transfer(actor, customer.id, "carol")


@pytest.mark.parametrize(
    "to_rep, error",
    [("stranger", RepNotFound), ("gone", RepInactiveError), ("alice", InvalidValueError)],
)
def test_transfer_to_an_unknown_departed_or_same_rep_is_refused(
    svc: PoolService, unchanged: Unchanged, to_rep: str, error: type[PoolkitError]
) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(error):
        svc.transfer("alice", customer.id, to_rep)


def test_transfer_to_a_rep_at_the_cap_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    for _ in range(3):
        owned(svc, "bob")
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(CapExceeded) as refused:
        svc.transfer("alice", customer.id, "bob")
    assert (refused.value.rep_id, refused.value.cap, refused.value.count) == ("bob", 3, 3)


def test_transfer_of_a_public_customer_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = public(svc)
    with unchanged(svc.store), pytest.raises(WrongStateError):
        svc.transfer("alice", customer.id, "bob")


# ---------------------------------------------------------------- reassign


def test_a_supervisor_reassigns_between_subordinates(svc: PoolService) -> None:
    customer = owned(svc)
    moved = svc.reassign("sup", customer.id, "bob", "team contest")
    assert moved.owner_id == "bob" and moved.related_reps == {"alice": NOW}
    assert (
        svc.history(customer.id)[-1].describe()
        == "reassigned from alice to bob by sup: team contest"
    )
    consistent(svc, moved)


def test_a_supervisor_reassigns_to_themselves(svc: PoolService) -> None:
    assert svc.reassign("sup", owned(svc).id, "sup").owner_id == "sup"


def test_an_admin_reassigns_across_teams(svc: PoolService) -> None:
    assert svc.reassign("boss", owned(svc).id, "carol").owner_id == "carol"


@pytest.mark.parametrize(
    "actor, to_rep",
    [
        ("alice", "bob"),  # the owner
        ("bob", "bob"),  # a peer
        ("sup2", "carol"),  # another team's supervisor
        ("sup", "carol"),  # carol is not below sup
        ("mgr", "bob"),  # managing a pool gives no say over private customers
    ],
)
def test_reassign_without_being_above_both_reps_is_refused(
    svc: PoolService, unchanged: Unchanged, actor: str, to_rep: str
) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(PermissionDenied) as refused:
        svc.reassign(actor, customer.id, to_rep)
    assert refused.value.operation == "reassign"


@pytest.mark.parametrize(
    "to_rep, error",
    [("stranger", RepNotFound), ("gone", RepInactiveError), ("alice", InvalidValueError)],
)
def test_reassign_to_an_unknown_departed_or_same_rep_is_refused(
    svc: PoolService, unchanged: Unchanged, to_rep: str, error: type[PoolkitError]
) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(error):
        svc.reassign("sup", customer.id, to_rep)


def test_reassign_to_a_rep_at_the_cap_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    for _ in range(3):
        owned(svc, "bob")
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(CapExceeded) as refused:
        svc.reassign("sup", customer.id, "bob")
    assert (refused.value.rep_id, refused.value.cap, refused.value.count) == ("bob", 3, 3)


def test_reassign_of_a_public_customer_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = public(svc)
    with unchanged(svc.store), pytest.raises(WrongStateError):
        svc.reassign("sup", customer.id, "bob")


# ---------------------------------------------------------------- change_pool


@pytest.mark.parametrize("actor", ["mgr", "boss"])
def test_change_pool_moves_a_public_customer(svc: PoolService, actor: str) -> None:
    customer = public(svc)
    moved = svc.change_pool(actor, customer.id, "east")
    assert moved.pool_id == "east" and moved.is_public
    assert svc.history(customer.id)[-1].describe() == "moved from pool main to pool east"
    assert svc.public_pool("main") == [] and svc.public_pool("east") == [moved]
    consistent(svc, moved)


def test_change_pool_by_a_member_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = public(svc)
    with unchanged(svc.store), pytest.raises(PermissionDenied):
        svc.change_pool("alice", customer.id, "east")


def test_change_pool_to_an_unknown_pool_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = public(svc)
    with unchanged(svc.store), pytest.raises(PoolNotFound):
        svc.change_pool("mgr", customer.id, "atlantis")


def test_change_pool_to_the_same_pool_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = public(svc)
    with unchanged(svc.store), pytest.raises(InvalidValueError) as refused:
        svc.change_pool("mgr", customer.id, "main")
    assert refused.value.field == "to_pool_id"


@pytest.mark.parametrize("make", [owned, frozen])
def test_change_pool_of_a_private_or_frozen_customer_is_refused(
    svc: PoolService, unchanged: Unchanged, make: Callable[[PoolService], Customer]
) -> None:
    customer = make(svc)
    with unchanged(svc.store), pytest.raises(WrongStateError):
        svc.change_pool("mgr", customer.id, "east")


# ---------------------------------------------------------------- freeze


def test_a_pool_manager_freezes_a_public_customer(svc: PoolService) -> None:
    customer = public(svc)
    done = svc.freeze("mgr", customer.id, "one-year contract")
    assert done.status is CustomerStatus.FROZEN and done.pool_id == "main"
    assert svc.recycle_bin() == [done] and svc.public_pool("main") == []
    consistent(svc, done)


def test_a_supervisor_freezes_a_private_customer_and_the_owner_stays_related(
    svc: PoolService,
) -> None:
    customer = owned(svc)
    done = svc.freeze("sup", customer.id)
    assert done.is_frozen and done.owner_id is None and done.related_reps == {"alice": NOW}
    assert svc.private_pool("alice") == []
    consistent(svc, done)


@pytest.mark.parametrize("actor", ["alice", "bob", "carol"])
def test_freeze_by_the_owner_or_a_member_is_refused(
    svc: PoolService, unchanged: Unchanged, actor: str
) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(PermissionDenied):
        svc.freeze(actor, customer.id)


def test_freeze_of_a_frozen_customer_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = frozen(svc)
    with unchanged(svc.store), pytest.raises(WrongStateError):
        svc.freeze("mgr", customer.id)


# ---------------------------------------------------------------- restore


def test_an_admin_restores_into_the_customers_own_pool(
    svc: PoolService, clock: ManualClock
) -> None:
    customer = frozen(svc)
    later = clock.advance(days=1)
    back = svc.restore("boss", customer.id)
    assert back.is_public and back.pool_id == "main" and back.public_since == later
    assert svc.recycle_bin() == [] and svc.public_pool("main") == [back]
    consistent(svc, back)


def test_a_pool_manager_restores_into_another_pool(svc: PoolService) -> None:
    back = svc.restore("mgr", frozen(svc).id, "east")
    assert back.pool_id == "east"
    assert svc.history(back.id)[-1].describe() == "restored from the recycle bin into pool east"


def test_restore_by_a_member_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = frozen(svc)
    with unchanged(svc.store), pytest.raises(PermissionDenied):
        svc.restore("alice", customer.id)


def test_restore_into_an_unknown_pool_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = frozen(svc)
    with unchanged(svc.store), pytest.raises(PoolNotFound):
        svc.restore("boss", customer.id, "atlantis")


@pytest.mark.parametrize("make", [owned, public])
def test_restore_of_a_customer_not_in_the_bin_is_refused(
    svc: PoolService, unchanged: Unchanged, make: Callable[[PoolService], Customer]
) -> None:
    customer = make(svc)
    with unchanged(svc.store), pytest.raises(WrongStateError):
        svc.restore("boss", customer.id)


# ---------------------------------------------------------------- delete


def test_an_admin_deletes_for_good_and_the_history_stays(svc: PoolService) -> None:
    customer = owned(svc)
    svc.delete("boss", customer.id, "test data")
    with pytest.raises(CustomerNotFound):
        svc.customer(customer.id)
    assert kinds(svc, customer.id) == ["created", "deleted"]
    assert svc.private_pool("alice") == [] and svc.visible_to("boss") == []


@pytest.mark.parametrize("actor", ["alice", "sup", "mgr"])
def test_delete_by_anyone_but_an_admin_is_refused(
    svc: PoolService, unchanged: Unchanged, actor: str
) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(PermissionDenied):
        svc.delete(actor, customer.id)


def test_delete_twice_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = owned(svc)
    svc.delete("boss", customer.id)
    with unchanged(svc.store), pytest.raises(CustomerNotFound):
        svc.delete("boss", customer.id)


# ---------------------------------------------------------------- lock / unlock


def test_a_locked_customer_does_not_drop_until_unlocked(
    svc: PoolService, clock: ManualClock
) -> None:
    customer = owned(svc)
    locked = svc.lock("mgr", customer.id)
    assert (
        locked.locked and svc.history(customer.id)[-1].describe() == "locked against drops by mgr"
    )
    consistent(svc, locked)
    clock.advance(days=30)
    assert not svc.sweep().changed
    unlocked = svc.unlock("sup", customer.id)
    assert not unlocked.locked
    assert [item.customer_id for item in svc.sweep().dropped] == [customer.id]


def test_lock_of_a_locked_customer_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = svc.lock("mgr", owned(svc).id)
    with unchanged(svc.store), pytest.raises(WrongStateError):
        svc.lock("mgr", customer.id)


def test_unlock_of_an_unlocked_customer_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(WrongStateError):
        svc.unlock("mgr", customer.id)


@pytest.mark.parametrize("actor", ["alice", "bob"])
def test_lock_by_the_owner_or_a_peer_is_refused(
    svc: PoolService, unchanged: Unchanged, actor: str
) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(PermissionDenied):
        svc.lock(actor, customer.id)


def test_lock_of_a_frozen_customer_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = frozen(svc)
    with unchanged(svc.store), pytest.raises(WrongStateError):
        svc.lock("mgr", customer.id)


def lock_capped(make_service: Callable[..., PoolService], **caps: Any) -> PoolService:
    return make_service({**POLICY, "caps": {"default": 10, **caps}}, TEAM)


def test_lock_beyond_the_lock_cap_is_refused_with_the_count_and_cap(
    make_service: Callable[..., PoolService], unchanged: Unchanged
) -> None:
    svc = lock_capped(make_service, max_locked=2)
    first, second, third = owned(svc), owned(svc), owned(svc)
    svc.lock("mgr", first.id)
    svc.lock("sup", second.id)
    with unchanged(svc.store), pytest.raises(LockCapExceeded) as caught:
        svc.lock("mgr", third.id)
    assert (caught.value.rep_id, caught.value.cap, caught.value.count) == ("alice", 2, 2)
    assert "2 customers locked of a lock cap of 2" in str(caught.value)
    # Another rep's locks are counted apart, and unlocking makes room again.
    svc.lock("mgr", owned(svc, "bob").id)
    svc.unlock("mgr", first.id)
    assert svc.lock("mgr", third.id).locked


def test_a_per_rep_lock_cap_overrides_the_default(
    make_service: Callable[..., PoolService], unchanged: Unchanged
) -> None:
    svc = lock_capped(make_service, max_locked=1, locked_per_rep={"alice": 0, "bob": 2})
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(LockCapExceeded) as caught:
        svc.lock("mgr", customer.id)
    assert (caught.value.cap, caught.value.count) == (0, 0)
    svc.lock("mgr", owned(svc, "bob").id)
    svc.lock("mgr", owned(svc, "bob").id)
    with pytest.raises(LockCapExceeded):
        svc.lock("mgr", owned(svc, "bob").id)
    svc.lock("mgr", owned(svc, "carol").id)  # carol has the default, 1
    with pytest.raises(LockCapExceeded):
        svc.lock("mgr", owned(svc, "carol").id)


def test_a_locked_customer_changing_hands_must_fit_the_receivers_lock_cap(
    make_service: Callable[..., PoolService], unchanged: Unchanged
) -> None:
    svc = lock_capped(make_service, locked_per_rep={"bob": 1})
    svc.lock("mgr", owned(svc, "bob").id)
    customer = svc.lock("mgr", owned(svc).id)
    with unchanged(svc.store), pytest.raises(LockCapExceeded):
        svc.transfer("alice", customer.id, "bob")
    with unchanged(svc.store), pytest.raises(LockCapExceeded):
        svc.reassign("sup", customer.id, "bob")
    assert svc.transfer("alice", customer.id, "carol").owner_id == "carol"


def test_without_a_lock_cap_locks_are_unlimited(svc: PoolService) -> None:
    assert all(svc.lock("mgr", owned(svc).id).locked for _ in range(3))


# ---------------------------------------------------------------- change_grade


def test_the_owner_changes_the_grade(svc: PoolService) -> None:
    customer = owned(svc, grade="C")
    regraded = svc.change_grade("alice", customer.id, "B")
    assert regraded.grade == "B"
    assert svc.history(customer.id)[-1].describe() == "grade C -> B"
    assert svc.change_grade("alice", customer.id, None).grade is None
    consistent(svc, svc.customer(customer.id))


def test_a_pool_manager_grades_a_public_customer(svc: PoolService) -> None:
    assert svc.change_grade("mgr", public(svc).id, "E").grade == "E"


@pytest.mark.parametrize("grade", ["C", "  "])
def test_change_to_the_same_or_a_blank_grade_is_refused(
    svc: PoolService, unchanged: Unchanged, grade: str
) -> None:
    customer = owned(svc, grade="C")
    with unchanged(svc.store), pytest.raises(InvalidValueError) as refused:
        svc.change_grade("alice", customer.id, grade)
    assert refused.value.field == "grade"


def test_change_grade_by_a_peer_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(PermissionDenied):
        svc.change_grade("bob", customer.id, "A")


def test_change_grade_of_a_frozen_customer_is_refused(
    svc: PoolService, unchanged: Unchanged
) -> None:
    customer = frozen(svc)
    with unchanged(svc.store), pytest.raises(WrongStateError):
        svc.change_grade("boss", customer.id, "A")


# ---------------------------------------------------------------- edit


def test_the_owner_edits_the_details(svc: PoolService) -> None:
    customer = owned(svc, keys={"phone": "+8613800138000"}, tags={"fair"})
    edited = svc.edit(
        "alice",
        customer.id,
        name="Acme Trading",
        keys={"phone": "+8613800138000", "email": "buyer@acme.cn"},
        attributes={"region": "east"},
    )
    assert edited.name == "Acme Trading" and edited.tags == {"fair"}
    assert {str(key) for key in edited.keys} == {"phone:+8613800138000", "email:buyer@acme.cn"}
    assert edited.attributes == {"region": "east"}
    assert svc.history(customer.id)[-1].describe() == "details edited by alice"
    consistent(svc, edited)


def test_a_pool_manager_edits_a_public_customer(svc: PoolService) -> None:
    assert svc.edit("mgr", public(svc).id, tags={"cold"}).tags == {"cold"}


def test_edit_by_a_peer_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(PermissionDenied):
        svc.edit("bob", customer.id, name="Mine now")


def test_edit_of_a_frozen_customer_is_refused(svc: PoolService, unchanged: Unchanged) -> None:
    customer = frozen(svc)
    with unchanged(svc.store), pytest.raises(WrongStateError):
        svc.edit("boss", customer.id, name="Thawed")


def test_edit_adding_another_customers_key_is_refused(
    svc: PoolService, unchanged: Unchanged
) -> None:
    other = owned(svc, "bob", keys={"uscc": "91310000MA1FL8TQ36"})
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(CollisionError) as refused:
        svc.edit("alice", customer.id, keys={"uscc": "91310000MA1FL8TQ36"})
    assert (refused.value.customer_id, refused.value.owner_id) == (other.id, "bob")


@pytest.mark.parametrize(
    "change, field",
    [({"name": ""}, "name"), ({"attributes": {"size": None}}, "attributes.size")],
)
def test_edit_with_bad_details_is_refused(
    svc: PoolService, unchanged: Unchanged, change: dict[str, object], field: str
) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(InvalidValueError) as refused:
        svc.edit("alice", customer.id, **change)  # type: ignore[arg-type]
    assert refused.value.field == field


# ---------------------------------------------------------------- depart


def test_departure_drops_every_customer_of_the_rep(svc: PoolService) -> None:
    homes = {owned(svc).id: "main", owned(svc, pool_id="east").id: "east"}
    others = [owned(svc, "bob").id, public(svc).id]
    report = svc.depart("boss", "alice")
    assert report.rep_id == "alice" and sorted(report.dropped) == sorted(homes)
    for customer_id, home in homes.items():
        customer = svc.customer(customer_id)
        assert customer.is_public and customer.pool_id == home
        assert customer.related_reps == {"alice": NOW}
        event = svc.history(customer_id)[-1]
        assert event.describe() == "dropped from alice: owner alice departed"
        consistent(svc, customer)
    assert [svc.customer(cid).version for cid in others] == [1, 1]
    assert not next(rep for rep in svc.reps() if rep.id == "alice").active
    with pytest.raises(RepInactiveError):
        svc.create("alice", "After hours")


@pytest.mark.parametrize(
    "actor, leaver, error",
    [
        ("sup", "alice", PermissionDenied),  # only admins register departures
        ("boss", "stranger", RepNotFound),
        ("boss", "boss", InvalidValueError),  # not their own
        ("boss", "gone", InvalidValueError),  # already departed
        ("stranger", "alice", RepNotFound),
        ("gone", "alice", RepInactiveError),
    ],
)
def test_departure_refusals(
    svc: PoolService,
    unchanged: Unchanged,
    actor: str,
    leaver: str,
    error: type[PoolkitError],
) -> None:
    owned(svc)
    with unchanged(svc.store), pytest.raises(error):
        svc.depart(actor, leaver)


def test_marking_a_rep_inactive_while_they_own_customers_is_refused(
    svc: PoolService, unchanged: Unchanged
) -> None:
    # Otherwise the customers would be stranded with an owner who cannot work them, and
    # depart() would refuse the rep as already departed.
    owned(svc)
    with unchanged(svc.store), pytest.raises(InvalidValueError) as refused:
        svc.update_rep(Rep("alice", supervisor_id="sup", active=False))
    assert refused.value.field == "active" and "depart()" in refused.value.message
    with unchanged(svc.store), pytest.raises(InvalidValueError):
        svc.setup(Team([Rep("alice", active=False)], []))
    assert svc.depart("boss", "alice").dropped


def test_a_rep_who_owns_nothing_may_be_marked_inactive(svc: PoolService) -> None:
    svc.update_rep(Rep("bob", supervisor_id="sup", active=False))
    with pytest.raises(RepInactiveError):
        svc.create("bob", "Acme")


# ---------------------------------------------------------------- queries


@pytest.mark.parametrize("actor", ["alice", "sup", "boss"])
def test_customer_is_shown_to_those_who_may_see_it(svc: PoolService, actor: str) -> None:
    customer = owned(svc)
    assert svc.customer(customer.id, actor_id=actor) == customer


@pytest.mark.parametrize("actor", ["bob", "carol", "sup2", "mgr"])
def test_customer_is_hidden_from_the_rest(
    svc: PoolService, unchanged: Unchanged, actor: str
) -> None:
    customer = owned(svc)
    with unchanged(svc.store), pytest.raises(PermissionDenied):
        svc.customer(customer.id, actor_id=actor)
    with pytest.raises(PermissionDenied):
        svc.history(customer.id, actor_id=actor)


def test_customer_and_history_of_unknown_ids_are_refused(svc: PoolService) -> None:
    customer = owned(svc)
    with pytest.raises(CustomerNotFound):
        svc.customer("no-such-customer")
    with pytest.raises(CustomerNotFound):
        svc.history("no-such-customer")
    with pytest.raises(RepNotFound):
        svc.customer(customer.id, actor_id="stranger")
    with pytest.raises(RepNotFound):
        svc.history(customer.id, actor_id="stranger")


def test_history_lists_every_event_in_order(svc: PoolService, clock: ManualClock) -> None:
    customer = owned(svc)
    clock.advance(hours=1)
    svc.follow_up("alice", customer.id)
    clock.advance(hours=1)
    svc.return_to_pool("alice", customer.id, "no budget")
    events = svc.history(customer.id, actor_id="alice")
    assert [(e.seq, e.kind, e.actor_id) for e in events] == [
        (1, "created", "alice"),
        (2, "followed_up", "alice"),
        (3, "returned", "alice"),
    ]
    assert [e.at for e in events] == [NOW, NOW + timedelta(hours=1), NOW + timedelta(hours=2)]


def test_history_of_a_deleted_customer_is_for_admins_only(svc: PoolService) -> None:
    customer = owned(svc)
    svc.delete("boss", customer.id)
    assert kinds(svc, customer.id) == ["created", "deleted"]
    assert len(svc.history(customer.id, actor_id="boss")) == 2
    with pytest.raises(PermissionDenied):
        svc.history(customer.id, actor_id="alice")


def test_private_pool_lists_what_the_rep_owns(svc: PoolService) -> None:
    mine = [owned(svc), owned(svc)]
    owned(svc, "bob")
    public(svc)
    assert svc.private_pool("alice") == sorted(mine, key=lambda c: c.id)
    assert svc.private_pool("carol") == []
    with pytest.raises(RepNotFound):
        svc.private_pool("stranger")


def test_public_pool_filters(svc: PoolService, clock: ManualClock) -> None:
    early = public(svc, grade="B", tags={"fair"}, attributes={"region": "north"})
    clock.advance(days=1)
    late = public(svc, grade="C", tags={"fair", "web"}, attributes={"region": "south"})
    public(svc, "east", grade="B")
    owned(svc, grade="B")
    assert {c.id for c in svc.public_pool("main")} == {early.id, late.id}
    assert svc.public_pool("main", grades=["B"]) == [early]
    assert svc.public_pool("main", grades=[]) == []
    assert svc.public_pool("main", tags=["web"]) == [late]
    assert svc.public_pool("main", attributes={"region": "north"}) == [early]
    assert svc.public_pool("main", dropped_since=NOW + timedelta(hours=1)) == [late]
    assert len(svc.public_pool("main", limit=1)) == 1


def test_public_pool_refusals(svc: PoolService) -> None:
    with pytest.raises(PoolNotFound):
        svc.public_pool("atlantis")
    with pytest.raises(NaiveDatetimeError) as refused:
        svc.public_pool("main", dropped_since=datetime(2026, 3, 1))
    assert refused.value.field == "dropped_since"


def test_the_default_pool_is_everyones_without_listing_them(svc: PoolService) -> None:
    """Every rep of the team is a member of the default pool, listed or not; a rep added to
    the team joins it at once; a departed rep does not; other pools stay as listed."""
    in_main, in_vip = public(svc), public(svc, "vip")
    pools = {pool.id: pool for pool in svc.pools()}
    assert "sup2" not in pools["main"].members | pools["main"].managers
    assert pools["main"].can_see("sup2") and not pools["vip"].can_see("sup2")
    assert in_main.id in {c.id for c in svc.visible_to("sup2")}
    assert svc.customer(in_main.id, actor_id="sup2") == in_main
    with pytest.raises(PermissionDenied):
        svc.customer(in_vip.id, actor_id="sup2")
    svc.add_rep(Rep(id="newbie", supervisor_id="sup2"))
    assert svc.claim("newbie", in_main.id).owner_id == "newbie"
    with pytest.raises(PermissionDenied):
        svc.claim("newbie", public(svc, "east").id)
    another = public(svc)
    assert svc.assign("mgr", another.id, "sup2").owner_id == "sup2"
    created = svc.create("newbie", "Walk-in", pool_id="main", public=True)
    assert created.is_public
    with pytest.raises(RepInactiveError):
        svc.claim("gone", public(svc).id)


def test_admins_manage_the_default_pool_without_being_listed(svc: PoolService) -> None:
    customer = public(svc)
    assert "boss" not in {pool.id: pool for pool in svc.pools()}["main"].managers
    assert svc.assign("boss", customer.id, "alice").owner_id == "alice"
    restored = svc.restore("boss", svc.freeze("boss", public(svc).id).id)
    assert restored.pool_id == "main" and restored.is_public


def _entered_by_alice_claimed_by_carol(svc: PoolService) -> Customer:
    entered = svc.create("alice", f"Customer {next(_names)}", pool_id="main", public=True)
    assert entered.creator_id == "alice"
    return svc.claim("carol", entered.id)


def test_the_creator_sees_a_customer_a_colleague_claimed(svc: PoolService) -> None:
    claimed = _entered_by_alice_claimed_by_carol(svc)
    assert claimed.id in {c.id for c in svc.visible_to("alice")}
    assert svc.customer(claimed.id, actor_id="alice") == claimed
    assert svc.history(claimed.id, actor_id="alice")[-1].kind == "claimed"
    assert claimed.id not in {c.id for c in svc.visible_to("bob")}  # not the creator


def test_creator_visibility_is_a_policy_choice(
    make_service: Callable[..., PoolService], unchanged: Unchanged
) -> None:
    svc = make_service({**POLICY, "visibility": {"creator_sees": False}}, TEAM)
    claimed = _entered_by_alice_claimed_by_carol(svc)
    assert claimed.id not in {c.id for c in svc.visible_to("alice")}
    with unchanged(svc.store), pytest.raises(PermissionDenied):
        svc.customer(claimed.id, actor_id="alice")
    with pytest.raises(PermissionDenied):
        svc.history(claimed.id, actor_id="alice")
    assert svc.customers_of("alice", Scope.CREATED) == []


def test_each_scope_lists_its_customers(svc: PoolService) -> None:
    mine = owned(svc)
    claimed = _entered_by_alice_claimed_by_carol(svc)
    related = svc.transfer("alice", owned(svc).id, "bob")  # alice entered and owned it
    colleagues = owned(svc, "bob")
    former = svc.claim("alice", public(svc).id)
    svc.return_to_pool("alice", former.id, "no budget")

    def ids(scope: Scope = Scope.ALL) -> list[str]:
        return [c.id for c in svc.customers_of("alice", scope)]

    assert ids(Scope.MINE) == [mine.id]
    assert ids(Scope.RELATED) == sorted([related.id, former.id])
    assert ids(Scope.CREATED) == sorted([mine.id, claimed.id, related.id])
    assert ids(Scope.MINE | Scope.RELATED) == sorted([mine.id, related.id, former.id])
    everything = sorted([mine.id, claimed.id, related.id, former.id])
    assert ids() == ids(Scope.MINE | Scope.RELATED | Scope.CREATED) == everything
    assert colleagues.id not in ids()
    assert [c.id for c in svc.customers_of("bob", Scope.MINE)] == sorted(
        [related.id, colleagues.id]
    )
    with pytest.raises(RepInactiveError):
        svc.customers_of("gone")
    with pytest.raises(RepNotFound):
        svc.customers_of("stranger")
    # Every public operation checks its arguments first (poolkit.service._arguments).
    with pytest.raises(InvalidValueError, match="scope"):
        svc.customers_of("alice", "mine")  # type: ignore[arg-type]


def test_recycle_bin_lists_frozen_customers_only(svc: PoolService) -> None:
    first, second = frozen(svc), svc.freeze("sup", owned(svc).id)
    public(svc)
    owned(svc)
    assert svc.recycle_bin() == sorted([first, second], key=lambda c: c.id)


def test_visible_to_follows_ownership_org_tree_pools_and_history(svc: PoolService) -> None:
    alices = owned(svc)
    bobs = owned(svc, "bob")
    returned = svc.return_to_pool("alice", owned(svc, pool_id="east").id, "no budget")
    in_main, in_vip, in_east = public(svc), public(svc, "vip"), public(svc, "east")
    binned = frozen(svc)

    def ids(rep: str) -> set[str]:
        return {c.id for c in svc.visible_to(rep)}

    assert ids("alice") == {alices.id, returned.id, in_main.id, in_vip.id}
    assert ids("bob") == {bobs.id, in_main.id, in_vip.id}
    # main is the default pool, everyone's: sup and sup2 see it without being listed.
    assert ids("sup") == {alices.id, bobs.id, in_main.id}
    assert ids("carol") == {in_main.id, returned.id, in_east.id}
    assert ids("sup2") == {in_main.id}
    assert ids("mgr") == {returned.id, in_main.id, in_vip.id, in_east.id, binned.id}
    assert ids("boss") == {c.id for c in (alices, bobs, returned, in_main, in_vip, in_east, binned)}
    with pytest.raises(RepNotFound):
        svc.visible_to("stranger")
