"""Rule books: drop rules, caps, claim limits and whole policies."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from poolkit.model.events import FollowUpKind
from poolkit.model.team import Team
from poolkit.policy.config import (
    DEFAULT_COLLISION_KEYS,
    AssignmentRule,
    CapPolicy,
    ClaimLimitPolicy,
    DropKind,
    DropRule,
    DropTime,
    Inflow,
    Policy,
    RoutingRule,
    Strategy,
)
from poolkit.testing.strategies._customers import GRADES
from poolkit.testing.strategies._instants import zone_names
from poolkit.testing.strategies._keys import KEY_KINDS
from poolkit.testing.strategies._people import ids


@st.composite
def drop_rules(
    draw: st.DrawFn,
    *,
    name: str | None = None,
    kinds: Sequence[DropKind] = tuple(DropKind),
    grades: Sequence[str] = GRADES,
    pool_ids: Sequence[str] = (),
    max_days: int = 60,
) -> DropRule:
    """A valid :class:`~poolkit.policy.config.DropRule` of one of ``kinds``: 1 to
    ``max_days`` days, a warning 0 to days-1 days ahead, sometimes scoped to some of
    ``grades`` and of ``pool_ids``, sometimes exempting customers that ever had a deal,
    and a ``no_follow_up`` rule sometimes counting only some follow-up kinds."""
    days = draw(st.integers(1, max_days))
    kind = draw(st.sampled_from(kinds))
    follow_up_kinds: frozenset[FollowUpKind] = frozenset()
    if kind is DropKind.NO_FOLLOW_UP and draw(st.integers(0, 2)) == 0:
        follow_up_kinds = draw(st.frozensets(st.sampled_from(FollowUpKind), min_size=1, max_size=3))
    return DropRule(
        name=name if name is not None else draw(ids("rule-")),
        kind=kind,
        days=days,
        warn_days=draw(st.integers(0, days - 1)),
        grades=draw(st.frozensets(st.sampled_from(grades), max_size=2)) if grades else frozenset(),
        pools=draw(st.frozensets(st.sampled_from(pool_ids), max_size=2))
        if pool_ids
        else frozenset(),
        exempt_if_dealt=draw(st.integers(0, 4)) == 0,
        follow_up_kinds=follow_up_kinds,
    )


def _per_rep(
    rep_ids: Sequence[str], values: st.SearchStrategy[int]
) -> st.SearchStrategy[dict[str, int]]:
    if not rep_ids:
        return st.just({})
    return st.dictionaries(st.sampled_from(rep_ids), values, max_size=3)


def cap_policies(rep_ids: Sequence[str] = ()) -> st.SearchStrategy[CapPolicy]:
    """A :class:`~poolkit.policy.config.CapPolicy`: no cap or a small company-wide one,
    per-rep overrides for some of ``rep_ids``, and either counting rule for dealt and
    locked customers."""
    return st.builds(
        CapPolicy,
        default=st.none() | st.integers(0, 8),
        per_rep=_per_rep(rep_ids, st.integers(0, 8)),
        count_dealt=st.booleans(),
        count_locked=st.booleans(),
    )


def claim_limit_policies(rep_ids: Sequence[str] = ()) -> st.SearchStrategy[ClaimLimitPolicy]:
    """A :class:`~poolkit.policy.config.ClaimLimitPolicy`: no limit or 0-5 claims per rolling
    1-14 days, with per-rep overrides for some of ``rep_ids``."""
    return st.builds(
        ClaimLimitPolicy,
        max_claims=st.none() | st.integers(0, 5),
        window_days=st.integers(1, 14),
        per_rep=_per_rep(rep_ids, st.integers(0, 5)),
    )


@st.composite
def policies(
    draw: st.DrawFn,
    *,
    team: Team | None = None,
    rep_ids: Sequence[str] = (),
    pool_ids: Sequence[str] = (),
    grades: Sequence[str] = GRADES,
    timezones: st.SearchStrategy[str] | None = None,
    max_rules: int = 5,
    max_days: int = 60,
) -> Policy:
    """A random but valid :class:`~poolkit.policy.config.Policy`.

    A zone from ``timezones`` (default :func:`zone_names`), either
    :class:`~poolkit.policy.config.DropTime`, up to ``max_rules`` drop rules of all three
    kinds (see :func:`drop_rules`; scoped to ``grades`` and pools), caps and claim limits
    with per-rep overrides, a cooldown of 0-14 days, collision keys (the default set or
    some of :data:`KEY_KINDS`), and sometimes a routing rule. With ``team``, per-rep
    overrides name its reps and scopes its pools; otherwise ``rep_ids``/``pool_ids``.
    """
    if team is not None:
        rep_ids = [rep.id for rep in team.reps]
        pool_ids = [pool.id for pool in team.pools]
    rule_names = draw(st.lists(ids("rule-"), max_size=max_rules, unique=True))
    rules = tuple(
        draw(drop_rules(name=name, grades=grades, pool_ids=pool_ids, max_days=max_days))
        for name in rule_names
    )
    collision_keys = draw(
        st.just(DEFAULT_COLLISION_KEYS)
        | st.frozensets(st.sampled_from(KEY_KINDS), min_size=1, max_size=len(KEY_KINDS))
    )
    routing: tuple[RoutingRule, ...] = ()
    if pool_ids and draw(st.integers(0, 3)) == 0:
        routing = (
            RoutingRule(attribute="tier", equals="vip", pool=draw(st.sampled_from(pool_ids))),
        )
    return Policy(
        timezone=draw(timezones if timezones is not None else zone_names()),
        drop_time=draw(st.sampled_from(DropTime)),
        drop_rules=rules,
        caps=draw(cap_policies(rep_ids)),
        claim_limit=draw(claim_limit_policies(rep_ids)),
        cooldown_days=draw(st.integers(0, 14)),
        collision_keys=collision_keys,
        routing=routing,
    )


# The attributes routing rules test, and a few values each, so that drawn customers often
# meet drawn rules (and often miss them by one value).
ROUTING_ATTRIBUTES = {
    "region": ("north", "south", "east"),
    "industry": ("finance", "textiles"),
    "source": ("trade fair", "web"),
    "tier": ("vip", 1, True),
}
ROUTING_TAGS = ("fair-2026", "key-account", "export")


def attribute_maps() -> st.SearchStrategy[dict[str, str | int | float | bool]]:
    """Customer attributes over :data:`ROUTING_ATTRIBUTES` (some missing)."""
    return st.fixed_dictionaries(
        {},
        optional={name: st.sampled_from(values) for name, values in ROUTING_ATTRIBUTES.items()},
    )


@st.composite
def routing_rules(draw: st.DrawFn, pool_ids: Sequence[str] = ("north", "vip")) -> RoutingRule:
    """A valid :class:`~poolkit.policy.config.RoutingRule` to one of ``pool_ids``: the
    one-condition form, attribute conditions with one or several values, tags, or a mix,
    sometimes named."""
    names = sorted(ROUTING_ATTRIBUTES)
    single = draw(st.none() | st.sampled_from(names))
    chosen = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
    attributes = {
        name: draw(
            st.lists(st.sampled_from(ROUTING_ATTRIBUTES[name]), min_size=1, max_size=2, unique=True)
        )
        for name in chosen
    }
    tags = draw(st.frozensets(st.sampled_from(ROUTING_TAGS), max_size=2))
    if single is None and not attributes and not tags:
        tags = frozenset({ROUTING_TAGS[0]})
    return RoutingRule(
        attribute=single,
        equals=draw(st.sampled_from(ROUTING_ATTRIBUTES[single])) if single else None,
        pool=draw(st.sampled_from(pool_ids)),
        name=draw(st.sampled_from(("", "north region", "fair leads"))),
        attributes=attributes,
        tags=tags,
    )


@st.composite
def assignment_rules(
    draw: st.DrawFn,
    pool_ids: Sequence[str] = ("north", "vip"),
    rep_ids: Sequence[str] = ("li", "wang", "zhou"),
) -> AssignmentRule:
    """A valid :class:`~poolkit.policy.config.AssignmentRule` for one of ``pool_ids``: any
    strategy, a non-empty set of inflows, and for ``weighted`` sometimes weights 1-9 for
    some of ``rep_ids``."""
    strategy = draw(st.sampled_from(Strategy))
    weights = (
        draw(st.dictionaries(st.sampled_from(rep_ids), st.integers(1, 9), max_size=len(rep_ids)))
        if strategy is Strategy.WEIGHTED and rep_ids
        else {}
    )
    return AssignmentRule(
        draw(st.sampled_from(pool_ids)),
        strategy,
        on=draw(st.frozensets(st.sampled_from(Inflow), min_size=1)),
        weights=weights,
    )
