"""Every pool operation: check the actor's rights, ask the rules, write state and events.

Each operation runs in one unit of work: it loads what it needs, decides (with the pure
rules of :mod:`poolkit.policy.rules` and :mod:`poolkit.access`), computes the events and
applies them with :func:`poolkit.model.history.apply`, then writes the new state, its
schedule and its events together and commits. Any refusal raises a typed error before
anything is committed, so a refused operation changes nothing.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs

from poolkit.access import Access
from poolkit.clock import Clock, require_aware, utc
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
    RepNotFound,
    ReviewNotFound,
    StaleVersionError,
    StoreError,
    WrongStateError,
)
from poolkit.identity.keys import normalise_keys
from poolkit.identity.normalise import normalise_name
from poolkit.identity.similarity import name_blocks, normalised_similarity
from poolkit.importer import ImportReport, ImportRow, Outcome, RowResult
from poolkit.model.customer import AttributeValue, Customer, CustomerStatus, IdentityKey
from poolkit.model.events import (
    Assigned,
    Claimed,
    Created,
    Deleted,
    Dropped,
    Edited,
    Event,
    FollowedUp,
    FollowUpKind,
    Frozen,
    GradeChanged,
    LockChanged,
    Merged,
    MergedInto,
    PoolChanged,
    Reassigned,
    Recycled,
    Restored,
    Returned,
    Transferred,
    Warned,
)
from poolkit.model.history import apply
from poolkit.model.pool import Pool, PoolMode
from poolkit.model.rep import OrgTree, Rep
from poolkit.model.review import ReviewItem, ReviewStatus, SimilarMatch
from poolkit.model.team import Team, check_team
from poolkit.policy import rules
from poolkit.policy.config import Policy
from poolkit.ports import CustomerQuery, Store, UnitOfWork

POLICY_FINGERPRINT = "policy_fingerprint"

E = TypeVar("E", bound=Event)
T = TypeVar("T")

# How often an operation runs before a transient store failure reaches the caller. On a
# store whose units of work run side by side (PostgreSQL), the loser of a race on one
# customer finds its version changed; run again, it reads the winner's write and gets the
# real answer (a claim race: WrongStateError naming the winner).
ATTEMPTS = 5


def _retrying(operation: Callable[[], T]) -> T:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return operation()
        except (StaleVersionError, StoreError) as error:
            if attempt == ATTEMPTS or (isinstance(error, StoreError) and not error.retryable):
                raise
            # A little jitter, so the losers of one race do not all collide again.
            time.sleep(random.uniform(0, 0.002 * attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def _upcoming(uow: UnitOfWork, at: datetime, limit: int) -> list[Customer]:
    """``due`` for reading only. On a store whose ``due`` locks what it returns for the
    sweep (PostgreSQL), a forecast through it would hold every due customer and make
    sweeps skip them; such a store has ``upcoming``, which the ports will name (issue 11)."""
    upcoming = getattr(uow.customers, "upcoming", None)
    if upcoming is not None:
        found: list[Customer] = upcoming(at, limit)
        return found
    return uow.customers.due(at, limit)


def _lock_rep(uow: UnitOfWork, rep_id: str) -> None:
    """Serialise the decisions about a rep (cap, claim limit) among units of work that run
    side by side. Stores that serialise every unit of work need nothing and have no such
    method yet; the ports will name it (issue 11)."""
    lock = getattr(uow, "lock_rep", None)
    if lock is not None:
        lock(rep_id)


@attrs.frozen
class CreateResult:
    """A new customer, and the stored customers its name looks like (now under review)."""

    customer: Customer
    similar: tuple[SimilarMatch, ...] = ()


def review_id(customer_id: str, similar_id: str) -> str:
    """Review items are named by their pair, so a pair is filed once."""
    return f"{customer_id}~{similar_id}"


def _resolved(item: ReviewItem, status: ReviewStatus, by: str | None, at: datetime) -> ReviewItem:
    return attrs.evolve(item, status=status, resolved_by=by, resolved_at=at)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((t for t in (a, b) if t is not None), default=None)


@attrs.frozen
class SweepItem:
    """One customer a sweep moved or warned, and why."""

    customer_id: str
    rep_id: str
    rule: str | None
    code: str
    due_at: datetime | None
    message: str


@attrs.frozen
class SweepReport:
    at: datetime
    dropped: tuple[SweepItem, ...]
    warned: tuple[SweepItem, ...]
    rescheduled: int

    @property
    def changed(self) -> bool:
        return bool(self.dropped or self.warned)


@attrs.frozen
class ForecastItem:
    """What would happen to a customer if nobody touched it: a warning or a drop, when, why."""

    customer_id: str
    owner_id: str
    action: str  # "warning" or "drop"
    at: datetime
    rule: str
    code: str
    message: str


@attrs.frozen
class DepartureReport:
    rep_id: str
    dropped: tuple[str, ...]


class PoolService:
    """The operations of the pool mechanism over any :class:`~poolkit.ports.Store`.

    ``policy`` is the rule book; ``clock`` tells the time of every operation. The store's
    stored deadlines are recomputed when the policy differs from the one they were computed
    with (see :meth:`change_policy`).
    """

    def __init__(
        self,
        store: Store,
        policy: Policy,
        clock: Clock,
        *,
        sweep_batch: int = 500,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        if sweep_batch < 1:
            raise InvalidValueError("sweep_batch", "must be > 0")
        self.store = store
        self.clock = clock
        self._policy = policy
        self._sweep_batch = sweep_batch
        self._new_id = new_id or (lambda: uuid.uuid4().hex[:12])
        self._sync_schedules()

    @property
    def policy(self) -> Policy:
        return self._policy

    # ------------------------------------------------------------------ helpers

    def _now(self) -> datetime:
        return require_aware(self.clock.now(), "clock.now()")

    def _access(self, uow: UnitOfWork) -> Access:
        return Access(uow.reps, uow.pools)

    def _customer(self, uow: UnitOfWork, customer_id: str) -> Customer:
        customer = uow.customers.get(customer_id)
        if customer is None:
            raise CustomerNotFound(customer_id)
        return customer

    def _write(self, uow: UnitOfWork, customer: Customer, event: Event) -> Customer:
        """Apply ``event`` to ``customer`` and store both, in the caller's unit of work.

        The review list follows along here, for every operation alike: a deleted customer's
        open items close, and a new name is checked for look-alikes like a new customer.
        """
        changed = apply(customer, event)
        uow.events.append(event)
        if changed is None:
            uow.customers.remove(customer.id, customer.version)
            if isinstance(event, Deleted):
                for item in uow.reviews.find(ReviewStatus.OPEN, customer.id):
                    uow.reviews.update(
                        _resolved(item, ReviewStatus.CLOSED, event.actor_id, event.at)
                    )
            return customer
        uow.customers.update(changed, rules.schedule(changed, self._policy), customer.version)
        if isinstance(event, Edited) and changed.name != customer.name:
            self._file_reviews(uow, changed, event.at)
        return changed

    def _event(
        self, kind: type[E], customer: Customer, at: datetime, actor_id: str | None, **payload: Any
    ) -> E:
        """The next event of ``customer``'s history."""
        return kind(
            customer_id=customer.id, seq=customer.version + 1, at=at, actor_id=actor_id, **payload
        )

    def _operate(
        self,
        customer_id: str,
        actor_id: str,
        decide: Callable[[UnitOfWork, Access, Rep, Customer, datetime], Event],
    ) -> Customer:
        """Load, check the actor, let ``decide`` check rights and rules and name the event,
        then write and commit; run again from the start after a transient failure."""

        def attempt() -> Customer:
            at = self._now()
            with self.store.unit_of_work() as uow:
                access = self._access(uow)
                actor = access.actor(actor_id)
                customer = self._customer(uow, customer_id)
                event = decide(uow, access, actor, customer, at)
                changed = self._write(uow, customer, event)
                uow.commit()
                return changed

        return _retrying(attempt)

    def _require_state(self, customer: Customer, operation: str, *states: CustomerStatus) -> None:
        if customer.status not in states:
            expected = " or ".join(state.value for state in states)
            raise WrongStateError(
                customer.id, operation, customer.where, expected, owner_id=customer.owner_id
            )

    def _check_cap(self, uow: UnitOfWork, rep: Rep) -> None:
        # Without a cap there is nothing to count; reading the rep's whole book anyway
        # would make a large private import quadratic.
        if self._policy.cap_for(rep.id, rep.cap) is None:
            return
        _lock_rep(uow, rep.id)
        held = uow.customers.find(CustomerQuery(owner_ids=frozenset({rep.id})))
        decision = rules.check_cap(rep, held, self._policy)
        if not decision.allowed:
            assert decision.limit is not None and decision.count is not None
            raise CapExceeded(rep.id, decision.limit, decision.count)

    def _check_collision(
        self, uow: UnitOfWork, keys: Iterable[IdentityKey], exclude: str | None = None
    ) -> None:
        identifying = rules.identifying_keys(keys, self._policy)
        if not identifying:
            return
        for other in uow.customers.with_keys(identifying):
            if other.id == exclude:
                continue
            key = sorted(identifying & other.keys)[0]
            raise CollisionError(
                other.id, key.kind, key.value, other.owner_id, other.pool_id, other.is_frozen
            )

    # ------------------------------------------------------------------ team

    def setup(self, team: Team) -> None:
        """Add or replace the team's reps and pools (existing customers stay)."""
        with self.store.unit_of_work() as uow:
            self._write_team(uow, team.reps, team.pools)
            uow.commit()

    def add_rep(self, rep: Rep) -> None:
        self._put_team(reps=[rep], pools=[], new=True)

    def update_rep(self, rep: Rep) -> None:
        self._put_team(reps=[rep], pools=[], new=False)

    def add_pool(self, pool: Pool) -> None:
        self._put_team(reps=[], pools=[pool], new=True)

    def update_pool(self, pool: Pool) -> None:
        self._put_team(reps=[], pools=[pool], new=False)

    def _put_team(self, reps: list[Rep], pools: list[Pool], new: bool) -> None:
        with self.store.unit_of_work() as uow:
            for rep in reps:
                exists = uow.reps.get(rep.id) is not None
                if new and exists:
                    raise DuplicateIdError("rep", rep.id)
                if not new and not exists:
                    raise RepNotFound(rep.id)
            for pool in pools:
                exists = uow.pools.get(pool.id) is not None
                if new and exists:
                    raise DuplicateIdError("pool", pool.id)
                if not new and not exists:
                    raise PoolNotFound(pool.id)
            self._write_team(uow, reps, pools)
            uow.commit()

    def _write_team(self, uow: UnitOfWork, reps: Iterable[Rep], pools: Iterable[Pool]) -> None:
        """Add or replace ``reps`` and ``pools`` once the whole team they make is valid."""
        reps, pools = list(reps), list(pools)
        all_reps = {rep.id: rep for rep in uow.reps.all()} | {rep.id: rep for rep in reps}
        all_pools = {pool.id: pool for pool in uow.pools.all()} | {p.id: p for p in pools}
        check_team(all_reps.values(), all_pools.values())
        self._refuse_stranding(uow, reps)
        for rep in reps:
            uow.reps.put(rep)
        for pool in pools:
            uow.pools.put(pool)

    def _refuse_stranding(self, uow: UnitOfWork, reps: Iterable[Rep]) -> None:
        """A departed rep owns nothing: marking one inactive while they still own customers
        would strand those customers (and depart() would then refuse, as already departed)."""
        for rep in reps:
            owner = CustomerQuery(owner_ids=frozenset({rep.id}))
            if not rep.active and uow.customers.find(owner, limit=1):
                raise InvalidValueError(
                    "active",
                    f"rep {rep.id!r} still owns customers; register the departure with "
                    "depart() so they drop to the public pool",
                )

    def reps(self) -> list[Rep]:
        with self.store.unit_of_work() as uow:
            return uow.reps.all()

    def pools(self) -> list[Pool]:
        with self.store.unit_of_work() as uow:
            return uow.pools.all()

    def org_tree(self) -> OrgTree:
        with self.store.unit_of_work() as uow:
            return OrgTree(uow.reps.all())

    # ------------------------------------------------------------------ policy

    def change_policy(self, policy: Policy) -> int:
        """Switch to a new rule book and recompute every stored deadline.

        Costs one read of every customer and one write of each schedule that changed (not
        of any history), in batches; returns how many customers were rescheduled.
        """
        self._policy = policy
        return self._sync_schedules(force=True)

    def _sync_schedules(self, force: bool = False) -> int:
        """Recompute stored schedules when the policy changed, in batches of ``sweep_batch``
        customers, one unit of work each, so other processes are not locked out for long.

        The policy's fingerprint is stored last: a crash part-way leaves the old fingerprint,
        and the next service started on the store finishes the job. Meanwhile no drop is
        missed or early, because a sweep re-checks the rules of every customer it reads.
        """
        fingerprint = self._policy.fingerprint()
        with self.store.unit_of_work() as uow:
            if not force and uow.settings.get(POLICY_FINGERPRINT) == fingerprint:
                return 0
            customer_ids = list(uow.customers.ids())
        count = 0
        for start in range(0, len(customer_ids), self._sweep_batch):
            with self.store.unit_of_work() as uow:
                for customer_id in customer_ids[start : start + self._sweep_batch]:
                    customer = uow.customers.get(customer_id)
                    if customer is None:  # deleted meanwhile
                        continue
                    new = rules.schedule(customer, self._policy)
                    if uow.customers.schedule_of(customer_id) != new:
                        uow.customers.update(customer, new, customer.version)
                        count += 1
                uow.commit()
        with self.store.unit_of_work() as uow:
            uow.settings.set(POLICY_FINGERPRINT, fingerprint)
            uow.commit()
        return count

    # ------------------------------------------------------------------ operations

    def create(
        self,
        actor_id: str,
        name: str,
        *,
        customer_id: str | None = None,
        keys: Iterable[IdentityKey | tuple[str, str]] | Mapping[str, str] = (),
        grade: str | None = None,
        tags: Iterable[str] = (),
        attributes: Mapping[str, AttributeValue] | None = None,
        pool_id: str | None = None,
        public: bool = False,
    ) -> Customer:
        """Enter a new customer (录入), after the collision check.

        Into the creator's private pool by default (cap permitting), or straight into a public
        pool with ``public=True``. ``pool_id`` is its public pool; when not given, the
        policy's routing rules pick it from the attributes, else the default pool. Look-alike
        names are not refused: they file review items (see :meth:`create_with_warnings`).
        """
        return self.create_with_warnings(
            actor_id,
            name,
            customer_id=customer_id,
            keys=keys,
            grade=grade,
            tags=tags,
            attributes=attributes,
            pool_id=pool_id,
            public=public,
        ).customer

    def create_with_warnings(
        self,
        actor_id: str,
        name: str,
        *,
        customer_id: str | None = None,
        keys: Iterable[IdentityKey | tuple[str, str]] | Mapping[str, str] = (),
        grade: str | None = None,
        tags: Iterable[str] = (),
        attributes: Mapping[str, AttributeValue] | None = None,
        pool_id: str | None = None,
        public: bool = False,
    ) -> CreateResult:
        """Like :meth:`create`, and also returns the stored customers whose names look like
        this one's (score at or above the policy's threshold), each now on the review list."""

        def attempt() -> CreateResult:
            at = self._now()
            with self.store.unit_of_work() as uow:
                access = self._access(uow)
                actor = access.actor(actor_id)
                result = self._create_in(
                    uow,
                    actor,
                    at,
                    self._created_event(
                        access,
                        actor,
                        at,
                        customer_id=customer_id,
                        name=name,
                        keys=keys,
                        grade=grade,
                        tags=tags,
                        attributes=attributes,
                        pool_id=pool_id,
                        public=public,
                    ),
                )
                uow.commit()
                return result

        return _retrying(attempt)

    def _created_event(
        self,
        access: Access,
        actor: Rep,
        at: datetime,
        *,
        customer_id: str | None,
        name: str,
        keys: Iterable[IdentityKey | tuple[str, str]] | Mapping[str, str],
        grade: str | None,
        tags: Iterable[str],
        attributes: Mapping[str, AttributeValue] | None,
        pool_id: str | None,
        public: bool,
    ) -> Created:
        """The creation event, with keys normalised and the home pool routed; checks nothing
        that needs the store."""
        home = pool_id or rules.route(attributes, self._policy)
        pool = access.pool(home) if home else access.default_pool()
        if public and not (actor.is_admin or pool.can_see(actor.id)):
            raise PermissionDenied(
                actor.id, "create into", f"pool {pool.id!r}", "not a member of the pool"
            )
        event = Created(
            customer_id=customer_id if customer_id is not None else self._new_id(),
            seq=1,
            at=at,
            actor_id=actor.id,
            name=name,
            pool_id=pool.id,
            owner_id=None if public else actor.id,
            keys=normalise_keys(keys, self._policy.phone_region),
            grade=grade,
            tags=tags,
            attributes=attributes or {},
        )
        # Validate the customer it makes before any store check, so a malformed row is
        # reported as malformed rather than as a collision.
        apply(None, event)
        return event

    def _create_in(self, uow: UnitOfWork, actor: Rep, at: datetime, event: Created) -> CreateResult:
        """Check the store (id, collision, cap), write the new customer and file review
        items for look-alikes; nothing is written unless every check passes."""
        if uow.customers.get(event.customer_id) is not None or uow.events.history(
            event.customer_id
        ):
            raise DuplicateIdError("customer", event.customer_id)
        self._check_collision(uow, event.keys)
        if event.owner_id is not None:
            self._check_cap(uow, actor)
        customer = apply(None, event)
        assert customer is not None
        uow.events.append(event)
        uow.customers.add(customer, rules.schedule(customer, self._policy))
        return CreateResult(customer, self._file_reviews(uow, customer, at))

    # ------------------------------------------------------------------ look-alikes

    def _similar_in(
        self, uow: UnitOfWork, name: str, exclude: str | None = None
    ) -> tuple[SimilarMatch, ...]:
        settings = self._policy.similarity
        if not settings.enabled:
            return ()
        blocks = name_blocks(name)
        if not blocks:
            return ()
        # Normalised once here, not once per candidate: scoring is the hot part of an import.
        own = normalise_name(name)
        matches = []
        for other_id, other_name in uow.customers.similar_names(blocks, settings.per_block):
            if other_id == exclude:
                continue
            score = normalised_similarity(own, normalise_name(other_name))
            if score >= settings.threshold:
                matches.append(SimilarMatch(other_id, other_name, round(score, 1)))
        matches.sort(key=lambda match: (-match.score, match.customer_id))
        return tuple(matches)

    def _file_reviews(
        self, uow: UnitOfWork, customer: Customer, at: datetime
    ) -> tuple[SimilarMatch, ...]:
        """Put each look-alike of ``customer`` on the review list, once per pair."""
        matches = self._similar_in(uow, customer.name, exclude=customer.id)
        for match in matches:
            pair = (customer.id, match.customer_id)
            if any(uow.reviews.get(review_id(a, b)) for a, b in (pair, pair[::-1])):
                continue
            uow.reviews.add(
                ReviewItem(
                    id=review_id(*pair),
                    customer_id=customer.id,
                    similar_id=match.customer_id,
                    score=match.score,
                    created_at=at,
                )
            )
        return matches

    def similar(self, name: str, *, exclude: str | None = None) -> list[SimilarMatch]:
        """Stored customers whose names look like ``name``, best first: what a rep should
        check before entering a customer. Changes nothing."""
        with self.store.unit_of_work() as uow:
            return list(self._similar_in(uow, name, exclude))

    def reviews(
        self, status: ReviewStatus | None = ReviewStatus.OPEN, customer_id: str | None = None
    ) -> list[ReviewItem]:
        """The review list (open items by default), oldest first."""
        with self.store.unit_of_work() as uow:
            return uow.reviews.find(status, customer_id)

    def mark_not_same(self, actor_id: str, review_id: str) -> ReviewItem:
        """An admin decides the two customers of a review item are different; the pair is
        not filed again."""
        at = self._now()
        with self.store.unit_of_work() as uow:
            actor = self._access(uow).actor(actor_id)
            item = self._open_review(uow, actor, review_id, "mark as not the same")
            resolved = _resolved(item, ReviewStatus.NOT_SAME, actor.id, at)
            uow.reviews.update(resolved)
            uow.commit()
            return resolved

    def _open_review(
        self, uow: UnitOfWork, actor: Rep, review_id: str, operation: str
    ) -> ReviewItem:
        # Rights first, so a non-admin cannot probe which review ids exist.
        if not actor.is_admin:
            raise PermissionDenied(
                actor.id, operation, f"review item {review_id!r}", "only admins review"
            )
        item = uow.reviews.get(review_id)
        if item is None:
            raise ReviewNotFound(review_id)
        if item.status is not ReviewStatus.OPEN:
            raise InvalidValueError(
                "review_id", f"review item {review_id!r} is already {item.status.value}"
            )
        return item

    def merge(self, actor_id: str, keep_id: str, absorb_id: str) -> Customer:
        """An admin merges ``absorb_id`` into ``keep_id``: one customer remains.

        The rule: the kept customer keeps its id, name and pool; keys, tags and related reps
        are united; attributes and grade are the kept customer's where it has them; follow-up
        and deal times are the later of the two. Ownership: if the kept customer is private,
        its owner keeps it (the other owner, if any, becomes a related rep); if it is public
        and the absorbed one private, the absorbed one's owner takes it over, so the rep
        working the customer goes on working it (their count toward the cap is unchanged).
        Frozen customers are restored before a merge. The absorbed customer ends with a
        ``merged_into`` event and leaves the store; :meth:`merged_history` shows both
        histories in time order. Review items of the pair are closed as merged; other open
        items of the absorbed customer move to the kept one.
        """
        if keep_id == absorb_id:
            raise InvalidValueError("absorb_id", "a customer cannot be merged into itself")
        at = self._now()
        with self.store.unit_of_work() as uow:
            actor = self._access(uow).actor(actor_id)
            keep = self._customer(uow, keep_id)
            absorb = self._customer(uow, absorb_id)
            if not actor.is_admin:
                raise PermissionDenied(
                    actor.id, "merge", f"customer {absorb_id!r}", "only admins merge"
                )
            for customer in (keep, absorb):
                self._require_state(
                    customer, "merge", CustomerStatus.PRIVATE, CustomerStatus.PUBLIC
                )
            related = dict(absorb.related_reps)
            for rep_id, since in keep.related_reps.items():
                related[rep_id] = max(since, related.get(rep_id, since))
            owner_id, owned_since = keep.owner_id, keep.owned_since
            if owner_id is None and absorb.owner_id is not None:
                owner_id, owned_since = absorb.owner_id, absorb.owned_since
            elif absorb.owner_id is not None and absorb.owner_id != owner_id:
                related[absorb.owner_id] = at
            if owner_id is not None:
                related.pop(owner_id, None)
            self._write(uow, absorb, self._event(MergedInto, absorb, at, actor.id, into_id=keep.id))
            merged = self._write(
                uow,
                keep,
                self._event(
                    Merged,
                    keep,
                    at,
                    actor.id,
                    absorbed_id=absorb.id,
                    owner_id=owner_id,
                    owned_since=owned_since,
                    keys=keep.keys | absorb.keys,
                    tags=keep.tags | absorb.tags,
                    attributes={**absorb.attributes, **keep.attributes},
                    related_reps=related,
                    grade=keep.grade if keep.grade is not None else absorb.grade,
                    last_follow_up_at=_later(keep.last_follow_up_at, absorb.last_follow_up_at),
                    last_deal_at=_later(keep.last_deal_at, absorb.last_deal_at),
                ),
            )
            for item in uow.reviews.find(ReviewStatus.OPEN, absorb.id):
                other = item.similar_id if item.customer_id == absorb.id else item.customer_id
                if other == keep.id:
                    uow.reviews.update(_resolved(item, ReviewStatus.MERGED, actor.id, at))
                elif any(
                    uow.reviews.get(review_id(*pair))
                    for pair in ((keep.id, other), (other, keep.id))
                ):
                    # The kept customer already has this pair on the list.
                    uow.reviews.update(_resolved(item, ReviewStatus.CLOSED, actor.id, at))
                else:
                    # Moved to the kept customer; the item keeps the id it was filed under.
                    moved = {absorb.id: keep.id}
                    uow.reviews.update(
                        attrs.evolve(
                            item,
                            customer_id=moved.get(item.customer_id, item.customer_id),
                            similar_id=moved.get(item.similar_id, item.similar_id),
                        )
                    )
            uow.commit()
            return merged

    def merged_history(self, customer_id: str) -> list[Event]:
        """The customer's history with the histories of every customer merged into it (and
        into those), in time order."""
        with self.store.unit_of_work() as uow:
            pending, events = [customer_id], list[Event]()
            while pending:
                history = uow.events.history(pending.pop())
                if not history and not events:
                    raise CustomerNotFound(customer_id)
                events.extend(history)
                pending.extend(e.absorbed_id for e in history if isinstance(e, Merged))
            events.sort(key=lambda event: (event.at, event.customer_id, event.seq))
            return events

    def import_customers(
        self,
        actor_id: str,
        rows: Iterable[ImportRow],
        *,
        public: bool = True,
        pool_id: str | None = None,
        batch_size: int = 500,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Create many customers at once (批量导入; admins only), reporting every row.

        Each row is created whole or not at all: it is refused (and reported) when it is
        malformed, collides with a stored customer, or duplicates an earlier row of the
        same import. Rows are written in batches of ``batch_size``, one unit of work each,
        so a crash mid-import leaves whole rows only; importing the same file again reports
        the rows already in as collisions. ``progress`` is called with the number of rows
        handled so far.
        """
        if batch_size < 1:
            raise InvalidValueError("batch_size", "must be > 0")
        with self.store.unit_of_work() as uow:
            importer = self._access(uow).actor(actor_id)
        if not importer.is_admin:
            raise PermissionDenied(importer.id, "import", "customers", "only admins import")
        results: list[RowResult] = []
        seen: dict[IdentityKey, int] = {}
        pending = iter(rows)
        done = 0
        while True:
            batch = list(itertools.islice(pending, batch_size))
            if not batch:
                break

            def attempt(batch: list[ImportRow] = batch) -> list[RowResult]:
                # The rows of an earlier batch that its keys duplicate count only once it
                # committed: a batch run again starts from what the committed ones saw.
                batch_seen = dict(seen)
                at = self._now()
                with self.store.unit_of_work() as uow:
                    access = self._access(uow)
                    actor = access.actor(actor_id)
                    if not actor.is_admin:
                        raise PermissionDenied(
                            actor.id, "import", "customers", "only admins import"
                        )
                    handled = [
                        self._import_row(uow, access, actor, at, row, public, pool_id, batch_seen)
                        for row in batch
                    ]
                    uow.commit()
                seen.update(batch_seen)
                return handled

            results.extend(_retrying(attempt))
            done += len(batch)
            if progress is not None:
                progress(done)
        return ImportReport(tuple(results))

    def _import_row(
        self,
        uow: UnitOfWork,
        access: Access,
        actor: Rep,
        at: datetime,
        row: ImportRow,
        public: bool,
        pool_id: str | None,
        seen: dict[IdentityKey, int],
    ) -> RowResult:
        try:
            event = self._created_event(
                access,
                actor,
                at,
                customer_id=row.customer_id,
                name=row.name,
                keys=row.keys,
                grade=row.grade,
                tags=row.tags,
                attributes=row.attributes,
                pool_id=pool_id,
                public=public,
            )
        except PoolkitError as error:
            return RowResult(row.row, Outcome.INVALID, row.customer_id, str(error))
        identifying = rules.identifying_keys(event.keys, self._policy)
        earlier = sorted(seen[key] for key in identifying if key in seen)
        if earlier:
            key = min((k for k in identifying if k in seen), key=lambda k: seen[k])
            return RowResult(
                row.row,
                Outcome.DUPLICATE,
                message=f"{key} duplicates row {earlier[0]}",
                duplicate_of_row=earlier[0],
            )
        try:
            created = self._create_in(uow, actor, at, event)
        except CollisionError as error:
            return RowResult(
                row.row,
                Outcome.COLLISION,
                message=str(error),
                other_customer_id=error.customer_id,
                other_owner_id=error.owner_id,
                other_pool_id=error.pool_id,
            )
        except DuplicateIdError as error:
            # Its id is taken: most often a row already imported by an earlier, interrupted
            # run of the same file, so it is reported like a key collision.
            return RowResult(
                row.row, Outcome.COLLISION, message=str(error), other_customer_id=error.id
            )
        except PoolkitError as error:
            return RowResult(row.row, Outcome.INVALID, row.customer_id, str(error))
        for key in identifying:
            seen[key] = row.row
        looks_like = ", ".join(f"{m.customer_id} ({m.score:g})" for m in created.similar)
        return RowResult(
            row.row,
            Outcome.CREATED,
            created.customer.id,
            message=f"looks like {looks_like}; filed for review" if looks_like else "",
            similar_ids=tuple(match.customer_id for match in created.similar),
        )

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

        def decide(
            uow: UnitOfWork, access: Access, actor: Rep, customer: Customer, at: datetime
        ) -> Event:
            self._require_state(
                customer, "follow up", CustomerStatus.PRIVATE, CustomerStatus.PUBLIC
            )
            allowed = (
                actor.is_admin
                or customer.owner_id == actor.id
                or actor.id in customer.related_reps
                or access.is_above_owner(actor, customer)
            )
            access.require(
                allowed,
                actor,
                "follow up",
                customer,
                "only the owner, their superiors and related reps follow up",
            )
            return self._event(FollowedUp, customer, at, actor.id, method=kind, note=note)

        return self._operate(customer_id, actor_id, decide)

    def claim(self, actor_id: str, customer_id: str) -> Customer:
        """Fish a customer out of a public pool into the actor's private pool (领取).

        First come, first served: the loser of a race gets :class:`WrongStateError` naming
        the winner. Refused at the cap, at the claim limit, during the cooldown, and in
        pools where only the manager assigns.
        """

        def decide(
            uow: UnitOfWork, access: Access, actor: Rep, customer: Customer, at: datetime
        ) -> Event:
            self._require_state(customer, "claim", CustomerStatus.PUBLIC)
            pool = access.pool(customer.pool_id)
            access.require(
                actor.is_admin or pool.can_see(actor.id),
                actor,
                "claim",
                customer,
                f"not a member of pool {pool.id!r}",
            )
            access.require(
                pool.mode is PoolMode.MEMBERS_CLAIM,
                actor,
                "claim",
                customer,
                f"pool {pool.id!r} is assign-only: ask its manager",
            )
            # Before counting anything of the rep's: their claims and holdings must not
            # change between the count and the commit.
            _lock_rep(uow, actor.id)
            self._check_cap(uow, actor)
            since = rules.claim_window_start(at, self._policy)
            decision = rules.check_claim_limit(
                actor, uow.events.claims_by(actor.id, since), self._policy, at
            )
            if not decision.allowed:
                assert decision.limit is not None
                raise ClaimLimitExceeded(
                    actor.id, decision.limit, self._policy.claim_limit.window_days, decision.until
                )
            cooldown = rules.check_cooldown(actor.id, customer, self._policy, at)
            if not cooldown.allowed:
                assert cooldown.until is not None
                raise CooldownActive(actor.id, customer.id, cooldown.until)
            return self._event(Claimed, customer, at, actor.id, rep_id=actor.id, pool_id=pool.id)

        return self._operate(customer_id, actor_id, decide)

    def assign(self, actor_id: str, customer_id: str, to_rep_id: str) -> Customer:
        """A pool manager hands a public customer to a member of the pool (分配)."""

        def decide(
            uow: UnitOfWork, access: Access, actor: Rep, customer: Customer, at: datetime
        ) -> Event:
            self._require_state(customer, "assign", CustomerStatus.PUBLIC)
            pool = access.pool(customer.pool_id)
            access.require(
                actor.is_admin or actor.id in pool.managers,
                actor,
                "assign",
                customer,
                f"not a manager of pool {pool.id!r}",
            )
            target = access.receiver(to_rep_id)
            if not (target.is_admin or pool.can_see(target.id)):
                raise PermissionDenied(
                    actor.id, "assign to", f"rep {target.id!r}", f"not a member of pool {pool.id!r}"
                )
            self._check_cap(uow, target)
            return self._event(Assigned, customer, at, actor.id, rep_id=target.id, pool_id=pool.id)

        return self._operate(customer_id, actor_id, decide)

    def return_to_pool(self, actor_id: str, customer_id: str, reason: str) -> Customer:
        """The owner gives a customer back to its public pool (退回), saying why."""
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidValueError("reason", "a return needs a reason")

        def decide(
            uow: UnitOfWork, access: Access, actor: Rep, customer: Customer, at: datetime
        ) -> Event:
            self._require_state(customer, "return", CustomerStatus.PRIVATE)
            access.require(
                customer.owner_id == actor.id,
                actor,
                "return",
                customer,
                "only the owner returns a customer",
            )
            return self._event(
                Returned, customer, at, actor.id, rep_id=actor.id, reason=reason.strip()
            )

        return self._operate(customer_id, actor_id, decide)

    def recycle(self, actor_id: str, customer_id: str, reason: str = "") -> Customer:
        """A pool manager or the owner's superior takes a customer back to the pool (回收)."""

        def decide(
            uow: UnitOfWork, access: Access, actor: Rep, customer: Customer, at: datetime
        ) -> Event:
            self._require_state(customer, "recycle", CustomerStatus.PRIVATE)
            allowed = (
                actor.is_admin
                or access.manages_pool(actor, customer.pool_id)
                or access.is_above_owner(actor, customer)
            )
            access.require(
                allowed,
                actor,
                "recycle",
                customer,
                "only pool managers, the owner's superiors and admins recycle",
            )
            assert customer.owner_id is not None
            return self._event(
                Recycled, customer, at, actor.id, rep_id=customer.owner_id, reason=reason
            )

        return self._operate(customer_id, actor_id, decide)

    def transfer(self, actor_id: str, customer_id: str, to_rep_id: str) -> Customer:
        """The owner hands a customer to a colleague (转移), within the colleague's cap."""

        def decide(
            uow: UnitOfWork, access: Access, actor: Rep, customer: Customer, at: datetime
        ) -> Event:
            self._require_state(customer, "transfer", CustomerStatus.PRIVATE)
            access.require(
                customer.owner_id == actor.id,
                actor,
                "transfer",
                customer,
                "only the owner transfers a customer",
            )
            target = access.receiver(to_rep_id)
            if target.id == actor.id:
                raise InvalidValueError("to_rep_id", "cannot transfer a customer to its owner")
            self._check_cap(uow, target)
            return self._event(
                Transferred, customer, at, actor.id, from_rep_id=actor.id, to_rep_id=target.id
            )

        return self._operate(customer_id, actor_id, decide)

    def reassign(
        self, actor_id: str, customer_id: str, to_rep_id: str, reason: str = ""
    ) -> Customer:
        """A supervisor takes a customer from one subordinate and gives it to another (重新指派)."""

        def decide(
            uow: UnitOfWork, access: Access, actor: Rep, customer: Customer, at: datetime
        ) -> Event:
            self._require_state(customer, "reassign", CustomerStatus.PRIVATE)
            target = access.receiver(to_rep_id)
            assert customer.owner_id is not None
            if target.id == customer.owner_id:
                raise InvalidValueError("to_rep_id", f"{target.id} already owns the customer")
            allowed = actor.is_admin or (
                access.is_above_owner(actor, customer)
                and (target.id == actor.id or access.is_above(actor.id, target.id))
            )
            access.require(
                allowed,
                actor,
                "reassign",
                customer,
                "only a superior of both reps (or an admin) reassigns",
            )
            self._check_cap(uow, target)
            return self._event(
                Reassigned,
                customer,
                at,
                actor.id,
                from_rep_id=customer.owner_id,
                to_rep_id=target.id,
                reason=reason,
            )

        return self._operate(customer_id, actor_id, decide)

    def change_pool(self, actor_id: str, customer_id: str, to_pool_id: str) -> Customer:
        """A pool manager moves a public customer to another public pool (变更公海池)."""

        def decide(
            uow: UnitOfWork, access: Access, actor: Rep, customer: Customer, at: datetime
        ) -> Event:
            self._require_state(customer, "change the pool of", CustomerStatus.PUBLIC)
            target = access.pool(to_pool_id)
            if target.id == customer.pool_id:
                raise InvalidValueError(
                    "to_pool_id", f"the customer is already in pool {target.id!r}"
                )
            allowed = actor.is_admin or access.manages_pool(actor, customer.pool_id)
            access.require(
                allowed,
                actor,
                "change the pool of",
                customer,
                f"not a manager of pool {customer.pool_id!r}",
            )
            return self._event(
                PoolChanged,
                customer,
                at,
                actor.id,
                from_pool_id=customer.pool_id,
                to_pool_id=target.id,
            )

        return self._operate(customer_id, actor_id, decide)

    def freeze(self, actor_id: str, customer_id: str, reason: str = "") -> Customer:
        """Put a customer in the recycle bin (冻结): nobody may claim or edit it until restored."""

        def decide(
            uow: UnitOfWork, access: Access, actor: Rep, customer: Customer, at: datetime
        ) -> Event:
            self._require_state(customer, "freeze", CustomerStatus.PRIVATE, CustomerStatus.PUBLIC)
            allowed = (
                actor.is_admin
                or access.manages_pool(actor, customer.pool_id)
                or access.is_above_owner(actor, customer)
            )
            access.require(
                allowed,
                actor,
                "freeze",
                customer,
                "only pool managers, the owner's superiors and admins freeze",
            )
            return self._event(
                Frozen, customer, at, actor.id, from_rep_id=customer.owner_id, reason=reason
            )

        return self._operate(customer_id, actor_id, decide)

    def restore(self, actor_id: str, customer_id: str, to_pool_id: str | None = None) -> Customer:
        """Bring a customer back from the recycle bin into a public pool (恢复)."""

        def decide(
            uow: UnitOfWork, access: Access, actor: Rep, customer: Customer, at: datetime
        ) -> Event:
            self._require_state(customer, "restore", CustomerStatus.FROZEN)
            target = access.pool(to_pool_id or customer.pool_id)
            allowed = actor.is_admin or actor.id in target.managers
            access.require(
                allowed, actor, "restore", customer, f"not a manager of pool {target.id!r}"
            )
            return self._event(Restored, customer, at, actor.id, pool_id=target.id)

        return self._operate(customer_id, actor_id, decide)

    def delete(self, actor_id: str, customer_id: str, reason: str = "") -> None:
        """Remove a customer for good (删除); admins only. Its history stays in the log."""

        def decide(
            uow: UnitOfWork, access: Access, actor: Rep, customer: Customer, at: datetime
        ) -> Event:
            access.require(actor.is_admin, actor, "delete", customer, "only admins delete")
            return self._event(Deleted, customer, at, actor.id, reason=reason)

        self._operate(customer_id, actor_id, decide)

    def lock(self, actor_id: str, customer_id: str) -> Customer:
        """Exempt a customer from every drop rule (e.g. a long contract needs no chasing)."""
        return self._set_lock(actor_id, customer_id, True)

    def unlock(self, actor_id: str, customer_id: str) -> Customer:
        return self._set_lock(actor_id, customer_id, False)

    def _set_lock(self, actor_id: str, customer_id: str, locked: bool) -> Customer:
        operation = "lock" if locked else "unlock"

        def decide(
            uow: UnitOfWork, access: Access, actor: Rep, customer: Customer, at: datetime
        ) -> Event:
            self._require_state(customer, operation, CustomerStatus.PRIVATE, CustomerStatus.PUBLIC)
            if customer.locked == locked:
                raise WrongStateError(
                    customer.id, operation, "locked" if locked else "unlocked", "the opposite"
                )
            allowed = (
                actor.is_admin
                or access.manages_pool(actor, customer.pool_id)
                or access.is_above_owner(actor, customer)
            )
            access.require(
                allowed,
                actor,
                operation,
                customer,
                "only pool managers, the owner's superiors and admins lock",
            )
            counted_before = rules.counts_toward_cap(customer, self._policy)
            after = attrs.evolve(customer, locked=locked)
            counted_after = rules.counts_toward_cap(after, self._policy)
            if customer.owner_id is not None and counted_after and not counted_before:
                # Unlocked, the customer counts toward its owner's cap again: it must fit.
                self._check_cap(uow, access.rep(customer.owner_id))
            return self._event(LockChanged, customer, at, actor.id, locked=locked)

        return self._operate(customer_id, actor_id, decide)

    def _may_edit(self, access: Access, actor: Rep, customer: Customer) -> bool:
        return (
            actor.is_admin
            or customer.owner_id == actor.id
            or access.is_above_owner(actor, customer)
            or access.manages_pool(actor, customer.pool_id)
        )

    def change_grade(self, actor_id: str, customer_id: str, grade: str | None) -> Customer:
        """Re-grade a customer (A-E...); its drop deadlines follow the new grade's rules."""

        def decide(
            uow: UnitOfWork, access: Access, actor: Rep, customer: Customer, at: datetime
        ) -> Event:
            self._require_state(
                customer, "change the grade of", CustomerStatus.PRIVATE, CustomerStatus.PUBLIC
            )
            access.require(
                self._may_edit(access, actor, customer),
                actor,
                "change the grade of",
                customer,
                "only the owner, their superiors and pool managers edit",
            )
            if grade == customer.grade:
                raise InvalidValueError("grade", f"the customer already has grade {grade!r}")
            return self._event(GradeChanged, customer, at, actor.id, old=customer.grade, new=grade)

        return self._operate(customer_id, actor_id, decide)

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

        def decide(
            uow: UnitOfWork, access: Access, actor: Rep, customer: Customer, at: datetime
        ) -> Event:
            self._require_state(customer, "edit", CustomerStatus.PRIVATE, CustomerStatus.PUBLIC)
            access.require(
                self._may_edit(access, actor, customer),
                actor,
                "edit",
                customer,
                "only the owner, their superiors and pool managers edit",
            )
            event = self._event(
                Edited,
                customer,
                at,
                actor.id,
                name=customer.name if name is None else name,
                keys=customer.keys
                if keys is None
                else normalise_keys(keys, self._policy.phone_region),
                tags=customer.tags if tags is None else tags,
                attributes=customer.attributes if attributes is None else attributes,
            )
            self._check_collision(uow, event.keys - customer.keys, exclude=customer.id)
            return event

        return self._operate(customer_id, actor_id, decide)

    def depart(self, actor_id: str, rep_id: str) -> DepartureReport:
        """A rep leaves (离职): they become inactive and all their customers drop at once."""

        def attempt() -> DepartureReport:
            at = self._now()
            with self.store.unit_of_work() as uow:
                access = self._access(uow)
                actor = access.actor(actor_id)
                leaver = access.rep(rep_id)
                if not actor.is_admin:
                    raise PermissionDenied(
                        actor.id, "register the departure of", f"rep {rep_id!r}", "only admins do"
                    )
                if leaver.id == actor.id:
                    raise InvalidValueError(
                        "rep_id", "an admin cannot register their own departure"
                    )
                if not leaver.active:
                    raise InvalidValueError("rep_id", f"rep {rep_id!r} has already departed")
                # Nobody gives the leaver a customer while their book is emptied.
                _lock_rep(uow, leaver.id)
                dropped = []
                held = uow.customers.find(CustomerQuery(owner_ids=frozenset({leaver.id})))
                for customer in held:
                    event = self._event(
                        Dropped,
                        customer,
                        at,
                        actor.id,
                        rep_id=leaver.id,
                        code=rules.Reason.DROP_DEPARTED.value,
                        reason=f"owner {leaver.id} departed",
                    )
                    self._write(uow, customer, event)
                    dropped.append(customer.id)
                uow.reps.put(attrs.evolve(leaver, active=False))
                uow.commit()
                return DepartureReport(leaver.id, tuple(dropped))

        return _retrying(attempt)

    # ------------------------------------------------------------------ sweep & forecast

    def sweep(self, at: datetime | None = None) -> SweepReport:
        """Run every drop rule and warning due by ``at`` (default: now).

        Reads only customers whose stored schedule is due. Each batch is one unit of work,
        so a crash leaves every customer either moved with its event or untouched, and a
        new sweep finishes the work. Running it twice for the same time changes nothing more.
        A sweep for a time after the clock's now is refused: it would drop customers early.
        """
        now = self._now()
        at = now if at is None else require_aware(at, "at")
        if utc(at) > utc(now):
            raise InvalidValueError(
                "at",
                f"cannot sweep the future ({at.isoformat()} is after now "
                f"{now.isoformat()}); use forecast()",
            )
        dropped: list[SweepItem] = []
        warned: list[SweepItem] = []
        rescheduled = 0
        seen: set[str] = set()
        while True:
            with self.store.unit_of_work() as uow:
                batch = uow.customers.due(at, self._sweep_batch)
                if not batch:
                    break
                for customer in batch:
                    # Each visit moves the customer's schedule past ``at``; meeting one
                    # twice means the store's due index disagrees with what it was told.
                    if customer.id in seen:
                        raise PoolkitError(
                            f"sweep met customer {customer.id!r} twice: the store's due "
                            "index does not follow the schedules written to it"
                        )
                    seen.add(customer.id)
                    outcome = self._sweep_one(uow, customer, at)
                    if isinstance(outcome, SweepItem):
                        (dropped if outcome.code.startswith("drop.") else warned).append(outcome)
                    else:
                        rescheduled += 1
                uow.commit()
        return SweepReport(at, tuple(dropped), tuple(warned), rescheduled)

    def _sweep_one(self, uow: UnitOfWork, customer: Customer, at: datetime) -> SweepItem | None:
        policy = self._policy
        # The rules are re-checked here, not trusted from the stored schedule: a schedule
        # only says when to look. One deadline computation serves the drop and the warning.
        deadline = rules.next_drop(customer, policy)
        if deadline is not None and utc(deadline.due_at) <= utc(at):
            assert customer.owner_id is not None
            reason = deadline.message
            self._write(
                uow,
                customer,
                self._event(
                    Dropped,
                    customer,
                    at,
                    None,
                    rep_id=customer.owner_id,
                    code=deadline.code.value,
                    rule=deadline.rule.name,
                    due_at=deadline.due_at,
                    reason=reason,
                ),
            )
            return SweepItem(
                customer.id,
                customer.owner_id,
                deadline.rule.name,
                deadline.code.value,
                deadline.due_at,
                f"dropped: {reason}",
            )
        if deadline is not None and rules.is_warning_due(deadline, customer, at):
            assert customer.owner_id is not None
            message = rules.warning_message(deadline, policy)
            self._write(
                uow,
                customer,
                self._event(
                    Warned,
                    customer,
                    at,
                    None,
                    rep_id=customer.owner_id,
                    rule=deadline.rule.name,
                    due_at=deadline.due_at,
                    reason=message,
                ),
            )
            return SweepItem(
                customer.id,
                customer.owner_id,
                deadline.rule.name,
                rules.Reason.WARN.value,
                deadline.due_at,
                message,
            )
        # The stored schedule was early (e.g. written under an older policy): correct it.
        uow.customers.update(customer, rules.schedule(customer, policy), customer.version)
        return None

    def forecast(self, until: datetime, *, since: datetime | None = None) -> list[ForecastItem]:
        """Which private customers would be warned or dropped, and when, between ``since``
        (default now) and ``until``, if nobody touched them. Changes nothing."""
        require_aware(until, "until")
        start = self._now() if since is None else require_aware(since, "since")
        items: list[ForecastItem] = []
        with self.store.unit_of_work() as uow:
            for customer in _upcoming(uow, until, 1 << 62):
                deadline = rules.next_drop(customer, self._policy)
                if deadline is None or customer.owner_id is None:
                    continue
                warn_at = deadline.warn_at
                if (
                    warn_at is not None
                    and not rules.same_instant(customer.warned_due_at, deadline.due_at)
                    and utc(warn_at) <= utc(until)
                    and utc(deadline.due_at) > utc(start)
                ):
                    items.append(
                        ForecastItem(
                            customer.id,
                            customer.owner_id,
                            "warning",
                            max(warn_at, start, key=utc),
                            deadline.rule.name,
                            rules.Reason.WARN.value,
                            rules.warning_message(deadline, self._policy),
                        )
                    )
                if utc(deadline.due_at) <= utc(until):
                    items.append(
                        ForecastItem(
                            customer.id,
                            customer.owner_id,
                            "drop",
                            max(deadline.due_at, start, key=utc),
                            deadline.rule.name,
                            deadline.code.value,
                            deadline.message,
                        )
                    )
        items.sort(key=lambda item: (utc(item.at), item.customer_id, item.action))
        return items

    # ------------------------------------------------------------------ queries

    def customer(self, customer_id: str, *, actor_id: str | None = None) -> Customer:
        """One customer; with ``actor_id``, only if that rep may see it."""
        with self.store.unit_of_work() as uow:
            customer = self._customer(uow, customer_id)
            if actor_id is not None:
                access = self._access(uow)
                actor = access.actor(actor_id)
                access.require(
                    access.can_see(actor, customer),
                    actor,
                    "see",
                    customer,
                    "not visible to this rep",
                )
            return customer

    def history(self, customer_id: str, *, actor_id: str | None = None) -> list[Event]:
        """Every event of a customer, in order (also after deletion, for admins and the system)."""
        with self.store.unit_of_work() as uow:
            events = uow.events.history(customer_id)
            if not events:
                raise CustomerNotFound(customer_id)
            if actor_id is not None:
                access = self._access(uow)
                actor = access.actor(actor_id)
                customer = uow.customers.get(customer_id)
                visible = actor.is_admin if customer is None else access.can_see(actor, customer)
                if not visible:
                    raise PermissionDenied(
                        actor.id, "see", f"customer {customer_id!r}", "not visible to this rep"
                    )
            return events

    def private_pool(self, rep_id: str) -> list[Customer]:
        """The customers a rep owns (私海)."""
        with self.store.unit_of_work() as uow:
            self._access(uow).rep(rep_id)
            return uow.customers.find(CustomerQuery(owner_ids=frozenset({rep_id})))

    def public_pool(
        self,
        pool_id: str,
        *,
        grades: Iterable[str] | None = None,
        tags: Iterable[str] = (),
        attributes: Mapping[str, AttributeValue] | None = None,
        dropped_since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Customer]:
        """The customers in a public pool (公海), filtered by grade, tags, attributes and
        how recently they entered the pool."""
        if dropped_since is not None:
            require_aware(dropped_since, "dropped_since")
        query = CustomerQuery(
            status=CustomerStatus.PUBLIC,
            pool_ids=frozenset({pool_id}),
            grades=None if grades is None else frozenset(grades),
            tags=frozenset(tags),
            attributes=tuple(sorted((attributes or {}).items())),
            public_since=dropped_since,
        )
        with self.store.unit_of_work() as uow:
            self._access(uow).pool(pool_id)
            return uow.customers.find(query, limit)

    def recycle_bin(self) -> list[Customer]:
        with self.store.unit_of_work() as uow:
            return uow.customers.find(CustomerQuery(status=CustomerStatus.FROZEN))

    def visible_to(self, rep_id: str) -> list[Customer]:
        """Every customer a rep may see: their own, their subordinates', those they used to
        own, and the public pools they belong to (all, for admins). A departed rep sees
        nothing (:class:`RepInactiveError`)."""
        with self.store.unit_of_work() as uow:
            access = self._access(uow)
            rep = access.actor(rep_id)  # RepInactiveError: a departed rep sees nothing
            if rep.is_admin:
                return uow.customers.find(CustomerQuery())
            owners = frozenset({rep.id} | access.subordinates(rep.id))
            found = {c.id: c for c in uow.customers.find(CustomerQuery(owner_ids=owners))}
            found.update({c.id: c for c in uow.customers.find(CustomerQuery(related_rep=rep.id))})
            member_of = frozenset(p.id for p in access.all_pools() if p.can_see(rep.id))
            if member_of:
                found.update(
                    {
                        c.id: c
                        for c in uow.customers.find(
                            CustomerQuery(status=CustomerStatus.PUBLIC, pool_ids=member_of)
                        )
                    }
                )
            managed = frozenset(p.id for p in access.all_pools() if rep.id in p.managers)
            if managed:
                found.update(
                    {
                        c.id: c
                        for c in uow.customers.find(
                            CustomerQuery(status=CustomerStatus.FROZEN, pool_ids=managed)
                        )
                    }
                )
            return [found[cid] for cid in sorted(found)]
