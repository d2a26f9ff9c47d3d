"""The command line as users type it (issue 22, item 4): help, --pr, a branch pair, a missing ref, progress.

Each refusal goes through the real CLI against the emulators: one line, exit 2, nothing sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from batch_review import cli
from batch_review.cli import progress

from ..gitfixture import git


def one_line(capsys) -> str:
    _, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0].removeprefix("error: ")


def nothing_sent(world) -> None:
    assert world.openai.log == [] and world.github.log == [] and world.manifests() == []


# --- help ------------------------------------------------------------------------------------------------

def test_action_help_prints_help_and_runs_nothing(world):
    """`batch-review action --help` used to run the action (a submit, with the inputs the environment held)."""
    env = {**os.environ, "INPUT_COMMAND": "submit", "INPUT_STATE-DIR": str(world.state)}
    for argv in (["action", "--help"], ["action", "-h"]):
        proc = subprocess.run([sys.executable, "-m", "batch_review", *argv], cwd=world.repo.path, env=env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("usage: batch-review action [-h]")
        assert "INPUT_COMMAND" in proc.stdout and proc.stderr == ""
    nothing_sent(world)
    assert not world.state.exists()


def test_action_with_a_word_more_is_a_usage_error_and_runs_nothing(world, capsys):
    """The entrypoint once ran `batch-review action action`, and the extra word was silently dropped: the
    inputs say what to run, so any word after `action` is a mistake, said in one line."""
    assert cli.main(["action", "action"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: action takes no arguments (it reads the INPUT_* variables), not ['action']"]
    nothing_sent(world)
    assert not world.state.exists()


# --- --pr ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("flags", [["--pr", "1", "3"], ["--pr", "1", "--pr", "3"], ["--pr", "#1", "--pr", "3", "1"]])
def test_pr_takes_several_numbers_in_either_form(world, flags):
    """The synopsis says --pr N [N ...]; both spellings pick the same pull requests (3 is labelled
    no-batch-review: naming it overrides the label rules, as one --pr always did)."""
    assert world.submit("--dry-run", *flags) == 0
    assert sorted(world.manifest()["targets"]) == ["pr-1", "pr-3"]


@pytest.mark.parametrize(("flags", "message"), [
    (["--pr", "0"], "batch-review submit: argument --pr: '0' is not a pull request number (see batch-review "
                    "submit --help)"),
    (["--pr", "three"], "batch-review submit: argument --pr: 'three' is not a pull request number"),
    (["--pr"], "batch-review submit: argument --pr: expected at least one argument"),
    (["--bogus"], "batch-review: unrecognized arguments: --bogus"),
])
def test_bad_flags_are_one_line(world, capsys, flags, message):
    assert world.submit("--dry-run", *flags) == 2
    assert one_line(capsys).startswith(message)
    nothing_sent(world)


@pytest.mark.parametrize("pair", [["--base", "main"], ["--head", "main"], ["--base", "main", "--head", "HEAD"]])
def test_pr_with_a_branch_pair_is_a_usage_error(world, capsys, pair):
    """--base main --pr 3 used to review the branch pair and drop --pr without a word."""
    assert world.submit("--dry-run", *pair, "--pr", "3") == 2
    line = one_line(capsys)
    assert line.startswith("--pr cannot be combined with --")
    assert line.endswith("--pr reviews pull requests of GITHUB_REPOSITORY, --base/--head a branch pair of the "
                         "checkout; pass one or the other")
    nothing_sent(world)


# --- a missing ref ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("flags", "message"), [
    (["--base", "origin/develop"], "--base: 'origin/develop' is not a branch, tag or commit of the checkout; "
                                   "run `git fetch origin develop` first"),
    (["--base", "main", "--head", "origin/feature-9"],
     "--head: 'origin/feature-9' is not a branch, tag or commit of the checkout; run `git fetch origin "
     "feature-9` first"),
    (["--base", "develop"], "--base: 'develop' is not a branch, tag or commit of the checkout; run `git fetch "
                            "origin develop` and pass origin/develop"),
    (["--base", "0123abcd"], "--base: '0123abcd' is not a branch, tag or commit of the checkout; run `git fetch "
                             "origin 0123abcd` first (or fetch the whole history)"),
])
def test_a_missing_ref_names_the_flag_and_the_fetch(world, capsys, flags, message):
    assert world.submit("--dry-run", *flags) == 2
    assert one_line(capsys) == message
    nothing_sent(world)


def test_the_suggested_fetch_works(world, capsys):
    """Do what the line says, and the same command runs."""
    git(world.repo.origin, "update-ref", "refs/heads/develop", world.pulls[1])  # a branch only the remote has
    assert world.submit("--dry-run", "--base", "main", "--head", "origin/develop") == 2
    command = one_line(capsys).split("`")[1]
    assert command == "git fetch origin develop"
    git(world.repo.path, *command.split()[1:])
    assert world.submit("--dry-run", "--base", "main", "--head", "origin/develop") == 0
    assert [t["head_sha"] for t in world.manifest()["targets"].values()] == [world.pulls[1]]


def test_a_branch_only_the_remote_has_is_offered_as_the_remote_branch(world, capsys):
    git(world.repo.origin, "update-ref", "refs/heads/develop", world.pulls[1])  # a branch only the remote has
    git(world.repo.path, "fetch", "-q", "origin")
    assert world.submit("--dry-run", "--base", "main", "--head", "develop") == 2
    assert one_line(capsys) == ("--head: 'develop' is not a branch, tag or commit of the checkout; the checkout "
                                "has it as origin/develop: pass that")


def test_in_actions_the_line_names_the_checkouts_fetch_depth(world, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert world.submit("--dry-run", "--base", "origin/develop") == 2
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == ("::error::--base: 'origin/develop' is not a branch, tag or commit of the checkout; run "
                       "`git fetch origin develop` first (in GitHub Actions, actions/checkout with fetch-depth: 0 "
                       "fetches every branch)")
    nothing_sent(world)


def test_a_checkout_without_remotes_says_so(world, capsys):
    git(world.repo.path, "remote", "remove", "origin")
    assert world.submit("--dry-run", "--base", "develop") == 2
    assert one_line(capsys).endswith("; the checkout has no remote to fetch it from")


# --- progress --------------------------------------------------------------------------------------------

def groups(stdout: str) -> dict[str, list[str]]:
    """The lines inside each ::group:: of an Actions log."""
    found, current = {}, None
    for line in stdout.splitlines():
        if line.startswith("::group::"):
            current = found.setdefault(line.removeprefix("::group::"), [])
        elif line == "::endgroup::":
            current = None
        elif current is not None:
            current.append(line)
    return found


def test_planning_progress_lands_inside_the_log_groups(world, capsys, monkeypatch):
    """With the interval at zero every tick shows: the lines say targets done of total, inside the group
    Actions folds, and the group ends with the summary line."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setattr(progress, "PROGRESS_EVERY", 0.0)
    assert world.submit("--dry-run", "--pr", "1", "3") == 0
    log = groups(capsys.readouterr().out)
    assert log["Targets"] == ["targets: 2 to review, 0 skipped"]
    build = log["Build and submit"]
    assert build[0].startswith("planning: 0 of 2 targets done, now #1 (")
    assert any(line.startswith("planning: 1 of 2 targets done, now #3 (") for line in build)
    assert build[-1].startswith("planned 2 targets in ") and build[-1].endswith(" s")


def test_a_quick_run_shows_no_progress_lines(world, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert world.submit("--dry-run") == 0
    out = capsys.readouterr().out
    assert "planning:" not in out
    build = groups(out)["Build and submit"]
    assert len(build) == 1 and build[0].startswith("planned 1 target in ")


def test_the_summary_is_the_same_outside_actions(world, capsys):
    assert world.submit("--dry-run", "--pr", "1") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "targets: 1 to review, 0 skipped" and out[1].startswith("planned 1 target in ")
    assert json.loads(world.manifests()[0].read_text())["targets"]
