"""poolkit: public and private customer pools (公海/私海) for CRMs.

The public API is what this module and the namespaces below export (each module's
``__all__``); everything else may change. ``docs/api.md`` lists what lives where.

- ``poolkit``: the service, the stores that ship, clocks, the policy and its parts, the
  team, customers, the results of operations, and the bases of events and errors.
- ``poolkit.errors``: every error poolkit raises.
- ``poolkit.events``: every event of a customer's history, ``apply`` and ``replay``, and
  ``FeedEntry`` (an event at its position in the change feed).
- ``poolkit.feed``: ``FeedConsumer``, a worker loop over the change feed.
- ``poolkit.rules``: the pure rules (drops, warnings, caps, claim limits, routing).
- ``poolkit.identity``: normalising identity keys and comparing names.
- ``poolkit.importer``: the rows and the report of a bulk import, and the CSV reader.
- ``poolkit.ports``: the protocols a store implements.
- ``poolkit.stores.memory``, ``poolkit.stores.sqlite``: the stores.
- ``poolkit.ids``: ``TimeOrderedIds``, the ids a service gives new customers.
- ``poolkit.testing.strategies``, ``.statemachine``, ``.conformance``: testing tools.
"""

from typing import TYPE_CHECKING

from poolkit.clock import Clock, ManualClock, SystemClock, require_aware
from poolkit.errors import PoolkitError
from poolkit.importer import ImportReport, ImportRow
from poolkit.model.customer import AttributeValue, Customer, CustomerStatus, IdentityKey
from poolkit.model.events import Event, FollowUpKind
from poolkit.model.pool import Pool, PoolMode
from poolkit.model.rep import OrgTree, Rep
from poolkit.model.review import ReviewItem, ReviewStatus, SimilarMatch
from poolkit.model.team import Team
from poolkit.policy.config import (
    AssignmentRule,
    CapPolicy,
    ClaimLimitPolicy,
    DropKind,
    DropRule,
    DropTime,
    Inflow,
    Policy,
    RoutingRule,
    SimilarityPolicy,
    Strategy,
    VisibilityPolicy,
)
from poolkit.policy.routing import RouteExplanation
from poolkit.policy.rules import ActionKind, Reason
from poolkit.ports import CustomerOrder
from poolkit.service import (
    Assignment,
    BulkItem,
    BulkMode,
    BulkResult,
    CreateResult,
    DepartureReport,
    DropShift,
    ForecastItem,
    Page,
    PoolOutlook,
    PoolService,
    RepOutlook,
    Scope,
    SweepItem,
    SweepReport,
    WhatIf,
    WhatIfCustomer,
)
from poolkit.stores.memory import MemoryStore
from poolkit.stores.sqlite import SqliteStore

__version__ = "0.1.0"

# Names the root exported before 0.2, and the namespace each lives in now.
_MOVED = {
    **{
        name: "poolkit.errors"
        for name in (
            "CapExceeded",
            "ClaimLimitExceeded",
            "CollisionError",
            "ConfigError",
            "CooldownActive",
            "CustomerNotFound",
            "DuplicateIdError",
            "InvalidKeyError",
            "InvalidValueError",
            "NaiveDatetimeError",
            "NotFoundError",
            "PermissionDenied",
            "PoolNotFound",
            "RepInactiveError",
            "RepNotFound",
            "ReviewNotFound",
            "StaleVersionError",
            "WrongStateError",
        )
    },
    **{name: "poolkit.ports" for name in ("CustomerQuery", "Schedule", "Store", "UnitOfWork")},
    **{name: "poolkit.rules" for name in ("Deadline", "Decision")},
    **{name: "poolkit.events" for name in ("apply", "replay")},
}

if not TYPE_CHECKING:  # type checkers should see only the names of __all__

    def __getattr__(name: str) -> object:
        """The old root names still resolve, with a warning saying where they live now."""
        if name not in _MOVED:
            raise AttributeError(f"module 'poolkit' has no attribute {name!r}")
        import importlib
        import warnings

        home = _MOVED[name]
        warnings.warn(
            f"import {name} from {home}: poolkit no longer exports it at the root",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(home), name)


__all__ = [
    "ActionKind",
    "Assignment",
    "AssignmentRule",
    "AttributeValue",
    "BulkItem",
    "BulkMode",
    "BulkResult",
    "CapPolicy",
    "ClaimLimitPolicy",
    "Clock",
    "CreateResult",
    "Customer",
    "CustomerOrder",
    "CustomerStatus",
    "DepartureReport",
    "DropKind",
    "DropRule",
    "DropShift",
    "DropTime",
    "Event",
    "FollowUpKind",
    "ForecastItem",
    "IdentityKey",
    "ImportReport",
    "ImportRow",
    "Inflow",
    "ManualClock",
    "MemoryStore",
    "OrgTree",
    "Page",
    "Policy",
    "Pool",
    "PoolMode",
    "PoolOutlook",
    "PoolService",
    "PoolkitError",
    "Reason",
    "Rep",
    "RepOutlook",
    "ReviewItem",
    "ReviewStatus",
    "RouteExplanation",
    "RoutingRule",
    "Scope",
    "SimilarMatch",
    "SimilarityPolicy",
    "SqliteStore",
    "Strategy",
    "SweepItem",
    "SweepReport",
    "SystemClock",
    "Team",
    "VisibilityPolicy",
    "WhatIf",
    "WhatIfCustomer",
    "__version__",
    "require_aware",
]
