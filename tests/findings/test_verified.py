"""verified.py: the verify round's lines in the body, unverified marks and the job summary's dropped
findings; model reasons stay inert when GitHub renders them."""

from __future__ import annotations

from batch_review.core.vocabulary import Finding
from batch_review.findings.anchoring import InlineComment
from batch_review.findings.compose import TargetReport, review_body, summary_markdown
from batch_review.findings.verified import UNVERIFIED, mark_unverified, verify_lines
from batch_review.markdown.check import check


def finding(title: str, line: int = 3) -> Finding:
    return Finding("pr-1:0000:0", "a.py", line, None, "RIGHT", "high", "bug", title, "body", None)


def report(**kw) -> TargetReport:
    return TargetReport(key="pr-1", label="#1", repository="acme/widgets", head_sha="a" * 40, model="m", **kw)


def test_the_body_counts_what_was_dropped_and_what_is_unverified_and_says_nothing_otherwise():
    hostile = "@admin see [x](https://evil.example) <img src=x> #12"
    r = report(refuted=[(finding("Wrong"), hostile), (finding("Also wrong"), "")], unverified=1,
               unverified_why="the verify batch ended expired")
    assert verify_lines(r) == ["2 candidate findings were checked and dropped (the job summary and SARIF list "
                               "them with the reasons).", "1 finding is posted unverified: the verify batch "
                               "ended expired."]
    assert verify_lines(report(refuted=[(finding("x"), "y")]))[0].startswith("1 candidate finding was checked")
    assert verify_lines(report()) == []
    body = review_body(r, "d" * 64)
    assert "2 candidate findings were checked and dropped" in body and "Wrong" not in body
    assert check(body, leading=1, links=("https://github.com/acme/widgets/blob/",)) == []
    summary = summary_markdown(r)
    assert "dropped after a second look" in summary and "admin see x" in summary
    assert check(summary) == []  # the reason is shown, inert: no mention, link, image or reference


def test_unverified_findings_are_marked_inline_and_in_the_body():
    a, b, c = finding("A", 3), finding("B", 4), finding("C", 5)
    r = report(inline=[InlineComment("a.py", 3, "RIGHT", None, a, False),
                       InlineComment("a.py", 4, "RIGHT", None, b, False, "start line 1 is in another hunk")],
               unplaced=[(c, "new line 5 is not part of the diff")])
    marked = mark_unverified(r, lambda f: f.title in ("B", "C"))
    assert marked.inline[0].note is None and marked.inline[1].note.endswith("; " + UNVERIFIED)
    assert marked.unplaced[0][1] == "new line 5 is not part of the diff · " + UNVERIFIED
