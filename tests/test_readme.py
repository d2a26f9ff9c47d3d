"""README's "How it works": every module named once, in the order a run's data flows through them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _section() -> str:
    text = (ROOT / "README.md").read_text()
    return text[text.index("## How it works"):text.index("## Speed and memory")]


def test_how_it_works_names_every_module_once_in_the_order_data_flows():
    section = _section()
    modules = {p.stem for p in (ROOT / "src" / "batch_review").glob("*.py") if not p.stem.startswith("__")}
    table = re.findall(r"^\| ([a-z_]+)\.py \|", section, re.M)
    assert len(table) == len(set(table)), "a module has two rows"
    assert set(table) == modules, f"no row: {sorted(modules - set(table))}; no module: {sorted(set(table) - modules)}"
    flow = "\n".join(line for line in section.splitlines() if line.startswith("    "))
    first_seen = list(dict.fromkeys(w for w in re.findall(r"[a-z_]+", flow) if w in modules))
    assert set(first_seen) == modules, f"not in the flow: {sorted(modules - set(first_seen))}"
    assert table == first_seen  # the table lists the modules in the order the flow above reaches them
