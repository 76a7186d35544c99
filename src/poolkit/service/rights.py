"""Who may do what (数据权限): every right of the pool operations, one predicate each.

Each predicate is pure: it answers from the actor, the customer (or pool) and a read-only
:class:`TeamView` of the org tree, and returns a :class:`Verdict`, allowed or refused with
the reason a person reads. The service asks these and raises
:class:`~poolkit.errors.PermissionDenied` with the reason; nothing else decides a right.

:data:`RIGHTS` names, for each operation, its predicate and the words of the "who" column
of the table in ``docs/operations.md``; a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

import attrs

from poolkit.model.customer import Customer
from poolkit.model.pool import Pool, PoolMode
from poolkit.model.rep import Rep

__all__ = [
    "RIGHTS",
    "Right",
    "TeamView",
    "Verdict",
    "may_assign",
    "may_assign_to",
    "may_change_grade",
    "may_change_pool",
    "may_claim",
    "may_create_into",
    "may_delete",
    "may_depart",
    "may_edit",
    "may_follow_up",
    "may_freeze",
    "may_import",
    "may_lock",
    "may_merge",
    "may_reassign",
    "may_recycle",
    "may_restore",
    "may_return",
    "may_review",
    "may_see",
    "may_see_keys",
    "may_set_availability",
    "may_transfer",
    "oversees",
]


class TeamView(Protocol):
    """The org tree and the pools, as far as a right needs them."""

    def is_above(self, boss_id: str, rep_id: str) -> bool: ...

    def find_pool(self, pool_id: str) -> Pool | None: ...


@attrs.frozen
class Verdict:
    """Allowed, or refused with ``reason``."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Verdict(True)


def _verdict(allowed: bool, reason: str) -> Verdict:
    return ALLOWED if allowed else Verdict(False, reason)


def _above_owner(team: TeamView, actor: Rep, customer: Customer) -> bool:
    return customer.owner_id is not None and team.is_above(actor.id, customer.owner_id)


def _manages(team: TeamView, actor: Rep, pool_id: str) -> bool:
    pool = team.find_pool(pool_id)
    return pool is not None and actor.id in pool.managers


def oversees(team: TeamView, actor: Rep, customer: Customer) -> bool:
    """Admins, the managers of the customer's pool and the superiors of its owner: the
    people who may take a customer out of a rep's hands."""
    return (
        actor.is_admin
        or _manages(team, actor, customer.pool_id)
        or _above_owner(team, actor, customer)
    )


def may_see(
    team: TeamView, actor: Rep, customer: Customer, *, creator_sees: bool = True
) -> Verdict:
    """Private: owner, superiors, related reps, admins; public: the pool's members and
    managers; the recycle bin: the pool's managers and admins. With ``creator_sees`` (the
    policy's ``visibility.creator_sees``), the rep who entered it too, wherever it is."""
    if actor.is_admin or actor.id in customer.related_reps:
        return ALLOWED
    if creator_sees and customer.creator_id == actor.id:
        return ALLOWED
    if customer.is_private:
        allowed = customer.owner_id == actor.id or _above_owner(team, actor, customer)
    else:
        pool = team.find_pool(customer.pool_id)
        if customer.is_frozen:
            allowed = pool is not None and actor.id in pool.managers
        else:
            allowed = pool is not None and pool.can_see(actor.id)
    return _verdict(allowed, "not visible to this rep")


def may_see_keys(team: TeamView, actor: Rep, customer: Customer) -> Verdict:
    """Under the policy's ``visibility.mask_keys``: who sees a customer's identity keys
    unmasked. The owner, their superiors and admins; everyone else who may see the
    customer (pool members, pool managers, related reps, the creator) sees them masked."""
    return _verdict(
        actor.is_admin or customer.owner_id == actor.id or _above_owner(team, actor, customer),
        "only the owner, their superiors and admins see the keys",
    )


def may_create_into(actor: Rep, pool: Pool, public: bool) -> Verdict:
    return _verdict(
        not public or actor.is_admin or pool.can_see(actor.id), "not a member of the pool"
    )


def may_import(actor: Rep) -> Verdict:
    return _verdict(actor.is_admin, "only admins import")


def may_follow_up(team: TeamView, actor: Rep, customer: Customer) -> Verdict:
    allowed = (
        actor.is_admin
        or customer.owner_id == actor.id
        or actor.id in customer.related_reps
        or _above_owner(team, actor, customer)
    )
    return _verdict(allowed, "only the owner, their superiors and related reps follow up")


def may_claim(actor: Rep, pool: Pool) -> Verdict:
    if not (actor.is_admin or pool.can_see(actor.id)):
        return Verdict(False, f"not a member of pool {pool.id!r}")
    return _verdict(
        pool.mode is PoolMode.MEMBERS_CLAIM, f"pool {pool.id!r} is assign-only: ask its manager"
    )


def may_assign(actor: Rep, pool: Pool) -> Verdict:
    return _verdict(
        actor.is_admin or actor.id in pool.managers, f"not a manager of pool {pool.id!r}"
    )


