"""The words people read about findings: severity labels, counts in the right number, Files view links (pure).

- A severity is shown as a coloured mark and its word (`🔴 critical`): the mark is seen at a glance in
  light and dark themes, the word stays for screen readers, for copy and paste and for colour blindness.
  Review bodies, inline comments, check run text and the job summary all use these labels.
- `counted` and `plural` (core/vocabulary.py, re-exported here): "1 request", "2 findings"; never "(s)".
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

from ..core.vocabulary import LEFT, SEVERITIES, counted, plural

__all__ = ["MARKS", "counted", "files_view_address", "label", "plural", "pull_prefix", "severity_counts",
           "severity_of"]

MARKS = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵", "info": "⚪"}


def severity_of(value: str) -> str:
    """A known severity, or medium (what results.py shows an unknown one as)."""
    return value if value in SEVERITIES else "medium"


def label(severity: str, *, bold: bool = True) -> str:
    """`🔴 **critical**`: the mark, then the word (bold in markdown)."""
    severity = severity_of(severity)
    return f"{MARKS[severity]} {f'**{severity}**' if bold else severity}"


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
