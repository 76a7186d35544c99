"""Every error poolkit raises, under one base class.

Each error carries, as attributes, the facts a caller needs to act on it (who owns the
colliding customer, when the next claim becomes possible...), and a message a person can
read. Catch :class:`PoolkitError` to catch them all.
"""

from __future__ import annotations

from datetime import datetime


class PoolkitError(Exception):
    """Base of every error poolkit raises on purpose."""


class InvalidValueError(PoolkitError, ValueError):
    """A value handed to poolkit is malformed: an empty id, a negative period, a bad phone."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class NaiveDatetimeError(InvalidValueError):
    """A datetime without a time zone was given where poolkit needs an instant."""

    def __init__(self, field: str, value: datetime) -> None:
        self.value = value
        super().__init__(
            field,
            f"naive datetime {value.isoformat()} refused; give a timezone-aware datetime "
            "(e.g. with tzinfo=ZoneInfo('Asia/Shanghai'))",
        )


class ConfigError(PoolkitError, ValueError):
    """A policy or team document is invalid.

    ``path`` names the bad key, e.g. ``drop_rules[2].days``.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class NotFoundError(PoolkitError, LookupError):
    """Base for unknown ids."""

    kind = "object"

    def __init__(self, id: str) -> None:
        self.id = id
        super().__init__(f"unknown {self.kind} {id!r}")


class CustomerNotFound(NotFoundError):
    kind = "customer"


class RepNotFound(NotFoundError):
    kind = "rep"


class PoolNotFound(NotFoundError):
    kind = "pool"


class PermissionDenied(PoolkitError):
    """The actor may not do this to this customer (or pool)."""

    def __init__(self, actor_id: str, operation: str, target: str, reason: str) -> None:
        self.actor_id = actor_id
        self.operation = operation
        self.target = target
        self.reason = reason
        super().__init__(f"{actor_id} may not {operation} {target}: {reason}")


class WrongStateError(PoolkitError):
    """The customer is not where the operation needs it (e.g. claiming a private customer).

    ``owner_id`` names the rep who holds it, if any, so the loser of a claim race learns who won.
    """

    def __init__(
        self,
        customer_id: str,
        operation: str,
        state: str,
        expected: str,
        owner_id: str | None = None,
    ) -> None:
        self.customer_id = customer_id
        self.operation = operation
        self.state = state
        self.expected = expected
        self.owner_id = owner_id
        where = f"owned by {owner_id}" if owner_id else state
        super().__init__(
            f"cannot {operation} customer {customer_id!r}: it is {where}, needs to be {expected}"
        )


class RepInactiveError(PoolkitError):
    """The rep has departed and can neither act nor receive customers."""

    def __init__(self, rep_id: str) -> None:
        self.rep_id = rep_id
        super().__init__(f"rep {rep_id!r} has departed")


class CollisionError(PoolkitError):
    """Creating (or re-keying) a customer would duplicate one that exists (撞单).

    Names the existing customer, the matching key, and where it is: the owner (``owner_id``),
    else its public pool (``pool_id``), and ``in_recycle_bin`` when frozen.
    """

    def __init__(
        self,
        customer_id: str,
        key_kind: str,
        key_value: str,
        owner_id: str | None,
        pool_id: str,
        in_recycle_bin: bool,
    ) -> None:
        self.customer_id = customer_id
        self.key_kind = key_kind
        self.key_value = key_value
        self.owner_id = owner_id
        self.pool_id = pool_id
        self.in_recycle_bin = in_recycle_bin
        if owner_id is not None:
            where = f"colleague {owner_id} is already following this customer"
        elif in_recycle_bin:
            where = f"it is in the recycle bin (pool {pool_id})"
        else:
            where = f"it is in public pool {pool_id}; claim it from there"
        super().__init__(
            f"{key_kind} {key_value!r} already belongs to customer {customer_id!r}: {where}"
        )


class CapExceeded(PoolkitError):
    """The rep's private pool is full (库容上限)."""

    def __init__(self, rep_id: str, cap: int, count: int) -> None:
        self.rep_id = rep_id
        self.cap = cap
        self.count = count
        super().__init__(
            f"rep {rep_id!r} holds {count} of a cap of {cap}; release a customer first"
        )


