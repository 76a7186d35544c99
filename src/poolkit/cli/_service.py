"""Where the command line keeps its policy, and its dry-run sweep: two stopgaps, one place.

The library is about to store the policy itself (``PoolService(store, policy, clock)``:
a policy given to an empty store is stored; ``None`` uses the stored one; a different one
is refused with ``PolicyConflictError``; ``change_policy`` replaces it) and to run a sweep
as a rolled-back dry run (``sweep(at, dry_run=True)``). Until then the command line keeps
the policy under a settings key of its own and forecasts the dry run. Every other module
of the command line goes through the functions here, so switching to the library is an
edit of this file alone: each function says what it becomes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from poolkit import Clock, Policy, PoolService, SweepItem, SweepReport
from poolkit.errors import ConfigError, UsageError
from poolkit.ports import Store

__all__ = ["adopt_policy", "change_policy", "dry_run_sweep", "open_service"]

POLICY_KEY = "policy.json"


def _stored(store: Store) -> Policy | None:
    with store.unit_of_work() as uow:
        text = uow.settings.get(POLICY_KEY)
    return None if text is None else Policy.from_dict(json.loads(text))


def _store(store: Store, policy: Policy) -> None:
    with store.unit_of_work() as uow:
        uow.settings.set(POLICY_KEY, json.dumps(policy.to_dict(), ensure_ascii=False))
        uow.commit()


def open_service(
    store: Store,
    clock: Clock,
    policy: Policy | None = None,
    *,
    new_id: Callable[[], str] | None = None,
) -> PoolService:
    """The service on ``store`` with its stored policy, or with ``policy`` for a store
    that has none yet; :class:`UsageError` when neither. Becomes ``PoolService(store,
    policy, clock, new_id=new_id)``, its ``ConfigError`` for a store without a policy
    turned into that :class:`UsageError`, which ``init`` and the commands rely on."""
    stored = _stored(store)
    if policy is None:
        if stored is None:
            raise UsageError("the database has no policy; run `poolkit init` first")
        policy = stored
    elif stored is not None and stored.fingerprint() != policy.fingerprint():
        raise ConfigError("policy", "the database holds another policy; change it instead")
    service = PoolService(store, policy, clock, new_id=new_id)
    if stored is None:
        _store(store, policy)
    return service


def adopt_policy(store: Store, clock: Clock, policy: Policy) -> PoolService:
    """The service on ``store`` under ``policy``, whatever policy the store held (``init
    --force``). Becomes: ``PoolService(store, policy, clock)``, and on
    ``PolicyConflictError`` ``PoolService(store, None, clock)`` then ``change_policy``."""
    stored = _stored(store)
    if stored is None or stored.fingerprint() == policy.fingerprint():
        return open_service(store, clock, policy)
    service = open_service(store, clock)
    change_policy(service, policy)
    return service


def change_policy(service: PoolService, policy: Policy) -> int:
    """Replace the policy; how many customers were rescheduled. Becomes
    ``service.change_policy(policy)``."""
    _store(service.store, policy)
    return service.change_policy(policy)


def dry_run_sweep(service: PoolService, at: datetime) -> SweepReport:
    """What ``service.sweep(at)`` would do, changing nothing. Becomes
    ``service.sweep(at, dry_run=True)``.

    Until then it is read off a forecast reaching back a century (overdue customers
    included), keeping what is due at ``at`` and, as the sweep does, dropping a customer
    due for both without warning it first. A warning's deadline is not in the forecast,
    so its ``due_at`` is left empty; the message says it.
    """
    try:
        since = at - timedelta(days=36500)
    except OverflowError:
        since = datetime.min.replace(tzinfo=UTC)
    due = [item for item in service.forecast(at, since=since) if item.at <= at]
    dropping = {item.customer_id for item in due if item.action == "drop"}
    dropped = tuple(
        SweepItem(i.customer_id, i.owner_id, i.rule, i.code, i.at, f"dropped: {i.message}")
        for i in due
        if i.action == "drop"
    )
    warned = tuple(
        SweepItem(i.customer_id, i.owner_id, i.rule, i.code, None, i.message)
        for i in due
        if i.action != "drop" and i.customer_id not in dropping
    )
    return SweepReport(at, dropped, warned, 0)
