"""diffs.py against real git output: every awkward kind of change, and GitHub's commentable lines."""

from __future__ import annotations

import dataclasses
import random

import pytest

from batch_review.core.diffs import (
    CommentableLines,
    DiffError,
    FileDiff,
    commentable_lines,
    decode_diff,
    line_hash,
    parse_diff,
    right_line_hashes,
    unquote_path,
)

from ..gitfixture import Repo, git


@pytest.fixture
def repo(tmp_path):
    return Repo(tmp_path)


def files_of(repo: Repo, base: str, head: str, context: int = 3):
    text, valid = decode_diff(repo.diff(base, head, context))
    return {f.path: f for f in parse_diff(text, context=context, valid_utf8=valid)}


def test_modified_file_hunks_and_commentable_lines(repo):
    repo.write("a.py", "".join(f"line {i}\n" for i in range(1, 41)))
    base = repo.commit("base")
    lines = [f"line {i}\n" for i in range(1, 41)]
    lines[4] = "changed 5\n"
    lines[30:31] = []  # remove line 31
    repo.write("a.py", "".join(lines))
    head = repo.commit("change")
    fd = files_of(repo, base, head)["a.py"]
    assert fd.status == "modified" and fd.skip_reason() is None
    assert (fd.added, fd.removed) == (1, 2)
    c = fd.commentable()
    assert c.right == ((2, 8), (28, 33))
    assert c.left == ((2, 8), (28, 34))
    assert c.contains("RIGHT", 5) and not c.contains("RIGHT", 9)
    assert c.contains("LEFT", 31) and c.same_hunk("RIGHT", 2, 8) and not c.same_hunk("RIGHT", 5, 30)


@pytest.mark.parametrize("seed", range(12))
def test_wide_context_gives_the_same_commentable_lines_as_git_u3(repo, seed):
    rng = random.Random(seed)
    original = [f"row {i}\n" for i in range(200)]
    repo.write("f.txt", "".join(original))
    base = repo.commit("base")
    changed = list(original)
    for _ in range(rng.randint(1, 12)):
        i = rng.randrange(len(changed))
        op = rng.choice(["edit", "insert", "delete"])
        if op == "edit":
            changed[i] = f"edited {rng.random()}\n"
        elif op == "insert":
            changed.insert(i, f"new {rng.random()}\n")
        elif len(changed) > 1:
            del changed[i]
    repo.write("f.txt", "".join(changed))
    head = repo.commit("change")
    if base == head or not repo.diff(base, head):
        pytest.skip("random edits cancelled out")
    u3 = files_of(repo, base, head, 3)["f.txt"].commentable()
    for context in (4, 7, 10):
        wide = files_of(repo, base, head, context)["f.txt"]
        assert commentable_lines(wide.hunks, context) == u3, context


def test_added_deleted_and_renamed_files(repo):
    repo.write("old name.py", "x = 1\ny = 2\n")
    repo.write("gone.py", "print('bye')\n")
    base = repo.commit("base")
    git(repo.path, "mv", "old name.py", "new name.py")
    repo.write("new name.py", "x = 1\ny = 3\n")
    (repo.path / "gone.py").unlink()
    repo.write("fresh.py", "def f():\n    return 1\n")
    head = repo.commit("change")
    files = files_of(repo, base, head)
    assert files["new name.py"].status == "renamed" and files["new name.py"].old_path == "old name.py"
    assert files["new name.py"].skip_reason() is None
    assert files["gone.py"].status == "deleted" and files["gone.py"].skip_reason() == "file deleted"
    assert files["fresh.py"].status == "added" and files["fresh.py"].commentable().right == ((1, 2),)
    assert files["fresh.py"].commentable().left == ()


