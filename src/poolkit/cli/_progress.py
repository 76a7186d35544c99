"""The progress of a long command on stderr: rows, rate and time left.

Shown only once the command has run for :data:`QUIET_SECONDS`, so a short one prints
nothing. On a terminal it is one line rewritten in place (at most every
:data:`TERMINAL_EVERY` seconds); anywhere else (stderr into a file, a pipe, a cron log) it is a
plain line every :data:`LOG_EVERY` seconds, which a log keeps readable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["LOG_EVERY", "QUIET_SECONDS", "TERMINAL_EVERY", "Progress"]

QUIET_SECONDS = 2.0
TERMINAL_EVERY = 0.2
LOG_EVERY = 5.0


class Progress:
    """Call :meth:`update` as work is done and :meth:`finish` at the end.

    ``fraction`` tells how much of the input has been read (0..1), when it is known, for
    the time left; ``clock`` is seconds from any origin (``time.monotonic``)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        verb: str = "imported",
        fraction: Callable[[], float | None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
        terminal: bool | None = None,
    ) -> None:
        self._stream = stream
        self._verb = verb
        self._fraction = fraction
        self._clock = clock
        self._terminal = stream.isatty() if terminal is None else terminal
        self._started = clock()
        self._last_shown: float | None = None
        self._done = 0

    @property
    def shown(self) -> bool:
        return self._last_shown is not None

    def update(self, done: int) -> None:
        self._done = done
        now = self._clock()
        elapsed = now - self._started
        if elapsed < QUIET_SECONDS:
            return
        every = TERMINAL_EVERY if self._terminal else LOG_EVERY
        if self._last_shown is not None and now - self._last_shown < every:
            return
        self._last_shown = now
        self._write(self.line(done, elapsed))

    def finish(self) -> None:
        """The last figures, if anything was shown; the terminal line is ended."""
        if self._last_shown is None:
            return
        self._write(self.line(self._done, self._clock() - self._started, final=True))
        if self._terminal:
            self._stream.write("\n")
            self._stream.flush()

    def line(self, done: int, elapsed: float, *, final: bool = False) -> str:
        rate = done / elapsed if elapsed > 0 else 0.0
        text = f"{self._verb} {done:,} rows in {_duration(elapsed)}, {rate:,.0f} rows/s"
        fraction = None if final else self._fraction()
        if fraction is not None and 0 < fraction < 1:
            left = elapsed * (1 - fraction) / fraction
            text += f", {fraction:.0%} of the file, about {_duration(left)} left"
        return text

    def _write(self, text: str) -> None:
        if self._terminal:
            # Padded so a shorter line covers the end of a longer one.
            self._stream.write(f"\r{text:<78}")
        else:
            self._stream.write(text + "\n")
        self._stream.flush()


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
