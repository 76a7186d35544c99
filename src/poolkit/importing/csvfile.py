"""CSV records with the line each starts on, and the damaged ones reported, not guessed at.

The standard library's reader, given an unterminated quote, takes the rest of the file as
one cell; given a stray quote after a quoted cell, it quietly glues the two. Here a record
is assembled from whole lines first: a quote opens a cell that may run over several lines
(an address typed with line breaks), but not past :data:`MAX_RECORD_LINES` lines or the end
of the file. A record that does not close is reported at its first line as an unterminated
quote, and the lines after it are read again as records of their own, so one typo costs
one row. Only lines with a quote go through :mod:`csv` at all; the others are split at the
delimiter, which is exact for them and several times quicker.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator

import attrs

__all__ = ["MAX_RECORD_LINES", "Damaged", "Record", "records"]

# A cell may hold line breaks, but a record longer than this is taken for a quote that
# never closes; the bound also keeps what is held in memory small whatever the file.
MAX_RECORD_LINES = 50


@attrs.frozen
class Record:
    line: int
    cells: list[str]


@attrs.frozen
class Damaged:
    line: int
    message: str


def records(
    lines: Iterator[tuple[int, str | None, str]], delimiter: str, width: int | None = None
) -> Iterator[Record | Damaged]:
    """The records of ``lines`` (from :func:`~poolkit.importing.encoding.decoded_lines`), in
    order; blank lines are skipped. ``width``: the header's number of cells, if known; a
    record over several lines with more cells than that is taken for a quote left open."""
    pending: deque[tuple[int, str | None, str]] = deque()

    def next_line() -> tuple[int, str | None, str] | None:
        return pending.popleft() if pending else next(lines, None)

    while (item := next_line()) is not None:
        start, text, encoding = item
        if text is None:
            yield Damaged(start, f"the line cannot be decoded as {encoding}")
            continue
        if '"' not in text:
            body = text.rstrip("\r\n")
            if body.strip():
                yield Record(start, body.split(delimiter))
            continue
        span = [item]
        quotes = text.count('"')
        while quotes % 2 and len(span) < MAX_RECORD_LINES:
            following = next_line()
            if following is None:
                break
            if following[1] is None:
                pending.appendleft(following)
                break
            span.append(following)
            quotes += following[1].count('"')
        texts = [line for _, line, _ in span if line is not None]
        cells: list[str] | None = None
        problem = 'an unterminated quote (a cell opened with " never closes)'
        if quotes % 2 == 0:
            try:
                reader = csv.reader(texts, delimiter=delimiter, strict=True)
                cells = next(reader, [])
                if next(reader, None) is not None:
                    cells, problem = None, "text after a closing quote"
            except csv.Error as error:
                cells, problem = None, f"malformed quoting: {error}"
        if cells is not None and len(span) > 1 and width is not None and len(cells) > width:
            cells = None
        if cells is None:
            # Read the lines this record swallowed again, each on its own: they are most
            # likely rows of their own after a quote typed by mistake.
            pending.extendleft(reversed(span[1:]))
            yield Damaged(start, problem)
            continue
        if any(cell.strip() for cell in cells):
            yield Record(start, cells)
