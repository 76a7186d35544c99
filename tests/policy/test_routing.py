"""Routing you can check: first match in order, the default otherwise, and an explanation
that agrees with the routing it explains (Hypothesis over the shipped strategies)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poolkit import Policy, RoutingRule
from poolkit.errors import ConfigError
from poolkit.policy.routing import check_pools, explain, route
from poolkit.testing import strategies as pst

tag_sets = st.frozensets(st.sampled_from(pst.ROUTING_TAGS))


@given(
    st.lists(pst.routing_rules(), max_size=4),
    st.none() | st.just("east"),
    pst.attribute_maps(),
    tag_sets,
)
def test_the_explanation_is_the_first_match_and_says_why_the_others_missed(
    rules: list[RoutingRule],
    default: str | None,
    attributes: dict[str, str | int | float | bool],
    tags: frozenset[str],
) -> None:
    policy = Policy(routing=tuple(rules), routing_default=default)
    why = explain(attributes, tags, policy)
    assert route(attributes, policy, tags) == why.pool_id
    tried = len(why.misses)
    assert [miss.index for miss in why.misses] == list(range(tried))
    for miss in why.misses:
        assert miss.unmet == rules[miss.index].unmet(attributes, tags) != ()
    if why.rule_index is None:
        assert tried == len(rules) and why.pool_id == default
    else:
        matched = rules[why.rule_index]
        assert why.rule_index == tried and matched.unmet(attributes, tags) == ()
        assert (why.pool_id, why.conditions) == (matched.pool, matched.conditions)


@given(st.lists(pst.routing_rules(), max_size=3), st.lists(pst.assignment_rules(), max_size=1))
def test_routing_and_assignment_survive_the_document_and_keep_their_fingerprint(
    routing: list[RoutingRule], assignment: list[object]
) -> None:
    policy = Policy(routing=tuple(routing), routing_default="east", assignment=tuple(assignment))
    again = Policy.from_dict(policy.to_dict())
    assert again == policy and again.fingerprint() == policy.fingerprint()


def test_a_rule_of_the_old_form_keeps_the_fingerprint_it_had() -> None:
    old = Policy.from_dict({"routing": [{"attribute": "tier", "equals": "vip", "pool": "vip"}]})
    assert old.to_dict()["routing"] == [{"attribute": "tier", "equals": "vip", "pool": "vip"}]
    assert "routing_default" not in old.to_dict() and "assignment" not in old.to_dict()


def test_a_value_matches_only_a_value_of_its_kind() -> None:
    rule = RoutingRule(attributes={"tier": [1]}, pool="vip")
    assert rule.unmet({"tier": True}, frozenset()) == ("tier is true, not 1",)
    assert rule.unmet({"tier": 1.0}, frozenset()) == ()


def test_a_rule_refuses_every_mistake_at_once() -> None:
    with pytest.raises(ConfigError) as refused:
        RoutingRule(attribute="tier", equals=None, pool="", attributes={"r": []}, tags=[""])
    assert [path for path, _ in refused.value.problems] == [
        "equals",
        "pool",
        "attributes.r",
        "tags",
    ]
    with pytest.raises(ConfigError, match="needs a condition"):
        RoutingRule(pool="vip")


def test_pools_named_by_the_policy_are_checked_against_the_team() -> None:
    policy = Policy.from_dict(
        {
            "routing": [{"tags": ["x"], "pool": "west"}],
            "routing_default": "east",
            "assignment": [{"pool": "vip", "strategy": "round_robin"}],
        }
    )
    check_pools(policy, ["east", "west", "vip"])
    with pytest.raises(ConfigError) as refused:
        check_pools(policy, ["north"])
    assert [path for path, _ in refused.value.problems] == [
        "routing[0].pool",
        "routing_default",
        "assignment[0].pool",
    ]
