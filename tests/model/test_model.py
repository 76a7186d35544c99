"""The domain values refuse to exist when invalid, and cannot be changed once they do."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings

from poolkit import (
    Customer,
    CustomerStatus,
    FollowUpKind,
    IdentityKey,
    OrgTree,
    Pool,
    PoolkitError,
    PoolMode,
    Rep,
    Team,
)
from poolkit.errors import ConfigError, InvalidValueError, NaiveDatetimeError, RepNotFound
from poolkit.events import apply, replay
from poolkit.model import history
from poolkit.model.events import (
    EVENT_TYPES,
    Claimed,
    Created,
    Deleted,
    Dropped,
    FollowedUp,
    Returned,
    Warned,
    event_payload,
)
from poolkit.testing.strategies import histories

AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
NAIVE = datetime(2026, 3, 2, 1, 0)


def refused(build: Callable[[], object]) -> PoolkitError:
    with pytest.raises(PoolkitError) as error:
        build()
    return error.value


def field_of(build: Callable[[], object]) -> str:
    error = refused(build)
    assert isinstance(error, InvalidValueError), error
    return error.field


# ---------------------------------------------------------------- Rep


def test_a_rep_with_defaults() -> None:
    rep = Rep("li")
    assert (rep.name, rep.supervisor_id, rep.is_admin, rep.active) == ("", None, False, True)
    assert (rep.cap, rep.claim_limit, rep.display) == (None, None, "li")
    assert Rep("li", name="Li Lei").display == "Li Lei"


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"id": ""}, "id"),
        ({"id": " li"}, "id"),
        ({"id": 7}, "id"),
        ({"supervisor_id": ""}, "supervisor_id"),
        ({"is_admin": "yes"}, "is_admin"),
        ({"active": 1}, "active"),
        ({"cap": -1}, "cap"),
        ({"cap": True}, "cap"),
        ({"cap": 2.5}, "cap"),
        ({"claim_limit": 2**63}, "claim_limit"),
        ({"claim_limit": -3}, "claim_limit"),
        ({"name": None}, "name"),
    ],
)
def test_a_bad_rep_is_refused(fields: dict[str, Any], field: str) -> None:
    assert field_of(lambda: Rep(**{"id": "li", **fields})) == field


def test_a_rep_cannot_supervise_themselves() -> None:
    assert field_of(lambda: Rep("li", supervisor_id="li")) == "supervisor_id"


def test_a_rep_cap_of_zero_is_allowed() -> None:
    assert Rep("li", cap=0).cap == 0


# ---------------------------------------------------------------- OrgTree


def test_the_org_tree_knows_who_is_above_whom() -> None:
    tree = OrgTree(
        [Rep("boss"), Rep("lead", supervisor_id="boss"), Rep("li", supervisor_id="lead")]
    )
    assert tree.superiors("li") == ["lead", "boss"]
    assert tree.is_above("boss", "li") and not tree.is_above("li", "boss")
    assert tree.subordinates("boss") == {"lead", "li"} and tree.subordinates("li") == set()
    with pytest.raises(RepNotFound):
        tree.superiors("stranger")


# ---------------------------------------------------------------- Pool


def test_a_pool_converts_its_mode_and_staff() -> None:
    pool = Pool("vip", mode="manager_assigns", managers=["m"], members=("a", "b"))
    assert pool.mode is PoolMode.MANAGER_ASSIGNS
    assert pool.managers == frozenset({"m"}) and pool.members == frozenset({"a", "b"})
    assert pool.can_see("m") and pool.can_see("a") and not pool.can_see("c")
    assert (pool.display, Pool("x", name="VIP").display) == ("vip", "VIP")


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"id": ""}, "id"),
        ({"mode": "first_come"}, "mode"),
        ({"members": ["alice", ""]}, "members"),
        ({"managers": [" m"]}, "managers"),
        ({"is_default": "true"}, "is_default"),
        ({"name": 3}, "name"),
    ],
)
def test_a_bad_pool_is_refused(fields: dict[str, Any], field: str) -> None:
    assert field_of(lambda: Pool(**{"id": "main", **fields})) == field


def test_pool_staff_given_as_one_string_is_refused() -> None:
    # A lone string would otherwise become a set of one-letter rep ids.
    with pytest.raises(InvalidValueError, match="got the string 'alice'"):
        Pool("main", members="alice")


# ---------------------------------------------------------------- IdentityKey


def test_identity_keys_are_exact_ordered_values() -> None:
    key = IdentityKey("phone", "+8613800138000")
    assert str(key) == "phone:+8613800138000"
    assert key == IdentityKey("phone", "+8613800138000")
    assert key != IdentityKey("phone", "13800138000")
    assert sorted([IdentityKey("uscc", "1"), key]) == [key, IdentityKey("uscc", "1")]


@pytest.mark.parametrize(
    "kind, value, field",
    [("", "1", "kind"), ("phone", "", "value"), ("phone", " 1", "value"), ("phone", 1, "value")],
)
def test_a_bad_identity_key_is_refused(kind: Any, value: Any, field: str) -> None:
    assert field_of(lambda: IdentityKey(kind, value)) == field


# ---------------------------------------------------------------- Customer


def customer(**fields: Any) -> Customer:
    return Customer(**{"id": "c1", "name": "Acme", "pool_id": "main", "created_at": AT, **fields})


def test_a_customer_converts_keys_tags_and_status() -> None:
    made = customer(
        status="private",
        owner_id="li",
        owned_since=AT,
        keys={"phone": "+8613800138000"},
        tags=["fair", "fair"],
        attributes={"size": 20},
    )
    assert made.status is CustomerStatus.PRIVATE and made.is_private
    assert made.keys == {IdentityKey("phone", "+8613800138000")}
    assert made.keys_of("phone") == {"+8613800138000"} and made.keys_of("email") == set()
    assert made.tags == {"fair"}
    assert made.where == "owned by li"
    assert customer(keys=[("uscc", "X1"), IdentityKey("email", "a@b.cn")]).keys == {
        IdentityKey("uscc", "X1"),
        IdentityKey("email", "a@b.cn"),
    }
    assert customer().where == "in pool main" and customer().is_public
    assert customer(status=CustomerStatus.FROZEN).where == "in the recycle bin"


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"id": ""}, "id"),
        ({"name": "  "}, "name"),
        ({"pool_id": None}, "pool_id"),
        ({"created_at": "2026-03-02"}, "created_at"),
        ({"created_at": datetime(2026, 3, 2)}, "created_at"),
        ({"status": "archived"}, "status"),
        ({"owner_id": "li"}, "owner_id"),  # an owner, yet public
        ({"status": "private", "owned_since": AT}, "owner_id"),  # private without an owner
        ({"status": "private", "owner_id": "li"}, "owned_since"),
        ({"owned_since": AT}, "owned_since"),  # public, yet owned since
        ({"keys": ["phone"]}, "keys"),
        ({"keys": {"phone": ""}}, "value"),
        ({"grade": ""}, "grade"),
        ({"grade": 3}, "grade"),
        ({"tags": "vip"}, "tags"),
        ({"tags": ["vip", " "]}, "tags"),
        ({"attributes": {"size": [1, 2]}}, "attributes.size"),
        ({"attributes": {"": 1}}, "attributes"),
        ({"attributes": {"score": float("nan")}}, "attributes.score"),
        ({"attributes": {"score": float("-inf")}}, "attributes.score"),
        ({"attributes": {"employees": 2**63}}, "attributes.employees"),
        ({"attributes": {"employees": -(2**63) - 1}}, "attributes.employees"),
        ({"version": 2**63}, "version"),
        ({"related_reps": {"li": "yesterday"}}, "related_reps.li"),
        ({"related_reps": {"": AT}}, "related_reps"),
        ({"locked": "no"}, "locked"),
        ({"version": -1}, "version"),
        ({"last_deal_at": datetime(2026, 3, 2)}, "last_deal_at"),
    ],
)
def test_a_bad_customer_is_refused(fields: dict[str, Any], field: str) -> None:
    assert field_of(lambda: customer(**fields)) == field


def test_a_naive_customer_time_is_refused_as_naive() -> None:
    assert isinstance(
        refused(lambda: customer(created_at=datetime(2026, 3, 2))), NaiveDatetimeError
    )


# ---------------------------------------------------------------- events


BAD_EVENTS: list[tuple[Callable[[], object], str]] = [
    (lambda: Created(customer_id="c1", seq=0, at=AT, name="A", pool_id="p"), "seq"),
    (lambda: Created(customer_id="c1", seq="1", at=AT, name="A", pool_id="p"), "seq"),  # type: ignore[arg-type]
    (lambda: Created(customer_id="", seq=1, at=AT, name="A", pool_id="p"), "customer_id"),
    (lambda: Created(customer_id="c1", seq=1, at=AT, name="", pool_id="p"), "name"),
    (lambda: FollowedUp(customer_id="c1", seq=2, at=AT, method="fax"), "method"),
    (lambda: Returned(customer_id="c1", seq=2, at=AT, rep_id="li", reason=""), "reason"),
    (lambda: Warned(customer_id="c1", seq=2, at=AT, rep_id="li", rule="r", due_at=None), "due_at"),  # type: ignore[arg-type]
    (
        lambda: Dropped(customer_id="c1", seq=2, at=AT, rep_id="li", code="x", due_at=NAIVE),
        "due_at",
    ),
    (lambda: Claimed(customer_id="c1", seq=2, at=NAIVE, rep_id="li", pool_id="p"), "at"),
]


@pytest.mark.parametrize("build, field", BAD_EVENTS)
def test_a_bad_event_is_refused(build: Callable[[], object], field: str) -> None:
    assert field_of(build) == field


def test_a_naive_event_time_is_refused_as_naive() -> None:
    made = refused(lambda: Claimed(customer_id="c1", seq=2, at=NAIVE, rep_id="li", pool_id="p"))
    assert isinstance(made, NaiveDatetimeError)


def test_every_event_kind_is_registered_and_describes_itself() -> None:
    assert set(EVENT_TYPES) >= {
        "created", "followed_up", "claimed", "assigned", "returned", "recycled", "dropped",
        "transferred", "reassigned", "pool_changed", "frozen", "restored", "deleted",
        "lock_changed", "grade_changed", "edited", "warned",
    }  # fmt: skip
    for kind, cls in EVENT_TYPES.items():
        assert cls.kind == kind
    event = FollowedUp(customer_id="c1", seq=2, at=AT, actor_id="li", method="visit", note="x")
    assert event.method is FollowUpKind.VISIT
    assert event_payload(event) == {"method": FollowUpKind.VISIT, "note": "x"}
    assert event.describe() == "visit by li: x"


def test_replay_rebuilds_a_customer_and_refuses_a_broken_log() -> None:
    created = Created(
        customer_id="c1", seq=1, at=AT, actor_id="li", name="A", pool_id="p", owner_id="li"
    )
    later = AT + timedelta(days=1)
    followed = FollowedUp(customer_id="c1", seq=2, at=later, actor_id="li", method="deal")
    returned = Returned(
        customer_id="c1", seq=3, at=later, actor_id="li", rep_id="li", reason="no budget"
    )
    rebuilt = replay([created, followed, returned])
    assert rebuilt is not None
    assert (rebuilt.version, rebuilt.owner_id, rebuilt.last_deal_at) == (3, None, later)
    assert rebuilt.related_reps == {"li": later} and rebuilt.creator_id == "li"
    assert replay([created, followed, returned, Deleted(customer_id="c1", seq=4, at=later)]) is None

    for broken in (
        [followed],
        [created, returned],
        [created, created],
        [created, followed, followed],
    ):
        assert field_of(partial(replay, broken)).startswith("event")
    other = FollowedUp(customer_id="c2", seq=2, at=later, method="call")
    assert field_of(lambda: apply(replay([created]), other)) == "event.seq"


# ---------------------------------------------------------------- Team


def team(reps: list[dict[str, Any]], pools: list[dict[str, Any]]) -> Team:
    return Team.from_dict({"reps": reps, "pools": pools})


MAIN = {"id": "main", "default": True}


def test_a_team_from_a_document() -> None:
    made = team(
        [{"id": "boss", "admin": True}, {"id": "li", "supervisor": "boss", "cap": 10}],
        [
            {**MAIN, "members": ["li"], "managers": ["boss"]},
            {"id": "vip", "mode": "manager_assigns"},
        ],
    )
    assert made.reps == (Rep("boss", is_admin=True), Rep("li", supervisor_id="boss", cap=10))
    assert made.pools[0] == Pool("main", is_default=True, members=["li"], managers=["boss"])
    assert made.pools[1].mode is PoolMode.MANAGER_ASSIGNS


def test_a_team_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text(
        '[[reps]]\nid = "li"\n[[pools]]\nid = "main"\ndefault = true\nmembers = ["li"]\n',
        encoding="utf-8",
    )
    assert Team.from_toml(path) == Team(
        [Rep("li")], [Pool("main", is_default=True, members=["li"])]
    )
    with pytest.raises(ConfigError, match="cannot read team file"):
        Team.from_toml(tmp_path / "missing.toml")


def test_a_team_file_that_cannot_be_read_is_named_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read team file") as error:
        Team.from_toml(tmp_path)  # a directory
    assert error.value.file == str(tmp_path)
    latin = tmp_path / "latin1.toml"
    latin.write_bytes('[[reps]]\nid = "müller"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8") as error:
        Team.from_toml(latin)
    assert (error.value.file, error.value.line) == (str(latin), 2)
    broken = tmp_path / "broken.toml"
    broken.write_text('[[reps]]\nid = "li"\n[[pools]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML") as error:
        Team.from_toml(broken)
    assert (error.value.file, error.value.line) == (str(broken), 3)
    bad = tmp_path / "bad.toml"
    bad.write_text('[[reps]]\nid = "li"\ncap = -1\n', encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        Team.from_toml(bad)
    assert (
        str(error.value)
        == f"{bad}: reps[0].cap: must be a whole number from 0 to {2**63 - 1}, got -1"
    )


@pytest.mark.parametrize(
    "reps, pools, path",
    [
        (
            [{"id": "a", "supervisor": "b"}, {"id": "b", "supervisor": "a"}],
            [MAIN],
            "reps.a.supervisor",
        ),
        (
            [
                {"id": "a", "supervisor": "c"},
                {"id": "b", "supervisor": "a"},
                {"id": "c", "supervisor": "b"},
            ],
            [MAIN],
            "reps.a.supervisor",
        ),
        ([{"id": "a", "supervisor": "ghost"}], [MAIN], "reps.a.supervisor"),
        ([{"id": "a"}], [MAIN, {"id": "other", "default": True}], "pools"),
        ([{"id": "a"}], [{"id": "main"}], "pools"),
        ([{"id": "a"}], [{**MAIN, "members": ["a", "ghost"]}], "pools[0].members"),
        ([{"id": "a"}], [{**MAIN, "managers": ["ghost"]}], "pools[0].managers"),
        ([{"id": "a"}, {"id": "a"}], [MAIN], "reps[1].id"),
        ([{"id": "a"}], [MAIN, MAIN], "pools[1].id"),
        ([{"id": ""}], [MAIN], "reps[0].id"),
        ([{"id": "a", "admin": "yes"}], [MAIN], "reps[0].admin"),
        ([{"id": "a", "cap": -1}], [MAIN], "reps[0].cap"),
        ([{"id": "a", "boss": "b"}], [MAIN], "reps[0].boss"),
        ([{"id": "a"}], [{**MAIN, "mode": "lottery"}], "pools[0].mode"),
        ([{"id": "a"}], [{**MAIN, "owner": "a"}], "pools[0].owner"),
        (["a"], [MAIN], "reps[0]"),
    ],
    ids=[
        "two-rep-cycle",
        "three-rep-cycle",
        "unknown-supervisor",
        "two-default-pools",
        "no-default-pool",
        "unknown-member",
        "unknown-manager",
        "duplicate-rep",
        "duplicate-pool",
        "empty-rep-id",
        "admin-not-a-boolean",
        "negative-cap",
        "unknown-rep-key",
        "unknown-mode",
        "unknown-pool-key",
        "rep-not-a-table",
    ],
)
def test_a_bad_team_is_refused_naming_the_key(reps: list[Any], pools: list[Any], path: str) -> None:
    with pytest.raises(ConfigError) as error:
        team(reps, pools)
    assert error.value.path == path


def test_a_team_document_with_many_mistakes_reports_them_all() -> None:
    with pytest.raises(ConfigError) as error:
        team(
            [
                {"id": "a", "cap": -1, "admin": "yes", "boss": "b"},
                {"id": "b", "supervisor": "ghost"},
                {"id": "b"},
                {"name": "no id"},
            ],
            [
                {**MAIN, "mode": "lottery", "members": ["a", "nobody"]},
                {"id": "vip", "default": True},
                {"id": "x", "managers": ["zz"]},
            ],
        )
    assert error.value.problems == (
        ("reps[0].admin", "must be a bool, got str 'yes'"),
        ("reps[0].cap", f"must be a whole number from 0 to {2**63 - 1}, got -1"),
        ("reps[0].boss", "unknown key"),
        ("reps[3].id", "is required"),
        ("pools[0].mode", "must be one of members_claim, manager_assigns, got 'lottery'"),
        ("reps[2].id", "duplicate rep id 'b'"),
        ("reps.b.supervisor", "unknown supervisor 'ghost'"),
        ("pools[2].managers", "unknown rep 'zz'"),
    )
    assert str(error.value).startswith("reps[0].admin: must be a bool, got str 'yes'; ")


def test_a_rep_refused_for_a_bad_value_is_not_also_unknown() -> None:
    # Its id is read, so the pool naming it and the rep it supervises are not blamed too.
    with pytest.raises(ConfigError) as error:
        team([{"id": "a", "cap": -1}, {"id": "b", "supervisor": "a"}], [{**MAIN, "members": ["a"]}])
    assert [path for path, _ in error.value.problems] == ["reps[0].cap"]


def test_a_team_document_with_unknown_keys_or_shapes_is_refused() -> None:
    with pytest.raises(ConfigError) as error:
        Team.from_dict({"reps": [], "pools": [], "regions": []})
    assert error.value.path == "regions"
    with pytest.raises(ConfigError) as error:
        Team.from_dict({"reps": {"id": "a"}})
    assert error.value.path == "reps"


def test_a_team_built_from_values_is_checked_too() -> None:
    with pytest.raises(ConfigError):
        Team([Rep("a")], [Pool("p1", is_default=True), Pool("p2", is_default=True)])
    with pytest.raises(ConfigError):
        Team([Rep("a", supervisor_id="b"), Rep("b", supervisor_id="a")], [])


# ---------------------------------------------------------------- immutability


@pytest.mark.parametrize(
    "value, field, new",
    [
        (Rep("li"), "active", False),
        (Pool("main"), "members", frozenset({"x"})),
        (IdentityKey("phone", "1"), "value", "2"),
        (customer(), "owner_id", "li"),
        (Created(customer_id="c1", seq=1, at=AT, name="A", pool_id="p"), "seq", 2),
        (Team([Rep("li")], [Pool("main", is_default=True)]), "reps", ()),
    ],
    ids=["rep", "pool", "key", "customer", "event", "team"],
)
def test_values_cannot_be_changed(value: object, field: str, new: object) -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(value, field, new)


def test_the_collections_inside_a_customer_cannot_be_changed_either() -> None:
    made = customer(attributes={"size": 1}, related_reps={"li": AT}, tags=["a"])
    with pytest.raises(TypeError):
        made.attributes["size"] = 2  # type: ignore[index]
    with pytest.raises(TypeError):
        made.related_reps["wang"] = AT  # type: ignore[index]
    assert isinstance(made.tags, frozenset) and isinstance(made.keys, frozenset)
    source = {"size": 1}
    copied = customer(attributes=source)
    source["size"] = 99
    assert copied.attributes == {"size": 1}
    assert attrs.evolve(made, name="Renamed").name == "Renamed" and made.name == "Acme"


@given(histories())
@settings(max_examples=200, deadline=None)
def test_apply_builds_each_customer_as_evolving_it_whole_would(log: list[Any]) -> None:
    """apply() checks only the fields an event changes (history._evolved): every state of
    a history is what attrs.evolve, which checks every field again, would have made."""
    by_evolve: Customer | None = None
    original = history._evolved
    for event in log:
        fast = apply(by_evolve, event)
        history._evolved = lambda customer, changes: attrs.evolve(customer, **changes)
        try:
            slow = apply(by_evolve, event)
        finally:
            history._evolved = original
        assert fast == slow
        if fast is not None:
            assert type(fast.related_reps) is type(slow.related_reps)
            assert all(
                getattr(fast, f.name) == getattr(slow, f.name) for f in attrs.fields(Customer)
            )
        by_evolve = slow


def test_evolving_checks_what_changes_and_across_fields() -> None:
    customer = Customer(
        id="c1", name="Acme", pool_id="east", created_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    with pytest.raises(InvalidValueError) as bad_owner:
        history._evolved(
            customer, {"status": "private", "owner_id": " li", "owned_since": customer.created_at}
        )
    assert bad_owner.value.field == "owner_id"
    with pytest.raises(InvalidValueError) as no_owner:
        history._evolved(customer, {"status": "private"})
    assert no_owner.value.field == "owner_id"
    with pytest.raises(InvalidValueError):
        history._evolved(customer, {"related_reps": {"li": datetime(2026, 1, 1)}})
    moved = history._evolved(customer, {"related_reps": {"li": customer.created_at}, "version": 2})
    assert moved == attrs.evolve(customer, related_reps={"li": customer.created_at}, version=2)
    assert customer.related_reps == {}
