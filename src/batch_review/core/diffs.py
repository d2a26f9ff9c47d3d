"""Unified diff -> changed files, hunks and the lines GitHub lets us comment on (pure).

The diff is parsed with unidiff. What GitHub accepts as a review comment position depends on the diff as
GitHub renders it, with three lines of context; `CommentableLines` records exactly that, per side, one
range per hunk, so the poll side can place findings without fetching the diff again.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError
from unidiff.patch import Hunk, PatchedFile

from .vocabulary import LEFT, RIGHT

GITHUB_CONTEXT = 3  # lines of context in the diff GitHub shows, and so in its commentable lines

Range = tuple[int, int]


class DiffError(ValueError):
    """The diff text could not be parsed."""


@dataclass(frozen=True, slots=True)
class CommentableLines:
    """Inclusive line ranges, one per hunk, on each side of a file's diff."""

    right: tuple[Range, ...] = ()
    left: tuple[Range, ...] = ()

    def ranges(self, side: str) -> tuple[Range, ...]:
        if side == RIGHT:
            return self.right
        if side == LEFT:
            return self.left
        raise ValueError(f"side must be RIGHT or LEFT, not {side!r}")

    def hunk_of(self, side: str, line: int) -> Range | None:
        for start, end in self.ranges(side):
            if start <= line <= end:
                return (start, end)
        return None

    def contains(self, side: str, line: int) -> bool:
        return self.hunk_of(side, line) is not None

    def same_hunk(self, side: str, start: int, end: int) -> bool:
        hunk = self.hunk_of(side, end)
        return hunk is not None and start <= end and hunk[0] <= start

    def to_json(self) -> dict[str, list[list[int]]]:
        return {RIGHT: [list(r) for r in self.right], LEFT: [list(r) for r in self.left]}

    @classmethod
    def from_json(cls, data: dict) -> CommentableLines:
        def ranges(key: str) -> tuple[Range, ...]:
            out = []
            for item in data.get(key, ()):
                start, end = int(item[0]), int(item[1])
                if start < 1 or end < start:
                    raise ValueError(f"bad {key} range {item!r}")
                out.append((start, end))
            return tuple(out)

        return cls(right=ranges(RIGHT), left=ranges(LEFT))


@dataclass(slots=True)
class FileDiff:
    """One file of a diff. `hunks` are unidiff Hunks: lines carry line_type, value and both line numbers."""

    path: str  # the new path; the old one for a deleted file
    old_path: str | None  # set for renames
    status: str  # added | modified | deleted | renamed
    hunks: list[Hunk]
    is_binary: bool = False
    kind: str = "file"  # file | symlink | submodule
    old_mode: str | None = None
    new_mode: str | None = None
    notes: list[str] = field(default_factory=list)
    context: int = GITHUB_CONTEXT

    @property
    def added(self) -> int:
        return sum(h.added for h in self.hunks)

    @property
    def removed(self) -> int:
        return sum(h.removed for h in self.hunks)

    def commentable(self) -> CommentableLines:
        return commentable_lines(self.hunks, self.context)

    def skip_reason(self) -> str | None:
        """Why this file cannot be reviewed at all, or None. Config-based exclusion is not decided here."""
        if self.kind == "submodule":
            return "submodule pointer change"
        if self.kind == "symlink":
            return "symbolic link"
        if self.is_binary:
            return "binary file"
        if self.status == "deleted":
            return "file deleted"
        if not self.hunks:
            if self.status == "renamed":
                return "renamed without changes"
            if self.old_mode and self.new_mode and self.old_mode != self.new_mode:
                return f"mode change only ({self.old_mode} -> {self.new_mode})"
            if self.status == "added":
                return "empty file added"
            return "no textual change"
        return None


def commentable_lines(hunks: Iterable[Hunk], context: int = GITHUB_CONTEXT) -> CommentableLines:
    """The hunks GitHub would show (3 lines of context), from hunks made with `context` >= 3 lines."""
    if context < GITHUB_CONTEXT:
        raise ValueError(f"a diff with {context} lines of context cannot give GitHub's hunks")
    right: list[Range] = []
    left: list[Range] = []
    for hunk in hunks:
        if context == GITHUB_CONTEXT:
            _add_range(right, hunk.target_start, hunk.target_length)
            _add_range(left, hunk.source_start, hunk.source_length)
            continue
        for first, last in _github_spans(hunk):
            lines = hunk[first : last + 1]
            news = [ln.target_line_no for ln in lines if ln.target_line_no is not None]
            olds = [ln.source_line_no for ln in lines if ln.source_line_no is not None]
            if news:
                right.append((min(news), max(news)))
            if olds:
                left.append((min(olds), max(olds)))
    return CommentableLines(tuple(right), tuple(left))


