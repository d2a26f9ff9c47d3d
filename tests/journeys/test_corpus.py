"""The bad-input corpus: every file under tests/corpus/ is a case with its expected result beside it.

- config/*.yml: first line `# expect: <the one-line error after the file name>`.
- diffs/*.diff (real `git diff` output) + *.expect.json: path -> skip reason, or null when reviewed.
- answers/*.txt (model answers) + expect.json: status, findings kept, and where they land; "inert" answers
  must come out of composition with no live mention, hidden comment, fake marker or open fence.
- outputs/*.jsonl (batch output files, expected custom_ids "a" and "b") + expect.json: counts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from batch_review.config.models import load_config
from batch_review.core.diffs import CommentableLines, decode_diff, parse_diff
from batch_review.core.errors import ConfigError
from batch_review.findings.anchoring import place_findings, suggestion_block
from batch_review.findings.compose import TargetReport, inline_body, review_bodies
from batch_review.findings.results import parse_output_lines, result_of
from batch_review.markdown.check import check
from batch_review.planning.builder import RequestBuilder
from batch_review.planning.packing import FileItem

from ..markdown_view import find_markers, shows
from ..planning.test_packing import requests_of

CORPUS = Path(__file__).parent.parent / "corpus"


def cases(folder: str, pattern: str) -> list[Path]:
    return sorted((CORPUS / folder).glob(pattern))


@pytest.mark.parametrize("path", cases("config", "*.yml"), ids=lambda p: p.name)
def test_config_case(path):
    expected = path.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace").removeprefix("# expect: ")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    message = str(exc.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert message.endswith(expected), message


@pytest.mark.parametrize("path", cases("diffs", "*.diff"), ids=lambda p: p.name)
def test_diff_case(path):
    expected = json.loads(path.with_suffix(".expect.json").read_text())
    text, valid = decode_diff(path.read_bytes())
    files = {f.path: f for f in parse_diff(text, valid_utf8=valid)}
    assert set(files) == set(expected)
    builder = RequestBuilder(model="m", endpoint="/v1/chat/completions", instructions="Review.",
                             max_output_tokens=100, max_input_tokens=16000)
    for name, reason in expected.items():
        fd = files[name]
        got = fd.skip_reason()
        if got is None:
            specs, skipped = requests_of(lambda model: builder, "pr-1", [FileItem(0, fd, "m")], "", per_file=True)
            got = skipped[0][1] if skipped else None
            if got is None:  # reviewed: every added line reached a request, under its own number
                added = sum(1 for h in fd.hunks for ln in h if ln.line_type == "+")
                text = "".join(s.body["messages"][1]["content"] for s in specs)
                assert len(re.findall(r"^\d+\+", text, re.M)) == added
        assert got == reason, name


ANSWERS = json.loads((CORPUS / "answers" / "expect.json").read_text())
DIFF_LINES = {"app.py": CommentableLines(right=((1, 10),), left=((1, 10),))}


def answer_line(text: str) -> dict:
    body = {"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1}}
    return {"custom_id": "pr-1:0000:0", "response": {"status_code": 200, "body": body}, "error": None}


def assert_inert(text: str, leading: int = 0) -> None:
    """GitHub's parser finds nothing live in it: no comment but our leading ones, no mention, no
    reference, no raw HTML, no image, nothing left open (markdown_safety.check)."""
    visible_part = text.split("\n", leading)[leading] if leading else text
    assert "<!--" not in visible_part, "no hidden HTML comment"
    assert find_markers(visible_part) == [], "no marker but ours"
    assert check(text, leading=leading, links=("https://github.com/acme/widgets/blob/",
                                               "https://github.com/acme/widgets/pull/1/")) == []


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_answer_case(name):
    expected = ANSWERS[name]
    result = result_of("pr-1:0000:0", answer_line((CORPUS / "answers" / name).read_text()))
    assert result.status == expected["status"]
    assert len(result.findings) == expected["findings"]
    if "problem" in expected:
        assert expected["problem"] in (result.error_message or "")
    if "lines" in expected:
        assert [[f.start_line, f.line] for f in result.findings] == expected["lines"]
    if "severity" in expected:
        assert {f.severity for f in result.findings} == {expected["severity"]}
    placement = place_findings(list(result.findings), DIFF_LINES)
    if expected.get("placed") == "body":
        assert placement.inline == [] and len(placement.unplaced) == len(result.findings)
    report = TargetReport(key="pr-1", label="#1", repository="acme/widgets", head_sha="a" * 40, model="m",
                          inline=placement.inline, unplaced=placement.unplaced)
    bodies = review_bodies(report, "d" * 64)
    comments = [inline_body(c, suggestion_block(c)) for c in placement.inline]
    if expected.get("inert"):
        for body in bodies:
            assert find_markers(body) == [find_markers(body)[0]] and find_markers(body)[0].target == "pr-1"
            assert_inert(body, leading=1)
        for comment in comments:
            assert_inert(comment)
    for f in result.findings:  # nothing is lost: each finding's title is in a comment or the body
        assert any(shows(text, f.title) for text in bodies + comments), f.title


OUTPUTS = json.loads((CORPUS / "outputs" / "expect.json").read_text())


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_output_file_case(name):
    expected = OUTPUTS[name]
    parsed = parse_output_lines((CORPUS / "outputs" / name).read_text(), "", ["a", "b"])
    assert len(parsed.missing) == expected["missing"]
    assert len(parsed.duplicates) == expected["duplicates"]
    assert len(parsed.unknown_ids) == expected["unknown"]
    assert len(parsed.malformed_lines) == expected["malformed"]
    assert set(parsed.by_id) == {"a", "b"}, "every expected request has a result, even if it is an error"
    errors = sum(r.status == "error" for r in parsed.by_id.values())
    assert errors == expected.get("errors", 0)


def test_every_case_has_an_expectation():
    for path in cases("diffs", "*.diff"):
        assert path.with_suffix(".expect.json").exists(), path
    assert set(ANSWERS) == {p.name for p in cases("answers", "*.txt")}
    assert set(OUTPUTS) == {p.name for p in cases("outputs", "*.jsonl")}