class ClaimLimitExceeded(PoolkitError):
    """The rep has claimed as many customers as the window allows (领取上限).

    ``next_claim_at`` is None when the limit is 0: no claim will ever be possible.
    """

    def __init__(
        self, rep_id: str, limit: int, window_days: int, next_claim_at: datetime | None
    ) -> None:
        self.rep_id = rep_id
        self.limit = limit
        self.window_days = window_days
        self.next_claim_at = next_claim_at
        if next_claim_at is None:
            message = f"rep {rep_id!r} has a claim limit of 0 and may not claim"
        else:
            message = (
                f"rep {rep_id!r} has made {limit} claims in {window_days} days; "
                f"the next claim is possible at {next_claim_at.isoformat()}"
            )
        super().__init__(message)


class CooldownActive(PoolkitError):
    """The rep lost this customer recently and may not claim it back yet."""

    def __init__(self, rep_id: str, customer_id: str, ends_at: datetime) -> None:
        self.rep_id = rep_id
        self.customer_id = customer_id
        self.ends_at = ends_at
        super().__init__(
            f"rep {rep_id!r} lost customer {customer_id!r} recently and may claim it again "
            f"from {ends_at.isoformat()}"
        )


class StaleVersionError(PoolkitError):
    """A write was based on an outdated copy of a customer; nothing was written."""

    def __init__(self, customer_id: str, expected: int, actual: int | None) -> None:
        self.customer_id = customer_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"customer {customer_id!r} changed meanwhile (expected version {expected}, "
            f"store has {actual}); reload and try again"
        )


class DuplicateIdError(PoolkitError):
    """An id is already taken (customer, rep or pool)."""

    def __init__(self, kind: str, id: str) -> None:
        self.kind = kind
        self.id = id
        super().__init__(f"{kind} id {id!r} is already taken")


class InvalidKeyError(InvalidValueError):
    """An identity key (phone, credit code, email...) is malformed; ``value`` is the input."""

    def __init__(self, kind: str, value: str, message: str) -> None:
        self.kind = kind
        self.value = value
        super().__init__(kind, f"{value!r} is not a valid {kind}: {message}")


class ReviewNotFound(NotFoundError):
    kind = "review item"


class UsageError(PoolkitError):
    """A command-line mistake that is not about pools (missing database, bad date...)."""


class StoreError(PoolkitError):
    """Base of the failures of a store itself, whatever the database behind it.

    ``retryable`` says whether the same operation, run again from the start, may succeed
    (the service retries those a bounded number of times before giving up).
    """

    retryable = False


class StoreBusyError(StoreError):
    """Another unit of work held what this one needed for longer than the store waits."""

    retryable = True

    def __init__(self, path: str, timeout_s: float) -> None:
        self.path = path
        self.timeout_s = timeout_s
        super().__init__(
            f"database {path} stayed locked by another unit of work for {timeout_s:g} s; "
            "try again, or raise busy_timeout_s"
        )


class SchemaVersionError(StoreError):
    """The database was written by a newer poolkit whose schema this one does not know."""

    def __init__(self, path: str, found: int, known: int) -> None:
        self.path = path
        self.found = found
        self.known = known
        super().__init__(
            f"database {path} has schema version {found}, but this poolkit knows versions up "
            f"to {known}; upgrade poolkit to open it"
        )



class StoreConflictError(StoreError):
    """The database gave up this unit of work to let a concurrent one go on (a
    serialisation failure or a deadlock); nothing was written. ``reason`` is the database's
    own word for it."""

    retryable = True

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"the unit of work collided with a concurrent one ({reason}) and wrote nothing; "
            "try again"
        )


class StoreUnavailableError(StoreError):
    """The store could not be reached, or the connection was lost mid-way; ``where`` names
    the database without its password.

    A unit of work whose connection broke before its commit wrote nothing. One whose
    connection broke during the commit may have been committed, which nobody can tell any
    more: hence not retryable (a blind retry could run the operation twice). Reload and
    look before doing it again.
    """

    retryable = False

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"database {where} is unavailable ({reason}); nothing was written")
