"""markdown/safety.py piece by piece: the safe markdown written back for each construct a model may use (so a
broken writer fails here, not only somewhere in a composed body). The tree is tested in test_html.py, each
rule of the check in test_check.py."""

from __future__ import annotations

import pytest

from batch_review.markdown import safety as ms
from batch_review.markdown.check import check

from ..markdown_view import shows

J = ms.JOINER


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
