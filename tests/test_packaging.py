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

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted(str(p) for p in (ROOT / "examples" / "workflows").glob("*.yml"))


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
    assert [Path(p).name for p in WORKFLOWS] == ["batch-review-poll.yml", "batch-review-submit.yml"]


def test_actionlint():
    proc = run(tool("actionlint"), *WORKFLOWS)
    assert proc.returncode == 0, proc.stdout + proc.stderr


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
    for path in WORKFLOWS:
        assert "```yaml\n" + Path(path).read_text() + "```" in readme, path
