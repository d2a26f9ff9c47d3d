"""README's "How it works" names every folder in its map; docs/architecture.md names every module once, in
the order a run's data flows through them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "batch_review"


def _section() -> str:
    """README's "How it works", up to the next section."""
    text = (ROOT / "README.md").read_text()
    start = text.index("## How it works")
    return text[start:text.index("\n## ", start)]


def _architecture() -> str:
    return (ROOT / "docs" / "architecture.md").read_text()


def _modules() -> set[str]:
    """Every module of the package as `folder.name` (the two files beside the folders are `__main__` and
    `__init__`, which hold only the version and the entry)."""
    return {".".join(p.relative_to(SRC).with_suffix("").parts) for p in SRC.rglob("*.py")
            if p.name != "__init__.py" and p.parent != SRC}


def test_the_map_names_every_folder_once():
    section = _section()
    folders = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    block = section[section.index("\n    cli/"):section.index("\n\n", section.index("\n    cli/"))]
    mapped = re.findall(r"(?<![\w/.])([a-z]+)/ {2,}", block)
    assert sorted(mapped) == sorted(folders)


def test_the_architecture_page_names_every_module_once_in_the_order_data_flows():
    section = _architecture()
    modules = _modules()
    table = [row.replace("/", ".") for row in re.findall(r"^\| ([a-z_]+/[a-z_]+)\.py \|", section, re.M)]
    assert len(table) == len(set(table)), "a module has two rows"
    assert set(table) == modules, f"no row: {sorted(modules - set(table))}; no module: {sorted(set(table) - modules)}"
    flow = "\n".join(line for line in section.splitlines() if line.startswith("    ") and ":" in line[:16]
                     or line.startswith("               "))
    first_seen = list(dict.fromkeys(w for w in re.findall(r"[a-z_]+\.[a-z_]+", flow) if w in modules))
    assert set(first_seen) == modules, f"not in the flow: {sorted(modules - set(first_seen))}"
    assert table == first_seen  # the table lists the modules in the order the flow above reaches them


def test_beside_the_folders_only_the_entry_and_the_version():
    assert sorted(p.name for p in SRC.glob("*.py")) == ["__init__.py", "__main__.py"]


def test_the_readme_points_at_the_architecture_page_and_shows_no_module_table():
    section = _section()
    assert "(docs/architecture.md)" in section
    assert not re.search(r"^\| [a-z_]+/[a-z_]+\.py \|", (ROOT / "README.md").read_text(), re.M)
