"""The manager's report: the figures of :class:`~poolkit.report.PoolReport`, read in one
unit of work from what the store counts.

Each figure costs what it covers: pool sizes are the store's count by status, pool, owner
and grade (:meth:`~poolkit.ports.CustomerRepository.tally`), flows its count of events by
kind per day (:meth:`~poolkit.ports.EventLog.count_kinds`), the forecast the one the
service gives (:meth:`forecast`, the sweep's own decision), a rep's claims their claim
index. No figure loads every customer, except the cap count of a rep with a cap when the
policy leaves dealt or locked customers out of it (then that rep's customers are read, as
the cap check reads them).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta, tzinfo

from poolkit.clock import require_aware, utc
from poolkit.errors import InvalidValueError, PermissionDenied
from poolkit.model.customer import CustomerStatus
from poolkit.model.review import ReviewStatus
from poolkit.policy import rules
from poolkit.policy.calendar import local_date
from poolkit.report.figures import (
    MAX_REPORT_DAYS,
    DayFlow,
    PoolReport,
    RepLoad,
    ReviewBacklog,
    day_spans,
    forecast_per_day,
    pool_figures,
)
from poolkit.service._core import Work
from poolkit.service.sweep import SweepJobs

__all__ = ["ReportJobs"]

_MICROSECOND = timedelta(microseconds=1)


def _days(name: str, value: int) -> int:
    if not 1 <= value <= MAX_REPORT_DAYS:
        raise InvalidValueError(name, f"must be from 1 to {MAX_REPORT_DAYS} days, got {value}")
    return value


def _spans(
    at: datetime, today: date, offset: int, days: int, zone: tzinfo
) -> list[tuple[date, datetime, datetime]]:
    """The local days from ``today + offset``; today's span ends just after ``at``, so a
    report of the past leaves out what came later that day. ``OverflowError`` past the
    calendar's ends."""
    spans = day_spans(today + timedelta(days=offset), days, zone)
    end_of_now = (utc(at) + _MICROSECOND).astimezone(zone)
    return [
        (day, since, min(until, end_of_now, key=utc) if day == today else until)
        for day, since, until in spans
    ]


class ReportJobs(SweepJobs):
    def report(
        self,
        at: datetime | None = None,
        *,
        days_back: int = 30,
        days_ahead: int = 21,
        actor_id: str | None = None,
    ) -> PoolReport:
        """The manager's report at ``at`` (default now): every pool's customers by grade,
        the flows per day over the ``days_back`` local days ending today, the drops and
        warnings forecast per day over the ``days_ahead`` local days starting today, each
        active rep's load against cap and claim limit, and the look-alike review backlog.
        With ``actor_id``, only an admin may read it (it shows the whole company).
        Changes nothing; docs/report.md explains each figure."""
        _days("days_back", days_back)
        _days("days_ahead", days_ahead)
        at = self._now() if at is None else require_aware(at, "at")
        with self._work(at) as work:
            if actor_id is not None:
                actor = work.team.actor(actor_id)
                if not actor.is_admin:
                    raise PermissionDenied(
                        actor.id, "report", "the pools", "only an admin reads the whole report"
                    )
            zone = work.policy.zone
            try:
                today = local_date(at, zone)
                back = _spans(at, today, -(days_back - 1), days_back, zone)
                ahead = _spans(at, today, 0, days_ahead, zone)
            except OverflowError:
                raise InvalidValueError(
                    "at",
                    f"the report's days around {at.isoformat()} fall outside the calendar "
                    "(years 1 to 9999)",
                ) from None
            tallies = work.uow.customers.tally()
            pools = pool_figures(work.uow.pools.all(), tallies)
            flows = [
                DayFlow(day, since, until, work.uow.events.count_kinds(since, until))
                for day, since, until in back
            ]
            owned: defaultdict[str, int] = defaultdict(int)
            for tally in tallies:
                if tally.status is CustomerStatus.PRIVATE and tally.owner_id is not None:
                    owned[tally.owner_id] += tally.count
            reps = self._rep_loads(work, owned)
            backlog = self._backlog(work)
        # The last day ends at the next midnight, exclusive: what is due then is the next day's.
        items = self.forecast(ahead[-1][2] - _MICROSECOND, since=at)
        forecast = forecast_per_day(((i.action, i.at) for i in items), today, days_ahead, zone)
        return PoolReport(
            at=at,
            timezone=work.policy.timezone,
            pools=tuple(pools),
            flows=tuple(flows),
            forecast=tuple(forecast),
            reps=tuple(reps),
            reviews=backlog,
            claim_window_days=work.policy.claim_limit.window_days,
        )

    def _rep_loads(self, work: Work, owned: dict[str, int]) -> list[RepLoad]:
        policy, uow, at = work.policy, work.uow, work.at
        every_one_counts = policy.caps.count_dealt and policy.caps.count_locked
        loads = []
        for rep in uow.reps.all():
            if not rep.active:
                continue
            cap = policy.cap_for(rep.id, rep.cap)
            counted = owned.get(rep.id, 0)
            if cap is not None and not every_one_counts:
                counted = rules.cap_count(uow.customers.holdings(rep.id), policy)
            claims = rules.claims_in_window(
                uow.events.claims_by(rep.id, rules.claim_window_start(at, policy)), at, policy
            )
            loads.append(
                RepLoad(
                    rep.id,
                    rep.name,
                    owned.get(rep.id, 0),
                    counted,
                    cap,
                    len(claims),
                    policy.claim_limit_for(rep.id, rep.claim_limit),
                )
            )
        return loads

    def _backlog(self, work: Work) -> ReviewBacklog:
        items = work.uow.reviews.find(ReviewStatus.OPEN)
        if not items:
            return ReviewBacklog(0, None, None)
        oldest = min((item.created_at for item in items), key=utc)
        return ReviewBacklog(len(items), oldest, utc(work.at) - utc(oldest))
