"""Reps (业务员) and the org tree (who is above whom)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping

import attrs

from poolkit.errors import ConfigError, InvalidValueError, RepNotFound
from poolkit.model._checks import identifier, of_type, optional_identifier, positive_int_or_none


@attrs.frozen
class Rep:
    """A person who can own customers.

    ``supervisor_id`` places the rep in the org tree; ``is_admin`` grants every right;
    ``cap`` and ``claim_limit`` override the policy's company defaults for this rep.
    A departed rep (``active=False``) can neither act nor receive customers. A rep marked
    unavailable (``available=False``: on leave, ill, away at a trade fair) still works and
    may be given customers by hand, but automatic assignment passes them over.
    """

    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(default="", validator=of_type(str))
    supervisor_id: str | None = attrs.field(default=None, validator=optional_identifier)
    is_admin: bool = attrs.field(default=False, validator=of_type(bool))
    active: bool = attrs.field(default=True, validator=of_type(bool))
    cap: int | None = attrs.field(default=None, validator=positive_int_or_none)
    claim_limit: int | None = attrs.field(default=None, validator=positive_int_or_none)
    available: bool = attrs.field(default=True, validator=of_type(bool))

    def __attrs_post_init__(self) -> None:
        if self.supervisor_id == self.id:
            raise InvalidValueError("supervisor_id", "a rep cannot supervise themselves")

    @property
    def display(self) -> str:
        return self.name or self.id


class OrgTree:
    """The reporting lines of a team: specialist -> supervisor -> manager.

    Built from the reps; refuses unknown supervisors and cycles, so ``superiors`` always ends.
    """

    def __init__(self, reps: Iterable[Rep]) -> None:
        self._reps: dict[str, Rep] = {rep.id: rep for rep in reps}
        problems = org_problems(self._reps.values())
        if problems:
            raise ConfigError("", problems=problems)

    def _chain(self, rep_id: str) -> Iterator[str]:
        current = self._reps[rep_id].supervisor_id
        steps = 0
        while current is not None and steps <= len(self._reps):
            yield current
            current = self._reps[current].supervisor_id
            steps += 1

    @property
    def reps(self) -> Mapping[str, Rep]:
        return self._reps

    def get(self, rep_id: str) -> Rep:
        try:
            return self._reps[rep_id]
        except KeyError:
            raise RepNotFound(rep_id) from None

    def superiors(self, rep_id: str) -> list[str]:
        """The rep's supervisor, their supervisor, and so on up to the top."""
        self.get(rep_id)
        return list(self._chain(rep_id))

    def is_above(self, boss_id: str, rep_id: str) -> bool:
        """True when ``boss_id`` is somewhere above ``rep_id`` in the tree."""
        return boss_id in self.superiors(rep_id)

    def subordinates(self, boss_id: str) -> set[str]:
        """Everyone below ``boss_id``, at any depth."""
        return {rep for rep in self._reps if self.is_above(boss_id, rep)}


def org_problems(reps: Iterable[Rep], also_known: Collection[str] = ()) -> list[tuple[str, str]]:
    """Every unknown supervisor and every rep caught in a cycle, keyed ``reps.<id>.supervisor``.

    ``also_known`` are ids of reps that exist but are not given (a team file's entries
    that were refused for another mistake), so they are not reported as unknown too.
    """
    reps = list(reps)
    supervisor_of = {rep.id: rep.supervisor_id for rep in reps}
    problems: list[tuple[str, str]] = []
    for rep in reps:
        boss = rep.supervisor_id
        if boss is not None and boss not in supervisor_of and boss not in also_known:
            problems.append((f"reps.{rep.id}.supervisor", f"unknown supervisor {boss!r}"))
    for rep_id in supervisor_of:
        seen = {rep_id}
        current = supervisor_of[rep_id]
        while current is not None and current in supervisor_of:
            if current == rep_id:
                problems.append((f"reps.{rep_id}.supervisor", "the org tree has a cycle"))
                break
            if current in seen:  # a cycle above this rep: reported for the reps on it
                break
            seen.add(current)
            current = supervisor_of[current]
    return problems
