"""The readings of Chinese characters that tell a typed homophone from another name."""

from __future__ import annotations

from importlib.resources import files

import pytest

from poolkit.identity.readings import readings, sound_alike


def test_readings_without_tones_every_one_of_a_character() -> None:
    assert readings("讯") == {"xun"}
    assert readings("行") == {"xing", "hang", "heng"}
    assert readings("绿") == {"lv", "lu"}
    assert readings("a") == frozenset()


@pytest.mark.parametrize(
    ("a", "b", "alike"),
    [
        ("讯", "迅", True),  # 腾讯 typed as 腾迅
        ("强", "墙", True),
        ("行", "航", True),  # one of 行's readings is hang
        ("鸿", "吉", False),
        ("天", "北", False),
        ("讯", "x", None),  # not a character the table holds
    ],
)
def test_sound_alike(a: str, b: str, alike: bool | None) -> None:
    assert sound_alike(a, b) is alike
    assert sound_alike(b, a) is alike


def test_the_table_holds_the_block_of_common_characters() -> None:
    text = files("poolkit.identity").joinpath("readings.txt").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    chars = {char for line in lines for char in line.split(" ", 1)[1]}
    assert all(line.split(" ", 1)[0].isascii() for line in lines)
    assert all(0x4E00 <= ord(char) <= 0x9FFF for char in chars)
    assert len(chars) > 20_000  # of the 20,992 code points of U+4E00..U+9FFF
    # The characters of trade names in the tests' books all have their readings.
    from poolkit.testing.books import _BRAND

    assert all(readings(char) for char in _BRAND)
