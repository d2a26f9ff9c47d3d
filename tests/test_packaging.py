"""The shipped files pass the linters GitHub users rely on, and the image's install step works.

There is no Docker engine here: the Dockerfile is linted with hadolint and its install script is run in a
fresh virtual environment, so a broken install step fails CI anyway. In CI (CI=true) a missing linter
is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
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


def test_hadolint_reports_nothing():
    proc = run(tool("hadolint"), "--failure-threshold", "info", "Dockerfile")
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr


def test_the_images_install_step_works_in_a_fresh_environment(tmp_path):
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
    assert proc.stdout.strip().splitlines()[-1].startswith("batch-review ")


def test_the_readme_shows_the_example_workflows_verbatim():
    readme = (ROOT / "README.md").read_text()
    for path in EXAMPLES:
        assert "```yaml\n" + Path(path).read_text() + "```" in readme, path
