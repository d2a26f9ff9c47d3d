"""markdown_html, markdown_safety and markdown_check piece by piece: the tree GitHub's parser gives, the safe
markdown written back for each construct a model may use, and each rule of the check on its own (so a
broken writer or a dropped rule fails here, not only somewhere in a composed body)."""

from __future__ import annotations

import pytest

from batch_review.markdown import safety as ms
from batch_review.markdown.check import check, unit_ranges
from batch_review.markdown.html import Comment, Node, parse_html

from ..markdown_view import shows

J = ms.JOINER


# --- the tree -------------------------------------------------------------------------------------------

def test_self_closing_tags_declarations_and_instructions_stay_where_they_were_written():
    (p,) = parse_html("<p>a<br />b<x/><!DOCTYPE y><?pi z?><![CDATA[w]]></p>").root.children
    assert p.tag == "p" and p.closed and p.end_raw == "</p>"
    a, br, b, x, decl, pi, cdata = p.children
    assert (a, b) == ("a", "b")
    assert (br.tag, br.raw, br.closed) == ("br", "<br />", True)
    assert (x.tag, x.raw, x.closed) == ("x", "<x/>", True)
    assert (decl, pi, cdata) == ("<!DOCTYPE y>", "<?pi z?>", "<![CDATA[w]]>")  # as written
    assert parse_html("<![if x]>").root.children == ["<![if x]>"]


def test_open_and_stray_tags_and_comments_are_recorded():
    tree = parse_html("<div><span>x</div></em><!-- c -->")
    div, comment = tree.root.children
    assert div.closed and not div.children[0].closed and tree.stray_end_tags == ["em"]
    assert isinstance(comment, Comment) and comment.text == " c "
    assert isinstance(div.children[0], Node) and div.children[0].raw == "<span>"


# --- model markdown written back safely ----------------------------------------------------------------------

@pytest.mark.parametrize("model, safe", [
    ("1. first\n\n   second para\n2. x", "1. first\n\n   second para\n2. x"),  # continuation lines indented
    ("3. a\n4. b", "3. a\n4. b"),  # an ordered list keeps its start
    ("5) five", "5. five"),
    ("- a\n  - nested\n- c", "- a\n\n  - nested\n- c"),
    ("> quote\n>\n> two", "> quote\n>\n> two"),
    ("---", "* * *"),
    ("| a | b |\n|---|---|\n| 1 | 2 |", "a · b\n\n1 · 2"),  # a table as rows: no table syntax can form
    ("- [x] done\n- [ ] todo", "- \\[x\\]  done\n- \\[ \\]  todo"),
    ("a  \nb", "a\\\nb"),  # a hard line break
    ("**bold** *em* `code`", "**bold** *em* `code`"),
    ("*&#32;x*", "x"),  # emphasis around a space would not render as emphasis: the text alone
    ("[text](https://x.test)", f"text (https\\:{J}//x\\.test)"),  # the address shown, not linked
    ("[https://x.test](https://x.test)", f"https\\:{J}//x\\.test"),  # shown once when the text is the address
    ("![alt](http://i.png)", f"\\[image\\: alt\\] \\(http\\:{J}//i\\.png\\)"),
    ("<input type=text>", "\\<input type\\=text\\>"),
    ("<pre><!-- hi --></pre>", "```\n<!-- hi -->\n```"),
    ("<details>\n\n# in\n\n</details>", "\\<details\\>\n\n**in**\n\n\\</details\\>"),
    ("<![CDATA[x]]> y", "\\<\\!\\[CDATA\\[x\\]\\]\\> y"),
    ("1. a\n\n       code", "1. a\n\n   ```\n   code\n   ```"),
    ("# ", ""),
])
def test_each_construct_is_written_back_in_the_safe_subset(model, safe):
    assert ms.block(model) == safe
    assert check(safe) == []


def test_inline_flattens_blocks_and_keeps_code_spans():
    assert ms.inline("<pre><!-- hi --></pre>") == "`<!-- hi -->`"
    assert ms.inline("# Head\n\n```\ncode\n```") == "Head `code`"
    assert ms.inline("a  \nb") == "a b" and ms.inline("  ") == ""


def test_plain_text_for_annotations():
    assert ms.plain("a\n b") == "a\n b" and ms.plain("a\n b", one_line=True) == "a b"
    assert ms.plain("<!-- batch-review:v1 x --> @me") == f"<!-{J}- batch-review:v1 x --> @{J}me"
    assert ms.plain("abcdef", 4) == "abc…"


def test_literal_is_clipped_before_it_is_fenced():
    assert ms.literal("abcdef", 4) == "```text\nabc…\n```"
    assert ms.literal("a ```` b") == "`````text\na ```` b\n`````"


def test_deep_nesting_is_flattened_to_text_not_recursed():
    deep = "<span>" * 40 + "@x" + "</span>" * 40
    out = ms.block(deep)
    assert "@" + J + "x" in out and check(out) == [] and shows(out, "@x")


# --- each rule of the check --------------------------------------------------------------------------------

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
