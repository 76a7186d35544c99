"""Remembering the answers of the pure functions of one name that an import calls again
and again (its normal form, its blocks, its numbers...), out of the garbage collector's way.

``functools.lru_cache`` keeps its answers in a linked list that every full collection of
the garbage collector walks, visiting each name and each answer it holds: with the caches
of an import of 50,000 rows full, that was a tenth of the import's CPU. A plain dict whose
keys and values are strings (or tuples of strings, once the collector has seen them) is
not tracked by the collector at all. It is emptied when it holds ``size`` answers, rather
than forgetting the least recently used one: an import asks for each name a few times in a
row, and a store of names that keeps growing is what the bound is for.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

R = TypeVar("R")


def remembered(size: int) -> Callable[[Callable[[str], R]], Callable[[str], R]]:
    """Remember the answers of a pure function of one string, at most ``size`` of them; an
    exception is not remembered (it is raised again each time)."""

    def remember(function: Callable[[str], R]) -> Callable[[str], R]:
        answers: dict[str, R] = {}

        @functools.wraps(function)
        def answer(argument: str) -> R:
            try:
                return answers[argument]
            except KeyError:
                pass
            found = function(argument)
            if len(answers) >= size:
                answers.clear()
            answers[argument] = found
            return found

        return answer

    return remember
