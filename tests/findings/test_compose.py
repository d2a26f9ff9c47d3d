"""compose.py and body_fit.py, unit by unit: check run output and annotations, inline comments, the literal
fallbacks and the "not shown in full" accounting (each test plays a broken guard or a hostile text and
names what a reader or GitHub would get wrong)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from batch_review.core.markers import SIGNATURE_ROOM
from batch_review.core.vocabulary import Finding
from batch_review.findings import body_fit
from batch_review.findings.anchoring import InlineComment, suggestion_block
from batch_review.findings.body_fit import Lazy, Section, compose_checked, counts_line, fit, last_resort
from batch_review.findings.compose import (
    MAX_ANNOTATION_MESSAGE,
    MAX_REVIEW_BODY,
    annotation,
    check_conclusion,
    check_output,
    finding_heading,
    inline_body,
    review_bodies,
    review_body,
    summary_markdown,
    threshold,
)
from batch_review.markdown import safety as ms
from batch_review.markdown.check import check
from tests.markdown.test_safety import BLOB, DIGEST, PULL, assert_inert, hostile, report_of

from ..markdown_view import find_markers, shows

APP_PY = hashlib.sha256(b"app.py").hexdigest()  # GitHub's anchor of app.py in a pull request's Files view
SCHEMAS = json.loads((Path(__file__).parent.parent / "emulators" / "schemas" / "github.json").read_text())


def comment(f: Finding, line: int = 7, side: str = "RIGHT", start: int | None = None, note: str | None = None):
    return InlineComment("app.py", line, side, start, f, side == "RIGHT", note)


@pytest.fixture
def broken_neutralizer(monkeypatch):
    """ms.block leaves a live mention: the check must catch it and the literal form must be posted."""
    real = ms.block
    monkeypatch.setattr(ms, "block", lambda text, limit=None: "@admin " + real(text, limit))


# --- annotations ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("severity, level", [("critical", "failure"), ("high", "failure"), ("medium", "warning"),
                                             ("low", "notice"), ("info", "notice"), ("bogus", "warning")])
def test_every_severity_gets_an_annotation_level_github_accepts(severity, level):
    ann = annotation(comment(hostile(severity=severity)))
    assert ann["annotation_level"] == level
    assert level in _annotation_levels()


def _annotation_levels() -> list[str]:
    text = json.dumps(SCHEMAS["checks/create"])
    start = text.index('"annotation_level": {"enum": [') + len('"annotation_level": {"enum": [')
    return json.loads("[" + text[start:text.index("]", start)] + "]")


def test_an_annotation_carries_its_lines_title_message_and_suggestion():
    f = Finding("pr-1:0000:0", "app.py", 9, 7, "RIGHT", "high", "bug", "t @admin\nx", "the body", "fix()")
    ann = annotation(InlineComment("app.py", 9, "RIGHT", 7, f, True))
    assert (ann["path"], ann["start_line"], ann["end_line"]) == ("app.py", 7, 9)
    assert ann["title"] == f"high: t @{ms.JOINER}admin x"
    assert ann["message"] == "the body" and ann["raw_details"] == "fix()"
    single = annotation(comment(hostile(body="")))
    assert (single["start_line"], single["end_line"]) == (7, 7) and "raw_details" not in single
    assert single["message"] == "T"  # no body: the title is the message
    assert annotation(comment(hostile(title="", body="")))["message"] == "(no text)"  # GitHub requires one


def test_an_annotation_is_plain_text_no_markdown_shows_literally():
    """GitHub shows annotation titles and messages as plain text: `code` would show its backticks."""
    f = hostile("Call `close()` **now**", "Use `with open(p)` so the [file](https://x.example) is closed:\n\n"
                "```python\nwith open(p) as f:\n    data = f.read()\n```\n\n- one\n- two @admin")
    ann = annotation(comment(f))
    assert ann["title"] == "high: Call close() now"
    assert ann["message"] == ("Use with open(p) so the file is closed:\n\nwith open(p) as f:\n    data = f.read()"
                              f"\n\n- one\n- two @{ms.JOINER}admin")
    assert not any(mark in ann["title"] + ann["message"] for mark in ("`", "**", "](", "```"))
    assert annotation(comment(hostile("`only` a title", "")))["message"] == "only a title"


def test_annotation_message_and_details_are_clipped_to_githubs_64000():
    huge = "y" * (MAX_ANNOTATION_MESSAGE + 10)
    ann = annotation(comment(hostile(body=huge, suggestion=huge)))
    for key in ("message", "raw_details"):
        assert len(ann[key]) == 64_000 and ann[key].endswith("…")  # GitHub's number, not our constant


def test_check_conclusion_fails_only_at_or_above_fail_on():
    found = [hostile(severity="medium"), hostile(severity="high")]
    assert check_conclusion(found, "high") == "failure"
    assert check_conclusion(found, "critical") == "neutral"
    assert check_conclusion(found, None) == "neutral" and check_conclusion([], "info") == "neutral"


# --- check run output ------------------------------------------------------------------------------------

def test_findings_on_removed_lines_get_their_own_section_and_no_annotation():
    """Check run annotations point at lines of the head commit: a removed line is not there. Dropping the
    section, or stopping at the first removed-line finding, would lose findings."""
    old1, new1 = hostile("gone one", severity="low"), hostile("kept one")
    old2, new2 = hostile("gone two", severity="critical"), hostile("kept two")
    inline = [comment(old1, 3, "LEFT"), comment(new1, 4), comment(old2, 5, "LEFT"), comment(new2, 6)]
    output, annotations = check_output(report_of(inline=inline))
    assert [a["title"] for a in annotations] == ["high: kept one", "high: kept two"]
    assert [a["end_line"] for a in annotations] == [4, 6]
    text = output["text"]
    assert "### Findings on removed lines" in text
    assert text.index("gone two") < text.index("gone one")  # most severe first
    assert "`app.py` old line 5" in text and "`app.py` old line 3" in text
    assert f"at [`app.py` old line 5]({PULL}files#diff-{APP_PY}L5)" in text  # its line on the old side
    assert output["title"] == "4 findings"
    assert_inert(text, leading=0)


def test_check_run_title_counts_findings():
    assert check_output(report_of(hostile()))[0]["title"] == "1 finding"
    assert check_output(report_of())[0]["title"] == "0 findings"
    assert "text" not in check_output(report_of())[0]  # nothing to list: no text


def test_check_run_summary_and_text_fall_back_to_literal_model_text(broken_neutralizer):
    report = report_of(hostile("one", "first body"), summary="the change in short")
    output, _ = check_output(report)
    assert "```text\nthe change in short\n```" in output["summary"]
    assert "```text\nfirst body\n```" in output["text"]
    for part in ("summary", "text"):
        assert check(output[part], links=(BLOB,)) == []


# --- inline comments ---------------------------------------------------------------------------------------

def test_an_inline_comment_says_why_it_covers_less_than_asked():
    out = inline_body(comment(hostile(), note="start line 3 is in another hunk: commented on line 7 only"), None)
    heading, note = out.split("\n\n")[0].split("\n")
    assert heading == finding_heading(hostile())
    assert note == ms.escape("start line 3 is in another hunk: commented on line 7 only")


def test_an_inline_comment_failing_the_check_is_posted_literal(broken_neutralizer):
    f = hostile("t", "plain words", suggestion="x = 1")
    c = comment(f, 99)
    out = inline_body(c, suggestion_block(c))
    assert "```text\nplain words\n```" in out and out.endswith("```suggestion\nx = 1\n```")
    assert check(out) == []


def test_a_body_leaking_into_the_suggestion_is_caught_by_the_unit_check(monkeypatch):
    """An unclosed fence in the body would swallow the ```suggestion block: only the per-unit check sees it."""
    monkeypatch.setattr(ms, "block", lambda text, limit=None: "```\nunclosed " + text)
    c = comment(hostile(body="b", suggestion="x = 1"), 99)
    out = inline_body(c, suggestion_block(c))
    assert "```text\nb\n```" in out and out.endswith("```suggestion\nx = 1\n```")


