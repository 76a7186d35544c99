"""The policy as data: drop rules, caps, claim limits, cooldown, collision keys, routing.

A :class:`Policy` is built from a plain dict (:meth:`Policy.from_dict`) or a TOML file
(:meth:`Policy.from_toml`). Loading validates every key and names the bad one by its path,
e.g. ``drop_rules[2].days: must be > 0``; unknown keys are refused too, because a typo in a
rule book should not silently mean "no rule".
"""

from __future__ import annotations

import enum
import hashlib
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from poolkit.errors import ConfigError


def _check_int(path: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(path, f"must be a whole number, got {value!r}")
    if value < minimum:
        raise ConfigError(path, _too_small(minimum))


def _too_small(minimum: int) -> str:
    return "must be > 0" if minimum == 1 else f"must be >= {minimum}"


def _zone(name: object, path: str) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise ConfigError(path, f"must be an IANA time zone name, got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ConfigError(path, f"unknown time zone {name!r}") from error


def _read_only(values: Mapping[str, int]) -> Mapping[str, int]:
    """A read-only copy, so a frozen policy cannot be changed (or made invalid) through it."""
    return MappingProxyType(dict(values))


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
    ``exempt_if_dealt`` the rule skips customers that ever had a deal.
    """

    name: str
    kind: DropKind
    days: int
    warn_days: int = 0
    grades: frozenset[str] = frozenset()
    pools: frozenset[str] = frozenset()
    exempt_if_dealt: bool = False

    def __attrs_post_init__(self) -> None:
        where = f"drop_rules[{self.name}]"
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError(f"{where}.name", "must be a non-empty string")
        if not isinstance(self.kind, DropKind):
            raise ConfigError(f"{where}.kind", f"must be a DropKind, got {self.kind!r}")
        _check_int(f"{where}.days", self.days, 1)
        _check_int(f"{where}.warn_days", self.warn_days, 0)
        if self.warn_days >= self.days:
            raise ConfigError(f"{where}.warn_days", f"must be < days ({self.days})")

    def applies_to_scope(self, grade: str | None, pool_id: str) -> bool:
        if self.grades and grade not in self.grades:
            return False
        return not (self.pools and pool_id not in self.pools)


@attrs.frozen
class CapPolicy:
    """Caps (库容上限): ``default`` for everyone (None: unlimited), ``per_rep`` overrides.

    ``count_dealt`` / ``count_locked`` say whether customers with a deal / with a drop-exempt
    lock count toward the cap.
    """

    default: int | None = None
    per_rep: Mapping[str, int] = attrs.field(factory=dict, converter=_read_only, hash=False)
    count_dealt: bool = True
    count_locked: bool = True

    def __attrs_post_init__(self) -> None:
        if self.default is not None:
            _check_int("caps.default", self.default, 0)
        for rep_id, cap in self.per_rep.items():
            _check_int(f"caps.per_rep.{rep_id}", cap, 0)


@attrs.frozen
class ClaimLimitPolicy:
    """Claim limits (领取上限): at most ``max_claims`` claims per rolling ``window_days``."""

    max_claims: int | None = None
    window_days: int = 1
    per_rep: Mapping[str, int] = attrs.field(factory=dict, converter=_read_only, hash=False)

    def __attrs_post_init__(self) -> None:
        if self.max_claims is not None:
            _check_int("claim_limit.max_claims", self.max_claims, 0)
        _check_int("claim_limit.window_days", self.window_days, 1)
        for rep_id, limit in self.per_rep.items():
            _check_int(f"claim_limit.per_rep.{rep_id}", limit, 0)


@attrs.frozen
class SimilarityPolicy:
    """Similar-customer warnings: names scoring ``threshold`` (0-100) or more against a stored
    name file a review item; ``per_block`` bounds the candidates read per blocking key."""

    enabled: bool = True
    threshold: float = 85.0
    per_block: int = 50

    def __attrs_post_init__(self) -> None:
        threshold = self.threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise ConfigError("similarity.threshold", f"must be a number, got {threshold!r}")
        if not 0 < threshold <= 100:
            raise ConfigError("similarity.threshold", "must be > 0 and <= 100")
        _check_int("similarity.per_block", self.per_block, 1)


@attrs.frozen
class RoutingRule:
    """Customers whose attribute ``attribute`` equals ``equals`` belong to ``pool``."""

    attribute: str
    equals: str | int | float | bool
    pool: str


DEFAULT_COLLISION_KEYS = frozenset({"phone", "uscc", "org_code", "email"})


@attrs.frozen
class Policy:
    """Everything an admin configures about how customers move."""

    timezone: str = "UTC"
    drop_time: DropTime = DropTime.EXACT
    drop_rules: tuple[DropRule, ...] = ()
    caps: CapPolicy = CapPolicy()
    claim_limit: ClaimLimitPolicy = ClaimLimitPolicy()
    cooldown_days: int = 0
    collision_keys: frozenset[str] = DEFAULT_COLLISION_KEYS
    routing: tuple[RoutingRule, ...] = ()
    phone_region: str = "CN"
    similarity: SimilarityPolicy = SimilarityPolicy()
    zone: ZoneInfo = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "zone", _zone(self.timezone, "timezone"))
        if not isinstance(self.drop_time, DropTime):
            raise ConfigError("drop_time", f"must be a DropTime, got {self.drop_time!r}")
        _check_int("cooldown.days", self.cooldown_days, 0)
        names = [rule.name for rule in self.drop_rules]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise ConfigError(f"drop_rules[{index}].name", f"duplicate rule name {name!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        return _load_policy(_Reader(data, ""))

    @classmethod
    def from_toml(cls, path: str | Path) -> Policy:
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except OSError as error:
            raise ConfigError("", f"cannot read policy file {path}: {error}") from error
        except tomllib.TOMLDecodeError as error:
            raise ConfigError("", f"policy file {path} is not valid TOML: {error}") from error
        return cls.from_dict(data)

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
                }
                for rule in self.drop_rules
            ],
            "caps": {
                **({"default": self.caps.default} if self.caps.default is not None else {}),
                "per_rep": dict(self.caps.per_rep),
                "count_dealt": self.caps.count_dealt,
                "count_locked": self.caps.count_locked,
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
            "routing": [
                {"attribute": r.attribute, "equals": r.equals, "pool": r.pool} for r in self.routing
            ],
            "phone_region": self.phone_region,
            "similarity": {
                "enabled": self.similarity.enabled,
                "threshold": self.similarity.threshold,
                "per_block": self.similarity.per_block,
            },
        }

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

    def claim_limit_for(self, rep_id: str, personal: int | None) -> int | None:
        if rep_id in self.claim_limit.per_rep:
            return self.claim_limit.per_rep[rep_id]
        return personal if personal is not None else self.claim_limit.max_claims


class _Reader:
    """Reads one table of a config document, remembering its path for error messages."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(path, f"must be a table, got {type(data).__name__}")
        self.data: Mapping[str, Any] = data
        self.path = path
        self.seen: set[str] = set()

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = None) -> Any:
        self.seen.add(key)
        return self.data.get(key, default)

    def integer(self, key: str, default: int | None, *, minimum: int) -> int | None:
        value = self.raw(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(self.at(key), f"must be a whole number, got {value!r}")
        if value < minimum:
            raise ConfigError(self.at(key), _too_small(minimum))
        return value

    def required_integer(self, key: str, *, minimum: int) -> int:
        if key not in self.data:
            raise ConfigError(self.at(key), "is required")
        value = self.integer(key, None, minimum=minimum)
        assert value is not None
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise ConfigError(self.at(key), f"must be true or false, got {value!r}")
        return value

    def string(self, key: str, default: str | None = None) -> str:
        value = self.raw(key, default)
        if value is None:
            raise ConfigError(self.at(key), "is required")
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(self.at(key), f"must be a non-empty string, got {value!r}")
        return value

    def strings(self, key: str) -> frozenset[str]:
        value = self.raw(key, [])
        if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
            raise ConfigError(self.at(key), f"must be a list of strings, got {value!r}")
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise ConfigError(
                    f"{self.at(key)}[{index}]", f"must be a non-empty string, got {item!r}"
                )
        return frozenset(value)

    def table(self, key: str) -> _Reader:
        return _Reader(self.raw(key, {}), self.at(key))

    def tables(self, key: str) -> list[_Reader]:
        value = self.raw(key, [])
        if not isinstance(value, list | tuple):
            raise ConfigError(self.at(key), f"must be a list of tables, got {type(value).__name__}")
        return [_Reader(item, f"{self.at(key)}[{index}]") for index, item in enumerate(value)]

    def per_rep(self, key: str) -> dict[str, int]:
        table = self.table(key)
        out: dict[str, int] = {}
        for rep_id in list(table.data):
            value = table.integer(rep_id, None, minimum=0)
            assert value is not None
            out[str(rep_id)] = value
        table.done()
        return out

    def enum(self, key: str, kind: type[enum.Enum], default: str | None = None) -> Any:
        value = self.raw(key, default)
        choices = [member.value for member in kind]
        if value not in choices:
            raise ConfigError(self.at(key), f"must be one of {', '.join(choices)}, got {value!r}")
        return kind(value)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise ConfigError(self.at(str(unknown[0])), "unknown key")


def _load_policy(doc: _Reader) -> Policy:
    timezone = doc.string("timezone", "UTC")
    _zone(timezone, doc.at("timezone"))
    drop_time = doc.enum("drop_time", DropTime, "exact")

    rules: list[DropRule] = []
    names: set[str] = set()
    for table in doc.tables("drop_rules"):
        name = table.string("name")
        if name in names:
            raise ConfigError(table.at("name"), f"duplicate rule name {name!r}")
        names.add(name)
        days = table.required_integer("days", minimum=1)
        warn_days = table.integer("warn_days", 0, minimum=0)
        assert warn_days is not None
        if warn_days >= days:
            raise ConfigError(table.at("warn_days"), f"must be < days ({days})")
        rules.append(
            DropRule(
                name=name,
                kind=table.enum("kind", DropKind),
                days=days,
                warn_days=warn_days,
                grades=table.strings("grades"),
                pools=table.strings("pools"),
                exempt_if_dealt=table.boolean("exempt_if_dealt", False),
            )
        )
        table.done()

    caps_table = doc.table("caps")
    caps = CapPolicy(
        default=caps_table.integer("default", None, minimum=0),
        per_rep=caps_table.per_rep("per_rep"),
        count_dealt=caps_table.boolean("count_dealt", True),
        count_locked=caps_table.boolean("count_locked", True),
    )
    caps_table.done()

    limit_table = doc.table("claim_limit")
    window_days = limit_table.integer("window_days", 1, minimum=1)
    assert window_days is not None
    claim_limit = ClaimLimitPolicy(
        max_claims=limit_table.integer("max_claims", None, minimum=0),
        window_days=window_days,
        per_rep=limit_table.per_rep("per_rep"),
    )
    limit_table.done()

    cooldown_table = doc.table("cooldown")
    cooldown_days = cooldown_table.integer("days", 0, minimum=0)
    assert cooldown_days is not None
    cooldown_table.done()

    collision_table = doc.table("collision")
    collision_keys = (
        collision_table.strings("keys") if collision_table.has("keys") else DEFAULT_COLLISION_KEYS
    )
    collision_table.done()

    routing: list[RoutingRule] = []
    for table in doc.tables("routing"):
        equals = table.raw("equals")
        if not isinstance(equals, str | int | float | bool):
            raise ConfigError(
                table.at("equals"), f"must be a string, number or boolean, got {equals!r}"
            )
        routing.append(
            RoutingRule(
                attribute=table.string("attribute"), equals=equals, pool=table.string("pool")
            )
        )
        table.done()

    similarity_table = doc.table("similarity")
    per_block = similarity_table.integer("per_block", 50, minimum=1)
    assert per_block is not None
    similarity = SimilarityPolicy(
        enabled=similarity_table.boolean("enabled", True),
        # Checked by SimilarityPolicy itself, under the same path.
        threshold=similarity_table.raw("threshold", 85.0),
        per_block=per_block,
    )
    similarity_table.done()

    phone_region = doc.string("phone_region", "CN")
    if len(phone_region) != 2 or not phone_region.isalpha() or not phone_region.isupper():
        raise ConfigError(
            doc.at("phone_region"),
            f"must be a two-letter region code like CN, got {phone_region!r}",
        )
    doc.done()
    return Policy(
        timezone=timezone,
        drop_time=drop_time,
        drop_rules=tuple(rules),
        caps=caps,
        claim_limit=claim_limit,
        cooldown_days=cooldown_days,
        collision_keys=collision_keys,
        routing=tuple(routing),
        phone_region=phone_region,
        similarity=similarity,
    )
