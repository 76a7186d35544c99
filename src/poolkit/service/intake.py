"""Customers in: create one (录入), import many (批量导入), each after the collision check."""

from __future__ import annotations

import itertools
from collections import Counter
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
from poolkit.identity.similarity import name_blocks
from poolkit.importer import ImportReport, ImportRow, Outcome, RowResult
from poolkit.model.customer import AttributeValue, Customer, IdentityKey
from poolkit.model.events import Created
from poolkit.model.history import apply
from poolkit.model.rep import Rep
from poolkit.model.review import SimilarMatch
from poolkit.model.schedule import Schedule
from poolkit.policy import rules
from poolkit.policy.config import Inflow
from poolkit.ports import UnitOfWork
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
    external_id: str | None = None
    # The keys are normalised already (an import batch normalises its rows' keys first).
    normalised: bool = False


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
            result = self._create_in(work, actor, *self._created_event(work, actor, new))
            customer, assigned = assign_automatically(self, work, result.customer, Inflow.CREATED)
            if assigned is not None:
                result = attrs.evolve(result, customer=customer, assignment=assigned)
            work.uow.commit()
            return result

    def _created_event(self, work: Work, actor: Rep, new: _NewCustomer) -> tuple[Created, Customer]:
        """The creation event, with keys normalised and the home pool routed, and the
        customer it makes; checks nothing that needs the store."""
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
            keys=new.keys if new.normalised else normalise_keys(new.keys, work.policy.phone_region),
            grade=new.grade,
            tags=new.tags,
            attributes=new.attributes or {},
            external_id=new.external_id,
        )
        # Validate the customer it makes before any store check, so a malformed row is
        # reported as malformed rather than as a collision.
        customer = apply(None, event)
        assert customer is not None  # a Created event always makes a customer
        return event, customer

    def _create_in(
        self,
        work: Work,
        actor: Rep,
        event: Created,
        customer: Customer,
        names: _reviews.NameBlocks | None = None,
        holders: Mapping[IdentityKey, list[Customer]] | None = None,
        pending: _Pending | None = None,
        given_id: bool = True,
    ) -> CreateResult:
        """Check the store (id, collision, cap), write the new ``customer`` (what ``event``
        makes) and file review items for look-alikes; nothing is written unless every check
        passes. ``names``: an import batch's name-block lists, kept up to date here;
        ``holders``: the stored customers holding the batch's keys; ``pending``: the
        public batch's customers to write together at its end, this one among them (its id
        ``given_id`` by the row, else made here)."""
        uow = work.uow
        schedule = rules.schedule(customer, work.policy)
        if pending is not None:
            # The store checks the ids again when it writes the batch (a taken one, made
            # here or stored since, refuses it; it is then written a row at a time).
            if event.customer_id in pending.ids or (given_id and self._taken(uow, event)):
                raise DuplicateIdError("customer", event.customer_id)
            self._check_collision(work, event.keys, actor=actor, holders=holders)
            pending.add(event, customer, schedule)
        else:
            if self._taken(uow, event):
                raise DuplicateIdError("customer", event.customer_id)
            self._check_collision(work, event.keys, actor=actor, holders=holders)
            if event.owner_id is not None:
                self._check_cap(work, actor)
            # The row first: the store's own checks of it (an id or an external id, a key
            # stored since the look-ups) refuse it before anything is written, where an
            # event written first would stay behind in an import's batch that goes on.
            uow.customers.add(customer, schedule)
            uow.events.append(event)
        if names is not None:
            names.added(customer)
        similar = _reviews.file_reviews(uow, work.policy, customer, work.at, names)
        return CreateResult(customer, similar)

    @staticmethod
    def _taken(uow: UnitOfWork, event: Created) -> bool:
        """Whether the new customer's id is a stored customer's or a history's."""
        customer_id = event.customer_id
        return uow.customers.get(customer_id) is not None or bool(uow.events.history(customer_id))

    def import_customers(
        self,
        actor_id: str,
        rows: Iterable[ImportRow],
        *,
        public: bool = True,
        pool_id: str | None = None,
        batch_size: int = 1000,
        progress: Callable[[int], None] | None = None,
        dry_run: bool = False,
        on_row: Callable[[RowResult], None] | None = None,
    ) -> ImportReport:
        """Create many customers at once (批量导入; admins only), reporting every row.

        Each row is created whole or not at all: it is refused (and reported) when it is
        malformed, collides with a stored customer, or duplicates an earlier row of the
        same import. Rows are written in batches of ``batch_size``, one unit of work each,
        so a crash mid-import leaves whole rows only. A row with an ``external_id`` (its id
        in the system it comes from) stores it with the customer: importing the same file
        again reports those rows ``ALREADY_IMPORTED`` and creates the rest, which is how an
        interrupted import is resumed. ``progress`` is called with the number of rows
        handled so far.

        ``on_row``, when given, is handed each row's result once its batch is committed, in
        the order of the rows; the report then keeps only the rows that need attention
        (:meth:`ImportReport.needs_attention`: the refused rows) and counts the others and
        the look-alikes they filed, so that its memory does not grow with the rows created:
        what a caller importing a file of any size passes.

        ``dry_run=True`` runs the same import in one unit of work that is rolled back: the
        report says what would happen, and nothing is stored.
        """
        if batch_size < 1:
            raise InvalidValueError("batch_size", "must be > 0")
        with self._work() as work:
            self._importer(work, actor_id)
        state = _ImportState(public, pool_id)
        pending = iter(rows)
        done = 0
        if dry_run:
            with self._work() as work:
                actor = self._importer(work, actor_id)
                while batch := list(itertools.islice(pending, batch_size)):
                    self._import_rows(work, actor, batch, state)
                    state.hand_on(on_row)
                    done += len(batch)
                    if progress is not None:
                        progress(done)
                work.uow.rollback()
            return state.report()
        while batch := list(itertools.islice(pending, batch_size)):
            self._import_batch(actor_id, batch, state)
            state.hand_on(on_row)
            done += len(batch)
            if progress is not None:
                progress(done)
        return state.report()

    def _import_batch(self, actor_id: str, batch: list[ImportRow], state: _ImportState) -> None:
        """Write one batch in one unit of work, run again after a transient failure with
        the report and the rows seen put back as they were before it."""
        mark = state.mark()

        def write(together: bool) -> None:
            with self._work() as work:
                actor = self._importer(work, actor_id)
                # Private rows are written one by one: the cap counts what is stored.
                together = together and state.public
                self._import_rows(work, actor, batch, state, _Pending() if together else None)
                work.uow.commit()

        try:
            run_retried(lambda: write(True), lambda: state.undo(mark))
        except _BatchRefused:
            # An id or external id of the batch was taken after all (stored since the
            # batch's look-ups, or a generated id already used): the batch again, each row
            # written on its own, so that each is reported as it is.
            state.undo(mark)
            run_retried(lambda: write(False), lambda: state.undo(mark))

    def _import_rows(
        self,
        work: Work,
        actor: Rep,
        batch: list[ImportRow],
        state: _ImportState,
        pending: _Pending | None = None,
    ) -> None:
        # One look-up for the batch's external ids: the rows an earlier run created.
        external_ids = frozenset(
            row.external_id
            for row in batch
            if isinstance(row, ImportRow) and row.external_id is not None
        )
        stored = work.uow.customers.with_external_ids(external_ids) if external_ids else {}
        names = _reviews.NameBlocks(work.uow, work.policy.similarity.per_block)
        # The rows' keys normalised (None: malformed, reported when the row comes), and
        # one lookup of the stored customers holding any of them: the collision check of
        # each row then needs no statement of its own.
        region = work.policy.phone_region
        keys: list[frozenset[IdentityKey] | None] = []
        for row in batch:
            try:
                keys.append(
                    normalise_keys(row.keys, region) if isinstance(row, ImportRow) else None
                )
            except PoolkitError:
                keys.append(None)
        wanted = frozenset().union(
            *(rules.identifying_keys(found, work.policy) for found in keys if found is not None)
        )
        holders: dict[IdentityKey, list[Customer]] = {}
        for other in work.uow.customers.with_keys(wanted) if wanted else ():
            for key in other.keys & wanted:
                holders.setdefault(key, []).append(other)
        if work.policy.similarity.enabled:
            names.prepare(name_blocks(row.name) for row in batch if _named(row))
        results = state.results
        for row, normalised in zip(batch, keys, strict=True):
            if not isinstance(row, ImportRow):  # reported like any malformed row
                results.append(_not_a_row(state.position(), row))
                continue
            results.append(
                self._import_row(
                    work, actor, row, state, stored, names, normalised, holders, pending
                )
            )
        if pending is not None:
            try:
                pending.write(work.uow)
            except DuplicateIdError as error:
                raise _BatchRefused from error

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
        state: _ImportState,
        stored: Mapping[str, str],
        names: _reviews.NameBlocks,
        normalised: frozenset[IdentityKey] | None,
        holders: Mapping[IdentityKey, list[Customer]],
        pending: _Pending | None = None,
    ) -> RowResult:
        external_id = row.external_id
        if external_id is not None:
            # A repeat within the import first: its first row may be stored by now.
            earlier_row = state.seen_external.setdefault(external_id, row.row)
            if earlier_row != row.row:
                return RowResult(
                    row.row,
                    Outcome.DUPLICATE,
                    message=f"external id {external_id!r} duplicates row {earlier_row}",
                    duplicate_of_row=earlier_row,
                )
            state.added_external.append(external_id)
            if external_id in stored:
                return _already_imported(row, stored[external_id])
        new = _NewCustomer(
            row.customer_id,
            row.name,
            row.keys if normalised is None else normalised,
            row.grade,
            row.tags,
            row.attributes,
            state.pool_id,
            state.public,
            external_id,
            normalised is not None,
        )
        try:
            event, customer = self._created_event(work, actor, new)
        except PoolkitError as error:
            return RowResult(row.row, Outcome.INVALID, row.customer_id, str(error))
        seen = state.seen
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
            created = self._create_in(
                work, actor, event, customer, names, holders, pending, row.customer_id is not None
            )
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
            if error.kind == "external" and external_id is not None:
                # Stored since the batch's look-up: by an import running beside this one.
                found = work.uow.customers.with_external_ids(frozenset({external_id}))
                return _already_imported(row, found.get(external_id, "?"))
            # Its id is taken by a customer without this external id.
            return RowResult(
                row.row, Outcome.COLLISION, message=str(error), other_customer_id=error.id
            )
        except PoolkitError as error:
            return RowResult(row.row, Outcome.INVALID, row.customer_id, str(error))
        for key in identifying:
            seen[key] = row.row
        state.added_keys.extend(identifying)
        return _created_row(row, created)


