"""The contract of :meth:`~poolkit.ports.UnitOfWork.lock_pool`, as a pytest test class.

Automatic assignment reads a pool's turn (who is next), picks a rep and writes the turn
back; ``lock_pool`` must make two such units of work take turns, so that no turn is handed
out twice. Stores that serialise every unit of work keep this already; a store whose units
of work run side by side must make the second wait.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from poolkit.model.pool import Pool
from poolkit.ports import Store
from poolkit.testing.builders import NO_SCHEDULE, private
from poolkit.testing.conformance._threads import HANDSHAKE_S, join_all, run_in_thread

__all__ = ["PoolLockConformance"]


class PoolLockConformance:
    """``lock_pool``: harmless to the unit of work that takes it, and a read-then-write of
    a pool's turn under it loses no update. Subclass with a ``store`` fixture."""

    def test_locking_a_pool_lets_the_unit_of_work_go_on(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.pools.put(Pool("north"))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.lock_pool("north")
            uow.lock_pool("north")
            uow.lock_pool("nowhere")
            uow.lock_rep("li")
            uow.customers.add(private("c1"), NO_SCHEDULE)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1") is not None

    def test_turns_taken_under_the_pool_lock_are_not_lost(self, store: Store) -> None:
        """Eight threads at once each read the pool's turn counter under
        ``lock_pool("north")`` and write it back one higher: all eight count."""
        key = "conformance.turn.north"
        with store.unit_of_work() as uow:
            uow.pools.put(Pool("north"))
            uow.settings.set(key, "0")
            uow.commit()
        start = threading.Barrier(8)

        def take_turn() -> Callable[[], None]:
            def work() -> None:
                start.wait(HANDSHAKE_S)
                with store.unit_of_work() as uow:
                    uow.lock_pool("north")
                    turn = int(uow.settings.get(key) or "0")
                    uow.settings.set(key, str(turn + 1))
                    uow.commit()

            return work

        started = [run_in_thread(take_turn()) for _ in range(8)]
        join_all([thread for thread, _ in started])
        assert [error for _, errors in started for error in errors] == []
        with store.unit_of_work() as uow:
            assert uow.settings.get(key) == "8"
