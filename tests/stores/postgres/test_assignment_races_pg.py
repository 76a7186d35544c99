"""Automatic assignment at the cap boundary on a real PostgreSQL server: eight processes
create customers into one auto-assigned pool at the same instant, round after round, past
the members' caps. Judged as the SQLite race (tests/stores/test_assignment_races.py): no
rep passes a cap, nobody below their cap falls more than one behind, no turn is handed
out twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from test_assignment_races import (
    CAPS,
    assignment_policy,
    assignment_round,
    assignment_service,
    holdings,
    judge_turns,
)
from test_concurrency import START

from _workers import Crew
from poolkit.stores.postgres import PostgresStore

PROCESSES = 8
ROUNDS = 4  # 32 creates for 18 places

Say = Callable[[str], None]


def test_eight_processes_creating_into_an_auto_assigned_pool_stay_fair_and_within_caps(
    location: str, store: PostgresStore, say: Say
) -> None:
    policy = assignment_policy()
    assignment_service(store, policy)
    problems: list[str] = []
    with Crew(location, policy, START, PROCESSES) as crew:
        for round_ in range(ROUNDS):
            problems += assignment_round(store, crew, round_, PROCESSES)
    problems += judge_turns(store, PROCESSES * ROUNDS)
    held = holdings(store)
    say(
        f"postgres assignment race: {ROUNDS} rounds x {PROCESSES} processes into one pool: "
        + ", ".join(f"{rep} {held[rep]}/{CAPS[rep]}" for rep in sorted(CAPS))
    )
    assert problems == []
    assert held == Counter(CAPS)
    assert crew.exit_codes == [0] * PROCESSES
