"""Findings as SARIF 2.1.0 for GitHub code scanning (github/codeql-action/upload-sarif): one file per target.

Plain values in, a JSON file out; valid under the OASIS schema and without an error under Microsoft's SARIF
Multitool rules for SARIF and for GitHub ingestion (tests/findings/test_sarif_multitool.py). docs/sarif.md is the
user's view. What the log says:

- Rules: one per category the model may choose (vocabulary.CATEGORIES), every one in every log, each with a
  full description and help (text and markdown) in our own words: what the category means and how
  batch-review found the result. A category the model made up is reported under batch-review/other, its
  word kept (plain) in the result's properties. No model text reaches a rule.
- Locations: a percent-encoded RFC 3986 relative reference against %SRCROOT%, which versionControlProvenance
  maps (`mappedTo`) to the repository at the reviewed commit. A region only where it is a place in that
  commit: new-side lines, on the diff or off it. An old-side line is a line of the base, so its result is
  on the whole file and its message names the old line. A finding without a usable path (none, or not a
  plain relative path inside the repository: `..`, `.` or empty segments, absolute, a scheme or drive, a
  backslash, a control character) is on the repository root, its path shown as text.
- Messages: markdown_safety.plain (control characters, mentions, our markers and URLs broken), then nothing
  a SARIF viewer or a markdown renderer acts on: no embedded or reference link, no HTML or autolink, no
  `{n}` placeholder (a word joiner breaks each, invisibly).
- The finding's fingerprint (computed once, by review.py) is its partial fingerprint.

The file is named after the target key, which the manifest checks hold to `pr-N` / `branches-<hex>`;
anything else is refused here too.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from .. import __version__
from ..core.vocabulary import CATEGORIES, LEFT, RIGHT
from ..markdown.safety import JOINER, clip, plain
from .anchoring import resolve_path

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
PROJECT_URI = "https://github.com/batch-review/batch-review"
HELP_URI = f"{PROJECT_URI}/blob/v{__version__}/docs/sarif.md"
SRCROOT = "%SRCROOT%"
ROOT_URI = "."  # the repository root: where a finding without a usable path is reported
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
_FILE_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_SHOWN_PATH = 200  # characters of an unusable path shown in the message

# What each category means, in our words (the prompt gives the model only the names).
MEANINGS = {
    "bug": "A defect in normal use: code that does the wrong thing for ordinary input.",
    "security": "A security hole: input an attacker controls reaches something it must not (injection, "
                "missing authorization, exposed secrets, unsafe deserialization and the like).",
    "correctness": "Wrong results in some cases: logic, arithmetic, off-by-one or boundary errors, broken "
                   "edge cases.",
    "concurrency": "A race, deadlock or unsafe shared state between threads, processes or asynchronous tasks.",
    "error-handling": "An error that is swallowed, raised wrongly or handled halfway, so a failure goes "
                      "unnoticed or leaves work half done.",
    "resource-leak": "A file, socket, connection, lock or memory that is acquired and not released on some "
                     "path.",
    "performance": "Work that grows worse than it needs to for realistic input: quadratic loops, repeated "
                   "I/O, unbounded memory.",
    "data-loss": "Data that is deleted, overwritten, truncated or never written when it should be kept.",
    "api-misuse": "A library, framework or system API used against its contract: wrong arguments, order or "
                  "assumptions.",
    "other": "A concrete problem outside the other categories, or one the model filed under a category of "
             "its own (its word is kept in the result's properties, as category).",
}
_FOUND = ("A language model read the change (its diff, with surrounding lines) through a provider's batch "
          "API, as batch-review's nightly review, and reported this finding in this category. batch-review "
          "did not run the code: it checked the finding's file and line against the diff, posted it with the "
          "review, and wrote it here. The level is the model's severity: critical and high are "
          "errors, medium a warning, low and info notes.")
_WHERE = ("The alert is on the lines of the reviewed commit the model named, on the diff or off it. A "
          "finding on a removed (old-side) line is on the whole file, and its message names the old line, "
          "since that line is not in the reviewed commit. A finding without a usable file is on the "
          "repository root.")
_TODO = "It is a model's judgement, not a proof: check the code, then fix it or dismiss the alert."


@dataclass(frozen=True)
class SarifTarget:
    """What the log says about the reviewed target."""

    key: str  # pr-12 | branches-<12 hex>: the file name and the automation id
    label: str  # "#12" | "main...feature"
    model: str
    repository_uri: str  # https://github.com/owner/name
    head_sha: str  # the reviewed commit
    tool_version: str


# --- rules ---------------------------------------------------------------------------------------------------

def _category(f) -> str:
    return f.category if f.category in MEANINGS else "other"


def _rule_id(category: str) -> str:
    return f"batch-review/{category}"


def _rule(category: str) -> dict:
    meaning = MEANINGS[category]
    short = f"batch-review: {category.replace('-', ' ')}"
    return {
        "id": _rule_id(category),
        "name": "".join(word.title() for word in category.split("-")),
        "shortDescription": {"text": short},
        "fullDescription": {"text": f"{meaning} {_FOUND}"},
        "help": {
            "text": f"{short}\n\n{meaning}\n\nHow it was found: {_FOUND}\n\nWhere the alert is: {_WHERE}\n\n{_TODO}",
            "markdown": (f"**{short}**\n\n{meaning}\n\n**How it was found.** {_FOUND}\n\n"
                         f"**Where the alert is.** {_WHERE}\n\n{_TODO}"),
        },
        "helpUri": f"{HELP_URI}#rules",
        "properties": {"tags": ["batch-review", category]},
    }


_RULE_INDEX = {_rule_id(category): i for i, category in enumerate(CATEGORIES)}


# --- locations -----------------------------------------------------------------------------------------------

def _unusable_char(c: str) -> bool:
    return c == "\\" or unicodedata.category(c) in ("Cc", "Cs")


def repo_uri(path: str) -> str | None:
    """`path` as a percent-encoded RFC 3986 relative reference to a file inside the repository; None when it
    is not a plain relative path there (empty, absolute, `..`, `.` or empty segments, a scheme or drive in
    its first segment, a backslash, a control character or a lone surrogate)."""
    if not path or path.startswith("/") or any(_unusable_char(c) for c in path):
        return None
    segments = path.split("/")
    if any(segment in ("", ".", "..") for segment in segments) or ":" in segments[0]:
        return None
    return "/".join(quote(segment, safe="") for segment in segments)


def _repo_path(path: str, diff_files: Mapping[str, object]) -> str:
    """The path as the diff names it when it names a file of the diff ("./a.py", "b/a.py"), else as given
    less a leading "./"."""
    path = path or ""
    resolved = resolve_path(path, diff_files) if diff_files else None
    if resolved is not None:
        return resolved
    path = path.strip()
    while path.startswith("./"):
        path = path[2:]
    return path


def _lines(f) -> str:
    start = f.start_line if f.start_line and f.start_line < f.line else None
    return f"lines {start}-{f.line}" if start else f"line {f.line}"


def _location(f, path: str) -> tuple[dict, str | None]:
    """The location object of a finding on `path`, and what its message must add about it (None: nothing)."""
    uri = repo_uri(path)
    physical: dict = {"artifactLocation": {"uri": uri or ROOT_URI, "uriBaseId": SRCROOT}}
    location = {"physicalLocation": physical}
    if uri is None:
        given = " ".join(clip(path, _SHOWN_PATH).split())
        at = f", {_lines(f)}" if f.line else ""
        if given:
            return location, (f"Where: the file given ({given}{at}) is not a path inside the repository, so "
                              "this alert is on the repository root.")
        return location, f"Where: no file was given{at}, so this alert is on the repository root."
    if not f.line:
        return location, None
    if f.side == LEFT:
        return location, (f"Where: old {_lines(f)} of this file, a line of the base of the change and not of "
                          "the reviewed commit, so this alert is on the whole file.")
    if f.side == RIGHT:
        start = f.start_line if f.start_line and f.start_line < f.line else f.line
        physical["region"] = {"startLine": start, "endLine": f.line}
    return location, None


# --- messages ------------------------------------------------------------------------------------------------

_EMBEDDED_LINK = re.compile(r"\](?=[(\[:])")  # [text](target), [text][ref], [ref]: definition
_TAG = re.compile(r"<(?=[A-Za-z/!?])")  # HTML, comments, <scheme:…> autolinks
_PLACEHOLDER = re.compile(r"\{(?=[0-9]+\})")  # {0}: SARIF substitutes message arguments there


def message_text(text: str) -> str:
    """Model text as a SARIF plain-text message that no consumer renders as more than text."""
    text = plain(text)
    text = _EMBEDDED_LINK.sub("]" + JOINER, text)
    text = _TAG.sub("<" + JOINER, text)
    return _PLACEHOLDER.sub("{" + JOINER, text)


def _result(f, path: str, fingerprint: str, diff_files: Mapping[str, object]) -> dict:
    rule_id = _rule_id(_category(f))
    location, where = _location(f, _repo_path(path, diff_files))
    text = f"{f.title}\n\n{f.body}".strip()
    text = text if plain(text).strip() else f"batch-review: {_category(f).replace('-', ' ')}"
    properties: dict = {"severity": plain(f.severity or "", one_line=True)}
    if f.category and f.category != _category(f):
        properties["category"] = plain(f.category, one_line=True)
    return {
        "ruleId": rule_id,
        "ruleIndex": _RULE_INDEX[rule_id],
        "level": LEVELS.get(f.severity, "warning"),
        "message": {"text": message_text(f"{text}\n\n{where}" if where else text)},
        "locations": [location],
        "properties": properties,
        "partialFingerprints": {"batchReviewFinding/v1": fingerprint},
    }


def sarif_log(target: SarifTarget, findings: Sequence[tuple[object, str, str]],
              diff_files: Mapping[str, object] | None = None,
              dropped: Sequence[tuple[object, str, str, str]] = ()) -> dict:
    """The SARIF log of one target from its (finding, path, fingerprint) triples; `diff_files` (the paths of
    the target's diff) lets a path the model decorated ("./a.py") find its file. `dropped`: (finding, path,
    fingerprint, reason) of the findings the verify round refuted, each a result with an external, accepted
    suppression whose justification is the verifier's reason (SARIF 2.1.0, 3.35)."""
    results = [_result(f, path, fp, diff_files or {}) for f, path, fp in findings]
    results += [{**_result(f, path, fp, diff_files or {}), "suppressions": [
        {"kind": "external", "status": "accepted",
         "justification": message_text(reason or "refuted by the verify round")}]}
        for f, path, fp, reason in dropped]
    run = {
        "tool": {"driver": {"name": "batch-review", "version": target.tool_version,
                            "informationUri": PROJECT_URI,
                            "rules": [_rule(category) for category in CATEGORIES]}},
        "originalUriBaseIds": {SRCROOT: {"description": {
            "text": "The root of the repository at the reviewed commit (see versionControlProvenance)."}}},
        "results": results,
        "columnKind": "utf16CodeUnits",
        "versionControlProvenance": [{"repositoryUri": target.repository_uri, "revisionId": target.head_sha,
                                      "mappedTo": {"uriBaseId": SRCROOT}}],
        "automationDetails": {"id": f"batch-review/{target.key}/"},
        "properties": {"target": target.label, "model": target.model},
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def write_sarif(directory: Path, target: SarifTarget, findings: Sequence[tuple[object, str, str]],
                diff_files: Mapping[str, object] | None = None,
                dropped: Sequence[tuple[object, str, str, str]] = ()) -> Path:
    """Write `<directory>/<target key>.sarif`; its path."""
    if not _FILE_STEM.fullmatch(target.key):
        raise ValueError(f"target key {target.key!r} is not a file name")
    path = Path(directory) / f"{target.key}.sarif"
    path.parent.mkdir(parents=True, exist_ok=True)
    log = sarif_log(target, findings, diff_files, dropped)
    path.write_text(json.dumps(log, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
