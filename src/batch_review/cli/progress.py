"""submit's planning in the log: how far it has got, every few seconds, and how long it took.

Lines go out through actions_log.echo (redacted, inert), inside whatever log group is open.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..core.vocabulary import counted
from .actions_log import echo

PROGRESS_EVERY = 5.0  # seconds between progress lines; nothing shows for planning shorter than that


class PlanningProgress:
    """submit's planning in the log: silent for its first PROGRESS_EVERY seconds, then a line every
    PROGRESS_EVERY seconds (`planning: 3 of 40 targets done, now #12 (10 s)`), by the clock, not per
    target; a background thread keeps the lines coming while one large target is planned. At the end one
    summary line, `planned 40 targets in 12.3 s`. `update` is the journey's `progress` callback; lines go
    through `emit` (actions_log.echo: redacted, inert), inside whatever log group is open."""

    def __init__(self, *, every: float | None = None, clock: Callable[[], float] = time.monotonic,
                 emit: Callable[[str], None] = echo) -> None:
        self.every = PROGRESS_EVERY if every is None else every
        self.clock, self.emit = clock, emit
        self.started = self.shown = None  # when planning began; when the last line was shown
        self.state: tuple[int, int, str] | None = None  # (done, total, current) while planning
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._thread: threading.Thread | None = None

    def update(self, done: int, total: int, current: str) -> None:
        with self._lock:
            now = self.clock()
            if self.started is None:
                self.started = self.shown = now
            if current:
                self.state = (done, total, current)
            else:
                self.state = None
                if total:
                    self.emit(f"planned {counted(total, 'target')} in {now - self.started:.1f} s")
        self.tick()

    def tick(self) -> None:
        """A progress line if planning is under way and the last line (or the start) is PROGRESS_EVERY old."""
        with self._lock:
            now = self.clock()
            if self.state is None or now - self.shown < self.every:
                return
            self.shown = now
            done, total, current = self.state
            self.emit(f"planning: {done:,} of {total:,} targets done, now {current} "
                      f"({now - self.started:.0f} s)")

    def __enter__(self) -> PlanningProgress:
        self._thread = threading.Thread(target=self._run, name="batch-review-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(min(1.0, max(0.05, self.every))):
            self.tick()
