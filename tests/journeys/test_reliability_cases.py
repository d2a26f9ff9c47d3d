"""Every row of docs/reliability.md's hostile-input, seam and error tables names a test that exists."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from reliability_cases import TABLES, node_ids  # noqa: E402


def _functions(path: Path) -> set[str]:
    return {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)}


def test_every_case_names_a_test_that_exists():
    missing = []
    for node in node_ids():
        file, name = node.split("::")
        path = ROOT / file
        if not name.startswith("test_") or not path.is_file() or name not in _functions(path):
            missing.append(node)
    assert missing == []


def test_every_table_has_rows_and_no_row_is_listed_twice():
    for title, _, _, rows in TABLES:
        assert rows, title
        assert len({r[0] for r in rows}) == len(rows), title
