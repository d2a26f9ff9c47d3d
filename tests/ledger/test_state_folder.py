"""The state folder (`.batch-review/`) keeps itself out of git and out of review (issue 22, item 5).

A dry run writes batch files and a manifest there: `git add -A` must stage none of it, and if someone
committed it anyway, submit must not send batch-review's own batch files to the model. The workflow uploads
the folder (hidden files included) as the manifest artifact: poll must read it with the .gitignore inside,
and a run with nothing to keep must leave nothing an upload step would turn into an artifact.
"""

from __future__ import annotations

from pathlib import Path

from batch_review.ledger.store import GITIGNORE_TEXT, keep_out_of_git, path_inside

from ..conftest import finding, paths_of
from ..emulators.github_emu import make_zip
from ..gitfixture import git


def staged_after_add_all(repo: Path) -> list[str]:
    git(repo, "add", "-A")
    return git(repo, "diff", "--cached", "--name-only").splitlines()


def test_a_dry_run_stages_nothing(world):
    """The default state folder, inside the checkout: after a dry run `git add -A` stages nothing of it."""
    world.state = world.repo.path / ".batch-review"
    assert world.submit("--dry-run") == 0
    assert (world.state / ".gitignore").read_text() == GITIGNORE_TEXT
    assert world.manifests() and staged_after_add_all(world.repo.path) == []
    assert git(world.repo.path, "status", "--porcelain") == ""


def test_a_folder_of_the_users_own_is_never_hidden(world):
    """--state-dir pointing at a folder that holds the user's files: no .gitignore of `*` goes there."""
    world.state = world.repo.path / "ci"
    world.repo.write("ci/build.sh", "make\n")
    assert world.submit("--dry-run") == 0
    assert not (world.state / ".gitignore").exists()
    assert "ci/build.sh" in staged_after_add_all(world.repo.path)


def test_the_users_own_gitignore_is_kept_and_an_old_folder_of_ours_gets_one(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / ".gitignore").write_text("*.jsonl\n")
    keep_out_of_git(mine)
    assert (mine / ".gitignore").read_text() == "*.jsonl\n"
    old = tmp_path / "old"  # written by a release before this one: runs, done/, the lock, no .gitignore
    (old / "batch-review-20260101T000000Z").mkdir(parents=True)
    (old / "done" / "batch-review-20251231T000000Z").mkdir(parents=True)
    (old / ".lock").write_text("")
    keep_out_of_git(old)
    assert (old / ".gitignore").read_text() == GITIGNORE_TEXT
    fresh = keep_out_of_git(tmp_path / "a" / "b")
    assert (fresh / ".gitignore").read_text() == GITIGNORE_TEXT


def test_a_symlinked_gitignore_is_not_followed(tmp_path):
    """A .gitignore that is a symlink (to a file of the repository, say) is neither written through nor
    replaced."""
    target = tmp_path / "elsewhere"
    target.write_text("keep me\n")
    folder = tmp_path / "state"
    folder.mkdir()
    (folder / ".gitignore").symlink_to(target)
    keep_out_of_git(folder)
    assert target.read_text() == "keep me\n"


def test_where_the_folder_lies():
    assert path_inside("/w/repo/.batch-review", "/w/repo") == ".batch-review"
    assert path_inside("/w/repo/ci/state", "/w/repo") == "ci/state"
    assert path_inside("/w/repo", "/w/repo") is None
    assert path_inside("/tmp/state", "/w/repo") is None


