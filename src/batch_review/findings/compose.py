"""What a developer reads: the review body, inline comments, check run output, job summary (pure).

Every piece of model text (and every string a manifest carries) goes through markdown_safety, clipped
before it is neutralized. A body is built from units (the head, one unit per finding, one per section
entry); body_fit fits them into GitHub's limit and checks the result with cmark-gfm (markdown_check): each
unit keeps its own blocks, the only HTML comments are our leading markers, no raw HTML, image, foreign
link, mention or issue reference. A finding's file becomes a link only when the manifest lists that path for
the target and the address stays under blob/<sha>/ however browsers and servers read it (markdown/links.py);
any other path is inert code text. A body that fails the check is composed again with every model text as
a fenced literal; nothing is dropped. One review per pull request: what does not fit GitHub's 65,536
characters is summarised by count and severity (most severe first) and pointed to where the whole list
is. Every cap says what it left out, with counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

from ..core.markers import SIGNATURE_ROOM, Marker, finding_html, fingerprints_html
from ..core.vocabulary import LEFT, SEVERITIES, Finding, severity_rank
from ..markdown import safety as ms
from ..markdown.check import check, unit_ranges
from ..markdown.links import stays_under
from ..markdown.tables import md_table
from .anchoring import InlineComment, resolve_path
from .body_fit import Lazy, Section, compose_checked, counts_line, fit, last_resort

MAX_REVIEW_BODY = 65_536  # a review's body, an inline comment's body (characters)
MAX_CHECK_TEXT = 65_535  # check run output.summary / output.text
MAX_ANNOTATION_TITLE = 255
MAX_ANNOTATION_MESSAGE = 64_000
MAX_RAW_ANSWER = 2_000
MAX_TITLE = 200
MAX_CATEGORY = 40
MAX_FOREIGN = 300  # a path, reason or message that came from a manifest or a service
MAX_SUMMARY = 900_000  # the job summary is limited to 1 MiB
MAX_SUMMARY_TEXT = 4_000  # the model's summary of the change, all requests' parts together
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
    paths: frozenset[str] = frozenset()  # the files the manifest lists for this target: the only ones linked
    current_head: str | None = None  # set when the pull request moved on since submission
    inline: list[InlineComment] = field(default_factory=list)
    unplaced: list[tuple[Finding, str]] = field(default_factory=list)  # (finding, why it is in the body)
    below_threshold: int = 0
    unparsable: list[tuple[str, str, str]] = field(default_factory=list)  # (path, problem, raw answer)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (path, code, message)
    skipped_files: list[tuple[str, str]] = field(default_factory=list)  # (path, why it was not reviewed)
    files_reviewed: int = 0
    requests: int = 0
    resubmitted: int = 0
    attempt: int = 0
    since: str = ""  # incremental: only the changes since this commit were reviewed
    repeated: int = 0  # findings an earlier review already posted, left out
    dismissed: int = 0  # findings people dismissed before (poll/dismissals.py), left out
    dismissed_by_author: list[tuple[Finding, str]] = field(default_factory=list)  # critical/high: (it, login)
    fingerprints: list[str] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (path, what an answer lost or may miss)
    summary: str = ""  # the model's summary of the change (model text), parts joined in file order

    @property
    def findings(self) -> list[Finding]:
        return [c.finding for c in self.inline] + [f for f, _ in self.unplaced]


def _severity(f) -> str:
    return f.severity if f.severity in SEVERITIES else "medium"


def by_severity(items: Iterable, key: Callable = lambda x: x) -> list:
    """Most severe first, otherwise in the given order."""
    return sorted(items, key=lambda x: -severity_rank(_severity(key(x))))


def severity_table(findings: Iterable) -> str:
    counts = Counter(_severity(f) for f in findings)
    rows = [[s, counts[s]] for s in SEVERITIES[::-1] if counts[s]]
    return md_table(["severity", "findings"], rows) if rows else ""


# --- pieces ----------------------------------------------------------------------------------------------

def finding_heading(f, literal: bool = False) -> str:
    text = ms.code_span if literal else ms.inline
    title = ms.clip(f.title or "", MAX_TITLE)
    category = ms.clip(f.category or "other", MAX_CATEGORY)
    return f"**{_severity(f)}** · {text(category)} — {text(title)}"


def _model_text(text: str, literal: bool, limit: int | None = None) -> str:
    return ms.literal(text, limit) if literal else ms.block(text, limit)


def _path(path: str) -> str:
    return ms.code_span(ms.clip(path or "", MAX_FOREIGN)) or "(no file)"


def _blob_link(report: TargetReport, path: str, line: int | None, side: str) -> str:
    """`path` line N as a link to that line of the reviewed commit, when the manifest lists the path for
    this target and its address stays under blob/<sha>/ however it is read; else as inert code text."""
    listed = resolve_path(path, report.paths) if path and side != LEFT else None
    address = blob_address(report, listed, line) if listed else None
    if address is None:
        where = _path(path) + (f" line {line}" if line else "")
        return where + (" (old side)" if line and side == LEFT else "")
    return f"[{_path(listed)}{f' line {line}' if line else ''}]({address})"


def blob_address(report: TargetReport, path: str, line: int | None) -> str | None:
    """The address of `path` (line `line`) in the reviewed commit, or None when any reading of it would
    leave blob/<sha>/ (markdown/links.py): a file name is the pull request author's text."""
    address = f"{blob_prefix(report)}{quote(path, errors='replace')}{f'#L{line}' if line else ''}"
    return address if stays_under(address, blob_prefix(report)) else None


