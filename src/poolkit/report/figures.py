"""The figures of the manager's report, as values a CRM can draw itself.

:class:`PoolReport` is what :meth:`poolkit.PoolService.report` returns: the size of each
pool by grade, the flows of customers per day, the drops and warnings forecast per day,
each rep's load against their cap and claim limit, and the look-alike review backlog. The
functions here turn what a store counted into those values; they read no store.

Days are calendar days in the policy's time zone: a day runs from its local midnight to
the next (23 or 25 hours across a daylight-saving change).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import attrs

from poolkit.model._checks import frozen_map
from poolkit.model.customer import CustomerStatus
from poolkit.model.pool import Pool
from poolkit.policy.calendar import start_of_day
from poolkit.policy.rules import ActionKind
from poolkit.ports import CustomerTally

__all__ = [
    "INFLOW_KINDS",
    "MAX_REPORT_DAYS",
    "OUTFLOW_KINDS",
    "DayFlow",
    "DayForecast",
    "GradeCount",
    "PoolFigures",
    "PoolReport",
    "RepLoad",
    "ReviewBacklog",
    "day_spans",
    "forecast_per_day",
    "pool_figures",
]

MAX_REPORT_DAYS = 3660
"""The longest span, back or ahead, a report covers: ten years of days."""

INFLOW_KINDS: tuple[str, ...] = ("created", "dropped", "returned", "recycled", "restored")
"""The events that bring a customer into the pools' circulation: a new customer, and a
customer released to a public pool by a drop, a return, a recycle or a restore from the
recycle bin."""

OUTFLOW_KINDS: tuple[str, ...] = ("claimed", "assigned", "frozen", "deleted", "merged_into")
"""The events that take a customer out of a public pool or out of circulation: a claim, an
assignment, a freeze into the recycle bin, a deletion, a merge into another customer."""


@attrs.frozen
class GradeCount:
    """The customers of one grade (None: no grade) of a pool: in the public pool, owned by
    a rep (private, with this pool as their home pool), and frozen in the recycle bin."""

    grade: str | None
    public: int = 0
    private: int = 0
    frozen: int = 0

    @property
    def total(self) -> int:
        return self.public + self.private + self.frozen


@attrs.frozen
class PoolFigures:
    """One pool's customers by grade, graded ones first in grade order, ungraded last."""

    pool_id: str
    name: str
    grades: tuple[GradeCount, ...]

    @property
    def public(self) -> int:
        return sum(g.public for g in self.grades)

    @property
    def private(self) -> int:
        return sum(g.private for g in self.grades)

    @property
    def frozen(self) -> int:
        return sum(g.frozen for g in self.grades)

    @property
    def total(self) -> int:
        return self.public + self.private + self.frozen


@attrs.frozen
class DayFlow:
    """The events of one local day, ``since`` (its midnight) to ``until`` (the next
    midnight, or just after the report's instant for today), counted by kind."""

    day: date
    since: datetime
    until: datetime
    kinds: Mapping[str, int] = attrs.field(converter=frozen_map, hash=False)

    @property
    def inflow(self) -> int:
        """Customers in: the events of :data:`INFLOW_KINDS`."""
        return sum(self.kinds.get(kind, 0) for kind in INFLOW_KINDS)

    @property
    def outflow(self) -> int:
        """Customers out: the events of :data:`OUTFLOW_KINDS`."""
        return sum(self.kinds.get(kind, 0) for kind in OUTFLOW_KINDS)


@attrs.frozen
class DayForecast:
    """How many customers would drop, and how many owners would be warned, on one local
    day if nobody acted (what :meth:`~poolkit.PoolService.forecast` says, per day)."""

    day: date
    drops: int
    warnings: int