def may_assign_to(target: Rep, pool: Pool) -> Verdict:
    """Who may receive an assigned customer: a member or manager of its pool, or an admin."""
    return _verdict(target.is_admin or pool.can_see(target.id), f"not a member of pool {pool.id!r}")


def may_return(actor: Rep, customer: Customer) -> Verdict:
    return _verdict(customer.owner_id == actor.id, "only the owner returns a customer")


def may_transfer(actor: Rep, customer: Customer) -> Verdict:
    return _verdict(customer.owner_id == actor.id, "only the owner transfers a customer")


def may_recycle(team: TeamView, actor: Rep, customer: Customer) -> Verdict:
    return _verdict(
        oversees(team, actor, customer),
        "only pool managers, the owner's superiors and admins recycle",
    )


def may_freeze(team: TeamView, actor: Rep, customer: Customer) -> Verdict:
    return _verdict(
        oversees(team, actor, customer),
        "only pool managers, the owner's superiors and admins freeze",
    )


def may_lock(team: TeamView, actor: Rep, customer: Customer) -> Verdict:
    return _verdict(
        oversees(team, actor, customer), "only pool managers, the owner's superiors and admins lock"
    )


def may_edit(team: TeamView, actor: Rep, customer: Customer) -> Verdict:
    return _verdict(
        customer.owner_id == actor.id or oversees(team, actor, customer),
        "only the owner, their superiors and pool managers edit",
    )


may_change_grade = may_edit


def may_reassign(team: TeamView, actor: Rep, customer: Customer, target: Rep) -> Verdict:
    allowed = actor.is_admin or (
        _above_owner(team, actor, customer)
        and (target.id == actor.id or team.is_above(actor.id, target.id))
    )
    return _verdict(allowed, "only a superior of both reps (or an admin) reassigns")


def may_change_pool(team: TeamView, actor: Rep, customer: Customer) -> Verdict:
    return _verdict(
        actor.is_admin or _manages(team, actor, customer.pool_id),
        f"not a manager of pool {customer.pool_id!r}",
    )


def may_restore(actor: Rep, target: Pool) -> Verdict:
    return _verdict(
        actor.is_admin or actor.id in target.managers, f"not a manager of pool {target.id!r}"
    )


def may_delete(actor: Rep) -> Verdict:
    return _verdict(actor.is_admin, "only admins delete")


def may_depart(actor: Rep, leaver: Rep) -> Verdict:
    """Only admins register a departure, and not their own."""
    if not actor.is_admin:
        return Verdict(False, "only admins do")
    return _verdict(leaver.id != actor.id, "an admin cannot register their own departure")


def may_set_availability(team: TeamView, actor: Rep, rep: Rep) -> Verdict:
    """A rep marks themselves away; a superior or an admin marks anyone below them."""
    return _verdict(
        actor.is_admin or actor.id == rep.id or team.is_above(actor.id, rep.id),
        f"only {rep.id}, a superior or an admin do",
    )


def may_review(actor: Rep) -> Verdict:
    return _verdict(actor.is_admin, "only admins review")


def may_merge(actor: Rep) -> Verdict:
    return _verdict(actor.is_admin, "only admins merge")


@attrs.frozen
class Right:
    """One row of the rights table: the operation, its predicate, who holds the right."""

    operation: str
    predicate: Callable[..., Verdict]
    who: str


def _rights(*rows: tuple[str, Callable[..., Verdict], str]) -> Mapping[str, Right]:
    return {operation: Right(operation, predicate, who) for operation, predicate, who in rows}


_OVERSEERS = "managers, superiors, admins"

RIGHTS: Mapping[str, Right] = _rights(
    ("create", may_create_into, "any rep; into a public pool: its members, managers, admins"),
    ("create_with_warnings", may_create_into, "as `create`"),
    ("import_customers", may_import, "admins"),
    ("follow_up", may_follow_up, "owner, superiors, related reps, admins"),
    ("claim", may_claim, "members and managers of the pool, admins"),
    (
        "assign",
        may_assign,
        "managers, admins; to a member or manager of the pool, or an admin",
    ),
    ("return_to_pool", may_return, "the owner only"),
    ("recycle", may_recycle, _OVERSEERS),
    ("transfer", may_transfer, "the owner only"),
    ("reassign", may_reassign, "a superior of both reps, admins"),
    ("change_pool", may_change_pool, "managers, admins"),
    ("freeze", may_freeze, _OVERSEERS),
    ("restore", may_restore, "managers of the pool it goes to, admins"),
    ("delete", may_delete, "admins"),
    ("lock", may_lock, _OVERSEERS),
    ("unlock", may_lock, _OVERSEERS),
    ("change_grade", may_change_grade, "owner, superiors, managers, admins"),
    ("edit", may_edit, "owner, superiors, managers, admins"),
    ("depart", may_depart, "admins, for someone else"),
    ("mark_not_same", may_review, "admins"),
    ("merge", may_merge, "admins"),
    ("distribute", may_assign, "managers, admins"),
    ("set_availability", may_set_availability, "the rep, superiors, admins"),
)
"""Each operation of the rights table in ``docs/operations.md``, with its predicate."""
