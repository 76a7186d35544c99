"""Working a customer and moving it between pools: each operation checks the customer's
state and the actor's right (:mod:`poolkit.service.rights`), then writes one event."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from poolkit.errors import (
    ClaimLimitExceeded,
    CooldownActive,
    InvalidValueError,
    PermissionDenied,
    WrongStateError,
)
from poolkit.identity.keys import normalise_keys
from poolkit.model.customer import AttributeValue, Customer, CustomerStatus, IdentityKey
from poolkit.model.events import (
    Assigned,
    Claimed,
    Deleted,
    Dropped,
    Edited,
    FollowedUp,
    FollowUpKind,
    Frozen,
    GradeChanged,
    LockChanged,
    PoolChanged,
    Reassigned,
    Recycled,
    Restored,
    Returned,
    Transferred,
)
from poolkit.model.rep import Rep
from poolkit.policy import rules
from poolkit.policy.config import Inflow
from poolkit.ports import CustomerQuery
from poolkit.service import rights
from poolkit.service._core import (
    Operation,
    ServiceCore,
    Work,
    next_event,
    owner_of,
    require_state,
)
from poolkit.service._retry import retried
from poolkit.service.assigning import Assignment, assign_automatically

__all__ = ["DepartureReport", "MoveJobs", "return_reason"]

_PRIVATE, _PUBLIC = CustomerStatus.PRIVATE, CustomerStatus.PUBLIC


def return_reason(reason: object) -> str:
    """The reason of a return, stripped; a return without one is refused."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidValueError("reason", "a return needs a reason")
    return reason.strip()


@attrs.frozen
class DepartureReport:
    """The rep who left and the customers that dropped to their public pool with the
    departure; ``assigned``, for the pools whose automatic assignment takes departures,
    who got which of the others (and, for any left in the pool, why nobody could)."""

    rep_id: str
    dropped: tuple[str, ...]
    assigned: tuple[Assignment, ...] = ()


