"""A one-click suggestion shows what it applies (issue 21, item 4). The attacker is the model (or whoever
steers it through the pull request's text): it writes a suggestion holding zero-width or bidi characters
(U+200B, U+202E, U+2066, U+2069; in general Unicode format or control characters other than tab) that the
replaced lines did not hold. Posted inside a ```suggestion block, a reviewer sees one thing and one click
commits another. Such a suggestion is shown as text, each invisible character marked, after a one-line
warning; characters the replaced lines already hold may stay (a file may legitimately contain them).
"""

from __future__ import annotations

import html
import re
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from batch_review.core.diffs import CommentableLines, parse_diff
from batch_review.core.vocabulary import Finding
from batch_review.findings.anchoring import (
    InlineComment,
    held_characters,
    invisible,
    invisible_lines,
    place_findings,
    place_one,
    suggestion_block,
)
from batch_review.findings.compose import inline_body
from batch_review.ledger.manifest import ReviewedFile
from batch_review.markdown import safety as ms
from batch_review.markdown.check import check

FILES = {"a.py": CommentableLines(right=((1, 10),), left=((1, 10),))}
HOSTILE = ["\u200b", "\u202e", "\u2066", "\u2069", "\u200f", "\ufeff", "\u00ad", "\u2028", "\x07", "\x1b", "\ud800"]


def f(suggestion: str, line: int = 5, start: int | None = None) -> Finding:
    return Finding("pr-1:0000:0", "a.py", line, start, "RIGHT", "high", "bug", "T", "B", suggestion)


def comment(suggestion: str, held: str = "", line: int = 5, start: int | None = None) -> InlineComment:
    return InlineComment("a.py", line, "RIGHT", start, f(suggestion, line, start), True, held=held)


def rendered_text(markdown: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", ms.render(markdown)))


def offered(block: str | None) -> bool:
    return block is not None and 'lang="suggestion"' in ms.render(block)


@pytest.mark.parametrize("char", HOSTILE)
def test_an_invisible_character_the_lines_do_not_hold_is_never_offered(char):
    block = suggestion_block(comment(f"x = 1{char}  # fine"))
    assert not offered(block) and "```suggestion" not in block
    first, rest = block.split("\n\n", 1)
    assert "\n" not in first and first.startswith("Suggested change, shown as text and not offered")
    assert f"U\\+{ord(char):04X}" in first  # the warning names it (escaped markdown)
    shown = rendered_text(block)
    assert f"x = 1<U+{ord(char):04X}>  # fine" in shown  # marked where it is
    assert not invisible(shown.replace("\n", "")), "the text shown holds no invisible character"


def test_the_issues_characters_are_named_in_the_warning():
    block = suggestion_block(comment("if ok\u202e\u2066:\u2069\u200b"))
    warning = rendered_text(block.split("\n\n", 1)[0])
    assert ("(U+202E RIGHT-TO-LEFT OVERRIDE, U+2066 LEFT-TO-RIGHT ISOLATE, U+2069 POP DIRECTIONAL ISOLATE, "
            "U+200B ZERO WIDTH SPACE)") in warning


def test_characters_the_replaced_lines_hold_may_stay():
    assert suggestion_block(comment("s = 'a\u200bb'", held="\u200b")) == "```suggestion\ns = 'a\u200bb'\n```"
    block = suggestion_block(comment("s = 'a\u200bb\u202e'", held="\u200b"))  # one kept, one added
    assert not offered(block) and "U\\+202E" in block and "U\\+200B" not in block.split("\n\n", 1)[0]
    assert "a<U+200B>b<U+202E>" in rendered_text(block)  # both marked in what is shown


@pytest.mark.parametrize("code", ["\tindented()", "a()\r\nb()", "a()\rb()", "x = 'é ü 漢字 🙂'"])
def test_tabs_line_ends_and_visible_unicode_are_offered(code):
    assert offered(suggestion_block(comment(code)))


def test_a_finding_alone_has_no_lines_held():
    assert not offered(suggestion_block(f("a\u200bb")))
    assert offered(suggestion_block(f("ab")))


def test_more_than_five_are_counted():
    chars = "\u200b\u200c\u200d\u200e\u200f\u202a\u202b"
    first = suggestion_block(comment("x" + chars)).split("\n\n", 1)[0]
    assert first.count("U\\+20") == 5 and "and 2 more" in first


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from(HOSTILE + list("ab \t\r\n`~") + ["\u200c", "\u2067", "\x00"]), min_size=1),
       st.text(st.sampled_from(HOSTILE[:4] + ["\u200c"]), max_size=3))
