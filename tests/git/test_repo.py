"""git/repo.py: what the verify round reads from the checkout's objects (a file at a commit, one file's
diff), with hostile paths a model could write."""

from __future__ import annotations

from batch_review.git.repo import GitRepo

from ..gitfixture import Repo


def test_a_file_at_a_commit_and_its_diff_come_from_git_objects_not_the_work_tree(tmp_path):
    repo = Repo(tmp_path)
    repo.write("a.py", "x = 1\n")
    base = repo.commit("base")
    repo.write("a.py", "x = 2\n")
    repo.write(":(glob)*", "odd name\n")
    head = repo.commit("head")
    (repo.path / "a.py").write_text("not committed\n")
    g = GitRepo(repo.path)
    assert g.file_at(head, "a.py") == "x = 2\n" and g.file_at(base, "a.py") == "x = 1\n"
    assert g.file_at(head, "missing.py") is None and g.file_at(head, "-p") is None
    assert g.file_at("-x", "a.py") is None and g.file_at(head, "a.py", max_bytes=3) is None
    diff = g.file_diff(base, head, "a.py")
    assert "-x = 1\n+x = 2" in diff and "odd name" not in diff
    # a pathspec a model could write is a literal name, never magic that matches every file
    assert "a.py" not in g.file_diff(base, head, ":(glob)*") and "+odd name" in g.file_diff(base, head, ":(glob)*")
    assert g.file_diff(base, head, "*") == "" and g.file_diff("--output=x", head, "a.py") == ""
