"""Finding -> an inline comment on a line GitHub accepts, or an entry in the review body (pure).

The check uses the commentable lines recorded in the manifest, the same rule GitHub applies: the line
must be inside a hunk on its side, and a multi-line comment must start and end in the same hunk. What
fails the check is never dropped; it goes to the body with the reason.

A multi-line finding whose start line is outside the diff or in another hunk than its last line stays
inline as a comment on its last line only (`note` says so); its suggestion is then not offered, because
it would no longer replace exactly the lines it was written for.

A one-click suggestion shows what it applies: one that adds a character a reader cannot see (Unicode
format or control characters other than tab, line and paragraph separators, lone surrogates: U+200B,
U+202E, U+2066, …) that the lines it replaces do not already hold is shown as text with each such
character marked, after a one-line warning, never as a ```suggestion block. Submit records the
characters each commented-on line already holds (`invisible_lines`, the manifest's `invisible`); a line
without a record holds none.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from ..core.vocabulary import LEFT, RIGHT, Finding, severity_rank
from ..markdown import safety as ms


class Commentable(Protocol):  # diffs.CommentableLines
    def contains(self, side: str, line: int) -> bool: ...
    def same_hunk(self, side: str, start: int, end: int) -> bool: ...


@dataclass(frozen=True)
class InlineComment:
    path: str  # the path as the diff names it (the key of the commentable mapping)
    line: int
    side: str  # RIGHT | LEFT
    start_line: int | None  # None for a single-line comment; else < line, same hunk, same side
    finding: Finding
    suggestion_ok: bool  # the comment covers exactly the lines the suggestion replaces, on the RIGHT side
    note: str | None = None  # why the comment covers less than the finding asked for
    held: str = ""  # the invisible characters the commented-on lines already hold (a suggestion may keep them)

    @property
    def start_side(self) -> str | None:
        return self.side if self.start_line is not None else None


@dataclass
class Placement:
    inline: list[InlineComment]
    unplaced: list[tuple[Finding, str]]  # (finding, why it is not inline)


def _path_forms(path: str) -> list[str]:
    """The path, then with each of the model's decorations removed in turn."""
    path = path or ""
    forms = [path, path.strip().replace("\\", "/")]
    stripped = forms[-1]
    while stripped.startswith("./"):
        stripped = stripped[2:]
    forms.append(stripped)
    if stripped[:2] in ("a/", "b/"):
        forms.append(stripped[2:])
    forms.append(forms[-1].lstrip("/"))
    return forms


def normalize_path(path: str) -> str:
    """A path as a model may write it ("./src/a.py", "b/src/a.py", "/src/a.py") -> "src/a.py"."""
    return _path_forms(path)[-1]


def resolve_path(path: str, commentable: Container[str]) -> str | None:
    """The key of `commentable` (a mapping or a set of paths) the path names: exactly, else the first form
    with fewer decorations that is a key ("./a/x.py" finds a real top-level "a/x.py" before "x.py"); None
    when none is."""
    return next((form for form in _path_forms(path) if form in commentable), None)


def _side(side: str) -> str:
    return LEFT if str(side).strip().upper() == LEFT else RIGHT


def place_one(finding: Finding, commentable: Mapping[str, Commentable],
              invisible: Mapping[str, Mapping[int, str]] | None = None) -> InlineComment | str:
    """The inline comment for a finding, or why it cannot be one. `invisible`: per path, per new-side line,
    the invisible characters the line holds (held_characters of the manifest's files)."""
    placed = _place(finding, commentable)
    if isinstance(placed, str) or not invisible or placed.side != RIGHT:
        return placed
    on_lines = invisible.get(placed.path) or {}
    held = "".join(on_lines.get(n, "") for n in range(placed.start_line or placed.line, placed.line + 1))
    return replace(placed, held="".join(dict.fromkeys(held))) if held else placed


def _place(finding: Finding, commentable: Mapping[str, Commentable]) -> InlineComment | str:
    path = resolve_path(finding.path, commentable)
    if path is None:
        return "file not in the diff"
    if finding.line is None:
        return "no line given"
    lines, side, line = commentable[path], _side(finding.side), finding.line
    if not lines.contains(side, line):
        return f"{'old' if side == LEFT else 'new'} line {line} is not part of the diff"
    has_suggestion = bool(finding.suggestion) and side == RIGHT
    start = finding.start_line
    if start is None or start == line:
        return InlineComment(path, line, side, None, finding, has_suggestion)
    if start > line:
        note = f"start line {start} is after line {line}: commented on line {line} only"
    elif not lines.contains(side, start):
        note = f"start line {start} is not part of the diff: commented on line {line} only"
    elif not lines.same_hunk(side, start, line):
        note = f"start line {start} is in another hunk: commented on line {line} only"
    else:
        return InlineComment(path, line, side, start, finding, has_suggestion)
    return InlineComment(path, line, side, None, finding, False, note)


def _order(c: InlineComment) -> tuple:
    return (c.path, c.line, c.side, c.start_line or 0, -severity_rank(c.finding.severity), c.finding.title)


