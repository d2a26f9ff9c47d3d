"""Property test (Hypothesis): for any change git can make to a file, anchoring (fed the commentable lines
the manifest carries, from a diff made with any number of context lines) accepts exactly the comment
positions the GitHub emulator's placement rules accept, on both sides, single- and multi-line.

The diffs are made by real `git diff` in a temporary repository: additions, deletions, renames, files with
and without a final newline, lines that repeat (so git has to choose an alignment). The emulator reads the
pull request's own -U3 diff, as GitHub does; anchoring reads the ranges submit computed from a diff with the
configured `context_lines` and stored in the manifest (to_json/from_json, as poll reads them back).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batch_review.core.diffs import CommentableLines, decode_diff, parse_diff
from batch_review.core.vocabulary import Finding
from batch_review.findings.anchoring import InlineComment, place_one

from ..emulators.github_emu import GitHubEmulator
from ..gitfixture import GIT_ENV

EXAMPLES = int(os.environ.get("ANCHORING_PROPERTY_EXAMPLES", "40"))
REPEATED = st.sampled_from(["", "}", "return y"])  # lines that repeat: git must choose an alignment


@st.composite
def files(draw, min_size: int = 1) -> list[str]:
    """Mostly distinct lines, some repeated."""
    n = draw(st.integers(min_size, 50))
    return [draw(REPEATED) if draw(st.integers(0, 5)) == 0 else f"line {i}" for i in range(n)]


@st.composite
def edited(draw, old: list[str]) -> list[str]:
    """Local edits separated by gaps of unchanged lines around git's joining distance (2 x 3 context)."""
    new, at, edits = list(old), 0, []
    for gap in draw(st.lists(st.integers(0, 12), min_size=1, max_size=6)):
        at += gap
        if at > len(old):
            break
        cut, added = draw(st.integers(0, 3)), draw(st.lists(st.sampled_from(["new", "}", ""]), max_size=3))
        edits.append((at, cut, [f"{text} {at}" if text == "new" else text for text in added]))
        at += cut
    for at, cut, added in reversed(edits):
        new[at:at + cut] = added
    return new


@st.composite
def changes(draw) -> tuple[list[str] | None, list[str] | None, bool, bool, bool]:
    """(old lines or None: added, new lines or None: deleted, old ends with a newline, new does, renamed)."""
    kind = draw(st.sampled_from(["edit"] * 6 + ["add", "delete", "rename"]))
    old = None if kind == "add" else draw(files())
    new = None if kind == "delete" else draw(files()) if kind == "add" else draw(edited(old))
    return old, new, draw(st.booleans()), draw(st.booleans()), kind == "rename"


class Git:
    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, *args: str, input: bytes | None = None) -> str:
        return subprocess.run(["git", "-c", "core.quotepath=off", *args], cwd=self.root, input=input,
                              env={**os.environ, **GIT_ENV}, capture_output=True, check=True).stdout.decode()

    def tree(self, name: str, lines: list[str] | None, newline_at_end: bool) -> str:
        """A tree holding one file (none when `lines` is None), written straight into the object store."""
        if lines is None:
            return self("mktree", input=b"").strip()
        text = "\n".join(lines) + ("\n" if newline_at_end else "")
        blob = self("hash-object", "-w", "--stdin", input=text.encode()).strip()
        return self("mktree", input=f"100644 blob {blob}\t{name}\n".encode()).strip()


@pytest.fixture(scope="module")
def git():
    root = Path(tempfile.mkdtemp(prefix="anchoring-props-"))
    g = Git(root)
    g("init", "-q", "-b", "main")
    yield g
    shutil.rmtree(root, ignore_errors=True)


def diffs_of(git: Git, change, contexts: tuple[int, ...]) -> dict[int, str]:
    """The change as `git diff` of two trees shows it, -U<n> for each n."""
    old, new, old_nl, new_nl, renamed = change
    before = git.tree("f.py", old, old_nl)
    after = git.tree("g.py" if renamed else "f.py", new, new_nl)
    return {n: git("diff", "--find-renames", f"-U{n}", before, after) for n in contexts}


def finding(path: str, side: str, line: int, start: int | None = None) -> Finding:
    return Finding("pr-1:0000:0", path, line, start, side, "high", "bug", "t", "b", None)


def emulator_for(diff: str) -> tuple[GitHubEmulator, dict]:
    emu = GitHubEmulator()  # not started: only its placement rules are used
    emu.add_pull(1, head_sha="h" * 40, base_sha="b" * 40, diff=diff)
    return emu, emu.pulls[1]


def accepted(emu: GitHubEmulator, pull: dict, c: dict) -> bool:
    return emu._comment_problem(pull, {"body": "x", **c}) is None


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(change=changes())
def test_anchoring_accepts_exactly_the_lines_github_accepts(git, change):
    contexts = (3, 4, 6, 10)
    diffs = diffs_of(git, change, contexts)
    if not diffs[3].strip():
        return  # the edits cancelled out: nothing to comment on
    emu, pull = emulator_for(diffs[3])
    top = max(len(change[0] or []), len(change[1] or [])) + 3
    for n in contexts:
        text, _ = decode_diff(diffs[n].encode())
        files = parse_diff(text, context=n)
        assert {fd.path for fd in files} == set(pull["hunks"])  # a rename git did not find: two files
        # the ranges as the manifest holds them and poll reads them back
        commentable = {fd.path: CommentableLines.from_json(fd.commentable().to_json()) for fd in files}
        for path in commentable:
            for side in ("RIGHT", "LEFT"):
                for line in range(0, top):
                    _same_verdicts(emu, pull, commentable, path, side, line, (n, diffs[3]))


def _same_verdicts(emu, pull, commentable, path: str, side: str, line: int, why) -> None:
    """The single-line comment on `line`, and every multi-line one ending there: anchoring and the
    emulator agree on each."""
    placed = place_one(finding(path, side, line), commentable)
    ok = accepted(emu, pull, {"path": path, "line": line, "side": side})
    assert isinstance(placed, InlineComment) == ok, (side, line, placed, why)
    if not ok:
        return
    for start in range(1, line):
        placed = place_one(finding(path, side, line, start), commentable)
        assert isinstance(placed, InlineComment) and placed.line == line
        sent = {"path": path, "line": line, "side": side, "start_line": placed.start_line,
                "start_side": placed.start_side}
        assert accepted(emu, pull, {k: v for k, v in sent.items() if v is not None}), (side, start, line, why)
        multi = accepted(emu, pull, {"path": path, "line": line, "side": side, "start_line": start,
                                     "start_side": side})
        assert (placed.start_line == start) == multi, (side, start, line, placed.note, why)
