"""The worker processes of test_concurrency.py and test_crash_safety.py, and the harness
that starts, feeds and always stops them.

Workers are started with the "spawn" method: a fresh interpreter imports this module by
name and calls one of its functions, so nothing (no SQLite connection, no lock, no
clock) is inherited from the test process. Each worker opens its own store on the shared
database (a SQLite file, or a ``postgresql://`` URL: see ``poolkit.stores.open_store``) and
its own ``PoolService``, as a separate application process would. Everything that crosses
a process boundary is a plain value: paths as strings, policies as documents, instants as
ISO strings.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.queues
import queue
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from multiprocessing.context import SpawnContext, SpawnProcess
from multiprocessing.synchronize import Barrier, Event
from types import TracebackType
from typing import Any, Self
from zoneinfo import ZoneInfo

import attrs

from poolkit import BulkMode, ManualClock, Policy, PoolService
from poolkit.errors import CapExceeded, ClaimLimitExceeded, CollisionError, WrongStateError
from poolkit.importer import ImportRow
from poolkit.stores import open_store

ZONE = ZoneInfo("Asia/Shanghai")

# Safety nets only, never part of what a test asserts: they turn a worker that died or
# hung into a failed test instead of a hung run. Generous, because spawning a worker on
# a loaded machine can take seconds.
WAIT_S = 120.0
JOIN_S = 10.0


def spawn() -> SpawnContext:
    return multiprocessing.get_context("spawn")


def instant(iso: str) -> datetime:
    """An ISO instant from another process, back in the team's zone."""
    return datetime.fromisoformat(iso).astimezone(ZONE)


def open_service(
    path: str, policy: Mapping[str, Any], at: str, *, sweep_batch: int = 500
) -> tuple[PoolService, ManualClock]:
    clock = ManualClock(instant(at))
    service = PoolService(
        open_store(path), Policy.from_dict(policy), clock, sweep_batch=sweep_batch
    )
    return service, clock


# ---------------------------------------------------------------------------- rounds


@attrs.frozen
class Step:
    """One operation: "claim" or "follow_up" (by ``actor_id``, of ``customer_id``),
    "create" (by ``actor_id``, into their private pool, with ``keys``), "create_public"
    (by ``actor_id``, customer ``customer_id`` into public pool ``pool_id``, where its
    automatic assignment may hand it out), "sweep" (at the worker's clock), or "bulk_claim"
    (by ``actor_id``, of ``customer_ids``, in ``mode``)."""

    op: str
    actor_id: str = ""
    customer_id: str = ""
    keys: tuple[tuple[str, str], ...] = ()
    customer_ids: tuple[str, ...] = ()
    mode: str = "per-customer"
    pool_id: str = ""


@attrs.frozen
class Outcome:
    """What a step came to: ``error`` is None on success, else the class name of the error,
    with the facts the error carries."""

    step: Step
    error: str | None = None
    version: int | None = None  # the customer's version after a successful claim/follow-up
    owner_id: str | None = None  # WrongStateError: who holds the customer
    count: int | None = None  # CapExceeded: how many the rep held when refused
    limit: int | None = None  # CapExceeded.cap, ClaimLimitExceeded.limit
    next_claim_at: datetime | None = None  # ClaimLimitExceeded
    dropped: tuple[str, ...] = ()  # a sweep's dropped customers
    customer_id: str | None = None  # create: the customer made, or CollisionError's holder
    message: str = ""
    done: tuple[str, ...] = ()  # bulk_claim: the customers claimed
    refusals: tuple[str, ...] = ()  # bulk_claim: each refused customer's refusal, as a text


@attrs.frozen
class Round:
    """The steps one worker runs, in order, once the barrier releases every worker; its
    clock is set to ``at`` (an ISO instant) first, so all workers act at the same instant."""

    at: str
    steps: tuple[Step, ...]


