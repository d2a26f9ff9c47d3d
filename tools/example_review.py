"""Write docs/example-review.md: a review exactly as the product composes it, for a made-up pull request.

The review body and the inline comments come from the product's own composer (findings/compose.py) for a
fixed example: pull request #42 of octo-org/shop, with a finding of every severity, one on a removed line
and one off the diff. tests/findings/test_example_review.py regenerates it and compares, so the example
stays what a user gets.

    python tools/example_review.py                  # writes docs/example-review.md
    python tools/example_review.py --check          # exits 1 when the committed file is not what this writes
    python tools/example_review.py --html PAGE.html # also the page GitHub's parser renders, for a screenshot

The screenshot (docs/example-review.png) is taken from that page with headless Chromium:

    chromium --headless --hide-scrollbars --window-size=900,1500 --screenshot=docs/example-review.png PAGE.html
"""

from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path

from batch_review.core.vocabulary import Finding
from batch_review.findings.anchoring import InlineComment, suggestion_block
from batch_review.findings.compose import TargetReport, inline_body, review_body
from batch_review.markdown.html import render

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "example-review.md"
HEAD = "4f2c9e1b7a3d5f6e8c0b1a2d3e4f5a6b7c8d9e0f"
DIGEST = "3c5e7a9b1d2f4a6c"


def _finding(path: str, line: int, severity: str, category: str, title: str, body: str, *, side: str = "RIGHT",
             start: int | None = None, suggestion: str | None = None) -> Finding:
    return Finding("pr-42:0000:0", path, line, start, side, severity, category, title, body, suggestion)


def example() -> TargetReport:
    """The made-up pull request's report, as poll/review.py would assemble it."""
    inline = [
        InlineComment("shop/payments.py", 12, "RIGHT", None, _finding(
            "shop/payments.py", 12, "info", "other", "Name the retry limit",
            "`3` appears twice in this function; a named constant says what it is."), False),
        InlineComment("shop/payments.py", 25, "RIGHT", None, _finding(
            "shop/payments.py", 25, "low", "security", "The log line prints the card's last four digits",
            "Card data at `info` level ends up in every log sink. Log the payment id instead."), False),
        InlineComment("shop/orders.py", 42, "RIGHT", None, _finding(
            "shop/orders.py", 42, "critical", "security", "SQL built from the request's `order_id`",
            "`order_id` comes from the query string and is pasted into the statement: a crafted id reads "
            "or deletes any order. Pass it as a parameter.",
            suggestion='    cursor.execute("SELECT * FROM orders WHERE id = %s", (order_id,))'), True),
        InlineComment("shop/payments.py", 19, "RIGHT", 17, _finding(
            "shop/payments.py", 19, "high", "bug", "The retry loop never stops while the gateway keeps failing",
            "`attempt` is reset inside the loop, so a gateway that answers 503 forever keeps this request "
            "busy forever. Count the attempts outside the loop.", start=17), False),
        InlineComment("shop/refunds.py", 30, "LEFT", None, _finding(
            "shop/refunds.py", 30, "medium", "concurrency", "The lock that kept two refunds of one order apart "
            "is gone", "Two refund requests for the same order can now both pass the balance check.",
            side="LEFT"), False),
    ]
    off_diff = _finding("shop/api.py", 88, "medium", "api-misuse", "A caller still expects the old return value",
                        "`charge()` now returns a `Payment`, but `checkout()` compares it with `True`.")
    return TargetReport(
        key="pr-42", label="#42", repository="octo-org/shop", head_sha=HEAD, model="gpt-5-mini", number=42,
        paths=frozenset({"shop/payments.py", "shop/orders.py", "shop/refunds.py", "shop/api.py"}),
        inline=inline, unplaced=[(off_diff, "new line 88 is not part of the diff")], files_reviewed=4, requests=1,
        summary="Adds retries with backoff to card payments, builds the order lookup by hand, and moves refunds "
                "to the new gateway client.")


def pieces() -> tuple[str, list[tuple[InlineComment, str]]]:
    """(the review body, each inline comment with its body) as the product composes them."""
    report = example()
    comments = sorted(report.inline, key=lambda c: (c.path, c.line))  # the order GitHub shows the threads in
    return review_body(report, DIGEST), [(c, inline_body(c, suggestion_block(c))) for c in comments]


def _where(c: InlineComment) -> str:
    lines = f"lines {c.start_line}-{c.line}" if c.start_line else f"line {c.line}"
    return f"`{c.path}` {'old ' if c.side == 'LEFT' else ''}{lines}"


