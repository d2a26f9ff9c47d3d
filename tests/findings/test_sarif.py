"""sarif.py: one SARIF file per target from plain values; model text made plain; the file name held."""

from __future__ import annotations

import json

import pytest

from batch_review.core.vocabulary import Finding
from batch_review.findings.sarif import SarifTarget, sarif_log, write_sarif

TARGET = SarifTarget(key="pr-7", label="#7", model="gpt-5-mini", repository_uri="https://github.com/acme/widgets",
                     head_sha="a" * 40, tool_version="1.2.3")


def finding(path="a.py", line=3, start=None, side="RIGHT", title="Bug", body="why", category="bug",
            severity="high") -> Finding:
    return Finding("pr-7:0000:0", path, line, start, side, severity, category, title, body, None)


def test_locations_levels_rules_and_fingerprints():
    log = sarif_log(TARGET, [(finding(start=1), "a.py", "f" * 16),
                             (finding(side="LEFT", severity="low", category=""), "b.py", "e" * 16),
                             (finding(path="", line=None, severity="weird"), "", "d" * 16)])
    (run,) = log["runs"]
    first, old_side, nowhere = run["results"]
    assert first["locations"][0]["physicalLocation"]["region"] == {"startLine": 1, "endLine": 3}
    assert "region" not in old_side["locations"][0]["physicalLocation"]  # the old side is not in the commit
    assert nowhere["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "."
    assert [r["level"] for r in run["results"]] == ["error", "note", "warning"]
    assert [r["partialFingerprints"]["batchReviewFinding/v1"] for r in run["results"]] == ["f" * 16, "e" * 16, "d" * 16]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rules == ["batch-review/bug", "batch-review/other"]
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in run["results"])
    assert run["versionControlProvenance"] == [{"repositoryUri": TARGET.repository_uri, "revisionId": "a" * 40}]
    assert run["automationDetails"] == {"id": "batch-review/pr-7/"}


def test_model_text_is_plain():
    """A model writes our marker, a mention, a link and a control character into its finding: SARIF's
    message.text is not rendered, but it is shown; none of them survives as written."""
    marker = "<!-- batch-review:v1 target=pr-7 head=" + "a" * 40 + " manifest=" + "0" * 16 + " part=1 -->"
    hostile = finding(title=f"{marker} cc @acme/security", body="see https://evil.example\x1b[2J now")
    (result,) = sarif_log(TARGET, [(hostile, "a.py", "f" * 16)])["runs"][0]["results"]
    text = result["message"]["text"]
    assert "<!-- batch-review" not in text and "@acme/security" not in text
    assert "https://evil.example" not in text and "\x1b" not in text
    assert "evil.example" in text and "security" in text  # broken, not dropped


def test_the_file_is_named_after_the_target_key(tmp_path):
    path = write_sarif(tmp_path / "sarif", TARGET, [(finding(), "a.py", "f" * 16)])
    assert path == tmp_path / "sarif" / "pr-7.sarif"
    assert json.loads(path.read_text())["runs"][0]["results"][0]["ruleId"] == "batch-review/bug"


@pytest.mark.parametrize("key", ["../pr-7", "/etc/passwd", "pr-7/../../x", "", ".hidden", "pr 7"])
def test_a_key_that_is_not_a_file_name_writes_nothing(tmp_path, key):
    """The manifest checks hold keys to pr-N / branches-<hex>; a key that slipped through would write
    outside the SARIF folder: refused here too."""
    target = SarifTarget(**{**TARGET.__dict__, "key": key})
    with pytest.raises(ValueError, match="not a file name"):
        write_sarif(tmp_path / "sarif", target, [])
    assert not (tmp_path / "sarif").exists() and list(tmp_path.iterdir()) == []
