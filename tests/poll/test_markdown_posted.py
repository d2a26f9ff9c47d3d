"""Hostile model text end to end: the real CLI posts through PyGithub to the GitHub emulator, and what the
emulator received is rendered with cmark-gfm (GitHub's parser) and searched the way GitHub's filters do.
Then the caps of issue 11: what a cap leaves out is said on the pull request, with counts."""

from __future__ import annotations

import pytest

from batch_review.core.markers import read_finding
from batch_review.markdown import safety as ms
from batch_review.markdown.check import check
from tests.markdown.test_safety import PULL, assert_inert, headings

from ..conftest import finding
from ..emulators.openai_emu import chat_completion
from ..markdown_view import find_markers, shows

PLANTED = "<!-- batch-review:v1 target=pr-1 head=1234567abc manifest=0123456789abcdef part=1 -->"
ATTACK = ("``` a`b\nnot a fence\n```\n@admin .@admin x/@acme/team #1 acme/other#5 GH-3 "
          "https://github.com/acme/other/issues/9 ![](https://evil.test/p.png) <img src=https://evil.test/q.png>"
          f"\n\n[r]: https://evil.test/hidden\n\n{PLANTED}\n<details><summary>fold</summary>\n\n")
BLOB = "https://github.com/acme/widgets/blob/"


def configure(world, text: str) -> None:
    (world.repo.path / ".github").mkdir(exist_ok=True)
    (world.repo.path / ".github" / "batch-review.yml").write_text(text)


def test_hostile_text_in_every_model_field_is_posted_inert(world):
    """Issue 10, each markdown case at once: fence tricks, unclosed <details>, every mention form,
    issue references, images, link-reference definitions, planted markers, a heading in a title; in
    titles, bodies, categories, suggestions, paths and raw answers. Mode both: review and check run."""
    configure(world, "output:\n  mode: both\nrequest_unit: file\n")  # an answer per file
    world.answer_with({
        "app.py": [
            finding("app.py", 2, title="inline\n# heading " + ATTACK, body=ATTACK, suggestion="    return 1 @admin",
                    category="@admin #2"),
            finding("app.py", 40, title="outside " + ATTACK, body=ATTACK, suggestion=PLANTED + "\n```"),
            finding("app.py", 41, title="after the attack", body="must stay visible", severity="low"),
        ],
        "util.py": f"not json ````\n@admin #1 https://github.com/acme/other/issues/9\n{PLANTED}\n<details>\n~~~",
    })
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    body = review["body"]
    assert [m.head for m in find_markers(body)] == [world.pulls[1]]
    rendered = assert_inert(body, leading=2)
    assert check(body, leading=2, links=(BLOB, PULL)) == []
    found = headings(rendered)  # the finding on line 40 (a high) first, then the low one: each its own block
    assert len(found) == 2 and "outside" in found[0] and "after the attack" in found[1]
    assert "must stay visible</p>" in rendered
    assert shows(body, "not json ```` @admin #1")  # the raw answer is there, literally
    for comment in review["comments"]:  # the one hidden line: the finding's fingerprint (issue 20)
        assert_inert(comment["body"], leading=1)
        assert find_markers(comment["body"]) == [] and read_finding(comment["body"]) in review["body"]
    (run,) = world.github.check_runs()
    for part in ("summary", "text"):
        assert_inert(run["output"][part], leading=0)


def test_an_answer_cut_off_at_the_token_limit_says_so_on_the_pull_request(world):
    """Issue 11: finish_reason "length" with complete findings salvaged still says findings may be missing."""
    answer = '{"findings": [' + ", ".join(
        f'{{"path": "app.py", "line": 2, "severity": "high", "title": "t{i}", "body": "b"}}' for i in range(2)) + ", {"
    configure(world, "request_unit: file\n")  # app.py's request on its own
    world.answer_with({"app.py": (200, chat_completion(answer, finish_reason="length"))})
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    assert len(review["comments"]) == 2
    assert shows(review["body"], "app.py: the answer hit max_output_tokens; findings may be missing")


@pytest.mark.parametrize("count", [50, 51])
def test_findings_at_the_per_answer_cap_and_one_over(world, count):
    """Issue 11: the 51st finding of one answer is cut (the most severe kept) and the review says so."""
    world.answer_with({"app.py": [finding("app.py", 40 + i % 3, title=f"f{i}", severity="low") for i in range(count)]})
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    said = shows(review["body"], "1 more finding not shown (at most 50 per request, the most severe kept)")
    assert said == (count == 51)
    assert shows(review["body"], "batch-review: 50 findings")


@pytest.mark.parametrize("count", [50, 51])
def test_annotations_at_50_and_51_all_arrive(world, count):
    """GitHub takes at most 50 annotations a request: 50 go with the creation, the 51st is appended."""
    configure(world, "output:\n  mode: check\nrequest_unit: file\n")  # at most 50 findings per request
    world.answer_with({"app.py": [finding("app.py", 1 + i % 8, title=f"a{i}") for i in range(26)],
                       "util.py": [finding("util.py", 4 + i % 4, title=f"u{i}") for i in range(count - 26)]})
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    (run,) = world.github.check_runs()
    assert run["output"]["annotations_count"] == count and run["status"] == "completed"
    writes = world.github.requests("POST", "/check-runs$") + world.github.requests("PATCH", "/check-runs/")
    assert len(writes) == (1 if count == 50 else 3)


def test_more_inline_findings_than_the_cap_are_counted_and_listed_in_the_review(world):
    """Issue 11: 30 inline comments at most; the review says how many went into the body instead."""
    world.answer_with({"app.py": [finding("app.py", 1 + i % 8, title=f"f{i}") for i in range(35)]})
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    assert len(review["comments"]) == 30
    assert shows(review["body"], "5 findings over the limit of 30 inline comments per review: listed above instead")
    assert len(headings(ms.render(review["body"]))) == 5
