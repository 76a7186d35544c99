"""Public pools (公海): customers nobody owns right now."""

from __future__ import annotations

import enum
from typing import Any

import attrs

from poolkit.model._checks import enum_member, id_set, identifier, ids, of_type


class PoolMode(enum.Enum):
    """How customers leave a public pool."""

    MEMBERS_CLAIM = "members_claim"  # 主动领取型: members fish customers out themselves
    MANAGER_ASSIGNS = "manager_assigns"  # 手动分配型: only a pool manager hands them out


def _mode(value: Any) -> PoolMode:
    return enum_member(PoolMode, "mode", value)


@attrs.frozen
class Pool:
    """A public pool: its managers (公海负责人) and members (公海成员).

    One pool of a team is the default: new and dropped customers with no other home go there.
    The default pool is everyone's (the source CRM's "default public pool"): every rep of
    the team is a member of it without being listed, so a rep added to the team sees it
    and claims from it at once; the admins manage it, as they manage every pool. Its
    ``members`` and ``managers`` list only whom it names; :meth:`can_see` says who sees it.
    """

    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(default="", validator=of_type(str))
    mode: PoolMode = attrs.field(
        default=PoolMode.MEMBERS_CLAIM, converter=_mode, validator=of_type(PoolMode)
    )
    managers: frozenset[str] = attrs.field(default=frozenset(), converter=ids, validator=id_set)
    members: frozenset[str] = attrs.field(default=frozenset(), converter=ids, validator=id_set)
    is_default: bool = attrs.field(default=False, validator=of_type(bool))

    @property
    def display(self) -> str:
        return self.name or self.id

    def can_see(self, rep_id: str) -> bool:
        """Whether ``rep_id`` is a member or manager of the pool: anyone of the team, for the
        default pool. (Whether the rep is active is the team's to say.)"""
        return self.is_default or rep_id in self.members or rep_id in self.managers
