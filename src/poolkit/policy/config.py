"""The policy as data: drop rules, caps, claim limits, cooldown, collision keys, routing.

Every check of a policy lives in its classes: a :class:`Policy` (or a :class:`DropRule`, a
:class:`CapPolicy`...) that exists is valid, however it was made. Each class checks all of
its own values at once and raises one :class:`~poolkit.errors.ConfigError` listing every
mistake, each under the key that names it in a policy document.

:meth:`Policy.from_dict` and :meth:`Policy.from_toml` only read: they find the tables and
keys of the document, refuse unknown keys (a typo in a rule book should not silently mean
"no rule"), hand the values to the classes, and gather what every class refused into one
error whose paths say where in the document, e.g. ``drop_rules[2].days: must be > 0``.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from poolkit.errors import ConfigError
from poolkit.model._checks import MAX_INT
from poolkit.model._reading import Problems, Reader, load_toml
from poolkit.model.customer import AttributeValue
from poolkit.model.events import FollowUpKind

__all__ = [
    "DEFAULT_COLLISION_KEYS",
    "AssignmentRule",
    "CapPolicy",
    "ClaimLimitPolicy",
    "DropKind",
    "DropRule",
    "DropTime",
    "Inflow",
    "Policy",
    "RoutingRule",
    "SimilarityPolicy",
    "Strategy",
    "VisibilityPolicy",
]

E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")


def _whole(problems: Problems, path: str, value: object, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append((path, f"must be a whole number, got {value!r}"))
    elif value < least:
        problems.append((path, "must be > 0" if least == 1 else f"must be >= {least}"))
    elif value > MAX_INT:
        # Policies are stored; a store keeps integers up to 64 bits exactly, and no larger.
        problems.append((path, f"must be <= {MAX_INT}"))


def _boolean(problems: Problems, path: str, value: object) -> None:
    if not isinstance(value, bool):
        problems.append((path, f"must be true or false, got {value!r}"))


def _text(problems: Problems, path: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        problems.append((path, f"must be a non-empty string, got {value!r}"))


def _texts(problems: Problems, path: str, value: object) -> None:
    if not isinstance(value, frozenset):
        problems.append((path, f"must be a list of strings, got {value!r}"))
        return
    for item in sorted(value, key=repr):
        if not isinstance(item, str) or not item.strip():
            problems.append((path, f"must hold non-empty strings, got {item!r}"))


def _kinds(problems: Problems, path: str, value: object) -> None:
    choices = ", ".join(kind.value for kind in FollowUpKind)
    if not isinstance(value, frozenset):
        problems.append((path, f"must be a list of follow-up kinds ({choices}), got {value!r}"))
        return
    for item in sorted(value, key=repr):
        if not isinstance(item, FollowUpKind):
            problems.append((path, f"must hold follow-up kinds ({choices}), got {item!r}"))


def _member(problems: Problems, path: str, value: object, kind: type[enum.Enum]) -> None:
    if not isinstance(value, kind):
        choices = ", ".join(str(member.value) for member in kind)
        problems.append((path, f"must be one of {choices}, got {value!r}"))


def _per_rep(problems: Problems, path: str, value: object) -> None:
    if not isinstance(value, Mapping):
        problems.append((path, f"must be a table of rep ids to whole numbers, got {value!r}"))
        return
    for rep_id, number in value.items():
        _whole(problems, f"{path}.{rep_id}", number, 0)


def _refuse(problems: Problems) -> None:
    if problems:
        raise ConfigError("", problems=problems)


# Converters turn what a document holds (a string, a list) into the field's type when they
# can, and otherwise pass the value through unchanged: the class's check then refuses it
# together with every other mistake, where a converter raising would report only the first.


def _enum(kind: type[E], value: object) -> E:
    if isinstance(value, kind):
        return value
    try:
        return kind(value)
    except ValueError:
        return cast(E, value)


def _drop_kind(value: DropKind | str) -> DropKind:
    return _enum(DropKind, value)


def _drop_time(value: DropTime | str) -> DropTime:
    return _enum(DropTime, value)


def _follow_up_kinds(value: Iterable[FollowUpKind | str]) -> frozenset[FollowUpKind]:
    """Kinds given as :class:`FollowUpKind` members or their values ("visit")."""
    if isinstance(value, list | tuple | set | frozenset):
        try:
            return frozenset(_enum(FollowUpKind, item) for item in value)
        except TypeError:  # an unhashable item: refused by the check
            pass
    return cast(frozenset[FollowUpKind], value)


def _names(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, list | tuple | set | frozenset):
        try:
            return frozenset(value)
        except TypeError:  # an unhashable item: refused by the check
            pass
    return cast(frozenset[str], value)


def _read_only(values: Mapping[str, int]) -> Mapping[str, int]:
    """A read-only copy, so a frozen policy cannot be changed (or made invalid) through it."""
    if isinstance(values, Mapping):
        return MappingProxyType(dict(values))
    return values


def _tuple_of(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list | tuple) else cast(tuple[Any, ...], value)


def _zone(name: object) -> ZoneInfo | str:
    """The zone, or why there is none."""
    if not isinstance(name, str) or not name:
        return f"must be an IANA time zone name, got {name!r}"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return f"unknown time zone {name!r}"


class DropKind(enum.Enum):
    """What a drop rule watches for."""

    NO_FOLLOW_UP = "no_follow_up"  # nobody followed it up for N days
    NO_FIRST_DEAL = "no_first_deal"  # no deal within N days of being taken
    NO_REPEAT_DEAL = "no_repeat_deal"  # no further deal within N days of the last deal


class DropTime(enum.Enum):
    """Where in the day a deadline falls."""

    EXACT = "exact"  # the same local wall time N calendar days later
    START_OF_DAY = "start_of_day"  # local midnight starting the Nth calendar day after


@attrs.frozen
class DropRule:
    """One drop rule (掉落规则). Empty ``grades``/``pools`` mean every grade/pool.

    ``warn_days`` before the drop, the owner is warned (0: no warning). With
    ``exempt_if_dealt`` the rule skips customers that ever had a deal. ``kind`` may be
    given by its value (``"no_follow_up"``). ``follow_up_kinds``, for a ``no_follow_up``
    rule only, names the :class:`~poolkit.model.events.FollowUpKind` values that reset its
    clock (empty: every kind), e.g. ``{"visit"}`` for "not visited for 7 days".
    """

    name: str
    kind: DropKind = attrs.field(converter=_drop_kind)
    days: int
    warn_days: int = 0
    grades: frozenset[str] = attrs.field(default=frozenset(), converter=_names)
    pools: frozenset[str] = attrs.field(default=frozenset(), converter=_names)
    exempt_if_dealt: bool = False
    follow_up_kinds: frozenset[FollowUpKind] = attrs.field(
        default=frozenset(), converter=_follow_up_kinds
    )

    def __attrs_post_init__(self) -> None:
        problems: Problems = []
        _text(problems, "name", self.name)
        _member(problems, "kind", self.kind, DropKind)
        _whole(problems, "days", self.days, 1)
        _whole(problems, "warn_days", self.warn_days, 0)
        if not problems and self.warn_days >= self.days:
            problems.append(("warn_days", f"must be < days ({self.days})"))
        _texts(problems, "grades", self.grades)
        _texts(problems, "pools", self.pools)
        _boolean(problems, "exempt_if_dealt", self.exempt_if_dealt)
        _kinds(problems, "follow_up_kinds", self.follow_up_kinds)
        if self.follow_up_kinds and self.kind is not DropKind.NO_FOLLOW_UP:
            problems.append(("follow_up_kinds", "only a no_follow_up rule counts follow-ups"))
        _refuse(problems)

    def applies_to_scope(self, grade: str | None, pool_id: str) -> bool:
        if self.grades and grade not in self.grades:
            return False
        return not (self.pools and pool_id not in self.pools)


@attrs.frozen
class CapPolicy:
    """Caps (库容上限): ``default`` for everyone (None: unlimited), ``per_rep`` overrides.

    ``count_dealt`` / ``count_locked`` say whether customers with a deal / with a drop-exempt
    lock count toward the cap. ``max_locked`` caps how many customers one rep may have
    locked against drops (None: no lock cap), ``locked_per_rep`` overrides it per rep.
    """

    default: int | None = None
    per_rep: Mapping[str, int] = attrs.field(factory=dict, converter=_read_only, hash=False)
    count_dealt: bool = True
    count_locked: bool = True
    max_locked: int | None = None
    locked_per_rep: Mapping[str, int] = attrs.field(factory=dict, converter=_read_only, hash=False)

    def __attrs_post_init__(self) -> None:
        problems: Problems = []
        if self.default is not None:
            _whole(problems, "default", self.default, 0)
        _per_rep(problems, "per_rep", self.per_rep)
        _boolean(problems, "count_dealt", self.count_dealt)
        _boolean(problems, "count_locked", self.count_locked)
        if self.max_locked is not None:
            _whole(problems, "max_locked", self.max_locked, 0)
        _per_rep(problems, "locked_per_rep", self.locked_per_rep)
        _refuse(problems)


@attrs.frozen
class ClaimLimitPolicy:
    """Claim limits (领取上限): at most ``max_claims`` claims per rolling ``window_days``."""

    max_claims: int | None = None
    window_days: int = 1
    per_rep: Mapping[str, int] = attrs.field(factory=dict, converter=_read_only, hash=False)

    def __attrs_post_init__(self) -> None:
        problems: Problems = []
        if self.max_claims is not None:
            _whole(problems, "max_claims", self.max_claims, 0)
        _whole(problems, "window_days", self.window_days, 1)
        _per_rep(problems, "per_rep", self.per_rep)
        _refuse(problems)


@attrs.frozen
class SimilarityPolicy:
    """Similar-customer warnings: names scoring ``threshold`` (0-100) or more against a stored
    name, and that may be the same company, file a review item; ``per_block`` bounds the
    candidates read per blocking key, ``max_per_customer`` the items one customer files."""

    enabled: bool = True
    threshold: float = 85.0
    per_block: int = 50
    max_per_customer: int = 5

    def __attrs_post_init__(self) -> None:
        problems: Problems = []
        _boolean(problems, "enabled", self.enabled)
        threshold = self.threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            problems.append(("threshold", f"must be a number, got {threshold!r}"))
        elif not 0 < threshold <= 100:
            problems.append(("threshold", "must be > 0 and <= 100"))
        _whole(problems, "per_block", self.per_block, 1)
        _whole(problems, "max_per_customer", self.max_per_customer, 1)
        _refuse(problems)


@attrs.frozen
class VisibilityPolicy:
    """Who sees a customer beyond the owner, superiors, pool members and admins:
    ``creator_sees`` lets the rep who entered a customer see it wherever it goes (the
    source CRM's "created by me" list), like a related rep. ``mask_keys`` shows identity
    keys masked (``138****8000``) to whoever reads a customer they do not own, unless they
    are above its owner or an admin: pool members browsing a public pool, related reps,
    creators (see :mod:`poolkit.identity.masking`)."""

    creator_sees: bool = True
    mask_keys: bool = False

    def __attrs_post_init__(self) -> None:
        problems: Problems = []
        _boolean(problems, "creator_sees", self.creator_sees)
        _boolean(problems, "mask_keys", self.mask_keys)
        _refuse(problems)

    def to_dict(self) -> dict[str, bool]:
        """The keys that differ from the default (so that older policies keep their
        fingerprint)."""
        out: dict[str, bool] = {}
        if not self.creator_sees:
            out["creator_sees"] = False
        if self.mask_keys:
            out["mask_keys"] = True
        return out


def _attribute_choices(
    value: Mapping[str, AttributeValue | Iterable[AttributeValue]],
) -> Mapping[str, tuple[AttributeValue, ...]]:
    """Each attribute's accepted values as a tuple: one value, or a list of them."""
    if not isinstance(value, Mapping):
        return cast(Mapping[str, tuple[AttributeValue, ...]], value)
    choices: dict[str, Any] = {}
    for name, wanted in value.items():
        choices[name] = tuple(wanted) if isinstance(wanted, list | tuple) else (wanted,)
    return MappingProxyType(choices)


def _attribute_value(value: object) -> bool:
    return isinstance(value, str | int | float | bool)


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value)


