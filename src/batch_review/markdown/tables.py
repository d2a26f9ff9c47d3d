"""Tables and lines for people: aligned text for the terminal, inert markdown for the job summary (pure).

Whatever goes into a markdown cell or line may be anyone's words (a pull request's title, a branch name,
a label, a service's error message): `md_escape` redacts secrets first (an escaped secret would no
longer look like one), then writes the text through markdown_safety.escape, so GitHub renders it as the
same characters and nothing else: no mention, issue reference, link, image, HTML, heading or table edge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..core.redact import redact
from .safety import escape


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def fmt(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    lines = [fmt(cells[0]), "  ".join("-" * w for w in widths)]
    lines.extend(fmt(r) for r in cells[1:])
    return "\n".join(line.rstrip() for line in lines)


def md_escape(text: object) -> str:
    """Anyone's text as inert markdown on one line: redacted, escaped, whitespace folded to single spaces."""
    return escape(" ".join(redact(str(text)).split()))


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    out = ["| " + " | ".join(md_escape(h) for h in headers) + " |",
           "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|"]
    out.extend("| " + " | ".join(md_escape(c) for c in row) + " |" for row in rows)
    return "\n".join(out)


def md_list(items: Iterable[object]) -> list[str]:
    """One inert markdown list item per entry."""
    return [f"- {md_escape(item)}" for item in items]
