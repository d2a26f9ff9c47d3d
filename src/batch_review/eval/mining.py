"""The miner: git history -> fix commits -> SZZ blame -> cases (one per introducing commit).

Fixes are the commits reachable from `--rev` (committed inside the window) whose message holds a fix word
(szz.fix_pattern); a merge commit counts only on the mainline (the first-parent line of `--rev`), where a
merged pull request lands, so a "Merge branch 'main' into fix-x" on a side branch does not blame all of
main. A fix's removed or changed lines (the old side of its diff against its first parent, whitespace
changes left out) are blamed at that parent with `git blame --porcelain -w`: each lands on the commit that
last changed it, with its number in that commit's version. Those lines, grouped by commit, are the cases.

What is skipped is said in one line each (`Mined.notes`) and never stops the run: a fix too large to be one
(over MAX_FIX_FILES files or MAX_FIX_LINES changed lines), binary files, a path git cannot blame, lines
blamed to a commit before the window, to a root commit (no parent to review it against) or to a merge.
Files the configuration excludes (files.include/exclude, the default exclusions, the state folder) are
left out as submit leaves them out, without a line each.

`--limit N` keeps the N newest introducing commits. Fixes are read newest first, and reading stops once N
cases are newer than the fix at hand: an older fix blames only older commits (by committer time), so it can
neither add a case nor a line to the N kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.diffs import DiffError, decode_diff, parse_diff
from ..core.errors import RepositoryError
from ..core.vocabulary import counted
from ..git.repo import GitRepo
from .record import Case
from .szz import (
    DEFAULT_FIX_WORDS,
    Commit,
    changed_lines,
    first_parent_chain,
    fix_pattern,
    parse_blame,
    parse_commits,
    parse_numstat,
    spans,
)

MAX_FIX_FILES = 50  # a "fix" touching more files is a sweep (a rename, a reformat), not one bug's fix
MAX_FIX_LINES = 1000  # nor one that changes more lines


@dataclass(frozen=True)
class Window:
    """What history to mine: commits reachable from `rev`, committed at or after `since` (epoch seconds,
    None: all), the `limit` newest introducing commits, fixes named by `words`."""

    rev: str = "HEAD"
    since: int | None = None
    since_text: str = ""  # as the user wrote it, for the notes
    limit: int | None = None
    words: tuple[str, ...] = DEFAULT_FIX_WORDS


@dataclass
class _Found:
    commit: Commit
    lines: dict[str, set[int]] = field(default_factory=dict)
    fixes: list[str] = field(default_factory=list)


@dataclass
class Mined:
    head: str
    cases: list[Case] = field(default_factory=list)  # newest first
    messages: dict[str, str] = field(default_factory=dict)  # introducing sha -> its whole message
    notes: list[str] = field(default_factory=list)
    fixes: int = 0  # fix commits in the window
    blamed: int = 0  # fixes whose lines were blamed


class Miner:
    def __init__(self, git: GitRepo, cfg, window: Window, *, state_folder: str | None = None) -> None:
        self.git, self.cfg, self.window, self.state_folder = git, cfg, window, state_folder
        self.found: dict[str, _Found] = {}
        self.unusable: dict[str, str] = {}  # sha -> "root commit" | "merge": never a case

    def mine(self) -> Mined:
        window = self.window
        head = self.git.rev_parse(window.rev, flag="--rev")
        # git's --since bounds the walk (a second early, in case it is strict); the filter below is exact
        since = f"@{window.since - 1}" if window.since is not None else None
        commits = parse_commits(self.git.log_commits(head, since=since))
        if window.since is not None:
            commits = [c for c in commits if c.committed >= window.since]
        mainline = first_parent_chain(commits)
        pattern = fix_pattern(window.words)
        fixes = [c for c in commits if c.parents and pattern.search(c.message)
                 and (len(c.parents) == 1 or c.sha in mainline)]
        mined = Mined(head, fixes=len(fixes))
        for fix in fixes:
            if self._enough(fix.committed):
                break
            self._blame_fix(fix, mined.notes)
            mined.blamed += 1
        ordered = sorted(self.found.values(), key=lambda f: (-f.commit.committed, f.commit.sha))
        if window.limit is not None and len(ordered) > window.limit:
            mined.notes.append(f"{counted(len(ordered) - window.limit, 'older introducing commit')} beyond --limit "
                               f"{window.limit}: not reviewed")
            ordered = ordered[:window.limit]
        for f in ordered:
            c = f.commit
            mined.cases.append(Case(c.sha, c.parents[0], c.committed, c.subject,
                                    {p: sorted(n) for p, n in sorted(f.lines.items())}, list(reversed(f.fixes))))
            mined.messages[c.sha] = c.message
        return mined

    def _enough(self, fix_time: int) -> bool:
        limit = self.window.limit
        if limit is None:
            return False
        return sum(1 for f in self.found.values() if f.commit.committed > fix_time) >= limit

    def _reviewed(self, path: str) -> bool:
        if self.state_folder and (path + "/").startswith(self.state_folder + "/"):
            return False
        return self.cfg.files.is_reviewed(path)[0]

    def _blame_fix(self, fix: Commit, notes: list[str]) -> None:
        short, parent = fix.sha[:12], fix.parents[0]
        try:
            stats = parse_numstat(self.git.numstat(parent, fix.sha))
        except RepositoryError as exc:
            notes.append(f"fix {short}: cannot diff it ({exc}); skipped")
            return
        binary = [s.path for s in stats if s.added is None]
        removed = sum(s.removed or 0 for s in stats)
        if len(stats) > MAX_FIX_FILES or removed > MAX_FIX_LINES:
            notes.append(f"fix {short}: {counted(removed, 'changed line')} in {counted(len(stats), 'file')}, over {MAX_FIX_LINES:,} "
                         f"lines or {MAX_FIX_FILES} files: too large to be one bug's fix; skipped")
            return
        if binary:
            notes.append(f"fix {short}: {counted(len(binary), 'binary file')} skipped ({', '.join(sorted(binary)[:5])}"
                         f"{', …' if len(binary) > 5 else ''})")
        if removed == 0:
            return  # it only adds lines: nothing to blame
        try:
            text, valid = decode_diff(self.git.diff(parent, fix.sha, context=0, ignore_space=True))
            files = parse_diff(text, context=0, valid_utf8=valid)
        except (RepositoryError, DiffError) as exc:
            notes.append(f"fix {short}: cannot read its diff ({exc}); skipped")
            return
        tally = _Tally()
        for fd in files:
            old = fd.old_path or fd.path
            if fd.is_binary or fd.kind != "file" or fd.status == "added" or not self._reviewed(old):
                continue
            lines = changed_lines(fd)
            if not lines:
                continue
            try:
                blamed = parse_blame(self.git.blame(parent, old, spans(lines)))
            except RepositoryError as exc:
                notes.append(f"fix {short}: cannot blame {old} ({exc}); skipped")
                continue
            self._take(fix, blamed, tally)
        notes.extend(tally.lines(short, self.window.since_text))

    def _take(self, fix: Commit, blamed: list, tally: _Tally) -> None:
        since = self.window.since
        new = sorted({b.sha for b in blamed} - set(self.found) - set(self.unusable)
                     - {b.sha for b in blamed if since is not None and b.committed < since})
        if new:
            for c in parse_commits(self.git.commit_details(new)):
                if not c.parents or len(c.parents) > 1:
                    self.unusable[c.sha] = "root commit" if not c.parents else "merge"
                else:
                    self.found[c.sha] = _Found(c)
        for b in blamed:
            if since is not None and b.committed < since:
                tally.outside.setdefault(b.sha, 0)
                tally.outside[b.sha] += 1
            elif b.sha in self.unusable:
                tally.unusable.setdefault(b.sha, 0)
                tally.unusable[b.sha] += 1
            elif b.sha in self.found:
                found = self.found[b.sha]
                found.lines.setdefault(b.path, set()).add(b.line)
                if fix.sha not in found.fixes:
                    found.fixes.append(fix.sha)
        for sha in tally.unusable:
            tally.kinds[sha] = self.unusable[sha]


@dataclass
class _Tally:
    """One fix's lines that make no case, for its notes."""

    outside: dict[str, int] = field(default_factory=dict)  # sha -> lines
    unusable: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)

    def lines(self, short: str, since_text: str) -> list[str]:
        out = []
        if self.outside:
            out.append(f"fix {short}: {counted(sum(self.outside.values()), 'line')} blamed to "
                       f"{counted(len(self.outside), 'commit')} "
                       f"before {since_text or 'the window'}: outside the window, not counted")
        for sha, count in sorted(self.unusable.items()):
            why = ("no parent to review it against" if self.kinds[sha] == "root commit"
                   else "merges are not reviewed as introducing changes")
            out.append(f"fix {short}: {counted(count, 'line')} blamed to {self.kinds[sha]} {sha[:12]} ({why}): not counted")
        return out