@attrs.frozen
class RoutingRule:
    """Where new customers belong (a geo-fenced region belongs to one team's pool).

    A rule matches when every condition it names holds: ``attribute`` equals ``equals``
    (the one-condition form), each attribute in ``attributes`` has one of the values
    listed for it (``{"region": ["north", "northeast"], "industry": "finance"}``), and the
    customer carries every tag in ``tags``. Rules are tried in order; the first that
    matches sends the customer to ``pool``. ``name`` labels the rule in explanations.
    """

    attribute: str | None = None
    equals: AttributeValue | None = None
    pool: str = ""
    name: str = ""
    attributes: Mapping[str, tuple[AttributeValue, ...]] = attrs.field(
        factory=dict, converter=_attribute_choices, hash=False
    )
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_names)

    def __attrs_post_init__(self) -> None:
        problems: Problems = []
        if self.attribute is not None or self.equals is not None:
            _text(problems, "attribute", self.attribute)
            if not _attribute_value(self.equals):
                problems.append(
                    ("equals", f"must be a string, number or boolean, got {self.equals!r}")
                )
        _text(problems, "pool", self.pool)
        if not isinstance(self.name, str):
            problems.append(("name", f"must be a string, got {self.name!r}"))
        if not isinstance(self.attributes, Mapping):
            problems.append(
                ("attributes", f"must be a table of attributes, got {self.attributes!r}")
            )
        else:
            for key, wanted in self.attributes.items():
                _text(problems, "attributes", key)
                if not wanted or not all(_attribute_value(item) for item in wanted):
                    problems.append(
                        (
                            f"attributes.{key}",
                            f"must be a value or a non-empty list of values, got {list(wanted)!r}",
                        )
                    )
        _texts(problems, "tags", self.tags)
        if not problems and self.attribute is None and not self.attributes and not self.tags:
            problems.append(
                (
                    "pool",
                    "a rule needs a condition (attribute, attributes or tags); "
                    "routing_default names the pool for everyone else",
                )
            )
        _refuse(problems)

    @property
    def conditions(self) -> tuple[str, ...]:
        """The rule's conditions, each in words: ``region is 'north'``."""
        found: list[str] = []
        if self.attribute is not None:
            found.append(f"{self.attribute} is {_shown(self.equals)}")
        for key, wanted in sorted(self.attributes.items()):
            if len(wanted) == 1:
                found.append(f"{key} is {_shown(wanted[0])}")
            else:
                found.append(f"{key} is one of {', '.join(_shown(item) for item in wanted)}")
        found.extend(f"tagged {tag!r}" for tag in sorted(self.tags))
        return tuple(found)

    def unmet(
        self, attributes: Mapping[str, AttributeValue], tags: frozenset[str]
    ) -> tuple[str, ...]:
        """The conditions a customer with these attributes and tags does not meet, each
        saying what it has instead (empty: the rule matches)."""
        missing: list[str] = []
        wants: list[tuple[str, tuple[AttributeValue | None, ...]]] = []
        if self.attribute is not None:
            wants.append((self.attribute, (self.equals,)))
        wants += sorted(self.attributes.items())
        for key, wanted in wants:
            has = attributes.get(key)
            if has is None or not any(_same(has, item) for item in wanted):
                what = f"no {key}" if has is None else f"{key} is {_shown(has)}"
                accepted = " or ".join(_shown(item) for item in wanted)
                missing.append(f"{what}, not {accepted}")
        missing.extend(f"not tagged {tag!r}" for tag in sorted(self.tags - tags))
        return tuple(missing)


