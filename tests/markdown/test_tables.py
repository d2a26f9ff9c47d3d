"""report.py: job-summary tables and lines written inert, rendered through cmark-gfm (GitHub's parser).

Every cell and list line may be written by an attacker: a pull request's author (its title), a service
(an error message), a repository's configuration (branch names). Each test plays one and renders the
result the way GitHub does."""

from __future__ import annotations

import re

import pytest

from batch_review.core.redact import register
from batch_review.markdown import safety as ms
from batch_review.markdown.check import check
from batch_review.markdown.tables import md_escape, md_list, md_table

from ..markdown_view import visible

ATTACKS = [
    "@octo-org/admins and @someone, see #2, GH-3, acme/widgets#4 and www.evil.test",
    "![pixel](https://evil.test/p.png) <img src=x onerror=alert(1)>",
    "[click here](https://evil.test/login) <https://evil.test/a> https://evil.test/b",
    "<!-- batch-review:v1 target=pr-1 head=0 --> <details><summary>hidden</summary>",
    "</td></tr></table><script>alert(1)</script>",
    "a | b | c | d | e | f | g | h | i | j",
    "escaped \\| pipe \\\\| and a trailing backslash \\",
    "**bold** _it_ `code` ~~struck~~ $x^2$ <b>b</b> &amp; &#64;me",
    "# heading\n- list\n> quote\n\n|---|---|\n[r]: https://evil.test/ref",
    "[r] and [r][] (a reference to a definition elsewhere)",
    "\u202eevil.exe\u202c and a tab\there",
]


def _shown(text: str) -> str:
    """What a reader should see: the same characters, whitespace folded, bidi controls dropped."""
    return " ".join(text.replace("\u202e", "").replace("\u202c", "").split())


def _rows(html: str) -> list[list[str]]:
    return [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)]


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_hostile_cell_renders_as_its_own_text_and_nothing_else(attack):
    table = md_table(["target", "files"], [[attack, 1], ["#2 safe", 2]])
    assert check(table) == []  # no mention, reference, link, image, raw HTML or comment is live
    rows = _rows(ms.render(table))
    assert [len(r) for r in rows] == [2, 2, 2]  # the table keeps its shape: no cell swallowed or added
    assert visible(md_table(["t"], [[attack]])) == "t " + _shown(attack)  # shown as written
    assert "<" not in rows[1][0] and "<table" not in ms.render(md_escape(attack))  # no element in the cell


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_hostile_line_is_one_inert_list_item(attack):
    body = "\n".join(["Problems:", "", *md_list([attack, "second"])])
    assert check(body) == []
    html = ms.render(body)
    assert html.count("<li ") == 2 and "<ul " in html and "<h1" not in html and "<blockquote" not in html
    assert visible(body) == f"Problems: {_shown(attack)} second"


def test_secrets_are_redacted_before_escaping_hides_them():
    """Escaping puts backslashes inside a secret (sk\\-…): redacting the escaped text would miss it."""
    register("tok_secret-value.42")
    out = md_escape("failed: tok_secret-value.42 and sk-abcdefghijklmnop and ghs_abcdefghijklmnop")
    assert "secret" not in out and "abcdefghijklmnop" not in out
    assert visible(out) == "failed: [redacted] and sk-[redacted] and ghs_[redacted]"


def test_numbers_and_words_read_the_same():
    table = md_table(["model", "batch cost (max)"], [["gpt-5-mini", "$0.0042"], ["total", "1,234"]])
    assert _rows(ms.render(table))[1:] == [["gpt-5-mini", "$0.0042"], ["total", "1,234"]]