class _Pending:
    """The customers an import batch created, written together at its end
    (:meth:`~poolkit.ports.CustomerRepository.add_created`: one statement per table rather
    than several per customer), in the batch's unit of work, each with its created event."""

    def __init__(self) -> None:
        self.created: list[tuple[Created, Customer, Schedule]] = []
        self.ids: set[str] = set()

    def add(self, event: Created, customer: Customer, schedule: Schedule) -> None:
        self.created.append((event, customer, schedule))
        self.ids.add(customer.id)

    def write(self, uow: UnitOfWork) -> None:
        """Write what is pending (a refusal, DuplicateIdError, writes none of it)."""
        if self.created:
            uow.customers.add_created(self.created)
            self.created.clear()


class _BatchRefused(Exception):
    """The batch's customers, written together, were refused (an id or external id taken):
    it is written again a row at a time."""


@attrs.define
class _ImportState:
    """What an import carries from row to row: the report so far and the rows seen (for
    duplicates within the file). A batch that is run again puts it back with :meth:`undo`,
    at a cost that follows the batch, not the rows imported before it."""

    public: bool
    pool_id: str | None
    results: list[RowResult] = attrs.field(factory=list)
    seen: dict[IdentityKey, int] = attrs.field(factory=dict)
    seen_external: dict[str, int] = attrs.field(factory=dict)
    # What the batch under way added to ``seen`` and ``seen_external``.
    added_keys: list[IdentityKey] = attrs.field(factory=list)
    added_external: list[str] = attrs.field(factory=list)

    # The rows handed to ``on_row`` and not kept, by outcome; and the first result not
    # handed on yet.
    handed_on: Counter[Outcome] = attrs.field(factory=Counter)
    lookalikes_handed_on: int = 0
    handed: int = 0
    rows_seen: int = 0

    def mark(self) -> int:
        self.added_keys.clear()
        self.added_external.clear()
        return len(self.results)

    def position(self) -> int:
        """The position among the rows of the next one (to name an item that is no row)."""
        return self.rows_seen + len(self.results) - self.handed + 1

    def hand_on(self, on_row: Callable[[RowResult], None] | None) -> None:
        """After a batch: hand its results to ``on_row`` and keep only those that need
        attention."""
        if on_row is None:
            return
        batch = self.results[self.handed :]
        del self.results[self.handed :]
        for result in batch:
            on_row(result)
            if ImportReport.needs_attention(result):
                self.results.append(result)
            else:
                self.handed_on[result.outcome] += 1
                self.lookalikes_handed_on += len(result.similar_ids)
        self.handed = len(self.results)
        self.rows_seen += len(batch)

    def report(self) -> ImportReport:
        return ImportReport(tuple(self.results), dict(self.handed_on), self.lookalikes_handed_on)

    def undo(self, mark: int) -> None:
        for key in self.added_keys:
            del self.seen[key]
        for external_id in self.added_external:
            del self.seen_external[external_id]
        self.mark()
        del self.results[mark:]


def _named(row: object) -> bool:
    return isinstance(row, ImportRow) and isinstance(row.name, str)


def _already_imported(row: ImportRow, customer_id: str) -> RowResult:
    return RowResult(
        row.row,
        Outcome.ALREADY_IMPORTED,
        customer_id,
        message=f"already imported as {customer_id}",
    )


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