def test_pure_rename_mode_change_binary_empty_symlink(repo):
    repo.write("keep.sh", "echo hi\n")
    repo.write("move.txt", "same\n" * 10)
    base = repo.commit("base")
    git(repo.path, "mv", "move.txt", "moved.txt")
    (repo.path / "keep.sh").chmod(0o755)
    repo.write("logo.png", b"\x89PNG\r\n\x1a\n\x00\x00binary")
    repo.write("empty.txt", "")
    (repo.path / "link").symlink_to("keep.sh")
    head = repo.commit("change")
    files = files_of(repo, base, head)
    assert files["moved.txt"].skip_reason() == "renamed without changes"
    assert files["keep.sh"].skip_reason() == "mode change only (100644 -> 100755)"
    assert files["logo.png"].skip_reason() == "binary file"
    assert files["empty.txt"].skip_reason() == "empty file added"
    assert files["link"].skip_reason() == "symbolic link"


def test_submodule_pointer(repo, tmp_path):
    sub = Repo(tmp_path / "sub")
    base = repo.commit("base")
    sha = sub.head()
    git(repo.path, "update-index", "--add", "--cacheinfo", f"160000,{sha},vendor/lib")
    git(repo.path, "commit", "-q", "-m", "submodule")
    head = repo.head()
    assert files_of(repo, base, head)["vendor/lib"].skip_reason() == "submodule pointer change"


def test_no_trailing_newline_crlf_form_feed_and_non_utf8(repo):
    repo.write("nonl.txt", "a\nb")
    repo.write("crlf.txt", "one\r\ntwo\r\n")
    repo.write("ff.c", "int a;\n\x0c\nint b;\n")
    repo.write("latin1.txt", "caf\xe9\n".encode("latin-1").decode("latin-1"))
    base = repo.commit("base")
    repo.write("nonl.txt", "a\nc")
    repo.write("crlf.txt", "one\r\nTWO\r\n")
    repo.write("ff.c", "int a;\n\x0c\nint c;\n")
    repo.write("latin1.txt", b"caf\xe9 cr\xe8me\n")
    head = repo.commit("change")
    files = files_of(repo, base, head)
    assert files["nonl.txt"].commentable().right == ((1, 2),)
    assert files["crlf.txt"].hunks[0][-1].value == "TWO\r\n"
    ff = files["ff.c"]
    assert ff.commentable().right == ((1, 3),) and ff.added == 1
    latin = files["latin1.txt"]
    assert latin.notes == ["not valid UTF-8: undecodable bytes shown as U+FFFD"]
    assert "\ufffd" in latin.hunks[0][-1].value


def test_paths_with_quotes_non_ascii_and_spaces(repo):
    names = ['with space.py', 'quote"d.py', "naïve/ünï.py", "tab\there.py"]
    base = repo.commit("base")
    for name in names:
        repo.write(name, "x = 1\n")
    head = repo.commit("add")
    assert set(files_of(repo, base, head)) == set(names) | set()


def test_empty_diff(repo):
    base = repo.head()
    head = repo.commit("nothing")
    assert parse_diff(decode_diff(repo.diff(base, head))[0]) == []


def test_garbage_is_a_diff_error():
    with pytest.raises(DiffError, match="cannot parse the diff"):
        parse_diff("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n+only one line\n@@ broken\n")


def test_unquote_path():
    assert unquote_path('"a/caf\\303\\251 \\"x\\".txt"') == 'café "x".txt'
    assert unquote_path("b/plain.txt") == "plain.txt"
    assert unquote_path('"b/tab\\there"') == "tab\there"


def test_commentable_json_round_trip_and_validation():
    c = CommentableLines(right=((1, 4), (10, 12)), left=((2, 2),))
    assert CommentableLines.from_json(c.to_json()) == c
    with pytest.raises(ValueError):
        CommentableLines.from_json({"RIGHT": [[5, 2]]})
    with pytest.raises(ValueError):
        c.ranges("MIDDLE")