@example("a\u202eb", "\u202e")
def test_a_suggestion_is_offered_only_when_it_adds_nothing_unseen(code, held):
    c = comment(code, held)
    block = suggestion_block(c)
    if block is None:
        assert not code.strip()
        return
    normalized = code.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")
    adds = set(invisible(normalized)) - set(held)
    assert offered(block) == (not adds)
    if offered(block):
        assert block.split("\n", 1)[1].rsplit("\n", 1)[0] == normalized  # exactly what it applies
    body = inline_body(c, block)
    assert check(body) == [], "the inline comment passes the markdown check"
    if adds:
        assert 'lang="suggestion"' not in ms.render(body)


# --- what the replaced lines hold: recorded at submit, read at poll --------------------------------------

DIFF = """diff --git a/a.py b/a.py
--- a/a.py
+++ b/a.py
@@ -1,3 +1,4 @@
 keep = 1
-old = 2
+new = 'x\u200by'
+bidi = '\u202e'  # \u2066 isolate
 tail = 3\u00a0
"""


def test_submit_records_the_invisible_characters_of_new_side_lines():
    (fd,) = parse_diff(DIFF)
    assert invisible_lines(fd.hunks) == [[2, "\u200b"], [3, "\u202e\u2066"]]  # a no-break space is visible
    reviewed = ReviewedFile.from_json({"RIGHT": [[1, 4]], "LEFT": [[1, 3]], "invisible": invisible_lines(fd.hunks)})
    assert ReviewedFile.from_json(reviewed.to_json()) == reviewed  # the manifest keeps them
    assert held_characters({"a.py": reviewed.invisible}) == {"a.py": {2: "\u200b", 3: "\u202e\u2066"}}
    assert ReviewedFile.from_json({"RIGHT": [[1, 2]]}).invisible is None
    assert held_characters({"b.py": None, "c.py": []}) == {}


def test_placement_gives_a_comment_what_its_lines_hold():
    held = {"a.py": {2: "\u200b", 3: "\u202e", 9: "\u2066"}}
    multi = place_one(f("new = 'xy'", line=3, start=2), FILES, held)
    assert multi.held == "\u200b\u202e"  # lines 2 and 3: not line 9
    assert place_one(f("x", line=9), FILES, held).held == "\u2066"
    assert place_one(f("x", line=4), FILES, held).held == ""
    left = Finding("pr-1:0000:0", "a.py", 3, None, "LEFT", "high", "bug", "T", "B", None)
    assert place_one(left, FILES, held).held == ""  # the old side: no suggestion applies there
    assert place_findings([f("x", line=2)], FILES, invisible=held).inline[0].held == "\u200b"
    assert place_one(f("x", line=2), FILES).held == ""  # nothing recorded: nothing held


def test_unicode_categories_covered():
    """Every format and control character other than tab (and the line ends a suggestion is split on)."""
    for cp in range(0x110000):
        c = chr(cp)
        if unicodedata.category(c) in ("Cf", "Cc") and c not in "\t\n\r":
            assert invisible(c) == c, hex(cp)


@pytest.mark.parametrize(("text", "found"), [
    ("plain ascii\tand tabs\r\n", ""),
    ("accents é, greek α, a no-break\u00a0space, private use \ue000, an ideographic\u3000space", ""),
    ("b\u202ea\u200bc\u202e\n\x07", "\u202e\u200b\x07"),  # each once, in order of first appearance
    ("line\u2028separator and \ud800 a lone surrogate", "\u2028\ud800"),
])
def test_invisible_finds_exactly_the_unseen_characters(text, found):
    assert invisible(text) == found


def test_a_change_without_invisible_characters_records_none(world):
    """The common case costs one str.isprintable over the diff, and the manifest is as before."""
    assert world.submit() == 0
    assert not any("invisible" in entry for files in world.manifest()["files"].values() for entry in files.values())