def document() -> str:
    body, comments = pieces()
    out = ["# An example review", "",
           "What batch-review posts on a pull request, composed by the product's own code "
           "(`findings/compose.py`) for a made-up pull request, #42 of octo-org/shop (so its links lead "
           "nowhere). `python tools/example_review.py` writes this page; "
           "`tests/findings/test_example_review.py` fails when it is not what the product posts.", "",
           "![The example review as github.com renders it](example-review.png)", "",
           "The review body (its first line is the hidden marker that lets later runs find it):", "",
           "---", "", body, "", "---", "",
           "The inline comments, each on its line of the diff (GitHub shows them in file order):", ""]
    for c, text in comments:
        out += [f"**On {_where(c)}:**", "", text, "", "---", ""]
    return "\n".join(out).rstrip("\n-") + "\n\n---\n\n" + COMPARED


COMPARED = """## Why it looks like this

Two review bots many people already read set the expectations; this layout keeps what reads well in them
and leaves out what our checks refuse or what hides findings.

- **pr-agent** (qodo-ai/pr-agent) posts a "PR Reviewer Guide": a table of sections, each opened by an emoji
  with its name (effort, tests, security, focus areas), and each issue linked to its lines in the pull
  request's Files view, `…/pull/<n>/files#diff-<sha256 of the path>R<line>` (its GitHub provider's
  `get_line_link`). Taken: that anchor for every finding on the diff, and marks that keep their word.
  Not taken: the table; for a handful of findings one line of counts reads faster than a table.
- **CodeRabbit** opens its review with the count of actionable comments, labels each inline comment with a
  coloured mark and a word (`🟠 Major`), and puts findings on lines outside the diff in the review body under
  their own heading, folded in `<details>`. Taken: counts first, the mark and the word on every finding,
  the findings off the diff in the body under their own heading. Not taken: folding. A `<details>` block is
  raw HTML, which the markdown check refuses in anything we post; also, folded findings get missed (tools
  that read those reviews have had to learn to dig out the "Outside diff range" section, e.g.
  dsifry/goodtogo#7).

The marks (🔴 critical, 🟠 high, 🟡 medium, 🔵 low, ⚪ info) read in light and dark themes, and the word
beside each mark carries the severity for screen readers and colour-blind readers.
"""


PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>batch-review: example review</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif, "Noto Color Emoji";
       font-size: 14px; line-height: 1.5; color: #1f2328; background: #fff; margin: 16px; max-width: 860px; }}
.box {{ border: 1px solid #d1d9e0; border-radius: 6px; margin-bottom: 16px; }}
.head {{ background: #f6f8fa; border-bottom: 1px solid #d1d9e0; padding: 8px 16px; color: #59636e; }}
.head b {{ color: #1f2328; }}
.text {{ padding: 8px 16px; }}
h2 {{ font-size: 1.5em; border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; margin: .5em 0 16px; }}
h3 {{ font-size: 1.25em; margin: 24px 0 16px; }}
a {{ color: #0969da; text-decoration: none; }}
code {{ background: #eff1f3; border-radius: 6px; padding: .2em .4em; font-size: 85%;
       font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }}
pre {{ background: #f6f8fa; border-radius: 6px; padding: 16px; overflow: auto; font-size: 85%; }}
pre code {{ background: none; padding: 0; }}
ul {{ padding-left: 2em; }}
p, ul, pre {{ margin: 0 0 16px; }}
hr {{ height: .25em; background: #d1d9e0; border: 0; margin: 24px 0; }}
</style></head><body>
{boxes}
</body></html>
"""


def page() -> str:
    """The review as github.com lays it out: the body, then each inline comment, rendered by cmark-gfm."""
    body, comments = pieces()
    boxes = [_box("<b>github-actions</b> bot reviewed", render(body, unsafe=False))]
    boxes += [_box(f"<b>github-actions</b> bot commented on {html.escape(_where(c).replace('`', ''))}",
                   render(text, unsafe=False)) for c, text in comments]
    return PAGE.format(boxes="\n".join(boxes))


def _box(head: str, rendered: str) -> str:
    return f'<div class="box"><div class="head">{head}</div><div class="text">{rendered}</div></div>'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/example-review.md is stale")
    parser.add_argument("--html", type=Path, help="also write the rendered page here")
    args = parser.parse_args(argv)
    text = document()
    if args.html:
        args.html.write_text(page(), encoding="utf-8")
    if args.check:
        if DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC.relative_to(ROOT)} is stale: run python tools/example_review.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
