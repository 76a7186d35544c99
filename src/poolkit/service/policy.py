"""Changing the policy: one stored decision, then the schedules follow in batches."""

from __future__ import annotations

import attrs

from poolkit.policy import rules
from poolkit.policy.config import Policy
from poolkit.service._core import ServiceCore
from poolkit.service.stored_policy import StoredPolicy, save

__all__ = ["PolicyJobs"]


class PolicyJobs(ServiceCore):
    def change_policy(self, policy: Policy) -> int:
        """Store ``policy`` as the next version, then recompute every stored schedule.

        The new version applies to every service on the store from its next unit of work.
        The schedules are recomputed afterwards, in batches of ``sweep_batch`` customers,
        one unit of work each; only then is the change marked complete. Until it is, the
        sweep and the forecast read every customer rather than the due index, so a schedule
        computed under the old rules can neither delay a drop nor hasten one. A change that
        fails part-way is finished by calling ``change_policy`` again with the same policy.
        Returns how many customers were rescheduled.
        """
        with self._work() as work:
            pools = [pool.id for pool in work.uow.pools.all()]
            if pools:
                rules.check_routing(policy, pools)
            current = work.stored
            customer_ids = list(work.uow.customers.ids())
            if current.policy.fingerprint() == policy.fingerprint():
                if current.schedules_current:
                    return 0
                target = current
            else:
                target = StoredPolicy(policy, current.version + 1, current.schedules_version)
                save(work.uow.settings, target)
                work.uow.commit()
        count = self._reschedule(customer_ids, target.version)
        with self._work() as work:
            # A later change may have been stored meanwhile: it owns the schedules now.
            if work.stored.version == target.version:
                save(work.uow.settings, attrs.evolve(work.stored, schedules_version=target.version))
                work.uow.commit()
        return count

    def _reschedule(self, customer_ids: list[str], version: int) -> int:
        count = 0
        for start in range(0, len(customer_ids), self._sweep_batch):
            with self._work() as work:
                if work.stored.version != version:
                    break  # superseded: the newer change recomputes everything
                for customer_id in customer_ids[start : start + self._sweep_batch]:
                    customer = work.uow.customers.get(customer_id)
                    if customer is None:  # deleted meanwhile
                        continue
                    new = rules.schedule(customer, work.policy)
                    if work.uow.customers.schedule_of(customer_id) != new:
                        work.uow.customers.update(customer, new, customer.version)
                        count += 1
                work.uow.commit()
        return count