def place_findings(findings: Sequence[Finding], commentable: Mapping[str, Commentable], *,
                   max_inline: int | None = None,
                   invisible: Mapping[str, Mapping[int, str]] | None = None) -> Placement:
    """Inline comments sorted by (path, line, side); the rest, in the given order, with the reason.

    `max_inline` (None: no cap) applies cap_inline: reviews cap at 30 (reviewdog's figure), while check
    run annotations are sent 50 a request and need no cap. `invisible`: see place_one.
    """
    inline: list[InlineComment] = []
    unplaced: list[tuple[Finding, str]] = []
    for f in findings:
        placed = place_one(f, commentable, invisible)
        if isinstance(placed, str):
            unplaced.append((f, placed))
        else:
            inline.append(placed)
    inline.sort(key=_order)
    placement = Placement(inline, unplaced)
    return placement if max_inline is None else cap_inline(placement, max_inline)


def cap_inline(placement: Placement, max_inline: int) -> Placement:
    """At most `max_inline` inline comments, the most severe kept (ties: first by path and line); the
    others are appended to `unplaced`, in path and line order."""
    max_inline = max(0, max_inline)
    if len(placement.inline) <= max_inline:
        return placement
    ranked = sorted(placement.inline, key=lambda c: (-severity_rank(c.finding.severity), _order(c)))
    keep = {id(c) for c in ranked[:max_inline]}
    reason = f"over the limit of {max_inline} inline comments per review"
    overflow = [(c.finding, reason) for c in placement.inline if id(c) not in keep]
    return Placement([c for c in placement.inline if id(c) in keep], placement.unplaced + overflow)


def suggestion_block(target: Finding | InlineComment) -> str | None:
    """A ```suggestion block for GitHub, or None when none applies.

    For a finding: it has a suggestion and is on the RIGHT side with a line. For an inline comment: in
    addition, the comment covers exactly the finding's start_line..line. The fence is longer than any run
    of backticks in the suggestion, so the model's text cannot close the block early. A suggestion that
    adds invisible characters the replaced lines do not hold is `shown_not_offered` instead.
    """
    held = ""
    if isinstance(target, InlineComment):
        f = target.finding
        exact = target.line == f.line and (target.start_line or target.line) == (f.start_line or f.line)
        if not (target.suggestion_ok and target.side == RIGHT and exact):
            return None
        held = target.held
    else:
        f = target
        if f.line is None or _side(f.side) != RIGHT:
            return None
    if not f.suggestion or not f.suggestion.strip():
        return None
    code = f.suggestion.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")
    added = [c for c in invisible(code) if c not in held]
    if added:
        return shown_not_offered(code, added)
    fence = ms.fence_of(code)
    return f"{fence}suggestion\n{code}\n{fence}"


# --- characters a reader cannot see ---------------------------------------------------------------------

_INVISIBLE = frozenset({"Cf", "Cc", "Cs", "Zl", "Zp"})  # format, control, surrogate, line/paragraph separator
_LINE_ENDS = "\t\n\r"  # the tab GitHub shows; the line ends a suggestion is split on
MAX_NAMED = 5  # invisible characters named in the warning; the rest are counted


def _unseen(c: str) -> bool:
    return c not in _LINE_ENDS and unicodedata.category(c) in _INVISIBLE


@functools.cache
def _unseen_set() -> frozenset[str]:
    """Every invisible character, from this Python's Unicode tables (about 2,300; built once, when a text
    that str.isprintable refuses first needs it)."""
    return frozenset(c for c in map(chr, range(0x110000)) if _unseen(c))


def invisible(text: str) -> str:
    """The characters of `text` a reader cannot see, each once, in order of first appearance. Submit asks
    this of a whole change, so nothing here reads text character by character in Python: str.isprintable
    (false for every Cc, Cf, Cs, Zl and Zp character, and for Zs, Co and Cn ones) answers most texts, and
    the others are compared as a set."""
    if text.replace("\t", "").replace("\n", "").replace("\r", "").isprintable():
        return ""
    found = set(text) & _unseen_set()
    return "".join(sorted(found, key=text.index))


def _codepoint(c: str) -> str:
    return f"U+{ord(c):04X}"


def shown_not_offered(code: str, added: Sequence[str]) -> str:
    """The suggestion as text, every invisible character marked as <U+XXXX>, after a one-line warning
    naming the ones the replaced lines do not hold."""
    named = ", ".join(f"{_codepoint(c)} {unicodedata.name(c, '')}".rstrip() for c in added[:MAX_NAMED])
    more = f" and {len(added) - MAX_NAMED} more" if len(added) > MAX_NAMED else ""
    warning = (f"Suggested change, shown as text and not offered as a one-click suggestion: it adds characters "
               f"a reader cannot see that the lines it replaces do not hold ({named}{more}); each is marked "
               "below as <U+XXXX>.")
    marked = "".join(f"<{_codepoint(c)}>" if _unseen(c) else c for c in code)
    return f"{ms.escape(warning)}\n\n{ms.literal(marked)}"


def invisible_lines(hunks: Iterable) -> list[list]:
    """[[new line number, the invisible characters it holds], ...] for the new-side lines of a diff's hunks
    (unidiff lines) that hold any: what a suggestion replacing them may keep. Kept in the manifest. Submit
    calls it only when the diff's text holds an invisible character at all (one search of the text)."""
    out = []
    for hunk in hunks:
        for ln in hunk:
            if ln.target_line_no is not None and (chars := invisible(ln.value)):
                out.append([ln.target_line_no, chars])
    return out


def held_characters(records: Mapping[str, Iterable]) -> dict[str, dict[int, str]]:
    """Per path, per new-side line, the invisible characters the line holds, from a target's files'
    `invisible` records in the manifest ([[line, characters], ...]; checked by ledger/checks.py)."""
    return {path: {int(n): str(chars) for n, chars in held} for path, held in records.items() if held}
