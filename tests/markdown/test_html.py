"""markdown/html.py: the tree of raw HTML that GitHub's parser leaves in a body: tags where they were written,
open and stray tags, comments."""

from __future__ import annotations

from batch_review.markdown.html import Comment, Node, parse_html


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
