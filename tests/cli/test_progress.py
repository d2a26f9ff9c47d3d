"""progress.PlanningProgress: by the clock, not per target; nothing for a quick run; a summary at the end.

A fake clock drives it, so no test waits or times anything.
"""

from __future__ import annotations

from batch_review.cli.progress import PlanningProgress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def tracker(every: float = 5.0):
    clock, lines = Clock(), []
    return PlanningProgress(every=every, clock=clock, emit=lines.append), clock, lines


def test_a_quick_run_shows_only_the_summary():
    progress, clock, lines = tracker()
    for done in range(40):
        progress.update(done, 40, f"#{done}")
        clock.now += 0.1  # 40 targets in 4 s
        progress.tick()
    progress.update(40, 40, "")
    assert lines == ["planned 40 targets in 4.0 s"]


def test_lines_come_by_the_clock_not_per_target():
    progress, clock, lines = tracker()
    for done in range(300):
        progress.update(done, 300, f"#{done}")
        clock.now += 0.125  # 300 targets in 37.5 s: a line every 5 s, not 300
    progress.update(300, 300, "")
    shown = [line for line in lines if line.startswith("planning:")]
    assert shown == [f"planning: {n} of 300 targets done, now #{n} ({n // 8} s)" for n in range(40, 300, 40)]
    assert lines[-1] == "planned 300 targets in 37.5 s"


def test_one_long_target_is_reported_by_the_ticker():
    """A single large target: no update arrives while it is planned; the ticker (the thread's job) still
    shows where it stands every few seconds."""
    progress, clock, lines = tracker()
    progress.update(0, 1, "main...feature")
    for _ in range(12):
        clock.now += 1.0
        progress.tick()
    assert lines == ["planning: 0 of 1 targets done, now main...feature (5 s)",
                     "planning: 0 of 1 targets done, now main...feature (10 s)"]
    progress.update(1, 1, "")
    clock.now += 60
    progress.tick()  # planning is over: nothing more
    assert lines[-1] == "planned 1 target in 12.0 s" and len(lines) == 3


def test_no_targets_no_lines():
    progress, clock, lines = tracker()
    progress.update(0, 0, "")
    clock.now += 60
    progress.tick()
    assert lines == []


def test_the_thread_starts_and_stops_with_the_block():
    progress, _, lines = tracker(every=0.0)
    with progress:
        assert progress._thread.is_alive()
        progress.update(0, 2, "#1")  # every 0: each tick shows
    assert not progress._thread.is_alive()
    assert lines and lines[0] == "planning: 0 of 2 targets done, now #1 (0 s)"