def run_step(service: PoolService, step: Step) -> Outcome:
    """Run one step and describe what happened; never raises for an error of the service."""
    try:
        if step.op == "claim":
            return Outcome(step, version=service.claim(step.actor_id, step.customer_id).version)
        if step.op == "follow_up":
            customer = service.follow_up(step.actor_id, step.customer_id, "call", "racing")
            return Outcome(step, version=customer.version)
        if step.op == "sweep":
            report = service.sweep()
            return Outcome(step, dropped=tuple(item.customer_id for item in report.dropped))
        if step.op == "bulk_claim":
            result = service.bulk_claim(step.actor_id, step.customer_ids, mode=BulkMode(step.mode))
            return Outcome(
                step,
                done=tuple(item.customer_id for item in result.done),
                refusals=tuple(
                    f"{type(item.refusal).__name__}: {item.reason}" for item in result.refused
                ),
            )
        if step.op == "create":
            made = service.create(step.actor_id, f"Shop of {step.actor_id}", keys=step.keys)
            return Outcome(step, version=made.version, customer_id=made.id)
        if step.op == "create_public":
            made = service.create(
                step.actor_id,
                f"Lead {step.customer_id}",
                customer_id=step.customer_id,
                public=True,
                pool_id=step.pool_id,
            )
            return Outcome(step, version=made.version, customer_id=made.id, owner_id=made.owner_id)
        raise ValueError(f"unknown step {step.op!r}")
    except CollisionError as error:
        return Outcome(
            step,
            "CollisionError",
            owner_id=error.owner_id,
            customer_id=error.customer_id,
            message=str(error),
        )
    except WrongStateError as error:
        return Outcome(step, "WrongStateError", owner_id=error.owner_id, message=str(error))
    except CapExceeded as error:
        return Outcome(step, "CapExceeded", count=error.count, limit=error.cap, message=str(error))
    except ClaimLimitExceeded as error:
        return Outcome(
            step,
            "ClaimLimitExceeded",
            limit=error.limit,
            next_claim_at=error.next_claim_at,
            message=str(error),
        )
    except Exception as error:
        return Outcome(step, type(error).__name__, message=repr(error))


def round_worker(
    index: int,
    path: str,
    policy: Mapping[str, Any],
    start: str,
    sweep_batch: int,
    barrier: Barrier,
    tasks: multiprocessing.queues.Queue[Round | None],
    results: multiprocessing.queues.Queue[tuple[int, list[Outcome]]],
) -> None:
    """Run rounds until told to stop (None): wait for a round, wait at the barrier with the
    other workers, run the round's steps, report their outcomes."""
    service, clock = open_service(path, policy, start, sweep_batch=sweep_batch)
    while (task := tasks.get()) is not None:
        clock.set(instant(task.at))
        try:
            barrier.wait(WAIT_S)
        except threading.BrokenBarrierError:
            results.put((index, [Outcome(Step("barrier"), "BrokenBarrierError")]))
            continue
        results.put((index, [run_step(service, step) for step in task.steps]))


class Crew:
    """``size`` worker processes on one database file, released together for each round.

    ``run(at, steps)`` hands worker ``i`` the steps ``steps[i]``, releases every worker at
    once through a barrier (the test process is its last party, so no worker starts
    before all are waiting), and returns each worker's outcomes. Leaving the ``with``
    block stops every worker; one that does not stop in time is killed.
    """

    def __init__(
        self,
        path: str,
        policy: Mapping[str, Any],
        start: datetime,
        size: int,
        *,
        sweep_batch: int = 500,
    ) -> None:
        context = spawn()
        self.size = size
        self._barrier = context.Barrier(size + 1)
        self._tasks: list[multiprocessing.queues.Queue[Round | None]] = [
            context.Queue() for _ in range(size)
        ]
        self._results: multiprocessing.queues.Queue[tuple[int, list[Outcome]]] = context.Queue()
        self._processes = [
            context.Process(
                target=round_worker,
                args=(
                    index,
                    path,
                    dict(policy),
                    start.isoformat(),
                    sweep_batch,
                    self._barrier,
                    tasks,
                    self._results,
                ),
                name=f"poolkit-worker-{index}",
                daemon=True,
            )
            for index, tasks in enumerate(self._tasks)
        ]
        self.exit_codes: list[int | None] = []

    def __enter__(self) -> Self:
        try:
            for process in self._processes:
                process.start()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()

    def run(self, at: datetime, steps: Sequence[Sequence[Step]]) -> list[list[Outcome]]:
        if len(steps) != self.size:
            raise ValueError(f"{len(steps)} step lists for {self.size} workers")
        for tasks, mine in zip(self._tasks, steps, strict=True):
            tasks.put(Round(at.isoformat(), tuple(mine)))
        self._barrier.wait(WAIT_S)
        found: dict[int, list[Outcome]] = {}
        for _ in range(self.size):
            try:
                index, outcomes = self._results.get(timeout=WAIT_S)
            except queue.Empty:
                dead = [p.name for p in self._processes if not p.is_alive()]
                raise AssertionError(f"a worker did not report; stopped workers: {dead}") from None
            found[index] = outcomes
        return [found[index] for index in range(self.size)]

    def _stop(self) -> None:
        # Release anyone still waiting at the barrier, then ask everyone to finish.
        self._barrier.abort()
        for tasks in self._tasks:
            tasks.put(None)
        for process in self._processes:
            if process.pid is not None:
                process.join(JOIN_S)
        for process in self._processes:
            if process.is_alive():
                process.kill()
                process.join()
        self.exit_codes = [process.exitcode for process in self._processes]
        pipes: list[multiprocessing.queues.Queue[Any]] = [*self._tasks, self._results]
        for pipe in pipes:
            # Every worker has ended: whatever is still unread is of no use, and waiting
            # to flush it could block.
            pipe.cancel_join_thread()
            pipe.close()