def right_line_hashes(hunks: Iterable[Hunk]) -> list[list]:
    """[[first new line, [crc32 of each new-side line's stripped text, in order]], ...] per hunk.

    Findings are recognised across reviews by the content of the line they are on, not its number."""
    out = []
    for hunk in hunks:
        crcs = [zlib.crc32(ln.value.strip().encode("utf-8", "replace")) for ln in hunk if ln.line_type in " +"]
        if crcs:
            out.append([hunk.target_start, crcs])
    return out


def line_hash(hashes: list[list], line: int | None) -> int | None:
    """The crc of new-side `line` from right_line_hashes' output, if it is there."""
    if line is None:
        return None
    for start, crcs in hashes:
        if start <= line < start + len(crcs):
            return crcs[line - start]
    return None


def _add_range(out: list[Range], start: int, length: int) -> None:
    if length > 0:
        out.append((start, start + length - 1))


def _github_spans(hunk: Hunk) -> Iterator[Range]:
    """Index spans of `hunk` that git -U3 would make into hunks of their own."""
    changed = [i for i, ln in enumerate(hunk) if ln.line_type in ("+", "-")]
    if not changed:
        return
    last_index = len(hunk) - 1
    first = max(0, changed[0] - GITHUB_CONTEXT)
    prev = changed[0]
    for i in changed[1:]:
        # git joins two changes into one hunk when at most 2 * context unchanged lines separate them
        if i - prev - 1 > 2 * GITHUB_CONTEXT:
            yield first, min(last_index, prev + GITHUB_CONTEXT)
            first = i - GITHUB_CONTEXT
        prev = i
    yield first, min(last_index, prev + GITHUB_CONTEXT)


def decode_diff(data: bytes) -> tuple[str, bool]:
    """Decode git's bytes; returns (text, valid_utf8). Invalid bytes become U+FFFD, never an exception."""
    try:
        return data.decode("utf-8"), True
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), False


def parse_diff(text: str, *, context: int = GITHUB_CONTEXT, valid_utf8: bool = True) -> list[FileDiff]:
    """Parse `git diff` output (made with `-U<context>`) into FileDiffs, in diff order."""
    # Split on "\n" only: str.splitlines() would also split on form feeds and other separators that
    # occur inside source lines and would corrupt the hunks.
    try:
        patch = PatchSet(io.StringIO(text, newline="\n"))
    except UnidiffParseError as exc:
        raise DiffError(f"cannot parse the diff: {exc}") from exc
    return [_file_diff(pf, context, valid_utf8) for pf in patch]


def _file_diff(pf: PatchedFile, context: int, valid_utf8: bool) -> FileDiff:
    if pf.is_added_file and pf.source_file == "/dev/null":
        status = "added"
    elif pf.is_removed_file and pf.target_file == "/dev/null":
        status = "deleted"
    elif pf.is_rename:
        status = "renamed"
    else:
        status = "modified"
    if status == "deleted":
        path = unquote_path(pf.source_file)
    else:
        path = unquote_path(pf.target_file) if pf.target_file else unquote_path(pf.path)
    old_path = unquote_path(pf.source_file) if status == "renamed" else None
    kind = "submodule" if pf.is_submodule else "symlink" if pf.is_symlink else "file"
    fd = FileDiff(
        path=path,
        old_path=old_path,
        status=status,
        hunks=list(pf),
        is_binary=pf.is_binary_file,
        kind=kind,
        old_mode=pf.source_mode,
        new_mode=pf.target_mode,
        context=context,
    )
    if not valid_utf8 and any("\ufffd" in ln.value for h in fd.hunks for ln in h):
        fd.notes.append("not valid UTF-8: undecodable bytes shown as U+FFFD")
    return fd


_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote_path(name: str) -> str:
    """A path from a diff header without its a/ b/ prefix, C-style quotes undone (git quotes odd names)."""
    if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
        raw = bytearray()
        body = name[1:-1]
        i = 0
        while i < len(body):
            ch = body[i]
            if ch == "\\" and i + 1 < len(body):
                nxt = body[i + 1]
                if nxt in _ESCAPES:
                    raw.append(_ESCAPES[nxt])
                    i += 2
                    continue
                if nxt in "0123" and i + 3 < len(body):
                    raw.append(int(body[i + 1 : i + 4], 8))
                    i += 4
                    continue
            raw.extend(ch.encode("utf-8", errors="surrogateescape"))
            i += 1
        name = raw.decode("utf-8", errors="replace")
    if name[:2] in ("a/", "b/"):
        name = name[2:]
    return name
