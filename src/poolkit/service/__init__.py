"""Every pool operation: check the actor's rights, ask the rules, write state and events.

:class:`PoolService` is one facade over the jobs, one module each:

- the team: :mod:`~poolkit.service.team`;
- the policy: :mod:`~poolkit.service.policy`;
- customers in: :mod:`~poolkit.service.intake`;
- look-alikes and merges: :mod:`~poolkit.service.lookalikes`;
- moves: :mod:`~poolkit.service.moves`, many at once: :mod:`~poolkit.service.bulk`;
- automatic assignment and routing: :mod:`~poolkit.service.assigning`;
- the sweep and the forecast: :mod:`~poolkit.service.sweep`;
- queries: :mod:`~poolkit.service.queries`;
- the manager's report: :mod:`~poolkit.service.report`;
- what a candidate policy would do: :mod:`~poolkit.service.what_if`;
- the change feed: :mod:`~poolkit.service.feed`;
- pages for screens: :mod:`~poolkit.service.pages`.

Who may do what is decided in one pure module, :mod:`~poolkit.service.rights`; when a
customer drops, in one pure function, :func:`poolkit.policy.rules.due_action`.
"""

from __future__ import annotations

import inspect

from poolkit.service._arguments import checked
from poolkit.service._reviews import review_id
from poolkit.service.assigning import Assignment, AssignmentJobs
from poolkit.service.bulk import BulkItem, BulkJobs, BulkMode, BulkResult
from poolkit.service.feed import FeedJobs
from poolkit.service.intake import CreateResult, IntakeJobs
from poolkit.service.lookalikes import LookalikeJobs
from poolkit.service.moves import DepartureReport, MoveJobs
from poolkit.service.pages import Page, PageJobs
from poolkit.service.policy import PolicyJobs
from poolkit.service.queries import QueryJobs, Scope
from poolkit.service.report import ReportJobs
from poolkit.service.sweep import ForecastItem, SweepItem, SweepJobs, SweepReport
from poolkit.service.team import TeamJobs
from poolkit.service.what_if import (
    DropShift,
    PoolOutlook,
    RepOutlook,
    WhatIf,
    WhatIfCustomer,
    WhatIfJobs,
)

__all__ = [
    "Assignment",
    "BulkItem",
    "BulkMode",
    "BulkResult",
    "CreateResult",
    "DepartureReport",
    "DropShift",
    "ForecastItem",
    "Page",
    "PoolOutlook",
    "PoolService",
    "RepOutlook",
    "Scope",
    "SweepItem",
    "SweepReport",
    "WhatIf",
    "WhatIfCustomer",
    "review_id",
]


class PoolService(
    TeamJobs,
    PolicyJobs,
    IntakeJobs,
    LookalikeJobs,
    BulkJobs,
    MoveJobs,
    ReportJobs,  # before SweepJobs: the report reads the forecast
    SweepJobs,
    QueryJobs,
    WhatIfJobs,
    FeedJobs,
    PageJobs,
    AssignmentJobs,
):
    """The operations of the pool mechanism over any :class:`~poolkit.ports.Store`.

    ``policy`` is the rule book, kept in the store: given to a store without one, it is
    stored as version 1; given to a store that has one, it must be the same (else
    :class:`~poolkit.errors.PolicyConflictError`: change it with :meth:`change_policy`);
    ``None`` uses the stored one. ``clock`` tells the time of every operation. Each
    operation runs in one unit of work that reads the policy in force first, so a change
    made by another process applies from the next operation.
    """


def _check_arguments(service: type[PoolService]) -> None:
    """Wrap every public operation with the one argument check (see
    :mod:`poolkit.service._arguments`): a wrong argument is refused with a typed error
    before any unit of work opens."""
    for name in dir(service):
        if name.startswith("_"):
            continue
        member = inspect.getattr_static(service, name)
        if inspect.isfunction(member):
            setattr(service, name, checked(member))


_check_arguments(PoolService)
