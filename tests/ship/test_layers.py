"""The house's layers are contracts, not prose: `lint-imports` holds the package to pyproject.toml's
[tool.importlinter] contracts, and the contracts bite (a planted upward import breaks them)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "batch_review"
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed (pip install -e '.[test]')")


def lint(tree: Path) -> subprocess.CompletedProcess:
    """lint-imports over the package found in `tree`/src, with this project's contracts."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run([str(LINT), "--config", str(ROOT / "pyproject.toml"), "--no-cache"], cwd=tree,
                          env=env, capture_output=True, text=True, timeout=300)


def planted(tmp_path: Path, module: str, line: str) -> Path:
    """A copy of the package with `line` appended to `module` (a path under batch_review/)."""
    shutil.copytree(SRC, tmp_path / "src" / "batch_review", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "src" / "batch_review" / module
    target.write_text(target.read_text() + f"\n{line}\n")
    return tmp_path


def test_the_package_keeps_every_contract():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "0 broken" in result.stdout and "Contracts: 4 kept" in result.stdout


@pytest.mark.parametrize(("module", "line", "broken"), [
    # the pure core reaching up into a journey
    ("core/diffs.py", "from ..poll import journey  # noqa", "Layers"),
    # the ledger importing a provider at run time (its `client: BatchProvider` is a TYPE_CHECKING import)
    ("ledger/send.py", "from ..providers import base  # noqa", "Layers"),
    # one journey importing the other
    ("poll/review.py", "from ..submit import targets  # noqa", "independent"),
    # a journey importing eval, which sits above both
    ("submit/journey.py", "from ..eval import scoring  # noqa", "Layers"),
    ("poll/journey.py", "from ..eval.record import EvalRecord  # noqa", "Layers"),
    # eval's scoring is pure
    ("eval/scoring.py", "import subprocess  # noqa", "pure core"),
    # a pure module importing a client
    ("findings/compose.py", "import openai  # noqa", "pure core"),
    # a service client imported outside its own module
    ("submit/journey.py", "import github  # noqa", "Only its own module"),
])
def test_a_planted_violation_breaks_its_contract(tmp_path, module, line, broken):
    result = lint(planted(tmp_path, module, line))
    assert result.returncode != 0
    report = result.stdout[result.stdout.index("Broken contracts"):]
    assert broken in report
