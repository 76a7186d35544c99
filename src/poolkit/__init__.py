"""poolkit: public and private customer pools (公海/私海) for CRMs.

The public API is what this module exports; everything else may change.
"""

from poolkit.clock import Clock, ManualClock, SystemClock, require_aware
from poolkit.errors import (
    CapExceeded,
    ClaimLimitExceeded,
    CollisionError,
    ConfigError,
    CooldownActive,
    CustomerNotFound,
    DuplicateIdError,
    InvalidKeyError,
    InvalidValueError,
    NaiveDatetimeError,
    NotFoundError,
    PermissionDenied,
    PoolkitError,
    PoolNotFound,
    RepInactiveError,
    RepNotFound,
    ReviewNotFound,
    StaleVersionError,
    WrongStateError,
)
from poolkit.model.customer import Customer, CustomerStatus, IdentityKey
from poolkit.model.events import Event, FollowUpKind
from poolkit.model.history import apply, replay
from poolkit.model.pool import Pool, PoolMode
from poolkit.model.rep import OrgTree, Rep
from poolkit.model.review import ReviewItem, ReviewStatus, SimilarMatch
from poolkit.model.schedule import Schedule
from poolkit.model.team import Team
from poolkit.policy.config import (
    CapPolicy,
    ClaimLimitPolicy,
    DropKind,
    DropRule,
    DropTime,
    Policy,
    RoutingRule,
    SimilarityPolicy,
)
from poolkit.policy.rules import Deadline, Decision, Reason
from poolkit.ports import CustomerQuery, Store, UnitOfWork
from poolkit.service import (
    CreateResult,
    DepartureReport,
    ForecastItem,
    PoolService,
    SweepItem,
    SweepReport,
)
from poolkit.stores.memory import MemoryStore

__version__ = "0.1.0"

__all__ = [
    "CapExceeded",
    "CapPolicy",
    "ClaimLimitExceeded",
    "ClaimLimitPolicy",
    "Clock",
    "CollisionError",
    "ConfigError",
    "CooldownActive",
    "CreateResult",
    "Customer",
    "CustomerNotFound",
    "CustomerQuery",
    "CustomerStatus",
    "Deadline",
    "Decision",
    "DepartureReport",
    "DropKind",
    "DropRule",
    "DropTime",
    "DuplicateIdError",
    "Event",
    "FollowUpKind",
    "ForecastItem",
    "IdentityKey",
    "InvalidKeyError",
    "InvalidValueError",
    "ManualClock",
    "MemoryStore",
    "NaiveDatetimeError",
    "NotFoundError",
    "OrgTree",
    "PermissionDenied",
    "Policy",
    "Pool",
    "PoolMode",
    "PoolNotFound",
    "PoolService",
    "PoolkitError",
    "Reason",
    "Rep",
    "RepInactiveError",
    "RepNotFound",
    "ReviewItem",
    "ReviewNotFound",
    "ReviewStatus",
    "RoutingRule",
    "Schedule",
    "SimilarMatch",
    "SimilarityPolicy",
    "StaleVersionError",
    "Store",
    "SweepItem",
    "SweepReport",
    "SystemClock",
    "Team",
    "UnitOfWork",
    "WrongStateError",
    "__version__",
    "apply",
    "replay",
    "require_aware",
]