@attrs.frozen
class RepLoad:
    """One active rep's load: ``owned`` customers (``counted`` of them count toward the
    cap, per ``caps.count_dealt`` / ``caps.count_locked``) against ``cap``, and the
    ``claims`` that count against ``claim_limit`` now (None: no cap, no limit)."""

    rep_id: str
    name: str
    owned: int
    counted: int
    cap: int | None
    claims: int
    claim_limit: int | None

    @property
    def at_cap(self) -> bool:
        return self.cap is not None and self.counted >= self.cap

    @property
    def at_claim_limit(self) -> bool:
        return self.claim_limit is not None and self.claims >= self.claim_limit


@attrs.frozen
class ReviewBacklog:
    """The open items of the look-alike review list: how many, and the oldest one's
    filing time and age at the report's instant (None when the list is empty)."""

    open: int
    oldest_at: datetime | None
    oldest_age: timedelta | None


@attrs.frozen
class PoolReport:
    """Every figure of the manager's report at ``at``, days counted in ``timezone``."""

    at: datetime
    timezone: str
    pools: tuple[PoolFigures, ...]
    flows: tuple[DayFlow, ...]
    forecast: tuple[DayForecast, ...]
    reps: tuple[RepLoad, ...]
    reviews: ReviewBacklog
    claim_window_days: int

    @property
    def total(self) -> int:
        """Every customer stored, whatever its state."""
        return sum(pool.total for pool in self.pools)

    def to_plain(self) -> dict[str, Any]:
        """The figures as JSON-ready data: ISO 8601 dates and times, ages in seconds."""
        plain: dict[str, Any] = attrs.asdict(self, value_serializer=_plain)
        return plain


def _plain(_: object, __: object, value: Any) -> Any:
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _grade_order(grade: str | None) -> tuple[bool, str]:
    return (grade is None, grade or "")


def pool_figures(pools: Iterable[Pool], tallies: Iterable[CustomerTally]) -> list[PoolFigures]:
    """Each pool's counts by grade from the store's tally, in pool id order. A pool the
    team no longer has but customers still name is listed too (with no name)."""
    counts: defaultdict[str, defaultdict[str | None, dict[CustomerStatus, int]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for tally in tallies:
        by_status = counts[tally.pool_id][tally.grade]
        by_status[tally.status] = by_status.get(tally.status, 0) + tally.count
    names = {pool.id: pool.name for pool in pools}
    out = []
    for pool_id in sorted(names.keys() | counts.keys()):
        grades: Mapping[str | None, dict[CustomerStatus, int]] = counts.get(pool_id, {})
        out.append(
            PoolFigures(
                pool_id,
                names.get(pool_id, ""),
                tuple(
                    GradeCount(
                        grade,
                        grades[grade].get(CustomerStatus.PUBLIC, 0),
                        grades[grade].get(CustomerStatus.PRIVATE, 0),
                        grades[grade].get(CustomerStatus.FROZEN, 0),
                    )
                    for grade in sorted(grades, key=_grade_order)
                ),
            )
        )
    return out


def day_spans(first: date, days: int, zone: tzinfo) -> list[tuple[date, datetime, datetime]]:
    """``days`` local days from ``first``: each day with its midnight and the next."""
    out = []
    for n in range(days):
        day = first + timedelta(days=n)
        out.append((day, start_of_day(day, zone), start_of_day(day + timedelta(days=1), zone)))
    return out


def forecast_per_day(
    items: Iterable[tuple[ActionKind, datetime]], first: date, days: int, zone: tzinfo
) -> list[DayForecast]:
    """The forecast's drops and warnings (``(action, instant)`` pairs) counted per local
    day, for ``days`` days from ``first``; a day with none has zeros."""
    drops: defaultdict[date, int] = defaultdict(int)
    warnings: defaultdict[date, int] = defaultdict(int)
    for action, at in items:
        day = at.astimezone(zone).date()
        (drops if action is ActionKind.DROP else warnings)[day] += 1
    return [
        DayForecast(day, drops[day], warnings[day])
        for day in (first + timedelta(days=n) for n in range(days))
    ]
