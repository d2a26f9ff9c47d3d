"""SZZ's pure half: which commits are fixes, and git's raw answers (log, numstat, blame) read into records.

A fix is a commit whose message holds one of the fix words as a whole word, in any case (`fix_pattern`).
What a fix changed is the old side of its diff against its first parent: the line numbers of its removed
lines, whitespace-only lines left out (`changed_lines`). `git blame --porcelain -w` of those lines at the
fix's parent names, for each, the commit that last changed it and the line's number in that commit's own
version of the file (`parse_blame`): the introducing commit and the bug line the eval scores against.

Everything read here is author text (messages, paths, line contents): it is parsed, never interpreted,
and a record that does not have the shape git gives is an error, not a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..core.diffs import FileDiff, unquote_path
from ..core.errors import RepositoryError

DEFAULT_FIX_WORDS = ("fix", "bug", "regression")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
_BLAME_HEAD = re.compile(rb"([0-9a-f]{40}|[0-9a-f]{64}) (\d+) (\d+)(?: (\d+))?")


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    committed: int  # committer time, seconds since the epoch
    message: str  # the author's words, whole

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0].strip()


def check_words(words: Iterable[str]) -> tuple[str, ...]:
    """The fix words, lower-cased and deduplicated; ValueError naming a word that is not one."""
    out = []
    for word in words:
        if not _WORD.fullmatch(word):
            raise ValueError(f"{word!r} is not a word (letters, digits, '_' or '-', at most 40)")
        out.append(word.lower())
    if not out:
        raise ValueError("no words given")
    return tuple(dict.fromkeys(out))


def fix_pattern(words: Iterable[str]) -> re.Pattern[str]:
    """Any of `words` as a whole word (not inside a longer word: 'fix' is not in 'prefix' or 'fixture')."""
    alternatives = "|".join(re.escape(w) for w in sorted(check_words(words), key=len, reverse=True))
    return re.compile(rf"(?<![\w])(?:{alternatives})(?![\w])", re.IGNORECASE)


def parse_commits(raw: bytes) -> list[Commit]:
    """`git log -z --format=%H%x00%P%x00%ct%x00%B` read into commits, in git's order."""
    fields = raw.split(b"\0")
    if fields and fields[-1] in (b"", b"\n"):
        fields.pop()
    if len(fields) % 4:
        raise RepositoryError("git log: output not in the expected shape (4 fields a commit)")
    commits = []
    for i in range(0, len(fields), 4):
        sha, parents, when, message = (f.decode("utf-8", "replace") for f in fields[i:i + 4])
        sha = sha.strip()
        parent_list = tuple(parents.split())
        if not _SHA.fullmatch(sha) or not all(_SHA.fullmatch(p) for p in parent_list) or not when.isdigit():
            raise RepositoryError(f"git log: unexpected record {sha[:50]!r}")
        commits.append(Commit(sha, parent_list, int(when), message.rstrip("\n")))
    return commits


def first_parent_chain(commits: Sequence[Commit]) -> set[str]:
    """The commits on the first-parent line of the first (newest) commit, as far as `commits` go: the
    mainline, where a merged pull request's merge commit lands."""
    by_sha = {c.sha: c for c in commits}
    chain: set[str] = set()
    current = commits[0] if commits else None
    while current is not None and current.sha not in chain:
        chain.add(current.sha)
        current = by_sha.get(current.parents[0]) if current.parents else None
    return chain


@dataclass(frozen=True, slots=True)
class Numstat:
    path: str
    old_path: str | None  # a rename's old path
    added: int | None  # None: a binary file
    removed: int | None


def parse_numstat(raw: bytes) -> list[Numstat]:
    """`git diff --numstat -z` read into entries (a rename is `added removed <empty>`, old path, new path)."""
    fields = raw.split(b"\0")
    out, i = [], 0
    while i < len(fields) and fields[i].strip():
        head = fields[i].decode("utf-8", "replace").lstrip("\n")
        parts = head.split("\t", 2)
        if len(parts) != 3:
            raise RepositoryError(f"git diff --numstat: unexpected entry {head[:50]!r}")
        added, removed, path = parts
        old = None
        if path == "":  # a rename: the old and new paths follow
            if i + 2 >= len(fields):
                raise RepositoryError("git diff --numstat: a rename without its paths")
            old, path = (fields[i + 1].decode("utf-8", "replace"), fields[i + 2].decode("utf-8", "replace"))
            i += 2
        binary = added == "-" and removed == "-"
        if not binary and not (added.isdigit() and removed.isdigit()):
            raise RepositoryError(f"git diff --numstat: unexpected counts {added!r} {removed!r}")
        out.append(Numstat(path, old, None if binary else int(added), None if binary else int(removed)))
        i += 1
    return out


def changed_lines(fd: FileDiff) -> list[int]:
    """Old-side numbers of the lines a fix removed or changed, whitespace-only lines left out."""
    return sorted({ln.source_line_no for hunk in fd.hunks for ln in hunk
                   if ln.line_type == "-" and ln.source_line_no is not None and ln.value.strip()})


def spans(lines: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted line numbers folded into inclusive runs: [3, 4, 5, 9] -> [(3, 5), (9, 9)]."""
    out: list[tuple[int, int]] = []
    for n in sorted(set(lines)):
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


@dataclass(frozen=True, slots=True)
class Blamed:
    """One blamed line: the commit that last changed it, its path and line number in that commit's
    version, and that commit's committer time."""

    sha: str
    path: str
    line: int
    committed: int


def _filename(value: bytes) -> str:
    """A porcelain `filename` value: git C-quotes odd names ("tab\\there"); unquote_path undoes that and
    drops an a/ prefix, so one is put inside the quotes for it to drop."""
    text = value.decode("utf-8", "replace")
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return unquote_path('"a/' + text[1:])
    return text


def parse_blame(raw: bytes) -> list[Blamed]:
    """`git blame --porcelain` read into one record per line. Details (filename, committer-time) come once
    per commit, or again when its path differs; later groups of the commit reuse them."""
    out: list[Blamed] = []
    names: dict[str, str] = {}
    times: dict[str, int] = {}
    current: tuple[str, int] | None = None
    for line in raw.split(b"\n"):
        if current is None:
            if not line:
                continue
            m = _BLAME_HEAD.fullmatch(line)
            if m is None:
                raise RepositoryError(f"git blame: unexpected line {line[:60]!r}")
            current = (m[1].decode(), int(m[2]))
        elif line.startswith(b"\t"):
            sha, original = current
            if sha not in names or sha not in times:
                raise RepositoryError(f"git blame: no filename or time for {sha[:12]}")
            out.append(Blamed(sha, names[sha], original, times[sha]))
            current = None
        elif line.startswith(b"filename "):
            names[current[0]] = _filename(line[len(b"filename "):])
        elif line.startswith(b"committer-time "):
            value = line[len(b"committer-time "):]
            if not value.isdigit():
                raise RepositoryError(f"git blame: unexpected committer-time {value[:30]!r}")
            times[current[0]] = int(value)
    return out
