"""The service on a store: pool scenarios run through :class:`~poolkit.service.PoolService`,
with every stored customer equal to the replay of its history.

The only contract that imports the service: it checks that the store's pieces work
together as the service uses them, including concurrent claims at a cap."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from poolkit.clock import ManualClock
from poolkit.errors import CapExceeded, CooldownActive, WrongStateError
from poolkit.model.events import Deleted, FollowUpKind, Frozen
from poolkit.model.history import replay
from poolkit.model.team import Team
from poolkit.policy import rules
from poolkit.policy.config import Policy
from poolkit.ports import Store
from poolkit.service import PoolService
from poolkit.testing.builders import DAY, T0
from poolkit.testing.conformance._threads import HANDSHAKE_S, join_all, run_in_thread


class ServiceConformance:
    """A :class:`~poolkit.service.PoolService` running on the store: scenarios and
    concurrent claims leave every customer equal to the replay of its history. Subclass
    with a ``store`` fixture returning a fresh, empty store."""

    @staticmethod
    def _policy() -> Policy:
        return Policy.from_dict(
            {
                "timezone": "Asia/Shanghai",
                "drop_rules": [
                    {"name": "stale-15", "kind": "no_follow_up", "days": 15, "warn_days": 3}
                ],
                "caps": {"default": 2},
                "claim_limit": {"max_claims": 5, "window_days": 7},
                "cooldown": {"days": 10},
            }
        )

    @staticmethod
    def _team() -> Team:
        return Team.from_dict(
            {
                "reps": [
                    {"id": "boss", "admin": True},
                    {"id": "alice", "supervisor": "boss"},
                    {"id": "bob", "supervisor": "boss"},
                ],
                "pools": [
                    {
                        "id": "north",
                        "default": True,
                        "members": ["alice", "bob"],
                        "managers": ["boss"],
                    }
                ],
            }
        )

    def _service(self, store: Store, clock: ManualClock) -> PoolService:
        service = PoolService(store, self._policy(), clock)
        service.setup(self._team())
        return service

    def assert_state_is_its_history(self, store: Store, policy: Policy) -> None:
        """Every stored customer equals the replay of its history, with the schedule the
        policy gives it; a deleted one replays to nothing."""
        with store.unit_of_work() as uow:
            customer_ids = list(uow.events.customer_ids())
            assert set(uow.customers.ids()) <= set(customer_ids)
            for customer_id in customer_ids:
                stored = uow.customers.get(customer_id)
                assert replay(uow.events.history(customer_id)) == stored, customer_id
                if stored is not None:
                    expected = rules.schedule(stored, policy)
                    assert uow.customers.schedule_of(customer_id) == expected

    def test_a_pool_scenario_leaves_state_equal_to_history(self, store: Store) -> None:
        """Create, claim, follow up, warn, drop, cooldown, recycle, freeze and delete, with
        a cap of 2 and a 15-day no-follow-up rule warning 3 days ahead."""
        clock = ManualClock(T0)
        service = self._service(store, clock)
        service.create("alice", "Acme", customer_id="acme", keys={"phone": "+8613800138000"})
        service.create("boss", "Beta", customer_id="beta", public=True, grade="B")
        service.create("boss", "Delta", customer_id="delta", public=True)
        service.create("bob", "Gamma", customer_id="gamma", tags=["fair"])
        service.claim("alice", "beta")
        with pytest.raises(CapExceeded):
            service.claim("alice", "delta")

        clock.advance(days=5)
        service.follow_up("alice", "acme", FollowUpKind.VISIT, "met the buyer")
        service.follow_up("bob", "gamma", FollowUpKind.CALL)

        clock.advance(days=7)  # day 12: beta, untouched since its claim, is warned
        report = service.sweep()
        assert [item.customer_id for item in report.warned] == ["beta"]
        assert report.dropped == ()

        clock.advance(days=3)  # day 15: beta drops back to the pool
        report = service.sweep()
        assert [item.customer_id for item in report.dropped] == ["beta"]
        with pytest.raises(CooldownActive):
            service.claim("alice", "beta")
        service.claim("bob", "beta")

        clock.advance(days=2)  # day 17: acme and gamma, followed up on day 5, are warned
        report = service.sweep()
        assert sorted(item.customer_id for item in report.warned) == ["acme", "gamma"]
        assert service.sweep().changed is False

        service.recycle("boss", "gamma", "bob is overloaded")
        service.freeze("boss", "delta", "signed a one-year contract")
        service.delete("boss", "delta", "duplicate of acme")

        assert [c.id for c in service.private_pool("alice")] == ["acme"]
        assert [c.id for c in service.private_pool("bob")] == ["beta"]
        assert [c.id for c in service.public_pool("north")] == ["gamma"]
        assert service.recycle_bin() == []
        assert [type(e) for e in service.history("delta")][-2:] == [Frozen, Deleted]
        with store.unit_of_work() as uow:
            assert list(uow.events.customer_ids()) == ["acme", "beta", "delta", "gamma"]
            assert list(uow.customers.ids()) == ["acme", "beta", "gamma"]
            assert uow.events.claims_by("alice", T0 - DAY) == [T0]
            assert uow.events.claims_by("bob", T0 - DAY) == [T0 + 15 * DAY]
        self.assert_state_is_its_history(store, service.policy)

    def test_two_reps_claiming_one_customer_at_once_one_wins(self, store: Store) -> None:
        service = self._service(store, ManualClock(T0))
        service.create("boss", "Prize", customer_id="prize", public=True)
        start = threading.Barrier(2)
        winners: list[str] = []

        def claim(rep_id: str) -> Callable[[], None]:
            def work() -> None:
                start.wait(HANDSHAKE_S)
                service.claim(rep_id, "prize")
                winners.append(rep_id)

            return work

        started = [run_in_thread(claim(rep_id)) for rep_id in ("alice", "bob")]
        join_all([thread for thread, _ in started])
        refusals = [error for _, errors in started for error in errors]
        assert len(winners) == 1 and len(refusals) == 1
        refusal = refusals[0]
        assert isinstance(refusal, WrongStateError)
        assert refusal.owner_id == winners[0]
        assert service.customer("prize").owner_id == winners[0]
        self.assert_state_is_its_history(store, service.policy)

    def test_concurrent_claims_never_pass_the_cap(self, store: Store) -> None:
        service = self._service(store, ManualClock(T0))
        customer_ids = [f"lead-{n}" for n in range(6)]
        for customer_id in customer_ids:
            service.create("boss", customer_id, customer_id=customer_id, public=True)
        start = threading.Barrier(len(customer_ids))

        def claim(customer_id: str) -> Callable[[], None]:
            def work() -> None:
                start.wait(HANDSHAKE_S)
                service.claim("alice", customer_id)

            return work

        started = [run_in_thread(claim(customer_id)) for customer_id in customer_ids]
        join_all([thread for thread, _ in started])
        refusals = [error for _, errors in started for error in errors]
        assert len(refusals) == 4
        assert all(isinstance(error, CapExceeded) for error in refusals)
        assert len(service.private_pool("alice")) == 2
        self.assert_state_is_its_history(store, service.policy)


__all__ = ["ServiceConformance"]
