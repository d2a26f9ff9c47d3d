"""The house's structural floor, checked on every run (issue 23): the package is folders of modules, no module
grows past 400 lines (the command line's past 200), no function past cyclomatic complexity 15 (ruff's C901,
configured in pyproject.toml), and every module opens with its contract."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "batch_review"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def lines_of(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_package_is_folders_with_at_most_four_modules_beside_them():
    folders = [p for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()]
    beside = [p.name for p in PACKAGE.glob("*.py")]
    assert len(folders) >= 6 and len(beside) <= 4, (sorted(f.name for f in folders), beside)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_is_small_and_opens_with_its_contract(path):
    limit = 200 if path.parent.name == "cli" else 400
    assert lines_of(path) <= limit, f"{path.relative_to(PACKAGE)}: {lines_of(path)} lines (at most {limit})"
    if path.name != "__main__.py":
        assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))), "no docstring stating its contract"


def test_no_function_is_more_complex_than_fifteen():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--select", "C901", "--config",
                           "lint.mccabe.max-complexity = 15", str(PACKAGE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:]


def test_the_complexity_check_can_fail(tmp_path):
    """The check above would pass vacuously if ruff did not see C901: a function of 16 branches fails it."""
    body = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(16))
    (tmp_path / "m.py").write_text(f"def f(x):\n{body}    return -1\n")
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--select", "C901", "--config",
                           "lint.mccabe.max-complexity = 15", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 1 and "C901" in done.stdout
