"""Every database failure the PostgreSQL store turns into a poolkit error, in one place.

What a refusal of the *contract* looks like (a stale version, a taken id) is decided by the
statements themselves, which report it by the rows they touch, never by an error: an error
aborts the whole PostgreSQL transaction, and a caller may go on with its unit of work after
such a refusal (an import reports a taken id and carries on with the next row). What is left
for this module are the failures of the database itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import psycopg_pool
from psycopg import errors as pg

from poolkit.errors import StoreBusyError, StoreConflictError, StoreUnavailableError

# SQLSTATE classes and codes that mean the server or the connection went away: class 08
# (connection exception), and 57P01-57P03 (the server is shutting down, crashed, or is
# starting up).
_GONE_CLASSES = ("08",)
_GONE_CODES = ("57P01", "57P02", "57P03")


@contextmanager
def translated(where: str, busy_timeout_s: float, statement_timeout_s: float) -> Iterator[None]:
    """Run the body, raising poolkit's errors for the database's transient failures.

    ``where`` names the database (without its password) in the errors; the timeouts are the
    store's, so a busy error says which limit was reached.
    """
    try:
        yield
    except pg.LockNotAvailable as error:  # lock_timeout
        raise StoreBusyError(where, busy_timeout_s) from error
    except pg.QueryCanceled as error:
        # statement_timeout; poolkit never cancels a statement itself, so a cancel is the
        # limit (or an administrator), and running the operation again may succeed.
        raise StoreBusyError(where, statement_timeout_s) from error
    except (pg.SerializationFailure, pg.DeadlockDetected) as error:
        raise StoreConflictError(_reason(error)) from error
    except psycopg_pool.PoolTimeout as error:
        raise StoreUnavailableError(where, "no connection could be had in time") from error
    except psycopg.OperationalError as error:
        if _gone(error):
            raise StoreUnavailableError(where, _reason(error)) from error
        raise
    except psycopg.InterfaceError as error:
        # Using a connection the server closed: psycopg says so before sending anything.
        raise StoreUnavailableError(where, _reason(error)) from error


def _gone(error: psycopg.Error) -> bool:
    code = error.sqlstate
    # A connection that broke mid-statement gives no SQLSTATE at all (the server never
    # answered); psycopg marks the connection broken.
    if code is None:
        return True
    return code[:2] in _GONE_CLASSES or code in _GONE_CODES


def _reason(error: psycopg.Error) -> str:
    if error.sqlstate is not None and error.diag.message_primary:
        return f"{error.sqlstate}: {error.diag.message_primary}"
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
