"""The words people read about findings: severity labels, counts in the right number, Files view links (pure).

- A severity is shown as a coloured mark and its word (`🔴 critical`): the mark is seen at a glance in
  light and dark themes, the word stays for screen readers, for copy and paste and for colour blindness.
  Review bodies, inline comments, check run text and the job summary all use these labels.
- `counted(2, "finding")` is "2 findings", `counted(1, "request")` "1 request": no "(s)" anywhere.
- `files_view_address`: a finding's line in the pull request's Files view,
  `…/pull/<n>/files#diff-<sha256 of the path>R<line>` (L<line> on the old side), the anchor GitHub gives
  each file of a pull request's diff. The address is made of our own parts only (the number, the hex
  digest, the line); the file name, which is the author's text, never appears in it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from urllib.parse import quote

from ..core.vocabulary import LEFT, SEVERITIES

MARKS = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵", "info": "⚪"}


def severity_of(value: str) -> str:
    """A known severity, or medium (what results.py shows an unknown one as)."""
    return value if value in SEVERITIES else "medium"


def label(severity: str, *, bold: bool = True) -> str:
    """`🔴 **critical**`: the mark, then the word (bold in markdown)."""
    severity = severity_of(severity)
    return f"{MARKS[severity]} {f'**{severity}**' if bold else severity}"


def plural(n: int, noun: str) -> str:
    """The noun in the number n asks for: `finding`/`findings`; the last word of a phrase changes
    (`check run` -> `check runs`)."""
    if n == 1:
        return noun
    head, _, last = noun.rpartition(" ")
    if last.endswith(("s", "x", "ch", "sh")):
        last += "es"
    elif last.endswith("y") and last[-2:-1] not in ("a", "e", "i", "o", "u"):
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def counted(n: int, noun: str) -> str:
    """"1 finding", "2 findings", "1,200 requests"."""
    return f"{n:,} {plural(n, noun)}"


def severity_counts(severities: Iterable[str], *, marks: bool = True) -> str:
    """"🔴 2 critical · 🔵 5 low": most severe first, only the severities present ("" for none)."""
    counts = Counter(severity_of(s) for s in severities)
    parts = [f"{MARKS[s] + ' ' if marks else ''}{counts[s]:,} {s}" for s in SEVERITIES[::-1] if counts[s]]
    return " · ".join(parts)


def files_view_address(server_url: str, repository: str, number: int, path: str, line: int | None,
                       side: str) -> str:
    """The line of `path` in pull request `number`'s Files view (its file when there is no line)."""
    digest = hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()
    anchor = f"diff-{digest}" + (f"{'L' if side == LEFT else 'R'}{line}" if line else "")
    return f"{pull_prefix(server_url, repository, number)}files#{anchor}"


def pull_prefix(server_url: str, repository: str, number: int) -> str:
    """`…/<owner>/<repo>/pull/<n>/`: every Files view link starts with it."""
    return f"{server_url}/{quote(repository)}/pull/{int(number)}/"
