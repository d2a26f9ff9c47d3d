"""The repository's rules files, read from a target's base commit through git (`RulesReader`).

Never from the pull request: the files come from the base commit's tree in git's objects (git.repo's
`tree_entries` and `blob`), not from the head, the work tree or any text of the pull request, so a pull
request that edits AGENTS.md is reviewed like any change and its new text is no instruction. The base
branch may still hold anything a merged pull request wrote, so what is read is bounded:

- which files: AGENTS.md, CLAUDE.md, .github/copilot-instructions.md and `rules_files.add`, then
  .github/instructions/**/NAME.instructions.md (at most MAX_INSTRUCTION_FILES, with at most
  MAX_PATTERNS_IN_ALL applyTo globs between them), minus what
  `rules_files.remove` names (paths or applyTo-style globs);
- a file over MAX_FILE_BYTES is not read; binary or invalid UTF-8 text and malformed front matter are
  refused by planning.rules.parse_rules_file, each with its reason;
- a symbolic link is read from git as the path it holds, resolved inside the tree (MAX_LINK_HOPS links
  at most): one that leaves the repository, or names what the commit does not have, is not followed;
  the same text twice (CLAUDE.md a link to AGENTS.md) is used once.

One base commit is read once a run (`rules`), its blobs once by object id.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable

from ..core.errors import ConfigError
from ..git.repo import GitRepo, TreeEntry
from ..planning.rules import (
    DEFAULT_FILES,
    INSTRUCTIONS_DIR,
    ApplyTo,
    RepositoryRules,
    RulesFile,
    is_path_specific,
    parse_rules_file,
)
from ..planning.tokenizer import estimate_tokens

MAX_FILE_BYTES = 256 * 1024
MAX_LINK_BYTES = 1024
MAX_LINK_HOPS = 5
MAX_INSTRUCTION_FILES = 100
MAX_PATTERNS_IN_ALL = 512  # applyTo globs of all path-specific files: each path of a change is matched to each


def inside(link: str, target: str) -> str | None:
    """The path a symbolic link at `link` holding `target` names, from the repository's root; None when
    it is absolute, leaves the repository or is not a plain path."""
    if not target or target.startswith("/") or not target.isprintable() or "\\" in target:
        return None
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(link), target))
    if resolved in (".", "..") or resolved.startswith("../"):
        return None
    return resolved


class RulesReader:
    """The rules of each base commit a run meets, read once."""

    def __init__(self, git: GitRepo, *, enabled: bool = True, add: Iterable[str] = (), remove: Iterable[str] = (),
                 max_tokens: int = 2000, measure: Callable[[str], int] = estimate_tokens) -> None:
        self.git = git
        self.enabled = enabled and max_tokens > 0
        self.paths = tuple(dict.fromkeys((*DEFAULT_FILES, *add)))
        self.remove = [ApplyTo.parse(r) for r in remove]
        for raw, glob in zip(remove, self.remove, strict=True):
            if isinstance(glob, str):  # a file the team meant to keep out would be read after all
                raise ConfigError(f"rules_files.remove: {raw[:80]!r}: {glob}")
        self.max_tokens, self.measure = max_tokens, measure
        self._commits: dict[str, RepositoryRules] = {}
        self._blobs: dict[str, bytes] = {}

    @classmethod
    def of(cls, git: GitRepo, cfg, measure: Callable[[str], int] = estimate_tokens) -> RulesReader:
        """The reader `cfg.rules_files` asks for; the rules take at most a quarter of max_input_tokens, so
        a small request budget keeps room for the diff."""
        rf = cfg.rules_files
        return cls(git, enabled=rf.enabled, add=rf.add, remove=rf.remove,
                   max_tokens=min(rf.max_tokens, cfg.max_input_tokens // 4), measure=measure)

    def rules(self, commit: str) -> RepositoryRules:
        """The rules files of `commit` (a base commit, never a pull request's head)."""
        if not self.enabled:
            return RepositoryRules(commit)
        if commit not in self._commits:
            self._commits[commit] = self._read(commit)
        return self._commits[commit]

    def _removed(self, path: str) -> bool:
        return any(glob.matches(path) for glob in self.remove)

    def _candidates(self, commit: str) -> tuple[list[TreeEntry], list[tuple[str, str]]]:
        entries = self.git.tree_entries(commit, [*self.paths, INSTRUCTIONS_DIR], recursive=True)
        named = {e.path: e for e in entries if e.path in self.paths}
        listed = sorted((e for e in entries if e.path.startswith(INSTRUCTIONS_DIR) and is_path_specific(e.path)
                         and e.path not in named), key=lambda e: e.path)
        skipped = []
        if len(listed) > MAX_INSTRUCTION_FILES:  # one note, however many: the log and summary stay short
            over = listed[MAX_INSTRUCTION_FILES:]
            skipped = [(over[0].path + (f" and {len(over) - 1:,} more after it" if len(over) > 1 else ""),
                        f"more than {MAX_INSTRUCTION_FILES} instruction files: not read")]
            listed = listed[:MAX_INSTRUCTION_FILES]
        ordered = [named[p] for p in self.paths if p in named] + listed
        return [e for e in ordered if not self._removed(e.path)], skipped

    def _read(self, commit: str) -> RepositoryRules:
        entries, skipped = self._candidates(commit)
        whole, specific, seen, patterns = [], [], {}, 0
        for entry in entries:
            data = self._content(commit, entry)
            if isinstance(data, str):
                skipped.append((entry.path, data))
                continue
            oid, data = data
            if oid in seen:
                skipped.append((entry.path, f"the same text as {seen[oid]}"))
                continue
            seen[oid] = entry.path
            parsed = parse_rules_file(entry.path, data)
            if not isinstance(parsed, str) and parsed.apply_to:
                patterns += len(parsed.apply_to.globs)
                if patterns > MAX_PATTERNS_IN_ALL:
                    parsed = f"more than {MAX_PATTERNS_IN_ALL} applyTo patterns in all: not used"
            if isinstance(parsed, str):
                skipped.append((entry.path, parsed))
            else:
                (specific if parsed.apply_to else whole).append(parsed)
        files: tuple[RulesFile, ...] = (*whole, *specific)
        return RepositoryRules(commit, files, tuple(skipped), self.max_tokens, self.measure)

    def _content(self, commit: str, entry: TreeEntry, hops: int = 0) -> tuple[str, bytes] | str:
        """(the blob's id, its bytes) of a rules file, following symbolic links inside the tree; or why not."""
        if entry.is_symlink:
            if hops >= MAX_LINK_HOPS:
                return f"more than {MAX_LINK_HOPS} symbolic links in a row: not followed"
            if (entry.size or 0) > MAX_LINK_BYTES:
                return "a symbolic link too long to be a path: not followed"
            target = self._blob(entry.oid).decode("utf-8", "replace")
            resolved = inside(entry.path, target)
            if resolved is None:
                return "a symbolic link out of the repository: not followed"
            found = [e for e in self.git.tree_entries(commit, [resolved]) if e.path == resolved]
            if not found:
                return f"a symbolic link to {resolved}, which the base commit does not have"
            return self._content(commit, found[0], hops + 1)
        if not entry.is_file:
            return "not a file"
        if entry.size is None or entry.size > MAX_FILE_BYTES:
            return f"{entry.size or 0:,} bytes, over the {MAX_FILE_BYTES:,}-byte cap: not read"
        return entry.oid, self._blob(entry.oid)

    def _blob(self, oid: str) -> bytes:
        if oid not in self._blobs:
            self._blobs[oid] = self.git.blob(oid)
        return self._blobs[oid]