def test_an_inline_comment_of_exactly_65536_characters_is_posted_as_is():
    head = finding_heading(hostile())
    exact = hostile(body="x" * (MAX_REVIEW_BODY - len(head) - 2))
    out = inline_body(comment(exact), None)
    assert len(out) == MAX_REVIEW_BODY and out == head + "\n\n" + exact.body
    over = inline_body(comment(hostile(body=exact.body + "x")), None)
    assert len(over) <= MAX_REVIEW_BODY and "characters cut to fit GitHub's limit" in over
    assert check(over) == []


# --- the last resort: never over the limit, whatever the text -----------------------------------------------

@pytest.mark.parametrize("visible, fits", [
    ("\tx" * 35_000, False),  # a tab is shown as four spaces: 70,000 characters as given, 175,000 as shown
    ("`" * 70_000, False),  # the fence grows with the longest backtick run inside
    ("<!-- batch-review:v1 x -->" * 3_000, False),  # each planted marker gains a word joiner when broken
    ("ok", True),
    ("\r\n" * 40_000 + "a", True),  # 80,001 characters as given, 40,001 as shown: fits
])
@pytest.mark.parametrize("leading", [[], ["<!-- batch-review:v1 target=pr-1 head=abc1234 manifest=0123abcd -->"]])
def test_the_last_resort_fits_the_limit_and_says_what_it_cut(visible, fits, leading):
    limit = 65_536
    out = last_resort(leading, visible, limit)
    assert len(out) <= limit
    assert out.startswith("".join(line + "\n" for line in leading) + body_fit.LITERAL_INTRO)
    assert check(out, leading=len(leading)) == []
    if fits:
        assert out.endswith(visible.replace("\r\n", "\n") + "\n```")
    else:  # cut, not thrown away: the longest beginning that fits is shown
        assert "characters cut to fit GitHub's limit)" in out and len(out) > limit - 10


