"""git/repo.py with real git in temporary repositories: the token reaches git only through the fetch's
environment, a failed fetch is a service failure (the next run retries) and every other failure is one
RepositoryError line in git's own words with the fetch that would help, and the diff is git's plain
a/ b/ diff whatever the checkout's configuration asks for. What the verify round reads from the checkout's
objects (a file at a commit, one file's diff) takes a path a model wrote literally."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from batch_review.core.errors import FetchError, RepositoryError
from batch_review.git.repo import GitRepo, _git_words, _refused

from ..gitfixture import GIT_ENV, Repo, git

TOKEN = "ghs_fetchtoken0123456789abcdef"


@pytest.fixture(autouse=True)
def _plain_git(monkeypatch):
    for key, value in GIT_ENV.items():  # no user configuration: the same git everywhere
        monkeypatch.setenv(key, value)


@pytest.fixture
def repo(tmp_path) -> Repo:
    return Repo(tmp_path / "r")


def _spy_git(tmp_path: Path, monkeypatch) -> Path:
    """A `git` first on PATH that records its arguments and GIT_CONFIG_* environment, then runs the real git."""
    real = next(Path(d) / "git" for d in os.environ["PATH"].split(os.pathsep) if (Path(d) / "git").is_file())
    log = tmp_path / "git.log"
    shim = tmp_path / "bin" / "git"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\n{{ echo "ARGS $*"; env | grep "^GIT_CONFIG_" | sort; }} >> "{log}"\n'
                    f'exec "{real}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{shim.parent}{os.pathsep}{os.environ['PATH']}")
    return log


# --- fetch ----------------------------------------------------------------------------------------------

def test_the_token_reaches_git_only_through_the_fetchs_environment(repo, tmp_path, monkeypatch):
    repo.write("a.py", "x = 1\n")
    sha = repo.commit("pr head")
    git(repo.path, "push", "-q", "origin", f"{sha}:refs/pull/7/head")
    git(repo.path, "reset", "-q", "--hard", "HEAD~1")
    git(repo.path, "reflog", "expire", "--expire=now", "--all")
    git(repo.path, "gc", "-q", "--prune=now")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")  # a variable the runner set already is kept, not overwritten
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.askPass")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "")
    log = _spy_git(tmp_path, monkeypatch)
    g = GitRepo(repo.path)
    assert not g.has_commit(sha)
    g.fetch(["+refs/pull/7/head:refs/remotes/origin/pr/7"], token=TOKEN)
    assert g.has_commit(sha)
    text = log.read_text()
    fetch_call = text[text.index("ARGS -C"):]
    header = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert f"GIT_CONFIG_VALUE_1=AUTHORIZATION: basic {header}" in fetch_call
    assert "GIT_CONFIG_KEY_1=http.extraheader" in fetch_call and "GIT_CONFIG_COUNT=2" in fetch_call
    assert "GIT_CONFIG_KEY_0=core.askPass" in fetch_call
    assert TOKEN not in "".join(x for x in text.splitlines() if x.startswith("ARGS"))
    assert header not in (repo.path / ".git" / "config").read_text()
    assert os.environ["GIT_CONFIG_COUNT"] == "1"  # this process's environment is untouched


def test_a_failed_fetch_is_a_transient_service_failure_in_gits_words(repo):
    git(repo.path, "remote", "set-url", "origin", str(repo.path.parent / "gone.git"))
    with pytest.raises(FetchError) as caught:
        GitRepo(repo.path).fetch(["refs/pull/1/head"], token=TOKEN)
    line = caught.value.line()
    assert line.startswith("git fetch failed: ") and "gone.git" in line
    assert line.endswith("(fetching 1 pull request ref from origin); the next run tries again")
    assert caught.value.transient and caught.value.exit_code == 1
    assert TOKEN not in line and "\n" not in line


def test_a_checkout_without_the_remote_is_bad_input(repo):
    git(repo.path, "remote", "remove", "origin")
    with pytest.raises(RepositoryError, match="has no remote 'origin' to fetch pull request heads from"):
        GitRepo(repo.path).fetch(["refs/pull/1/head"])
    GitRepo(repo.path).fetch([])  # nothing to fetch: no remote needed


# --- refs and their hints -------------------------------------------------------------------------------

def test_a_ref_that_looks_like_an_option_is_refused_before_git_runs(repo):
    for ref in ("--output=/tmp/x", "-h"):
        with pytest.raises(RepositoryError, match="--base: bad revision"):
            GitRepo(repo.path).rev_parse(ref, flag="--base")
    with pytest.raises(RepositoryError, match="bad revision"):
        GitRepo(repo.path).log_commits("--all")


def test_a_missing_ref_says_which_fetch_would_bring_it(repo):
    repo.push("main")
    git(repo.path, "push", "-q", "origin", "main:only-there")
    git(repo.path, "fetch", "-q", "origin")
    g = GitRepo(repo.path)
    assert g.rev_parse("main", flag="--base") == repo.head()
    cases = {
        "origin/feature": "run `git fetch origin feature` first",
        "only-there": "the checkout has it as origin/only-there: pass that",
        "abc1234": "run `git fetch origin abc1234` first (or fetch the whole history)",
        "release": "run `git fetch origin release` and pass origin/release",
    }
    for ref, hint in cases.items():
        with pytest.raises(RepositoryError) as caught:
            g.rev_parse(ref, flag="--base")
        assert caught.value.line() == f"--base: {ref!r} is not a branch, tag or commit of the checkout; {hint}"
    git(repo.path, "remote", "remove", "origin")
    with pytest.raises(RepositoryError, match="the checkout has no remote to fetch it from"):
        g.rev_parse("release")


def test_a_folder_that_is_not_a_checkout_says_what_to_do(tmp_path):
    with pytest.raises(RepositoryError) as caught:
        GitRepo(tmp_path).check()
    assert caught.value.line().startswith(f"{tmp_path}: not a git repository")
    assert caught.value.line().endswith("(run from a checkout or pass --repo)") and caught.value.exit_code == 2


def test_unrelated_histories_have_no_merge_base(repo):
    main = repo.head()
    git(repo.path, "checkout", "-q", "--orphan", "other")
    repo.write("b.py", "y = 2\n")
    other = repo.commit("unrelated")
    with pytest.raises(RepositoryError, match=f"{main[:12]} and {other[:12]} have no common ancestor"):
        GitRepo(repo.path).merge_base(main, other)
    assert GitRepo(repo.path).parent(other) is None


def test_the_default_branch_is_origins_then_the_usual_names(repo):
    g = GitRepo(repo.path)
    assert g.default_branch() == "main"
    repo.push("main")
    git(repo.path, "fetch", "-q", "origin")
    git(repo.path, "remote", "set-head", "origin", "main")
    assert g.default_branch() == "origin/main"
    git(repo.path, "remote", "set-head", "origin", "-d")
    git(repo.path, "branch", "-q", "-m", "main", "develop")
    git(repo.path, "update-ref", "-d", "refs/remotes/origin/main")
    with pytest.raises(RepositoryError, match="cannot tell the default branch: pass --base"):
        g.default_branch()


# --- the diff -------------------------------------------------------------------------------------------

def test_the_diff_is_plain_git_whatever_the_checkout_configures(repo, tmp_path):
    base = repo.head()
    repo.write("a.py", "x = 1\n")
    repo.write(".gitattributes", "*.py diff=evil\n")  # a pull request can add this file
    head = repo.commit("change")
    marker = tmp_path / "ran"
    git(repo.path, "config", "diff.noprefix", "true")
    git(repo.path, "config", "diff.mnemonicPrefix", "true")
    git(repo.path, "config", "diff.external", f"touch {marker}")
    git(repo.path, "config", "diff.evil.textconv", f"touch {marker}; cat")
    git(repo.path, "config", "color.diff", "always")
    out = GitRepo(repo.path).diff(base, head, context=3).decode()
    assert "diff --git a/a.py b/a.py" in out and "+x = 1" in out
    assert "\x1b[" not in out and not marker.exists()


def test_whitespace_only_changes_are_left_out_when_asked(repo):
    repo.write("a.py", "def f():\n    return 1\n")
    base = repo.commit("a")
    repo.write("a.py", "def f():\n        return 1\n")
    head = repo.commit("indent")
    g = GitRepo(repo.path)
    assert "+        return 1" in g.diff(base, head, context=3).decode()
    assert g.diff(base, head, context=3, ignore_space=True) == b""


# --- pure helpers ---------------------------------------------------------------------------------------

def test_gits_words_are_its_first_fatal_or_error_line():
    assert _git_words(b"hint: one\nfatal: bad object\nhint: two\n") == "bad object"
    assert _git_words(b"warning: x\nerror: cannot lock ref\n") == "cannot lock ref"
    assert _git_words(b"something\nlast words\n") == "last words"
    assert _git_words(b"") == ""


def test_a_checkout_of_another_user_says_how_to_allow_it(tmp_path):
    stderr = (b"fatal: detected dubious ownership in repository at '/w'\nTo add an exception for this directory, "
              b"call:\n\n\tgit config --global --add safe.directory /w\n")
    err = _refused(tmp_path, stderr)
    assert err is not None and err.exit_code == 2
    assert err.line().startswith("git refuses the checkout: detected dubious ownership in repository at '/w'.")
    assert "allow it with `git config --global --add safe.directory /w`" in err.line()
    assert _refused(tmp_path, b"fatal: not a git repository\n") is None


@pytest.mark.parametrize(("url", "name"), [
    ("git@github.com:acme/widgets.git", "acme/widgets"),
    ("https://github.com/acme/widgets", "acme/widgets"),
    ("https://x-access-token:tok@ghe.example.com/acme/widgets.git", "acme/widgets"),
    ("https://github.com/widgets", None),
])
def test_the_remote_repository_from_its_url(repo, url, name):
    git(repo.path, "remote", "set-url", "origin", url)
    assert GitRepo(repo.path).remote_repository() == name


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
