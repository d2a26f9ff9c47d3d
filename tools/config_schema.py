"""Write the configuration's JSON Schema: structure, types, ranges, choices and defaults from the pydantic
models (batch_review.config.models.json_schema), each key's description from the first sentence of the comment
above it in config.example.yml, so editors show the documented words.

    python tools/config_schema.py            # writes schema/batch-review.schema.json
    python tools/config_schema.py --check    # exits 1 when the committed file is not what this writes

Run it after changing a model or the example's comments; tests/config/test_models.py fails until you do.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

from batch_review.config.models import json_schema

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config.example.yml"
SCHEMA = ROOT / "schema" / "batch-review.schema.json"
KEY = re.compile(r"^( *)([a-z_]+):")
COMMENT = re.compile(r"^ *# (?! )(.*)$")  # "#  - model: x" (two spaces) is a commented-out example, not prose


def documented_keys(text: str) -> dict[tuple[str, ...], str]:
    """(key path) -> the first sentence of the comment block right above that key in the example, else the
    title of the `# --- Title ---` line right above it."""
    found, path, block, title = {}, [], [], ""
    for line in text.splitlines():
        comment, key = COMMENT.match(line), KEY.match(line)
        if comment and "---" in line:
            title = comment.group(1).strip("- ") + "."
        elif comment:
            block.append(comment.group(1).strip())
        elif key:
            depth = len(key.group(1)) // 2
            path[depth:] = [key.group(2)]
            if block or title:
                found[tuple(path)] = re.split(r"(?<=\.)\s", " ".join(block), maxsplit=1)[0] if block else title
        if not comment:
            block, title = [], ""
    return found


def _properties(schema: dict, node: dict) -> dict:
    node = next((n for n in node.get("anyOf", [node]) if n.get("type") != "null"), node)
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node["properties"]


def build() -> str:
    schema = copy.deepcopy(json_schema())
    for path, text in documented_keys(EXAMPLE.read_text()).items():
        node = schema
        for part in path[:-1]:
            node = _properties(schema, node)[part]
        _properties(schema, node)[path[-1]]["description"] = text
    return json.dumps(schema, indent=2) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed schema is not current")
    args = parser.parse_args()
    text = build()
    if args.check:
        current = SCHEMA.is_file() and SCHEMA.read_text() == text
        print(f"{SCHEMA.relative_to(ROOT)} is {'current' if current else 'NOT current: run python tools/config_schema.py'}")
        return 0 if current else 1
    SCHEMA.write_text(text)
    print(f"wrote {SCHEMA.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
