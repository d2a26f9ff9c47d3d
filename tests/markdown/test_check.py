"""markdown/check.py: each rule of the check on its own, what it lets through, and units that must keep their
blocks (so a dropped rule fails here, not only somewhere in a composed body)."""

from __future__ import annotations

import pytest

from batch_review.markdown.check import check, unit_ranges

MARKER = "<!-- batch-review:v1 target=pr-1 head=abcdef1 manifest=0123456789abcdef part=1 -->"


@pytest.mark.parametrize("body, leading, problem", [
    ("text", 1, "line 1 is not one of our marker comments"),
    (MARKER, 2, "line 2 is not one of our marker comments"),
    (f"{MARKER}\n<!-- x -->", 1, "1 piece of raw HTML or HTML comment besides ours"),
    (f"{MARKER}\n\n<!-- x -->", 1, "an HTML comment that is not ours"),
    ("a <!-- x --> b", 0, "an HTML comment inside the text"),
    ("<div>\nx", 0, "<div> left open"),
    ("</em> x", 0, "end tags without a start: ['em']"),
    ("<b>x</b>", 0, "raw HTML <b>"),
    ("![](x.png)", 0, "an image"),
    ("[a](https://evil.test)", 0, "a link we did not make: 'https://evil.test'"),
    ("ping @admin", 0, "a live mention: 'ping @admin'"),
    ("see #12", 0, "a live issue reference: 'see #12'"),
    ("see GH-3", 0, "a live issue reference: 'see GH-3'"),
    ("go x://y", 0, "a live URL: 'go x://y'"),
    ("go www.x.test", 0, "a link we did not make: 'http://www.x.test'"),
    ("x\n\n[r]: /u", 0, "line 3 is a link reference definition"),
    ("<!-- c --> tail", 0, "text outside any block (raw HTML): 'tail'"),
    ("<div>x</div>", 0, "<div> outside markdown (raw HTML)"),
])
def test_each_rule_of_the_check_names_its_problem(body, leading, problem):
    assert problem in check(body, leading=leading)


def test_what_the_check_lets_through():
    assert check(f"{MARKER}\n{MARKER}\ntext", leading=2) == []
    assert check("[ours](https://github.com/acme/widgets/blob/x)", links=("https://github.com/acme/widgets/blob/",)) == []
    assert check("`@admin #1 https://x` and\n\n```\n@admin\n[r]: /u\n```") == []  # code is not linked
    assert check("[x](https://evil)", links=("",)) == ["a link we did not make: 'https://evil'"]


def test_units_must_keep_their_blocks():
    units = ["**high** · one", "> quote\n> two", "**high** · three"]
    assert unit_ranges(units) == [(1, 1), (3, 4), (6, 6)]
    assert unit_ranges(units, 3) == [(3, 3), (5, 6), (8, 8)]
    assert unit_ranges(["a", "b"], sep="\n") == [(1, 1), (2, 2)]
    body = "\n\n".join(units)
    assert check(body, units=unit_ranges(units)) == []
    leaking = ["**high** · one", "> quote", "continued lazily", "**high** · three"]
    problems = check("\n".join(leaking), units=unit_ranges(leaking, sep="\n"))
    assert problems == ["a block over lines 2-4 crosses the edge of a unit"]  # lazy continuation lines
    assert check("x\n\ny", units=[(3, 3)]) == ["a block over lines 1-1 crosses the edge of a unit"]