def blob_prefix(report: TargetReport) -> str:
    return f"{report.server_url}/{quote(report.repository)}/blob/{quote(report.head_sha)}/"


def finding_unit(report: TargetReport, f, where: str, literal: bool = False) -> str:
    lines = [finding_heading(f, literal), where]
    parts = ["\n".join(lines)]
    body = _model_text(f.body or "", literal)
    if body:
        parts.append(body)
    if f.suggestion:
        parts += ["Suggested change:", ms.literal(f.suggestion)]
    return "\n\n".join(parts)


def inline_body(comment, suggestion: str | None, fp: str | None = None) -> str:
    """One inline comment: its finding's fingerprint as a hidden first line (when given), heading, body, the
    ```suggestion block; checked, literal if it fails."""
    f = comment.finding
    leading = [finding_html(fp)] if fp else []
    head = "".join(line + "\n" for line in leading)
    limit = MAX_REVIEW_BODY - len(head)
    for literal in (False, True):
        units = [finding_heading(f, literal)]
        if getattr(comment, "note", None):
            units[0] += "\n" + ms.escape(comment.note)
        body = _model_text(f.body or "", literal)
        if body:
            units.append(body)
        if suggestion:
            units.append(suggestion)
        text = "\n\n".join(units)
        shift = len(leading)
        if len(text) <= limit and not check(head + text, leading=shift,
                                            units=[(a + shift, b + shift) for a, b in unit_ranges(units)]):
            return head + text
    return last_resort(leading, "\n\n".join(units), MAX_REVIEW_BODY)


# --- the body ---------------------------------------------------------------------------------------------

def head_units(report: TargetReport, literal: bool = False) -> list[str]:
    findings = report.findings
    units = [f"## batch-review: {len(findings)} finding{'s' if len(findings) != 1 else ''}"]
    if report.summary:  # the model's summary of the change leads the body
        units.append(_model_text(report.summary, literal, MAX_SUMMARY_TEXT))
    lines = _review_lines(report)
    units.append("\n".join(f"{line}  " if i < len(lines) - 1 else line for i, line in enumerate(lines)))
    table = severity_table(findings)
    if table:
        units.append(table)
    facts = _facts(report)
    if facts:
        units.append("\n".join(f"- {fact}" for fact in facts))
    return units


