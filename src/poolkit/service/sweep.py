"""The sweep (掉落) and the forecast: both ask :func:`poolkit.policy.rules.due_action`.

The sweep visits the customers whose stored schedule is due and does what the one
decision says; the forecast replays that decision customer by customer at the instants a
sweep would act; the dry run is the sweep itself in a unit of work that is rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

import attrs

from poolkit.clock import require_aware, utc
from poolkit.errors import InvalidValueError, PoolkitError
from poolkit.model.customer import Customer
from poolkit.model.events import Dropped, Warned
from poolkit.policy import rules
from poolkit.policy.config import Inflow, Policy
from poolkit.policy.rules import ActionKind, Deadline, Drop, Reschedule, Warn
from poolkit.service._core import ServiceCore, Work, next_event
from poolkit.service._retry import run_retried
from poolkit.service.assigning import Assignment, assign_automatically

__all__ = ["ForecastItem", "SweepItem", "SweepJobs", "SweepReport"]


@attrs.frozen
class SweepItem:
    """One customer a sweep dropped or warned (``kind``), and why."""

    customer_id: str
    rep_id: str
    rule: str
    code: str
    due_at: datetime
    message: str
    kind: ActionKind = ActionKind.DROP


@attrs.frozen
class SweepReport:
    """What one sweep did: the drops, the warnings, and how many schedules it corrected;
    ``assigned``, what the automatic assignment of the pools dropped into decided (each
    dropped customer it handed on, or why nobody could take it)."""

    at: datetime
    dropped: tuple[SweepItem, ...]
    warned: tuple[SweepItem, ...]
    rescheduled: int
    assigned: tuple[Assignment, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.dropped or self.warned)


@attrs.frozen
class ForecastItem:
    """What would happen to a customer if nobody touched it: a warning or a drop, when, why."""

    customer_id: str
    owner_id: str
    action: ActionKind  # DROP or WARN
    at: datetime
    rule: str
    code: str
    message: str


@attrs.define
class _Tally:
    """What a sweep has done so far, across its batches."""

    at: datetime
    check_history: bool
    dropped: list[SweepItem] = attrs.Factory(list)
    warned: list[SweepItem] = attrs.Factory(list)
    rescheduled: int = 0
    assigned: list[Assignment] = attrs.Factory(list)
    seen: set[str] = attrs.Factory(set)
    # Customer ids still to read when the schedules cannot be trusted (a policy change
    # under way): then every customer is visited, not only the due ones.
    scan: list[str] | None = None

    def report(self) -> SweepReport:
        return SweepReport(
            self.at, tuple(self.dropped), tuple(self.warned), self.rescheduled, tuple(self.assigned)
        )

    def undo_batch(self) -> Callable[[], None]:
        """What puts the tally back as it is now, should the next batch roll back."""
        dropped, warned, rescheduled = len(self.dropped), len(self.warned), self.rescheduled
        assigned = len(self.assigned)
        seen, scan = set(self.seen), None if self.scan is None else list(self.scan)

        def undo() -> None:
            del self.dropped[dropped:], self.warned[warned:], self.assigned[assigned:]
            self.rescheduled, self.seen = rescheduled, set(seen)
            self.scan = None if scan is None else list(scan)

        return undo


def _forecast_one(
    customer: Customer, policy: Policy, start: datetime, until: datetime
) -> list[ForecastItem]:
    """The actions sweeps at every instant from ``start`` to ``until`` would take on
    ``customer``: the one decision, asked at each instant it names, with each warning
    applied as the sweep applies it."""
    return _replay(customer, rules.next_drop(customer, policy), policy.zone, start, until)


def _replay(
    customer: Customer,
    deadline: Deadline | None,
    zone: tzinfo,
    start: datetime,
    until: datetime,
) -> list[ForecastItem]:
    """:func:`_forecast_one`, for a caller that has the customer's
    :func:`~poolkit.policy.rules.next_drop` under the policy (in ``zone``) already.

    Each step asks :func:`~poolkit.policy.rules.decide_due`, the core of
    :func:`~poolkit.policy.rules.due_action`, with what the customer would be by then. A
    sweep's warning (its :class:`Warned` event, applied) changes the customer's
    ``warned_due_at`` and version and nothing else: no deadline reads either, so the
    deadline holds for the whole replay and only ``warned_due_at`` moves.
    """
    items: list[ForecastItem] = []
    owner_id, warned_due_at = customer.owner_id, customer.warned_due_at
    t, now, end = start, utc(start), utc(until)
    while now <= end:
        action = rules.decide_due(deadline, owner_id, warned_due_at, zone, t)
        if isinstance(action, Reschedule):
            next_at = action.schedule.next_at
            if next_at is None:
                break
            later = utc(next_at)
            if later >= now:  # the later of the two, the next instant on a tie
                t, now = next_at, later
            continue
        fired = action.deadline
        message = fired.message if isinstance(action, Drop) else action.message
        items.append(
            ForecastItem(
                customer.id,
                action.owner_id,
                action.kind,
                t,
                fired.rule.name,
                action.code.value,
                message,
            )
        )
        if isinstance(action, Drop):
            break
        warned_due_at = fired.due_at  # what applying the sweep's Warned event sets
    return items


def _warned(customer: Customer, action: Warn, at: datetime) -> Warned:
    deadline = action.deadline
    return next_event(
        Warned,
        customer,
        at,
        None,
        rep_id=action.owner_id,
        rule=deadline.rule.name,
        due_at=deadline.due_at,
        reason=action.message,
    )


class SweepJobs(ServiceCore):
    def sweep(self, at: datetime | None = None, *, dry_run: bool = False) -> SweepReport:
        """Run every drop rule and warning due by ``at`` (default: now).

        Reads only customers whose stored schedule is due (every customer while a policy
        change is under way). Each batch is one unit of work, so a crash leaves every
        customer either moved with its event or untouched, and a new sweep finishes the
        work. Running it twice for the same time changes nothing more. A sweep for a time
        after the clock's now is refused: it would drop customers early. A sweep for a
        past time is refused (:class:`InvalidValueError`, before that batch is written)
        when a customer it would drop or warn has an event after that time.

        ``dry_run=True`` runs this same sweep in one unit of work that is rolled back: it
        reports what the sweep would do and changes nothing.
        """
        now = self._now()
        at = now if at is None else require_aware(at, "at")
        if utc(at) > utc(now):
            raise InvalidValueError(
                "at",
                f"cannot sweep the future ({at.isoformat()} is after now "
                f"{now.isoformat()}); use forecast()",
            )
        tally = _Tally(at, check_history=utc(at) < utc(now))
        if dry_run:
            # One unit of work, never committed: its own writes move each visited customer
            # past ``at`` as the real sweep's commits do, so it meets the same customers.
            with self._work(at) as work:
                while self._sweep_batch_in(work, tally):
                    pass
                work.uow.rollback()
            return tally.report()
        while run_retried(lambda: self._sweep_next_batch(at, tally), tally.undo_batch()):
            pass
        return tally.report()

    def _sweep_next_batch(self, at: datetime, tally: _Tally) -> bool:
        """Sweep and commit one batch; False when nothing was left to visit."""
        with self._work(at) as work:
            if not self._sweep_batch_in(work, tally):
                return False
            work.uow.commit()
            return True

    def _due_batch(self, work: Work, tally: _Tally) -> list[Customer]:
        uow = work.uow
        if tally.scan is None and work.stored.schedules_current:
            return uow.customers.due(tally.at, self._sweep_batch)
        if tally.scan is None:
            tally.scan = sorted(uow.customers.ids(), reverse=True)
        batch: list[Customer] = []
        while tally.scan and len(batch) < self._sweep_batch:
            customer = uow.customers.get(tally.scan.pop())
            if customer is not None:
                batch.append(customer)
        return batch

    def _sweep_batch_in(self, work: Work, tally: _Tally) -> bool:
        """Sweep one batch in ``work``; False when nothing was left to visit."""
        batch = self._due_batch(work, tally)
        for customer in batch:
            # Each visit moves the customer's schedule past ``at``; meeting one twice
            # means the store's due index disagrees with what it was told.
            if customer.id in tally.seen:
                raise PoolkitError(
                    f"sweep met customer {customer.id!r} twice: the store's due "
                    "index does not follow the schedules written to it"
                )
            tally.seen.add(customer.id)
            self._sweep_one(work, customer, tally)
        return bool(batch)

    def _sweep_one(self, work: Work, customer: Customer, tally: _Tally) -> None:
        # The rules are re-checked here, not trusted from the stored schedule: a schedule
        # only says when to look.
        action = rules.due_action(customer, work.policy, tally.at)
        if isinstance(action, Reschedule):
            if work.uow.customers.schedule_of(customer.id) != action.schedule:
                work.uow.customers.update(customer, action.schedule, customer.version)
                tally.rescheduled += 1
            return
        if tally.check_history:
            self._refuse_backdating(work, customer, tally.at)
        deadline = action.deadline
        if isinstance(action, Drop):
            event: Dropped | Warned = next_event(
                Dropped,
                customer,
                tally.at,
                None,
                rep_id=action.owner_id,
                code=action.code.value,
                rule=deadline.rule.name,
                due_at=deadline.due_at,
                reason=deadline.message,
            )
        else:
            event = _warned(customer, action, tally.at)
        changed = self._write(work, customer, event)
        if isinstance(event, Dropped):
            self._assign_dropped(work, changed, action.owner_id, tally)
        item = SweepItem(
            customer.id,
            action.owner_id,
            deadline.rule.name,
            action.code.value,
            deadline.due_at,
            action.message,
            action.kind,
        )
        (tally.dropped if action.kind is ActionKind.DROP else tally.warned).append(item)

    def _assign_dropped(self, work: Work, customer: Customer, owner_id: str, tally: _Tally) -> None:
        """The pool dropped into hands the customer on at once, if its policy says so for
        drops; never back to the rep it dropped from."""
        _, decision = assign_automatically(
            self, work, customer, Inflow.DROPPED, excluded=frozenset({owner_id})
        )
        if decision is not None:
            tally.assigned.append(decision)

    def _refuse_backdating(self, work: Work, customer: Customer, at: datetime) -> None:
        """A sweep for a past time must not date an event before one already recorded."""
        history = work.uow.events.history(customer.id)
        last = max((event.at for event in history), key=utc, default=None)
        if last is not None and utc(last) > utc(at):
            raise InvalidValueError(
                "at",
                f"customer {customer.id!r} has an event at {last.isoformat()}, after "
                f"{at.isoformat()}: sweep at or after its last event",
            )

    def forecast(self, until: datetime, *, since: datetime | None = None) -> list[ForecastItem]:
        """Which private customers would be warned or dropped, and when, between ``since``
        (default now) and ``until``, if nobody touched them. Changes nothing.

        Each item is what a sweep run at its instant would do: the forecast asks the
        sweep's own decision, :func:`~poolkit.policy.rules.due_action`.
        """
        require_aware(until, "until")
        start = self._now() if since is None else require_aware(since, "since")
        items: list[ForecastItem] = []
        with self._work() as work:
            uow = work.uow
            if work.stored.schedules_current:
                candidates = uow.customers.upcoming(until, 1 << 62)
            else:
                found = (uow.customers.get(customer_id) for customer_id in uow.customers.ids())
                candidates = [customer for customer in found if customer is not None]
            for customer in candidates:
                items.extend(_forecast_one(customer, work.policy, start, until))
        items.sort(key=lambda item: (utc(item.at), item.customer_id, item.action.value))
        return items
