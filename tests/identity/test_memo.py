"""The memo of the name functions (``poolkit.identity._memo.remembered``): the answers of
the function, each worked out once while remembered, never more than its size, and out
of the garbage collector's sight."""

from __future__ import annotations

import gc

import pytest

from poolkit.identity._memo import remembered


def test_each_answer_is_worked_out_once_and_is_the_functions() -> None:
    calls: list[str] = []

    @remembered(10)
    def shout(text: str) -> str:
        calls.append(text)
        return text.upper()

    assert [shout(each) for each in ("a", "b", "a", "a", "b")] == ["A", "B", "A", "A", "B"]
    assert calls == ["a", "b"]
    assert shout.__name__ == "shout"


def test_it_holds_at_most_its_size() -> None:
    calls: list[str] = []

    @remembered(3)
    def same(text: str) -> str:
        calls.append(text)
        return text

    for each in "abcd":  # the fourth empties it first
        same(each)
    same("a")
    same("d")
    assert calls == ["a", "b", "c", "d", "a"]


def test_an_exception_is_raised_again_each_time() -> None:
    calls: list[str] = []

    @remembered(3)
    def refuse(text: str) -> str:
        calls.append(text)
        raise ValueError(text)

    for _ in range(2):
        with pytest.raises(ValueError, match="x"):
            refuse("x")
    assert calls == ["x", "x"]


def test_its_answers_are_not_walked_by_the_garbage_collector() -> None:
    @remembered(100)
    def pair(text: str) -> tuple[str, str]:
        return (text, text + "!")

    answers = [pair(f"name {n}") for n in range(50)]
    gc.collect()  # the answers (tuples of strings) are untracked once seen, and their dict
    assert not any(gc.is_tracked(answer) for answer in answers)
    cells = pair.__closure__ or ()
    (memo,) = [cell.cell_contents for cell in cells if isinstance(cell.cell_contents, dict)]
    assert len(memo) == 50
    assert not gc.is_tracked(memo)
