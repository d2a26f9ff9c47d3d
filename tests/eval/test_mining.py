"""The miner on real git histories: what it finds, and each thing it must skip in one line without
stopping (a root commit, a merge, a binary file, a huge fix, a path git cannot blame, blame outside the
window), plus what the configuration and the state folder keep out."""

from __future__ import annotations

import datetime as dt

import pytest

from batch_review.config.models import Config, from_mapping
from batch_review.eval.mining import MAX_FIX_FILES, Miner, Window
from batch_review.git.repo import GitRepo

from .histories import History, lines, planted


def epoch(day: str) -> int:
    return int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp())


def mine(path, cfg: Config | None = None, **window):
    return Miner(GitRepo(path), cfg or Config(), Window(**window)).mine()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return planted(tmp_path_factory.mktemp("planted") / "h")


def named(world, text: str) -> str:
    for role, sha in world.shas.items():
        text = text.replace(sha[:12], role)
    return text


def test_every_planted_case_with_its_bug_lines_and_fixes(world):
    mined = mine(world.repo.path)
    got = {named(world, c.sha[:12]): (c.bug_lines, [named(world, f[:12]) for f in c.fixes]) for c in mined.cases}
    assert got == {"A": ({"stats.py": [12]}, ["fixA"]), "B": ({"parser.py": [20, 40]}, ["fixB", "fixB2"]),
                   "C": ({"util.py": [8]}, ["fixC"]), "D": ({"cache.py": [6]}, ["fixD"])}
    assert mined.fixes == 8  # "prefix the fixture names" is not one; "Fix indentation" is, with nothing to blame
    assert mined.messages[world.shas["A"]] == "Add the stats module"


def test_a_root_commit_and_a_merge_as_introducers_are_one_line_each(world):
    notes = [named(world, n) for n in mine(world.repo.path).notes]
    assert "fix fixRoot: 1 line blamed to root commit root (no parent to review it against): not counted" in notes
    assert ("fix fixMerge: 1 line blamed to merge merge (merges are not reviewed as introducing changes): "
            "not counted") in notes
    assert "fix fixA: 1 binary file skipped (logo.png)" in notes


def test_blame_landing_before_the_window_is_said_not_counted(world):
    mined = mine(world.repo.path, since=epoch("2025-01-01"), since_text="2025-01-01")
    assert "fix fixRoot: 1 line blamed to 1 commit before 2025-01-01: outside the window, not counted" in \
        [named(world, n) for n in mined.notes]
    later = mine(world.repo.path, since=epoch("2025-02-10"), since_text="2025-02-10")
    assert {named(world, c.sha[:12]) for c in later.cases} == {"C", "D"}


def test_the_limit_keeps_the_newest(world):
    mined = mine(world.repo.path, limit=1)
    assert [named(world, c.sha[:12]) for c in mined.cases] == ["D"]
    assert "3 older introducing commits beyond --limit 1: not reviewed" in mined.notes


def test_with_enough_newer_cases_older_fixes_are_not_read(tmp_path):
    """A fix blames only commits older than itself: once the kept cases are all newer than the fix at hand,
    no older fix can add a case or a line to them."""
    h = History(tmp_path / "h")
    h.commit("start", {"a.py": lines(6, "a")}, "2025-01-01T00:00:00Z")
    h.commit("one", {"a.py": lines(6, "a", {2: "    one = 1"})}, "2025-01-02T00:00:00Z")
    h.commit("fix one", {"a.py": lines(6, "a")}, "2025-01-03T00:00:00Z")
    two = h.commit("two", {"a.py": lines(6, "a", {4: "    two = 2"})}, "2025-01-04T00:00:00Z")
    h.commit("fix two", {"a.py": lines(6, "a")}, "2025-01-05T00:00:00Z")
    mined = mine(h.path, limit=1)
    assert [c.sha for c in mined.cases] == [two] and (mined.fixes, mined.blamed) == (2, 1)
    assert len(mine(h.path, limit=2).cases) == 2


def test_the_configuration_excludes_files_as_submit_does(world):
    cfg = from_mapping({"files": {"exclude": ["parser.py", "util.py", "helpers.py"]}}, "test")
    mined = mine(world.repo.path, cfg)
    assert {named(world, c.sha[:12]) for c in mined.cases} == {"A", "D"}


def test_fix_words_are_configurable(world):
    assert {named(world, c.sha[:12]) for c in mine(world.repo.path, words=("regression",)).cases} == {"C"}


def test_a_huge_fix_is_skipped_in_one_line(tmp_path):
    h = History(tmp_path / "h")
    h.commit("start", {"keep.py": "x = 1\n"}, "2025-01-01T00:00:00Z")
    files = {f"f{i}.py": lines(3, f"f{i}") for i in range(MAX_FIX_FILES + 1)}
    intro = h.commit("add many", files, "2025-01-02T00:00:00Z")
    fix = h.commit("fix everything", {p: lines(3, p[:-3], {2: "    changed = 1"}) for p in files},
                   "2025-01-03T00:00:00Z")
    mined = mine(h.path)
    assert mined.cases == []
    assert mined.notes == [f"fix {fix[:12]}: {MAX_FIX_FILES + 1:,} changed lines in {MAX_FIX_FILES + 1:,} files, "
                           f"over 1,000 lines or {MAX_FIX_FILES} files: too large to be one bug's fix; skipped"]
    assert intro


