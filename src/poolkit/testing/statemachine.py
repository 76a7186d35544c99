"""A Hypothesis state machine that drives a :class:`~poolkit.service.PoolService` with random
operations and checks it against a simple model of its own.

Run it on your own rule book, team and store::

    from poolkit.testing.statemachine import pool_machine

    TestMyPolicy = pool_machine(policy=my_policy, team=my_team).TestCase

Each example sets up the team, then runs a random sequence of operations by random reps
(many of them without the right to do what they try): creates (private and public, with
identity keys that often collide), follow-ups and deals, claims, assigns, returns,
recycles, transfers, reassignments, pool changes, freezes, restores, deletions, locks,
re-grades and the odd departure, with time jumps from a second to weeks and sweeps in
between. Other steps aim at the boundaries: they jump to exactly a stored drop or warning
time, the end of a cooldown or the moment a claim leaves the limit's window (or a second
either side) and then sweep or claim there, or jump next to a DST change.

What it checks:

- every operation succeeds exactly when the model says it may, and otherwise raises a
  :class:`~poolkit.errors.PoolkitError` of a type the model expects (a rep without the
  right gets :class:`~poolkit.errors.PermissionDenied`, a full private pool
  :class:`~poolkit.errors.CapExceeded`...); a refused operation changes nothing at all;
- the store agrees with the model after every step: who owns what, which customers are
  public, frozen or deleted, and every stored schedule;
- a sweep drops exactly the customers whose deadline (recomputed by the model with plain
  calendar arithmetic) has passed, warns exactly those whose warning is due, leaves no
  private customer overdue, and a second sweep changes nothing;
- invariants over the store and the event log: each live customer is in exactly one
  place; no rep above their cap or claim limit in any window; no drop earlier than its
  deadline; nothing happens to a frozen customer but a restore or a deletion; deleted
  customers never come back; replaying a history rebuilds the stored customer; departed
  reps own nothing.

The model re-derives deadlines from the rule book's words (same local wall time N days
later, or local midnight, in the policy's zone), not from :mod:`poolkit.policy.rules`.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any, ClassVar, TypeVar
from zoneinfo import ZoneInfo

import attrs
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from poolkit.clock import ManualClock
from poolkit.errors import (
    CapExceeded,
    ClaimLimitExceeded,
    CollisionError,
    CooldownActive,
    CustomerNotFound,
    DuplicateIdError,
    InvalidValueError,
    PermissionDenied,
    PoolkitError,
    PoolNotFound,
    RepInactiveError,
    WrongStateError,
)
from poolkit.model.customer import Customer, CustomerStatus, IdentityKey
from poolkit.model.events import (
    Assigned,
    Claimed,
    Deleted,
    Dropped,
    Event,
    FollowUpKind,
    Frozen,
    Restored,
    Warned,
)
from poolkit.model.history import replay
from poolkit.model.pool import Pool, PoolMode
from poolkit.model.rep import Rep
from poolkit.model.schedule import Schedule
from poolkit.model.team import Team
from poolkit.policy.config import DropKind, DropRule, DropTime, Policy
from poolkit.ports import Store
from poolkit.service import PoolService
from poolkit.stores.memory import MemoryStore
from poolkit.testing import strategies as pst

__all__ = ["MACHINE_SETTINGS", "PoolMachine", "pool_machine"]

T = TypeVar("T")

PRIVATE, PUBLIC, FROZEN = CustomerStatus.PRIVATE, CustomerStatus.PUBLIC, CustomerStatus.FROZEN
NO_SUCH_POOL = "no-such-pool"
_NAMES = ("Acme Trading", "华东机电有限公司", "Globex", "深圳市某某科技有限公司", "Initech")
Refusals = set[type[PoolkitError]]

MACHINE_SETTINGS = settings(
    deadline=None,
    suppress_health_check=list(HealthCheck),
    # Hypothesis runs nearly every example to the last step, and the shrinker replays the
    # failing one hundreds of times: half the steps of its default (50) halves the cost of
    # each run and gives the shrinker less to remove, while the planted bugs of
    # tests/test_stateful.py are still found. Raise it (with max_examples) in CI for depth.
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


@functools.lru_cache(maxsize=4096)
def _one_of(*elements: Any) -> st.SearchStrategy[Any]:
    # Building a strategy validates it; the machine asks for the same few choices (these
    # reps, those customers) thousands of times per run, and every call counts twice over
    # while Hypothesis shrinks.
    return st.sampled_from(elements)


@functools.lru_cache(maxsize=4096)
def _either(likely: tuple[Any, ...], anything: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """Half the time one of ``likely``, else one of ``anything``."""
    return _one_of(*likely) | _one_of(*anything) if likely else _one_of(*anything)


# ----------------------------------------------------------------------------- the reference


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


def _same_instant(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return _utc(a) == _utc(b)


def _resolve(wall: datetime, zone: tzinfo) -> datetime:
    """The instant a local wall time means: the first one if it happens twice, moved
    forward by the gap if a spring-forward skipped it."""
    first = wall.replace(tzinfo=zone, fold=0)
    if _utc(first).astimezone(zone).replace(tzinfo=None) == wall:
        return min(_utc(first), _utc(wall.replace(tzinfo=zone, fold=1)))
    before = (_utc(first) - timedelta(hours=6)).astimezone(zone).utcoffset()
    after = (_utc(first) + timedelta(hours=6)).astimezone(zone).utcoffset()
    assert before is not None and after is not None
    return _utc((wall + (after - before)).replace(tzinfo=zone))


def _counting_wall(at: datetime, zone: tzinfo) -> datetime:
    """The local wall time days count from: in the second pass of a repeated hour, the wall
    time at which the repetition ends. Found from the instant the clocks went back (by the
    strategies' own scan of the zone, not poolkit's search): the repetition ends as long
    after it as the clocks went back, at the wall time they were turned back from."""
    local = at.astimezone(zone)
    if local.fold == 0:
        return local.replace(tzinfo=None)
    assert isinstance(zone, ZoneInfo)
    moment = _utc(at)
    turned_back = max(
        t for t in pst.dst_transitions(zone, moment.year - 1, moment.year + 1) if t <= moment
    )
    before = (turned_back - timedelta(seconds=1)).astimezone(zone).utcoffset()
    after = turned_back.astimezone(zone).utcoffset()
    assert before is not None and after is not None and before > after
    end = turned_back.astimezone(zone).replace(tzinfo=None, fold=0) + (before - after)
    # Counting keeps the instant's fraction of a second, as stepping whole seconds would.
    return end.replace(microsecond=local.microsecond)


def _days_later(at: datetime, days: int, zone: tzinfo) -> datetime:
    """The same local wall time ``days`` calendar days later."""
    return _resolve(_counting_wall(at, zone) + timedelta(days=days), zone)


def _deadline(anchor: datetime, days: int, policy: Policy) -> datetime:
    if policy.drop_time is DropTime.EXACT:
        return _days_later(anchor, days, policy.zone)
    day = _counting_wall(anchor, policy.zone).date() + timedelta(days=days)
    return _resolve(datetime.combine(day, time(0)), policy.zone)


@attrs.frozen
class _Due:
    """When one rule drops a customer and warns its owner, per the model."""

    rule: DropRule
    due_at: datetime
    warn_at: datetime | None


@attrs.define
class _Expected:
    """What the model believes about one live customer."""

    status: CustomerStatus
    owner: str | None
    pool: str
    grade: str | None
    keys: frozenset[IdentityKey]
    created_at: datetime
    owned_since: datetime | None = None
    public_since: datetime | None = None
    last_follow_up: datetime | None = None
    last_deal: datetime | None = None
    locked: bool = False
    related: dict[str, datetime] = attrs.Factory(dict)
    warned_due: datetime | None = None

    def take(self, rep_id: str, at: datetime) -> None:
        """Claimed or assigned: an owner is never also a related rep."""
        self.related.pop(rep_id, None)
        self.status, self.owner, self.owned_since = PRIVATE, rep_id, at
        self.public_since = self.warned_due = None

    def release(self, at: datetime, status: CustomerStatus) -> None:
        """Back to a public pool or into the recycle bin; a drop-exempt lock ends with the
        ownership it exempted."""
        if self.owner is not None:
            self.related[self.owner] = at
        self.status, self.owner, self.owned_since, self.warned_due = status, None, None, None
        self.locked = False
        if status is PUBLIC:
            self.public_since = at

    def hand_over(self, rep_id: str, at: datetime) -> None:
        assert self.owner is not None
        self.related[self.owner] = at
        self.related.pop(rep_id, None)
        self.owner, self.owned_since, self.warned_due = rep_id, at, None

    def dues(self, policy: Policy) -> list[_Due]:
        """Every rule's deadline, earliest first (ties in rule order), from the rule book."""
        if self.status is not PRIVATE or self.locked:
            return []
        assert self.owned_since is not None
        owned = _utc(self.owned_since)
        deal = None if self.last_deal is None else _utc(self.last_deal)
        follow = None if self.last_follow_up is None else _utc(self.last_follow_up)
        dealt_while_owned = deal is not None and deal >= owned
        found = []
        for drop_rule in policy.drop_rules:
            if drop_rule.exempt_if_dealt and deal is not None:
                continue
            if (drop_rule.grades and self.grade not in drop_rule.grades) or (
                drop_rule.pools and self.pool not in drop_rule.pools
            ):
                continue
            anchor: datetime | None
            if drop_rule.kind is DropKind.NO_FOLLOW_UP:
                anchor = owned if follow is None else max(owned, follow)
            elif drop_rule.kind is DropKind.NO_FIRST_DEAL:
                anchor = None if dealt_while_owned else owned
            else:
                anchor = deal if dealt_while_owned else None
            if anchor is None:
                continue
            warn = (
                _deadline(anchor, drop_rule.days - drop_rule.warn_days, policy)
                if drop_rule.warn_days
                else None
            )
            found.append(_Due(drop_rule, _deadline(anchor, drop_rule.days, policy), warn))
        return sorted(found, key=lambda due: due.due_at)

    def schedule(self, policy: Policy) -> tuple[datetime | None, datetime | None]:
        """(drop at, warn at) a store should have indexed for this customer."""
        dues = self.dues(policy)
        if not dues:
            return None, None
        first = dues[0]
        warn = None if _same_instant(self.warned_due, first.due_at) else first.warn_at
        return first.due_at, warn


