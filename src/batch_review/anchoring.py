"""Finding -> an inline comment on a line GitHub accepts, or an entry in the review body (pure).

The check uses the commentable lines recorded in the manifest, the same rule GitHub applies: the line
must be inside a hunk on its side, and a multi-line comment must start and end in the same hunk. What
fails the check is never dropped; it goes to the body with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .config import severity_rank


@dataclass(frozen=True)
class InlineComment:
    path: str
    line: int
    side: str
    start_line: int | None
    finding: object
    suggestion_ok: bool  # the comment covers exactly the lines the suggestion replaces

    @property
    def start_side(self) -> str | None:
        return self.side if self.start_line is not None else None


@dataclass
class Placement:
    inline: list[InlineComment]
    unplaced: list[tuple[object, str]]


def normalize_path(path: str) -> str:
    path = (path or "").strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    if path[:2] in ("a/", "b/"):
        path = path[2:]
    return path.lstrip("/")


def place_one(finding, commentable: Mapping) -> InlineComment | str:
    """The inline comment for a finding, or why it cannot be one."""
    path = finding.path if finding.path in commentable else normalize_path(finding.path)
    lines = commentable.get(path)
    if lines is None:
        return "file not in the diff"
    if finding.line is None:
        return "no line given"
    side = finding.side
    if not lines.contains(side, finding.line):
        where = "old" if side == "LEFT" else "new"
        return f"{where} line {finding.line} is not part of the diff"
    start = finding.start_line
    if start is not None and not lines.same_hunk(side, start, finding.line):
        # keep the comment on its last line; the suggestion no longer replaces exactly those lines
        return InlineComment(path, finding.line, side, None, finding, False)
    return InlineComment(path, finding.line, side, start, finding,
                         finding.suggestion is not None and side == "RIGHT")


def place_findings(findings: Sequence, commentable: Mapping) -> Placement:
    inline: list[InlineComment] = []
    unplaced: list[tuple[object, str]] = []
    for f in findings:
        placed = place_one(f, commentable)
        if isinstance(placed, str):
            unplaced.append((f, placed))
        else:
            inline.append(placed)
    inline.sort(key=lambda c: (c.path, c.line, c.side))
    return Placement(inline, unplaced)


def cap_inline(placement: Placement, max_inline: int) -> Placement:
    """At most `max_inline` inline comments, the most severe kept; the rest go to the body."""
    if len(placement.inline) <= max_inline:
        return placement
    ranked = sorted(placement.inline, key=lambda c: (-severity_rank(c.finding.severity), c.path, c.line))
    keep = set(map(id, ranked[:max_inline]))
    overflow = [(c.finding, f"over the limit of {max_inline} inline comments per review")
                for c in ranked[max_inline:]]
    return Placement([c for c in placement.inline if id(c) in keep], placement.unplaced + overflow)


def suggestion_block(finding) -> str:
    """A ```suggestion block whose fence is longer than any backtick run inside, so it cannot be escaped."""
    code = (finding.suggestion or "").replace("\r\n", "\n").rstrip("\n")
    longest = run = 0
    for ch in code:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}suggestion\n{code}\n{fence}"