def test_compose_checked_falls_back_to_the_last_resort_when_both_forms_fail():
    out = compose_checked([], lambda literal: ["@admin"], 1_000, ())
    assert out == body_fit.LITERAL_INTRO + "```text\n@admin\n```"


# --- what does not fit is counted, by severity --------------------------------------------------------------

def test_counts_line_is_most_severe_first():
    assert counts_line(["low", "critical", "low", "info"]) == "1 critical, 2 low, 1 info"
    assert counts_line([]) == ""


def _section(n: int, brief: bool = True, severities: bool = True) -> Section:
    sev = ["high" if i % 3 == 0 else "low" for i in range(n)]
    return Section("Findings", Lazy([(i,) for i in range(n)], lambda i: f"entry {i} " + "w" * 300), "finding",
                   sev if severities else None, Lazy([(i,) for i in range(n)], lambda i: f"- brief {i}") if brief
                   else None)


def test_overflow_lists_in_brief_what_fits_and_counts_the_rest_by_severity():
    units = fit(["head"], [_section(60)], 3_000 + 2_000)  # room for a few entries, then the brief list
    shown = [u for u in units if u.startswith("entry ")]
    overflow = units[-1]
    rest = 60 - len(shown)
    assert 0 < len(shown) < 60 and units[1] == "### Findings"
    sev = ["high" if i % 3 == 0 else "low" for i in range(60)]
    assert overflow.startswith("### Not shown in full here: GitHub's size limit\n\n"
                               f"- Findings: {rest} findings not shown in full ({counts_line(sev[len(shown):])})")
    listed = [line for line in overflow.split("\n") if line.startswith("- brief ")]
    assert listed == [f"- brief {i}" for i in range(len(shown), len(shown) + len(listed))]
    assert "\n\nIn brief, most severe first:\n\n- brief " in overflow
    more = rest - len(listed)
    if more:
        assert f"- … {more} more ({counts_line(sev[len(shown) + len(listed):])})" in overflow
    assert overflow.endswith(f"Every finding is listed in {body_fit.FULL_LIST}.")


def test_overflow_without_brief_lines_or_severities():
    units = fit([], [_section(50, brief=False, severities=False)], 3_500)
    assert units[-1].split("\n")[2] == f"- Findings: {50 - len(units) + 2} findings not shown in full"
    assert "In brief" not in units[-1]
    units = fit([], [_section(400, severities=False)], 3_500)
    assert any(line.startswith("- … ") and line.endswith(" more") for line in units[-1].split("\n"))


def test_brief_lines_clip_titles_and_keep_them_one_line():
    body = review_body(report_of(*[hostile("t" * 500 + "\n# h", "w " * 3_000) for _ in range(30)]), DIGEST)
    brief = [line for line in body.split("\n") if line.startswith("- 🟠 **high** `app.py` line 99 — ")]
    assert brief and all(line.endswith("t" * 199 + "…") for line in brief)
    empty = review_body(report_of(*[hostile("", "w " * 3_000) for _ in range(30)]), DIGEST)
    assert any(line == "- 🟠 **high** `app.py` line 99 — " for line in empty.split("\n"))


# --- review bodies ------------------------------------------------------------------------------------------

def test_review_bodies_is_the_one_review_body_with_its_base():
    report = report_of(hostile())
    (body,) = review_bodies(report, DIGEST, "b" * 40)
    assert body == review_body(report, DIGEST, "b" * 40)
    (marker,) = find_markers(body)
    assert (marker.base, marker.head) == ("b" * 40, "a" * 40) and DIGEST.startswith(marker.manifest)


