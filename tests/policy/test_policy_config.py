"""Loading a policy: valid documents, every bad key named by its path, per-rep overrides,
the round trip through to_dict, the fingerprint, and what change_policy does to deadlines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

from poolkit import (
    CapPolicy,
    ClaimLimitPolicy,
    DropKind,
    DropRule,
    DropTime,
    FollowUpKind,
    ManualClock,
    Policy,
    PoolService,
    RoutingRule,
    SimilarityPolicy,
)
from poolkit.errors import CapExceeded, ClaimLimitExceeded, ConfigError, PolicyConflictError
from poolkit.policy.config import VisibilityPolicy

Factory = Callable[..., PoolService]

FULL: dict[str, Any] = {
    "timezone": "America/New_York",
    "drop_time": "start_of_day",
    "phone_region": "US",
    "drop_rules": [
        {"name": "B", "kind": "no_follow_up", "days": 25, "warn_days": 3, "grades": ["B"]},
        {"name": "first", "kind": "no_first_deal", "days": 30, "pools": ["vip"]},
        {"name": "repeat", "kind": "no_repeat_deal", "days": 90, "exempt_if_dealt": False},
    ],
    "caps": {
        "default": 100,
        "per_rep": {"li": 10},
        "count_dealt": False,
        "count_locked": False,
        "max_locked": 5,
        "locked_per_rep": {"li": 2},
    },
    "claim_limit": {"max_claims": 5, "window_days": 7, "per_rep": {"li": 2}},
    "cooldown": {"days": 10},
    "collision": {"keys": ["phone", "uscc"]},
    "routing": [{"attribute": "region", "equals": "north", "pool": "north"}],
}


def problem(document: dict[str, Any]) -> str:
    """The message a bad document is refused with."""
    with pytest.raises(ConfigError) as refused:
        Policy.from_dict(document)
    assert str(refused.value) == f"{refused.value.path}: {refused.value.message}"
    return str(refused.value)


def with_rule(**rule: Any) -> dict[str, Any]:
    """A document whose third drop rule is ``rule`` over a valid one."""
    good = {"name": "x", "kind": "no_follow_up", "days": 15}
    return {"drop_rules": [{**good, "name": "a"}, {**good, "name": "b"}, {**good, **rule}]}


# ---------------------------------------------------------------- valid documents


def test_an_empty_document_is_the_default_policy() -> None:
    policy = Policy.from_dict({})
    assert policy == Policy()
    assert (policy.timezone, policy.drop_time, policy.drop_rules) == ("UTC", DropTime.EXACT, ())
    assert policy.caps.default is None and policy.claim_limit.max_claims is None
    assert policy.cooldown_days == 0
    assert policy.collision_keys == {"phone", "uscc", "org_code", "email"}


def test_a_full_document_is_read_into_values() -> None:
    policy = Policy.from_dict(FULL)
    assert policy.zone == ZoneInfo("America/New_York")
    assert policy.drop_time is DropTime.START_OF_DAY and policy.phone_region == "US"
    assert policy.drop_rules[0] == DropRule(
        "B", DropKind.NO_FOLLOW_UP, 25, warn_days=3, grades=frozenset({"B"})
    )
    assert policy.drop_rules[1].pools == {"vip"}
    assert policy.drop_rules[2].kind is DropKind.NO_REPEAT_DEAL
    assert policy.caps == CapPolicy(
        100,
        {"li": 10},
        count_dealt=False,
        count_locked=False,
        max_locked=5,
        locked_per_rep={"li": 2},
    )
    assert policy.claim_limit == ClaimLimitPolicy(5, 7, {"li": 2})
    assert policy.cooldown_days == 10
    assert policy.collision_keys == {"phone", "uscc"}
    assert policy.routing == (RoutingRule("region", "north", "north"),)


def test_from_toml_reads_the_same_document(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        """
timezone = "America/New_York"
drop_time = "start_of_day"
phone_region = "US"
[[drop_rules]]
name = "B"
kind = "no_follow_up"
days = 25
warn_days = 3
grades = ["B"]
[[drop_rules]]
name = "first"
kind = "no_first_deal"
days = 30
pools = ["vip"]
[[drop_rules]]
name = "repeat"
kind = "no_repeat_deal"
days = 90
exempt_if_dealt = false
[caps]
default = 100
count_dealt = false
count_locked = false
max_locked = 5
locked_per_rep = { li = 2 }
[caps.per_rep]
li = 10
[claim_limit]
max_claims = 5
window_days = 7
per_rep = { li = 2 }
[cooldown]
days = 10
[collision]
keys = ["phone", "uscc"]
[[routing]]
attribute = "region"
equals = "north"
pool = "north"
""",
        encoding="utf-8",
    )
    assert Policy.from_toml(path) == Policy.from_dict(FULL)


def test_from_toml_names_a_missing_or_unreadable_file(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.toml", tmp_path):  # nothing there; a directory
        with pytest.raises(ConfigError, match="cannot read policy file") as refused:
            Policy.from_toml(path)
        assert refused.value.file == str(path)
        assert str(refused.value).startswith(f"{path}: ")


def test_from_toml_names_the_file_and_line_of_invalid_toml(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('timezone = "UTC"\ncooldown = {days = }\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="is not valid TOML") as refused:
        Policy.from_toml(broken)
    assert (refused.value.file, refused.value.line) == (str(broken), 2)
    assert str(refused.value).startswith(f"{broken}, line 2: ")
    unfinished = tmp_path / "unfinished.toml"
    unfinished.write_text('timezone = "UTC"\ncooldown_days = ', encoding="utf-8")
    with pytest.raises(ConfigError, match="is not valid TOML") as refused:
        Policy.from_toml(unfinished)
    assert refused.value.line == 2


def test_from_toml_refuses_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    # The docs promise a ConfigError; this once escaped as UnicodeDecodeError.
    latin = tmp_path / "latin1.toml"
    latin.write_bytes('timezone = "UTC"\n# Müller\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8") as refused:
        Policy.from_toml(latin)
    assert (refused.value.file, refused.value.line) == (str(latin), 2)
    assert str(latin) in str(refused.value)


def test_from_toml_names_the_file_and_every_bad_key(tmp_path: Path) -> None:
    bad_keys = tmp_path / "bad.toml"
    bad_keys.write_text(
        "[[drop_rules]]\nname = 'x'\nkind = 'no_follow_up'\ndays = 0\n[cooldown]\ndays = -1\n"
    )
    with pytest.raises(ConfigError) as refused:
        Policy.from_toml(bad_keys)
    assert refused.value.path == "drop_rules[0].days"
    assert refused.value.problems == (
        ("drop_rules[0].days", "must be > 0"),
        ("cooldown.days", "must be >= 0"),
    )
    assert refused.value.file == str(bad_keys)
    assert str(refused.value) == (
        f"{bad_keys}: drop_rules[0].days: must be > 0; cooldown.days: must be >= 0"
    )


# ---------------------------------------------------------------- bad documents


@pytest.mark.parametrize(
    "document, message",
    [
        # drop rules
        (with_rule(days=0), "drop_rules[2].days: must be > 0"),
        (with_rule(days=-3), "drop_rules[2].days: must be > 0"),
        (with_rule(days="15"), "drop_rules[2].days: must be a whole number, got '15'"),
        (with_rule(days=True), "drop_rules[2].days: must be a whole number, got True"),
        (with_rule(days=1.5), "drop_rules[2].days: must be a whole number, got 1.5"),
        (with_rule(warn_days=-1), "drop_rules[2].warn_days: must be >= 0"),
        (with_rule(warn_days=15), "drop_rules[2].warn_days: must be < days (15)"),
        (with_rule(warn_days=20), "drop_rules[2].warn_days: must be < days (15)"),
        (with_rule(name="a"), "drop_rules[2].name: duplicate rule name 'a'"),
        (with_rule(days=2**63), "drop_rules[2].days: must be <= 9223372036854775807"),
        (with_rule(name=""), "drop_rules[2].name: must be a non-empty string, got ''"),
        (
            with_rule(kind="no_visit"),
            "drop_rules[2].kind: must be one of no_follow_up, no_first_deal, no_repeat_deal, "
            "got 'no_visit'",
        ),
        (with_rule(grades="B"), "drop_rules[2].grades: must be a list of strings, got 'B'"),
        (with_rule(grades=["B", 3]), "drop_rules[2].grades: must hold non-empty strings, got 3"),
        (
            with_rule(exempt_if_dealt="yes"),
            "drop_rules[2].exempt_if_dealt: must be true or false, got 'yes'",
        ),
        (with_rule(dayz=15), "drop_rules[2].dayz: unknown key"),
        (
            {"drop_rules": [{"name": "x", "kind": "no_follow_up"}]},
            "drop_rules[0].days: is required",
        ),
        ({"drop_rules": [{"kind": "no_follow_up", "days": 3}]}, "drop_rules[0].name: is required"),
        ({"drop_rules": {"name": "x"}}, "drop_rules: must be a list of tables, got dict"),
        ({"drop_rules": ["x"]}, "drop_rules[0]: must be a table, got str"),
        # time
        ({"timezone": "Mars/Olympus_Mons"}, "timezone: unknown time zone 'Mars/Olympus_Mons'"),
        ({"timezone": "../../etc/passwd"}, "timezone: unknown time zone '../../etc/passwd'"),
        ({"timezone": 8}, "timezone: must be an IANA time zone name, got 8"),
        ({"drop_time": "noon"}, "drop_time: must be one of exact, start_of_day, got 'noon'"),
        # caps and claim limits
        ({"caps": {"default": -1}}, "caps.default: must be >= 0"),
        ({"caps": {"per_rep": {"li": -5}}}, "caps.per_rep.li: must be >= 0"),
        (
            {"caps": {"per_rep": {"li": "ten"}}},
            "caps.per_rep.li: must be a whole number, got 'ten'",
        ),
        ({"caps": {"count_dealt": 1}}, "caps.count_dealt: must be true or false, got 1"),
        ({"caps": {"defualt": 10}}, "caps.defualt: unknown key"),
        ({"caps": {"max_locked": -1}}, "caps.max_locked: must be >= 0"),
        ({"caps": {"max_locked": True}}, "caps.max_locked: must be a whole number, got True"),
        ({"caps": {"locked_per_rep": {"li": -2}}}, "caps.locked_per_rep.li: must be >= 0"),
        (
            {"caps": {"locked_per_rep": 3}},
            "caps.locked_per_rep: must be a table of rep ids to whole numbers, got 3",
        ),
        ({"caps": 100}, "caps: must be a table, got int"),
        ({"claim_limit": {"max_claims": -1}}, "claim_limit.max_claims: must be >= 0"),
        ({"claim_limit": {"window_days": 0}}, "claim_limit.window_days: must be > 0"),
        ({"claim_limit": {"per_rep": {"li": -1}}}, "claim_limit.per_rep.li: must be >= 0"),
        ({"cooldown": {"days": -1}}, "cooldown.days: must be >= 0"),
        ({"cooldown": {"hours": 3}}, "cooldown.hours: unknown key"),
        # collision keys, routing, region
        (
            {"collision": {"keys": "phone"}},
            "collision.keys: must be a list of strings, got 'phone'",
        ),
        (
            {"routing": [{"attribute": "region", "equals": ["n"], "pool": "north"}]},
            "routing[0].equals: must be a string, number or boolean, got ['n']",
        ),
        ({"routing": [{"attribute": "region", "equals": "n"}]}, "routing[0].pool: is required"),
        (
            {"routing": [{"attribute": "region", "equals": "n", "pool": "p", "to": "q"}]},
            "routing[0].to: unknown key",
        ),
        (
            {"phone_region": "China"},
            "phone_region: must be a two-letter region code like CN, got 'China'",
        ),
        # the document itself
        ({"timezone": "UTC", "colour": "blue"}, "colour: unknown key"),
    ],
)
def test_a_bad_document_is_refused_naming_the_key(document: dict[str, Any], message: str) -> None:
    assert problem(document) == message


def test_a_document_that_is_not_a_table_is_refused() -> None:
    with pytest.raises(ConfigError, match="must be a table, got list"):
        Policy.from_dict([])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "build, path",
    [
        # A part names its own keys; the policy holding it (or its document) adds the prefix.
        (lambda: DropRule("x", DropKind.NO_FOLLOW_UP, 0), "days"),
        (lambda: DropRule("x", DropKind.NO_FOLLOW_UP, 5, warn_days=5), "warn_days"),
        (lambda: DropRule("x", "no_visit", 5), "kind"),  # type: ignore[arg-type]
        (lambda: DropRule(" ", DropKind.NO_FOLLOW_UP, 5), "name"),
        (lambda: DropRule("x", DropKind.NO_FOLLOW_UP, 5, grades="B"), "grades"),  # type: ignore[arg-type]
        (lambda: CapPolicy(default=-1), "default"),
        (lambda: CapPolicy(per_rep={"li": -1}), "per_rep.li"),
        (lambda: CapPolicy(count_dealt="no"), "count_dealt"),  # type: ignore[arg-type]
        (lambda: ClaimLimitPolicy(window_days=0), "window_days"),
        (lambda: ClaimLimitPolicy(max_claims=2**63), "max_claims"),
        (lambda: SimilarityPolicy(threshold=0), "threshold"),
        (lambda: RoutingRule("region", ["n"], "north"), "equals"),  # type: ignore[arg-type]
        (lambda: Policy(timezone="Nowhere/Land"), "timezone"),
        (lambda: Policy(cooldown_days=-2), "cooldown.days"),
        (lambda: Policy(drop_time="noon"), "drop_time"),  # type: ignore[arg-type]
        (lambda: Policy(caps=5), "caps"),  # type: ignore[arg-type]
        (lambda: Policy(collision_keys="phone"), "collision.keys"),  # type: ignore[arg-type]
        (lambda: Policy(phone_region="china"), "phone_region"),
        (lambda: Policy(phone_region="ＣＮ"), "phone_region"),
        (
            lambda: Policy(
                drop_rules=(
                    DropRule("same", DropKind.NO_FOLLOW_UP, 5),
                    DropRule("same", DropKind.NO_FIRST_DEAL, 9),
                )
            ),
            "drop_rules[1].name",
        ),
    ],
)
def test_policy_values_built_in_code_are_checked_too(
    build: Callable[[], object], path: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        build()
    assert refused.value.path == path


def test_the_constructor_and_the_loader_refuse_the_same_values() -> None:
    # Once the loader had checks of its own: phone_region="china" passed the constructor.
    for key, value in [("phone_region", "china"), ("timezone", "Mars/Base"), ("drop_time", "x")]:
        with pytest.raises(ConfigError) as built:
            Policy(**{key: value})
        with pytest.raises(ConfigError) as loaded:
            Policy.from_dict({key: value})
        assert built.value.problems == loaded.value.problems


def test_values_given_by_name_are_converted() -> None:
    rule = DropRule("x", "no_first_deal", 5, grades=["B"])  # type: ignore[arg-type]
    assert rule == DropRule("x", DropKind.NO_FIRST_DEAL, 5, grades=frozenset({"B"}))
    assert Policy(drop_time="start_of_day").drop_time is DropTime.START_OF_DAY  # type: ignore[arg-type]
    assert Policy(drop_rules=[rule]).drop_rules == (rule,)  # type: ignore[arg-type]


def test_one_value_reports_every_mistake_it_has() -> None:
    with pytest.raises(ConfigError) as refused:
        DropRule("", "no_visit", 0, warn_days=-1, exempt_if_dealt="yes")  # type: ignore[arg-type]
    assert [path for path, _ in refused.value.problems] == [
        "name",
        "kind",
        "days",
        "warn_days",
        "exempt_if_dealt",
    ]
    # The first problem stays readable as path and message.
    assert (refused.value.path, refused.value.message) == (
        "name",
        "must be a non-empty string, got ''",
    )


def test_a_document_with_many_mistakes_reports_them_all_with_their_paths() -> None:
    document = {
        "timezone": "Mars/Base",
        "phone_region": "china",
        "drop_rules": [
            {"name": "a", "kind": "no_follow_up", "days": 15},
            {"name": "a", "kind": "no_visit", "days": 15},
            {"name": "c", "kind": "no_follow_up", "days": 0, "dayz": 3},
            {"kind": "no_follow_up", "days": 3},
        ],
        "caps": {"default": -1, "per_rep": {"li": "ten"}},
        "claim_limit": {"window_days": 0},
        "similarity": {"threshold": 101},
        "routing": [{"attribute": "", "equals": "n"}],
        "cooldown": {"days": -1},
        "colour": "blue",
    }
    with pytest.raises(ConfigError) as refused:
        Policy.from_dict(document)
    assert sorted(refused.value.problems) == sorted(
        [
            ("timezone", "unknown time zone 'Mars/Base'"),
            ("phone_region", "must be a two-letter region code like CN, got 'china'"),
            (
                "drop_rules[1].kind",
                "must be one of no_follow_up, no_first_deal, no_repeat_deal, got 'no_visit'",
            ),
            ("drop_rules[1].name", "duplicate rule name 'a'"),
            ("drop_rules[2].days", "must be > 0"),
            ("drop_rules[2].dayz", "unknown key"),
            ("drop_rules[3].name", "is required"),
            ("caps.default", "must be >= 0"),
            ("caps.per_rep.li", "must be a whole number, got 'ten'"),
            ("claim_limit.window_days", "must be > 0"),
            ("similarity.threshold", "must be > 0 and <= 100"),
            ("routing[0].pool", "is required"),
            ("cooldown.days", "must be >= 0"),
            ("colour", "unknown key"),
        ]
    )
    assert "drop_rules[2].days: must be > 0" in str(refused.value)


def test_a_single_mistake_keeps_path_and_message() -> None:
    with pytest.raises(ConfigError) as refused:
        Policy.from_dict({"cooldown": {"days": -1}})
    error = refused.value
    assert (error.path, error.message) == ("cooldown.days", "must be >= 0")
    assert error.problems == (("cooldown.days", "must be >= 0"),)
    assert (error.file, error.line) == (None, None)


# ---------------------------------------------------------------- round trip and fingerprint


@pytest.mark.parametrize("document", [{}, FULL], ids=["empty", "full"])
def test_to_dict_round_trips(document: dict[str, Any]) -> None:
    policy = Policy.from_dict(document)
    assert Policy.from_dict(policy.to_dict()) == policy
    assert Policy.from_dict(policy.to_dict()).to_dict() == policy.to_dict()


def test_the_fingerprint_is_stable_and_follows_every_rule() -> None:
    policy = Policy.from_dict(FULL)
    reordered = dict(reversed(list(FULL.items())))
    assert Policy.from_dict(reordered).fingerprint() == policy.fingerprint()
    assert Policy.from_dict(policy.to_dict()).fingerprint() == policy.fingerprint()
    assert len(policy.fingerprint()) == 16

    changes: list[dict[str, Any]] = [
        {"cooldown": {"days": 11}},
        {"drop_time": "exact"},
        {"timezone": "Asia/Shanghai"},
        {"caps": {**FULL["caps"], "per_rep": {"li": 11}}},
        {"drop_rules": [{**FULL["drop_rules"][0], "days": 24}, *FULL["drop_rules"][1:]]},
        {"collision": {"keys": ["phone"]}},
    ]
    prints = {Policy.from_dict({**FULL, **change}).fingerprint() for change in changes}
    assert len(prints) == len(changes) and policy.fingerprint() not in prints


# ---------------------------------------------------------------- per-rep overrides

TEAM = {
    "reps": [
        {"id": "admin", "admin": True},
        {"id": "li", "cap": 2, "claim_limit": 2},
        {"id": "wang", "cap": 2, "claim_limit": 2},
        {"id": "zhao"},
    ],
    "pools": [{"id": "main", "default": True, "members": ["li", "wang", "zhao"]}],
}


def test_cap_precedence_policy_per_rep_then_the_reps_own_then_the_default(
    make_service: Factory,
) -> None:
    # li: the policy's entry (1) beats li's own cap (2); wang: own cap (2) beats the
    # default (3); zhao: the default (3).
    svc = make_service({"caps": {"default": 3, "per_rep": {"li": 1}}}, TEAM)
    for rep, cap in (("li", 1), ("wang", 2), ("zhao", 3)):
        for n in range(cap):
            svc.create(rep, f"{rep} {n}")
        with pytest.raises(CapExceeded) as refused:
            svc.create(rep, f"{rep} one more")
        assert (refused.value.rep_id, refused.value.cap) == (rep, cap)


def test_a_per_rep_cap_of_zero_means_no_private_customers(make_service: Factory) -> None:
    svc = make_service({"caps": {"per_rep": {"zhao": 0}}}, TEAM)
    with pytest.raises(CapExceeded) as refused:
        svc.create("zhao", "Acme")
    assert (refused.value.cap, refused.value.count) == (0, 0)
    assert svc.create("li", "Acme").owner_id == "li"  # no default: li's own cap of 2


def test_claim_limit_precedence_policy_per_rep_then_the_reps_own_then_the_default(
    make_service: Factory,
) -> None:
    document = {
        "caps": {"per_rep": {"li": 10, "wang": 10}},  # out of the way: caps come first
        "claim_limit": {"max_claims": 3, "window_days": 7, "per_rep": {"li": 1}},
    }
    svc = make_service(document, TEAM)
    for rep, limit in (("li", 1), ("wang", 2), ("zhao", 3)):
        for n in range(limit):
            svc.claim(rep, svc.create("admin", f"{rep} lead {n}", public=True).id)
        spare = svc.create("admin", f"{rep} one more", public=True)
        with pytest.raises(ClaimLimitExceeded) as refused:
            svc.claim(rep, spare.id)
        assert (refused.value.rep_id, refused.value.limit) == (rep, limit)


def test_a_per_rep_claim_limit_of_zero_means_no_claims_ever(make_service: Factory) -> None:
    svc = make_service({"claim_limit": {"window_days": 7, "per_rep": {"zhao": 0}}}, TEAM)
    lead = svc.create("admin", "Lead", public=True)
    with pytest.raises(ClaimLimitExceeded) as refused:
        svc.claim("zhao", lead.id)
    assert (refused.value.limit, refused.value.next_claim_at) == (0, None)


def test_a_loaded_policy_cannot_be_changed() -> None:
    policy = Policy.from_dict(FULL)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        policy.cooldown_days = 0  # type: ignore[misc]
    # Through its per-rep tables neither: that could make the policy invalid (a cap of -1)
    # and change it under a fingerprint already stored.
    with pytest.raises(TypeError):
        policy.caps.per_rep["li"] = -1  # type: ignore[index]
    with pytest.raises(TypeError):
        policy.claim_limit.per_rep["li"] = -1  # type: ignore[index]
    source = {"li": 3}
    caps = CapPolicy(per_rep=source)
    source["li"] = 4
    assert caps.per_rep == {"li": 3}


def test_a_rule_names_the_follow_up_kinds_that_reset_its_clock() -> None:
    document = with_rule(name="visits", days=7, follow_up_kinds=["visit", "meeting"])
    policy = Policy.from_dict(document)
    assert policy.drop_rules[2].follow_up_kinds == {FollowUpKind.VISIT, FollowUpKind.MEETING}
    assert policy.drop_rules[0].follow_up_kinds == frozenset()  # every kind
    assert policy.to_dict()["drop_rules"][2]["follow_up_kinds"] == ["meeting", "visit"]
    assert "follow_up_kinds" not in policy.to_dict()["drop_rules"][0]
    assert Policy.from_dict(policy.to_dict()) == policy
    assert Policy.from_dict(policy.to_dict()).fingerprint() == policy.fingerprint()
    assert Policy.from_dict(with_rule(days=7)).fingerprint() != policy.fingerprint()
    assert DropRule("v", "no_follow_up", 7, follow_up_kinds=[FollowUpKind.VISIT]) == (
        DropRule("v", DropKind.NO_FOLLOW_UP, 7, follow_up_kinds=frozenset({FollowUpKind.VISIT}))
    )


@pytest.mark.parametrize(
    "rule, message",
    [
        (
            {"follow_up_kinds": ["visit", "lunch"]},
            "drop_rules[2].follow_up_kinds: must hold follow-up kinds "
            "(call, visit, email, meeting, message, deal), got 'lunch'",
        ),
        (
            {"follow_up_kinds": "visit"},
            "drop_rules[2].follow_up_kinds: must be a list of follow-up kinds "
            "(call, visit, email, meeting, message, deal), got 'visit'",
        ),
        (
            {"kind": "no_first_deal", "follow_up_kinds": ["visit"]},
            "drop_rules[2].follow_up_kinds: only a no_follow_up rule counts follow-ups",
        ),
    ],
)
def test_bad_follow_up_kinds_are_refused(rule: dict[str, Any], message: str) -> None:
    assert problem(with_rule(**rule)) == message


def test_creator_visibility_is_read_checked_and_round_trips() -> None:
    assert Policy().visibility.creator_sees  # the article's CRM: "created by me"
    assert "visibility" not in Policy().to_dict()
    hidden = Policy.from_dict({"visibility": {"creator_sees": False}})
    assert hidden.visibility == VisibilityPolicy(creator_sees=False)
    assert hidden.to_dict()["visibility"] == {"creator_sees": False}
    assert Policy.from_dict(hidden.to_dict()) == hidden
    assert hidden.fingerprint() != Policy().fingerprint()
    assert Policy.from_dict({"visibility": {"creator_sees": True}}) == Policy()
    assert problem({"visibility": {"creator_sees": "yes"}}) == (
        "visibility.creator_sees: must be true or false, got 'yes'"
    )
    assert problem({"visibility": {"creators": True}}) == "visibility.creators: unknown key"


def test_the_lock_cap_is_the_per_rep_entry_else_the_default() -> None:
    policy = Policy.from_dict(FULL)
    assert (policy.lock_cap_for("li"), policy.lock_cap_for("wu")) == (2, 5)
    assert Policy().lock_cap_for("li") is None
    # A policy without a lock cap keeps the document (and fingerprint) it had before.
    assert "max_locked" not in Policy().to_dict()["caps"]
    assert "locked_per_rep" not in Policy().to_dict()["caps"]


def test_policy_cap_for_and_claim_limit_for() -> None:
    policy = Policy.from_dict(FULL)
    assert policy.cap_for("li", 50) == 10
    assert policy.cap_for("wang", 50) == 50
    assert policy.cap_for("wang", None) == 100
    assert policy.claim_limit_for("li", 4) == 2
    assert policy.claim_limit_for("wang", 4) == 4
    assert policy.claim_limit_for("wang", None) == 5


# ---------------------------------------------------------------- change_policy

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # the clock fixture's start


def rule_of(days: int) -> dict[str, Any]:
    return {
        "timezone": "Asia/Shanghai",
        "drop_rules": [{"name": "stale", "kind": "no_follow_up", "days": days}],
    }


def test_a_shorter_rule_drops_a_customer_on_the_next_sweep(
    make_service: Factory, clock: ManualClock
) -> None:
    svc = make_service(rule_of(30), TEAM)
    customer = svc.create("li", "Acme")
    other = svc.create("admin", "In the pool", public=True)
    clock.set(NOW + timedelta(days=10))
    assert not svc.sweep().changed
    assert svc.change_policy(Policy.from_dict(rule_of(7))) == 1  # the public one has no deadline
    assert svc.policy == Policy.from_dict(rule_of(7))
    report = svc.sweep()
    assert [(d.customer_id, d.due_at) for d in report.dropped] == [
        (customer.id, NOW + timedelta(days=7))
    ]
    assert svc.customer(other.id).version == 1


def test_a_longer_rule_keeps_a_customer_past_its_old_deadline(
    make_service: Factory, clock: ManualClock
) -> None:
    svc = make_service(rule_of(7), TEAM)
    customer = svc.create("li", "Acme")
    svc.change_policy(Policy.from_dict(rule_of(30)))
    clock.set(NOW + timedelta(days=29))
    assert not svc.sweep().changed
    clock.set(NOW + timedelta(days=30))
    assert [d.customer_id for d in svc.sweep().dropped] == [customer.id]


def test_a_new_service_with_another_policy_is_refused_and_changes_nothing(
    make_service: Factory, clock: ManualClock, store: Any
) -> None:
    svc = make_service(rule_of(30), TEAM)
    customer = svc.create("li", "Acme")
    clock.set(NOW + timedelta(days=10))
    with pytest.raises(PolicyConflictError) as refused:
        PoolService(store, Policy.from_dict(rule_of(7)), clock)
    assert refused.value.stored_version == 1
    restarted = PoolService(store, None, clock)
    assert restarted.policy == Policy.from_dict(rule_of(30))
    assert not restarted.sweep().changed
    assert svc.customer(customer.id).version == 1
    # The same policy again finds nothing to recompute.
    assert restarted.change_policy(restarted.policy) == 0