def test_a_committed_state_folder_is_never_reviewed(world):
    """A pull request that adds files under the state folder (someone committed a dry run's output, or
    put anything there): those files are skipped with the reason, never sent to the model."""
    world.state = world.repo.path / ".batch-review"
    git(world.repo.path, "fetch", "-q", "origin", "+refs/pull/1/head:refs/heads/feature-1")
    world.repo.checkout("feature-1")
    world.repo.write(".batch-review/batch-review-20260101T000000Z/input-000.jsonl", '{"custom_id": "x"}\n')
    world.repo.write(".batch-review/notes.py", "print('review me')\n")
    world.repo.write(".batch-reviewer.py", "x = 1\n")  # a neighbour whose name only starts the same
    world.repo.commit("commit the state folder")
    world.repo.checkout("main")
    assert world.submit("--dry-run", "--base", "main", "--head", "feature-1") == 0
    m = world.manifest()
    sent = {path for r in m["requests"].values() for path in paths_of(r)}
    assert ".batch-reviewer.py" in sent and "app.py" in sent
    assert not any(path.startswith(".batch-review/") for path in sent)
    (skipped,) = m["skipped"].values()
    assert {s["path"]: s["reason"] for s in skipped if s["path"].startswith(".batch-review/")} == {
        ".batch-review/batch-review-20260101T000000Z/input-000.jsonl": "batch-review's state folder",
        ".batch-review/notes.py": "batch-review's state folder"}


def test_a_state_folder_elsewhere_excludes_its_own_path(world):
    """--state-dir inside the checkout under another name: that path is the one left out."""
    world.state = world.repo.path / "tmp" / "review-state"
    git(world.repo.path, "fetch", "-q", "origin", "+refs/pull/1/head:refs/heads/feature-1")
    world.repo.checkout("feature-1")
    world.repo.write("tmp/review-state/x.py", "x = 1\n")
    world.repo.commit("add")
    world.repo.checkout("main")
    assert world.submit("--dry-run", "--base", "main", "--head", "feature-1") == 0
    (skipped,) = world.manifest()["skipped"].values()
    assert {"path": "tmp/review-state/x.py", "reason": "batch-review's state folder"} in skipped


# --- the artifact the workflow uploads --------------------------------------------------------------------

def uploaded(state: Path) -> dict[str, bytes]:
    """What actions/upload-artifact uploads of `path: .batch-review/` with include-hidden-files: true."""
    return {str(p.relative_to(state)): p.read_bytes() for p in state.rglob("*") if p.is_file()}


def test_the_artifact_with_its_gitignore_is_read_posted_and_retired(world, signed, capsys):
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")]})
    assert world.submit() == 0
    files = uploaded(world.state)
    assert files[".gitignore"] == GITIGNORE_TEXT.encode()
    world.github.add_artifact("batch-review-99-1", make_zip(files))
    world.openai.complete_all()
    polled = world.state.parent / "poll-state"
    assert world.run("poll", "--artifacts", "--state-dir", str(polled)) == 0
    out, err = capsys.readouterr()
    assert "warning" not in err and "problem" not in out
    (review,) = world.github.reviews(1)
    assert [c["line"] for c in review["comments"]] == [2]
    assert world.github.artifacts == {}  # retired
    assert not polled.exists() or uploaded(polled) == {}  # nothing for the poll's upload step to upload


def test_a_run_with_nothing_to_keep_leaves_the_folder_empty(world):
    """Nothing to submit: the folder holds nothing, so the upload step (if-no-files-found: ignore) makes no
    artifact, and the hourly poll gate does not wake the full poll for a folder holding only a .gitignore."""
    world.configure("targets:\n  pull_requests:\n    enabled: false\n")
    assert world.submit() == 0
    assert uploaded(world.state) == {} and world.openai.log == []


def test_a_local_poll_retires_beside_the_gitignore_and_git_stays_clean(world):
    """The local store: the .gitignore is not a run (list skips it), retired runs move to done/ under it,
    and nothing of the folder ever shows in `git status`."""
    world.state = world.repo.path / ".batch-review"
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")]})
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    assert len(world.github.reviews(1)) == 1
    assert sorted(p.name for p in world.state.iterdir()) == [".gitignore", ".lock", "done"]
    assert world.manifests() == [] and len(list((world.state / "done").glob("*/manifest.json"))) == 1
    assert world.poll() == 0 and len(world.github.reviews(1)) == 1  # nothing pending, nothing posted twice
    assert git(world.repo.path, "status", "--porcelain") == ""


def test_the_local_lock_claims_a_fresh_folder(tmp_path):
    from batch_review.ledger.store import LocalStore

    with LocalStore(tmp_path / "state").lock():
        pass
    assert (tmp_path / "state" / ".gitignore").read_text() == GITIGNORE_TEXT
