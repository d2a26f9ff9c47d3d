"""anchoring.py: findings -> inline comments GitHub accepts, or the body with a reason."""

from __future__ import annotations

import dataclasses
import re

import pytest

from batch_review.core.diffs import CommentableLines
from batch_review.core.vocabulary import Finding
from batch_review.findings.anchoring import (
    InlineComment,
    Placement,
    cap_inline,
    normalize_path,
    place_findings,
    place_one,
    resolve_path,
    suggestion_block,
)

# src/a.py: two hunks on the new side (1-10, 20-30), one on the old side (3-12)
A = CommentableLines(right=((1, 10), (20, 30)), left=((3, 12),))
# gone.py: deleted, only old-side lines
GONE = CommentableLines(right=(), left=((1, 40),))
FILES = {"src/a.py": A, "gone.py": GONE}


def f(line=5, *, path="src/a.py", start_line=None, side="RIGHT", severity="high", title="T", suggestion=None,
      body="B") -> Finding:
    return Finding("pr-1:0000:0", path, line, start_line, side, severity, "bug", title, body, suggestion)


def inline(finding: Finding, **kw) -> InlineComment:
    base = dict(path=finding.path, line=finding.line, side=finding.side, start_line=finding.start_line,
                finding=finding, suggestion_ok=finding.suggestion is not None and finding.side == "RIGHT")
    base.update(kw)
    return InlineComment(**base)


# --- single findings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("line", [1, 5, 10, 20, 30])
def test_right_side_line_inside_a_hunk_is_inline(line):
    finding = f(line)
    assert place_one(finding, FILES) == inline(finding)


@pytest.mark.parametrize("line, reason", [
    (11, "new line 11 is not part of the diff"),
    (15, "new line 15 is not part of the diff"),
    (19, "new line 19 is not part of the diff"),
    (31, "new line 31 is not part of the diff"),
    (120, "new line 120 is not part of the diff"),
])
def test_right_side_line_outside_the_hunks_is_unplaced(line, reason):
    assert place_one(f(line), FILES) == reason


def test_left_side_is_checked_against_the_old_ranges():
    finding = f(12, side="LEFT")
    assert place_one(finding, FILES) == inline(finding, suggestion_ok=False)
    assert place_one(f(2, side="LEFT"), FILES) == "old line 2 is not part of the diff"  # a RIGHT line, not LEFT
    assert place_one(f(25, side="LEFT"), FILES) == "old line 25 is not part of the diff"


def test_deleted_file_accepts_old_lines_only():
    finding = f(33, path="gone.py", side="LEFT")
    assert place_one(finding, FILES) == inline(finding, suggestion_ok=False)
    assert place_one(f(33, path="gone.py"), FILES) == "new line 33 is not part of the diff"


def test_unknown_file_and_missing_line():
    assert place_one(f(5, path="src/b.py"), FILES) == "file not in the diff"
    assert place_one(f(None), FILES) == "no line given"
    assert place_one(f(None, path="nowhere.py"), FILES) == "file not in the diff"


def test_side_spelled_loosely_is_understood():
    assert place_one(f(12, side="left"), FILES).side == "LEFT"
    assert place_one(f(5, side="whatever"), FILES).side == "RIGHT"


# --- multi-line -----------------------------------------------------------------------------------------


def test_multi_line_in_one_hunk_keeps_the_range_and_the_suggestion():
    finding = f(8, start_line=3, suggestion="x = 1\ny = 2")
    c = place_one(finding, FILES)
    assert c == inline(finding)
    assert (c.start_line, c.start_side, c.suggestion_ok, c.note) == (3, "RIGHT", True, None)


def test_multi_line_left_side_in_one_hunk():
    c = place_one(f(9, start_line=4, side="LEFT"), FILES)
    assert (c.line, c.start_line, c.side, c.start_side) == (9, 4, "LEFT", "LEFT")


@pytest.mark.parametrize("start, line, note", [
    (5, 25, "start line 5 is in another hunk: commented on line 25 only"),
    (15, 25, "start line 15 is not part of the diff: commented on line 25 only"),
    (9, 4, "start line 9 is after line 4: commented on line 4 only"),
])
def test_multi_line_across_hunks_becomes_a_single_line_comment_without_suggestion(start, line, note):
    finding = f(line, start_line=start, suggestion="fixed()")
    c = place_one(finding, FILES)
    assert c == InlineComment("src/a.py", line, "RIGHT", None, finding, False, note)
    assert c.start_side is None and suggestion_block(c) is None


