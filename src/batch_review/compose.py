"""What a developer reads: review bodies, inline comments and check run output (pure).

Every piece of model text passes through markers.neutralize (no @-mentions, no hidden HTML, fences
closed) and stays within GitHub's size limits; a body too long for one review is split into parts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from .config import SEVERITIES, severity_rank
from .markers import Marker, fingerprints_html, neutralize
from .report import md_table

MAX_BODY = 65_536  # review body, comment body (characters)
MAX_CHECK_TEXT = 65_535  # check run output.summary / output.text
PART_BUDGET = 60_000  # leaves room for the marker and the "part n of m" line
MAX_RAW_ANSWER = 2_000
ANNOTATIONS_PER_REQUEST = 50
LEVEL_BY_SEVERITY = {"critical": "failure", "high": "failure", "medium": "warning", "low": "notice",
                     "info": "notice"}


@dataclass
class TargetReport:
    """Everything the poll side knows about one target, ready to be written down."""

    key: str
    label: str
    repository: str
    head_sha: str
    model: str
    server_url: str = "https://github.com"
    current_head: str | None = None  # set when the pull request moved on since submission
    inline: list = field(default_factory=list)  # anchoring InlineComment
    unplaced: list = field(default_factory=list)  # (Finding, reason)
    below_threshold: int = 0
    unparsable: list[tuple[str, str, str]] = field(default_factory=list)  # (path, problem, raw answer)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (path, code, message)
    skipped_files: list[dict] = field(default_factory=list)
    files_reviewed: int = 0
    requests: int = 0
    usage_line: str = ""
    resubmitted: int = 0
    attempt: int = 0
    since: str = ""  # incremental: only the changes since this commit were reviewed
    repeated: int = 0  # findings an earlier review already posted, left out
    fingerprints: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list:
        return [c.finding for c in self.inline] + [f for f, _ in self.unplaced]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 20].rstrip() + "\n…(truncated)"


def finding_heading(f) -> str:
    return f"**{f.severity}** · {f.category} — {neutralize(f.title).strip()}"


def inline_body(comment, suggestion: str | None) -> str:
    f = comment.finding
    parts = [finding_heading(f), "", neutralize(f.body).strip()]
    if suggestion:
        parts += ["", suggestion]
    return _clip("\n".join(parts), MAX_BODY)


def _blob_link(report: TargetReport, path: str, line: int | None, side: str) -> str:
    sha = report.head_sha if side != "LEFT" else ""
    if not sha:
        return f"`{neutralize(path)}`" + (f" line {line} (old side)" if line else "")
    anchor = f"#L{line}" if line else ""
    url = f"{report.server_url}/{report.repository}/blob/{sha}/{quote(path)}{anchor}"
    return f"[`{neutralize(path)}`{' line ' + str(line) if line else ''}]({url})"


def severity_table(findings: Iterable) -> str:
    counts = Counter(f.severity for f in findings)
    rows = [[s, counts[s]] for s in SEVERITIES[::-1] if counts[s]]
    return md_table(["severity", "findings"], rows) if rows else ""


def body_sections(report: TargetReport) -> tuple[str, list[str]]:
    """The head of the body (always in part 1) and the entries that may spill into later parts."""
    findings = report.findings
    head = [f"## batch-review: {len(findings)} finding{'s' if len(findings) != 1 else ''}", ""]
    reviewed = f"Reviewed commit `{report.head_sha[:12]}`"
    if report.current_head and report.current_head != report.head_sha:
        reviewed += f" (the pull request has moved on to `{report.current_head[:12]}` since)"
    head.append(f"{reviewed} · model `{report.model}` · {report.files_reviewed} files · "
                f"{report.requests} requests{' · ' + report.usage_line if report.usage_line else ''}")
    if report.since:
        head.append(f"Incremental review: only the changes since `{report.since[:12]}`, reviewed before, "
                    "were sent to the model.")
    if report.repeated:
        head.append(f"{report.repeated} finding(s) already posted by an earlier review are not repeated.")
    if report.attempt:
        head.append(f"Results of a resubmission (attempt {report.attempt + 1}) of requests that expired.")
    table = severity_table(findings)
    if table:
        head += ["", table]
    if report.below_threshold:
        head += ["", f"{report.below_threshold} finding(s) below the configured minimum severity are not shown."]
    entries: list[str] = []
    if report.inline:
        head += ["", f"{len(report.inline)} finding(s) are inline comments on the diff."]
    if report.unplaced:
        entries.append("### Findings not on a line of the diff")
        for f, reason in report.unplaced:
            where = _blob_link(report, f.path, f.line, f.side)
            text = neutralize(f.body).strip()
            entries.append(_clip(f"- {finding_heading(f)} ({where}; {reason})\n\n  {text}", 8_000))
            if f.suggestion:
                entries.append(_clip(_fenced(f.suggestion, "  "), 8_000))
    if report.unparsable:
        entries.append("### Answers that could not be read")
        for path, problem, raw in report.unparsable:
            entries.append(f"- `{neutralize(path)}`: {neutralize(problem)}\n\n"
                           + _fenced(_clip(raw, MAX_RAW_ANSWER), "  "))
    if report.failed:
        entries.append("### Requests that failed")
        entries.extend(f"- `{neutralize(p)}`: `{neutralize(code)}` {neutralize(msg)}" for p, code, msg in report.failed)
    if report.resubmitted:
        entries.append(f"{report.resubmitted} request(s) expired and were submitted again; "
                       "their findings will follow in another review.")
    if report.skipped_files:
        entries.append("<details><summary>Files not reviewed</summary>\n")
        entries.extend(f"- `{neutralize(s['path'])}`: {s['reason']}" for s in report.skipped_files)
        entries.append("\n</details>")
    return "\n".join(head), entries


def _fenced(text: str, indent: str = "") -> str:
    longest = max((len(run) for run in _backtick_runs(text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = "\n".join(indent + line for line in text.splitlines())
    return f"{indent}{fence}text\n{body}\n{indent}{fence}"


def _backtick_runs(text: str) -> Iterable[str]:
    run = ""
    for ch in text:
        if ch == "`":
            run += ch
        elif run:
            yield run
            run = ""
    if run:
        yield run


def split_parts(head: str, entries: Sequence[str], budget: int = PART_BUDGET) -> list[str]:
    """Pack the body into parts of at most `budget` characters; part 1 starts with the head."""
    parts: list[list[str]] = [[head]]
    size = len(head)
    for entry in entries:
        entry = _clip(entry, budget - 200)
        if size + len(entry) + 2 > budget:
            parts.append([])
            size = 0
        parts[-1].append(entry)
        size += len(entry) + 2
    return ["\n\n".join(p) for p in parts]


def review_bodies(report: TargetReport, digest: str, base: str = "") -> list[str]:
    head, entries = body_sections(report)
    parts = split_parts(head, entries)
    out = []
    for i, text in enumerate(parts, start=1):
        marker = Marker(report.key, report.head_sha, digest, i, base).html()
        suffix = f"\n\n<sub>part {i} of {len(parts)}</sub>" if len(parts) > 1 else ""
        if i == 1 and report.fingerprints:
            suffix += "\n" + fingerprints_html(report.fingerprints)
        out.append(f"{marker}\n{text}{suffix}")
    return out


def check_conclusion(findings: Iterable, fail_on: str | None) -> str:
    if fail_on and any(severity_rank(f.severity) >= severity_rank(fail_on) for f in findings):
        return "failure"
    return "neutral"


def check_output(report: TargetReport) -> tuple[dict, list[dict]]:
    """(output without annotations, all annotations). Annotations go out 50 per request."""
    head, entries = body_sections(report)
    old_side = [c for c in report.inline if c.side == "LEFT"]
    if old_side:  # annotations point at lines of the head commit; removed lines are not there
        entries = ["### Findings on removed lines"] + [
            f"- {finding_heading(c.finding)} (`{neutralize(c.path)}` old line {c.line})\n\n  "
            f"{neutralize(c.finding.body).strip()}" for c in old_side] + entries
    text = "\n\n".join(entries)
    n = len(report.findings)
    output = {"title": f"{n} finding{'s' if n != 1 else ''}", "summary": _clip(head, MAX_CHECK_TEXT)}
    if text:
        output["text"] = _clip(text, MAX_CHECK_TEXT)
    annotations = []
    for c in report.inline:
        if c.side == "LEFT":
            continue
        f = c.finding
        ann = {"path": c.path, "start_line": c.start_line or c.line, "end_line": c.line,
               "annotation_level": LEVEL_BY_SEVERITY.get(f.severity, "warning"),
               "title": _clip(neutralize(f.title), 255), "message": _clip(neutralize(f.body) or f.title, 64_000)}
        if f.suggestion:
            ann["raw_details"] = _clip(f.suggestion, 64_000)
        annotations.append(ann)
    return output, annotations


def threshold(findings: list, min_severity: str) -> tuple[list, int]:
    """(findings at or above min_severity, how many were below it)."""
    kept = [f for f in findings if severity_rank(f.severity) >= severity_rank(min_severity)]
    return kept, len(findings) - len(kept)
