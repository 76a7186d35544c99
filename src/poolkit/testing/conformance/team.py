"""The contracts of the small repositories: reps, pools and settings."""

from __future__ import annotations

from poolkit.model.pool import Pool, PoolMode
from poolkit.model.rep import Rep
from poolkit.ports import Store


class TeamConformance:
    """The :class:`~poolkit.ports.RepRepository`, :class:`~poolkit.ports.PoolRepository`
    and :class:`~poolkit.ports.Settings` contracts. Subclass with a ``store`` fixture
    returning a fresh, empty store."""

    def test_reps_put_get_all(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            assert uow.reps.all() == []
            assert uow.reps.get("alice") is None
            uow.reps.put(Rep("carol", supervisor_id="boss"))
            uow.reps.put(Rep("alice", name="Alice", cap=10))
            uow.reps.put(Rep("boss", is_admin=True))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.reps.put(Rep("alice", name="Alice Li", active=False, claim_limit=3))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.reps.get("alice") == Rep(
                "alice", name="Alice Li", active=False, claim_limit=3
            )
            assert [rep.id for rep in uow.reps.all()] == ["alice", "boss", "carol"]
            assert uow.reps.all()[2] == Rep("carol", supervisor_id="boss")

    def test_pools_put_get_all(self, store: Store) -> None:
        south = Pool("south", name="South China", mode=PoolMode.MANAGER_ASSIGNS, managers={"boss"})
        with store.unit_of_work() as uow:
            assert uow.pools.all() == []
            assert uow.pools.get("north") is None
            uow.pools.put(south)
            uow.pools.put(Pool("north", members={"alice", "bob"}, is_default=True))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.pools.put(Pool("north", members={"alice"}, is_default=True))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.pools.get("north") == Pool("north", members={"alice"}, is_default=True)
            assert uow.pools.all() == [Pool("north", members={"alice"}, is_default=True), south]

    def test_settings(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            assert uow.settings.get("policy_fingerprint") is None
            uow.settings.set("policy_fingerprint", "abc")
            uow.settings.set("other", "")
            uow.commit()
        with store.unit_of_work() as uow:
            uow.settings.set("policy_fingerprint", "def")
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.settings.get("policy_fingerprint") == "def"
            assert uow.settings.get("other") == ""


__all__ = ["TeamConformance"]