def _same(has: AttributeValue, wanted: AttributeValue | None) -> bool:
    """Equal values of the same kind: ``True`` is not the number 1 (nor 1 a string)."""
    if isinstance(has, bool) or isinstance(wanted, bool):
        return has is wanted
    return has == wanted


class Strategy(enum.Enum):
    """How a pool hands out customers automatically."""

    ROUND_ROBIN = "round_robin"  # each eligible member in turn
    WEIGHTED = "weighted"  # in turn, each as often as their weight says
    LEAST_LOADED = "least_loaded"  # the eligible member holding the fewest customers


class Inflow(enum.Enum):
    """How a customer comes into a pool, for automatic assignment."""

    CREATED = "created"  # entered or routed into the pool as a new customer
    DROPPED = "dropped"  # dropped back by a drop rule (the sweep)
    DEPARTED = "departed"  # its owner left: spread over the pool instead of dropping


def _strategy(value: Strategy | str) -> Strategy:
    return _enum(Strategy, value)


def _inflows(value: Iterable[Inflow | str]) -> frozenset[Inflow]:
    if isinstance(value, list | tuple | set | frozenset):
        try:
            return frozenset(_enum(Inflow, item) for item in value)
        except TypeError:  # an unhashable item: refused by the check
            pass
    return cast(frozenset[Inflow], value)


