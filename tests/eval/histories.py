"""Git histories with planted bugs and the fixes that later changed them, for eval's tests.

`History` makes dated commits (author and committer time as given) with plain git. `planted(root)` builds
the history the end-to-end tests mine: four introducing commits whose bug lines later fixes changed, plus
one of each thing the miner must skip and say so (a root commit, an evil merge, a binary file, an excluded
file, a rename, a whitespace-only fix, a message where "fix" is only part of a word).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

BASE_ENV = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
            "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def run_git(cwd: Path, *args: str, when: str = "2025-01-01T00:00:00Z", input: bytes | None = None) -> str:
    env = {**os.environ, **BASE_ENV, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    out = subprocess.run(["git", *args], cwd=cwd, env=env, input=input, capture_output=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {out.stderr.decode(errors='replace')}")
    return out.stdout.decode(errors="replace").strip()


class History:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        run_git(path, "init", "-q", "-b", "main")

    def write(self, files: dict[str, str | bytes | None]) -> None:
        for rel, content in files.items():
            target = self.path / rel
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.encode() if isinstance(content, str) else content)

    def commit(self, message: str, files: dict[str, str | bytes | None], when: str) -> str:
        self.write(files)
        run_git(self.path, "add", "-A", when=when)
        run_git(self.path, "commit", "-q", "--allow-empty", "-m", message, when=when)
        return self.head()

    def head(self) -> str:
        return run_git(self.path, "rev-parse", "HEAD")

    def git(self, *args: str, when: str = "2025-01-01T00:00:00Z") -> str:
        return run_git(self.path, *args, when=when)


def lines(n: int, name: str, changes: dict[int, str] | None = None) -> str:
    """`n` plain lines of code in a file `name`, line k replaced by changes[k]."""
    changes = changes or {}
    return "".join(changes.get(k, f"    {name}_{k} = {k}  # line {k}") + "\n" for k in range(1, n + 1))


@dataclass
class Planted:
    """The planted history: commit ids by role, and where each bug is (path -> lines, in the introducing
    commit's own version)."""

    repo: History
    shas: dict[str, str] = field(default_factory=dict)
    bugs: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # role -> path -> lines
    snippets: dict[str, str] = field(default_factory=dict)  # code of each bug line -> its file


BUG_A = "    total = sum(xs) / (len(xs) - 1)"
BUG_B = "    if i > len(tokens):"
BUG_B2 = "    end = tokens[i + 1]"
BUG_C = "    return text[:-1].strip()"
BUG_D = "    key = str(id(args))"
BUG_ROOT = "    rounded = round(x, 1)"
BUG_MERGE = "    limit = 2 ** 31"


def planted(root: Path) -> Planted:
    h = History(root)
    p = Planted(h)
    s = p.shas
    s["root"] = h.commit("initial import", {
        "calc.py": lines(20, "calc"), "legacy.py": lines(10, "legacy", {5: BUG_ROOT}), "README.md": "# demo\n",
        "poetry.lock": "# lock 1\n"}, "2024-12-01T00:00:00Z")
    s["A"] = h.commit("Add the stats module", {"stats.py": lines(20, "stats", {12: BUG_A})}, "2025-01-10T00:00:00Z")
    s["B"] = h.commit("Add a parser", {"parser.py": lines(50, "parser", {20: BUG_B, 40: BUG_B2})},
                      "2025-02-01T00:00:00Z")
    s["C"] = h.commit("Add text helpers", {"util.py": lines(15, "util", {8: BUG_C})}, "2025-02-15T00:00:00Z")
    s["rename"] = h.commit("Rename util to helpers", {"util.py": None, "helpers.py": lines(15, "util", {8: BUG_C})},
                           "2025-03-01T00:00:00Z")
    s["logo"] = h.commit("Add a logo", {"logo.png": b"\x89PNG\r\n\x1a\n\x00\x00binary\x00"}, "2025-03-05T00:00:00Z")
    # a side branch with one commit (bug D), merged with an evil merge that adds a bug of its own
    h.git("checkout", "-q", "-b", "feature")
    s["D"] = h.commit("Add a cache", {"cache.py": lines(12, "cache", {6: BUG_D})}, "2025-03-12T00:00:00Z")
    h.git("checkout", "-q", "main")
    h.git("merge", "-q", "--no-ff", "--no-commit", "feature", when="2025-03-15T00:00:00Z")
    h.write({"calc.py": lines(20, "calc", {3: BUG_MERGE})})
    h.git("add", "-A")
    h.git("commit", "-q", "-m", "Merge branch 'feature'", when="2025-03-15T00:00:00Z")
    s["merge"] = h.head()
    # the fixes
    s["fixA"] = h.commit("Fix off-by-one in mean", {
        "stats.py": lines(20, "stats", {12: "    total = sum(xs) / len(xs)"}), "poetry.lock": "# lock 2\n",
        "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00binary 2\x00"}, "2025-04-01T00:00:00Z")
    s["fixB"] = h.commit("parser: bug with the last token", {
        "parser.py": lines(50, "parser", {20: "    if i >= len(tokens):", 40: BUG_B2})}, "2025-04-10T00:00:00Z")
    s["fixC"] = h.commit("Regression: strip drops the last character", {
        "helpers.py": lines(15, "util", {8: "    return text.strip()"})}, "2025-04-20T00:00:00Z")
    s["fixD"] = h.commit("Fix the cache key", {"cache.py": lines(12, "cache", {6: "    key = args"})},
                         "2025-05-01T00:00:00Z")
    s["fixB2"] = h.commit("FIX: the parser's end", {
        "parser.py": lines(50, "parser", {20: "    if i >= len(tokens):", 40: "    end = tokens[i]"})},
        "2025-05-10T00:00:00Z")
    s["fixRoot"] = h.commit("Fix legacy rounding", {"legacy.py": lines(10, "legacy", {5: "    rounded = round(x, 2)"})},
                            "2025-05-20T00:00:00Z")
    s["fixMerge"] = h.commit("fix(calc): overflow", {"calc.py": lines(20, "calc", {3: "    limit = 2 ** 63"})},
                             "2025-05-25T00:00:00Z")
    s["prefix"] = h.commit("prefix the fixture names", {"stats.py": lines(20, "stats", {
        12: "    total = sum(xs) / len(xs)", 5: "    renamed = 5"})}, "2025-06-01T00:00:00Z")
    s["space"] = h.commit("Fix indentation", {"parser.py": lines(50, "parser", {
        20: "    if i >= len(tokens):", 40: "    end = tokens[i]", 25: "        parser_25 = 25  # line 25"})},
        "2025-06-05T00:00:00Z")
    p.bugs = {"A": {"stats.py": [12]}, "B": {"parser.py": [20, 40]}, "C": {"util.py": [8]}, "D": {"cache.py": [6]}}
    p.snippets = {BUG_A: "stats.py", BUG_B: "parser.py", BUG_B2: "parser.py", BUG_C: "util.py", BUG_D: "cache.py"}
    return p
