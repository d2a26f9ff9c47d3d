"""One error model: each failure's exit code and words, through the CLI against real git and the emulators."""

from __future__ import annotations

import io
import socket
import subprocess
import sys

import pytest

from batch_review.core import errors
from batch_review.core.errors import (
    BatchAPIError,
    ConfigError,
    FetchError,
    GitHubError,
    InputError,
    ManifestError,
    OverBudget,
    RepositoryError,
    StateError,
    UsageError,
    with_context,
)

from ..conftest import OPENAI_KEY
from ..gitfixture import git


@pytest.mark.parametrize(("error", "code", "transient"), [
    (UsageError("x"), 2, False), (InputError("x"), 2, False), (ConfigError("x"), 2, False),
    (ManifestError("x"), 2, False), (RepositoryError("x"), 2, False), (StateError("x"), 2, False),
    (OverBudget("x"), 3, False),
    (BatchAPIError("x", status=503), 1, True), (BatchAPIError("x", status=429), 1, True),
    (BatchAPIError("x"), 1, True), (BatchAPIError("x", status=401), 1, False),
    (GitHubError(0, "x"), 1, True), (GitHubError(502, "x"), 1, True), (GitHubError(403, "x"), 1, False),
    (GitHubError(422, "x"), 1, False), (FetchError("x"), 1, True),
])
def test_each_error_carries_its_exit_code_and_whether_a_retry_may_help(error, code, transient):
    assert isinstance(error, errors.BatchReviewError)
    assert (error.exit_code, error.transient) == (code, transient)


def test_the_errors_have_one_home():
    """errors.py is the only module that names the product's errors: no other module re-exports one or
    keeps an old name for it (`from .errors import X as X`, `OldName = X`, `__all__`)."""
    import ast
    from pathlib import Path

    import batch_review

    names = {n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, errors.BatchReviewError)}
    offenders = []
    for path in sorted(Path(batch_review.__file__).parent.rglob("*.py")):
        if path.name == "errors.py":
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom):
                offenders += [f"{path.name}: {a.name} as {a.asname}" for a in node.names if a.asname and a.name in names]
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in names:
                offenders.append(f"{path.name}: {ast.unparse(node)}")
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
                offenders += [f"{path.name}: __all__ names {n}" for n in ast.literal_eval(node.value) if n in names]
    assert offenders == []
    assert len(names) >= 12  # the check looked at the real classes


def test_context_keeps_the_kind_of_error():
    wrapped = with_context(GitHubError(503, "down", retry_after=3), "down; nothing submitted")
    assert type(wrapped) is GitHubError and wrapped.status == 503 and wrapped.transient
    assert str(wrapped) == "down; nothing submitted" and wrapped.retry_after == 3
    assert type(with_context(OverBudget("b"), "b; more")) is OverBudget
    assert type(with_context(PermissionError(13, "Permission denied"), "m")) is StateError
    assert with_context(KeyError("bug"), "m") is None


def test_service_text_is_one_clipped_line():
    text = errors.service_text("first\nsecond\x1b[31m" + "x" * 1000)
    assert "\n" not in text and "\x1b" not in text and len(text) == errors.SERVICE_TEXT_LIMIT


# --- the checkout ----------------------------------------------------------------------------------------

def _isolated_git(monkeypatch):
    """No global or system git configuration: a safe.directory there would hide the ownership check."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def test_a_checkout_of_another_user_is_reported_with_gits_words(world, monkeypatch, capsys):
    """A container action runs as root on a checkout the runner's user owns: git refuses it ("dubious
    ownership"). The user is told that, and what to do, not that it is not a git repository."""
    _isolated_git(monkeypatch)
    monkeypatch.setenv("GIT_TEST_ASSUME_DIFFERENT_OWNER", "1")  # git's own switch for its ownership check
    assert world.submit() == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "dubious ownership" in err[0] and "safe.directory" in err[0] and str(world.repo.path) in err[0]
    assert "not a git repository" not in err[0]
    assert world.openai.log == [] and world.manifests() == []
    # what the message says to do works
    command = err[0].split("`")[1]
    assert command == f"git config --global --add safe.directory {world.repo.path}"
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(world.repo.path.parent / "gitconfig"))
    subprocess.run(command.split(), check=True)
    # the fixture's origin is a local folder, which git checks too (a real one is a URL)
    subprocess.run([*command.split()[:-1], str(world.repo.origin)], check=True)
    assert world.submit() == 0


def test_not_a_checkout_is_still_called_that(tmp_path, monkeypatch, capsys):
    from batch_review.cli import commands as cli

    _isolated_git(monkeypatch)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert cli.main(["submit", "--dry-run", "--repo", str(tmp_path), "--state-dir", str(tmp_path / "s")]) == 2
    assert "not a git repository" in capsys.readouterr().err


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_failed_fetch_is_a_service_failure_not_bad_input(world, capsys):
    """The pull request heads are not in the checkout and the remote cannot be reached: exit 1 (the next
    run retries), nothing sent, and the token git was given appears nowhere."""
    from ..conftest import GITHUB_TOKEN

    git(world.repo.path, "remote", "set-url", "origin", f"http://127.0.0.1:{_closed_port()}/acme/widgets.git")
    assert world.submit() == 1
    out, err = capsys.readouterr()
    assert "git fetch failed" in err and "the next run tries again" in err
    assert GITHUB_TOKEN not in out + err
    assert world.openai.log == [] and world.manifests() == []