_DEFAULT_INFLOWS = frozenset({Inflow.CREATED, Inflow.DROPPED})


@attrs.frozen
class AssignmentRule:
    """Automatic assignment (自动分配) for one pool: customers coming in ``on`` these
    inflows go straight to an eligible member of ``pool``, chosen by ``strategy``.

    ``weights`` (for ``weighted`` only) give members their share: a member weighted 2
    gets twice the customers of one weighted 1; a member not listed weighs 1.
    """

    pool: str
    strategy: Strategy = attrs.field(converter=_strategy)
    on: frozenset[Inflow] = attrs.field(default=_DEFAULT_INFLOWS, converter=_inflows)
    weights: Mapping[str, int] = attrs.field(factory=dict, converter=_read_only, hash=False)

    def __attrs_post_init__(self) -> None:
        problems: Problems = []
        _text(problems, "pool", self.pool)
        _member(problems, "strategy", self.strategy, Strategy)
        choices = ", ".join(inflow.value for inflow in Inflow)
        if not isinstance(self.on, frozenset) or not self.on:
            problems.append(("on", f"must be a non-empty list of inflows ({choices})"))
        else:
            for item in sorted(self.on, key=repr):
                if not isinstance(item, Inflow):
                    problems.append(("on", f"must hold inflows ({choices}), got {item!r}"))
        if not isinstance(self.weights, Mapping):
            problems.append(
                ("weights", f"must be a table of rep ids to weights, got {self.weights!r}")
            )
        else:
            for rep_id, weight in self.weights.items():
                _whole(problems, f"weights.{rep_id}", weight, 1)
            if self.weights and self.strategy is not Strategy.WEIGHTED:
                problems.append(("weights", "only the weighted strategy uses weights"))
        _refuse(problems)

    def weight_of(self, rep_id: str) -> int:
        return self.weights.get(rep_id, 1)


