"""Write ``src/poolkit/identity/readings.txt``: the readings (pinyin without tones) of the
Chinese characters U+4E00 to U+9FFF, which the look-alike rules use to tell a typed
homophone (腾讯 for 腾迅) from another name (鸿文 and 吉文).

The readings come from pypinyin (MIT licence; its data is pinyin-data, from the Unicode
Han Database), which is only needed to run this script: ``pip install pypinyin``, then
``python scripts/make_readings.py``. The file lists, for each reading, every character
that has it (a character with several readings, 行 xing and hang, is on several lines).
"""

from __future__ import annotations

from collections import defaultdict
from importlib.metadata import version
from pathlib import Path

from pypinyin import Style, pinyin

FIRST, LAST = 0x4E00, 0x9FFF
TARGET = Path(__file__).resolve().parent.parent / "src" / "poolkit" / "identity" / "readings.txt"


def main() -> None:
    by_reading: dict[str, list[str]] = defaultdict(list)
    for code in range(FIRST, LAST + 1):
        char = chr(code)
        readings = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
        for reading in sorted(set(readings[0])) if readings else ():
            if reading.isascii() and reading.isalpha():
                by_reading[reading].append(char)
    lines = [
        f"# Readings (pinyin without tones) of U+{FIRST:04X}..U+{LAST:04X}, a line a reading:",
        f"# made by scripts/make_readings.py from pypinyin {version('pypinyin')} (MIT licence;",
        "# its data is pinyin-data, from the Unicode Han Database).",
        *(f"{reading} {''.join(chars)}" for reading, chars in sorted(by_reading.items())),
    ]
    TARGET.write_text("\n".join(lines) + "\n", encoding="utf-8")
    covered = len({char for chars in by_reading.values() for char in chars})
    print(f"{TARGET}: {len(by_reading)} readings, {covered} characters")


if __name__ == "__main__":
    main()
