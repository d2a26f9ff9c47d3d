"""Incremental nightly reviews: a pull request reviewed at X and now at Y gets only X..Y reviewed, and a
finding an earlier review posted is not posted again."""

from __future__ import annotations

import json
import re

from ..conftest import finding, paths_of
from ..emulators.github_emu import hunks_of
from ..gitfixture import git


def push_head(world, number: int, message: str, files: dict[str, str], *, parent: str | None = None) -> str:
    """A new head for the pull request, on top of `parent` (default: its current head)."""
    repo = world.repo
    start = parent or world.github.pulls[number]["head_sha"]
    git(repo.path, "fetch", "-q", "origin", f"refs/pull/{number}/head")
    git(repo.path, "checkout", "-q", "--detach", start)
    for path, text in files.items():
        repo.write(path, text)
    sha = repo.commit(message)
    git(repo.path, "push", "-q", "-f", "origin", f"{sha}:refs/pull/{number}/head")
    git(repo.path, "checkout", "-q", "main")
    pull = world.github.pulls[number]
    diff = git(repo.origin, "diff", "-U3", "--find-renames", f"{pull['base_sha']}...{sha}") + "\n"
    world.github.move_head(number, sha)
    pull.update(diff=diff, hunks=hunks_of(diff))
    return sha


UTIL_V2 = ("import os\n\ndef load(p):\n    return open(p).read()  # no close\n\ndef save(p, d):\n"
           "    open(p, 'w').write(d)\n\ndef remove(p):\n    os.remove(p)  # follows symlinks\n")


def first_review(world) -> str:
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")],
                       "util.py": [finding("util.py", 4, title="File handle leak")]})
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    return world.pulls[1]


def test_second_night_reviews_only_the_new_commit_and_does_not_repeat(world, capsys):
    x = first_review(world)
    y = push_head(world, 1, "add remove()", {"util.py": UTIL_V2})
    world.answer_with({"util.py": [finding("util.py", 4, title="File handle leak"),  # posted last night
                                   finding("util.py", 10, title="Removes through a symlink")]})
    capsys.readouterr()
    assert world.submit() == 0
    m = world.manifest()
    assert m["targets"]["pr-1"]["since"] == x and m["targets"]["pr-1"]["head_sha"] == y
    assert [paths_of(r) for r in m["requests"].values()] == [["util.py"]]
    (batch_id,) = [b for b in world.openai.batches if world.openai.batches[b]["status"] == "validating"]
    line = world.openai.lines(world.openai.batches[batch_id]["input_file_id"])[0]
    user = line["body"]["messages"][1]["content"]
    assert "only the changes since the last review" in user and "def remove(p)" in user
    # reviewed last night: context now
    assert not re.search(r"^\d+\+def save\(p, d\)", user, re.M) and re.search(r"^\d+ def save\(p, d\)", user, re.M)
    incremental = m["estimate"]
    # the same head reviewed whole, for comparison
    (world.repo.path / ".github").mkdir()
    (world.repo.path / ".github" / "batch-review.yml").write_text("incremental: false\n")
    assert world.run("submit", "--dry-run", "--state-dir", str(world.state / "full")) == 0
    (full_path,) = (world.state / "full").glob("*/manifest.json")
    full = json.loads(full_path.read_text())["estimate"]
    (world.repo.path / ".github" / "batch-review.yml").unlink()
    assert incremental["by_model"]["gpt-5-mini"]["requests"] == 1 == full["by_model"]["gpt-5-mini"]["requests"]
    assert incremental["input_tokens"] < full["input_tokens"]
    print(f"\nINCREMENTAL requests {incremental['by_model']['gpt-5-mini']['requests']} input tokens "
          f"{incremental['input_tokens']}; FULL requests {full['by_model']['gpt-5-mini']['requests']} "
          f"input tokens {full['input_tokens']}")
    world.openai.advance(batch_id, "completed")
    assert world.poll() == 0
    first, second = world.github.reviews(1)
    assert [c["line"] for c in second["comments"]] == [10]
    assert "Incremental review" in second["body"] and "1 finding already posted by an earlier review is not repeated" in second["body"]
    assert "File handle leak" not in second["body"] + "".join(c["body"] for c in second["comments"])
    assert second["commit_id"] == y


def test_a_force_push_means_a_full_review(world, capsys):
    first_review(world)
    base = world.github.pulls[1]["base_sha"]
    push_head(world, 1, "rewritten", {"app.py": "print('rewritten')\n", "util.py": UTIL_V2}, parent=base)
    capsys.readouterr()
    assert world.submit() == 0
    out = capsys.readouterr().out
    assert "#1: full review: " in out and "is no longer an ancestor of the head (force-push)" in out
    m = world.manifest()
    assert m["targets"]["pr-1"]["since"] == ""
    assert sorted(p for r in m["requests"].values() for p in paths_of(r)) == ["app.py", "util.py"]


def test_a_moved_base_means_a_full_review(world, capsys):
    x = first_review(world)
    repo = world.repo
    repo.write("README.md", "# demo\n\nmore\n")
    new_base = repo.commit("main moves on")
    repo.push("main")
    git(repo.path, "checkout", "-q", "--detach", x)
    git(repo.path, "merge", "-q", "--no-edit", "main")  # "Update branch" on GitHub
    y = repo.head()
    git(repo.path, "push", "-q", "-f", "origin", f"{y}:refs/pull/1/head")
    git(repo.path, "checkout", "-q", "main")
    pull = world.github.pulls[1]
    diff = git(repo.origin, "diff", "-U3", f"{new_base}...{y}") + "\n"
    world.github.move_head(1, y)
    pull.update(base_sha=new_base, diff=diff, hunks=hunks_of(diff))
    capsys.readouterr()
    assert world.submit() == 0
    assert "#1: full review: the base moved since the last review" in capsys.readouterr().out
    assert world.manifest()["targets"]["pr-1"]["since"] == ""
