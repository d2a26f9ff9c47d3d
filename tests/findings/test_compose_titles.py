"""Check-run annotation titles at GitHub's limit: 255 characters (the check runs API's annotations[].title).

A title over the limit makes GitHub refuse the whole check-run request (422), so every finding of the
pull request goes unposted. The title is the model's (prompt-injectable) text behind our severity label;
neutralizing it (breaking @mentions and #references with an invisible joiner) makes it longer, so the
limit must hold after neutralizing, not only before.
"""

from __future__ import annotations

import pytest

from batch_review.core.vocabulary import Finding
from batch_review.findings.anchoring import InlineComment
from batch_review.findings.answers import MAX_TITLE
from batch_review.findings.compose import annotation

from ..conftest import finding as answer_item

LIMIT = 255


def _title(title: str, severity: str = "critical") -> str:
    f = Finding("c", "a.py", 2, None, "RIGHT", severity, "bug", title, "body", None)
    return annotation(InlineComment("a.py", 2, "RIGHT", None, f, False))["title"]


def test_a_title_exactly_at_the_limit_is_kept_whole():
    prefix = _title("x")[:-1]  # the severity label and its separator
    title = "t" * (LIMIT - len(prefix))
    assert _title(title) == prefix + title and len(_title(title)) == LIMIT


def test_a_title_one_over_the_limit_is_clipped_to_it_and_marked():
    prefix = _title("x")[:-1]
    out = _title("t" * (LIMIT - len(prefix) + 1))
    assert len(out) == LIMIT and out.endswith("…") and out.startswith(prefix + "ttt")


@pytest.mark.parametrize("unit", ["@a ", "#1 ", "a/b#1 ", "@o/t ", "<!--batch-review ", "GH-1 "])
def test_a_title_that_neutralizing_lengthens_still_fits(unit):
    """Every mention or reference gets an invisible joiner: 200 characters of them grow past 255."""
    title = (unit * 200)[:MAX_TITLE]
    out = _title(title)
    assert len(out) <= LIMIT
    assert "\u2060" in out and unit.strip() not in out  # still neutralized


def test_the_check_run_is_posted_when_every_title_is_hostile_and_as_long_as_allowed(world):
    """End to end: the model answers titles of @mentions as long as results.py keeps, on critical
    findings; the emulator, like GitHub, refuses an annotation title over 255 characters."""
    (world.repo.path / ".github").mkdir()
    (world.repo.path / ".github" / "batch-review.yml").write_text("output:\n  mode: check\n")
    titles = [("@a " * 100)[:MAX_TITLE], "#1 " * 100, "x" * 10_000]
    world.answer_with({"app.py": [answer_item("app.py", 2 + i, title=t, severity="critical")
                                  for i, t in enumerate(titles)]})
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    (run,) = world.github.check_runs()
    assert run["output"]["annotations_count"] == 3
    sent = [a for r in world.github.requests("POST", "/check-runs$") + world.github.requests("PATCH", "/check-runs/")
            for a in (r.json.get("output") or {}).get("annotations") or []]
    assert len(sent) == 3 and all(len(a["title"]) <= LIMIT for a in sent)
    assert all("@a " not in a["title"] for a in sent)
