"""A policy's what-if on a store: read page by page through ``find(..., after=...)``,
changing nothing, and predicting what sweeps do once the candidate is applied."""

from __future__ import annotations

from poolkit.clock import ManualClock, utc
from poolkit.model.team import Team
from poolkit.policy.config import Policy
from poolkit.ports import Store
from poolkit.service import PoolService
from poolkit.testing.builders import DAY, T0


class WhatIfConformance:
    """:meth:`PoolService.what_if <poolkit.service.PoolService.what_if>` on the store.
    Subclass with a ``store`` fixture returning a fresh, empty store."""

    @staticmethod
    def _what_if_policy(days: int) -> Policy:
        return Policy.from_dict(
            {
                "timezone": "Asia/Shanghai",
                "drop_rules": [
                    {"name": f"stale-{days}", "kind": "no_follow_up", "days": days, "warn_days": 2}
                ],
                "caps": {"default": 10 if days > 10 else 2},
            }
        )

    def test_a_what_if_pages_changes_nothing_and_is_what_the_sweeps_then_do(
        self, store: Store
    ) -> None:
        clock = ManualClock(T0)
        service = PoolService(store, self._what_if_policy(15), clock, sweep_batch=2)
        service.setup(
            Team.from_dict(
                {
                    "reps": [{"id": "boss", "admin": True}, {"id": "alice"}, {"id": "bob"}],
                    "pools": [{"id": "north", "default": True, "members": ["alice", "bob"]}],
                }
            )
        )
        for number in range(5):
            service.create(
                "alice" if number < 3 else "bob", f"Acme {number}", customer_id=f"c{number}"
            )
            clock.advance(days=1)
        service.create("boss", "Public", customer_id="p0", public=True)
        service.follow_up("bob", "c4", "call")
        with store.unit_of_work() as uow:
            before = {
                cid: (uow.customers.get(cid), uow.customers.schedule_of(cid))
                for cid in uow.customers.ids()
            }
        candidate = self._what_if_policy(7)
        until = clock.now() + 5 * DAY
        result = service.what_if(candidate, until, limit=None)
        with store.unit_of_work() as uow:
            after = {
                cid: (uow.customers.get(cid), uow.customers.schedule_of(cid))
                for cid in uow.customers.ids()
            }
        assert after == before
        assert service.policy == self._what_if_policy(15)
        assert (result.customers, result.changed, result.earlier) == (5, 5, 5)
        assert [item.customer_id for item in service.what_if_items(candidate, until)] == [
            f"c{number}" for number in range(5)
        ]
        alice = next(rep for rep in result.reps if rep.rep_id == "alice")
        assert (alice.held, alice.new_cap, alice.over_cap) == (3, 2, 1)
        predicted = sorted(
            (action.customer_id, action.action, utc(action.at))
            for item in result.items
            for action in item.actions
        )
        # c0..c3 are warned, then drop; c4, followed up on day 5, is only warned.
        assert [(cid, str(kind)) for cid, kind, _ in predicted].count(("c4", "warning")) == 1
        assert len(predicted) == 9
        service.change_policy(candidate)
        swept = []
        for at in sorted({at for _, _, at in predicted}):
            clock.set(at)
            report = service.sweep()
            swept += [(i.customer_id, i.kind, utc(at)) for i in report.dropped + report.warned]
        assert sorted(swept) == predicted
        clock.set(until)
        assert not service.sweep().changed
