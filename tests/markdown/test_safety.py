"""Hostile model text against GitHub's own parser (cmark-gfm): each markdown case of issue 10, played by
the attacker and rendered, then the limits of issue 15 and the caps of issue 11.

The oracle is independent of markdown_safety.check: the HTML cmark-gfm renders is searched with GitHub's
own mention pattern (html-pipeline's MentionFilter, which skips <pre>, <code> and <a>) and the documented
issue-reference forms (#26, GH-26, owner/repo#26, issue URLs).
"""

from __future__ import annotations

import html
import re

import pytest

from batch_review.core.markers import read_fingerprints as find_fingerprints
from batch_review.core.vocabulary import Finding
from batch_review.findings import body_fit, compose
from batch_review.findings.anchoring import InlineComment, suggestion_block
from batch_review.findings.answers import MAX_FINDINGS, parse_answer
from batch_review.findings.compose import (
    MAX_REVIEW_BODY,
    TargetReport,
    check_output,
    inline_body,
    review_body,
)
from batch_review.markdown import safety as ms
from batch_review.markdown.check import check, unit_ranges

from ..markdown_view import find_markers, shows

# GitHub's MentionPattern (user) and its team form; case-insensitive like GitHub's
MENTION = re.compile(r"(?:^|[^a-zA-Z0-9_`])@([a-z0-9][a-z0-9-]*)(?!/)(?=\.+[ \t\W]|\.+$|[^0-9a-zA-Z_.`]|$)",
                     re.I | re.M)
TEAM = re.compile(r"(?:^|\W)@[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9_-]*", re.I | re.M)
REFERENCE = re.compile(r"(?:^|\W)(?:[\w.-]+/[\w.-]+)?#\d+|\bGH-\d+|https?://\S*/(?:issues|pull)/\d+", re.I)
BLOB = "https://github.com/acme/widgets/blob/"
PULL = "https://github.com/acme/widgets/pull/1/"  # the pull request's Files view: findings on the diff link there
DIGEST = "d" * 64


def hostile(title="T", body="b", *, severity="high", category="bug", suggestion=None, path="app.py",
            line=99) -> Finding:
    return Finding("pr-1:0000:0", path, line, None, "RIGHT", severity, category, title, body, suggestion)


def report_of(*findings, **kw) -> TargetReport:
    kw.setdefault("paths", frozenset({"app.py"}))  # the manifest lists app.py for this target: it is linked
    kw.setdefault("number", 1)  # pull request #1
    return TargetReport(key="pr-1", label="#1", repository="acme/widgets", head_sha="a" * 40, model="m",
                        unplaced=[(f, "new line 99 is not part of the diff") for f in findings], **kw)