class MoveJobs(ServiceCore):
    @retried
    def follow_up(
        self,
        actor_id: str,
        customer_id: str,
        method: FollowUpKind | str = FollowUpKind.CALL,
        note: str = "",
    ) -> Customer:
        """Record a call, visit, email, meeting, message or deal (跟进); resets the drop clock."""
        try:
            kind = FollowUpKind(method)
        except ValueError:
            choices = ", ".join(member.value for member in FollowUpKind)
            raise InvalidValueError("method", f"must be one of {choices}, got {method!r}") from None
        with self._operation(actor_id, customer_id) as op:
            require_state(op.customer, "follow up", _PRIVATE, _PUBLIC)
            op.allow(rights.may_follow_up(op.work.team, op.actor, op.customer), "follow up")
            return self._commit(op, op.event(FollowedUp, method=kind, note=note))

    @retried
    def claim(self, actor_id: str, customer_id: str) -> Customer:
        """Fish a customer out of a public pool into the actor's private pool (领取).

        First come, first served: the loser of a race gets :class:`WrongStateError` naming
        the winner. Refused at the cap, at the claim limit, during the cooldown, and in
        pools where only the manager assigns.
        """
        # The claimer is locked as it is read: its cap and claim limit are counted next.
        with self._operation(actor_id, customer_id, lock_actor=True) as op:
            return self._commit(op, self._claim_step(op))

    def _claim_step(self, op: Operation) -> Claimed:
        """The checks of a claim and its event, inside the caller's unit of work (the
        single move and the bulk one alike)."""
        require_state(op.customer, "claim", _PUBLIC)
        pool = op.work.team.pool(op.customer.pool_id)
        op.allow(rights.may_claim(op.actor, pool), "claim")
        # Each check locks the rep before it counts anything of the rep's (holdings,
        # claims), so the count cannot change before the commit; a check without a limit
        # counts nothing and locks nothing.
        self._check_cap(op.work, op.actor)
        self._check_lock_cap_of_receiver(op, op.actor.id)
        self._check_claim_limit(op)
        return op.event(Claimed, rep_id=op.actor.id, pool_id=pool.id)

    def _check_lock_cap_of_receiver(self, op: Operation, rep_id: str) -> None:
        """A locked customer stays locked when it changes hands: it must fit the receiver's
        lock cap, like a lock."""
        if op.customer.locked:
            self._check_lock_cap(op.work, rep_id)

    def _check_claim_limit(self, op: Operation) -> None:
        work, actor, policy = op.work, op.actor, op.work.policy
        # Without a limit there is nothing to count, and nothing to refuse: the rules
        # would allow it (and spell out why, for nobody to read).
        if policy.claim_limit_for(actor.id, actor.claim_limit) is not None:
            work.uow.lock_rep(actor.id)
            claims = work.uow.events.claims_by(actor.id, rules.claim_window_start(work.at, policy))
            decision = rules.check_claim_limit(actor, claims, policy, work.at)
            if isinstance(decision, rules.ClaimLimitReached):
                raise ClaimLimitExceeded(
                    actor.id, decision.limit, policy.claim_limit.window_days, decision.until
                )
        cooldown = rules.check_cooldown(actor.id, op.customer, policy, work.at)
        if isinstance(cooldown, rules.CooldownRunning):
            raise CooldownActive(actor.id, op.customer.id, cooldown.until)

    @retried
    def assign(self, actor_id: str, customer_id: str, to_rep_id: str) -> Customer:
        """A pool manager hands a public customer to a member of the pool (分配)."""
        with self._operation(actor_id, customer_id) as op:
            return self._commit(op, self._assign_step(op, to_rep_id))

    def _assign_step(self, op: Operation, to_rep_id: str) -> Assigned:
        require_state(op.customer, "assign", _PUBLIC)
        pool = op.work.team.pool(op.customer.pool_id)
        op.allow(rights.may_assign(op.actor, pool), "assign")
        target = self._receiver(op.work, to_rep_id)
        verdict = rights.may_assign_to(target, pool)
        if not verdict.allowed:
            raise PermissionDenied(op.actor.id, "assign to", f"rep {target.id!r}", verdict.reason)
        self._check_cap(op.work, target)
        self._check_lock_cap_of_receiver(op, target.id)
        return op.event(Assigned, rep_id=target.id, pool_id=pool.id)

    @retried
    def return_to_pool(self, actor_id: str, customer_id: str, reason: str) -> Customer:
        """The owner gives a customer back to its public pool (退回), saying why."""
        reason = return_reason(reason)
        with self._operation(actor_id, customer_id) as op:
            return self._commit(op, self._return_step(op, reason))

    def _return_step(self, op: Operation, reason: str) -> Returned:
        require_state(op.customer, "return", _PRIVATE)
        op.allow(rights.may_return(op.actor, op.customer), "return")
        return op.event(Returned, rep_id=op.actor.id, reason=reason)

    @retried
    def recycle(self, actor_id: str, customer_id: str, reason: str = "") -> Customer:
        """A pool manager or the owner's superior takes a customer back to the pool (回收)."""
        with self._operation(actor_id, customer_id) as op:
            return self._commit(op, self._recycle_step(op, reason))

    def _recycle_step(self, op: Operation, reason: str) -> Recycled:
        require_state(op.customer, "recycle", _PRIVATE)
        op.allow(rights.may_recycle(op.work.team, op.actor, op.customer), "recycle")
        owner = owner_of(op.customer, "recycle")
        return op.event(Recycled, rep_id=owner, reason=reason)

    @retried
    def transfer(self, actor_id: str, customer_id: str, to_rep_id: str) -> Customer:
        """The owner hands a customer to a colleague (转移), within the colleague's cap."""
        with self._operation(actor_id, customer_id) as op:
            return self._commit(op, self._transfer_step(op, to_rep_id))

    def _transfer_step(self, op: Operation, to_rep_id: str) -> Transferred:
        require_state(op.customer, "transfer", _PRIVATE)
        op.allow(rights.may_transfer(op.actor, op.customer), "transfer")
        target = self._receiver(op.work, to_rep_id)
        if target.id == op.actor.id:
            raise InvalidValueError("to_rep_id", "cannot transfer a customer to its owner")
        self._check_cap(op.work, target)
        self._check_lock_cap_of_receiver(op, target.id)
        return op.event(Transferred, from_rep_id=op.actor.id, to_rep_id=target.id)

    @retried
    def reassign(
        self, actor_id: str, customer_id: str, to_rep_id: str, reason: str = ""
    ) -> Customer:
        """A supervisor takes a customer from one subordinate and gives it to another (重新指派)."""
        with self._operation(actor_id, customer_id) as op:
            require_state(op.customer, "reassign", _PRIVATE)
            target = self._receiver(op.work, to_rep_id)
            owner = owner_of(op.customer, "reassign")
            if target.id == owner:
                raise InvalidValueError("to_rep_id", f"{target.id} already owns the customer")
            op.allow(rights.may_reassign(op.work.team, op.actor, op.customer, target), "reassign")
            self._check_cap(op.work, target)
            self._check_lock_cap_of_receiver(op, target.id)
            event = op.event(Reassigned, from_rep_id=owner, to_rep_id=target.id, reason=reason)
            return self._commit(op, event)

    @retried
    def change_pool(self, actor_id: str, customer_id: str, to_pool_id: str) -> Customer:
        """A pool manager moves a public customer to another public pool (变更公海池)."""
        operation = "change the pool of"
        with self._operation(actor_id, customer_id) as op:
            customer = op.customer
            require_state(customer, operation, _PUBLIC)
            target = op.work.team.pool(to_pool_id)
            if target.id == customer.pool_id:
                raise InvalidValueError(
                    "to_pool_id", f"the customer is already in pool {target.id!r}"
                )
            op.allow(rights.may_change_pool(op.work.team, op.actor, customer), operation)
            event = op.event(PoolChanged, from_pool_id=customer.pool_id, to_pool_id=target.id)
            return self._commit(op, event)

    @retried
    def freeze(self, actor_id: str, customer_id: str, reason: str = "") -> Customer:
        """Put a customer in the recycle bin (冻结): nobody may claim or edit it until restored."""
        with self._operation(actor_id, customer_id) as op:
            return self._commit(op, self._freeze_step(op, reason))

    def _freeze_step(self, op: Operation, reason: str) -> Frozen:
        require_state(op.customer, "freeze", _PRIVATE, _PUBLIC)
        op.allow(rights.may_freeze(op.work.team, op.actor, op.customer), "freeze")
        return op.event(Frozen, from_rep_id=op.customer.owner_id, reason=reason)

    @retried
    def restore(self, actor_id: str, customer_id: str, to_pool_id: str | None = None) -> Customer:
        """Bring a customer back from the recycle bin into a public pool (恢复)."""
        with self._operation(actor_id, customer_id) as op:
            require_state(op.customer, "restore", CustomerStatus.FROZEN)
            target = op.work.team.pool(to_pool_id or op.customer.pool_id)
            op.allow(rights.may_restore(op.actor, target), "restore")
            return self._commit(op, op.event(Restored, pool_id=target.id))

    @retried
    def delete(self, actor_id: str, customer_id: str, reason: str = "") -> None:
        """Remove a customer for good (删除); admins only. Its history stays in the log."""
        with self._operation(actor_id, customer_id) as op:
            op.allow(rights.may_delete(op.actor), "delete")
            self._commit(op, op.event(Deleted, reason=reason))

    def lock(self, actor_id: str, customer_id: str) -> Customer:
        """Exempt a customer from every drop rule (e.g. a long contract needs no chasing)."""
        return self._set_lock(actor_id, customer_id, True)

    def unlock(self, actor_id: str, customer_id: str) -> Customer:
        """Make a locked customer subject to the drop rules again."""
        return self._set_lock(actor_id, customer_id, False)

    @retried
    def _set_lock(self, actor_id: str, customer_id: str, locked: bool) -> Customer:
        operation = "lock" if locked else "unlock"
        with self._operation(actor_id, customer_id) as op:
            customer, policy = op.customer, op.work.policy
            require_state(customer, operation, _PRIVATE, _PUBLIC)
            if customer.locked == locked:
                raise WrongStateError(
                    customer.id, operation, "locked" if locked else "unlocked", "the opposite"
                )
            op.allow(rights.may_lock(op.work.team, op.actor, customer), operation)
            if locked and customer.owner_id is not None:
                self._check_lock_cap(op.work, customer.owner_id)
            counted_before = rules.counts_toward_cap(customer, policy)
            counted_after = rules.counts_toward_cap(attrs.evolve(customer, locked=locked), policy)
            if customer.owner_id is not None and counted_after and not counted_before:
                # Unlocked, the customer counts toward its owner's cap again: it must fit.
                self._check_cap(op.work, op.work.team.rep(customer.owner_id))
            return self._commit(op, op.event(LockChanged, locked=locked))

    @retried
    def change_grade(self, actor_id: str, customer_id: str, grade: str | None) -> Customer:
        """Re-grade a customer (A-E...); its drop deadlines follow the new grade's rules."""
        with self._operation(actor_id, customer_id) as op:
            return self._commit(op, self._change_grade_step(op, grade))

    def _change_grade_step(self, op: Operation, grade: str | None) -> GradeChanged:
        operation, customer = "change the grade of", op.customer
        require_state(customer, operation, _PRIVATE, _PUBLIC)
        op.allow(rights.may_change_grade(op.work.team, op.actor, customer), operation)
        if grade == customer.grade:
            raise InvalidValueError("grade", f"the customer already has grade {grade!r}")
        return op.event(GradeChanged, old=customer.grade, new=grade)

    @retried
    def edit(
        self,
        actor_id: str,
        customer_id: str,
        *,
        name: str | None = None,
        keys: Iterable[IdentityKey | tuple[str, str]] | Mapping[str, str] | None = None,
        tags: Iterable[str] | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> Customer:
        """Change name, keys, tags or attributes; new keys pass the collision check first."""
        with self._operation(actor_id, customer_id) as op:
            customer = op.customer
            require_state(customer, "edit", _PRIVATE, _PUBLIC)
            op.allow(rights.may_edit(op.work.team, op.actor, customer), "edit")
            event = op.event(
                Edited,
                name=customer.name if name is None else name,
                keys=customer.keys
                if keys is None
                else normalise_keys(keys, op.work.policy.phone_region),
                tags=customer.tags if tags is None else tags,
                attributes=customer.attributes if attributes is None else attributes,
            )
            self._check_collision(
                op.work, event.keys - customer.keys, exclude=customer.id, actor=op.actor
            )
            return self._commit(op, event)

    @retried
    def depart(self, actor_id: str, rep_id: str) -> DepartureReport:
        """A rep leaves (离职): they become inactive and all their customers drop at once."""
        with self._work() as work:
            actor = work.team.actor(actor_id)
            # Pools before reps, as every automatic assignment takes them: the pools that
            # may receive the leaver's customers, then the leaver.
            for rule in sorted(work.policy.assignment, key=lambda rule: rule.pool):
                if Inflow.DEPARTED in rule.on:
                    work.uow.lock_pool(rule.pool)
            # Nobody gives the leaver a customer while their book is emptied.
            work.uow.lock_rep(rep_id)
            leaver = work.team.rep(rep_id)
            verdict = rights.may_depart(actor, leaver)
            if not verdict.allowed and not actor.is_admin:
                raise PermissionDenied(
                    actor.id, "register the departure of", f"rep {rep_id!r}", verdict.reason
                )
            if not verdict.allowed:
                raise InvalidValueError("rep_id", verdict.reason)
            if not leaver.active:
                raise InvalidValueError("rep_id", f"rep {rep_id!r} has already departed")
            dropped, assigned = self._drop_all_of(work, actor, leaver)
            work.uow.reps.put(attrs.evolve(leaver, active=False))
            work.uow.commit()
            return DepartureReport(leaver.id, dropped, assigned)

    def _drop_all_of(
        self, work: Work, actor: Rep, leaver: Rep
    ) -> tuple[tuple[str, ...], tuple[Assignment, ...]]:
        """Drop every customer of the leaver; where the pool's automatic assignment takes
        departures, hand each on to a colleague at once (the history shows the drop, then
        the assignment with its reason). The customers left in a pool, and the decisions."""
        dropped, assigned = [], []
        for customer in work.uow.customers.find(CustomerQuery(owner_ids=frozenset({leaver.id}))):
            event = next_event(
                Dropped,
                customer,
                work.at,
                actor.id,
                rep_id=leaver.id,
                code=rules.Reason.DROP_DEPARTED.value,
                reason=f"owner {leaver.id} departed",
            )
            changed = self._write(work, customer, event)
            _, decision = assign_automatically(
                self, work, changed, Inflow.DEPARTED, excluded=frozenset({leaver.id})
            )
            if decision is not None:
                assigned.append(decision)
            if decision is None or not decision.assigned:
                dropped.append(customer.id)
        return tuple(dropped), tuple(assigned)
