"""A team: its reps, their org tree and its public pools, validated together."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from poolkit.errors import ConfigError
from poolkit.model._reading import Problems, Reader, load_toml
from poolkit.model.pool import Pool
from poolkit.model.rep import Rep, org_problems

__all__ = ["Team", "check_team"]


def _tuple_of_reps(reps: Iterable[Rep]) -> tuple[Rep, ...]:
    return tuple(reps)


def _tuple_of_pools(pools: Iterable[Pool]) -> tuple[Pool, ...]:
    return tuple(pools)


# A team document's keys, and the fields they fill where the names differ.
_REP_KEYS = {
    "id": "id",
    "name": "name",
    "supervisor": "supervisor_id",
    "admin": "is_admin",
    "active": "active",
    "cap": "cap",
    "claim_limit": "claim_limit",
    "available": "available",
}
_POOL_KEYS = {
    "id": "id",
    "name": "name",
    "mode": "mode",
    "managers": "managers",
    "members": "members",
    "default": "is_default",
}


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
        """Build from ``{"reps": [{"id": ..., "supervisor": ...}], "pools": [...]}``; every
        mistake in the document is reported at once, in one ConfigError."""
        problems: Problems = []
        doc = Reader(data, "", problems)
        reps: list[Rep | None] = []
        raw_rep_ids: set[str] = set()
        for table in doc.tables("reps"):
            values = table.values(*_REP_KEYS, required=("id",))
            if isinstance(values.get("id"), str):
                raw_rep_ids.add(values["id"])
            reps.append(table.build_value(Rep, values, _REP_KEYS) if "id" in values else None)
            table.done()
        pools: list[Pool | None] = []
        for table in doc.tables("pools"):
            values = table.values(*_POOL_KEYS, required=("id",))
            pools.append(table.build_value(Pool, values, _POOL_KEYS) if "id" in values else None)
            table.done()
        doc.done()
        problems.extend(team_problems(reps, pools, also_known=raw_rep_ids))
        if problems:
            raise ConfigError("", problems=problems)
        return cls(reps=[rep for rep in reps if rep], pools=[pool for pool in pools if pool])

    @classmethod
    def from_toml(cls, path: str | Path) -> Team:
        """Read a team file; a mistake in it is reported with the file's name (and for a
        syntax or encoding mistake, the line)."""
        return load_toml(path, "team", cls.from_dict)


def check_team(reps: Iterable[Rep], pools: Iterable[Pool]) -> None:
    """Refuse, with every problem at once, reps and pools that do not make a team."""
    problems = team_problems(list(reps), list(pools))
    if problems:
        raise ConfigError("", problems=problems)


def team_problems(
    reps: Sequence[Rep | None],
    pools: Sequence[Pool | None],
    also_known: Iterable[str] = (),
) -> Problems:
    """What is wrong between the reps and pools of a team, by position in its document.

    A None stands for an entry refused for its own mistakes: it keeps the positions of the
    others, and the ids in ``also_known`` (those entries' ids) are not reported as unknown.
    """
    problems: Problems = []
    known = set(also_known)
    seen_reps: set[str] = set()
    for index, rep in enumerate(reps):
        if rep is None:
            continue
        if rep.id in seen_reps:
            problems.append((f"reps[{index}].id", f"duplicate rep id {rep.id!r}"))
        seen_reps.add(rep.id)
    built = [rep for rep in reps if rep is not None]
    problems.extend(org_problems(built, also_known=known))
    known |= seen_reps
    seen_pools: set[str] = set()
    for index, pool in enumerate(pools):
        if pool is None:
            continue
        if pool.id in seen_pools:
            problems.append((f"pools[{index}].id", f"duplicate pool id {pool.id!r}"))
        seen_pools.add(pool.id)
        for role, people in (("managers", pool.managers), ("members", pool.members)):
            for rep_id in sorted(people):
                if rep_id not in known:
                    problems.append((f"pools[{index}].{role}", f"unknown rep {rep_id!r}"))
    # Only when every pool entry was read can the number of defaults be told.
    if None not in pools:
        defaults = [pool for pool in pools if pool is not None and pool.is_default]
        if pools and len(defaults) != 1:
            problems.append(
                ("pools", f"exactly one pool must be the default, found {len(defaults)}")
            )
    return problems
