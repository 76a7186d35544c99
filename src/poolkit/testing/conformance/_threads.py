"""Threads for the serialisation checks: start one, collect what it raises, join with a
time limit so that a deadlocked store fails the test instead of hanging it."""

from __future__ import annotations

import threading
from collections.abc import Callable

# How long a handshake may wait for the other thread before the test gives up: only
# reached when a store is broken (a deadlock), never on the passing path.
HANDSHAKE_S = 30.0


def run_in_thread(target: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    """Start ``target`` in a thread; whatever it raises is collected for the test to check."""
    errors: list[BaseException] = []

    def body() -> None:
        try:
            target()
        except BaseException as error:  # the test thread checks what was collected
            errors.append(error)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, errors


def join_all(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(HANDSHAKE_S)
        assert not thread.is_alive(), "a thread is still waiting: the store deadlocked"