def test_line_hashes_follow_the_new_side_content_hunk_by_hunk():
    """Findings are recognised across reviews by the content of their line: a removed line must not shift
    the hashes, and a line past the end of a hunk has none (an index past the list would crash poll)."""
    import zlib

    diff = ("diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -10,4 +10,4 @@\n ctx\n-old\n+  new  \n ctx2\n"
            " ctx3\n@@ -30,2 +29,0 @@\n-gone\n-gone too\n@@ -40,1 +38,1 @@\n-x\n+\ud800 odd\n")
    (fd,) = parse_diff(diff)
    hashes = right_line_hashes(fd.hunks)
    crc = [zlib.crc32(s.encode("utf-8", "replace")) for s in ("ctx", "new", "ctx2", "ctx3")]
    assert hashes[0] == [10, crc] and hashes[1][0] == 38  # the removal-only hunk has no new-side line
    assert len(hashes) == 2
    assert [line_hash(hashes, n) for n in (9, 10, 11, 13, 14)] == [None, crc[0], crc[1], crc[3], None]
    assert line_hash(hashes, 38) == zlib.crc32("\ud800 odd".encode("utf-8", "replace"))
    assert line_hash(hashes, None) is None and line_hash([], 10) is None


def test_same_hunk_is_inclusive_and_ordered():
    lines = CommentableLines(right=((1, 10), (20, 30)))
    assert lines.same_hunk("RIGHT", 5, 5) and lines.same_hunk("RIGHT", 20, 30) and lines.same_hunk("RIGHT", 1, 10)
    assert not lines.same_hunk("RIGHT", 6, 5) and not lines.same_hunk("RIGHT", 10, 20)
    assert not lines.same_hunk("LEFT", 5, 5) and lines.hunk_of("RIGHT", 25) == (20, 30)
    with pytest.raises(ValueError, match="side must be RIGHT or LEFT"):
        lines.contains("right", 5)


def test_quoted_paths_at_their_edges():
    """git quotes odd names C-style; an escape or a backslash at the very end, an empty or half-quoted name
    must come out as written (a wrong path puts findings on the wrong file or none)."""
    assert unquote_path('""') == "" and unquote_path('b/a"') == 'a"' and unquote_path('"b/a\\t"') == "a\t"
    assert unquote_path('"a\\\\"') == "a\\" and unquote_path('"a\\"') == "a\\" and unquote_path('"\\303\\251"') == "é"


def test_file_kind_old_path_and_the_undecodable_note_are_per_file():
    diff = ("diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x\n+\ufffd y\n"
            "diff --git a/b.py b/b.py\n--- a/b.py\n+++ b/b.py\n@@ -1 +1 @@\n-x\n+y\n")
    a, b = parse_diff(diff, valid_utf8=False)
    assert a.notes == ["not valid UTF-8: undecodable bytes shown as U+FFFD"] and b.notes == []
    a, b = parse_diff(diff)  # valid UTF-8 that happens to contain U+FFFD: nothing was undecodable
    assert a.notes == [] and (a.kind, a.old_path, a.status) == ("file", None, "modified")
    assert FileDiff("c.py", None, "modified", []).skip_reason() == "no textual change"


def test_commentable_json_with_one_side_and_its_errors():
    assert CommentableLines.from_json({"RIGHT": [[1, 2]]}) == CommentableLines(right=((1, 2),))
    with pytest.raises(ValueError, match=r"bad LEFT range \[3, 1\]"):
        CommentableLines.from_json({"LEFT": [[3, 1]]})
    with pytest.raises(ValueError, match="a diff with 2 lines of context cannot give GitHub's hunks"):
        commentable_lines([], 2)


@pytest.mark.parametrize("escape, char", [("a", "\a"), ("b", "\b"), ("t", "\t"), ("n", "\n"), ("v", "\v"),
                                          ("f", "\f"), ("r", "\r"), ('"', '"'), ("\\", "\\")])