def _key_values(kind: str) -> list[str]:
    """A few fixed, valid values per key kind, so that creates sometimes collide."""
    if kind == "phone":
        return ["+8613800138001", "+8613900139002", "+8618612345678"]
    if kind == "email":
        return ["li.lei@example.com", "buyer@acme.cn", "sales@qq.com"]
    if kind == "org_code":
        return [body + pst._org_check(body) for body in ("60003734", "MA1FL2B3", "12345678")]
    if kind == "uscc":
        bodies = ["91110000" + org for org in _key_values("org_code")]
        return [body + pst._uscc_check(body) for body in bodies]
    return [f"{kind}-1", f"{kind}-2", f"{kind}-3"]


@attrs.frozen
class _Create:
    """What one create asks for; printed as one line in a failing example."""

    actor: str
    public: bool
    keys: frozenset[IdentityKey]
    grade: str | None
    name: str
    pool_id: str | None
    customer_id: str | None


@functools.lru_cache(maxsize=4096)
def _creates(
    likely_actors: tuple[str, ...],
    everyone: tuple[str, ...],
    keys: tuple[IdentityKey, ...],
    grades: tuple[str | None, ...],
    pool_ids: tuple[str, ...],
    known_ids: tuple[str, ...],
) -> st.SearchStrategy[_Create]:
    """A create by a pool member half the time, else by anyone; public or private; keys
    that often collide; one time in ten in a pool that does not exist, four in ten in a
    chosen pool, else the default; one time in ten reusing a known id."""
    # one_of picks a branch uniformly: repeated branches weigh the choices.
    pools = _one_of(*pool_ids)
    return st.builds(
        _Create,
        actor=_either(likely_actors, everyone),
        public=st.booleans(),
        keys=st.frozensets(_one_of(*keys), max_size=2),
        grade=_one_of(*grades),
        name=_one_of(*_NAMES),
        pool_id=st.one_of(st.just(NO_SUCH_POOL), *[pools] * 4, *[st.none()] * 5),
        customer_id=(st.one_of(_one_of(*known_ids), *[st.none()] * 9) if known_ids else st.none()),
    )


# ----------------------------------------------------------------------------- the machine


