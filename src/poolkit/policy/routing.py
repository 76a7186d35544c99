"""Routing you can check: which public pool a new customer belongs to, and why.

The policy's routing rules are tried in order; the first whose every condition holds
names the pool. When none holds, ``routing_default`` does, else the team's default pool.
:func:`explain` returns the whole reasoning as a value: the rule that matched (its
position, name and conditions) or, for each rule passed over, the conditions it missed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from poolkit.errors import ConfigError
from poolkit.model._reading import Problems
from poolkit.model.customer import AttributeValue
from poolkit.policy.config import Policy, RoutingRule

__all__ = ["Miss", "RouteExplanation", "check_pools", "explain", "route"]


@attrs.frozen
class Miss:
    """A rule passed over: its position, its name, and the conditions not met."""

    index: int
    name: str
    unmet: tuple[str, ...]

    @property
    def message(self) -> str:
        return f"rule {_label(self.index, self.name)}: {'; '.join(self.unmet)}"


@attrs.frozen
class RouteExplanation:
    """Where a customer is routed, and why.

    ``rule_index`` is the position of the rule that matched (None: no rule matched and
    the default applied: ``routing_default``, or the team's default pool when
    ``pool_id`` is None). ``misses`` are the rules tried before, and why each did not match.
    """

    pool_id: str | None
    rule_index: int | None
    rule_name: str
    conditions: tuple[str, ...]
    misses: tuple[Miss, ...]

    @property
    def matched(self) -> bool:
        return self.rule_index is not None

    @property
    def message(self) -> str:
        """One line a person understands: which rule and why, or why the default."""
        if self.rule_index is not None:
            why = " and ".join(self.conditions)
            rule = _label(self.rule_index, self.rule_name)
            return f"rule {rule} matched ({why}): pool {self.pool_id}"
        where = f"pool {self.pool_id}" if self.pool_id else "the team's default pool"
        if not self.misses:
            return f"no routing rules: {where}"
        return f"no rule matched: {where} (the default)"


def _label(index: int, name: str) -> str:
    return f"{index} ({name!r})" if name else str(index)


def explain(
    attributes: Mapping[str, AttributeValue] | None,
    tags: Iterable[str],
    policy: Policy,
) -> RouteExplanation:
    """Try the policy's routing rules in order on a customer with these attributes and tags."""
    values = attributes or {}
    held = frozenset(tags)
    misses: list[Miss] = []
    for index, rule in enumerate(policy.routing):
        unmet = rule.unmet(values, held)
        if not unmet:
            return RouteExplanation(rule.pool, index, rule.name, rule.conditions, tuple(misses))
        misses.append(Miss(index, rule.name, unmet))
    return RouteExplanation(policy.routing_default, None, "", (), tuple(misses))


def route(
    attributes: Mapping[str, AttributeValue] | None, policy: Policy, tags: Iterable[str] = ()
) -> str | None:
    """The pool the routing sends such a customer to (None: the team's default pool)."""
    if not policy.routing and policy.routing_default is None:
        return None
    return explain(attributes, tags, policy).pool_id


def _rule_pools(rules: Iterable[RoutingRule]) -> Iterable[tuple[str, str]]:
    for index, rule in enumerate(rules):
        yield f"routing[{index}].pool", rule.pool


def check_pools(policy: Policy, pool_ids: Iterable[str]) -> None:
    """Refuse a policy naming a pool the team does not have, in its routing rules, its
    ``routing_default`` or its automatic assignment: every such mistake at once."""
    known = set(pool_ids)
    named = list(_rule_pools(policy.routing))
    if policy.routing_default is not None:
        named.append(("routing_default", policy.routing_default))
    named += [(f"assignment[{i}].pool", rule.pool) for i, rule in enumerate(policy.assignment)]
    problems: Problems = [
        (path, f"unknown pool {pool!r}") for path, pool in named if pool not in known
    ]
    if problems:
        raise ConfigError("", problems=problems)