def test_the_job_summary_lists_every_finding_one_line_each():
    inline = [comment(hostile("on the diff", severity="low"), 3, "LEFT")]
    text = summary_markdown(report_of(hostile("off @admin", severity="critical"), inline=inline,
                                      notes=[("a.py", "cut #5")]))
    lines = text.split("\n")
    assert lines[0] == f"#### [\\#{ms.JOINER}1](https://github.com/acme/widgets/pull/1): 2 findings"
    assert lines[1] == f"- 🔴 **critical** [`app.py` line 99]({BLOB}{'a' * 40}/app.py#L99) — {ms.inline('off @admin')}"
    assert lines[2] == f"- 🔵 **low** [`app.py` old line 3]({PULL}files#diff-{APP_PY}L3) — on the diff"
    assert lines[3] == f"- `a.py`: {ms.inline('cut #5')}" and len(lines) == 4
    assert shows(text, "off @admin")


# --- the head of a review, line by line (each test names the mutant it stands for) ---------------------------

def test_the_first_line_is_the_marker_earlier_releases_read():
    body = review_body(report_of(hostile()), DIGEST)
    assert body.split("\n")[0] == f"<!-- batch-review:v1 target=pr-1 head={'a' * 40} manifest={'d' * 16} part=1 -->"


def test_the_review_lines_say_what_was_reviewed_and_only_what_applies():
    plain = review_body(report_of(hostile()), DIGEST)
    assert "· 0 files · 0 requests" in plain  # nothing counted yet is 0, not -1 or 1
    assert "moved on" not in plain and "not repeated" not in plain and "resubmission" not in plain
    report = report_of(hostile(), current_head="c" * 40, repeated=2, attempt=1, requests=3, files_reviewed=4)
    body = review_body(report, DIGEST)
    assert f"(the pull request has moved on to `{'c' * 12}` since)" in body
    assert "· 4 files · 3 requests" in body
    assert "- 2 findings already posted by an earlier review are not repeated." in body.split("\n")
    assert "Results of a resubmission (attempt 2) of requests that expired." in body
    unit = next(u for u in body.split("\n\n") if u.startswith("Reviewed commit"))
    lines = unit.split("\n")
    assert len(lines) == 2
    assert all(line.endswith("  ") for line in lines[:-1]) and not lines[-1].endswith(" ")  # hard breaks between


def test_one_line_counts_the_findings_by_severity_most_severe_first_after_the_summary():
    """Issue 22: no 4-row severity table for 4 findings; one line, each severity with its mark and word."""
    report = report_of(hostile("one", severity="low"), hostile("two", severity="critical"),
                       hostile("three", severity="low"), hostile("four", severity="bogus"), summary="the change")
    units = review_body(report, DIGEST).split("\n\n")
    assert units[0].endswith("## batch-review: 4 findings") and units[1] == "the change"
    assert units[2] == "🔴 1 critical · 🟡 1 medium · 🔵 2 low"
    assert "|" not in "\n\n".join(units) and "<table>" not in ms.render("\n\n".join(units))
    assert "🔴" not in review_body(report_of(), DIGEST)  # nothing found: no counts line


def test_a_finding_away_from_the_diff_links_its_line():
    body = review_body(report_of(hostile(line=99)), DIGEST)
    assert f"[`app.py` line 99]({BLOB}{'a' * 40}/app.py#L99)" in body
    no_line = review_body(report_of(hostile(line=None)), DIGEST)
    assert f"[`app.py`]({BLOB}{'a' * 40}/app.py)" in no_line and "line None" not in no_line


def test_foreign_paths_are_shown_up_to_300_characters():
    whole, long = "p" * 300, "q" * 301
    body = review_body(report_of(skipped_files=[(whole, "r"), (long, "r")]),
                       DIGEST)
    assert f"`{whole}`" in body and f"`{'q' * 299}…`" in body and "q" * 300 not in body


def test_the_models_summary_is_clipped_at_4000_characters():
    body = review_body(report_of(hostile(), summary="s" * 5_000), DIGEST)
    assert "s" * 3_999 + "…" in body and "s" * 4_000 not in body


def _summary_rows(n: int):
    report = report_of(*(hostile(f"finding {i}", severity="medium") for i in range(n)))
    full = summary_markdown(report, limit=10**6).split("\n")
    return report, full[0], full[1:]


