"""How the command line opens the service on a database: the policy is the one the
library stores in it (``PoolService(store, policy, clock)``: a policy given to an empty
store is stored; ``None`` uses the stored one; a different one is refused with
``PolicyConflictError``; ``change_policy`` replaces it for every process)."""

from __future__ import annotations

from collections.abc import Callable

from poolkit import Clock, Policy, PoolService
from poolkit.errors import ConfigError, PolicyConflictError, UsageError
from poolkit.ports import Store

__all__ = ["adopt_policy", "open_service"]


def open_service(
    store: Store,
    clock: Clock,
    policy: Policy | None = None,
    *,
    new_id: Callable[[], str] | None = None,
) -> PoolService:
    """The service on ``store`` with its stored policy, or with ``policy`` for a store
    that has none yet; :class:`UsageError` when neither."""
    try:
        return PoolService(store, policy, clock, new_id=new_id)
    except PolicyConflictError:
        raise
    except ConfigError as error:
        if policy is None and error.path == "policy":
            raise UsageError("the database has no policy; run `poolkit init` first") from None
        raise


def adopt_policy(store: Store, clock: Clock, policy: Policy) -> tuple[PoolService, bool]:
    """The service on ``store`` for ``policy`` (``init --force``), and whether the store
    held another policy, which the caller replaces with ``change_policy`` once the team
    is in place (so a team that does not fit leaves the stored policy as it was)."""
    try:
        return PoolService(store, policy, clock), False
    except PolicyConflictError:
        return PoolService(store, None, clock), True
