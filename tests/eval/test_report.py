"""The report: every piece of author or model text in it (commit subjects, paths, notes, finding titles)
renders as its own characters and nothing else; the plot is drawn when matplotlib is there, the same bytes
for the same scores, and its absence is said with the way to get it."""

from __future__ import annotations

import sys

import pytest

from batch_review.eval import report
from batch_review.eval.plot import MISSING
from batch_review.eval.record import Case, EvalRecord
from batch_review.eval.scoring import score_record
from batch_review.markdown.check import check

from ..markdown_view import visible
from .conftest import rendered_rows

ATTACK = ("@octo-org/admins see #2 acme/widgets#4 ![x](https://evil.test/p.png) <img src=x> "
          "[click](https://evil.test) <!-- hidden --> | cell | </td> **bold** www.evil.test")
SHA, PARENT, FIX = "a" * 40, "b" * 40, "c" * 40


def record(title: str = ATTACK, path: str = "src/a.py") -> EvalRecord:
    case = Case(SHA, PARENT, 1, f"Fix {ATTACK}", {path: [10]}, [FIX], key="branches-000000000000")
    r = EvalRecord(name="hostile", repository="acme/widgets", created_at="2026-01-01T00:00:00Z", tool="t",
                   head=SHA, settings={"words": ["fix"], "since": "2025-01-01", "limit": 5, "near": 3,
                                       "model": "gpt-5-mini"},
                   cases=[case], notes=[f"fix {FIX[:12]}: cannot blame {ATTACK} (git words); skipped"],
                   requests={"branches-000000000000:0000:0": {"case": SHA, "batch": 0, "model": "gpt-5-mini",
                                                              "files": [path], "est_input_tokens": 10,
                                                              "max_output_tokens": 10}},
                   estimate={"batch_usd": 0.01}, dry_run=False)
    r.results = {"requests": {"branches-000000000000:0000:0": {"status": "ok", "error": None, "findings": [
        {"path": path, "line": 11, "start_line": None, "side": "RIGHT", "severity": "high", "title": title}]}},
        "usage": {"gpt-5-mini": {"input_tokens": 10, "cached_input_tokens": 0, "output_tokens": 5, "batch_usd": 0.001}},
        "problems": [f"batch b: output line 3 unreadable: {ATTACK}"]}
    return r


def test_hostile_subjects_paths_notes_and_titles_render_inert(tmp_path):
    r = record(path=f"src/{ATTACK}.py")
    text = report.markdown(r, score_record(r), plot_skipped=MISSING)
    assert check(text) == []  # no mention, reference, link, image, raw HTML or comment is live
    shown = visible(text)
    assert f"cannot blame {' '.join(ATTACK.split())} (git words)" in shown
    assert f"output line 3 unreadable: {' '.join(ATTACK.split())}" in shown
    (case_row,) = [row for row in rendered_rows(text) if row and row[0] == SHA[:12]]
    assert case_row[1] == " ".join(f"Fix {ATTACK}".split())[:120] and case_row[4] == "high"
    assert len(case_row) == 8, "a pipe in a title or path adds no cell"


def test_the_plot_is_drawn_and_the_same_scores_give_the_same_bytes(tmp_path):
    pytest.importorskip("matplotlib")
    r = record()
    report.write(tmp_path, r, score_record(r))
    first = (tmp_path / "recall.png").read_bytes()
    assert first.startswith(b"\x89PNG") and "![Recall against the severity threshold](recall.png)" in \
        (tmp_path / "report.md").read_text()
    report.write(tmp_path, r, score_record(r))
    assert (tmp_path / "recall.png").read_bytes() == first


def test_without_matplotlib_the_report_says_the_plot_was_skipped_and_how_to_get_it(tmp_path, monkeypatch):
    r = record()
    (tmp_path / "recall.png").write_bytes(b"an old plot")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    report.write(tmp_path, r, score_record(r))
    text = (tmp_path / "report.md").read_text()
    assert "The plot was skipped: matplotlib is not installed; pip install 'batch-review[eval]' adds it." in \
        visible(text)
    assert "recall.png" not in text and not (tmp_path / "recall.png").exists(), "no stale plot beside the report"
