"""submit/plans.py with real git: what a target's plan sends and keeps. Our own state folder is never
reviewed (even committed), an incremental review sends only what changed since the last reviewed head
and falls back to the whole change, saying why, when the base moved or the head was force-pushed, and a
target that cannot be planned is skipped with git's words while the others are planned."""

from __future__ import annotations

import json

import pytest

from batch_review.config.models import Config
from batch_review.core.markers import Marker
from batch_review.core.vocabulary import Target
from batch_review.git.repo import GitRepo
from batch_review.submit.plans import builders, plan_target, plan_targets
from batch_review.submit.targets import TargetSelection

from ..gitfixture import GIT_ENV, Repo, git


@pytest.fixture(autouse=True)
def _plain_git(monkeypatch):
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def repo(tmp_path) -> Repo:
    r = Repo(tmp_path / "r")
    r.write("app.py", "".join(f"def f{i}():\n    return {i}\n\n" for i in range(20)))
    r.commit("base")
    return r


def _target(repo: Repo, head: str, base: str = "main", number: int = 1) -> Target:
    return Target("pull", "acme/widgets", base, f"feature-{number}", head, number=number, title="A change")


def _plan(repo: Repo, target: Target, since: Marker | None = None, cfg: Config | None = None, **kw):
    cfg = cfg or Config()
    return plan_target(GitRepo(repo.path), cfg, builders(cfg), target, since, **kw)


def _shown(plan) -> set[str]:
    return {f.path for spec in plan.specs for f in spec.files}


def _branch_with(repo: Repo, name: str, files: dict[str, str]) -> str:
    repo.branch(name)
    for path, text in files.items():
        repo.write(path, text)
    return repo.commit(name)


def test_the_state_folder_is_never_reviewed_even_committed(repo):
    head = _branch_with(repo, "feature-1", {".batch-review/run/manifest.json": "{}\n", "app2.py": "x = 1\n",
                                           ".batch-review-notes/n.py": "y = 2\n"})
    plan = _plan(repo, _target(repo, head), state_folder=".batch-review")
    assert _shown(plan) == {"app2.py", ".batch-review-notes/n.py"}  # a name that only begins like it is reviewed
    assert [(s.path, s.reason) for s in plan.skipped] == [(".batch-review/run/manifest.json",
                                                            "batch-review's state folder")]
    assert plan.reviewed_files == 2 and set(plan.files) == {"app2.py", ".batch-review-notes/n.py"}
    assert len(plan.lines) == len(plan.specs) >= 1


def test_incremental_sends_only_what_changed_since_the_last_reviewed_head(repo):
    base = repo.head()
    first = _branch_with(repo, "feature-1", {"a.py": "a = 1\n", "b.py": "b = 1\n"})
    repo.write("b.py", "b = 2\n")
    repo.write("c.py", "c = 1\n")
    head = repo.commit("more")
    plan = _plan(repo, _target(repo, head), Marker("pr-1", first, "m" * 16, base=base))
    assert _shown(plan) == {"b.py", "c.py"} and plan.target.since == first
    assert plan.full_review_reason is None
    assert set(plan.files) == {"b.py", "c.py"}
    assert all(f"only the changes since the last review (commit {first[:12]})" in json.dumps(s.body)
               for s in plan.specs)


def test_the_whole_change_when_the_last_review_is_of_this_head_or_incremental_is_off(repo):
    base = repo.head()
    head = _branch_with(repo, "feature-1", {"a.py": "a = 1\n", "b.py": "b = 1\n"})
    same = _plan(repo, _target(repo, head), Marker("pr-1", head, "m" * 16, base=base))
    assert _shown(same) == {"a.py", "b.py"} and same.target.since == ""
    first = repo.head()
    repo.write("b.py", "b = 2\n")
    newer = repo.commit("more")
    off = _plan(repo, _target(repo, newer), Marker("pr-1", first, "m" * 16, base=base),
                cfg=Config(incremental=False))
    assert _shown(off) == {"a.py", "b.py"} and off.full_review_reason is None


def test_a_moved_base_means_a_full_review_and_says_why(repo):
    head = _branch_with(repo, "feature-1", {"a.py": "a = 1\n"})
    repo.write("b.py", "b = 1\n")
    newer = repo.commit("more")
    plan = _plan(repo, _target(repo, newer), Marker("pr-1", head, "m" * 16, base="0" * 40))
    assert _shown(plan) == {"a.py", "b.py"}
    assert plan.full_review_reason == "the base moved since the last review"


def test_a_force_push_means_a_full_review_and_says_why(repo):
    base = repo.head()
    old = _branch_with(repo, "feature-1", {"a.py": "a = 1\n"})
    git(repo.path, "reset", "-q", "--hard", base)
    repo.write("a.py", "a = 2\n")
    new = repo.commit("rewritten")
    plan = _plan(repo, _target(repo, new), Marker("pr-1", old, "m" * 16, base=base))
    assert _shown(plan) == {"a.py"}
    assert plan.full_review_reason == f"{old[:12]} is no longer an ancestor of the head (force-push)"
    gone = _plan(repo, _target(repo, new), Marker("pr-1", "f" * 40, "m" * 16, base=base))  # never fetched
    assert gone.full_review_reason == f"{'f' * 12} is no longer an ancestor of the head (force-push)"


def test_a_target_that_cannot_be_planned_is_skipped_and_the_others_are_planned(repo):
    good = _branch_with(repo, "feature-1", {"a.py": "a = 1\n"})
    repo.checkout("main")
    empty = repo.head()
    git(repo.path, "checkout", "-q", "--orphan", "stray")
    repo.write("z.py", "z = 1\n")
    stray = repo.commit("unrelated history")
    targets = [_target(repo, good), _target(repo, stray, number=2), _target(repo, empty, number=3)]
    seen = []
    plans, skipped = plan_targets(GitRepo(repo.path), Config(), TargetSelection(targets),
                                  progress=lambda done, total, now: seen.append((done, total, now)))
    assert [p.target.number for p in plans] == [1, 3] and _shown(plans[0]) == {"a.py"}
    assert [(s.what, s.reason) for s in skipped] == [
        (targets[1].label, f"main and {stray[:12]} have no common ancestor"),
        (targets[2].label, "empty diff")]
    assert seen == [(0, 3, targets[0].label), (1, 3, targets[1].label), (2, 3, targets[2].label), (3, 3, "")]


def test_a_change_with_nothing_reviewable_is_skipped_as_such(repo):
    head = _branch_with(repo, "feature-1", {"poetry.lock": "# lock\n"})
    plans, skipped = plan_targets(GitRepo(repo.path), Config(), TargetSelection([_target(repo, head)]))
    assert plans[0].specs == [] and [s.reason for s in skipped] == ["no reviewable changes"]
    assert [s.path for s in plans[0].skipped] == ["poetry.lock"]


def test_changes_merged_in_from_the_base_branch_are_not_reviewed_as_the_pull_requests(repo):
    """Since the last review the author merged main (which gained m.py): only the pull request's own files
    are sent, never another author's change that came in through the merge."""
    first = _branch_with(repo, "feature-1", {"a.py": "a = 1\n"})
    repo.checkout("main")
    repo.write("m.py", "m = 1\n")
    repo.commit("meanwhile on main")
    repo.checkout("feature-1")
    git(repo.path, "merge", "-q", "--no-edit", "main")
    repo.write("a.py", "a = 2\n")
    head = repo.commit("after the merge")
    plan = _plan(repo, _target(repo, head), Marker("pr-1", first, "m" * 16))
    assert _shown(plan) == {"a.py"} and plan.target.since == first
