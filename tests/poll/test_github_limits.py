"""GitHub's size limits, at the limit and one over, through the real PyGithub client against the emulator:
what GitHub refuses (a review body or comment over 65,536 characters, a check run summary or text over
65,535, more than 50 annotations in one request: FACTS.md, the checks/create and pulls/create-review
descriptions) the emulator refuses too, and what we compose at the limit is accepted."""

from __future__ import annotations

import pytest

from batch_review.core.errors import GitHubError
from batch_review.core.markers import Marker
from batch_review.findings.anchoring import InlineComment
from batch_review.findings.body_fit import compose_checked
from batch_review.findings.compose import (
    ANNOTATIONS_PER_REQUEST,
    MAX_CHECK_TEXT,
    MAX_REVIEW_BODY,
    finding_heading,
    inline_body,
)
from batch_review.github.api import GitHubAPI
from tests.markdown.test_safety import hostile

from ..conftest import GITHUB_TOKEN

HEAD, BASE = "a" * 40, "b" * 40
DIFF = "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n x\n-y\n+z\n"
MARKER = Marker("pr-1", HEAD, "d" * 64, 1).html()


@pytest.fixture
def gh(github_emu, monkeypatch) -> GitHubAPI:
    monkeypatch.setenv("BATCH_REVIEW_WRITE_INTERVAL", "0")
    github_emu.add_pull(1, head_sha=HEAD, base_sha=BASE, diff=DIFF)
    return GitHubAPI(GITHUB_TOKEN, "acme/widgets", github_emu.api_url)


def review_of(text_length: int) -> str:
    """A review body under our marker, `text_length` characters long in all, composed and checked."""
    filler = "x" * (text_length - len(MARKER) - 1)
    return compose_checked([MARKER], lambda literal: [filler], MAX_REVIEW_BODY, ())


def test_a_review_body_of_65536_characters_is_accepted_and_65537_refused(gh, github_emu):
    exact = review_of(MAX_REVIEW_BODY)
    assert len(exact) == MAX_REVIEW_BODY and exact.startswith(MARKER + "\nxxx")
    review = gh.create_pending_review(1, HEAD, exact, [])
    gh.delete_pending_review(1, review.id)
    with pytest.raises(GitHubError, match="HTTP 422 .*Body is too long") as err:
        gh.create_pending_review(1, HEAD, exact + "x", [])
    assert err.value.status == 422
    # composing one character more than fits: cut to the limit, with a note, and accepted
    cut = review_of(MAX_REVIEW_BODY + 1)
    assert len(cut) <= MAX_REVIEW_BODY and cut.startswith(MARKER + "\n") and "characters cut" in cut
    gh.create_pending_review(1, HEAD, cut, [])
    assert [r["body"] for r in github_emu._reviews[1]] == [cut]


def test_an_inline_comment_of_65536_characters_is_accepted_and_65537_refused(gh):
    head = finding_heading(hostile())
    exact = inline_body(InlineComment("app.py", 2, "RIGHT", None, hostile(body="w" * (MAX_REVIEW_BODY - len(head) - 2)),
                                      False), None)
    assert len(exact) == MAX_REVIEW_BODY
    review = gh.create_pending_review(1, HEAD, "b", [{"path": "app.py", "line": 2, "side": "RIGHT", "body": exact}])
    gh.delete_pending_review(1, review.id)
    with pytest.raises(GitHubError, match="HTTP 422 .*Body is too long"):
        gh.create_pending_review(1, HEAD, "b", [{"path": "app.py", "line": 2, "side": "RIGHT", "body": exact + "w"}])


def test_check_run_text_at_65535_and_annotations_at_50_per_request(gh, github_emu):
    annotation = {"path": "app.py", "start_line": 2, "end_line": 2, "annotation_level": "warning", "message": "m"}
    text = compose_checked([], lambda literal: ["t" * MAX_CHECK_TEXT], MAX_CHECK_TEXT, ())
    assert len(text) == MAX_CHECK_TEXT and ANNOTATIONS_PER_REQUEST == 50
    output = {"title": "t", "summary": text, "text": text, "annotations": [annotation] * 50}
    run = gh.create_check_run(name="batch-review", head_sha=HEAD, external_id="x", output=output, conclusion=None)
    gh.update_check_run(run, output={"title": "t", "summary": "s", "annotations": [annotation] * 50})
    assert github_emu._check_runs[-1]["output"]["annotations_count"] == 100
    for key in ("summary", "text"):  # the description says maxLength 65535: refused by validation
        with pytest.raises(GitHubError, match="HTTP 422"):
            gh.update_check_run(run, output={"title": "t", "summary": "s", key: text + "t"})
    with pytest.raises(GitHubError, match="HTTP 422"):
        gh.update_check_run(run, output={"title": "t", "summary": "s", "annotations": [annotation] * 51})
    with pytest.raises(GitHubError, match="HTTP 422"):
        gh.create_check_run(name="batch-review", head_sha=HEAD, external_id="y", conclusion=None,
                            output={"title": "t", "summary": "s", "annotations": [annotation] * 51})
    assert github_emu._check_runs[-1]["output"]["annotations_count"] == 100  # nothing half-done
