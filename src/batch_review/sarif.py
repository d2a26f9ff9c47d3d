"""Findings as SARIF 2.1.0, for github/codeql-action/upload-sarif (pure).

One log per target: rule ids from the finding categories, levels from severities, locations on the
reviewed commit (versionControlProvenance names it), and a partial fingerprint per finding so code
scanning recognises the same finding across uploads.
"""

from __future__ import annotations

from .compose import TargetReport
from .markdown_safety import plain

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


def sarif_log(report: TargetReport, *, tool_version: str, fingerprints: dict[int, str] | None = None) -> dict:
    """The SARIF log of one target. Findings not on a line of the diff keep their file (and line when
    they have one); a finding with no usable file is reported on the repository root."""
    findings = [(c.finding, c.path) for c in report.inline] + [(f, f.path) for f, _ in report.unplaced]
    rule_ids = sorted({f"batch-review/{f.category or 'other'}" for f, _ in findings})
    results = []
    for f, path in findings:
        region = {}
        if f.line and f.side == "RIGHT":
            region = {"startLine": f.start_line or f.line, "endLine": f.line}
        location = {"physicalLocation": {"artifactLocation": {"uri": path or ".", "uriBaseId": "%SRCROOT%"}}}
        if region:
            location["physicalLocation"]["region"] = region
        result = {
            "ruleId": f"batch-review/{f.category or 'other'}",
            "ruleIndex": rule_ids.index(f"batch-review/{f.category or 'other'}"),
            "level": LEVELS.get(f.severity, "warning"),
            "message": {"text": plain(f"{f.title}\n\n{f.body}".strip())},
            "locations": [location],
            "properties": {"severity": f.severity},
        }
        if fingerprints and id(f) in fingerprints:
            result["partialFingerprints"] = {"batchReviewFinding/v1": fingerprints[id(f)]}
        results.append(result)
    run = {
        "tool": {"driver": {
            "name": "batch-review", "version": tool_version,
            "rules": [{"id": rule, "name": rule.split("/", 1)[1].replace("-", " ").title().replace(" ", ""),
                       "shortDescription": {"text": f"batch-review: {rule.split('/', 1)[1]}"},
                       "properties": {"tags": ["batch-review"]}} for rule in rule_ids],
        }},
        "results": results,
        "versionControlProvenance": [{
            "repositoryUri": f"{report.server_url}/{report.repository}", "revisionId": report.head_sha,
        }],
        "automationDetails": {"id": f"batch-review/{report.key}/"},
        "properties": {"target": report.label, "model": report.model},
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
