"""Running an operation again after a transient failure of its store.

On a store whose units of work run side by side (PostgreSQL), the loser of a race on one
customer finds its version changed (:class:`StaleVersionError`), and a lock wait past its
limit, a serialisation failure or a deadlock is a :class:`StoreError` marked
``retryable``. Run again from the start, the operation reads the winner's write and gives
the real answer (the loser of a claim race: :class:`WrongStateError` naming the winner),
so callers see answers and refusals, not transient database errors.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from poolkit.errors import StaleVersionError, StoreError

__all__ = ["ATTEMPTS", "is_transient", "retried", "run_retried"]

# How often an operation runs before a transient failure reaches the caller.
ATTEMPTS = 5

P = ParamSpec("P")
R = TypeVar("R")


def is_transient(error: BaseException) -> bool:
    """Whether running the same operation again from the start may succeed."""
    if isinstance(error, StaleVersionError):
        return True
    return isinstance(error, StoreError) and error.retryable


def backoff(attempt: int) -> None:
    # A little jitter, so the losers of one race do not all collide again.
    time.sleep(random.uniform(0, 0.002 * attempt))


def run_retried(step: Callable[[], R], undo: Callable[[], None] = lambda: None) -> R:
    """``step()``, run up to :data:`ATTEMPTS` times while it fails transiently; ``undo``
    puts back what a failed run added to the caller's own tallies (a unit of work's
    writes roll back by themselves)."""
    for attempt in range(1, ATTEMPTS):
        try:
            return step()
        except (StaleVersionError, StoreError) as error:
            if not is_transient(error):
                raise
            undo()
            backoff(attempt)
    return step()


def retried(operation: Callable[P, R]) -> Callable[P, R]:
    """``operation``, run again while it fails transiently (:func:`run_retried`). Each run
    opens its own unit of work, so a failed run has changed nothing."""

    @functools.wraps(operation)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return run_retried(lambda: operation(*args, **kwargs))

    return run