def _review_lines(report: TargetReport) -> list[str]:
    """What was reviewed, how, and what this review leaves to others (one line each)."""
    models = ", ".join(ms.code_span(m) for m in report.model.split("`, `"))
    reviewed = f"Reviewed commit {ms.code_span(report.head_sha[:12])}"
    if report.current_head and report.current_head != report.head_sha:
        reviewed += f" (the pull request has moved on to {ms.code_span(report.current_head[:12])} since)"
    lines = [f"{reviewed} · model {models} · {report.files_reviewed} files · {report.requests} requests"]
    if report.since:
        lines.append(f"Incremental review: only the changes since {ms.code_span(report.since[:12])}, reviewed "
                     "before, were sent to the model.")
    if report.repeated:
        lines.append(f"{report.repeated} finding(s) already posted by an earlier review are not repeated.")
    if report.dismissed:
        lines.append(f"{report.dismissed} finding(s) not repeated: dismissed earlier.")
    if report.attempt:
        lines.append(f"Results of a resubmission (attempt {report.attempt + 1}) of requests that expired.")
    return lines


def _facts(report: TargetReport) -> list[str]:
    """Where the findings are, and the ones that are not here."""
    facts = []
    if report.below_threshold:
        facts.append(f"{report.below_threshold} finding(s) below the configured minimum severity are not shown.")
    if report.inline:
        facts.append(f"{len(report.inline)} finding(s) are inline comments on the diff.")
    over_cap = [r for _, r in report.unplaced if r.startswith("over the limit of")]
    if over_cap:
        facts.append(f"{len(over_cap)} finding(s) {ms.escape(over_cap[0])}: listed below instead.")
    if report.resubmitted:
        facts.append(f"{report.resubmitted} request(s) expired and were submitted again; "
                     "their findings will follow in another review.")
    return facts


def _brief(f, where: str) -> str:
    return f"- **{_severity(f)}** {where} — {ms.inline(ms.clip(f.title or '', MAX_TITLE))}"


def _dismissed_entry(f, login: str) -> str:
    """A critical or high finding its author dismissed: named, the login in a code span (GitHub makes no
    mention of it, so nobody is notified night after night)."""
    where = _path(f.path) + (f" line {f.line}" if f.line else "")
    return (f"**{_severity(f)}** {where} — {ms.inline(ms.clip(f.title or '', MAX_TITLE))} · dismissed by "
            f"{ms.code_span('@' + ms.clip(login, 100))}")


def _finding_section(report: TargetReport, title: str, items: list, literal: bool) -> Section:
    """items: (finding, where it is, one-line location)."""
    return Section(title, Lazy(((f, where) for f, where, _ in items),
                               lambda f, where: finding_unit(report, f, where, literal)),
                   "finding(s)", [_severity(f) for f, _, _ in items], Lazy(((f, s) for f, _, s in items), _brief))


def sections(report: TargetReport, literal: bool = False, *, removed_lines: bool = False) -> list[Section]:
    out = []
    if removed_lines:  # check runs: annotations point at lines of the head commit; removed lines are not there
        old = by_severity([c for c in report.inline if c.side == LEFT], key=lambda c: c.finding)
        out.append(_finding_section(report, "Findings on removed lines", [
            (c.finding, f"at {_path(c.path)} old line {c.line}", f"{_path(c.path)} old line {c.line}")
            for c in old], literal))
    unplaced = by_severity(report.unplaced, key=lambda x: x[0])
    out.append(_finding_section(report, "Findings not on a line of the diff", [
        (f, f"at {_blob_link(report, f.path, f.line, f.side)} · {ms.escape(reason)}",
         _path(f.path) + (f" line {f.line}" if f.line else "")) for f, reason in unplaced], literal))
    out.append(Section("Dismissed by the pull request's author", Lazy(
        report.dismissed_by_author, _dismissed_entry), "finding(s)"))
    out.append(Section("What the answers left out or may miss", Lazy(
        report.notes, lambda path, note: f"{_path(path)}: {ms.inline(note, MAX_FOREIGN)}"), "note(s)"))
    out.append(Section("Answers that could not be read", Lazy(
        report.unparsable, lambda path, problem, raw:
        f"{_path(path)}: {ms.inline(problem, MAX_FOREIGN)}\n\n{ms.literal(raw, MAX_RAW_ANSWER)}"), "answer(s)"))
    out.append(Section("Requests that failed", Lazy(
        report.failed, lambda p, code, msg:
        f"{_path(p)}: {ms.code_span(ms.clip(code, 80))} {ms.inline(msg, MAX_FOREIGN)}"), "failed request(s)"))
    out.append(Section("Files not reviewed", Lazy(
        report.skipped_files,
        lambda path, reason: f"{_path(path)}: {ms.inline(reason, MAX_FOREIGN)}"), "file(s)"))
    return [s for s in out if len(s.entries)]