@pytest.mark.parametrize("shown", [0, 1, 2, 3])
def test_the_job_summary_keeps_every_row_that_fits_and_counts_the_rest(shown):
    report, head, rows = _summary_rows(5)
    fits = len(head) + sum(len(r) + 1 for r in rows[:shown])  # exactly `shown` rows fit, the next by none
    out = summary_markdown(report, limit=fits).split("\n")
    assert out[1:1 + shown] == rows[:shown]
    assert out[1 + shown] == f"- … {5 - shown} more ({5 - shown} medium): the job summary is limited to 1 MiB"
    assert len(out) == shown + 2
    one_short = summary_markdown(report, limit=fits + len(rows[shown])).split("\n")
    assert len(one_short) == shown + 2  # one character short of the next row: still cut there
    one_more = summary_markdown(report, limit=fits + len(rows[shown]) + 1).split("\n")
    assert one_more[1 + shown] == rows[shown]  # the next row with its newline: one more row


def test_the_heading_counts_findings_in_the_right_number():
    assert "## batch-review: 1 finding\n" in review_body(report_of(hostile()), DIGEST) + "\n"
    assert "## batch-review: 2 findings\n" in review_body(report_of(hostile(), hostile()), DIGEST)
    assert "## batch-review: 0 findings\n" in review_body(report_of(), DIGEST)


def test_the_reviewed_commit_is_named_by_12_characters():
    assert f"Reviewed commit `{'a' * 12}` ·" in review_body(report_of(hostile()), DIGEST)


def test_a_finding_without_a_path_gets_no_link_and_no_side_it_is_not_on():
    body = review_body(report_of(hostile(path="", line=5)), DIGEST)
    assert "at (no file) line 5 ·" in body and "#L5" not in body and "old side" not in body
    left = review_body(report_of(Finding("pr-1:0000:0", "app.py", 5, None, "LEFT", "high", "bug", "T", "b", None)),
                       DIGEST)
    assert "at `app.py` line 5 (old side) ·" in left and "#L5" not in left


def test_an_unreadable_answer_is_shown_up_to_2000_characters():
    body = review_body(report_of(unparsable=[("app.py", "not JSON", "r" * 3_000)]), DIGEST)
    assert "r" * 1_999 + "…" in body and "r" * 2_000 not in body


def test_a_category_is_shown_up_to_40_characters_and_a_title_up_to_200():
    assert "c" * 40 in finding_heading(hostile(category="c" * 40))
    clipped = finding_heading(hostile(category="c" * 41))
    assert "c" * 39 + "…" in clipped and "c" * 40 not in clipped
    assert finding_heading(hostile(title="t" * 200)).endswith("t" * 200)
    assert finding_heading(hostile(title="t" * 201)).endswith("t" * 199 + "…")


def test_a_heading_names_the_category_or_other():
    assert finding_heading(hostile(category="security")) == "🟠 **high** · security — T"
    assert finding_heading(hostile(category="")) == "🟠 **high** · other — T"
    assert finding_heading(hostile(category=None)) == "🟠 **high** · other — T"


def test_an_incremental_review_names_the_commit_it_started_from_by_12_characters():
    body = review_body(report_of(hostile(), since="b" * 40), DIGEST)
    assert f"Incremental review: only the changes since `{'b' * 12}`, reviewed before, were sent" in body


def test_the_largest_finding_shown_whole_leaves_exactly_the_overflow_room():
    """The budget is GitHub's limit less the room a signature takes in the marker, less each leading line and
    its newline; fit keeps OVERFLOW_ROOM of it free (and counts the separator after the last unit). A budget a
    character off moves this edge."""
    def body_with(n: int) -> str:
        return review_body(report_of(hostile(body="z" * n), fingerprints=["f" * 16] * 5), DIGEST)

    largest = MAX_REVIEW_BODY - SIGNATURE_ROOM - 3_000 - 2 - (len(body_with(100)) - 100)  # 3,000: OVERFLOW_ROOM
    assert "z" * largest in body_with(largest)
    over = body_with(largest + 1)
    assert "z" * (largest + 1) not in over and "1 finding not shown in full (1 high)" in over


def test_a_review_body_lists_a_removed_lines_finding_once_linked_to_its_old_line():
    """Its full text is the inline comment; the body lists it in one line, linked to the old side."""
    body = review_body(report_of(inline=[comment(hostile("on an old line", "the body text"), 3, "LEFT")]), DIGEST)
    assert "Findings on removed lines" not in body and "the body text" not in body
    assert f"- 🟠 **high** [`app.py` old line 3]({PULL}files#diff-{APP_PY}L3) — on an old line" in body.split("\n")


def test_threshold_keeps_what_is_at_or_above_and_counts_the_rest():
    low, medium, high = hostile(severity="low"), hostile(severity="medium"), hostile(severity="high")
    assert threshold([low, high, medium], "medium") == ([high, medium], 1)
    assert threshold([low, high], "info") == ([low, high], 0)