def test_multi_line_whose_last_line_is_outside_the_diff_is_unplaced():
    assert place_one(f(15, start_line=8), FILES) == "new line 15 is not part of the diff"


def test_start_equal_to_line_is_a_single_line_comment():
    finding = f(7, start_line=7, suggestion="ok()")
    c = place_one(finding, FILES)
    assert (c.start_line, c.suggestion_ok, c.note) == (None, True, None)


# --- paths ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["src/a.py", "./src/a.py", "././src/a.py", "a/src/a.py", "b/src/a.py",
                                  "/src/a.py", " src/a.py ", ".\\src\\a.py", "./b/src/a.py"])
def test_model_path_decorations_are_tolerated(path):
    c = place_one(f(5, path=path), FILES)
    assert isinstance(c, InlineComment) and c.path == "src/a.py"


def test_real_top_level_a_directory_wins_over_prefix_stripping():
    files = {"a/x.py": A, "x.py": A}
    assert resolve_path("a/x.py", files) == "a/x.py"
    assert resolve_path("./a/x.py", files) == "a/x.py"
    assert resolve_path("b/x.py", files) == "x.py"
    assert resolve_path("c/x.py", files) is None
    assert resolve_path("", files) is None


def test_normalize_path():
    assert normalize_path("./b/src/a.py") == "src/a.py"
    assert normalize_path("src/a.py") == "src/a.py"
    assert normalize_path(None) == ""


# --- many findings --------------------------------------------------------------------------------------


def test_inline_comments_are_sorted_and_unplaced_keep_their_order():
    findings = [f(25, path="src/a.py"), f(12, path="gone.py", side="LEFT"), f(40), f(3), f(None),
                f(3, side="LEFT"), f(2, path="zzz.py")]
    p = place_findings(findings, FILES)
    assert [(c.path, c.line, c.side) for c in p.inline] == [
        ("gone.py", 12, "LEFT"), ("src/a.py", 3, "LEFT"), ("src/a.py", 3, "RIGHT"), ("src/a.py", 25, "RIGHT")]
    assert p.unplaced == [(findings[2], "new line 40 is not part of the diff"), (findings[4], "no line given"),
                          (findings[6], "file not in the diff")]


def test_every_finding_is_placed_or_listed_exactly_once():
    findings = [f(line, side=side) for line in range(0, 35) for side in ("RIGHT", "LEFT")]
    p = place_findings(findings, FILES, max_inline=7)
    seen = [c.finding for c in p.inline] + [x for x, _ in p.unplaced]
    assert sorted(map(id, seen)) == sorted(map(id, findings)) and len(p.inline) == 7


def test_no_cap_by_default():
    findings = [f(line) for line in range(1, 11)] * 4
    p = place_findings(findings, FILES)
    assert len(p.inline) == 40 and p.unplaced == []


def test_cap_keeps_the_most_severe_inline_and_moves_the_rest_to_the_body():
    findings = [f(1, severity="low", title="l1"), f(2, severity="critical", title="c2"),
                f(3, severity="info", title="i3"), f(4, severity="high", title="h4"),
                f(5, severity="medium", title="m5"), f(6, severity="high", title="h6"), f(40, title="out")]
    p = place_findings(findings, FILES, max_inline=3)
    assert [c.finding.title for c in p.inline] == ["c2", "h4", "h6"]  # still in line order
    reason = "over the limit of 3 inline comments per review"
    assert [(x.title, r) for x, r in p.unplaced] == [
        ("out", "new line 40 is not part of the diff"), ("l1", reason), ("i3", reason), ("m5", reason)]


def test_cap_ties_keep_the_first_by_path_and_line():
    findings = [f(9, title="late"), f(2, title="early"), f(12, path="gone.py", side="LEFT", title="gone")]
    p = place_findings(findings, FILES, max_inline=1)
    assert [c.finding.title for c in p.inline] == ["gone"]
    assert [x.title for x, _ in p.unplaced] == ["early", "late"]


def test_unknown_severity_ranks_as_medium_in_the_cap():
    findings = [f(1, severity="weird", title="w"), f(2, severity="low", title="l")]
    assert [c.finding.title for c in place_findings(findings, FILES, max_inline=1).inline] == ["w"]


