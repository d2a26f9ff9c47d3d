"""The change as the model reads it: diff lines with one number and a side marker, author text framed (pure).

Everything rendered here comes from the change's author and is framed so that it cannot pass for ours:
each line starts with a prefix only this module writes ("=== " file headers, "| " description lines, a
line number on every diff line; packing.py's "- " file list entries use `one_line` too), and line breaks
and control characters inside author text are shown escaped (`\\x0a`). The model contract
(contract.py) says this material is to be checked, never obeyed.

A hunk is rendered as lines '<number><marker><code>': the new-file number on '+' and ' ' lines, the
old-file number on '-' lines, under an '@@' line with git's section (the enclosing function) when it
says something the previous hunk did not. `render_file` gives a file ready to pack (its text, hunks,
counts and estimated tokens), or why it is not reviewed; `chunk_hunks` splits a file too large for one
request between hunks (inside a hunk only when the hunk alone is over).
"""

from __future__ import annotations

import itertools
import posixpath
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress, repeat

from ..core.diffs import FileDiff
from .tokenizer import estimate_tokens

# --- author text, framed -------------------------------------------------------------------------------

_BREAKS = {ord(c): f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
           for c in "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}
_CONTROL = {i: f"\\x{i:02x}" for i in range(32) if i not in (9,)} | {0x7F: "\\x7f"} | _BREAKS


def one_line(text: str) -> str:
    """Author text made a single line: every line break and control character shown as an escape."""
    return text.translate(_CONTROL)


def quoted_lines(text: str, prefix: str = "| ") -> list[str]:
    """Author text as lines that each start with `prefix`: no line of it can pass for one of ours."""
    return [prefix + line.translate(_CONTROL) for line in text.splitlines()]


def _unseen(char: str) -> bool:
    """A character a reader of the file on GitHub does not see: a format character (bidi controls, zero
    width ones, Unicode tags that spell hidden ASCII), private use, surrogate, unassigned, or a variation
    selector 17-256 (which can carry hidden bytes)."""
    return unicodedata.category(char) in ("Cf", "Co", "Cs", "Cn") or "\U000e0100" <= char <= "\U000e01ef"


def visible_escapes(text: str) -> str:
    """`text` (a rules file) with each character nobody sees written as a visible \\uXXXX escape: the model
    reads only what the people who merged the file could read (str.isprintable answers most texts at once)."""
    if text.replace("\n", "").replace("\t", "").isprintable():
        return text
    return "".join((f"\\u{ord(c):04x}" if c <= "\uffff" else f"\\U{ord(c):08x}") if _unseen(c) else c for c in text)


_HTML_COMMENT = re.compile(r"<!--.*?(-->|$)", re.DOTALL)


def clip_description(text: str, limit: int) -> str:
    """A pull request description without HTML comments (template hints), at most `limit` characters."""
    if limit <= 0:
        return ""
    text = _HTML_COMMENT.sub("", text or "").strip()
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


# --- the diff ------------------------------------------------------------------------------------------

_EOL = "\r\n"
# git's default section heuristic (the last earlier line starting with a letter, "_" or "$") names a scope
# in code; in prose it is whatever line of text came before the hunk
PROSE = frozenset({".md", ".markdown", ".rst", ".txt", ".adoc", ".asciidoc"})


def has_sections(path: str) -> bool:
    """Whether git's hunk sections of this file are worth showing (code, not prose)."""
    return posixpath.splitext(path)[1].lower() not in PROSE


def render_hunk(hunk, previous: tuple[str, list[str]] | None = None,
                sections: bool = True) -> tuple[list[str], int, int]:
    """A hunk as lines '<number><marker><code>' (old number on '-' lines, new number otherwise),
    with its counts of added and removed lines. The hunk's section (git's enclosing function line) is
    left off when the file's previous hunk (`previous`: its section and rendered lines) already shows it,
    as its own section or as one of its lines, and without `sections` (prose, where git's heuristic
    picks any earlier line of text)."""
    out = []
    append = out.append
    added = removed = 0
    for ln in hunk:
        kind = ln.line_type
        if kind == "+":
            added += 1
            append(f"{ln.target_line_no}+{ln.value.rstrip(_EOL)}")
        elif kind == "-":
            removed += 1
            append(f"{ln.source_line_no}-{ln.value.rstrip(_EOL)}")
        elif kind == " ":
            append(f"{ln.target_line_no} {ln.value.rstrip(_EOL)}")
        elif kind == "\\":
            append("\\ No newline at end of file")
        # unidiff's trailing empty-line entries carry no content
    section = hunk.section_header if sections else ""
    if section and previous is not None and _shows(previous, section):
        section = ""
    header = "@@ " + one_line(section) if section else "@@"
    # one translate over the hunk: a line break inside a line of code is shown escaped, never as a break
    return [header] + "\n".join(out).translate(_BREAKS).split("\n"), added, removed


def _shows(previous: tuple[str, list[str]], section: str) -> bool:
    """Whether the previous hunk (its section, its rendered lines) has `section` as its own section or
    shows it as one of its lines."""
    if previous[0] == section:
        return True
    wanted = section.strip()
    if not wanted:
        return False
    lines = previous[1]
    # endswith in C first: the exact comparison runs only on the few lines that end the same
    return any(line.lstrip("0123456789")[1:].strip() == wanted
               for line in compress(lines, map(str.endswith, lines, repeat(wanted))))


def file_header(fd: FileDiff, part: str = "", extra: Sequence[str] = ()) -> str:
    """'=== <path>', with in parentheses how the file changed (unless modified) and which part this is."""
    status = f"renamed from {one_line(fd.old_path)}" if fd.old_path else "" if fd.status == "modified" else fd.status
    about = ", ".join(x for x in (status, part) if x)
    lines = [f"=== {one_line(fd.path)}" + (f" ({about})" if about else "")]
    lines.extend(f"note: {one_line(note)}" for note in fd.notes)
    lines.extend(f"instructions for this file: {one_line(e.strip())}" for e in extra)
    return "\n".join(lines) + "\n"


@dataclass(slots=True)
class RenderedFile:
    """One file as a request shows it whole: its hunks' lines, its counts, its text and estimated tokens."""

    hunks: list[list[str]]
    counts: tuple[int, int]  # (added, removed)
    text: str
    tokens: int


def render_file(fd: FileDiff, extra: Sequence[str] = (), max_file_chars: int | None = None) -> RenderedFile | str:
    """The file ready to pack, or why it is not reviewed."""
    hunks, added, removed, previous = [], 0, 0, None
    sections = has_sections(fd.path)
    for hunk in fd.hunks:
        lines, a, r = render_hunk(hunk, previous, sections)
        previous = hunk.section_header, lines
        hunks.append(lines)
        added += a
        removed += r
    if added == 0:
        return "lines removed only"
    # a bare '@@' right under the file's header separates nothing
    body = "\n".join(itertools.chain.from_iterable(hunks if hunks[0][0] != "@@" else [hunks[0][1:], *hunks[1:]]))
    body += "\n"
    if max_file_chars is not None and len(body) > max_file_chars:
        return f"diff is {len(body):,} characters, over files.max_file_bytes ({max_file_chars:,})"
    text = file_header(fd, "", extra) + body
    return RenderedFile(hunks, (added, removed), text, estimate_tokens(text))


def chunk_hunks(rendered: list[list[str]], budget_tokens: int) -> list[list[str]]:
    """Pack rendered hunks into chunks under the budget; split inside a hunk only when it alone is over."""
    chunks: list[list[str]] = []
    current: list[str] = []
    used = 0
    for hunk_lines in rendered:
        cost = estimate_tokens("\n".join(hunk_lines)) + 1
        if cost > budget_tokens:
            if current:
                chunks.append(current)
                current, used = [], 0
            chunks.extend(_split_hunk(hunk_lines, budget_tokens))
            continue
        if current and used + cost > budget_tokens:
            chunks.append(current)
            current, used = [], 0
        current.extend(hunk_lines)
        used += cost
    if current:
        chunks.append(current)
    return chunks


def _split_hunk(hunk_lines: list[str], budget_tokens: int) -> list[list[str]]:
    header, body = hunk_lines[0], hunk_lines[1:]
    pieces: list[list[str]] = []
    piece = [header]
    used = estimate_tokens(header)
    for line in body:
        cost = estimate_tokens(line) + 1
        if len(piece) > 1 and used + cost > budget_tokens:
            pieces.append(piece)
            piece = [header + " (continued)"]
            used = estimate_tokens(piece[0])
        piece.append(line)
        used += cost
    pieces.append(piece)
    return pieces