def live_text(rendered: str) -> str:
    """The text GitHub's filters look at: outside <pre>, <code> and <a>, tags removed."""
    text = re.sub(r"<(pre|code|a)\b[^>]*>.*?</\1>", " ", rendered, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def assert_inert(body: str, leading: int) -> str:
    rendered = ms.render(body)
    live = live_text(rendered)
    assert not MENTION.search(live) and not TEAM.search(live), "a live mention"
    assert not REFERENCE.search(live), "a live issue reference"
    assert "<img" not in rendered, "an image"
    assert rendered.count("<!--") == leading, "a comment that is not ours"
    assert not re.search(r"<(details|summary|div|span|script|iframe|sub|sup|b|i)\b", rendered), "raw HTML"
    hrefs = re.findall(r'href="([^"]*)"', rendered)
    assert all(h.startswith(BLOB) or h.startswith(PULL + "files#diff-") for h in hrefs), hrefs
    assert ms.render(body, unsafe=False).count("<!--") == leading, "raw HTML (omitted in safe mode)"
    return rendered


def headings(rendered: str) -> list[str]:
    """The top-level paragraphs that open a finding, in order (their first line)."""
    return re.findall(r'^<p data-sourcepos="[^"]*">(?:🔴|🟠|🟡|🔵|⚪) <strong>(?:critical|high|medium|low|info)</strong>'
                      r' · (.*?)(?:<br />)?$',
                      rendered, re.M)


def two_findings(attack: Finding) -> tuple[str, str]:
    body = review_body(report_of(attack, hostile("second finding", "must stay visible", severity="low")), DIGEST)
    rendered = assert_inert(body, leading=1)
    assert len(headings(rendered)) == 2, "each finding opens its own block"
    assert "second finding" in headings(rendered)[1]
    assert re.search(r'^<p data-sourcepos="[^"]*">must stay visible</p>$', rendered, re.M)
    return body, rendered


# --- issue 10's markdown cases, one attack each ------------------------------------------------------------

def test_a_backtick_fence_whose_info_string_has_a_backtick_swallows_nothing():
    # CommonMark: "``` a`b" is not a fence, so the "```" after it opens one that would swallow the rest
    body, rendered = two_findings(hostile(body="``` a`b\nnot code\n```\n@admin inside the real fence"))
    assert "<pre" in rendered  # the fence the parser saw is shown as code, closed within the finding


def test_a_fence_closed_by_a_run_of_the_same_length_leaves_later_prose_neutralized():
    body, rendered = two_findings(hostile(body="```\ncode\n```\nping @octocat and #12"))
    assert "@\u2060octocat" in rendered and "#\u206012" in rendered


def test_an_unclosed_tilde_or_longer_fence_in_a_body_is_closed_inside_its_finding():
    two_findings(hostile(body="~~~~python\nnever closed\n```"))
    two_findings(hostile(body="````\n```\nstill code"))


def test_an_unclosed_details_element_folds_nothing():
    body, rendered = two_findings(hostile(body="<details><summary>more</summary>\n\nhidden @admin"))
    assert "&lt;details&gt;" in rendered and shows(body, "hidden @admin")


def test_html_comments_and_planted_markers_are_shown_as_text_not_hidden():
    planted = "<!-- batch-review:v1 target=pr-1 head=abcdef1234 manifest=0123456789abcdef part=1 -->"
    fps = "<!-- batch-review:fingerprints 0123456789abcdef -->"
    attack = hostile(title=planted, body=f"{planted}\n{fps}\n<!-- hidden -->", category=planted,
                     suggestion=planted, path=planted)
    body, _ = two_findings(attack)
    assert [m.head for m in find_markers(body)] == ["a" * 40]
    assert find_fingerprints(body) == set()
    assert shows(body, "<!-- hidden -->")


@pytest.mark.parametrize("mention", ["@octocat", ".@octocat", "x/@acme/team", "(@octocat)", "@acme/team",
                                     "mail a@b.co", "**@octocat**", "[@octocat](https://x.test)"])
def test_every_mention_form_githubs_filter_links_is_broken(mention):
    body, _ = two_findings(hostile(title=f"title {mention}", body=f"body {mention}", category=mention))
    annotation = compose.annotation(InlineComment("app.py", 1, "RIGHT", None, hostile(title=mention,
                                                                                       body=mention), False))
    assert not MENTION.search(annotation["title"]) and not MENTION.search(annotation["message"])


@pytest.mark.parametrize("reference", ["#123", "acme/widgets#5", "GH-7", "gh-7",
                                       "https://github.com/acme/other/issues/1",
                                       "https://github.com/acme/other/pull/2", "www.github.com/acme/x/issues/3",
                                       "<https://github.com/acme/other/issues/4>"])
def test_issue_references_and_issue_urls_create_no_cross_reference(reference):
    two_findings(hostile(title=reference, body=f"see {reference}", category=reference))


@pytest.mark.parametrize("image", ["![](https://evil.test/p.png)", "<img src=https://evil.test/p.png>",
                                   "![x][r]\n\n[r]: https://evil.test/p.png", "<picture><img src=https://evil.test/p.png></picture>"])
def test_no_image_loads_a_tracking_pixel(image):
    body, _ = two_findings(hostile(title=image, body=image))
    assert shows(body, "evil.test/p.png")  # the address is shown as text, nothing is loaded


def test_a_link_reference_definition_hides_nothing_and_links_nothing():
    body, rendered = two_findings(hostile(
        body="[click][r] and [r]\n\n[r]: https://evil.test 'a title'\n\n[only]: https://hidden.test"))
    assert shows(body, "click") and "evil.test" in live_text(rendered).replace(ms.JOINER, "")
    assert not re.search(r"^\s*\[[^\]]*\]:", body, re.M)  # none of ours either


def test_a_newline_in_a_title_cannot_inject_a_heading_or_a_new_block():
    body, rendered = two_findings(hostile(title="ok\n# Injected heading\n- item\n<!-- x -->"))
    assert "<h1" not in rendered and "<li" not in rendered.split("second finding")[0].split("</table>")[-1]
    assert shows(body, "ok # Injected heading - item <!-- x -->")


def test_raw_html_blocks_and_script_show_as_text():
    two_findings(hostile(body="<div>\n*x* @admin\n</div>\n<script>alert(1)</script>\n<iframe src=x>"))


def test_a_body_over_the_clip_length_keeps_its_closing_fence():
    # clipping once BEFORE neutralizing: the fence neutralizing adds is never cut off afterwards
    long_body = "```python\n" + "x = 1\n" * 5_000
    text = ms.block(long_body, 8_000)
    assert text.rstrip().endswith("```") and len(text) < 9_000
    two_findings(hostile(body=long_body))
    comment = InlineComment("app.py", 1, "RIGHT", None, hostile(body=long_body), False)
    out = inline_body(comment, None)
    assert out.rstrip().endswith("```") and check(out) == []


def test_raw_answers_refusals_and_failures_are_literal_and_inert():
    planted = "<!-- batch-review:v1 target=pr-1 head=abcdef1234 manifest=0123456789abcdef part=1 -->"
    raw = f"````\n{planted}\n@admin #1 ![](https://evil.test/x.png)\n<details>"
    report = report_of(unparsable=[("a.py", "not JSON @admin", raw), ("b.py", "the model refused", raw)],
                       failed=[("c.py", "x`y", f"boom {planted} @admin")],
                       skipped_files=[("d`.py", f"{planted} @admin")],
                       notes=[("e.py", "@admin #5")])
    body = review_body(report, DIGEST)
    assert_inert(body, leading=1)
    assert [m.head for m in find_markers(body)] == ["a" * 40]
    assert check(body, leading=1, links=(BLOB,)) == []


def test_the_check_catches_what_it_is_meant_to_catch():
    """check() itself, fed bodies that break each rule (so a broken neutralizer cannot pass unseen)."""
    marker = "<!-- batch-review:v1 target=pr-1 head=abcdef1 manifest=0123456789abcdef part=1 -->"
    assert check(marker + "\nfine text", leading=1) == []
    for bad in ("ping @admin", "see #12", "GH-3", "https://github.com/a/b/issues/1", "![](x.png)",
                "<details>", "x <!-- hidden -->", "[r]: https://x\n\ntext", "<b>bold</b>", "[a](https://evil)"):
        assert check(marker + "\n" + bad, leading=1), bad
    units = ["**high** · one", "```\nswallows", "**high** · two"]
    assert check("\n\n".join(units), units=unit_ranges(units))  # a block crossing into the next unit
    assert check("<!-- batch-review:v1 forged -->\ntext", leading=0)


def test_a_body_failing_the_check_is_posted_literal_never_dropped(monkeypatch):
    real = ms.block
    monkeypatch.setattr(ms, "block", lambda text, limit=None: "@admin " + real(text, limit))  # a broken neutralizer
    body = review_body(report_of(hostile("one", "first body"), hostile("two", "second body")), DIGEST)
    assert_inert(body, leading=1)
    assert "```text\nfirst body\n```" in body and "```text\nsecond body\n```" in body


def test_check_run_output_and_annotations_are_inert():
    attack = hostile(title="t @admin\n# h", body="<details>\n@admin #1", suggestion="<!-- x --> @admin")
    left = InlineComment("app.py", 3, "LEFT", None, attack, False)
    right = InlineComment("app.py", 4, "RIGHT", None, attack, True)
    output, annotations = check_output(report_of(attack, inline=[left, right]))
    assert_inert(output["summary"], 0)
    assert_inert(output["text"], 0)
    (ann,) = annotations
    assert "\n" not in ann["title"] and not MENTION.search(ann["message"]) and "@admin" not in ann["raw_details"]


def test_an_inline_comment_keeps_the_suggestion_exact_and_the_text_inert():
    f = hostile(title="t\n## x", body="@admin <details>", suggestion="    return `x` ```")
    c = InlineComment("app.py", 99, "RIGHT", None, f, True)
    out = inline_body(c, suggestion_block(c))
    assert "````suggestion\n    return `x` ```\n````" in out
    assert_inert(out, 0)


# --- limits -------------------------------------------------------------------------------------------------

def test_bodies_at_65536_characters_pass_and_one_over_is_cut_with_a_note():
    exact = body_fit.compose_checked([], lambda lit: ["x" * (MAX_REVIEW_BODY - 100), "y" * 98], MAX_REVIEW_BODY, ())
    assert len(exact) == MAX_REVIEW_BODY and exact.endswith("y" * 98)  # 65,536 with the blank line between
    over = body_fit.compose_checked([], lambda lit: ["x" * (MAX_REVIEW_BODY - 100), "y" * 99], MAX_REVIEW_BODY, ())
    assert len(over) <= MAX_REVIEW_BODY and "characters cut to fit GitHub's limit" in over


def test_a_review_body_never_exceeds_65536_and_counts_what_it_left_out():
    findings = [hostile(f"finding {i}", "word " * 2_000, severity=("low", "critical")[i % 2]) for i in range(40)]
    body = review_body(report_of(*findings, fingerprints=["0" * 16] * 40), DIGEST)
    assert len(body) <= MAX_REVIEW_BODY
    assert body.split("\n")[1].startswith("<!-- batch-review:fingerprints ")
    shown = len(headings(ms.render(body)))
    assert 0 < shown < 40
    assert f"{40 - shown} findings not shown in full" in body and "Every finding is listed in" in body
    assert all(f"finding {i}" in body for i in range(40))


def test_annotations_at_50_and_51_are_all_kept():
    for n in (50, 51):
        inline = [InlineComment("app.py", i + 1, "RIGHT", None, hostile(f"a{i}"), False) for i in range(n)]
        _, annotations = check_output(report_of(inline=inline))
        assert len(annotations) == n


def test_annotation_titles_at_the_255_character_limit():
    title = "t" * (255 - len("high: "))
    c = InlineComment("app.py", 1, "RIGHT", None, hostile(title), False)
    assert compose.annotation(c)["title"] == "high: " + title
    c = InlineComment("app.py", 1, "RIGHT", None, hostile(title + "u"), False)
    assert len(compose.annotation(c)["title"]) == 255 and compose.annotation(c)["title"].endswith("…")


def test_findings_at_the_per_answer_cap_and_one_over_are_reported_in_the_review():
    item = '{"path": "a.py", "line": 1, "severity": "low", "title": "t", "body": "b"}'
    at_cap = parse_answer('{"findings": [' + ", ".join([item] * MAX_FINDINGS) + "]}", "c")
    assert len(at_cap.findings) == MAX_FINDINGS and at_cap.notes == ()
    over = parse_answer('{"findings": [' + ", ".join([item] * (MAX_FINDINGS + 1)) + "]}", "c")
    assert len(over.findings) == MAX_FINDINGS
    body = review_body(report_of(notes=[("a.py", n) for n in over.notes]), DIGEST)
    assert shows(body, "a.py: 1 more finding not shown (at most 50 per request, the most severe kept)")


def test_titles_are_one_line():
    assert "\n" not in ms.inline("a\nb\r\nc\u2028d") and ms.inline("a\n\n# b") == "a \\# b"


def test_findings_that_do_not_fit_are_not_neutralized_in_full(monkeypatch):
    """Volume: 3,000 long findings must not cost 3,000 parses of their bodies (no timing: a call count)."""
    calls = []
    real = ms.block
    monkeypatch.setattr(ms, "block", lambda text, limit=None: calls.append(1) or real(text, limit))
    findings = [hostile(f"f{i}", "word " * 1_000) for i in range(3_000)]
    body = review_body(report_of(*findings), DIGEST)
    shown = len(headings(ms.render(body)))
    assert len(body) <= MAX_REVIEW_BODY and shown < 30 and len(calls) <= shown + 1
    assert f"{3_000 - shown:,} findings not shown in full (" in body


def test_as_text_is_what_a_reader_sees_rendered_for_plain_text_fields():
    assert ms.as_text("**bold** `code` [link](https://x.example) <b>raw</b> &amp;") == "bold code link raw &"
    assert ms.as_text("| a | b |\n|---|---|\n| 1 | 2 |") == "a b\n\n1 2"
    deep = ms.as_text("> " * 8_000 + "deep")  # no recursion limit on what the model may nest
    assert deep.endswith("deep") and ">" not in deep
    assert ms.as_text("") == "" and ms.as_text("<!-- hidden -->") == ""
