"""What a developer reads: the review body, inline comments, check run output, job summary (pure).

Every piece of model text (and every string a manifest carries) goes through markdown_safety, clipped
before it is neutralized. A body is built from units (the head, one unit per finding, one per section
entry, one list of findings on the diff); body_fit fits them into GitHub's limit and checks the result
with cmark-gfm (markdown_check): each unit keeps its own blocks, the only HTML comments are our leading
markers, no raw HTML, image, foreign link, mention or issue reference. Where a finding is shown, linked or
as inert text, is locations.py's; its severity's label and every count's words are words.py's. A body that
fails the check is composed again with every model text as a fenced literal; nothing is dropped. One
review per pull request: what does not fit GitHub's 65,536 characters is summarised by count and severity
(most severe first) and pointed to where the whole list is. Every cap says what it left out, with counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..core.markers import SIGNATURE_ROOM, Marker, finding_html, fingerprints_html
from ..core.vocabulary import LEFT, Finding, severity_rank
from ..markdown import safety as ms
from ..markdown.check import check, unit_ranges
from .anchoring import InlineComment
from .body_fit import Lazy, Section, compose_checked, counts_line, fit, last_resort
from .locations import MAX_FOREIGN, blob_link, diff_link, link_prefixes, path_text
from .verified import dropped_summary, verify_lines
from .words import counted, label, pull_prefix, severity_counts, severity_of

MAX_REVIEW_BODY = 65_536  # a review's body, an inline comment's body (characters)
MAX_CHECK_TEXT = 65_535  # check run output.summary / output.text
MAX_ANNOTATION_TITLE = 255
MAX_ANNOTATION_MESSAGE = 64_000
MAX_RAW_ANSWER = 2_000
MAX_TITLE = 200
MAX_CATEGORY = 40
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
    number: int | None = None  # the pull request's number (None for a branch pair): its Files view is linked
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
    refuted: list[tuple[Finding, str]] = field(default_factory=list)  # dropped by the verify round, with why
    unverified: int = 0  # findings posted unverified (the verify round did not finish)
    unverified_why: str = ""

    @property
    def findings(self) -> list[Finding]:
        return [c.finding for c in self.inline] + [f for f, _ in self.unplaced]


def _severity(f) -> str:
    return severity_of(f.severity)


def by_severity(items: Iterable, key: Callable = lambda x: x) -> list:
    """Most severe first, otherwise in the given order."""
    return sorted(items, key=lambda x: -severity_rank(_severity(key(x))))


# --- pieces ----------------------------------------------------------------------------------------------

def finding_heading(f, literal: bool = False) -> str:
    text = ms.code_span if literal else ms.inline
    title = ms.clip(f.title or "", MAX_TITLE)
    category = ms.clip(f.category or "other", MAX_CATEGORY)
    return f"{label(_severity(f))} · {text(category)} — {text(title)}"


def _model_text(text: str, literal: bool, limit: int | None = None) -> str:
    return ms.literal(text, limit) if literal else ms.block(text, limit)


def finding_unit(report: TargetReport, f, where: str, literal: bool = False) -> str:
    parts = [finding_heading(f, literal) + "  \n" + where]  # a hard break: the location on its own line
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
# A review body (and a check run's summary) reads: the heading with the count, the model's summary of the
# change, ONE line of counts by severity; then the sections (the findings on the diff, most severe first,
# each a link to its line; the findings off the diff in full; notes, unreadable answers, failed requests,
# files not reviewed); then the footer: what was reviewed, and one line per count of findings not shown
# here (`footnotes`: a new count is one more line there).

def head_units(report: TargetReport, literal: bool = False) -> list[str]:
    findings = report.findings
    units = [f"## batch-review: {counted(len(findings), 'finding')}"]
    if report.summary:  # the model's summary of the change leads the body
        units.append(_model_text(report.summary, literal, MAX_SUMMARY_TEXT))
    if findings:
        units.append(severity_counts(_severity(f) for f in findings))
    return units


def footer_units(report: TargetReport, dest: str = "review") -> list[str]:
    """A rule, what was reviewed and how (one line each, hard breaks between), then the footnotes as a list."""
    lines = _review_lines(report)
    units = ["---", "\n".join(f"{line}  " if i < len(lines) - 1 else line for i, line in enumerate(lines))]
    notes = footnotes(report, dest)
    if notes:
        units.append("\n".join(f"- {note}" for note in notes))
    return units


def _review_lines(report: TargetReport) -> list[str]:
    """What was reviewed, how, and what this review leaves to others (one line each)."""
    models = ", ".join(ms.code_span(m) for m in report.model.split("`, `"))
    reviewed = f"Reviewed commit {ms.code_span(report.head_sha[:12])}"
    if report.current_head and report.current_head != report.head_sha:
        reviewed += f" (the pull request has moved on to {ms.code_span(report.current_head[:12])} since)"
    lines = [f"{reviewed} · model {models} · {counted(report.files_reviewed, 'file')} · "
             f"{counted(report.requests, 'request')}"]
    if report.since:
        lines.append(f"Incremental review: only the changes since {ms.code_span(report.since[:12])}, reviewed "
                     "before, were sent to the model.")
    if report.attempt:
        lines.append(f"Results of a resubmission (attempt {report.attempt + 1}) of requests that expired.")
    return lines + verify_lines(report)


def footnotes(report: TargetReport, dest: str = "review") -> list[str]:
    """One line per count a reader should know: where the findings are, and the ones that are not here.
    dest: "review" (findings on the diff are inline comments) or "check" (they are annotations)."""
    notes = []
    inline = len([c for c in report.inline if dest != "check" or c.side != LEFT])  # removed lines: no annotation
    if inline:
        where = ("an annotation on a changed line" if inline == 1 else "annotations on the changed lines") \
            if dest == "check" else ("an inline comment" if inline == 1 else "inline comments")
        notes.append(f"{counted(inline, 'finding')} {_be(inline)} {where}.")
    if report.repeated:
        notes.append(f"{counted(report.repeated, 'finding')} already posted by an earlier review "
                     f"{_be(report.repeated)} not repeated.")
    if report.dismissed:
        notes.append(f"{counted(report.dismissed, 'finding')} not repeated: dismissed earlier.")
    if report.below_threshold:
        notes.append(f"{counted(report.below_threshold, 'finding')} below the configured minimum severity "
                     f"{_be(report.below_threshold)} not shown.")
    over_cap = [r for _, r in report.unplaced if r.startswith("over the limit of")]
    if over_cap:
        notes.append(f"{counted(len(over_cap), 'finding')} {ms.escape(over_cap[0])}: listed above instead.")
    if report.resubmitted:
        notes.append(f"{counted(report.resubmitted, 'request')} expired and "
                     f"{'was' if report.resubmitted == 1 else 'were'} submitted again; "
                     "their findings will follow in another review.")
    return notes


def _be(n: int) -> str:
    return "is" if n == 1 else "are"


def _brief(f, where: str) -> str:
    return f"- {label(_severity(f))} {where} — {ms.inline(ms.clip(f.title or '', MAX_TITLE))}"


def _dismissed_entry(f, login: str) -> str:
    """A critical or high finding its author dismissed: named, the login in a code span (GitHub makes no
    mention of it, so nobody is notified night after night)."""
    where = path_text(f.path) + (f" line {f.line}" if f.line else "")
    return (f"{label(_severity(f))} {where} — {ms.inline(ms.clip(f.title or '', MAX_TITLE))} · dismissed by "
            f"{ms.code_span('@' + ms.clip(login, 100))}")


def _finding_section(report: TargetReport, title: str, items: list, literal: bool) -> Section:
    """items: (finding, where it is, one-line location)."""
    return Section(title, Lazy(((f, where) for f, where, _ in items),
                               lambda f, where: finding_unit(report, f, where, literal)),
                   "finding", [_severity(f) for f, _, _ in items], Lazy(((f, s) for f, _, s in items), _brief))


def _diff_section(report: TargetReport, dest: str) -> Section:
    """The findings on the diff, most severe first, one line each, linked to their line."""
    comments = by_severity([c for c in report.inline if dest != "check" or c.side != LEFT],
                           key=lambda c: c.finding)
    title = "On the changed lines (annotations)" if dest == "check" else "On the diff (inline comments)"
    return Section(title, Lazy(((c.finding, diff_link(report, c.path, c.line, c.side)) for c in comments),
                               _brief), "finding", [_severity(c.finding) for c in comments], compact=True)


def sections(report: TargetReport, literal: bool = False, *, dest: str = "review") -> list[Section]:
    out = [_diff_section(report, dest)]
    if dest == "check":  # annotations point at lines of the head commit; removed lines are not there
        old = by_severity([c for c in report.inline if c.side == LEFT], key=lambda c: c.finding)
        out.append(_finding_section(report, "Findings on removed lines", [
            (c.finding, f"at {diff_link(report, c.path, c.line, c.side)}", f"{path_text(c.path)} old line {c.line}")
            for c in old], literal))
    unplaced = by_severity(report.unplaced, key=lambda x: x[0])
    out.append(_finding_section(report, "Not on a line of the diff", [
        (f, f"at {blob_link(report, f.path, f.line, f.side)} · {ms.escape(reason)}",
         path_text(f.path) + (f" line {f.line}" if f.line else "")) for f, reason in unplaced], literal))
    out.append(Section("Dismissed by the pull request's author", Lazy(
        report.dismissed_by_author, _dismissed_entry), "finding"))
    out.append(Section("What the answers left out or may miss", Lazy(
        report.notes, lambda path, note: f"{path_text(path)}: {ms.inline(note, MAX_FOREIGN)}"), "note"))
    out.append(Section("Answers that could not be read", Lazy(
        report.unparsable, lambda path, problem, raw:
        f"{path_text(path)}: {ms.inline(problem, MAX_FOREIGN)}\n\n{ms.literal(raw, MAX_RAW_ANSWER)}"), "answer"))
    out.append(Section("Requests that failed", Lazy(
        report.failed, lambda p, code, msg:
        f"{path_text(p)}: {ms.code_span(ms.clip(code, 80))} {ms.inline(msg, MAX_FOREIGN)}"), "failed request"))
    out.append(Section("Files not reviewed", Lazy(
        report.skipped_files,
        lambda path, reason: f"{path_text(path)}: {ms.inline(reason, MAX_FOREIGN)}"), "file"))
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
    return compose_checked(leading, lambda lit: _fitted(report, lit, budget, "review"), limit,
                           link_prefixes(report))


def _fitted(report: TargetReport, literal: bool, budget: int, dest: str) -> list[str]:
    """Head, the sections fitted into what the footer leaves, the footer."""
    footer = footer_units(report, dest)
    room = budget - sum(len(u) + 2 for u in footer)
    return fit(head_units(report, literal), sections(report, literal, dest=dest), room) + footer


def check_conclusion(findings: Iterable, fail_on: str | None) -> str:
    if fail_on and any(severity_rank(f.severity) >= severity_rank(fail_on) for f in findings):
        return "failure"
    return "neutral"


def annotation(c) -> dict:
    f = c.finding
    ann = {"path": c.path, "start_line": c.start_line or c.line, "end_line": c.line,
           "annotation_level": LEVEL_BY_SEVERITY.get(f.severity, "warning"),
           "title": ms.plain(f"{_severity(f)}: {ms.as_text(f.title or '')}", MAX_ANNOTATION_TITLE, one_line=True),
           "message": ms.plain(ms.as_text(f.body or "") or ms.as_text(f.title or ""), MAX_ANNOTATION_MESSAGE)
           or "(no text)"}
    if f.suggestion:
        ann["raw_details"] = ms.plain(f.suggestion, MAX_ANNOTATION_MESSAGE)
    return ann


def check_output(report: TargetReport) -> tuple[dict, list[dict]]:
    """(output without annotations, all annotations). Annotations go out 50 per request, all of them."""
    links = link_prefixes(report)
    summary = compose_checked([], lambda lit: head_units(report, lit) + footer_units(report, "check"),
                              MAX_CHECK_TEXT, links)
    n = len(report.findings)
    output = {"title": counted(n, "finding"), "summary": summary}
    if sections(report, dest="check"):
        output["text"] = compose_checked(
            [], lambda lit: fit([], sections(report, lit, dest="check"), MAX_CHECK_TEXT), MAX_CHECK_TEXT, links)
    annotations = [annotation(c) for c in report.inline if c.side != LEFT]
    return output, annotations


def summary_markdown(report: TargetReport, limit: int = MAX_SUMMARY) -> str:
    """Every finding of a target, one line each, most severe first, for the job summary; the pull request
    and each finding's line linked."""
    head = f"#### {_target_link(report)}: {counted(len(report.findings), 'finding')}"
    rows = []
    items = [(c.finding, c.path, c.line, c.side, True) for c in report.inline] + [
        (f, f.path, f.line, f.side, False) for f, _ in report.unplaced]
    items = by_severity(items, key=lambda x: x[0])
    for f, path, line, side, on_diff in items:
        where = (diff_link if on_diff else blob_link)(report, path, line, side)
        rows.append(f"- {label(_severity(f))} {where} — {ms.inline(ms.clip(f.title or '', MAX_TITLE))}")
    out, size = [head], len(head)
    for i, row in enumerate(rows):
        if size + len(row) + 1 > limit:
            out.append(f"- … {len(rows) - i} more ({counts_line(_severity(x[0]) for x in items[i:])}): "
                       "the job summary is limited to 1 MiB")
            break
        out.append(row)
        size += len(row) + 1
    out += [f"- {path_text(p)}: {ms.inline(n, MAX_FOREIGN)}" for p, n in report.notes]
    return "\n".join(out + dropped_summary(report))


def _target_link(report: TargetReport) -> str:
    """`#42` as a link to the pull request; a branch pair as inert text."""
    if report.number is None:
        return ms.escape(report.label)
    return f"[{ms.escape(report.label)}]({pull_prefix(report.server_url, report.repository, report.number)[:-1]})"


def threshold(findings: list, min_severity: str) -> tuple[list, int]:
    """(findings at or above min_severity, how many were below it)."""
    kept = [f for f in findings if severity_rank(f.severity) >= severity_rank(min_severity)]
    return kept, len(findings) - len(kept)