DEFAULT_COLLISION_KEYS = frozenset({"phone", "uscc", "org_code", "email"})


@attrs.frozen
class Policy:
    """Everything an admin configures about how customers move.

    A mistake is reported under its key in a policy document: ``cooldown_days`` as
    ``cooldown.days``, ``collision_keys`` as ``collision.keys``.
    """

    timezone: str = "UTC"
    drop_time: DropTime = attrs.field(default=DropTime.EXACT, converter=_drop_time)
    drop_rules: tuple[DropRule, ...] = attrs.field(default=(), converter=_tuple_of)
    caps: CapPolicy = CapPolicy()
    claim_limit: ClaimLimitPolicy = ClaimLimitPolicy()
    cooldown_days: int = 0
    collision_keys: frozenset[str] = attrs.field(default=DEFAULT_COLLISION_KEYS, converter=_names)
    routing: tuple[RoutingRule, ...] = attrs.field(default=(), converter=_tuple_of)
    phone_region: str = "CN"
    similarity: SimilarityPolicy = SimilarityPolicy()
    visibility: VisibilityPolicy = VisibilityPolicy()
    routing_default: str | None = None
    assignment: tuple[AssignmentRule, ...] = attrs.field(default=(), converter=_tuple_of)
    zone: ZoneInfo = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        problems: Problems = []
        zone = _zone(self.timezone)
        if isinstance(zone, str):
            problems.append(("timezone", zone))
        else:
            object.__setattr__(self, "zone", zone)
        _member(problems, "drop_time", self.drop_time, DropTime)
        problems += _drop_rule_problems(self.drop_rules)
        for key, value, kind in (
            ("caps", self.caps, CapPolicy),
            ("claim_limit", self.claim_limit, ClaimLimitPolicy),
            ("similarity", self.similarity, SimilarityPolicy),
            ("visibility", self.visibility, VisibilityPolicy),
        ):
            if not isinstance(value, kind):
                problems.append((key, f"must be a {kind.__name__}, got {value!r}"))
        _whole(problems, "cooldown.days", self.cooldown_days, 0)
        _texts(problems, "collision.keys", self.collision_keys)
        if not isinstance(self.routing, tuple):
            problems.append(("routing", f"must be a list of RoutingRule, got {self.routing!r}"))
        else:
            for index, rule in enumerate(self.routing):
                if not isinstance(rule, RoutingRule):
                    problems.append((f"routing[{index}]", f"must be a RoutingRule, got {rule!r}"))
        problems += _assignment_problems(self.assignment)
        if self.routing_default is not None:
            _text(problems, "routing_default", self.routing_default)
        region = self.phone_region
        if not (
            isinstance(region, str)
            and len(region) == 2
            and region.isascii()
            and region.isalpha()
            and region.isupper()
        ):
            problems.append(
                ("phone_region", f"must be a two-letter region code like CN, got {region!r}")
            )
        _refuse(problems)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Read a policy document (the shape of ``examples/policy.toml``); every mistake
        in it is reported at once, in one :class:`~poolkit.errors.ConfigError`."""
        return _read_policy(data)

    @classmethod
    def from_toml(cls, path: str | Path) -> Policy:
        """Read a policy file; a mistake in it is reported with the file's name (and for a
        syntax or encoding mistake, the line)."""
        return load_toml(path, "policy", cls.from_dict)

    def to_dict(self) -> dict[str, Any]:
        """The plain-dict form; ``Policy.from_dict(p.to_dict()) == p``."""
        return {
            "timezone": self.timezone,
            "drop_time": self.drop_time.value,
            "drop_rules": [
                {
                    "name": rule.name,
                    "kind": rule.kind.value,
                    "days": rule.days,
                    "warn_days": rule.warn_days,
                    "grades": sorted(rule.grades),
                    "pools": sorted(rule.pools),
                    "exempt_if_dealt": rule.exempt_if_dealt,
                    # Written only when set, so that older rules keep their fingerprint.
                    **(
                        {"follow_up_kinds": sorted(kind.value for kind in rule.follow_up_kinds)}
                        if rule.follow_up_kinds
                        else {}
                    ),
                }
                for rule in self.drop_rules
            ],
            "caps": {
                **({"default": self.caps.default} if self.caps.default is not None else {}),
                "per_rep": dict(self.caps.per_rep),
                "count_dealt": self.caps.count_dealt,
                "count_locked": self.caps.count_locked,
                # Written only when set, so that a policy without a lock cap keeps the
                # fingerprint it had before lock caps existed.
                **(
                    {"max_locked": self.caps.max_locked} if self.caps.max_locked is not None else {}
                ),
                **(
                    {"locked_per_rep": dict(self.caps.locked_per_rep)}
                    if self.caps.locked_per_rep
                    else {}
                ),
            },
            "claim_limit": {
                **(
                    {"max_claims": self.claim_limit.max_claims}
                    if self.claim_limit.max_claims is not None
                    else {}
                ),
                "window_days": self.claim_limit.window_days,
                "per_rep": dict(self.claim_limit.per_rep),
            },
            "cooldown": {"days": self.cooldown_days},
            "collision": {"keys": sorted(self.collision_keys)},
            "routing": [_routing_dict(rule) for rule in self.routing],
            # Written only when set, so that older policies keep their fingerprint.
            **({"routing_default": self.routing_default} if self.routing_default else {}),
            **(
                {"assignment": [_assignment_dict(rule) for rule in self.assignment]}
                if self.assignment
                else {}
            ),
            "phone_region": self.phone_region,
            "similarity": {
                "enabled": self.similarity.enabled,
                "threshold": self.similarity.threshold,
                "per_block": self.similarity.per_block,
                "max_per_customer": self.similarity.max_per_customer,
            },
            # Written only when it differs from the default, so that older policies keep
            # their fingerprint.
            **({"visibility": self.visibility.to_dict()} if self.visibility.to_dict() else {}),
        }

    def assignment_for(self, pool_id: str, inflow: Inflow | None = None) -> AssignmentRule | None:
        """The pool's automatic assignment, if it has one (for ``inflow``, if given)."""
        for rule in self.assignment:
            if rule.pool == pool_id and (inflow is None or inflow in rule.on):
                return rule
        return None

    def fingerprint(self) -> str:
        """A digest of the rules: stores compare it to know when deadlines need recomputing."""
        text = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def cap_for(self, rep_id: str, personal: int | None) -> int | None:
        """The cap in force for a rep: the policy's per-rep entry, else the rep's own cap,
        else the default."""
        if rep_id in self.caps.per_rep:
            return self.caps.per_rep[rep_id]
        return personal if personal is not None else self.caps.default

    def lock_cap_for(self, rep_id: str) -> int | None:
        """How many customers the rep may have locked against drops: the policy's
        ``caps.locked_per_rep`` entry for the rep, else ``caps.max_locked`` (None: no cap)."""
        if rep_id in self.caps.locked_per_rep:
            return self.caps.locked_per_rep[rep_id]
        return self.caps.max_locked

    def claim_limit_for(self, rep_id: str, personal: int | None) -> int | None:
        if rep_id in self.claim_limit.per_rep:
            return self.claim_limit.per_rep[rep_id]
        return personal if personal is not None else self.claim_limit.max_claims


