"""A real project's history (cachetools, MIT; tests/eval/fixtures/cachetools/NOTICE): mining finds the known
fix and introducing pair, with the bug line at the number the introducing commit's own version gives it, and
the request built for that commit shows the line under that number."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from batch_review.cli.commands import main as cli_main
from batch_review.config.models import Config
from batch_review.eval.mining import Miner, Window
from batch_review.eval.record import EvalRecord
from batch_review.eval.scoring import score_record
from batch_review.git.repo import GitRepo

from ..conftest import OPENAI_KEY, finding
from ..emulators.openai_emu import chat_completion
from .conftest import rendered_rows
from .histories import run_git

STREAM = Path(__file__).parent / "fixtures" / "cachetools" / "history.fi"
FILE = "src/cachetools/_cachedmethod.py"
# the commits as fast-import rebuilds them from the stream (the same ids on every import)
ROOT = "4aa8eacdb731b4588fa5147caac96fc5cf742eee"  # 59d4db25cd7e upstream
INTRODUCING = "64dd9c41ef542973ab7fa4d8b04ad7618e07b9e5"  # 86352aed2bed: Convert @cachedmethod decorators to descriptors
CACHE_INFO = "3976ca204be4fa12b81aaa0ed9ff28d901852c21"  # bb72c21aab48: Add cache_info() support
KNOWN_FIX = "2cc42c62a864b95fd443b1de46eb59d6859a8a01"  # 57d2e4813d98: Fix #387, obj=None in _DescriptorBase
# the lines of 86352aed2bed's version that its two later fixes changed, as SZZ finds them in the upstream
# repository itself (git blame at each fix's parent, run on the full history at 57d2e4813d98)
UPSTREAM_BUG_LINES = [8, 10, 19, 40, 52, 54, 55, 60, 67, 68, 70, 73, 80, 135, 173, 207, 232]


@pytest.fixture(scope="module")
def cachetools(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cachetools") / "repo"
    path.mkdir()
    run_git(path, "init", "-q", "-b", "main")
    run_git(path, "fast-import", "--quiet", input=STREAM.read_bytes())
    run_git(path, "checkout", "-q", "main")
    return path


def test_the_stream_rebuilds_the_five_upstream_commits(cachetools):
    log = run_git(cachetools, "log", "--format=%H %s").splitlines()
    assert [line.split(" ", 1)[0] for line in log] == [KNOWN_FIX, "782f293e556a23504699f07248918bbce3a70199",
                                                       CACHE_INFO, INTRODUCING, ROOT]


def test_mining_finds_the_known_fix_and_its_introducing_commit(cachetools):
    mined = Miner(GitRepo(cachetools), Config(), Window()).mine()
    (case,) = mined.cases
    assert case.sha == INTRODUCING and case.parent == ROOT
    assert case.subject == "Fix #357: Convert @cachedmethod decorators to descriptors."
    assert case.fixes == [CACHE_INFO, KNOWN_FIX]
    assert case.bug_lines == {FILE: UPSTREAM_BUG_LINES}
    # the known pair, line by line: what the fix changed at line 80 of its parent is line 70 of the introducer
    fixed = run_git(cachetools, "show", f"{KNOWN_FIX}~1:{FILE}").splitlines()[79]
    assert run_git(cachetools, "show", f"{INTRODUCING}:{FILE}").splitlines()[69] == fixed
    assert fixed.strip() == "if self.__attrname is not None:"
    assert mined.notes == [f"fix {CACHE_INFO[:12]}: 2 lines blamed to root commit {ROOT[:12]} (no parent to "
                           "review it against): not counted",
                           f"fix {INTRODUCING[:12]}: 11 lines blamed to root commit {ROOT[:12]} (no parent to "
                           "review it against): not counted"]


def test_a_window_after_the_introducing_commit_says_where_the_blame_landed(cachetools):
    """Committed 2026-02-01, the introducing commit is outside a window that starts 2026-02-25: the known
    fix's one line is said to land before the window, and there is no case."""
    mined = Miner(GitRepo(cachetools), Config(), Window(since=1771977600, since_text="2026-02-25")).mine()
    assert mined.cases == [] and mined.fixes == 1
    assert mined.notes == [f"fix {KNOWN_FIX[:12]}: 1 line blamed to 1 commit before 2026-02-25: outside the "
                           "window, not counted"]


def test_the_request_shows_the_bug_line_under_its_number(cachetools, tmp_path):
    env_state = tmp_path / "state"
    proc = subprocess.run(["batch-review", "eval", "--dry-run", "--state-dir", str(env_state)], cwd=cachetools,
                          capture_output=True, text=True, timeout=120, env={"PATH": _path(), "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    (line,) = (env_state / "eval" / "default" / "input-000.jsonl").read_text().splitlines()
    user = json.loads(line)["body"]["messages"][1]["content"]
    assert "\n70+        if self.__attrname is not None:\n" in user
    assert "| Fix #357: Convert @cachedmethod decorators to descriptors." in user


def test_eval_of_the_fixture_end_to_end_scores_a_finding_on_the_known_line(cachetools, tmp_path, monkeypatch,
                                                                          openai_emu):
    """The whole eval on the real history, through the real client and the emulator: a model that points at
    line 70 (the line the known fix changed) and says something minor about line 1 catches the one case at
    every threshold up to high; line 1 is 7 lines from the nearest bug line (8), so only half of what it
    said at info is on a bug line."""
    monkeypatch.chdir(cachetools)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_emu.base_url)
    for var in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_TOKEN", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(var, raising=False)
    openai_emu.set_responder(lambda cid, body: chat_completion(json.dumps({"findings": [
        finding(FILE, 70, severity="high", title="obj=None reaches the attribute lookup"),
        finding(FILE, 1, severity="low", title="Module docstring")]}), prompt_tokens=3000, completion_tokens=200))
    state = tmp_path / "state"
    assert cli_main(["eval", "--state-dir", str(state)]) == 0
    openai_emu.complete_all()
    assert cli_main(["eval", "--state-dir", str(state)]) == 0
    scores = score_record(EvalRecord.load(state / "eval" / "default" / "eval.json"))
    one, half = Fraction(1), Fraction(1, 2)
    assert {r.threshold: (r.recall, r.per_case, r.precision) for r in scores.rows} == {
        "info": (one, Fraction(2), half), "low": (one, Fraction(2), half), "medium": (one, one, one),
        "high": (one, one, one), "critical": (Fraction(0), Fraction(0), None)}
    (case,) = scores.cases
    assert case.sha == INTRODUCING and case.closest == 0 and case.caught_at == "high"
    (row,) = [r for r in rendered_rows((state / "eval" / "default" / "report.md").read_text()) if r[0] == INTRODUCING[:12]]
    assert row[4:] == ["high", "2", "0", "obj=None reaches the attribute lookup"]
    assert run_git(cachetools, "status", "--porcelain") == ""  # the checkout is left as it was


def _path() -> str:
    import os
    import sys

    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
