"""A team: its reps, their org tree and its public pools, validated together."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from poolkit.errors import ConfigError, InvalidValueError
from poolkit.model.pool import Pool, PoolMode
from poolkit.model.rep import OrgTree, Rep


def _tuple_of_reps(reps: Iterable[Rep]) -> tuple[Rep, ...]:
    return tuple(reps)


def _tuple_of_pools(pools: Iterable[Pool]) -> tuple[Pool, ...]:
    return tuple(pools)


@attrs.frozen
class Team:
    """Reps and pools that make sense together: supervisors and pool staff exist, the org
    tree has no cycle, and exactly one pool is the default."""

    reps: tuple[Rep, ...] = attrs.field(converter=_tuple_of_reps)
    pools: tuple[Pool, ...] = attrs.field(converter=_tuple_of_pools)

    def __attrs_post_init__(self) -> None:
        check_team(self.reps, self.pools)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Team:
        """Build from ``{"reps": [{"id": ..., "supervisor": ...}], "pools": [...]}``."""
        if not isinstance(data, Mapping):
            raise ConfigError("", "a team document must be a table")
        unknown = sorted(set(data) - {"reps", "pools"})
        if unknown:
            raise ConfigError(unknown[0], "unknown key")
        reps = [_rep(item, f"reps[{i}]") for i, item in enumerate(_list(data, "reps"))]
        pools = [_pool(item, f"pools[{i}]") for i, item in enumerate(_list(data, "pools"))]
        return cls(reps=reps, pools=pools)

    @classmethod
    def from_toml(cls, path: str | Path) -> Team:
        try:
            with open(path, "rb") as handle:
                return cls.from_dict(tomllib.load(handle))
        except OSError as error:
            raise ConfigError("", f"cannot read team file {path}: {error}") from error
        except tomllib.TOMLDecodeError as error:
            raise ConfigError("", f"team file {path} is not valid TOML: {error}") from error


def check_team(reps: Iterable[Rep], pools: Iterable[Pool]) -> None:
    reps, pools = list(reps), list(pools)
    rep_ids = [rep.id for rep in reps]
    for index, rep_id in enumerate(rep_ids):
        if rep_id in rep_ids[:index]:
            raise ConfigError(f"reps[{index}].id", f"duplicate rep id {rep_id!r}")
    OrgTree(reps)
    pool_ids = [pool.id for pool in pools]
    for index, pool in enumerate(pools):
        if pool.id in pool_ids[:index]:
            raise ConfigError(f"pools[{index}].id", f"duplicate pool id {pool.id!r}")
        for role, people in (("managers", pool.managers), ("members", pool.members)):
            for rep_id in sorted(people):
                if rep_id not in rep_ids:
                    raise ConfigError(f"pools[{index}].{role}", f"unknown rep {rep_id!r}")
    defaults = [pool.id for pool in pools if pool.is_default]
    if pools and len(defaults) != 1:
        raise ConfigError("pools", f"exactly one pool must be the default, found {len(defaults)}")


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(key, "must be a list of tables")
    return value


def _table(item: object, path: str, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise ConfigError(path, "must be a table")
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]}", "unknown key")
    return item


def _rep(item: object, path: str) -> Rep:
    table = _table(
        item, path, {"id", "name", "supervisor", "admin", "active", "cap", "claim_limit"}
    )
    try:
        return Rep(
            id=table.get("id"),  # type: ignore[arg-type]
            name=table.get("name", ""),
            supervisor_id=table.get("supervisor"),
            is_admin=table.get("admin", False),
            active=table.get("active", True),
            cap=table.get("cap"),
            claim_limit=table.get("claim_limit"),
        )
    except InvalidValueError as error:
        raise ConfigError(f"{path}.{_key(error.field)}", error.message) from error
    except TypeError as error:
        raise ConfigError(path, str(error)) from error


def _pool(item: object, path: str) -> Pool:
    table = _table(item, path, {"id", "name", "mode", "managers", "members", "default"})
    mode = table.get("mode", PoolMode.MEMBERS_CLAIM.value)
    if mode not in {m.value for m in PoolMode}:
        raise ConfigError(
            f"{path}.mode", f"must be one of members_claim, manager_assigns, got {mode!r}"
        )
    try:
        return Pool(
            id=table.get("id"),  # type: ignore[arg-type]
            name=table.get("name", ""),
            mode=mode,
            managers=table.get("managers", []),
            members=table.get("members", []),
            is_default=table.get("default", False),
        )
    except InvalidValueError as error:
        raise ConfigError(f"{path}.{error.field}", error.message) from error
    except TypeError as error:
        raise ConfigError(path, str(error)) from error


def _key(field: str) -> str:
    return {"supervisor_id": "supervisor", "is_admin": "admin"}.get(field, field)