def _routing_dict(rule: RoutingRule) -> dict[str, Any]:
    # Only the keys a rule sets, so that a rule of the one-condition form keeps the
    # fingerprint it had before the other conditions existed.
    return {
        **(
            {"attribute": rule.attribute, "equals": rule.equals}
            if rule.attribute is not None
            else {}
        ),
        "pool": rule.pool,
        **({"name": rule.name} if rule.name else {}),
        **(
            {"attributes": {key: list(values) for key, values in rule.attributes.items()}}
            if rule.attributes
            else {}
        ),
        **({"tags": sorted(rule.tags)} if rule.tags else {}),
    }


def _assignment_dict(rule: AssignmentRule) -> dict[str, Any]:
    return {
        "pool": rule.pool,
        "strategy": rule.strategy.value,
        "on": sorted(inflow.value for inflow in rule.on),
        **({"weights": dict(rule.weights)} if rule.weights else {}),
    }


def _assignment_problems(rules: object) -> Problems:
    if not isinstance(rules, tuple):
        return [("assignment", f"must be a list of AssignmentRule, got {rules!r}")]
    problems: Problems = []
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        if not isinstance(rule, AssignmentRule):
            problems.append((f"assignment[{index}]", f"must be an AssignmentRule, got {rule!r}"))
            continue
        if rule.pool in seen:
            problems.append((f"assignment[{index}].pool", f"pool {rule.pool!r} named twice"))
        seen.add(rule.pool)
    return problems