def test_a_checkout_without_the_remote_is_bad_input(world, capsys):
    git(world.repo.path, "remote", "remove", "origin")
    assert world.submit() == 2
    assert "no remote 'origin'" in capsys.readouterr().err
    assert world.openai.log == []


# --- the key -----------------------------------------------------------------------------------------------

def _azure(world, monkeypatch, endpoint: str) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.delenv("OPENAI_API_KEY")
    (world.repo.path / ".github").mkdir(exist_ok=True)
    (world.repo.path / ".github" / "batch-review.yml").write_text(
        f"model: my-batch-deployment\nprovider:\n  name: azure\n  azure_endpoint: {endpoint}\n"
        "prices:\n  my-batch-deployment: {input: 2.5, output: 10}\n")  # a deployment has no list price


def test_azure_with_only_its_own_key_variable_works_in_every_command(tmp_path, github_emu, monkeypatch):
    from ..conftest import make_world
    from ..emulators.openai_emu import OpenAIEmulator

    with OpenAIEmulator(api_key=OPENAI_KEY, dialect="azure") as azure:
        world = make_world(tmp_path, azure, github_emu, monkeypatch)
        _azure(world, monkeypatch, azure.base_url)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", OPENAI_KEY)
        assert world.submit() == 0
        assert len(azure.batches) == 1
        assert world.run("status", "--state-dir", str(world.state)) == 0
        azure.complete_all()
        assert world.poll() == 0
        assert len(github_emu.reviews(1)) == 1


@pytest.mark.parametrize("command", ["submit", "poll", "status"])
def test_a_missing_key_is_bad_input_naming_the_variables_in_every_command(world, monkeypatch, capsys, command):
    _azure(world, monkeypatch, "https://example.openai.azure.com")
    assert world.run(command, "--state-dir", str(world.state)) == 2
    err = capsys.readouterr().err
    assert "OPENAI_API_KEY or AZURE_OPENAI_API_KEY is not set" in err
    assert world.openai.log == []


def test_a_malformed_repository_name_is_bad_input_not_a_service_failure(world, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_REPOSITORY", "widgets")
    assert world.submit() == 2
    assert "GITHUB_REPOSITORY must be owner/name, not 'widgets'" in capsys.readouterr().err
    assert world.github.log == []


# --- files the tool writes ---------------------------------------------------------------------------------

def test_an_unusable_state_dir_is_one_line_before_anything_is_sent(world, capsys):
    blocker = world.repo.path.parent / "a-file"
    blocker.write_text("not a folder")
    assert world.run("submit", "--state-dir", str(blocker / "state")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--state-dir {blocker / 'state'}: cannot write there" in err[0], err
    assert world.openai.log == []


def test_an_unusable_sarif_dir_stops_poll_before_anything_is_posted(world, capsys):
    blocker = world.repo.path.parent / "a-file"
    blocker.write_text("not a folder")
    (world.repo.path / ".github").mkdir()
    (world.repo.path / ".github" / "batch-review.yml").write_text(f"output:\n  sarif_dir: {blocker / 'sarif'}\n")
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 2
    assert f"output.sarif_dir {blocker / 'sarif'}: cannot write there" in capsys.readouterr().err
    assert world.github.reviews(1) == [] and len(world.manifests()) == 1
    (world.repo.path / ".github" / "batch-review.yml").write_text("")
    assert world.poll() == 0 and len(world.github.reviews(1)) == 1


def test_an_unwritable_step_output_is_one_line(world, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path))  # a folder: cannot be appended to
    assert world.submit() == 2
    assert f"GITHUB_OUTPUT {tmp_path}: cannot write the step outputs" in capsys.readouterr().err
    assert world.openai.log == [] and world.github.log == []  # checked before anything is sent


def test_a_bug_shows_its_traceback(world, monkeypatch):
    """Only the product's errors are caught: a bug is not turned into a one-line 'service failure'."""
    import batch_review.cli.commands as cli

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "run_submit", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        world.submit("--dry-run")


def test_a_bug_traceback_is_redacted():
    from batch_review.cli import actions_log
    from batch_review.core.redact import register

    register("s3cr3t-value-xyz")
    err = io.StringIO()
    saved, sys.stderr = sys.stderr, err
    try:
        try:
            raise ValueError("leaked s3cr3t-value-xyz and Bearer abcdefghijk")
        except ValueError as exc:
            actions_log.redacted_excepthook(type(exc), exc, exc.__traceback__)
    finally:
        sys.stderr = saved
    assert "ValueError" in err.getvalue() and "s3cr3t" not in err.getvalue() and "abcdefghijk" not in err.getvalue()
