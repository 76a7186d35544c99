"""Every error poolkit raises, under one base class.

Each error carries, as attributes, the facts a caller needs to act on it (who owns the
colliding customer, when the next claim becomes possible...), and a message a person can
read. Catch :class:`PoolkitError` to catch them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

__all__ = [
    "BulkAborted",
    "CapExceeded",
    "ClaimLimitExceeded",
    "CollisionError",
    "ConfigError",
    "CooldownActive",
    "CustomerNotFound",
    "DamagedRecordError",
    "DatabaseDamaged",
    "DuplicateIdError",
    "InvalidCursorError",
    "InvalidKeyError",
    "InvalidValueError",
    "LockCapExceeded",
    "NaiveDatetimeError",
    "NotAPoolkitDatabase",
    "NotFoundError",
    "PermissionDenied",
    "PolicyConflictError",
    "PoolNotFound",
    "PoolkitError",
    "RepInactiveError",
    "RepNotFound",
    "ReviewNotFound",
    "SchemaVersionError",
    "StaleVersionError",
    "StoreBusyError",
    "StoreConflictError",
    "StoreError",
    "StoreUnavailableError",
    "UsageError",
    "WrongStateError",
]


class PoolkitError(Exception):
    """Base of every error poolkit raises on purpose."""


class InvalidValueError(PoolkitError, ValueError):
    """A value handed to poolkit is malformed: an empty id, a negative period, a bad phone."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class InvalidCursorError(InvalidValueError):
    """A page cursor that poolkit did not make, was altered, or belongs to another list or
    sort than the one asked for (``reason`` says which). Start again from the first page."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__("cursor", reason)


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
    """A policy or team (or a document or file of one) is invalid.

    ``problems`` lists every mistake found, each as ``(path, message)``; the path names the
    bad key, e.g. ``("drop_rules[2].days", "must be > 0")``, and is empty for a mistake in
    the file as a whole. A document with several mistakes is refused once, with all of them,
    so they can be fixed in one go. ``path`` and ``message`` are those of the first problem.
    ``file`` names the file the document was read from, and ``line`` the line of a syntax
    or encoding mistake in it (both None when unknown).
    """

    def __init__(
        self,
        path: str,
        message: str = "",
        *,
        problems: Sequence[tuple[str, str]] = (),
        file: str | None = None,
        line: int | None = None,
    ) -> None:
        found = tuple(problems) or ((path, message),)
        self.problems: tuple[tuple[str, str], ...] = found
        self.path, self.message = found[0]
        self.file = file
        self.line = line
        text = "; ".join(f"{key}: {what}" if key else what for key, what in found)
        if file is not None:
            where = f"{file}, line {line}" if line is not None else file
            text = f"{where}: {text}"
        super().__init__(text)

    def in_file(self, file: str) -> ConfigError:
        """The same problems, said of the file they were read from."""
        return ConfigError("", problems=self.problems, file=file, line=self.line)


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
    else its public pool (``pool_id``), and ``in_recycle_bin`` when frozen. ``key_masked``:
    ``key_value`` is shown masked (the policy's ``visibility.mask_keys``, to a rep who may
    not see the existing customer's keys); the owner is named all the same.
    """

    def __init__(
        self,
        customer_id: str,
        key_kind: str,
        key_value: str,
        owner_id: str | None,
        pool_id: str,
        in_recycle_bin: bool,
        *,
        key_masked: bool = False,
    ) -> None:
        self.customer_id = customer_id
        self.key_kind = key_kind
        self.key_value = key_value
        self.key_masked = key_masked
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


class PolicyConflictError(ConfigError):
    """A service was given a policy that differs from the one stored in its store.

    Constructing a service never changes the rules of a store other processes work on:
    ``stored_version`` is the version in force; change it with ``change_policy``.
    """

    def __init__(self, stored_version: int) -> None:
        self.stored_version = stored_version
        super().__init__(
            "policy",
            f"differs from the policy stored as version {stored_version}; pass None to use "
            "the stored policy, or change it with PoolService.change_policy()",
        )


class NotAPoolkitDatabase(StoreError, InvalidValueError):
    """The path given to a store does not name a poolkit database it can open: a text
    file, a directory, another application's database, a folder that does not exist.
    Nothing was written to it. Also an :class:`InvalidValueError` of the argument
    ``path`` (``field``), since what is wrong is the path a caller gave."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        InvalidValueError.__init__(
            self,
            "path",
            f"cannot open database {path}: {reason}; nothing was written to it",
        )

    def __str__(self) -> str:
        return self.message


class DatabaseDamaged(StoreError):
    """The poolkit database is damaged: truncated, overwritten in part, or missing a table
    its schema version must have."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"database {path} is damaged: {reason}; restore it from a backup "
            "(the sqlite3 shell's .recover command may save what is left)"
        )


class DamagedRecordError(StoreError):
    """One stored record (a customer, an event, a rep, a pool, a review item) cannot be
    read back; the others stay readable."""

    def __init__(self, kind: str, record_id: str, reason: str) -> None:
        self.kind = kind
        self.record_id = record_id
        self.reason = reason
        super().__init__(
            f"the stored {kind} {record_id!r} is damaged and cannot be read ({reason}); "
            "restore it from a backup"
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
    """The database cannot be used: a server that cannot be reached or a connection lost
    mid-way (PostgreSQL), a file without permission, a full disk or an I/O error (SQLite).
    ``where`` names the database (a server without its password, or a file's path; also
    readable as ``path``).

    A unit of work whose connection broke before its commit wrote nothing. One whose
    connection broke during the commit may have been committed, which nobody can tell any
    more: hence not retryable (a blind retry could run the operation twice). Reload and
    look before doing it again.

    ``DatabaseUnavailable``, the name SQLite's failures had before, is a deprecated alias
    of this class.
    """

    retryable = False

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"database {where} is unavailable ({reason}); nothing was written")

    @property
    def path(self) -> str:
        """``where``, under the name SQLite's failures gave it."""
        return self.where


class LockCapExceeded(PoolkitError):
    """The rep already has as many customers locked against drops as the policy allows
    (``caps.max_locked`` / ``caps.locked_per_rep``): ``count`` of ``cap``."""

    def __init__(self, rep_id: str, cap: int, count: int) -> None:
        self.rep_id = rep_id
        self.cap = cap
        self.count = count
        super().__init__(
            f"rep {rep_id!r} has {count} customers locked of a lock cap of {cap}; unlock one first"
        )


class BulkAborted(PoolkitError):
    """A customer of an all-or-nothing bulk move that was not moved because another
    customer of the same call was refused (``refused_id``, with ``cause``): the whole call
    was rolled back."""

    def __init__(
        self, customer_id: str, operation: str, refused_id: str, cause: PoolkitError
    ) -> None:
        self.customer_id = customer_id
        self.operation = operation
        self.refused_id = refused_id
        self.cause = cause
        super().__init__(
            f"customer {customer_id!r} not done: the all-or-nothing bulk {operation} was "
            f"rolled back because customer {refused_id!r} was refused ({cause})"
        )


# Names kept for code written against earlier releases: each is a class above, and using
# it warns.
_DEPRECATED = {"DatabaseUnavailable": ("StoreUnavailableError", StoreUnavailableError)}


def __getattr__(name: str) -> type[PoolkitError]:
    if name in _DEPRECATED:
        import warnings

        new_name, kind = _DEPRECATED[name]
        warnings.warn(
            f"poolkit.errors.{name} is deprecated: catch poolkit.errors.{new_name}, "
            "which every store raises when its database cannot be used",
            DeprecationWarning,
            stacklevel=2,
        )
        return kind
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
