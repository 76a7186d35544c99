"""The policy as part of the data: stored in the store's settings, versioned.

Keys: ``policy`` holds the JSON of :meth:`Policy.to_dict`, ``policy.version`` its version
(1, 2, ...), and ``policy.schedules`` the version every stored schedule has been
recomputed for. While ``policy.schedules`` lags ``policy.version`` (a change under way,
or one that failed part-way), stored schedules may be later than the rules now say, so
the sweep and the forecast read every customer instead of trusting the due index.

Older databases open too: one with only the command line's former ``policy.json`` key has
that policy as version 1; one with only the former ``policy_fingerprint`` key takes the
policy the service is given as version 1.
"""

from __future__ import annotations

import json

import attrs

from poolkit.errors import ConfigError, PolicyConflictError
from poolkit.policy.config import Policy
from poolkit.ports import CustomerQuery, Settings, UnitOfWork

__all__ = [
    "POLICY_KEY",
    "SCHEDULES_KEY",
    "VERSION_KEY",
    "StoredPolicy",
    "load",
    "open_policy",
    "read_version",
    "save",
]

POLICY_KEY = "policy"
VERSION_KEY = "policy.version"
SCHEDULES_KEY = "policy.schedules"
# Written by earlier releases: read once to migrate, never written.
LEGACY_JSON_KEY = "policy.json"
LEGACY_FINGERPRINT_KEY = "policy_fingerprint"


@attrs.frozen
class StoredPolicy:
    """The policy in force, its version, and the version the schedules were computed for."""

    policy: Policy
    version: int
    schedules_version: int

    @property
    def schedules_current(self) -> bool:
        """Whether every stored schedule follows this version (the due index can be trusted)."""
        return self.schedules_version == self.version


def _int(settings: Settings, key: str) -> int | None:
    text = settings.get(key)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigError(key, f"stored value {text!r} is not an integer") from None


def read_version(settings: Settings) -> int | None:
    """The stored policy's version, or None: one small read, done by every operation."""
    return _int(settings, VERSION_KEY)


def _parse(text: str, key: str) -> Policy:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ConfigError(key, f"stored policy is not JSON: {error}") from None
    return Policy.from_dict(data)


def load(settings: Settings) -> StoredPolicy | None:
    """The stored policy, or None when the store has none (nor a legacy one)."""
    version = read_version(settings)
    if version is None:
        return None
    text = settings.get(POLICY_KEY)
    if text is None:
        raise ConfigError(POLICY_KEY, f"policy version {version} is stored without its policy")
    schedules = _int(settings, SCHEDULES_KEY)
    return StoredPolicy(_parse(text, POLICY_KEY), version, 0 if schedules is None else schedules)


def save(settings: Settings, stored: StoredPolicy) -> None:
    """Write ``stored`` (in the caller's unit of work)."""
    settings.set(POLICY_KEY, json.dumps(stored.policy.to_dict(), ensure_ascii=False))
    settings.set(VERSION_KEY, str(stored.version))
    settings.set(SCHEDULES_KEY, str(stored.schedules_version))


def _first(uow: UnitOfWork, policy: Policy) -> StoredPolicy:
    """Version 1 for a store that has no policy yet. Its schedules are current when the
    store is empty or its legacy fingerprint says they were computed with this policy;
    otherwise they wait for ``change_policy`` (meanwhile the sweep reads every customer)."""
    fingerprint = uow.settings.get(LEGACY_FINGERPRINT_KEY)
    empty = not uow.customers.find(CustomerQuery(), limit=1)
    current = empty or fingerprint == policy.fingerprint()
    return StoredPolicy(policy, 1, 1 if current else 0)


def open_policy(uow: UnitOfWork, given: Policy | None) -> StoredPolicy:
    """The policy a new service works with: the stored one, which ``given`` must equal.

    Stores ``given`` as version 1 in a store without a policy (migrating a legacy
    ``policy.json`` first). Never touches a schedule; the caller commits.
    """
    stored = load(uow.settings)
    if stored is None:
        legacy = uow.settings.get(LEGACY_JSON_KEY)
        if legacy is not None:
            stored = _first(uow, _parse(legacy, LEGACY_JSON_KEY))
        elif given is not None:
            stored = _first(uow, given)
        else:
            raise ConfigError(
                "policy", "the store holds no policy: pass one to PoolService to store it"
            )
        save(uow.settings, stored)
    if given is not None and given.fingerprint() != stored.policy.fingerprint():
        raise PolicyConflictError(stored.version)
    return stored
