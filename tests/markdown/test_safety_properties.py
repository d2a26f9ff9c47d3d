"""Property tests (Hypothesis): for ANY model text built from the characters markdown and GitHub's filters
react to, the composed review body, inline comment and check run output, rendered by cmark-gfm, keep
each finding inside its own block, carry no mention, reference, image, raw HTML or foreign marker, and
stay within GitHub's limits."""

from __future__ import annotations

import os
import re
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batch_review.core.markers import read_fingerprints as find_fingerprints
from batch_review.core.vocabulary import Finding
from batch_review.findings.anchoring import InlineComment, suggestion_block
from batch_review.findings.compose import (
    MAX_ANNOTATION_TITLE,
    MAX_CHECK_TEXT,
    MAX_REVIEW_BODY,
    check_output,
    inline_body,
    review_body,
)
from batch_review.markdown import safety as ms
from batch_review.markdown.check import check
from tests.markdown.test_safety import BLOB, DIGEST, assert_inert, headings, report_of

from ..markdown_view import find_markers

TOKENS = ["`", "```", "~~~", "<", ">", "@", "#", "!", "[", "]", "(", ")", "\n", "\n\n", "-->", "<!--", " ",
          "    ", "a", "x1", "7", ":", "//", "*", "_", "|", "\\", "&", "-", "=", ".", "/", "details", "img ",
          "https://", "www.", "batch-review:v1 ", "GH-", "octocat", "<details>", "</details>", "![", "](",
          "]:", "- ", "1. ", "> ", "# ", "\t", "\u2060", "é",
          "&#64;", "&#35;1", "&lt;!--", "\ud800", "\r\n", "\x00", "\u202e", "```suggestion\n", "```math\n"]
text = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)
SEVERITIES = st.sampled_from(["critical", "high", "medium", "low", "info"])


@st.composite
def findings(draw) -> Finding:
    return Finding("pr-1:0000:0", draw(text) or "p", draw(st.none() | st.integers(1, 500)), None,
                   draw(st.sampled_from(["RIGHT", "LEFT"])), draw(SEVERITIES), draw(text), draw(text),
                   draw(text), draw(st.none() | text.map(_as_read)))


def _as_read(suggestion: str) -> str:
    """A suggestion as results.py hands it on: a lone surrogate replaced (it has no UTF-8 form), nothing
    else changed (the suggestion block shows the code exactly)."""
    return suggestion.replace("\ud800", "\ufffd")


FAST = settings(max_examples=int(os.environ.get("MD_PROPERTY_EXAMPLES", "50")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.lists(findings(), min_size=1, max_size=4), st.lists(st.tuples(text, text, text), max_size=2))
def test_any_model_text_composes_to_an_inert_review_body(found, unparsable):
    report = report_of(*found, unparsable=unparsable, fingerprints=["0123456789abcdef"])
    body = review_body(report, DIGEST)
    assert len(body) <= MAX_REVIEW_BODY
    assert body.startswith("<!-- batch-review:v1 target=pr-1 ") and body.split("\n")[1].startswith(
        "<!-- batch-review:fingerprints ")
    assert [m.head for m in find_markers(body)] == ["a" * 40]
    assert find_fingerprints(body) == {"0123456789abcdef"}
    rendered = assert_inert(body, leading=2)
    assert len(headings(rendered)) == len(found), "each finding opens its own top-level block"
    assert check(body, leading=2, links=(BLOB,)) == []


@FAST
@given(findings())
def test_any_model_text_composes_to_an_inert_inline_comment(f):
    f = replace(f, line=7, side="RIGHT")  # on the commented line, so a suggestion applies
    comment = InlineComment("app.py", 7, "RIGHT", None, f, True)
    out = inline_body(comment, suggestion_block(comment))
    assert len(out) <= MAX_REVIEW_BODY and find_markers(out) == []
    assert_inert(out, leading=0)
    assert check(out) == []
    if f.suggestion and f.suggestion.strip():  # the suggestion stays exactly as written
        assert suggestion_block(comment) in out


@FAST
@given(st.lists(findings(), min_size=1, max_size=3))
def test_any_model_text_gives_an_inert_check_run(found):
    inline = [InlineComment("app.py", i + 1, f.side, None, f, False) for i, f in enumerate(found)]
    output, annotations = check_output(report_of(*found, inline=inline))
    for part in ("summary", "text"):
        if part in output:
            assert len(output[part]) <= MAX_CHECK_TEXT
            assert_inert(output[part], leading=0)
    for ann in annotations:
        assert len(ann["title"]) <= MAX_ANNOTATION_TITLE and "\n" not in ann["title"]
        assert not re.search(r"(?:^|[^a-zA-Z0-9_`])@[a-z0-9]", ann["title"] + ann["message"], re.I)


@FAST
@given(text)
def test_inline_text_is_one_line_and_inert(t):
    out = ms.inline(t)
    assert "\n" not in out
    assert_inert(out, leading=0)