def test_every_c_escape_git_writes_in_a_quoted_path_is_undone(escape, char):
    assert unquote_path(f'"b/x\\{escape}y.py"') == f"x{char}y.py"


def test_a_backslash_before_something_that_is_no_escape_is_kept():
    assert unquote_path('"b/x\\9abc"') == "x\\9abc"  # not an octal digit: no escape, and no crash
    assert unquote_path('"b/x\\12"') == "x\\12"  # an octal escape needs three digits
    assert unquote_path('"b/x\\101y"') == "xAy"


def test_names_git_quotes_come_back_as_the_files_names(repo):
    """Every control character git escapes in a name, through real git."""
    names = ["bell\a.txt", "back\bspace.txt", "tab\t.txt", "new\nline.txt", "vtab\v.txt", "form\f.txt",
             "car\rriage.txt", 'quote".txt', "back\\slash.txt", "caf\u00e9.txt"]
    base = repo.head()
    for name in names:
        repo.write(name, "x\n")
    assert sorted(files_of(repo, base, repo.commit("names"))) == sorted(names)


def test_a_renamed_file_with_a_quoted_name_keeps_its_new_name(repo):
    """git quotes a name with a tab; unidiff's own `path` then falls back to the old name."""
    repo.write("old\tname.py", "".join(f"line {i}\n" for i in range(20)))
    base = repo.commit("base")
    git(repo.path, "mv", "old\tname.py", "new\tname.py")
    repo.write("new\tname.py", "".join(f"line {i}\n" for i in range(19)) + "changed\n")
    (fd,) = files_of(repo, base, repo.commit("rename")).values()
    assert (fd.status, fd.path, fd.old_path) == ("renamed", "new\tname.py", "old\tname.py")


def test_a_lone_quote_is_a_name_not_a_quoted_empty_one():
    assert unquote_path('"') == '"' and unquote_path('""') == ""


def test_an_empty_file_that_gets_its_first_lines_is_modified_not_added(repo):
    """Its only hunk starts at old line 0 as an added file's does; only the old name tells them apart."""
    repo.write("empty.py", "")
    base = repo.commit("base")
    repo.write("empty.py", "x = 1\n")
    (fd,) = files_of(repo, base, repo.commit("fill")).values()
    assert (fd.status, fd.path, fd.commentable().right) == ("modified", "empty.py", ((1, 1),))


def test_commentable_lines_are_a_value_that_cannot_change():
    c = CommentableLines(right=((1, 4),), left=())
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.right = ()
    assert c == CommentableLines(right=((1, 4),), left=()) and hash(c) == hash(CommentableLines(((1, 4),), ()))


def test_a_file_emptied_of_every_line_is_modified_not_deleted(repo):
    """Its only hunk ends at new line 0 as a deleted file's does; only the new name tells them apart."""
    repo.write("full.py", "x = 1\ny = 2\n")
    base = repo.commit("base")
    repo.write("full.py", "")
    (fd,) = files_of(repo, base, repo.commit("empty it")).values()
    assert (fd.status, fd.path, fd.skip_reason(), fd.commentable().left) == ("modified", "full.py", None, ((1, 2),))


def test_valid_utf8_holding_a_replacement_character_is_valid():
    text = "+x = '\ufffd'\n"
    assert decode_diff(text.encode()) == (text, True)
    assert decode_diff(b"+x = '\xff'\n") == ("+x = '\ufffd'\n", False)


def test_a_stored_range_starting_at_line_0_is_refused():
    with pytest.raises(ValueError):
        CommentableLines.from_json({"RIGHT": [[0, 3]], "LEFT": []})
    assert CommentableLines.from_json({"RIGHT": [[1, 3]], "LEFT": []}).right == ((1, 3),)


def test_a_name_that_only_starts_with_a_quote_is_not_unquoted():
    assert unquote_path('"b/x.py') == '"b/x.py' and unquote_path('b/x.py"') == 'x.py"'