def _drop_rule_problems(rules: object) -> Problems:
    if not isinstance(rules, tuple):
        return [("drop_rules", f"must be a list of DropRule, got {rules!r}")]
    problems: Problems = []
    for index, rule in enumerate(rules):
        if not isinstance(rule, DropRule):
            problems.append((f"drop_rules[{index}]", f"must be a DropRule, got {rule!r}"))
    return problems + _duplicate_names([getattr(rule, "name", None) for rule in rules])


def _duplicate_names(names: list[object]) -> Problems:
    """A rule name used twice would make a customer's deadlines ambiguous."""
    seen: set[object] = set()
    problems: Problems = []
    for index, name in enumerate(names):
        if isinstance(name, str) and name in seen:
            problems.append((f"drop_rules[{index}].name", f"duplicate rule name {name!r}"))
        seen.add(name)
    return problems


def _read_policy(data: Mapping[str, Any]) -> Policy:
    problems: Problems = []
    doc = Reader(data, "", problems)
    if problems:
        raise ConfigError("", problems=problems)
    read_rules = _read_list(doc, "drop_rules", DropRule, _RULE_KEYS, _RULE_REQUIRED)
    caps = _read_part(
        doc,
        "caps",
        CapPolicy,
        "default",
        "per_rep",
        "count_dealt",
        "count_locked",
        "max_locked",
        "locked_per_rep",
    )
    claim_limit = _read_part(
        doc, "claim_limit", ClaimLimitPolicy, "max_claims", "window_days", "per_rep"
    )
    routing = [
        rule
        for _, rule in _read_list(doc, "routing", RoutingRule, _ROUTING_KEYS, _ROUTING_REQUIRED)
    ]
    assignment = [
        rule
        for _, rule in _read_list(
            doc, "assignment", AssignmentRule, _ASSIGNMENT_KEYS, _ASSIGNMENT_REQUIRED
        )
    ]
    similarity = _read_part(
        doc,
        "similarity",
        SimilarityPolicy,
        "enabled",
        "threshold",
        "per_block",
        "max_per_customer",
    )
    visibility = _read_part(doc, "visibility", VisibilityPolicy, "creator_sees", "mask_keys")
    values = _read_settings(doc)

    rules = [rule for _, rule in read_rules]
    good_rules = [rule for rule in rules if rule is not None]
    if len(good_rules) < len(rules):
        # The policy checks names across its rules by position; with some rules refused
        # it would see the wrong positions, so the same check runs here on the names read.
        problems.extend(_duplicate_names([values.get("name") for values, _ in read_rules]))
        good_rules = []
    policy = doc.build(
        Policy,
        {
            **values,
            "drop_rules": tuple(good_rules),
            "routing": tuple(rule for rule in routing if rule is not None),
            "assignment": tuple(rule for rule in assignment if rule is not None),
            # A part refused above is reported already; its default stands in for it so
            # the rest of the policy is still checked.
            "caps": caps or CapPolicy(),
            "claim_limit": claim_limit or ClaimLimitPolicy(),
            "similarity": similarity or SimilarityPolicy(),
            "visibility": visibility or VisibilityPolicy(),
        },
    )
    if problems or policy is None:
        raise ConfigError("", problems=problems)
    return policy


