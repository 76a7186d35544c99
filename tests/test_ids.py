"""The ids the service gives new customers: unique whatever the clock does, growing with
time, and what a service makes when it is given no ``new_id``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poolkit import ManualClock, MemoryStore, Policy, PoolService, Team
from poolkit.errors import NaiveDatetimeError
from poolkit.ids import TimeOrderedIds

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
LAST = 0xFFFF_FFFF  # the last second 8 hex digits hold (2106-02-07)


class NaiveClock:
    def now(self) -> datetime:
        return datetime(2026, 11, 30, 9, 0)


def test_an_id_is_the_clocks_second_then_a_counter() -> None:
    made = TimeOrderedIds(ManualClock(START), start=41)
    seconds = int(START.timestamp())
    assert made() == f"{seconds:08x}{41:012x}"
    assert made() == f"{seconds:08x}{42:012x}"


def test_the_second_is_the_instant_whatever_the_time_zone() -> None:
    shanghai = START.astimezone(timezone(timedelta(hours=8)))
    assert (
        TimeOrderedIds(ManualClock(shanghai), start=0)()
        == TimeOrderedIds(ManualClock(START), start=0)()
    )


def test_a_stopped_clock_still_gives_ids_that_never_repeat_and_keep_growing() -> None:
    made = TimeOrderedIds(ManualClock(START))
    ids = [made() for _ in range(100_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert {len(made_id) for made_id in ids} == {20}
    assert all(set(made_id) <= set("0123456789abcdef") for made_id in ids)


def test_ids_made_in_a_later_second_sort_after_those_of_an_earlier_one() -> None:
    clock = ManualClock(START)
    made = TimeOrderedIds(clock, start=(1 << 47) - 1)  # its largest start
    before = made()
    clock.advance(timedelta(seconds=1))
    after = made()
    assert before < after
    # Within one second, the counter alone orders them.
    clock.advance(timedelta(milliseconds=999))
    assert after < made()


def test_a_clock_set_back_repeats_no_id() -> None:
    clock = ManualClock(START)
    made = TimeOrderedIds(clock)
    first = [made() for _ in range(100)]
    clock.set(START - timedelta(days=30))
    again = [made() for _ in range(100)]
    assert not set(first) & set(again)


def test_the_counter_wraps_without_repeating() -> None:
    made = TimeOrderedIds(ManualClock(START), start=(1 << 48) - 2)
    ids = [made() for _ in range(4)]
    assert [made_id[8:] for made_id in ids] == [
        "fffffffffffe",
        "ffffffffffff",
        "0" * 12,
        "0" * 11 + "1",
    ]
    assert len(set(ids)) == 4


@pytest.mark.parametrize(
    ("at", "seconds"),
    [
        (datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), 0),
        (datetime(1970, 1, 1, tzinfo=UTC), 0),
        (datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), 1),
        (datetime(1, 1, 1, tzinfo=UTC), 0),
        (datetime(2106, 2, 7, 6, 28, 14, tzinfo=UTC), LAST - 1),
        (datetime(2106, 2, 7, 6, 28, 15, tzinfo=UTC), LAST),
        (datetime(2106, 2, 7, 6, 28, 16, tzinfo=UTC), LAST),
        (datetime(9999, 12, 31, tzinfo=UTC), LAST),
    ],
)
def test_instants_outside_eight_hex_digits_take_the_first_or_last_second(
    at: datetime, seconds: int
) -> None:
    assert TimeOrderedIds(ManualClock(at), start=0)()[:8] == f"{seconds:08x}"


def test_a_naive_clock_is_refused() -> None:
    with pytest.raises(NaiveDatetimeError):
        TimeOrderedIds(NaiveClock())()


def test_threads_sharing_one_maker_get_distinct_ids() -> None:
    made = TimeOrderedIds(ManualClock(START))
    found: list[list[str]] = [[] for _ in range(8)]
    barrier = threading.Barrier(len(found))

    def make(into: list[str]) -> None:
        barrier.wait()
        into.extend(made() for _ in range(5_000))

    threads = [threading.Thread(target=make, args=(into,)) for into in found]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [made_id for into in found for made_id in into]
    assert len(set(every)) == len(every) == 40_000


@given(
    st.integers(0, (1 << 47) - 1),
    st.lists(
        st.tuples(st.timedeltas(timedelta(0), timedelta(days=400)), st.integers(1, 5)),
        max_size=30,
    ),
)
def test_ids_grow_with_a_clock_that_moves_forwards(
    start: int, steps: list[tuple[timedelta, int]]
) -> None:
    clock = ManualClock(START)
    made = TimeOrderedIds(clock, start=start)
    ids = [made()]
    for step, count in steps:
        clock.advance(step)
        ids += [made() for _ in range(count)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_a_service_given_no_new_id_makes_time_ordered_ids_from_its_clock() -> None:
    clock = ManualClock(START)
    service = PoolService(MemoryStore(), Policy(), clock)
    service.setup(
        Team.from_dict(
            {
                "reps": [{"id": "ann"}],
                "pools": [{"id": "main", "default": True, "members": ["ann"]}],
            }
        )
    )
    first = service.create("ann", "Acme Trading").id
    clock.advance(timedelta(hours=1))
    second = service.create("ann", "Bolt Logistics").id
    assert first[:8] == f"{int(START.timestamp()):08x}"
    assert second[:8] == f"{int(START.timestamp()) + 3600:08x}"
    assert first < second