def test_the_job_summary_is_cut_at_900000_characters():
    """The job summary is limited to 1 MiB; rows stop at 900,000 characters, the rest counted."""
    _, row = summary_markdown(report_of(hostile("t" * 200, severity="low"))).split("\n")
    guess = 900_000 // (len(row) + 1)  # about as many findings as fit: the head's count has as many digits
    head = summary_markdown(report_of(*[hostile("t" * 200, severity="low")] * guess)).split("\n")[0]
    short_row = len(summary_markdown(report_of(hostile("", severity="low", path="p"))).split("\n")[1])
    n = (900_000 - len(head) - 1 - short_row) // (len(row) + 1)
    pad = 900_000 - len(head) - n * (len(row) + 1) - 1 - short_row  # made up by a longer path (up to 300)
    assert 0 <= pad < 299

    def last(extra: int):
        return hostile("", severity="low", path="p" * (1 + extra))

    findings = [hostile("t" * 200, severity="low")] * n + [last(pad)]
    exact = report_of(*findings)
    assert summary_markdown(exact).split("\n")[0] == head.replace(f"{guess:,}", f"{n + 1:,}")
    assert len(str(guess)) == len(str(n + 1))
    assert len(summary_markdown(exact, limit=10**7)) == 900_000
    assert summary_markdown(exact) == summary_markdown(exact, limit=10**7)  # exactly at the limit: all rows
    findings[-1] = last(pad + 1)
    assert summary_markdown(report_of(*findings)).endswith("- … 1 more (1 low): the job summary is limited to 1 MiB")


def test_findings_over_the_inline_cap_are_counted_with_the_reason():
    reason = "over the limit of 2 inline comments per review"
    report = report_of(inline=[comment(hostile("a")), comment(hostile("b"))])
    report.unplaced.append((hostile("c"), reason))
    one = review_body(report, DIGEST)
    assert f"- 1 finding {ms.escape(reason)}: listed above instead." in one.split("\n")
    report = report_of(hostile("d"))
    report.unplaced += [(hostile("e"), reason), (hostile("f"), reason)]
    assert f"- 2 findings {ms.escape(reason)}: listed above instead." in review_body(report, DIGEST).split("\n")


def test_a_failed_requests_error_code_is_shown_up_to_80_characters():
    body = review_body(report_of(failed=[("app.py", "c" * 80, "m"), ("util.py", "d" * 81, "m")]), DIGEST)
    assert f"`{'c' * 80}`" in body and f"`{'d' * 79}…`" in body


# --- fit's accounting at its exact edges (a character off either way changes what is shown) ----------------

def _entries(n: int, size: int = 10, brief: bool = True) -> Section:
    return Section("S", Lazy([(i,) for i in range(n)], lambda i: f"{i}" * size), "finding", ["low"] * n,
                   Lazy([(i,) for i in range(n)], lambda i: f"- b{i}") if brief else None)


def test_fit_shows_an_entry_only_when_it_and_its_heading_fit_before_the_overflow_room():
    room = 3_000  # body_fit.OVERFLOW_ROOM, written as the number: a changed constant must fail here
    # "h" + separator: 3; the first entry adds itself, its separator and "### S" with its own: 10+2+5+2
    both = room + 3 + 19 + 12
    assert fit(["h"], [_entries(2)], both) == ["h", "### S", "0" * 10, "1" * 10]
    one = fit(["h"], [_entries(2)], both - 1)
    assert one[:3] == ["h", "### S", "0" * 10] and len(one) == 4 and one[3].startswith("### Not shown")
    assert fit(["h"], [_entries(2)], room + 3 + 19)[:3] == ["h", "### S", "0" * 10]
    none = fit(["h"], [_entries(2)], room + 3 + 18)
    assert len(none) == 2 and none[1].startswith("### Not shown")  # no heading without an entry under it
    # a second section pays its own heading
    two = fit([], [_entries(1), _entries(1)], room + 19 + 19)
    assert two == ["### S", "0" * 10, "### S", "0" * 10]
    assert fit([], [_entries(1), _entries(1)], room + 19 + 18)[2].startswith("### Not shown")


