"""The machine itself, its settings, and :func:`pool_machine` to configure it."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import MultipleResults, initialize, multiple

from poolkit.clock import ManualClock
from poolkit.model.customer import IdentityKey
from poolkit.model.team import Team
from poolkit.policy.config import Policy
from poolkit.ports import Store
from poolkit.service import PoolService
from poolkit.stores.memory import MemoryStore
from poolkit.testing import strategies as pst
from poolkit.testing.statemachine._draws import key_values
from poolkit.testing.statemachine._invariants import Invariants
from poolkit.testing.statemachine._state import CUSTOMERS
from poolkit.testing.statemachine._time import TimeAndSweeps

MACHINE_SETTINGS = settings(
    deadline=None,
    suppress_health_check=list(HealthCheck),
    # Hypothesis runs nearly every example to the last step, and the shrinker replays the
    # failing one hundreds of times: half the steps of its default (50) halves the cost of
    # each run and gives the shrinker less to remove, while the planted bugs of
    # tests/testing/test_stateful.py are still found. Raise it (with max_examples) in CI for depth.
    stateful_step_count=25,
    # One failure, shrunk once: a second distinct failure would be shrunk on its own
    # afterwards, doubling the wait before the first one is shown.
    report_multiple_bugs=False,
    # The explain phase replays the shrunk example many times to say which steps could
    # vary; on a stateful run that costs more than the shrink itself.
    phases=[phase for phase in Phase if phase is not Phase.explain],
)
"""What :attr:`PoolMachine.TestCase` runs with (and ``run_state_machine_as_test`` without
settings of its own): Hypothesis's defaults for a state machine, tuned so that a failure
arrives shrunk in well under a minute. Derive your own from it, ``settings(MACHINE_SETTINGS,
max_examples=500)``, to keep that."""


class PoolMachine(TimeAndSweeps, Invariants):
    """Random operations on a :class:`~poolkit.service.PoolService`, checked against a model.

    Configure it by subclassing (or with :func:`pool_machine`):

    - ``policy``: the rule book; None draws one per example from
      :func:`~poolkit.testing.strategies.policies`;
    - ``team``: reps and pools; None draws one from :func:`~poolkit.testing.strategies.teams`;
    - ``store_factory``: called once per example for a fresh, empty store
      (default :class:`~poolkit.stores.memory.MemoryStore`); a store with a ``close()``
      method is closed when the example ends;
    - ``start``: the clock's first instant; None draws one (often next to a DST change).

    ``TestCase`` is a :class:`unittest.TestCase` that pytest collects; its ``settings`` are
    :data:`MACHINE_SETTINGS`; set them to choose how many examples and steps to run.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Hypothesis gives each subclass a TestCase of its own with its generic defaults;
        # a user's machine should shrink as fast as this one.
        cls.TestCase.settings = MACHINE_SETTINGS

    policy: ClassVar[Policy | None] = None
    team: ClassVar[Team | None] = None
    store_factory: ClassVar[Callable[[], Store]] = MemoryStore
    start: ClassVar[datetime | None] = None

    # ------------------------------------------------------------------ set-up

    @initialize(target=CUSTOMERS, data=st.data(), seeded=st.integers(0, 8))
    def set_up(self, data: st.DataObject, seeded: int) -> MultipleResults[str]:
        """The team on a fresh store, the clock at ``start``, and up to eight customers."""
        cls = type(self)
        team = cls.team if cls.team is not None else data.draw(pst.teams(), label="team")
        policy = (
            cls.policy
            if cls.policy is not None
            else data.draw(pst.policies(team=team, max_days=20), label="policy")
        )
        clock_zone: tzinfo = data.draw(
            st.sampled_from([policy.zone, UTC, ZoneInfo("Asia/Kathmandu")]), label="clock zone"
        )
        start = cls.start
        if start is None:
            start = data.draw(
                pst.aware_datetimes(
                    st.just(policy.zone),
                    min_value=datetime(2024, 1, 1, tzinfo=UTC),
                    max_value=datetime(2030, 12, 31, tzinfo=UTC),
                ),
                label="start",
            )
        self.rule_book = policy
        self.clock = ManualClock(start.astimezone(clock_zone))
        self.store = cls.store_factory()
        counter = itertools.count(1)
        self.service = PoolService(
            self.store, policy, self.clock, new_id=lambda: f"c{next(counter)}"
        )
        self.service.setup(team)
        self.reps = {rep.id: rep for rep in team.reps}
        self._rep_ids = tuple(sorted(self.reps))
        self.pools = {pool.id: pool for pool in team.pools}
        grades: set[str] = set(pst.GRADES)
        for drop_rule in policy.drop_rules:
            grades |= drop_rule.grades
        self.grades = (None, *sorted(grades))
        kinds = sorted(set(policy.collision_keys) | {"wechat"})
        self.keys = tuple(IdentityKey(kind, value) for kind in kinds for value in key_values(kind))
        self._members = tuple(sorted({r for p in team.pools for r in p.members | p.managers}))
        self._pool_ids = tuple(sorted(self.pools))
        self.model, self.deleted, self.departed = {}, set(), set()
        self.claims = {}
        self.checked_events, self.replayed = set(), {}
        created = [self._create_one(data) for _ in range(seeded)]
        return multiple(*[customer_id for customer_id in created if customer_id is not None])

    def teardown(self) -> None:
        close = getattr(getattr(self, "store", None), "close", None)
        if callable(close):
            close()


PoolMachine.TestCase.settings = MACHINE_SETTINGS


def pool_machine(
    policy: Policy | None = None,
    team: Team | None = None,
    store_factory: Callable[[], Store] = MemoryStore,
    *,
    start: datetime | None = None,
) -> type[PoolMachine]:
    """A :class:`PoolMachine` subclass for your rule book, team and store.

    ``TestMyPolicy = pool_machine(policy=my_policy, team=my_team).TestCase`` lets pytest run
    it; ``hypothesis.stateful.run_state_machine_as_test(pool_machine(...), settings=...)``
    runs it inside a test function. Leave ``policy`` or ``team`` out to draw a random one
    per example; ``store_factory`` must return a fresh, empty store each call.
    """
    attributes: dict[str, Any] = {
        "policy": policy,
        "team": team,
        "store_factory": staticmethod(store_factory),
        "start": start,
    }
    return type("CustomPoolMachine", (PoolMachine,), attributes)