def test_a_merge_on_a_side_branch_is_not_a_fix_but_a_mainline_merge_is(tmp_path):
    """"Merge branch 'main' into fix-x" happens on the side branch: its diff against its first parent is
    all of main's changes, which it did not fix. The pull request's own merge on main is a fix."""
    h = History(tmp_path / "h")
    h.commit("start", {"a.py": lines(10, "a"), "b.py": lines(10, "b")}, "2025-01-01T00:00:00Z")
    intro = h.commit("add a bug", {"a.py": lines(10, "a", {4: "    bug = 1"})}, "2025-01-02T00:00:00Z")
    h.git("checkout", "-q", "-b", "side")
    h.commit("work on the side", {"c.py": "c = 1\n"}, "2025-01-03T00:00:00Z")
    h.git("checkout", "-q", "main")
    main_change = h.commit("main moves on", {"b.py": lines(10, "b", {2: "    main = 2"})}, "2025-01-04T00:00:00Z")
    h.git("checkout", "-q", "side")
    h.git("merge", "-q", "--no-ff", "-m", "Merge branch 'main' into fix-side", "main", when="2025-01-05T00:00:00Z")
    h.commit("the fix itself", {"a.py": lines(10, "a", {4: "    bug = 0"})}, "2025-01-06T00:00:00Z")
    h.git("checkout", "-q", "main")
    h.git("merge", "-q", "--no-ff", "-m", "Merge pull request #7 from me/fix-side", "side",
          when="2025-01-07T00:00:00Z")
    mined = mine(h.path)
    (case,) = mined.cases
    assert case.sha == intro and case.bug_lines == {"a.py": [4]}
    assert len(case.fixes) == 2  # the side commit and the pull request's merge, one case
    assert all(c.sha != main_change for c in mined.cases)


def test_a_rename_keeps_the_introducers_path(world):
    (case,) = [c for c in mine(world.repo.path).cases if c.sha == world.shas["C"]]
    assert case.bug_lines == {"util.py": [8]}  # fixed in helpers.py, introduced as util.py


def test_a_whitespace_only_fix_blames_nothing(tmp_path):
    h = History(tmp_path / "h")
    h.commit("start", {"a.py": "def f():\n    return 1\n\n\nx = 2\n"}, "2025-01-01T00:00:00Z")
    h.commit("Fix indentation", {"a.py": "def f():\n        return 1\n\n\nx = 2\n"}, "2025-01-02T00:00:00Z")
    h.commit("fix blank lines", {"a.py": "def f():\n        return 1\nx = 2\n"}, "2025-01-03T00:00:00Z")
    mined = mine(h.path)
    assert mined.cases == [] and mined.notes == []


def test_hostile_paths_are_blamed_as_paths_never_as_options(tmp_path):
    """File names are author text: a name that starts with a dash, holds a newline or quotes goes to git
    after `--`, and comes back as the same name."""
    h = History(tmp_path / "h")
    odd = {"-rf.py": "x", "line\nbreak.py": "y", 'q"uote\\.py': "z"}
    h.commit("start", {"keep.py": "k = 1\n"}, "2025-01-01T00:00:00Z")
    intro = h.commit("add odd names", {p: lines(5, name) for p, name in odd.items()}, "2025-01-02T00:00:00Z")
    h.commit("fix them", {p: lines(5, name, {3: "    fixed = 3"}) for p, name in odd.items()}, "2025-01-03T00:00:00Z")
    (case,) = mine(h.path).cases
    assert case.sha == intro and case.bug_lines == {p: [3] for p in sorted(odd)}


def test_a_path_git_cannot_blame_is_one_line_and_the_rest_goes_on(tmp_path, monkeypatch):
    h = History(tmp_path / "h")
    h.commit("start", {"a.py": lines(5, "a"), "b.py": lines(5, "b")}, "2025-01-01T00:00:00Z")
    intro = h.commit("change", {"a.py": lines(5, "a", {2: "    a = 0"}), "b.py": lines(5, "b", {2: "    b = 0"})},
                     "2025-01-02T00:00:00Z")
    fix = h.commit("fix both", {"a.py": lines(5, "a"), "b.py": lines(5, "b")}, "2025-01-03T00:00:00Z")
    real = GitRepo.blame

    def refuse_a(self, rev, path, ranges):
        return real(self, rev, "missing.py" if path == "a.py" else path, ranges)

    monkeypatch.setattr(GitRepo, "blame", refuse_a)
    mined = mine(h.path)
    (case,) = mined.cases
    assert case.sha == intro and case.bug_lines == {"b.py": [2]}
    (note,) = mined.notes
    assert note.startswith(f"fix {fix[:12]}: cannot blame a.py (git blame failed: ") and note.endswith("; skipped")


def test_the_state_folder_is_never_mined(tmp_path):
    h = History(tmp_path / "h")
    h.commit("start", {".batch-review/x.py": lines(4, "s"), "a.py": lines(4, "a")}, "2025-01-01T00:00:00Z")
    h.commit("more", {".batch-review/x.py": lines(4, "s", {2: "    s = 9"})}, "2025-01-02T00:00:00Z")
    h.commit("fix it", {".batch-review/x.py": lines(4, "s")}, "2025-01-03T00:00:00Z")
    assert Miner(GitRepo(h.path), Config(), Window(), state_folder=".batch-review").mine().cases == []