def review_bodies(report: TargetReport, digest: str, base: str = "") -> list[str]:
    """The review of one target: ONE body (a list, for the publisher)."""
    return [review_body(report, digest, base)]


def review_body(report: TargetReport, digest: str, base: str = "") -> str:
    """Marker at character 0, the fingerprints comment on the second line, then the visible text; room is
    kept for the signature poll adds to the marker (provenance.seal)."""
    leading = [Marker(report.key, report.head_sha, digest, 1, base).html()]
    if report.fingerprints:
        leading.append(fingerprints_html(report.fingerprints))
    limit = MAX_REVIEW_BODY - SIGNATURE_ROOM
    budget = limit - sum(len(line) + 1 for line in leading)
    return compose_checked(leading, lambda lit: fit(head_units(report, lit), sections(report, lit), budget),
                           limit, (blob_prefix(report),))


def check_conclusion(findings: Iterable, fail_on: str | None) -> str:
    if fail_on and any(severity_rank(f.severity) >= severity_rank(fail_on) for f in findings):
        return "failure"
    return "neutral"


def annotation(c) -> dict:
    f = c.finding
    ann = {"path": c.path, "start_line": c.start_line or c.line, "end_line": c.line,
           "annotation_level": LEVEL_BY_SEVERITY.get(f.severity, "warning"),
           "title": ms.plain(f"{_severity(f)}: {f.title}", MAX_ANNOTATION_TITLE, one_line=True),
           "message": ms.plain(f.body or f.title or "", MAX_ANNOTATION_MESSAGE) or "(no text)"}
    if f.suggestion:
        ann["raw_details"] = ms.plain(f.suggestion, MAX_ANNOTATION_MESSAGE)
    return ann


def check_output(report: TargetReport) -> tuple[dict, list[dict]]:
    """(output without annotations, all annotations). Annotations go out 50 per request, all of them."""
    links = (blob_prefix(report),)
    summary = compose_checked([], lambda lit: head_units(report, lit), MAX_CHECK_TEXT, links)
    secs = sections(report, removed_lines=True)
    n = len(report.findings)
    output = {"title": f"{n} finding{'s' if n != 1 else ''}", "summary": summary}
    if secs:
        output["text"] = compose_checked(
            [], lambda lit: fit([], sections(report, lit, removed_lines=True), MAX_CHECK_TEXT),
            MAX_CHECK_TEXT, links)
    annotations = [annotation(c) for c in report.inline if c.side != LEFT]
    return output, annotations


def summary_markdown(report: TargetReport, limit: int = MAX_SUMMARY) -> str:
    """Every finding of a target, one line each, most severe first, for the job summary."""
    head = f"#### {ms.escape(report.label)}: {len(report.findings)} finding(s)"
    rows = []
    items = [(c.finding, c.path, c.line, c.side) for c in report.inline] + [
        (f, f.path, f.line, f.side) for f, _ in report.unplaced]
    items = by_severity(items, key=lambda x: x[0])
    for f, path, line, side in items:
        where = _path(path) + (f":{line}" if line else "") + (" (old side)" if side == LEFT else "")
        rows.append(f"- **{_severity(f)}** {where} — {ms.inline(ms.clip(f.title or '', MAX_TITLE))}")
    out, size = [head], len(head)
    for i, row in enumerate(rows):
        if size + len(row) + 1 > limit:
            out.append(f"- … {len(rows) - i} more ({counts_line(_severity(x[0]) for x in items[i:])}): "
                       "the job summary is limited to 1 MiB")
            break
        out.append(row)
        size += len(row) + 1
    out += [f"- {_path(p)}: {ms.inline(n, MAX_FOREIGN)}" for p, n in report.notes]
    return "\n".join(out)


def threshold(findings: list, min_severity: str) -> tuple[list, int]:
    """(findings at or above min_severity, how many were below it)."""
    kept = [f for f in findings if severity_rank(f.severity) >= severity_rank(min_severity)]
    return kept, len(findings) - len(kept)
