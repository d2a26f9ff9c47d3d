"""The job's log is read by the Actions runner, which executes workflow commands in it: a line that starts
with `::` (after spaces), or that holds `##[` anywhere (actions/runner ActionCommand.TryParseV2 and
TryParse), annotates the run, masks words, sets step outputs or stops command processing. A pull request
author writes its title and its file names, and both are printed; played here through the CLI with the
runner's own rules as the oracle."""

from __future__ import annotations

import re

import pytest

from batch_review.cli.actions_log import inert

from ..gitfixture import git

RUNNER_CUT = re.compile(r"\r\n|\r|\n")  # the runner reads lines with .NET ReadLine


def runner_commands(output: str) -> list[str]:
    """The lines the runner would execute as workflow commands."""
    return [line for line in RUNNER_CUT.split(output) if line.lstrip().startswith("::") or "##[" in line]


def add_pull(world, number: int, files: dict[str, str], title: str) -> None:
    repo = world.repo
    base = git(repo.path, "rev-parse", "main").strip()
    repo.branch(f"feature-{number}")
    for name, content in files.items():
        repo.write(name, content)
    head = repo.commit("hostile")
    git(repo.path, "push", "-q", "origin", f"{head}:refs/pull/{number}/head")
    repo.checkout("main")
    diff = git(repo.path, "diff", "-U3", "--find-renames", f"{base}...{head}") + "\n"
    world.github.add_pull(number, head_sha=head, base_sha=base, diff=diff, title=title)


def test_a_pull_requests_title_and_file_names_run_no_workflow_command(world, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary"))
    world.github.pulls[1]["title"] = "##[error title=Security]Your OpenAI key leaked: rotate it at evil.test"
    add_pull(world, 4, {"a.py": "x = 1\n",
                        "e\n::warning title=batch-review::pwned\r::stop-commands::pwned\nx.lock": "1\n"},
             title="::set-output name=batch-ids::pwned")
    assert world.submit() == 0
    out, err = capsys.readouterr()
    assert "Your OpenAI key leaked" in out and "x.lock: excluded by default: lock file" in out  # shown, as text
    ours = runner_commands(out + err)
    assert ours and all("pwned" not in c and "leaked" not in c for c in ours), ours


@pytest.mark.parametrize("line", ["::warning::x", "  ::error::y", "\u00a0::add-mask::w", "a ##[error]b",
                                  "ok\r::set-output name=x::1", "ok\n\t::stop-commands::t"])
def test_no_line_of_inert_text_is_a_workflow_command(line):
    assert runner_commands(inert(line)) == []
    assert inert(line).replace("\u2060", "") == line


def test_ordinary_text_is_left_alone():
    text = "#1 A change: 2 files, ratio 1:2, C++ :: scope, markdown ## heading [x]"
    assert inert(text) == text