@pytest.mark.parametrize("listed", [0, 1, 3, 5])
def test_the_overflow_lists_a_brief_line_only_when_it_fits_in_what_is_left(listed):
    """Room for brief lines: the budget less what is shown, the separator, 400 for the heading and closing
    line and 200 per section counted. Each line costs itself and a newline ("- b0": 5)."""
    budget = 2 + 400 + 200 + 5 * listed  # nothing fits in full: the budget is below the overflow room
    text = fit([], [_entries(5, size=5_000)], budget)[0]
    assert [line for line in text.split("\n") if line.startswith("- b")] == [f"- b{i}" for i in range(listed)]
    if listed < 5:
        assert f"- … {5 - listed} more ({5 - listed} low)" in text
    else:
        assert "more" not in text  # every line listed: nothing left to count
    fewer = fit([], [_entries(5, size=5_000)], budget - 1)[0]
    assert len([line for line in fewer.split("\n") if line.startswith("- b")]) == max(0, listed - 1)


def test_the_last_resort_keeps_the_longest_beginning_that_fits_at_every_limit():
    """Brute force against the binary search, across the cut note's 1,000 -> 999 (one digit and the comma
    fewer) and down to a limit that only the empty beginning fits."""
    visible = "x" * 1_100
    bodies = [last_resort([], visible[:0], 10**6)]  # the head and an empty fence: what every cut starts from
    lengths = {n: len(body_fit.LITERAL_INTRO + ms.fence("x" * n, "text")
                       + (f"\n\n({1_100 - n:,} characters cut to fit GitHub's limit)" if n < 1_100 else ""))
               for n in range(1_101)}
    for limit in range(min(lengths.values()), lengths[1_100] + 2):
        best = max(n for n, size in lengths.items() if size <= limit)
        out = last_resort([], visible, limit)
        shown = out.split("```text\n", 1)[1].split("\n```", 1)[0]
        assert len(out) <= limit and shown == "x" * best, limit
    assert bodies[0].startswith(body_fit.LITERAL_INTRO)


def test_the_overflow_keeps_200_characters_per_section_it_counts():
    """Two sections left out: 400 for the heading and closing line, 200 for each count line."""
    budget = 2 + 400 + 2 * 200 + 5 * 2  # room for exactly two brief lines ("- b0", "- b1": 5 each)
    text = fit([], [_entries(3, size=5_000), _entries(3, size=5_000, brief=False)], budget)[0]
    assert [line for line in text.split("\n") if line.startswith("- b")] == ["- b0", "- b1"]
    fewer = fit([], [_entries(3, size=5_000), _entries(3, size=5_000, brief=False)], budget - 1)[0]
    assert [line for line in fewer.split("\n") if line.startswith("- b")] == ["- b0"]


def test_brief_lines_stop_at_the_first_that_does_not_fit_so_the_most_severe_come_first():
    """A shorter, less severe line after one that does not fit is not listed in its place."""
    sec = Section("S", Lazy([(i,) for i in range(3)], lambda i: "e" * 5_000), "finding", ["high", "high", "low"],
                  Lazy([("- long " + "l" * 50,), ("- b1",), ("- b2",)], lambda line: line))
    text = fit([], [sec], 2 + 400 + 200 + 20)[0]  # room for 20 characters: not the first line, the others yes
    assert "- b1" not in text and "- b2" not in text and "- … 3 more (2 high, 1 low)" in text


def test_without_severities_the_rest_is_counted_by_number():
    sec = Section("S", Lazy([(i,) for i in range(5)], lambda i: "e" * 5_000), "answer", None,
                  Lazy([(f"- b{i}",) for i in range(5)], lambda line: line))
    text = fit([], [sec], 2 + 400 + 200 + 10)[0]  # two brief lines fit
    assert "- b0\n- b1\n- … 3 more" in text and "- b2" not in text


# --- the layout people read (issue 22) -------------------------------------------------------------------------

def _layout_report(**kw):
    inline = [comment(hostile("low one", severity="low"), 3), comment(hostile("critical one", severity="critical"), 9),
              comment(hostile("old one", severity="medium"), 4, "LEFT")]
    return report_of(hostile("far one", severity="high", line=99), inline=inline, summary="What the change does",
                     **kw)


def test_the_body_reads_summary_counts_findings_on_the_diff_then_off_it_then_what_was_reviewed():
    body = review_body(_layout_report(), DIGEST)
    order = ["## batch-review: 4 findings", "What the change does", "🔴 1 critical · 🟠 1 high · 🟡 1 medium · 🔵 1 low",
             "### On the diff (inline comments)", "### Not on a line of the diff", "\n\n---\n\nReviewed commit",
             "- 3 findings are inline comments."]
    assert [body.index(part) for part in order] == sorted(body.index(part) for part in order)
    assert_inert(body, leading=1)


