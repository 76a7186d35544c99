"""The strategies of automatic assignment, pure: exact reasons, and the fairness each
promises over any sequence of arrivals (Hypothesis)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from poolkit import Customer, Policy, Rep
from poolkit.errors import ConfigError, InvalidValueError
from poolkit.policy.assignment import Candidate, Turn, candidate, choose, round_robin_order
from poolkit.policy.config import (
    AssignmentRule,
    CapPolicy,
    ClaimLimitPolicy,
    Inflow,
    Strategy,
)
from poolkit.testing.builders import T0, claimed, private, public

ROUND_ROBIN = AssignmentRule("north", Strategy.ROUND_ROBIN)
LEAST_LOADED = AssignmentRule("north", "least_loaded")


def weighted(**weights: int) -> AssignmentRule:
    return AssignmentRule("north", Strategy.WEIGHTED, weights=weights)


def run(
    rule: AssignmentRule, candidates: list[Candidate], times: int, turn: Turn | None = None
) -> tuple[list[str | None], Turn]:
    turn = turn or Turn()
    chosen: list[str | None] = []
    for _ in range(times):
        choice = choose(rule, candidates, turn)
        chosen.append(choice.rep_id)
        turn = choice.turn
    return chosen, turn


# ------------------------------------------------------------------ exact reasons


def test_round_robin_goes_round_the_members_in_order_of_id() -> None:
    members = [Candidate("wang"), Candidate("li"), Candidate("zhou")]
    first = choose(ROUND_ROBIN, members, Turn())
    assert (first.rep_id, first.reason) == ("li", "round robin: first in turn")
    second = choose(ROUND_ROBIN, members, first.turn)
    assert (second.rep_id, second.reason) == ("wang", "round robin: next after li")
    assert run(ROUND_ROBIN, members, 5, second.turn)[0] == ["zhou", "li", "wang", "zhou", "li"]


def test_round_robin_passes_over_the_ineligible_and_says_so() -> None:
    members = [
        Candidate("li"),
        Candidate("wang", skip="at the cap, 40 of 40"),
        Candidate("zhou", skip="unavailable"),
    ]
    choice = choose(ROUND_ROBIN, members, Turn(last="li"))
    assert choice.rep_id == "li"
    assert choice.reason == (
        "round robin: next after li; passed over wang (at the cap, 40 of 40), zhou (unavailable)"
    )


def test_round_robin_after_a_rep_who_left_the_pool_takes_the_next_id() -> None:
    choice = choose(ROUND_ROBIN, [Candidate("li"), Candidate("zhou")], Turn(last="wang"))
    assert (choice.rep_id, choice.reason) == ("zhou", "round robin: next after wang")


def test_least_loaded_takes_the_fewest_customers_and_shows_the_count_of_the_cap() -> None:
    members = [Candidate("li", 12, 40), Candidate("wang", 11, None), Candidate("zhou", 3, 40)]
    choice = choose(LEAST_LOADED, members, Turn())
    assert (choice.rep_id, choice.reason) == ("zhou", "least loaded: 3 of 40")
    members[2] = Candidate("zhou", 3, 40, skip="unavailable")
    choice = choose(LEAST_LOADED, members, Turn())
    assert (choice.rep_id, choice.reason) == ("wang", "least loaded: 11, no cap")
    tie = choose(LEAST_LOADED, [Candidate("wang", 2), Candidate("li", 2)], Turn())
    assert tie.rep_id == "li"  # a tie goes to the smaller id


def test_weighted_gives_each_their_share_interleaved() -> None:
    rule = weighted(li=5)
    members = [Candidate("li", weight=5), Candidate("wang"), Candidate("zhou")]
    first = choose(rule, members, Turn())
    assert (first.rep_id, first.reason) == ("li", "weighted: weight 5 of 7, highest credit 5")
    assert first.turn.credits == {"li": -2, "wang": 1, "zhou": 1}
    # The classic smooth weighted round robin sequence for weights 5, 1, 1.
    chosen, turn = run(rule, members, 7)
    assert chosen == ["li", "li", "wang", "li", "zhou", "li", "li"]
    assert turn.credits == {"li": 0, "wang": 0, "zhou": 0}


def test_nobody_eligible_names_every_member_and_why() -> None:
    members = [Candidate("li", skip="unavailable"), Candidate("wang", skip="departed")]
    choice = choose(ROUND_ROBIN, members, Turn(last="li"))
    assert choice.rep_id is None
    assert choice.reason == "nobody eligible: li unavailable, wang departed"
    assert choice.turn == Turn(last="li")
    assert choose(LEAST_LOADED, [], Turn()).reason == "nobody eligible: the pool has no members"


# ------------------------------------------------------------------ eligibility


def owned(n: int, owner: str = "li", **changes: object) -> list[Customer]:
    return [private(f"o{i}", owner, **changes) for i in range(n)]


@pytest.fixture
def policy() -> Policy:
    return Policy(
        caps=CapPolicy(default=2, max_locked=1),
        claim_limit=ClaimLimitPolicy(max_claims=1, window_days=1),
        cooldown_days=7,
    )


def test_a_candidate_is_passed_over_for_each_reason(policy: Policy) -> None:
    lead = public("c1")
    at = T0 + timedelta(hours=1)

    def why(rep: Rep, held: int = 0, **kwargs: object) -> str | None:
        return candidate(rep, lead, policy, at, held=owned(held), **kwargs).skip  # type: ignore[arg-type]

    assert why(Rep("li")) is None
    assert why(Rep("li", active=False)) == "departed"
    assert why(Rep("li", available=False)) == "unavailable"
    assert why(Rep("li"), excluded=frozenset({"li"})) == "just lost this customer"
    assert why(Rep("li"), held=2) == "at the cap, 2 of 2"
    assert why(Rep("li"), claims=[T0]) == "at the claim limit, 1 of 1 in 1 days"
    lost = public("c1", related_reps={"li": T0})
    skip = candidate(Rep("li"), lost, policy, at, held=[]).skip
    assert skip == "in the cooldown until 2026-03-08 01:00 +00:00"
    locked = public("c1", locked=True)
    held = owned(1, locked=True)
    assert candidate(Rep("li"), locked, policy, at, held=held).skip == "at the lock cap, 1 of 1"
    load = candidate(Rep("li"), lead, policy, at, held=owned(1))
    assert (load.load, load.cap, load.eligible) == (1, 2, True)


def test_the_cooldown_ends_to_the_second(policy: Policy) -> None:
    lost = public("c1", related_reps={"li": T0})
    ends = T0 + timedelta(days=7)
    second = timedelta(seconds=1)
    assert candidate(Rep("li"), lost, policy, ends - second, held=[]).skip is not None
    assert candidate(Rep("li"), lost, policy, ends, held=[]).skip is None
    assert candidate(Rep("li"), lost, policy, ends + second, held=[]).skip is None


def test_claims_older_than_the_window_do_not_count(policy: Policy) -> None:
    lead = public("c1")
    claim = claimed("x", 2, T0).at
    at = claim + timedelta(days=1)
    assert candidate(
        Rep("li"), lead, policy, at - timedelta(seconds=1), held=[], claims=[claim]
    ).skip
    assert candidate(Rep("li"), lead, policy, at, held=[], claims=[claim]).skip is None


# ------------------------------------------------------------------ the turn and the rule


def test_a_turn_is_stored_as_text_and_read_back() -> None:
    turn = Turn("li", {"li": -2, "wang": 1})
    assert Turn.from_text(turn.to_text()) == turn
    assert Turn.from_text(None) == Turn()
    for bad in ("{", "[]", '{"last": 3, "credits": {}}', '{"last": null, "credits": {"a": "1"}}'):
        with pytest.raises(InvalidValueError):
            Turn.from_text(bad)


def test_an_assignment_rule_refuses_every_mistake_at_once() -> None:
    with pytest.raises(ConfigError) as refused:
        AssignmentRule("", "nearest", on=[], weights={"li": 0})  # type: ignore[arg-type]
    assert [path for path, _ in refused.value.problems] == [
        "pool",
        "strategy",
        "on",
        "weights.li",
        "weights",
    ]
    assert AssignmentRule("north", "weighted").on == {Inflow.CREATED, Inflow.DROPPED}
    assert AssignmentRule("north", "weighted", weights={"li": 3}).weight_of("wang") == 1


# ------------------------------------------------------------------ properties

rep_ids = st.lists(
    st.sampled_from(["an", "bo", "cy", "di", "ed", "fu", "gu"]), min_size=1, max_size=7, unique=True
)


@given(rep_ids, st.integers(0, 60), st.none() | st.sampled_from(["an", "cy", "zz", "aa"]))
def test_round_robin_counts_differ_by_at_most_one(
    members: list[str], arrivals: int, last: str | None
) -> None:
    """Over any number of arrivals, from any turn, among the same eligible members."""
    chosen, _ = run(ROUND_ROBIN, [Candidate(m) for m in members], arrivals, Turn(last))
    counts = Counter(chosen)
    spread = [counts[m] for m in members]
    assert max(spread) - min(spread) <= 1


@given(
    st.dictionaries(st.sampled_from(["an", "bo", "cy", "di", "ed"]), st.integers(1, 9), min_size=1),
    st.integers(0, 120),
)
@example({"an": 5, "bo": 1, "cy": 1}, 7)
def test_weighted_follows_the_weights_within_the_stated_bound(
    weights: dict[str, int], arrivals: int
) -> None:
    """A member of weight w among k members of total weight W gets, after n arrivals, at
    least n*w/W - (k-1) and fewer than n*w/W + 1: never a whole one ahead of their share.
    (Credits sum to zero and the chosen one's is above -W, which gives both bounds.)"""
    rule = weighted(**weights)
    members = [Candidate(m, weight=w) for m, w in weights.items()]
    chosen, _ = run(rule, members, arrivals)
    counts = Counter(chosen)
    total, k = sum(weights.values()), len(weights)
    for rep, weight in weights.items():
        share = arrivals * weight / total
        assert share - (k - 1) <= counts[rep] < share + 1, (rep, counts, share)


candidates = st.lists(
    st.builds(
        Candidate,
        st.sampled_from(["an", "bo", "cy", "di", "ed", "fu"]),
        st.integers(0, 50),
        st.none() | st.integers(1, 50),
        st.integers(1, 5),
        st.none() | st.sampled_from(["unavailable", "at the cap, 5 of 5", "departed"]),
    ),
    unique_by=lambda c: c.rep_id,
    max_size=6,
)


@given(candidates, st.sampled_from(list(Strategy)), st.none() | st.sampled_from(["an", "cy"]))
def test_only_an_eligible_member_is_ever_chosen(
    members: list[Candidate], strategy: Strategy, last: str | None
) -> None:
    rule = AssignmentRule("north", strategy)
    choice = choose(rule, members, Turn(last))
    eligible = {c.rep_id for c in members if c.eligible}
    if eligible:
        assert choice.rep_id in eligible
    else:
        assert choice.rep_id is None and choice.reason.startswith("nobody eligible")


@given(candidates)
def test_least_loaded_never_picks_more_load_than_another_eligible(members: list[Candidate]) -> None:
    choice = choose(LEAST_LOADED, members, Turn())
    eligible = [c for c in members if c.eligible]
    if eligible:
        picked = next(c for c in members if c.rep_id == choice.rep_id)
        assert picked.load == min(c.load for c in eligible)


@given(
    st.dictionaries(st.sampled_from(["an", "bo", "cy", "di"]), st.integers(0, 4), min_size=1),
    st.integers(1, 4),
    st.integers(0, 30),
    st.sampled_from(list(Strategy)),
)
def test_filling_up_by_any_strategy_never_passes_a_cap(
    held: dict[str, int], cap: int, arrivals: int, strategy: Strategy
) -> None:
    """Arrivals one after another, each judged on what the members hold by then: a rep at
    the cap is skipped, never overfilled, and nobody is refused while one has room."""
    policy = Policy(caps=CapPolicy(default=cap))
    rule = AssignmentRule("north", strategy)
    holdings = dict(held)
    turn = Turn()
    for n in range(arrivals):
        lead = public(f"new{n}")
        members = [
            candidate(Rep(rep), lead, policy, T0, held=owned(count, rep))
            for rep, count in holdings.items()
        ]
        choice = choose(rule, members, turn)
        turn = choice.turn
        if choice.rep_id is None:
            assert all(count >= cap for count in holdings.values())
            continue
        assert holdings[choice.rep_id] < cap
        holdings[choice.rep_id] += 1
    assert all(count <= max(cap, held[rep]) for rep, count in holdings.items())


@given(candidates, st.none() | st.sampled_from(["an", "cy", "zz", "aa"]))
def test_round_robin_decides_the_same_on_the_members_up_to_the_first_eligible(
    members: list[Candidate], last: str | None
) -> None:
    """The service reads members in round robin's order only until one is eligible: the
    decision must be the one every member's reading would give."""
    by_id = {c.rep_id: c for c in members}
    prefix = []
    for rep in round_robin_order(by_id, last):
        prefix.append(by_id[rep])
        if by_id[rep].eligible:
            break
    turn = Turn(last, {"an": 3})
    assert choose(ROUND_ROBIN, prefix, turn) == choose(ROUND_ROBIN, members, turn)
