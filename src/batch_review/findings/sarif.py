"""Findings as SARIF 2.1.0, for github/codeql-action/upload-sarif: one file per target.

Plain values in, a JSON file out: rule ids from the finding categories, levels from severities, locations
on the reviewed commit (versionControlProvenance names it), and the finding's fingerprint (computed once,
by review.py) as its partial fingerprint so code scanning recognises the same finding across uploads.
Model text goes through markdown_safety.plain. The file is named after the target key, which the
manifest checks hold to `pr-N` / `branches-<hex>`; anything else is refused here too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.vocabulary import RIGHT
from ..markdown.safety import plain

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
_FILE_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class SarifTarget:
    """What the log says about the reviewed target."""

    key: str  # pr-12 | branches-<12 hex>: the file name and the automation id
    label: str  # "#12" | "main...feature"
    model: str
    repository_uri: str  # https://github.com/owner/name
    head_sha: str  # the reviewed commit
    tool_version: str


def _rule(f) -> str:
    return f"batch-review/{f.category or 'other'}"


def _result(f, path: str, fingerprint: str, rule_index: int) -> dict:
    location: dict = {"physicalLocation": {"artifactLocation": {"uri": path or ".", "uriBaseId": "%SRCROOT%"}}}
    if f.line and f.side == RIGHT:
        location["physicalLocation"]["region"] = {"startLine": f.start_line or f.line, "endLine": f.line}
    return {
        "ruleId": _rule(f),
        "ruleIndex": rule_index,
        "level": LEVELS.get(f.severity, "warning"),
        "message": {"text": plain(f"{f.title}\n\n{f.body}".strip())},
        "locations": [location],
        "properties": {"severity": f.severity},
        "partialFingerprints": {"batchReviewFinding/v1": fingerprint},
    }


def sarif_log(target: SarifTarget, findings: Sequence[tuple[object, str, str]]) -> dict:
    """The SARIF log of one target from its (finding, path, fingerprint) triples. Findings not on a line
    of the diff keep their file (and line when they have one); one with no usable file is reported on the
    repository root."""
    rule_ids = sorted({_rule(f) for f, _, _ in findings})
    results = [_result(f, path, fp, rule_ids.index(_rule(f))) for f, path, fp in findings]
    run = {
        "tool": {"driver": {
            "name": "batch-review", "version": target.tool_version,
            "rules": [{"id": rule, "name": rule.split("/", 1)[1].replace("-", " ").title().replace(" ", ""),
                       "shortDescription": {"text": f"batch-review: {rule.split('/', 1)[1]}"},
                       "properties": {"tags": ["batch-review"]}} for rule in rule_ids],
        }},
        "results": results,
        "versionControlProvenance": [{"repositoryUri": target.repository_uri, "revisionId": target.head_sha}],
        "automationDetails": {"id": f"batch-review/{target.key}/"},
        "properties": {"target": target.label, "model": target.model},
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def write_sarif(directory: Path, target: SarifTarget, findings: Sequence[tuple[object, str, str]]) -> Path:
    """Write `<directory>/<target key>.sarif`; its path."""
    if not _FILE_STEM.fullmatch(target.key):
        raise ValueError(f"target key {target.key!r} is not a file name")
    path = Path(directory) / f"{target.key}.sarif"
    path.parent.mkdir(parents=True, exist_ok=True)
    log = sarif_log(target, findings)
    path.write_text(json.dumps(log, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
