"""Pages for screens, can_see, and masked identity keys (visibility.mask_keys)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import pytest

from poolkit import (
    Customer,
    CustomerOrder,
    ManualClock,
    OrgTree,
    Page,
    Policy,
    Pool,
    PoolService,
    Team,
)
from poolkit.errors import (
    CollisionError,
    ConfigError,
    CustomerNotFound,
    InvalidCursorError,
    InvalidValueError,
    PermissionDenied,
    RepInactiveError,
)
from poolkit.events import Created
from poolkit.identity import mask_value
from poolkit.ports import Store
from poolkit.service import rights

# boss (admin)
# ├── sup ── alice, bob, gone (departed)
# ├── sup2 ── carol, dave
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
        {"id": "dave", "supervisor": "sup2"},
        {"id": "mgr", "supervisor": "boss"},
    ],
    "pools": [
        {"id": "main", "default": True, "members": ["alice", "bob", "carol"], "managers": ["mgr"]},
        {"id": "east", "members": ["carol"], "managers": ["mgr"]},
    ],
}
POLICY: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "drop_rules": [{"name": "stale-15", "kind": "no_follow_up", "days": 15, "warn_days": 3}],
}
MASKED = {**POLICY, "visibility": {"mask_keys": True}}
Unchanged = Callable[[Store], AbstractContextManager[None]]
ACTORS = ["boss", "sup", "alice", "bob", "sup2", "carol", "dave", "mgr"]


@pytest.fixture
def svc(make_service: Callable[..., PoolService]) -> PoolService:
    return make_service(POLICY, TEAM)


@pytest.fixture
def masked_svc(make_service: Callable[..., PoolService]) -> PoolService:
    return make_service(MASKED, TEAM)


def town(svc: PoolService, clock: ManualClock) -> dict[str, Customer]:
    """Customers everywhere: private to alice (one entered by carol and transferred),
    public in main and east (one alice used to own), one in the recycle bin."""
    made: dict[str, Customer] = {}
    for n, name in enumerate(["Zeta", "alpha", "Beta", "张三", "Ä", "beta", "Mu", "李四", "a"]):
        clock.advance(timedelta(minutes=1))
        phone = f"+86138001380{n:02d}"
        if n < 3:
            made[name] = svc.create("alice", name, keys={"phone": phone})
        elif n < 7:
            made[name] = svc.create(
                "boss",
                name,
                pool_id="east" if name == "beta" else "main",
                public=True,
                keys={"phone": phone},
            )
        else:
            made[name] = svc.create("carol", name, keys={"phone": phone, "email": f"x{n}@a.cn"})
    clock.advance(timedelta(minutes=1))
    svc.transfer("carol", made["李四"].id, "alice")  # carol created it: related and creator
    svc.claim("alice", made["Mu"].id)
    svc.return_to_pool("alice", made["Mu"].id, "no budget")  # alice: related rep
    svc.freeze("mgr", made["a"].id)
    return {name: svc.customer(c.id) for name, c in made.items()}


def walk(read: Callable[..., Page[Any]], limit: int, **kwargs: Any) -> tuple[list[Any], int]:
    items: list[Any] = []
    cursor = None
    totals = set()
    while True:
        page = read(cursor=cursor, limit=limit, **kwargs)
        items.extend(page.items)
        totals.add(page.total)
        assert len(page.items) <= limit
        if page.next_cursor is None:
            assert len(totals) == 1
            return items, totals.pop()
        assert len(page.items) == limit
        cursor = page.next_cursor


# ---------------------------------------------------------------- pages


@pytest.mark.parametrize("rep", ACTORS)
def test_visible_pages_show_what_visible_to_lists(
    svc: PoolService, clock: ManualClock, rep: str
) -> None:
    town(svc, clock)
    listed = svc.visible_to(rep)
    for order in CustomerOrder:
        for descending in (False, True):
            items, total = walk(
                lambda **kw: svc.visible_page(rep, **kw), 2, order=order, descending=descending
            )
            assert sorted(c.id for c in items) == [c.id for c in listed]
            assert len(items) == total == len(listed)
            assert {c.id: c for c in items} == {c.id: c for c in listed}


def test_pages_are_sorted_by_name_by_code_point_then_id(
    svc: PoolService, clock: ManualClock
) -> None:
    town(svc, clock)
    items, _ = walk(lambda **kw: svc.visible_page("boss", **kw), 3, order=CustomerOrder.NAME)
    assert [c.name for c in items] == sorted(c.name for c in items)
    down, _ = walk(lambda **kw: svc.visible_page("boss", **kw), 3, order="name", descending=True)
    assert down == items[::-1]


def test_the_public_pool_sorts_by_entry_into_it(svc: PoolService, clock: ManualClock) -> None:
    made = town(svc, clock)
    items, total = walk(lambda **kw: svc.public_pool_page("main", **kw), 2)
    assert [c.id for c in items] == [made[n].id for n in ("张三", "Ä", "Mu")]
    assert total == 3
    assert [c.id for c in items] == [
        c.id for c in sorted(svc.public_pool("main"), key=lambda c: (c.public_since, c.id))
    ]
    # Mu came back last: it re-entered the pool when alice returned it.
    assert items[-1].public_since == max(c.public_since for c in items if c.public_since)


def test_the_private_pool_sorts_by_next_drop(svc: PoolService, clock: ManualClock) -> None:
    made = town(svc, clock)
    clock.advance(timedelta(days=1))
    svc.follow_up("alice", made["Zeta"].id)  # its drop moves last
    items, total = walk(
        lambda **kw: svc.private_pool_page("alice", **kw), 1, order=CustomerOrder.NEXT_DROP
    )
    assert [c.name for c in items] == ["alpha", "Beta", "李四", "Zeta"]
    assert total == 4
    assert {c.id for c in items} == {c.id for c in svc.private_pool("alice")}


def test_the_recycle_bin_page(svc: PoolService, clock: ManualClock) -> None:
    made = town(svc, clock)
    assert svc.recycle_bin_page().items == (made["a"],)
    assert svc.recycle_bin_page(actor_id="mgr").items == (made["a"],)
    assert svc.recycle_bin_page(actor_id="alice").items == ()  # manages no pool
    assert svc.recycle_bin_page(pool_id="east").total == 0
    uncounted = svc.recycle_bin_page(with_total=False)
    assert uncounted.items == (made["a"],) and uncounted.total is None
    with pytest.raises(PermissionDenied):
        svc.recycle_bin_page(pool_id="main", actor_id="alice")


def test_the_history_page(svc: PoolService, clock: ManualClock) -> None:
    made = town(svc, clock)
    events = svc.history(made["Mu"].id)
    items, total = walk(lambda **kw: svc.history_page(made["Mu"].id, **kw), 2)
    assert items == events and total == len(events) == 3
    newest, _ = walk(lambda **kw: svc.history_page(made["Mu"].id, **kw), 2, newest_first=True)
    assert newest == events[::-1]
    with pytest.raises(PermissionDenied):
        svc.history_page(made["alpha"].id, actor_id="dave")
    with pytest.raises(CustomerNotFound):
        svc.history_page("nobody")


def test_who_may_read_a_page(svc: PoolService, clock: ManualClock, unchanged: Unchanged) -> None:
    town(svc, clock)
    assert svc.private_pool_page("alice", actor_id="sup").total == 4
    assert svc.private_pool_page("alice", actor_id="boss").total == 4
    assert svc.public_pool_page("east", actor_id="carol").total == 1
    for refused in (
        lambda: svc.private_pool_page("alice", actor_id="bob"),
        lambda: svc.private_pool_page("alice", actor_id="sup2"),
        lambda: svc.public_pool_page("east", actor_id="alice"),
    ):
        with unchanged(svc.store), pytest.raises(PermissionDenied):
            refused()
    with pytest.raises(RepInactiveError):
        svc.visible_page("gone")
    with pytest.raises(RepInactiveError):
        svc.public_pool_page("main", actor_id="gone")


@pytest.mark.parametrize("limit", [0, -1, 1001])
def test_a_page_size_out_of_range_is_refused(svc: PoolService, limit: int) -> None:
    with pytest.raises(InvalidValueError) as refused:
        svc.visible_page("boss", limit=limit)
    assert refused.value.field == "limit"


def test_a_page_walks_a_filtered_pool(svc: PoolService, clock: ManualClock) -> None:
    made = town(svc, clock)
    svc.change_grade("mgr", made["Ä"].id, "B")
    page = svc.public_pool_page("main", grades=["B"])
    assert page.items == (svc.customer(made["Ä"].id),) and page.total == 1
    since = svc.customer(made["Mu"].id).public_since
    page = svc.public_pool_page("main", dropped_since=since)
    assert [c.id for c in page.items] == [made["Mu"].id]


# ---------------------------------------------------------------- cursors


def test_cursors_are_refused_when_altered_or_foreign(svc: PoolService, clock: ManualClock) -> None:
    town(svc, clock)
    cursor = svc.visible_page("boss", limit=2).next_cursor
    assert cursor is not None
    token, _, checksum = cursor.partition(".")
    body = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    forged = base64.urlsafe_b64encode(body.replace(b'"i":"', b'"i":"x')).decode().rstrip("=")
    for bad in (
        "",
        "garbage",
        cursor + "0",
        forged + "." + checksum,
        "!!!." + checksum,
    ):
        with pytest.raises(InvalidCursorError):
            svc.visible_page("boss", cursor=bad, limit=2)
    for foreign in (
        lambda: svc.visible_page("alice", cursor=cursor, limit=2),  # another rep's list
        lambda: svc.visible_page("boss", cursor=cursor, limit=2, order="entered"),
        lambda: svc.visible_page("boss", cursor=cursor, limit=2, descending=True),
        lambda: svc.public_pool_page("main", cursor=cursor),
        lambda: svc.history_page("c1", cursor=cursor),
    ):
        with pytest.raises(InvalidCursorError):
            foreign()
    assert isinstance(InvalidCursorError("x"), InvalidValueError)


def test_a_customer_that_stays_is_shown_once_while_others_move(
    svc: PoolService, clock: ManualClock
) -> None:
    made = town(svc, clock)
    first = svc.public_pool_page("main", limit=2)
    assert [c.name for c in first.items] == ["张三", "Ä"]
    svc.claim("bob", made["张三"].id)  # shown, then gone
    svc.claim("carol", made["Mu"].id)  # not shown yet, then gone
    late = svc.create("boss", "Late", pool_id="main", public=True)  # enters after the cursor
    svc.change_pool("mgr", made["beta"].id, "main")  # entered east after Ä: sorts after
    second = svc.public_pool_page("main", cursor=first.next_cursor, limit=10)
    assert [c.name for c in second.items] == ["beta", "Late"]
    assert second.total == 3  # Ä, beta, Late
    rest, total = walk(lambda **kw: svc.public_pool_page("main", **kw), 2)
    assert [c.id for c in rest] == [made["Ä"].id, made["beta"].id, late.id] and total == 3


# ---------------------------------------------------------------- can_see


def test_can_see_answers_as_may_see(svc: PoolService, clock: ManualClock) -> None:
    made = town(svc, clock)
    for rep in [*ACTORS, "gone"]:
        visible = {c.id for c in svc.visible_to(rep)} if rep != "gone" else set()
        for customer in made.values():
            assert svc.can_see(rep, customer.id) == (customer.id in visible), (rep, customer.name)
    with pytest.raises(CustomerNotFound):
        svc.can_see("alice", "nobody")


# ---------------------------------------------------------------- masked keys


def test_masking_rules() -> None:
    assert mask_value("phone", "13800138000") == "138****8000"
    assert mask_value("phone", "+8613800138000") == "+86138****8000"
    assert mask_value("phone", "+8613800138000;ext=12") == "+86138****8000"
    assert mask_value("phone", "12345") == "***45"
    assert mask_value("email", "jane.doe@example.com") == "j***@example.com"
    assert mask_value("name", "杭州西湖科技") == "杭*****"
    assert mask_value("name", "A") == "A*"
    assert mask_value("uscc", "91310000MA1FL1234X") == "9131**********234X"
    assert mask_value("org_code", "abc") == "***"


def _phone(customer: Customer) -> str:
    return next(iter(customer.keys_of("phone")))


# Who sees alice's private customer's keys whole: the owner, her superiors, admins; the
# related rep and the creator (carol, for 李四) see it masked; others do not see it.
@pytest.mark.parametrize(
    ("actor", "sees"),
    [
        ("alice", "whole"),  # the owner
        ("sup", "whole"),  # her superior
        ("boss", "whole"),  # an admin
        ("carol", "masked"),  # the creator, a related rep
        ("bob", None),  # another rep
        ("mgr", None),  # a pool manager: not of private customers
        ("dave", None),
    ],
)
def test_a_private_customer_keys_for_each_actor(
    masked_svc: PoolService, clock: ManualClock, actor: str, sees: str | None
) -> None:
    made = town(masked_svc, clock)
    stored = made["李四"]
    whole = _phone(stored)
    if sees is None:
        with pytest.raises(PermissionDenied):
            masked_svc.customer(stored.id, actor_id=actor)
        return
    shown = masked_svc.customer(stored.id, actor_id=actor)
    expected = whole if sees == "whole" else mask_value("phone", whole)
    assert _phone(shown) == expected
    assert shown.keys_of("email") == (stored.keys_of("email") if sees == "whole" else {"x***@a.cn"})
    assert {c.id: _phone(c) for c in masked_svc.visible_to(actor)}[stored.id] == expected
    on_page = {c.id: c for c in walk(lambda **kw: masked_svc.visible_page(actor, **kw), 3)[0]}
    assert _phone(on_page[stored.id]) == expected
    created = masked_svc.history(stored.id, actor_id=actor)[0]
    assert isinstance(created, Created)
    assert [key.value for key in created.keys if key.kind == "phone"] == [expected]
    assert masked_svc.customer(stored.id) == stored  # without an actor: the stored value


@pytest.mark.parametrize(
    ("actor", "sees"),
    [
        ("carol", "masked"),  # a member of the pool
        ("mgr", "masked"),  # the pool's manager
        ("boss", "whole"),  # an admin
        ("alice", None),  # not a member of this pool
        ("sup2", None),  # not even carol's superior sees a public customer
    ],
)
def test_a_public_customer_keys_for_each_actor(
    masked_svc: PoolService, clock: ManualClock, actor: str, sees: str | None
) -> None:
    made = town(masked_svc, clock)
    stored = made["beta"]  # in pool east
    whole = _phone(stored)
    if sees is None:
        assert not masked_svc.can_see(actor, stored.id)
        with pytest.raises(PermissionDenied):
            masked_svc.public_pool_page("east", actor_id=actor)
        return
    expected = whole if sees == "whole" else mask_value("phone", whole)
    page = masked_svc.public_pool_page("east", actor_id=actor)
    assert {c.id: _phone(c) for c in page.items}[stored.id] == expected
    listed = masked_svc.public_pool("east", actor_id=actor)
    assert {c.id: _phone(c) for c in listed}[stored.id] == expected
    assert _phone(masked_svc.customer(stored.id, actor_id=actor)) == expected
    assert masked_svc.public_pool("east") == [stored]  # without an actor: the stored value


def test_a_claimed_customer_is_whole_to_its_new_owner_only(
    masked_svc: PoolService, clock: ManualClock
) -> None:
    made = town(masked_svc, clock)
    mu = made["Mu"]  # in main; alice, a related rep, returned it
    whole = _phone(mu)
    assert _phone(masked_svc.customer(mu.id, actor_id="alice")) == mask_value("phone", whole)
    masked_svc.claim("bob", mu.id)
    assert _phone(masked_svc.customer(mu.id, actor_id="bob")) == whole
    assert _phone(masked_svc.customer(mu.id, actor_id="sup")) == whole  # bob's superior
    assert _phone(masked_svc.customer(mu.id, actor_id="alice")) == mask_value("phone", whole)


def test_keys_are_whole_for_everyone_by_default(svc: PoolService, clock: ManualClock) -> None:
    town(svc, clock)
    for rep in ACTORS:
        for customer in svc.visible_to(rep):
            assert customer == svc.customer(customer.id, actor_id=rep) == svc.customer(customer.id)


def test_a_collision_names_the_owner_but_masks_a_key_the_rep_may_not_see(
    masked_svc: PoolService, clock: ManualClock, unchanged: Unchanged
) -> None:
    made = town(masked_svc, clock)
    held = made["alpha"]  # alice's
    phone = _phone(held)
    with unchanged(masked_svc.store), pytest.raises(CollisionError) as refused:
        masked_svc.create("carol", "Copy", keys={"phone": phone})
    error = refused.value
    assert error.owner_id == "alice" and error.customer_id == held.id
    assert error.key_masked and error.key_value == mask_value("phone", phone)
    assert phone not in str(error) and "alice" in str(error)
    # Her superior and an admin see the key; the edit of another customer is checked too.
    for actor in ("sup", "boss"):
        with pytest.raises(CollisionError) as seen:
            masked_svc.create(actor, "Copy", keys={"phone": phone})
        assert seen.value.key_value == phone and not seen.value.key_masked
    mine = masked_svc.create("carol", "Mine")
    with pytest.raises(CollisionError) as edited:
        masked_svc.edit("carol", mine.id, keys={"phone": phone})
    assert edited.value.key_masked and phone not in str(edited.value)
    # A public customer's key is masked to a member creating a duplicate.
    public_phone = _phone(made["Mu"])
    with pytest.raises(CollisionError) as in_pool:
        masked_svc.create("bob", "Copy", keys={"phone": public_phone})
    assert in_pool.value.pool_id == "main" and public_phone not in str(in_pool.value)


def test_without_masking_the_collision_shows_the_key(svc: PoolService, clock: ManualClock) -> None:
    made = town(svc, clock)
    phone = _phone(made["alpha"])
    with pytest.raises(CollisionError) as refused:
        svc.create("carol", "Copy", keys={"phone": phone})
    assert refused.value.key_value == phone and not refused.value.key_masked


class _View:
    """The org tree as the rights read it (no pools needed for keys)."""

    def __init__(self) -> None:
        self.tree = OrgTree(Team.from_dict(TEAM).reps)

    def is_above(self, boss_id: str, rep_id: str) -> bool:
        return self.tree.is_above(boss_id, rep_id)

    def find_pool(self, pool_id: str) -> None:
        return None


def test_may_see_keys_is_the_owner_superiors_and_admins(
    svc: PoolService, clock: ManualClock
) -> None:
    made = town(svc, clock)
    view = _View()
    reps = Team.from_dict(TEAM).reps
    allowed = {rep.id for rep in reps if rights.may_see_keys(view, rep, made["alpha"])}
    assert allowed == {"alice", "sup", "boss"}
    assert {rep.id for rep in reps if rights.may_see_keys(view, rep, made["Mu"])} == {"boss"}


def test_mask_keys_is_a_checked_policy_key() -> None:
    assert not Policy().visibility.mask_keys
    policy = Policy.from_dict(MASKED)
    assert policy.visibility.mask_keys
    assert Policy.from_dict(policy.to_dict()) == policy
    assert Policy.from_dict(POLICY).fingerprint() != policy.fingerprint()
    assert "visibility" not in Policy.from_dict(POLICY).to_dict()
    with pytest.raises(ConfigError) as refused:
        Policy.from_dict({**POLICY, "visibility": {"mask_keys": "yes"}})
    assert "mask_keys" in str(refused.value)


def test_a_walk_of_a_reps_view_goes_on_when_the_team_changes(
    svc: PoolService, clock: ManualClock
) -> None:
    made = town(svc, clock)
    first = svc.visible_page("dave", limit=2)
    assert first.next_cursor is not None
    # dave joins pool east: its customer joins his view; his cursor still walks on.
    svc.update_pool(Pool(id="east", members={"carol", "dave"}, managers={"mgr"}))
    rest, _ = walk(lambda **kw: svc.visible_page("dave", **kw), 50)
    assert made["beta"].id in {c.id for c in rest}
    after = svc.visible_page("dave", cursor=first.next_cursor, limit=50)
    last = [c.id for c in rest].index(first.items[-1].id)
    assert after.items == tuple(rest[last + 1 :])  # beta sorts before the cursor: not shown
    assert after.total == len(rest) == first.total + 1
