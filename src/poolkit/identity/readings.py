"""What Chinese characters sound like: their readings (pinyin without tones), to tell a
mistyped name from another name.

Chinese is typed by sound: an input method turns pinyin into characters, and a slip picks
another character of the same sound (腾迅 for 腾讯), not one that merely shares the name's
other character. The readings of U+4E00 to U+9FFF ship in ``readings.txt`` (made by
``scripts/make_readings.py`` from pypinyin's data, pinyin-data, from the Unicode Han
Database), read the first time they are asked for.
"""

from __future__ import annotations

import functools
from importlib.resources import files

__all__ = ["readings", "sound_alike"]


@functools.cache
def _table() -> dict[str, tuple[str, ...]]:
    text = files("poolkit.identity").joinpath("readings.txt").read_text(encoding="utf-8")
    found: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            reading, chars = line.split(" ", 1)
            for char in chars:
                found[char] = (*found.get(char, ()), reading)
    return found


def readings(char: str) -> frozenset[str]:
    """The readings of one Chinese character, without tones (行: ``{"xing", "hang",
    "heng"}``); empty for a character the table does not hold."""
    return frozenset(_table().get(char, ()))


def sound_alike(a: str, b: str) -> bool | None:
    """Whether two Chinese characters share a reading (讯 and 迅, both xun); None when the
    readings of either are not known."""
    table = _table()
    first, second = table.get(a), table.get(b)
    if first is None or second is None:
        return None
    return not set(first).isdisjoint(second)