def test_findings_on_the_diff_are_one_list_most_severe_first_each_linked_to_its_line_in_the_files_view():
    """The inline threads come in file order on GitHub (the low one first); the body lists them by severity."""
    body = review_body(_layout_report(), DIGEST)
    listed = [line for line in body.split("\n") if line.startswith("- ") and "](" in line and PULL in line]
    assert listed == [
        f"- 🔴 **critical** [`app.py` line 9]({PULL}files#diff-{APP_PY}R9) — critical one",
        f"- 🟡 **medium** [`app.py` old line 4]({PULL}files#diff-{APP_PY}L4) — old one",
        f"- 🔵 **low** [`app.py` line 3]({PULL}files#diff-{APP_PY}R3) — low one"]
    rendered = ms.render(body)
    assert rendered.count("<ul") == 2 and rendered.count("<li") == 3 + 1  # one list of three; the footnotes
    assert check(body, leading=1, links=(BLOB, PULL)) == []
    assert check(body, leading=1, links=(BLOB,)) != []  # the Files view links are checked like any other


def test_the_files_view_is_not_linked_once_the_pull_request_moved_on_nor_for_a_branch_pair():
    """Its lines are the newest commit's then: the reviewed commit's line (new side) is linked instead."""
    moved = review_body(_layout_report(current_head="c" * 40), DIGEST)
    assert PULL not in moved and f"[`app.py` line 9]({BLOB}{'a' * 40}/app.py#L9)" in moved
    assert "`app.py` line 4 (old side)" in moved  # the old side has no blob link: inert text
    branches = review_body(replace(_layout_report(), number=None, key="branches-0123456789ab", label="main...dev"),
                           DIGEST)
    assert "/pull/" not in branches and f"({BLOB}{'a' * 40}/app.py#L9)" in branches


def test_a_file_the_manifest_does_not_list_is_never_linked_on_the_diff_either():
    report = report_of(inline=[InlineComment("other.py", 5, "RIGHT", None, hostile(path="other.py"), True)])
    body = review_body(report, DIGEST)
    assert "- 🟠 **high** `other.py` line 5 — T" in body.split("\n") and "](" not in body


def test_a_check_run_says_annotations_and_lists_them_by_severity():
    output, _ = check_output(_layout_report())
    assert "- 2 findings are annotations on the changed lines." in output["summary"].split("\n")
    assert "inline comment" not in output["summary"] + output["text"]
    assert "### On the changed lines (annotations)" in output["text"]
    assert output["text"].index("critical one") < output["text"].index("low one")
    assert "### Findings on removed lines" in output["text"]  # the old side has no annotation
    one, _ = check_output(report_of(inline=[comment(hostile())]))
    assert "- 1 finding is an annotation on a changed line." in one["summary"].split("\n")


def test_footnotes_are_one_list_a_new_count_is_one_more_line():
    body = review_body(_layout_report(repeated=1, below_threshold=2, resubmitted=1), DIGEST)
    notes = body.split("\n\n")[-1].split("\n")
    assert notes == ["- 3 findings are inline comments.",
                     "- 1 finding already posted by an earlier review is not repeated.",
                     "- 2 findings below the configured minimum severity are not shown.",
                     "- 1 request expired and was submitted again; their findings will follow in another review."]


def test_a_compact_section_that_does_not_fit_is_cut_between_its_items_and_counted():
    sec = Section("S", Lazy([(i,) for i in range(100)], lambda i: f"- item {i} " + "w" * 100), "finding",
                  ["low"] * 100, compact=True)
    units = fit(["h"], [sec], 3_000 + 3 + 7 + 2 + 30 * 110)
    assert units[1] == "### S" and units[2].startswith("- item 0 ") and units[2].count("\n") + 1 < 100
    shown = units[2].count("\n") + 1
    assert units[3].startswith("### Not shown in full") and f"- S: {100 - shown} findings not shown in full (" in units[3]


def test_thousands_of_findings_on_the_diff_keep_the_body_under_githubs_limit_and_count_the_rest():
    inline = [comment(hostile(f"title {i} " + "t" * 150, severity=("low", "critical")[i % 2]), i + 1)
              for i in range(2_000)]
    body = review_body(report_of(inline=inline), DIGEST)
    assert len(body) <= MAX_REVIEW_BODY - SIGNATURE_ROOM
    listed = [line for line in body.split("\n") if line.startswith("- 🔴 **critical** [") or
              line.startswith("- 🔵 **low** [")]
    assert 100 < len(listed) < 2_000
    assert all("critical" in line for line in listed[:len(listed) // 2])  # the most severe first
    assert f"- On the diff (inline comments): {2_000 - len(listed):,} findings not shown in full (" in body
    assert check(body, leading=1, links=(BLOB, PULL)) == []
