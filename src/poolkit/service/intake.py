"""Customers in: create one (录入), import many (批量导入), each after the collision check."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping

import attrs

from poolkit.errors import (
    CollisionError,
    DuplicateIdError,
    InvalidValueError,
    PermissionDenied,
    PoolkitError,
)
from poolkit.identity.keys import normalise_keys
from poolkit.importer import ImportReport, ImportRow, Outcome, RowResult
from poolkit.model.customer import AttributeValue, Customer, IdentityKey
from poolkit.model.events import Created
from poolkit.model.history import apply
from poolkit.model.rep import Rep
from poolkit.model.review import SimilarMatch
from poolkit.policy import rules
from poolkit.policy.config import Inflow
from poolkit.service import _reviews, rights
from poolkit.service._core import ServiceCore, Work
from poolkit.service._retry import retried, run_retried
from poolkit.service.assigning import Assignment, assign_automatically

__all__ = ["CreateResult", "IntakeJobs"]

Keys = Iterable[IdentityKey | tuple[str, str]] | Mapping[str, str]


@attrs.frozen
class CreateResult:
    """A new customer, and the stored customers its name looks like (now under review)."""

    customer: Customer
    similar: tuple[SimilarMatch, ...] = ()
    # The pool's automatic assignment of the new customer, when its pool has one.
    assignment: Assignment | None = None


@attrs.frozen
class _NewCustomer:
    """What a create is asked for, before routing and checks."""

    customer_id: str | None
    name: str
    keys: Keys
    grade: str | None
    tags: Iterable[str]
    attributes: Mapping[str, AttributeValue] | None
    pool_id: str | None
    public: bool


class IntakeJobs(ServiceCore):
    def create(
        self,
        actor_id: str,
        name: str,
        *,
        customer_id: str | None = None,
        keys: Keys = (),
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

    @retried
    def create_with_warnings(
        self,
        actor_id: str,
        name: str,
        *,
        customer_id: str | None = None,
        keys: Keys = (),
        grade: str | None = None,
        tags: Iterable[str] = (),
        attributes: Mapping[str, AttributeValue] | None = None,
        pool_id: str | None = None,
        public: bool = False,
    ) -> CreateResult:
        """Like :meth:`create`, and also returns the stored customers whose names look like
        this one's (score at or above the policy's threshold), each now on the review list."""
        new = _NewCustomer(customer_id, name, keys, grade, tags, attributes, pool_id, public)
        with self._work() as work:
            actor = work.team.actor(actor_id)
            result = self._create_in(work, actor, self._created_event(work, actor, new))
            customer, assigned = assign_automatically(self, work, result.customer, Inflow.CREATED)
            if assigned is not None:
                result = attrs.evolve(result, customer=customer, assignment=assigned)
            work.uow.commit()
            return result

    def _created_event(self, work: Work, actor: Rep, new: _NewCustomer) -> Created:
        """The creation event, with keys normalised and the home pool routed; checks nothing
        that needs the store."""
        home = new.pool_id or rules.route(new.attributes, work.policy, new.tags)
        pool = work.team.pool(home) if home else work.team.default_pool()
        verdict = rights.may_create_into(actor, pool, new.public)
        if not verdict.allowed:
            raise PermissionDenied(actor.id, "create into", f"pool {pool.id!r}", verdict.reason)
        event = Created(
            customer_id=new.customer_id if new.customer_id is not None else self._new_id(),
            seq=1,
            at=work.at,
            actor_id=actor.id,
            name=new.name,
            pool_id=pool.id,
            owner_id=None if new.public else actor.id,
            keys=normalise_keys(new.keys, work.policy.phone_region),
            grade=new.grade,
            tags=new.tags,
            attributes=new.attributes or {},
        )
        # Validate the customer it makes before any store check, so a malformed row is
        # reported as malformed rather than as a collision.
        apply(None, event)
        return event

    def _create_in(self, work: Work, actor: Rep, event: Created) -> CreateResult:
        """Check the store (id, collision, cap), write the new customer and file review
        items for look-alikes; nothing is written unless every check passes."""
        uow = work.uow
        if uow.customers.get(event.customer_id) is not None or uow.events.history(
            event.customer_id
        ):
            raise DuplicateIdError("customer", event.customer_id)
        self._check_collision(work, event.keys, actor=actor)
        if event.owner_id is not None:
            self._check_cap(work, actor)
        customer = apply(None, event)
        assert customer is not None  # a Created event always makes a customer
        uow.events.append(event)
        uow.customers.add(customer, rules.schedule(customer, work.policy))
        return CreateResult(customer, _reviews.file_reviews(uow, work.policy, customer, work.at))

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
        with self._work() as work:
            self._importer(work, actor_id)
        results: list[RowResult] = []
        seen: dict[IdentityKey, int] = {}
        pending = iter(rows)
        done = 0
        while batch := list(itertools.islice(pending, batch_size)):
            self._import_batch(actor_id, batch, public, pool_id, seen, results)
            done += len(batch)
            if progress is not None:
                progress(done)
        return ImportReport(tuple(results))

    def _import_batch(
        self,
        actor_id: str,
        batch: list[ImportRow],
        public: bool,
        pool_id: str | None,
        seen: dict[IdentityKey, int],
        results: list[RowResult],
    ) -> None:
        """Write one batch in one unit of work, run again after a transient failure with
        the report and the keys seen put back as they were before it."""
        mark, seen_before = len(results), dict(seen)

        def write() -> None:
            with self._work() as work:
                actor = self._importer(work, actor_id)
                for row in batch:
                    if not isinstance(row, ImportRow):  # reported like any malformed row
                        results.append(_not_a_row(len(results) + 1, row))
                        continue
                    results.append(self._import_row(work, actor, row, public, pool_id, seen))
                work.uow.commit()

        def undo() -> None:
            del results[mark:]
            seen.clear()
            seen.update(seen_before)

        run_retried(write, undo)

    def _importer(self, work: Work, actor_id: str) -> Rep:
        # Checked again for every batch: an admin demoted mid-import stops importing.
        actor = work.team.actor(actor_id)
        verdict = rights.may_import(actor)
        if not verdict.allowed:
            raise PermissionDenied(actor.id, "import", "customers", verdict.reason)
        return actor

    def _import_row(
        self,
        work: Work,
        actor: Rep,
        row: ImportRow,
        public: bool,
        pool_id: str | None,
        seen: dict[IdentityKey, int],
    ) -> RowResult:
        new = _NewCustomer(
            row.customer_id,
            row.name,
            row.keys,
            row.grade,
            row.tags,
            row.attributes,
            pool_id,
            public,
        )
        try:
            event = self._created_event(work, actor, new)
        except PoolkitError as error:
            return RowResult(row.row, Outcome.INVALID, row.customer_id, str(error))
        identifying = rules.identifying_keys(event.keys, work.policy)
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
            created = self._create_in(work, actor, event)
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
        return _created_row(row, created)


def _created_row(row: ImportRow, created: CreateResult) -> RowResult:
    looks_like = ", ".join(f"{m.customer_id} ({m.score:g})" for m in created.similar)
    return RowResult(
        row.row,
        Outcome.CREATED,
        created.customer.id,
        message=f"looks like {looks_like}; filed for review" if looks_like else "",
        similar_ids=tuple(match.customer_id for match in created.similar),
    )


def _not_a_row(position: int, row: object) -> RowResult:
    """The report of an item of the rows that is not an :class:`ImportRow` at all (named
    by its position among the rows)."""
    return RowResult(
        position, Outcome.INVALID, None, f"rows: item {position} is not an ImportRow: {row!r}"
    )
