"""present.py's pure helpers: what the log shows for a night of hundreds of pull requests."""

from __future__ import annotations

import types

from batch_review.cli.present import BATCH_HEADERS
from batch_review.cli.present_poll import _finished, _targets, stop_line


def test_a_batch_of_hundreds_of_targets_is_one_short_cell():
    cell = _targets(", ".join(f"#{i}" for i in range(1, 301)))
    assert cell.startswith("#1, #2, ") and cell.endswith("… (300 targets)") and len(cell) <= 60
    assert _targets("#1, #2") == "#1, #2"
    assert _targets("x" * 100) == "x" * 59 + "…"


def test_a_stopped_poll_says_posted_left_why_and_when():
    result = types.SimpleNamespace(posted_targets=250, ready_targets=300, pending_reviews=50,
                                   stop=types.SimpleNamespace(resume_at=1_800_003_600.0, why="500 writes an hour"))
    line = stop_line(result)
    assert line.startswith("posted 250 of 300 finished targets; 50 left for the next poll")
    assert "after 2027-01-15 09:00 UTC" in line and "(500 writes an hour)" in line
    result.stop.resume_at = None
    assert "continue at the next poll" in stop_line(result)


def _row(status: str, **kw) -> types.SimpleNamespace:
    fields = dict(batch_id="batch_1", created_at=1_800_000_000, expires_at=None, ended_at=None) | kw
    return types.SimpleNamespace(status=status, **fields)


def test_the_finished_column_is_when_a_batch_finished_or_the_latest_it_can():
    """Issue 22: "latest completion" showed the expiry time of batches long finished."""
    assert BATCH_HEADERS[-1] == "finished"
    assert _finished(_row("completed", expires_at=1_800_086_400, ended_at=1_800_003_600)) == "2027-01-15 09:00 UTC"
    assert _finished(_row("in_progress", expires_at=1_800_086_400)) == "by 2027-01-16 08:00 UTC"
    assert _finished(_row("validating")) == "by 2027-01-16 08:00 UTC"  # no expiry yet: created + 24 hours
    assert _finished(_row("not created", batch_id="-", created_at=None)) == "-"
    assert _finished(_row("completed")) == "?"  # finished, the service did not say when