class PoolMachine(RuleBasedStateMachine):
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

    customers: Bundle[str] = Bundle("customers")

    # Set by ``set_up``, the first step of every example.
    service: PoolService
    store: Store
    clock: ManualClock
    rule_book: Policy
    reps: dict[str, Rep]
    _rep_ids: tuple[str, ...]
    pools: dict[str, Pool]
    grades: tuple[str | None, ...]
    keys: tuple[IdentityKey, ...]
    _members: tuple[str, ...]
    _pool_ids: tuple[str, ...]
    model: dict[str, _Expected]
    deleted: set[str]
    claims: dict[str, list[datetime]]
    departed: set[str]
    checked_events: set[tuple[str, int]]
    replayed: dict[str, tuple[int, Customer | None]]

    # ------------------------------------------------------------------ set-up

    @initialize(target=customers, data=st.data(), seeded=st.integers(0, 8))
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
        self.keys = tuple(IdentityKey(kind, value) for kind in kinds for value in _key_values(kind))
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

    # ------------------------------------------------------------------ helpers

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def _pick(self, data: st.DataObject, likely: Iterable[str], label: str) -> str:
        """Half the time someone likely to have the right, else anyone at all."""
        drawn: str = data.draw(_either(tuple(sorted(set(likely))), self._rep_ids), label)
        return drawn

    def _admins(self) -> list[str]:
        return [rep.id for rep in self.reps.values() if rep.is_admin]

    def _above(self, boss: str, rep_id: str) -> bool:
        current = self.reps[rep_id].supervisor_id
        while current is not None:
            if current == boss:
                return True
            current = self.reps[current].supervisor_id
        return False

    def _superiors(self, rep_id: str | None) -> list[str]:
        return [] if rep_id is None else [r for r in self.reps if self._above(r, rep_id)]

    def _above_owner(self, actor: str, expected: _Expected) -> bool:
        return expected.owner is not None and self._above(actor, expected.owner)

    def _manages(self, actor: str, pool_id: str) -> bool:
        pool = self.pools.get(pool_id)
        return pool is not None and actor in pool.managers

    def _managers_and_superiors(self, expected: _Expected) -> list[str]:
        """The reps besides admins who hold that right, to try as actors."""
        return [*self.pools[expected.pool].managers, *self._superiors(expected.owner)]

    def _manager_or_superior(self, actor: str, expected: _Expected) -> bool:
        """The right of recycle, freeze and lock/unlock (docs/operations.md): admins,
        managers of the customer's pool, superiors of its owner."""
        return (
            self._admin(actor)
            or self._manages(actor, expected.pool)
            or self._above_owner(actor, expected)
        )

    def _sees_pool(self, rep_id: str, pool_id: str) -> bool:
        pool = self.pools[pool_id]
        return rep_id in pool.members or rep_id in pool.managers

    def _admin(self, rep_id: str) -> bool:
        return self.reps[rep_id].is_admin

    def _cap(self, rep_id: str) -> int | None:
        if rep_id in self.rule_book.caps.per_rep:
            return self.rule_book.caps.per_rep[rep_id]
        personal = self.reps[rep_id].cap
        return personal if personal is not None else self.rule_book.caps.default

    def _counts_toward_cap(self, expected: _Expected) -> bool:
        caps = self.rule_book.caps
        if not caps.count_dealt and expected.last_deal is not None:
            return False
        return caps.count_locked or not expected.locked

    def _held(self, rep_id: str) -> int:
        return sum(
            1
            for expected in self.model.values()
            if expected.owner == rep_id and self._counts_toward_cap(expected)
        )

    def _cap_full(self, rep_id: str) -> bool:
        cap = self._cap(rep_id)
        return cap is not None and self._held(rep_id) >= cap

    def _claim_limit(self, rep_id: str) -> int | None:
        limits = self.rule_book.claim_limit
        if rep_id in limits.per_rep:
            return limits.per_rep[rep_id]
        personal = self.reps[rep_id].claim_limit
        return personal if personal is not None else limits.max_claims

    def _claims_in_window(self, claim_times: Iterable[datetime], at: datetime) -> int:
        window = self.rule_book.claim_limit.window_days
        return sum(
            1
            for t in claim_times
            if _utc(t) <= _utc(at) < _days_later(t, window, self.rule_book.zone)
        )

    def _claim_limit_reached(self, rep_id: str) -> bool:
        limit = self._claim_limit(rep_id)
        return limit is not None and (
            self._claims_in_window(self.claims.get(rep_id, []), self.now) >= limit
        )

    def _cooling_down(self, rep_id: str, expected: _Expected) -> bool:
        left = expected.related.get(rep_id)
        days = self.rule_book.cooldown_days
        return (
            bool(days)
            and left is not None
            and (_utc(self.now) < _days_later(left, days, self.rule_book.zone))
        )

    def _collides(self, keys: Iterable[IdentityKey]) -> bool:
        identifying = {key for key in keys if key.kind in self.rule_book.collision_keys}
        return any(identifying & expected.keys for expected in self.model.values())

    def _choose(
        self, data: st.DataObject, customer: str, prefer: Callable[[_Expected], bool]
    ) -> str:
        """Half the time a live customer in a state the operation needs, else the one drawn
        from the bundle (which may be anywhere, or deleted)."""
        fitting = tuple(sorted(cid for cid, expected in self.model.items() if prefer(expected)))
        if not fitting:
            return customer
        drawn: str = data.draw(_either(fitting, (customer,)), label="customer")
        return drawn

    def _basic_refusals(self, actor: str, customer_id: str | None = None) -> Refusals:
        """The refusals any operation gets from a departed actor or a deleted customer."""
        found: Refusals = set()
        if not self.reps[actor].active:
            found.add(RepInactiveError)
        if customer_id is not None and customer_id not in self.model:
            found.add(CustomerNotFound)
        return found

    def _snapshot(self) -> tuple[Any, ...]:
        """Everything the store holds (customers, schedules, histories, the review list of
        look-alikes, reps, pools), as comparable values."""
        with self.store.unit_of_work() as uow:
            customers = {}
            for customer_id in uow.customers.ids():
                customers[customer_id] = (
                    uow.customers.get(customer_id),
                    uow.customers.schedule_of(customer_id),
                )
            histories = {cid: uow.events.history(cid) for cid in uow.events.customer_ids()}
            reviews = uow.reviews.find()
            return customers, histories, reviews, uow.reps.all(), uow.pools.all()

    def _attempt(self, refusals: Refusals, operation: str, call: Callable[[], T]) -> T | None:
        """Run ``call``: it must succeed when ``refusals`` is empty, and otherwise raise one
        of them and leave the store exactly as it was."""
        # Without an expected refusal, any refusal fails the step whatever it changed.
        before = self._snapshot() if refusals else None
        try:
            result = call()
        except PoolkitError as error:
            assert refusals, f"{operation} was refused although the model allows it: {error!r}"
            assert self._snapshot() == before, f"refused {operation} changed the store: {error}"
            assert isinstance(error, tuple(refusals)), (
                f"{operation} was refused with {type(error).__name__} ({error}); the model "
                f"expected one of {sorted(kind.__name__ for kind in refusals)}"
            )
            return None
        assert not refusals, (
            f"{operation} succeeded although the model expected one of "
            f"{sorted(kind.__name__ for kind in refusals)}"
        )
        return result

    def _on_customer(
        self,
        data: st.DataObject,
        customer_id: str,
        operation: str,
        likely: Callable[[_Expected], Iterable[str]],
        refusals: Callable[[str, _Expected], Refusals],
        call: Callable[[str], Customer | None],
        succeeded: Callable[[str, _Expected], None],
        actor: str | None = None,
    ) -> None:
        """The common shape of an operation on one customer by one actor (drawn, unless
        given)."""
        expected = self.model.get(customer_id)
        if actor is None:
            actor = self._pick(data, likely(expected) if expected else self._admins(), "actor")
        expect = self._basic_refusals(actor, customer_id)
        if expected is not None:
            expect |= refusals(actor, expected)
        self._attempt(expect, f"{operation} of {customer_id} by {actor}", lambda: call(actor))
        if expected is not None and not expect:
            succeeded(actor, expected)

    # ------------------------------------------------------------------ operations

    @rule(target=customers, data=st.data(), count=st.integers(1, 3))
    def create(self, data: st.DataObject, count: int) -> MultipleResults[str]:
        """One to three customers entered, one by one."""
        created = [self._create_one(data) for _ in range(count)]
        return multiple(*[customer_id for customer_id in created if customer_id is not None])

    def _create_one(self, data: st.DataObject) -> str | None:
        known = tuple(sorted(set(self.model) | self.deleted))
        # One draw for the whole create: each draw has a fixed cost, paid again on every
        # replay while Hypothesis shrinks, and a create is the most frequent step.
        args: _Create = data.draw(
            _creates(self._members, self._rep_ids, self.keys, self.grades, self._pool_ids, known),
            label="create",
        )
        actor, public, keys, grade = args.actor, args.public, args.keys, args.grade
        name, pool_id, customer_id = args.name, args.pool_id, args.customer_id
        home = pool_id or next(p.id for p in self.pools.values() if p.is_default)
        expect = self._basic_refusals(actor)
        if home not in self.pools:
            expect.add(PoolNotFound)
        elif public and not (self._admin(actor) or self._sees_pool(actor, home)):
            expect.add(PermissionDenied)
        if customer_id is not None:
            expect.add(DuplicateIdError)
        if self._collides(keys):
            expect.add(CollisionError)
        if not public and self._cap_full(actor):
            expect.add(CapExceeded)
        created = self._attempt(
            expect,
            f"create by {actor}",
            lambda: self.service.create(
                actor,
                name,
                customer_id=customer_id,
                keys=keys,
                grade=grade,
                pool_id=pool_id,
                public=public,
            ),
        )
        if created is None:
            return None
        now = self.now
        self.model[created.id] = _Expected(
            status=PUBLIC if public else PRIVATE,
            owner=None if public else actor,
            pool=home,
            grade=grade,
            keys=keys,
            created_at=now,
            owned_since=None if public else now,
            public_since=now if public else None,
        )
        return created.id

    @rule(customer=customers, data=st.data(), method=pst.follow_up_kinds())
    def follow_up(self, customer: str, data: st.DataObject, method: FollowUpKind) -> None:
        customer = self._choose(data, customer, lambda e: e.status is not FROZEN)

        def refusals(actor: str, expected: _Expected) -> Refusals:
            found: Refusals = set()
            if expected.status is FROZEN:
                found.add(WrongStateError)
            if not (
                self._admin(actor)
                or expected.owner == actor
                or actor in expected.related
                or self._above_owner(actor, expected)
            ):
                found.add(PermissionDenied)
            return found

        def succeeded(actor: str, expected: _Expected) -> None:
            expected.last_follow_up = self.now
            if method is FollowUpKind.DEAL:
                expected.last_deal = self.now

        self._on_customer(
            data,
            customer,
            f"{method.value} follow-up",
            lambda e: [*([e.owner] if e.owner else []), *e.related, *self._superiors(e.owner)],
            refusals,
            lambda actor: self.service.follow_up(actor, customer, method),
            succeeded,
        )

    @rule(customer=customers, data=st.data())
    def claim(self, customer: str, data: st.DataObject) -> None:
        self._claim(data, self._choose(data, customer, self._claimable))

    def _claimable(self, expected: _Expected) -> bool:
        return (
            expected.status is PUBLIC and self.pools[expected.pool].mode is PoolMode.MEMBERS_CLAIM
        )

    def _claim(self, data: st.DataObject, customer: str, actor: str | None = None) -> None:
        def refusals(actor: str, expected: _Expected) -> Refusals:
            found: Refusals = set()
            if expected.status is not PUBLIC:
                found.add(WrongStateError)
            pool = self.pools[expected.pool]
            if not (self._admin(actor) or self._sees_pool(actor, pool.id)):
                found.add(PermissionDenied)
            if pool.mode is not PoolMode.MEMBERS_CLAIM:
                found.add(PermissionDenied)
            if self._cap_full(actor):
                found.add(CapExceeded)
            if self._claim_limit_reached(actor):
                found.add(ClaimLimitExceeded)
            if self._cooling_down(actor, expected):
                found.add(CooldownActive)
            return found

        def succeeded(actor: str, expected: _Expected) -> None:
            expected.take(actor, self.now)
            self.claims.setdefault(actor, []).append(self.now)

        self._on_customer(
            data,
            customer,
            "claim",
            lambda e: self.pools[e.pool].members,
            refusals,
            lambda actor: self.service.claim(actor, customer),
            succeeded,
            actor,
        )

    @rule(customer=customers, data=st.data())
    def assign(self, customer: str, data: st.DataObject) -> None:
        customer = self._choose(data, customer, lambda e: e.status is PUBLIC)
        expected = self.model.get(customer)
        pool = self.pools[expected.pool] if expected else None
        target = self._pick(data, pool.members if pool else (), "assign to")

        def refusals(actor: str, expected: _Expected) -> Refusals:
            found: Refusals = set()
            if expected.status is not PUBLIC:
                found.add(WrongStateError)
            if not (self._admin(actor) or self._manages(actor, expected.pool)):
                found.add(PermissionDenied)
            if not self.reps[target].active:
                found.add(RepInactiveError)
            elif not (self._admin(target) or self._sees_pool(target, expected.pool)):
                found.add(PermissionDenied)
            elif self._cap_full(target):
                found.add(CapExceeded)
            return found

        self._on_customer(
            data,
            customer,
            f"assign to {target}",
            lambda e: [*self.pools[e.pool].managers, *self._admins()],
            refusals,
            lambda actor: self.service.assign(actor, customer, target),
            lambda actor, expected: expected.take(target, self.now),
        )

    @rule(customer=customers, data=st.data(), blank_reason=st.integers(0, 9))
    def return_to_pool(self, customer: str, data: st.DataObject, blank_reason: int) -> None:
        customer = self._choose(data, customer, lambda e: e.status is PRIVATE)
        reason = "  " if blank_reason == 0 else "not interested"

        def refusals(actor: str, expected: _Expected) -> Refusals:
            found: Refusals = set()
            if expected.status is not PRIVATE:
                found.add(WrongStateError)
            elif expected.owner != actor:
                found.add(PermissionDenied)
            return found

        expected = self.model.get(customer)
        actor = self._pick(data, [expected.owner] if expected and expected.owner else [], "actor")
        # A blank reason is refused before anything else is looked at.
        expect: Refusals = {InvalidValueError} if not reason.strip() else set()
        if not expect:
            expect = self._basic_refusals(actor, customer)
            if expected is not None:
                expect |= refusals(actor, expected)
        self._attempt(
            expect,
            f"return of {customer} by {actor}",
            lambda: self.service.return_to_pool(actor, customer, reason),
        )
        if expected is not None and not expect:
            expected.release(self.now, PUBLIC)

    @rule(customer=customers, data=st.data())
    def recycle(self, customer: str, data: st.DataObject) -> None:
        customer = self._choose(data, customer, lambda e: e.status is PRIVATE)

        def refusals(actor: str, expected: _Expected) -> Refusals:
            found: Refusals = set()
            if expected.status is not PRIVATE:
                found.add(WrongStateError)
            if not self._manager_or_superior(actor, expected):
                found.add(PermissionDenied)
            return found

        self._on_customer(
            data,
            customer,
            "recycle",
            self._managers_and_superiors,
            refusals,
            lambda actor: self.service.recycle(actor, customer, "idle"),
            lambda actor, expected: expected.release(self.now, PUBLIC),
        )

    @rule(customer=customers, data=st.data())
    def transfer(self, customer: str, data: st.DataObject) -> None:
        customer = self._choose(data, customer, lambda e: e.status is PRIVATE)
        target = self._pick(data, [], "transfer to")

        def refusals(actor: str, expected: _Expected) -> Refusals:
            found: Refusals = set()
            if expected.status is not PRIVATE:
                found.add(WrongStateError)
            if expected.owner != actor:
                found.add(PermissionDenied)
            if not self.reps[target].active:
                found.add(RepInactiveError)
            if target == actor:
                found.add(InvalidValueError)
            if self._cap_full(target):
                found.add(CapExceeded)
            return found

        self._on_customer(
            data,
            customer,
            f"transfer to {target}",
            lambda e: [e.owner] if e.owner else [],
            refusals,
            lambda actor: self.service.transfer(actor, customer, target),
            lambda actor, expected: expected.hand_over(target, self.now),
        )

    @rule(customer=customers, data=st.data())
    def reassign(self, customer: str, data: st.DataObject) -> None:
        customer = self._choose(data, customer, lambda e: e.status is PRIVATE)
        expected = self.model.get(customer)
        owner = expected.owner if expected else None
        colleagues = [
            r for r in self.reps if owner and self._superiors(r) == self._superiors(owner)
        ]
        target = self._pick(data, colleagues, "reassign to")

        def refusals(actor: str, expected: _Expected) -> Refusals:
            if expected.status is not PRIVATE:
                return {WrongStateError}
            found: Refusals = set()
            if not self.reps[target].active:
                found.add(RepInactiveError)
            if target == expected.owner:
                found.add(InvalidValueError)
            allowed = self._admin(actor) or (
                self._above_owner(actor, expected)
                and (target == actor or self._above(actor, target))
            )
            if not allowed:
                found.add(PermissionDenied)
            if self._cap_full(target):
                found.add(CapExceeded)
            return found

        self._on_customer(
            data,
            customer,
            f"reassign to {target}",
            lambda e: [*self._superiors(e.owner), *self._admins()],
            refusals,
            lambda actor: self.service.reassign(actor, customer, target, "team contest"),
            lambda actor, expected: expected.hand_over(target, self.now),
        )

    @rule(customer=customers, data=st.data())
    def change_pool(self, customer: str, data: st.DataObject) -> None:
        customer = self._choose(data, customer, lambda e: e.status is PUBLIC)
        to_pool = data.draw(_one_of(*self._pool_ids, NO_SUCH_POOL), label="to pool")

        def refusals(actor: str, expected: _Expected) -> Refusals:
            found: Refusals = set()
            if expected.status is not PUBLIC:
                found.add(WrongStateError)
            if to_pool not in self.pools:
                found.add(PoolNotFound)
            if to_pool == expected.pool:
                found.add(InvalidValueError)
            if not (self._admin(actor) or self._manages(actor, expected.pool)):
                found.add(PermissionDenied)
            return found

        def succeeded(actor: str, expected: _Expected) -> None:
            expected.pool = to_pool

        self._on_customer(
            data,
            customer,
            f"move to pool {to_pool}",
            lambda e: self.pools[e.pool].managers,
            refusals,
            lambda actor: self.service.change_pool(actor, customer, to_pool),
            succeeded,
        )

    @rule(customer=customers, data=st.data())
    def freeze(self, customer: str, data: st.DataObject) -> None:
        customer = self._choose(data, customer, lambda e: e.status is not FROZEN)

        def refusals(actor: str, expected: _Expected) -> Refusals:
            found: Refusals = set()
            if expected.status is FROZEN:
                found.add(WrongStateError)
            if not self._manager_or_superior(actor, expected):
                found.add(PermissionDenied)
            return found

        self._on_customer(
            data,
            customer,
            "freeze",
            self._managers_and_superiors,
            refusals,
            lambda actor: self.service.freeze(actor, customer, "one-year contract"),
            lambda actor, expected: expected.release(self.now, FROZEN),
        )

    @rule(customer=customers, data=st.data())
    def restore(self, customer: str, data: st.DataObject) -> None:
        customer = self._choose(data, customer, lambda e: e.status is FROZEN)
        to_pool = data.draw(_one_of(None, *self._pool_ids, NO_SUCH_POOL), label="to pool")

        def refusals(actor: str, expected: _Expected) -> Refusals:
            found: Refusals = set()
            if expected.status is not FROZEN:
                found.add(WrongStateError)
            target = to_pool or expected.pool
            if target not in self.pools:
                found.add(PoolNotFound)
            elif not (self._admin(actor) or self._manages(actor, target)):
                found.add(PermissionDenied)
            return found

        def succeeded(actor: str, expected: _Expected) -> None:
            expected.status, expected.public_since = PUBLIC, self.now
            expected.pool = to_pool or expected.pool

        self._on_customer(
            data,
            customer,
            f"restore into {to_pool}",
            lambda e: self.pools[to_pool].managers if to_pool in self.pools else self._admins(),
            refusals,
            lambda actor: self.service.restore(actor, customer, to_pool),
            succeeded,
        )

    @rule(customer=customers, data=st.data())
    def delete(self, customer: str, data: st.DataObject) -> None:
        def succeeded(actor: str, expected: _Expected) -> None:
            del self.model[customer]
            self.deleted.add(customer)

        def call(actor: str) -> None:
            self.service.delete(actor, customer, "duplicate entry")

        self._on_customer(
            data,
            customer,
            "delete",
            lambda e: (),
            lambda actor, expected: set() if self._admin(actor) else {PermissionDenied},
            call,
            succeeded,
        )

    @rule(customer=customers, data=st.data(), locked=st.booleans())
    def set_lock(self, customer: str, data: st.DataObject, locked: bool) -> None:
        customer = self._choose(
            data, customer, lambda e: e.status is not FROZEN and e.locked is not locked
        )

        def refusals(actor: str, expected: _Expected) -> Refusals:
            found: Refusals = set()
            if expected.status is FROZEN or expected.locked == locked:
                found.add(WrongStateError)
            if not self._manager_or_superior(actor, expected):
                found.add(PermissionDenied)
            if (
                not locked
                and expected.locked
                and expected.owner is not None
                and not self.rule_book.caps.count_locked
                and (self.rule_book.caps.count_dealt or expected.last_deal is None)
                and self._cap_full(expected.owner)
            ):
                # Unlocking makes the customer count toward its owner's cap again.
                found.add(CapExceeded)
            return found

        def succeeded(actor: str, expected: _Expected) -> None:
            expected.locked = locked

        self._on_customer(
            data,
            customer,
            "lock" if locked else "unlock",
            self._managers_and_superiors,
            refusals,
            lambda actor: (self.service.lock if locked else self.service.unlock)(actor, customer),
            succeeded,
        )

    @rule(customer=customers, data=st.data())
    def change_grade(self, customer: str, data: st.DataObject) -> None:
        customer = self._choose(data, customer, lambda e: e.status is not FROZEN)
        grade = data.draw(_one_of(*self.grades), label="grade")

        def refusals(actor: str, expected: _Expected) -> Refusals:
            found: Refusals = set()
            if expected.status is FROZEN:
                found.add(WrongStateError)
            if not (
                self._admin(actor)
                or expected.owner == actor
                or self._above_owner(actor, expected)
                or self._manages(actor, expected.pool)
            ):
                found.add(PermissionDenied)
            if grade == expected.grade:
                found.add(InvalidValueError)
            return found

        def succeeded(actor: str, expected: _Expected) -> None:
            expected.grade = grade

        self._on_customer(
            data,
            customer,
            f"re-grade to {grade}",
            lambda e: [*([e.owner] if e.owner else []), *self.pools[e.pool].managers],
            refusals,
            lambda actor: self.service.change_grade(actor, customer, grade),
            succeeded,
        )

    @precondition(lambda self: not self.departed and len(self.model) >= 2)
    @rule(data=st.data())
    def depart(self, data: st.DataObject) -> None:
        """Rarely: once per example at most, and only once there are customers to drop."""
        actor = self._pick(data, self._admins(), "actor")
        owners = [e.owner for e in self.model.values() if e.owner is not None and e.owner != actor]
        leaver = self._pick(data, owners, "leaver")
        expect = self._basic_refusals(actor)
        if not self._admin(actor):
            expect.add(PermissionDenied)
        if leaver == actor or not self.reps[leaver].active:
            expect.add(InvalidValueError)
        report = self._attempt(
            expect, f"departure of {leaver} by {actor}", lambda: self.service.depart(actor, leaver)
        )
        if report is None:
            return
        owned = sorted(cid for cid, e in self.model.items() if e.owner == leaver)
        assert sorted(report.dropped) == owned, (
            f"departure of {leaver} dropped {sorted(report.dropped)}, the model expected {owned}"
        )
        for customer_id in owned:
            self.model[customer_id].release(self.now, PUBLIC)
        self.reps[leaver] = attrs.evolve(self.reps[leaver], active=False)
        self.departed.add(leaver)

    # ------------------------------------------------------------------ time and sweeps

    @rule(
        seconds=st.one_of(
            st.integers(1, 59),
            st.integers(60, 3_600),
            st.integers(3_600, 86_400),
            st.integers(86_400, 21 * 86_400),
            st.sampled_from((86_400, 7 * 86_400)),
        )
    )
    def wait(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    def _jump(self, target: datetime) -> bool:
        """Move the clock forward to ``target``, keeping its zone; False if it is not ahead."""
        if _utc(target) <= _utc(self.now):
            return False
        self.clock.set(_utc(target).astimezone(self.clock.now().tzinfo))
        return True

    def _stored_times(self) -> list[datetime]:
        """Every drop and warning instant the store has scheduled."""
        times: list[datetime] = []
        with self.store.unit_of_work() as uow:
            for customer_id in uow.customers.ids():
                plan = uow.customers.schedule_of(customer_id) or Schedule()
                times += [_utc(t) for t in (plan.drop_at, plan.warn_at) if t is not None]
        return times

    def _cooldown_ends(self) -> list[tuple[str, str, datetime]]:
        """(customer, rep, when the rep may claim it back) for every related rep."""
        days = self.rule_book.cooldown_days
        if not days:
            return []
        return [
            (customer_id, rep_id, _days_later(left, days, self.rule_book.zone))
            for customer_id, expected in sorted(self.model.items())
            for rep_id, left in sorted(expected.related.items())
        ]

    def _window_ends(self) -> list[tuple[str, datetime]]:
        """(rep, when one of their claims stops counting against the limit)."""
        window = self.rule_book.claim_limit.window_days
        return [
            (rep_id, _days_later(t, window, self.rule_book.zone))
            for rep_id, times in sorted(self.claims.items())
            for t in times
        ]

    def _ahead(self, times: Iterable[datetime], offset: int) -> list[datetime]:
        now = _utc(self.now)
        return sorted(
            {t + timedelta(seconds=offset) for t in times if t + timedelta(seconds=offset) > now}
        )

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data(), offset=st.sampled_from((-1, 0, 1)))
    def jump_to_a_turning_point(self, data: st.DataObject, offset: int) -> None:
        """To exactly an instant where a rule changes its answer (a stored drop or warning,
        the end of a cooldown, a claim leaving the limit's window), or a second either side."""
        points = [
            *self._stored_times(),
            *(end for _, _, end in self._cooldown_ends()),
            *(end for _, end in self._window_ends()),
        ]
        targets = self._ahead(points, offset)
        if targets:
            self._jump(data.draw(_one_of(*targets), label="jump to"))

    @precondition(lambda self: any(e.status is PRIVATE for e in self.model.values()))
    @rule(data=st.data(), offset=st.sampled_from((-1, 0, 1)))
    def sweep_at_a_deadline(self, data: st.DataObject, offset: int) -> None:
        """Jump to a stored drop or warning time (or a second either side) and sweep."""
        targets = self._ahead(self._stored_times(), offset)
        if targets:
            self._jump(data.draw(_one_of(*targets), label="jump to"))
        self.sweep(future=1)

    @precondition(lambda self: bool(self._cooldown_ends()))
    @rule(data=st.data(), offset=st.sampled_from((-1, 0, 1)))
    def claim_back_as_the_cooldown_ends(self, data: st.DataObject, offset: int) -> None:
        """A rep who lost a customer tries to claim it back a second before, at, or a
        second after their cooldown ends."""
        choices = [c for c in self._cooldown_ends() if self._ahead([c[2]], offset)]
        # Where the boundary decides: a claimable customer and a rep who may claim from its pool.
        telling = [
            (customer, rep, end)
            for customer, rep, end in choices
            if self._claimable(self.model[customer])
            and self._sees_pool(rep, self.model[customer].pool)
        ]
        if not choices:
            return
        pick = _either(tuple(telling), tuple(choices))
        customer, rep, end = data.draw(pick, label="customer, rep, ends")
        self._jump(end + timedelta(seconds=offset))
        self._claim(data, customer, rep)

    @precondition(lambda self: bool(self.claims) and any(map(self._claimable, self.model.values())))
    @rule(data=st.data(), offset=st.sampled_from((-1, 0, 1)))
    def claim_as_a_claim_leaves_the_window(self, data: st.DataObject, offset: int) -> None:
        """A rep claims again a second before, at, or a second after one of their claims
        stops counting against their claim limit."""
        choices = [c for c in self._window_ends() if self._ahead([c[1]], offset)]
        # Where the boundary decides: the rep is at their limit just before the claim leaves.
        telling = [
            (rep, end)
            for rep, end in choices
            if (limit := self._claim_limit(rep)) is not None
            and self._claims_in_window(self.claims[rep], end - timedelta(microseconds=1)) >= limit
        ]
        if not choices:
            return
        pick = _either(tuple(telling), tuple(choices))
        rep, end = data.draw(pick, label="rep, window ends")
        self._jump(end + timedelta(seconds=offset))
        claimable = sorted(cid for cid, e in self.model.items() if self._claimable(e))
        if claimable:
            self._claim(data, data.draw(_one_of(*claimable), label="customer"), rep)

    @precondition(
        lambda self: bool(self.model) and bool(pst.dst_transitions(self.rule_book.zone, 2020, 2035))
    )
    @rule(data=st.data(), offset=st.integers(-7_200, 7_200) | st.sampled_from((-1, 0, 1)))
    def jump_next_to_a_dst_change(self, data: st.DataObject, offset: int) -> None:
        now = _utc(self.now)
        ahead = [
            t + timedelta(seconds=offset)
            for t in pst.dst_transitions(self.rule_book.zone, now.year, now.year + 1)
        ]
        ahead = [t for t in ahead if now < t <= now + timedelta(days=200)]
        if ahead:
            self.clock.set(ahead[0].astimezone(self.clock.now().tzinfo))

    @precondition(lambda self: bool(self.model))
    @rule(future=st.integers(0, 3))
    def sweep(self, future: int) -> None:
        now = self.now
        if future == 0:
            later = _utc(now) + timedelta(seconds=1)
            self._attempt(
                {InvalidValueError}, "sweep of the future", lambda: self.service.sweep(later)
            )
        drops: dict[str, _Due] = {}
        warnings: dict[str, _Due] = {}
        for customer_id, expected in self.model.items():
            dues = expected.dues(self.rule_book)
            if not dues:
                continue
            first = dues[0]
            if first.due_at <= _utc(now):
                drops[customer_id] = first
            elif (
                first.warn_at is not None
                and first.warn_at <= _utc(now)
                and not _same_instant(expected.warned_due, first.due_at)
            ):
                warnings[customer_id] = first
        report = self._attempt(set(), "sweep", self.service.sweep)
        assert report is not None
        got_drops = {item.customer_id: item for item in report.dropped}
        got_warnings = {item.customer_id: item for item in report.warned}
        assert set(got_drops) == set(drops), (
            f"sweep at {now} dropped {sorted(got_drops)}, the model expected {sorted(drops)}"
        )
        assert set(got_warnings) == set(warnings), (
            f"sweep at {now} warned {sorted(got_warnings)}, the model expected {sorted(warnings)}"
        )
        for customer_id, item in [*got_drops.items(), *got_warnings.items()]:
            due = drops.get(customer_id) or warnings[customer_id]
            assert item.rule == due.rule.name, (customer_id, item.rule, due.rule.name)
            assert _same_instant(item.due_at, due.due_at), (customer_id, item.due_at, due.due_at)
        for customer_id in drops:
            self.model[customer_id].release(now, PUBLIC)
        for customer_id, due in warnings.items():
            self.model[customer_id].warned_due = due.due_at
        for customer_id, expected in self.model.items():
            dues = expected.dues(self.rule_book)
            assert not dues or dues[0].due_at > _utc(now), f"{customer_id} overdue after a sweep"
        again = self.service.sweep()
        assert not again.changed, f"a second sweep at {now} changed {again}"

    # ------------------------------------------------------------------ invariants

    @invariant()
    def store_agrees_with_model_and_rules(self) -> None:
        with self.store.unit_of_work() as uow:
            stored = {cid: uow.customers.get(cid) for cid in uow.customers.ids()}
            schedules = {cid: uow.customers.schedule_of(cid) for cid in stored}
            histories = {cid: uow.events.history(cid) for cid in uow.events.customer_ids()}
            pools = {pool.id for pool in uow.pools.all()}
            reps = {rep.id: rep for rep in uow.reps.all()}
        customers = {cid: c for cid, c in stored.items() if c is not None}
        assert len(customers) == len(stored)
        self._check_places(customers, pools)
        self._check_model(customers, schedules, reps)
        self._check_caps(customers, reps)
        self._check_claim_limits(histories, reps)
        self._check_histories(customers, histories)

    def _check_places(self, customers: dict[str, Customer], pools: set[str]) -> None:
        """Every live customer is in exactly one place."""
        for customer in customers.values():
            private = customer.status is PRIVATE and customer.owner_id is not None
            public = customer.status is PUBLIC and customer.owner_id is None
            frozen = customer.status is FROZEN and customer.owner_id is None
            assert private + public + frozen == 1, customer
            assert customer.pool_id in pools, f"{customer.id} is in unknown pool {customer.pool_id}"
            if private:
                assert customer.owner_id in self.reps, customer

    def _check_model(
        self,
        customers: dict[str, Customer],
        schedules: dict[str, Schedule | None],
        reps: dict[str, Rep],
    ) -> None:
        assert set(customers) == set(self.model), (
            f"store holds {sorted(customers)}, the model {sorted(self.model)}"
        )
        assert not set(customers) & self.deleted, "a deleted customer came back"
        for customer_id, expected in self.model.items():
            customer = customers[customer_id]
            where = f"customer {customer_id}"
            assert customer.status is expected.status, (where, customer.status, expected.status)
            assert customer.owner_id == expected.owner, (where, customer.owner_id, expected.owner)
            assert customer.pool_id == expected.pool, (where, customer.pool_id, expected.pool)
            assert customer.grade == expected.grade, where
            assert customer.keys == expected.keys, where
            assert customer.locked == expected.locked, where
            for name, value, model_value in (
                ("created_at", customer.created_at, expected.created_at),
                ("owned_since", customer.owned_since, expected.owned_since),
                ("public_since", customer.public_since, expected.public_since),
                ("last_follow_up_at", customer.last_follow_up_at, expected.last_follow_up),
                ("last_deal_at", customer.last_deal_at, expected.last_deal),
                ("warned_due_at", customer.warned_due_at, expected.warned_due),
            ):
                assert _same_instant(value, model_value), (where, name, value, model_value)
            assert set(customer.related_reps) == set(expected.related), where
            for rep_id, since in customer.related_reps.items():
                assert _same_instant(since, expected.related[rep_id]), (where, rep_id)
            drop_at, warn_at = expected.schedule(self.rule_book)
            plan = schedules[customer_id] or Schedule()
            assert _same_instant(plan.drop_at, drop_at), (where, "drop at", plan.drop_at, drop_at)
            assert _same_instant(plan.warn_at, warn_at), (where, "warn at", plan.warn_at, warn_at)
        for rep_id, rep in reps.items():
            assert rep.active == self.reps[rep_id].active, rep_id
            if not rep.active:
                owned = [c.id for c in customers.values() if c.owner_id == rep_id]
                assert not owned, f"departed {rep_id} still owns {owned}"

    def _check_caps(self, customers: dict[str, Customer], reps: dict[str, Rep]) -> None:
        caps = self.rule_book.caps
        held: dict[str, int] = {}
        for customer in customers.values():
            if customer.owner_id is None:
                continue
            if not caps.count_dealt and customer.last_deal_at is not None:
                continue
            if not caps.count_locked and customer.locked:
                continue
            held[customer.owner_id] = held.get(customer.owner_id, 0) + 1
        for rep_id, count in held.items():
            cap = self._cap(rep_id)
            assert cap is None or count <= cap, f"{rep_id} holds {count}, above a cap of {cap}"

    def _check_claim_limits(self, histories: dict[str, list[Event]], reps: dict[str, Rep]) -> None:
        claims: dict[str, list[datetime]] = {}
        for history in histories.values():
            for event in history:
                if isinstance(event, Claimed):
                    claims.setdefault(event.rep_id, []).append(event.at)
        for rep_id, times in claims.items():
            assert sorted(map(_utc, times)) == sorted(map(_utc, self.claims.get(rep_id, [])))
            limit = self._claim_limit(rep_id)
            if limit is None:
                continue
            for claim in times:
                count = self._claims_in_window(times, claim)
                assert count <= limit, f"{rep_id} made {count} claims in a window, limit {limit}"

    def _check_histories(
        self, customers: dict[str, Customer], histories: dict[str, list[Event]]
    ) -> None:
        assert set(customers) <= set(histories)
        for customer_id, history in histories.items():
            customer = customers.get(customer_id)
            cached = self.replayed.get(customer_id)
            if cached is not None and cached[0] == len(history):
                assert cached[1] == customer, f"{customer_id} changed without an event"
            else:
                rebuilt = replay(history)
                assert rebuilt == customer, (
                    f"replaying {customer_id} gives {rebuilt}, not {customer}"
                )
                self.replayed[customer_id] = (len(history), rebuilt)
            if customer_id in self.deleted:
                assert customer is None and isinstance(history[-1], Deleted), customer_id
            self._check_events(customer_id, history)

    def _check_events(self, customer_id: str, history: Sequence[Event]) -> None:
        """Nothing but a restore or a deletion after a freeze; no drop before its deadline
        nor a warning outside its window, each checked against the model's own deadline
        for the customer as it was just before."""
        frozen = False
        for index, event in enumerate(history):
            if frozen:
                assert isinstance(event, Restored | Deleted), (
                    f"{customer_id}: {event.kind} while in the recycle bin"
                )
            if isinstance(event, Frozen):
                frozen = True
            elif isinstance(event, Restored):
                frozen = False
            elif isinstance(event, Claimed | Assigned):
                assert not frozen
            if not isinstance(event, Dropped | Warned):
                continue
            key = (customer_id, event.seq)
            if key in self.checked_events:
                continue
            self.checked_events.add(key)
            if isinstance(event, Dropped) and event.rule is None:
                continue  # a departure, not a rule
            before = replay(history[:index])
            assert before is not None
            dues = _expected_from(before).dues(self.rule_book)
            assert dues, f"{customer_id}: {event.kind} although no rule applied"
            first = dues[0]
            assert event.due_at is not None and _same_instant(event.due_at, first.due_at)
            assert event.rule == first.rule.name
            if isinstance(event, Dropped):
                assert _utc(event.at) >= first.due_at, f"{customer_id} dropped early: {event}"
            else:
                assert first.warn_at is not None
                assert first.warn_at <= _utc(event.at) < first.due_at, event


PoolMachine.TestCase.settings = MACHINE_SETTINGS


def _expected_from(customer: Customer) -> _Expected:
    """The model's view of a customer read from a store (to recompute its deadlines)."""
    return _Expected(
        status=customer.status,
        owner=customer.owner_id,
        pool=customer.pool_id,
        grade=customer.grade,
        keys=customer.keys,
        created_at=customer.created_at,
        owned_since=customer.owned_since,
        public_since=customer.public_since,
        last_follow_up=customer.last_follow_up_at,
        last_deal=customer.last_deal_at,
        locked=customer.locked,
        related=dict(customer.related_reps),
        warned_due=customer.warned_due_at,
    )


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
