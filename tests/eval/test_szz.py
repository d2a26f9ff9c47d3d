"""SZZ's pure half: fix words, git's raw answers read into records, and what a hostile history can put
in them (messages, paths and line contents are author text)."""

from __future__ import annotations

import pytest

from batch_review.core.diffs import parse_diff
from batch_review.core.errors import RepositoryError
from batch_review.eval.szz import (
    Commit,
    changed_lines,
    check_words,
    first_parent_chain,
    fix_pattern,
    parse_blame,
    parse_commits,
    parse_numstat,
    spans,
)

A, B, C = "a" * 40, "b" * 40, "c" * 40


def log(*records: tuple[str, ...]) -> bytes:
    """git log -z output: each record's fields NUL-separated, each record NUL-ended."""
    return b"".join("\x00".join(r).encode() + b"\x00" for r in records)


@pytest.mark.parametrize(("message", "fix"), [
    ("Fix off-by-one in mean", True), ("parser: bug with the last token", True), ("FIX: the end", True),
    ("fix(calc): overflow", True), ("Regression in 2.1", True), ("Merge pull request #5 from me/fix-parser", True),
    ("prefix the fixture names", False), ("bugfix release", False), ("debugging aid", False),
    ("fixes #12", False), ("add a regressions suite", False), ("fix_up helper", False), ("", False),
])
def test_a_fix_word_counts_only_as_a_whole_word_in_any_case(message, fix):
    assert bool(fix_pattern(("fix", "bug", "regression")).search(message)) is fix


def test_fix_words_are_words_and_configurable():
    assert fix_pattern(["fixes"]).search("Fixes #12") and not fix_pattern(["fixes"]).search("fix it")
    assert check_words(["Fix", "fix", "BUG"]) == ("fix", "bug")
    for bad in (["fix|.*"], ["a b"], [""], [], ["x" * 41]):
        with pytest.raises(ValueError):
            check_words(bad)


def test_a_word_is_never_a_pattern():
    """A fix word with regex syntax would match every message (`.*`): words are plain words only."""
    with pytest.raises(ValueError, match="is not a word"):
        fix_pattern([".*"])


def test_parse_commits_reads_nul_separated_records():
    merge, root = parse_commits(log((A, f"{B} {C}", "100", "Merge x\n\nbody\n"), (B, "", "99", "first\n")))
    assert merge == Commit(A, (B, C), 100, "Merge x\n\nbody") and merge.subject == "Merge x"
    assert root == Commit(B, (), 99, "first")


@pytest.mark.parametrize("raw", [log(("zz", "", "1", "msg")), log((A, "", "soon", "m")), log((A, "", "1"))[:-1],
                                 log((A, "not-a-sha", "1", "m"))])
def test_a_log_not_in_gits_shape_is_an_error_not_a_guess(raw):
    with pytest.raises(RepositoryError, match="git log"):
        parse_commits(raw)


def test_a_message_that_imitates_a_record_stays_one_message():
    """A commit message is free text, but git never prints a NUL inside it: a message full of ids and
    newlines that look like the next record is still one commit's message."""
    evil = f"Fix it\n{B}\n{C} {A}\n123\n"
    (commit,) = parse_commits(log((A, "", "1", evil)))
    assert commit.sha == A and commit.message == evil.rstrip("\n")


def test_the_mainline_is_the_first_parent_line():
    commits = [Commit(A, (B, C), 3, "merge"), Commit(C, (B,), 2, "side"), Commit(B, (), 1, "root")]
    assert first_parent_chain(commits) == {A, B}
    assert first_parent_chain([]) == set()


def test_numstat_reads_renames_binaries_and_odd_names():
    raw = b"3\t1\tsrc/a.py\0-\t-\tlogo.png\0" + b"2\t2\t\0old name.py\0new\tname.py\0" + b"0\t4\tline\nbreak.py\0"
    entries = parse_numstat(raw)
    assert [(e.path, e.old_path, e.added, e.removed) for e in entries] == [
        ("src/a.py", None, 3, 1), ("logo.png", None, None, None), ("new\tname.py", "old name.py", 2, 2),
        ("line\nbreak.py", None, 0, 4)]
    with pytest.raises(RepositoryError):
        parse_numstat(b"x\ty\tpath\0")


def test_changed_lines_are_the_old_side_less_whitespace_only_lines():
    diff = ("diff --git a/f.py b/f.py\n--- a/f.py\n+++ b/f.py\n@@ -3,3 +3,2 @@\n-x = 1\n-   \n-y = 2\n+x = 2\n+y = 3\n"
            "@@ -9 +8 @@\n-z = 1\n+z = 2\n")
    (fd,) = parse_diff(diff, context=0)
    assert changed_lines(fd) == [3, 5, 9]
    assert spans([9, 3, 4, 5, 5, 11]) == [(3, 5), (9, 9), (11, 11)]


def _porcelain(*groups: bytes) -> bytes:
    return b"".join(groups)


def test_blame_gives_each_line_its_commit_path_and_number_in_that_commit():
    raw = _porcelain(
        f"{A} 12 20 2\nauthor X\ncommitter-time 500\nsummary Add stats\nfilename stats.py\n\tline one\n".encode(),
        f"{A} 13 21\n\tline two\n".encode(),
        f"{B} 7 22 1\nauthor Y\ncommitter-time 400\nprevious {C} old.py\nfilename old.py\n\tthird\n".encode(),
        f"{A} 30 40 1\n\tlater group of A\n".encode())
    got = [(b.sha, b.path, b.line, b.committed) for b in parse_blame(raw)]
    assert got == [(A, "stats.py", 12, 500), (A, "stats.py", 13, 500), (B, "old.py", 7, 400), (A, "stats.py", 30, 500)]


def test_blame_follows_a_commit_seen_under_two_paths_and_quoted_names():
    raw = _porcelain(
        f'{A} 1 1 1\ncommitter-time 5\nfilename "tab\\there.py"\n\tx\n'.encode(),
        f"{A} 2 9 1\nfilename a/b.py\n\ty\n".encode())
    assert [(b.path, b.line) for b in parse_blame(raw)] == [("tab\there.py", 1), ("a/b.py", 2)]


def test_line_contents_cannot_pass_for_blame_headers():
    """A line of code that reads like a porcelain header or a filename is content: it follows the tab."""
    evil = f"\t{B} 1 1 1\n".encode()
    raw = f"{A} 4 4 1\ncommitter-time 5\nfilename f.py\n".encode() + evil + \
        f"{A} 5 5 1\n\tfilename /etc/passwd\n".encode()
    assert [(b.sha, b.path, b.line) for b in parse_blame(raw)] == [(A, "f.py", 4), (A, "f.py", 5)]


@pytest.mark.parametrize("raw", [b"not a header\n\tx\n", f"{A} 1 1 1\n\tx\n".encode(),
                                 f"{A} 1 1 1\ncommitter-time soon\nfilename f\n\tx\n".encode()])
def test_a_blame_not_in_gits_shape_is_an_error(raw):
    with pytest.raises(RepositoryError, match="git blame"):
        parse_blame(raw)