def _read_part(doc: Reader, key: str, make: Callable[..., T], *keys: str) -> T | None:
    """The table ``key`` made into a part of the policy (None if refused, with the problems
    noted)."""
    table = doc.table(key)
    part = table.build(make, table.values(*keys))
    table.done()
    return part


def _read_list(
    doc: Reader,
    key: str,
    make: Callable[..., T],
    keys: tuple[str, ...],
    required: Iterable[str] | None = None,
) -> list[tuple[dict[str, Any], T | None]]:
    """Each table of the list ``key`` (all of ``keys`` required unless told): the values
    read, and what they made (None if a key was missing or they were refused)."""
    needed = frozenset(keys if required is None else required)
    read: list[tuple[dict[str, Any], T | None]] = []
    for table in doc.tables(key):
        values = table.values(*keys, required=needed)
        read.append((values, table.build(make, values) if set(values) >= needed else None))
        table.done()
    return read


def _read_settings(doc: Reader) -> dict[str, Any]:
    """The policy's own keys, and those of its one-key tables under prefixed names; the
    last look at the document, so that what is left over is reported as unknown."""
    cooldown = doc.table("cooldown")
    values = doc.values("timezone", "drop_time", "phone_region", "routing_default")
    values |= {f"cooldown_{key}": value for key, value in cooldown.values("days").items()}
    cooldown.done()
    collision = doc.table("collision")
    values |= {f"collision_{key}": value for key, value in collision.values("keys").items()}
    collision.done()
    doc.done()
    return values


_RULE_KEYS = (
    "name",
    "kind",
    "days",
    "warn_days",
    "grades",
    "pools",
    "exempt_if_dealt",
    "follow_up_kinds",
)
_RULE_REQUIRED = frozenset({"name", "kind", "days"})
_ROUTING_KEYS = ("attribute", "equals", "pool", "name", "attributes", "tags")
_ROUTING_REQUIRED = frozenset({"pool"})
_ASSIGNMENT_KEYS = ("pool", "strategy", "on", "weights")
_ASSIGNMENT_REQUIRED = frozenset({"pool", "strategy"})