def test_cap_inline_at_or_under_the_limit_changes_nothing_and_zero_moves_everything():
    placement = place_findings([f(1), f(2)], FILES)
    assert cap_inline(placement, 2) is placement
    capped = cap_inline(placement, 0)
    assert capped.inline == [] and [x.line for x, _ in capped.unplaced] == [1, 2]
    assert cap_inline(placement, -5).inline == []
    assert placement == Placement(placement.inline, [])  # the input is not modified


# --- suggestions ----------------------------------------------------------------------------------------


def test_suggestion_block_plain():
    assert suggestion_block(f(5, suggestion="    return x / 1")) == "```suggestion\n    return x / 1\n```"


def test_suggestion_block_normalises_line_ends_and_trailing_newlines_but_not_indentation():
    assert suggestion_block(f(5, suggestion="  a\r\n  b\r\n\n")) == "```suggestion\n  a\n  b\n```"


@pytest.mark.parametrize("code, fence", [
    ("use `x` here", "```"),
    ("``double``", "```"),
    ("```\nrm -rf /\n```", "````"),
    ("````\n@admin\n````", "`````"),
    ("a ``` b ```` c", "`````"),
])
def test_suggestion_fence_is_longer_than_any_backtick_run_inside(code, fence):
    block = suggestion_block(f(5, suggestion=code))
    assert block == f"{fence}suggestion\n{code}\n{fence}"
    # nothing inside can close the block: every backtick run inside is shorter than the fence
    inner = block[len(fence) + len("suggestion\n"): -len(fence) - 1]
    assert inner == code and all(len(run) < len(fence) for run in re.findall(r"`+", inner))


@pytest.mark.parametrize("finding", [
    f(5), f(5, suggestion=""), f(5, suggestion=" \n "), f(12, side="LEFT", suggestion="x"), f(None, suggestion="x"),
])
def test_no_suggestion_block_without_a_right_side_suggestion(finding):
    assert suggestion_block(finding) is None


def test_suggestion_block_for_an_inline_comment_requires_exact_coverage():
    exact = place_one(f(8, start_line=3, suggestion="fix()"), FILES)
    assert suggestion_block(exact) == "```suggestion\nfix()\n```"
    narrowed = place_one(f(25, start_line=5, suggestion="fix()"), FILES)
    assert suggestion_block(narrowed) is None
    forged = InlineComment("src/a.py", 8, "RIGHT", None, f(8, start_line=3, suggestion="fix()"), True)
    assert suggestion_block(forged) is None  # claims ok, but covers only line 8 of 3..8
    left = place_one(f(9, side="LEFT", suggestion="fix()"), FILES)
    assert left.suggestion_ok is False and suggestion_block(left) is None


def test_a_leading_slash_and_old_mac_line_ends_are_undone():
    assert normalize_path("/src/a.py") == "src/a.py" and normalize_path(" .\\src\\a.py ") == "src/a.py"
    # a suggestion keeps the code exactly: bare CR line ends become LF, trailing spaces stay
    assert suggestion_block(f(5, suggestion="a  \rb  \n")) == "```suggestion\na  \nb  \n```"


def test_comments_on_one_line_are_ordered_single_first_then_most_severe():
    """Several findings on one line: the single-line one first, then the most severe (not the title)."""
    found = [f(5, start_line=1, severity="critical", title="a"), f(5, severity="low", title="a"),
             f(5, severity="critical", title="z"), f(5, severity="medium", title="b")]
    placed = place_findings(found, FILES).inline
    assert [(c.start_line, c.finding.severity) for c in placed] == [
        (None, "critical"), (None, "medium"), (None, "low"), (1, "critical")]


def test_only_slashes_are_stripped_from_the_front_and_only_newlines_from_a_suggestion():
    assert normalize_path("//Xsrc/a.py") == "Xsrc/a.py"
    assert suggestion_block(f(5, suggestion="return X\n\n")) == "```suggestion\nreturn X\n```"


def test_a_placed_comment_cannot_be_moved_afterwards():
    """Placement is decided once, against the lines GitHub accepts; nothing downstream may change a line."""
    (c,) = place_findings([Finding("pr-1:0000:0", "a/x.py", 2, None, "RIGHT", "high", "bug", "t", "b", None)],
                          {"a/x.py": CommentableLines(((1, 5),), ())}).inline
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.line = 3
