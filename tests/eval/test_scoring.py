"""Scoring is arithmetic on lines: exact fractions, the k-line window at its edges, severity thresholds, and
what a model's answer cannot make count (the old side, no line, a file its request did not show)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from batch_review.eval.record import Case, EvalRecord
from batch_review.eval.scoring import Scored, distance, score, score_case, score_record

BUGS = {"a.py": [10, 20], "b.py": [5]}


def f(path="a.py", line=10, *, start=None, side="RIGHT", severity="high", shown=True) -> Scored:
    return Scored(path, line, start, side, severity, "title", shown)


@pytest.mark.parametrize(("finding", "expected"), [
    (f(line=10), 0), (f(line=13), 3), (f(line=7), 3), (f(line=14), 4), (f(line=16), 4), (f(line=15), 5),
    (f(line=30, start=12), 0),  # a range spanning a bug line
    (f(line=9, start=2), 1), (f(line=26, start=24), 4),
    (f(line=12, start=30), 2),  # start after line: the line alone counts
    (f("b.py", 1), 4), (f("c.py", 10), None), (f(side="LEFT"), None), (f(line=None), None),
    (f(shown=False), None),
])
def test_distance_to_the_nearest_bug_line(finding, expected):
    assert distance(finding, BUGS) == expected


def test_within_k_lines_catches_and_k_plus_one_does_not():
    assert score_case("x", BUGS, [f(line=13)], near=3).caught_at == "high"
    assert score_case("x", BUGS, [f(line=14)], near=3).caught_at is None
    assert score_case("x", BUGS, [f(line=14)], near=4).caught_at == "high"
    assert score_case("x", BUGS, [f(line=11)], near=0).caught_at is None
    assert score_case("x", BUGS, [f(line=10)], near=0).caught_at == "high"


def test_a_guess_about_a_file_the_request_did_not_show_never_catches():
    """The attacker: an answer that names another request's file and its bug line exactly. poll would not
    place it on that file; the eval counts it as a finding, never as a catch."""
    case = score_case("x", BUGS, [f(line=10, shown=False)], near=3)
    assert case.caught_at is None and case.findings and case.hit == (False,)


def test_the_best_catch_decides_the_threshold():
    case = score_case("x", BUGS, [f(line=10, severity="low"), f(line=20, severity="critical"), f(line=90)], 3)
    assert case.caught_at == "critical" and case.catch.line == 20 and case.closest == 0


def test_exact_recall_precision_and_findings_per_case_by_threshold():
    cases = [
        ("one", BUGS, [f(line=10, severity="high"), f(line=90, severity="low")]),  # caught at high
        ("two", BUGS, [f("b.py", 6, severity="medium"), f(line=50, severity="critical")]),  # caught at medium
        ("three", BUGS, []),  # answered, found nothing
        ("four", BUGS, None),  # not answered: not counted anywhere
    ]
    s = score(cases, near=3)
    got = {r.threshold: (r.recall, r.per_case, r.precision, r.caught, r.cases, r.findings, r.on_bug_lines)
           for r in s.rows}
    assert got == {
        "info": (Fraction(2, 3), Fraction(4, 3), Fraction(1, 2), 2, 3, 4, 2),
        "low": (Fraction(2, 3), Fraction(4, 3), Fraction(1, 2), 2, 3, 4, 2),
        "medium": (Fraction(2, 3), Fraction(1), Fraction(2, 3), 2, 3, 3, 2),
        "high": (Fraction(1, 3), Fraction(2, 3), Fraction(1, 2), 1, 3, 2, 1),
        "critical": (Fraction(0), Fraction(1, 3), Fraction(0), 0, 3, 1, 0),
    }
    assert s.unanswered == ["four"]


def test_no_answers_and_no_findings_give_no_figure_rather_than_zero():
    s = score([("one", BUGS, None)], near=3)
    assert all(r.recall is None and r.precision is None and r.per_case is None for r in s.rows)
    silent = score([("one", BUGS, [])], near=3)
    assert all(r.recall == 0 and r.precision is None and r.per_case == 0 for r in silent.rows)


def test_scores_are_the_same_whatever_the_order_of_findings():
    findings = [f(line=10, severity="low"), f(line=20, severity="high"), f(line=90, severity="critical")]
    a = score([("x", BUGS, findings)], near=3)
    b = score([("x", BUGS, list(reversed(findings)))], near=3)
    assert a.rows == b.rows


def test_scored_from_model_json_keeps_only_usable_numbers():
    """A finding's fields are model text: a line that is not a positive whole number is no line."""
    for line in ("12", 0, -3, True, 1.5, None):
        assert Scored.from_json({"path": "a.py", "line": line}, ["a.py"]).line is None
    assert Scored.from_json({"path": "a.py", "line": 1}, ["a.py"]).line == 1
    got = Scored.from_json({"path": "a.py", "line": 7, "start_line": 5, "side": "RIGHT", "severity": "low"},
                           ["a.py"])
    assert (got.line, got.start_line, got.shown) == (7, 5, True)
    assert Scored.from_json({"path": "z.py", "line": 7}, ["a.py"]).shown is False


def _record(answers: dict[str, dict | None]) -> EvalRecord:
    """A collected record of one case per key, each with one request showing a.py; None: no answer."""
    shas = {key: key * 40 for key in answers}
    r = EvalRecord(name="t", repository="o/r", created_at="", tool="", head="f" * 40,
                   settings={"near": 3, "words": ["fix"], "rev": "HEAD", "since": "", "model": "m", "limit": None},
                   cases=[Case(sha, "e" * 40, 1, key, {"a.py": [10]}, ["d" * 40]) for key, sha in shas.items()],
                   requests={f"{key}:0": {"case": sha, "batch": 0, "model": "m", "files": ["a.py"],
                                          "est_input_tokens": 1, "max_output_tokens": 1} for key, sha in shas.items()})
    r.results = {"requests": {f"{key}:0": ({"status": "ok", "findings": [a]} if a else {"status": "error",
                                                                                   "findings": []})
                              for key, a in answers.items()}, "usage": {}}
    return r


def test_a_records_cases_are_each_scored_whatever_comes_before_them():
    hit = {"path": "a.py", "line": 11, "side": "RIGHT", "severity": "high"}
    record = _record({"a": None, "b": hit, "c": {**hit, "line": 40}, "d": hit})
    s = score_record(record)
    assert [c.answered for c in s.cases] == [False, True, True, True]
    assert [c.caught_at for c in s.cases] == [None, "high", None, "high"]
    only = score_record(record, only={"b" * 40, "d" * 40})
    assert [c.sha for c in only.cases] == ["b" * 40, "d" * 40]
    assert score_record(record, near=0).rows[0].caught == 0 and s.rows[0].caught == 2


def test_a_finding_about_a_file_its_request_did_not_show_counts_but_never_catches():
    record = _record({"a": {"path": "b.py", "line": 5, "side": "RIGHT", "severity": "high"}})
    record.cases[0].bug_lines = {"a.py": [10], "b.py": [5]}
    (case,) = score_record(record).cases
    assert case.findings and case.caught_at is None
