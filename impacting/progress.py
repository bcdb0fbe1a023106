"""Progress of long work, said at a sensible interval: how many items of how many, the texts
the encoder has embedded meanwhile, the rate, and about how long is left.

A loop makes one :class:`Progress` and calls :meth:`Progress.advance` per item (or hands
:meth:`Progress.update` to code that reports `(done, total)`); a line is said at most every
`interval` seconds, so a quick run says nothing until its last line, and a slow one never goes
quiet for long. Where the lines go is the caller's choice: standard error for a command, the
Dagster log for a step.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# Seconds between two progress lines.
INTERVAL = 15.0


def duration(seconds: float) -> str:
    """`42 s`, `3 min`, `1 h 05 min`."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


class Progress:
    """Progress through `total` `items` (e.g. documents); `encoder` (optional) is the process's
    encoder, whose forward passes are counted as texts embedded."""

    def __init__(self, items: str, total: int, say: Callable[[str], None] | None,
                 encoder=None, interval: float = INTERVAL, clock: Callable[[], float] = time.monotonic):
        self.items, self.total, self.say = items, total, say
        self.encoder, self.interval, self.clock = encoder, interval, clock
        self.done = 0
        self.started = self.last = clock()
        self.texts_before = self._texts()

    def _texts(self) -> int:
        return self.encoder.stats.texts if self.encoder is not None else 0

    def advance(self, n: int = 1) -> None:
        """`n` more items done; says a line when `interval` has passed since the last one."""
        self.update(self.done + n, self.total)

    def update(self, done: int, total: int | None = None) -> None:
        """`done` items of `total` are done (the `(done, total)` callback some loops take)."""
        self.done = done
        if total is not None:
            self.total = total
        now = self.clock()
        if self.say is not None and now - self.last >= self.interval and self.done < self.total:
            self.last = now
            self.say(self.line(now))

    def finish(self) -> None:
        """Says the closing line (items, texts embedded, rate, time taken)."""
        if self.say is not None:
            elapsed = max(self.clock() - self.started, 1e-9)
            embedded = self._texts() - self.texts_before
            self.say(f"progress: {self.done:,}/{self.total:,} {self.items} done in {duration(elapsed)}"
                     + (f", {embedded:,} texts embedded ({embedded / elapsed:,.0f}/s)"
                        if self.encoder is not None else ""))

    def line(self, now: float | None = None) -> str:
        """Where the work stands: `progress: 120/432 documents (28%), 9,812 texts embedded
        (61/s), 0.9 documents/s, about 6 min left`."""
        elapsed = max((self.clock() if now is None else now) - self.started, 1e-9)
        rate = self.done / elapsed
        share = self.done / self.total if self.total else 1.0
        parts = [f"progress: {self.done:,}/{self.total:,} {self.items} ({share:.0%})"]
        if self.encoder is not None:
            embedded = self._texts() - self.texts_before
            parts.append(f"{embedded:,} texts embedded ({embedded / elapsed:,.0f}/s)")
        parts.append(f"{rate:,.2f} {self.items}/s")
        if self.done:
            parts.append(f"about {duration((self.total - self.done) / rate)} left")
        return ", ".join(parts)