# ---------------------------------------------------------------------------- crashes


def sweep_until_killed(
    path: str, policy: Mapping[str, Any], at: str, sweep_batch: int, started: Event
) -> None:
    """Sweep at ``at``, after telling the test it is about to start."""
    service, _ = open_service(path, policy, at, sweep_batch=sweep_batch)
    started.set()
    service.sweep()


def import_rows(count: int) -> list[ImportRow]:
    """The rows of a large import: each with its own phone (so that importing them again
    reports every row already in as a collision), a grade and a tag."""
    return [
        ImportRow(
            row=line,
            name=f"Shop {line:05d}",
            keys=(("phone", f"+86139{line:08d}"),),
            grade="CDE"[line % 3],
            tags=frozenset({f"fair-{line % 4}"}),
        )
        for line in range(2, count + 2)
    ]


def import_until_killed(
    path: str,
    policy: Mapping[str, Any],
    at: str,
    actor_id: str,
    count: int,
    batch_size: int,
    started: Event,
) -> None:
    """Import ``count`` rows into public pools, after telling the test it is about to start."""
    service, _ = open_service(path, policy, at)
    rows = import_rows(count)
    started.set()
    service.import_customers(actor_id, rows, batch_size=batch_size)


def depart_until_killed(
    path: str, policy: Mapping[str, Any], at: str, actor_id: str, rep_id: str, started: Event
) -> None:
    """Register ``rep_id``'s departure (all their customers drop in one unit of work), after
    telling the test it is about to start."""
    service, _ = open_service(path, policy, at)
    started.set()
    service.depart(actor_id, rep_id)


@contextmanager
def started_process(target: Any, *args: Any) -> Iterator[SpawnProcess]:
    """Start ``target(*args, started)`` in a spawned process and wait until it sets
    ``started``; on the way out the process is always ended (killed if still running)."""
    context = spawn()
    started = context.Event()
    process = context.Process(target=target, args=(*args, started), daemon=True)
    process.start()
    try:
        if not started.wait(WAIT_S):
            raise AssertionError(f"the worker never started (exit code {process.exitcode})")
        yield process
    finally:
        if process.is_alive():
            process.kill()
        process.join()


# ---------------------------------------------------------------------------- the feed


def feed_writer(
    path: str, name: str, count: int, hold_every: int, hold_s: float, go: Event
) -> None:
    """Append ``count`` follow-ups to four customers of this writer's own, one unit of work
    each, once ``go`` is set; every ``hold_every``-th unit of work holds its transaction
    open ``hold_s`` seconds after appending, so the others commit before it (on a store
    whose units of work run side by side): the order of commits differs from the order
    of appends."""
    from poolkit.testing.builders import followed_up

    store = open_store(path)
    if not go.wait(WAIT_S):
        raise AssertionError("never told to start")
    for i in range(count):
        with store.unit_of_work() as uow:
            uow.events.append(followed_up(f"{name}-{i % 4}", i // 4 + 1))
            if i % hold_every == 0:
                time.sleep(hold_s)
            uow.commit()


@contextmanager
def feed_writers(
    path: str, names: Sequence[str], count: int, hold_every: int, hold_s: float
) -> Iterator[list[SpawnProcess]]:
    """Start one :func:`feed_writer` per name and release them together; on the way out
    every writer is waited for (killed past the safety net)."""
    context = spawn()
    go = context.Event()
    processes = [
        context.Process(
            target=feed_writer, args=(path, name, count, hold_every, hold_s, go), daemon=True
        )
        for name in names
    ]
    try:
        for process in processes:
            process.start()
        go.set()
        yield processes
    finally:
        for process in processes:
            process.join(WAIT_S)
            if process.is_alive():
                process.kill()
                process.join()
