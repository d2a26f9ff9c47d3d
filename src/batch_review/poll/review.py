"""What will be posted on one target, assembled from its manifest and its requests' results (pure).

`assemble` builds the target's report: requests in file order (so their summaries join in that order), a
finding on the diff only when it names a file its own request showed (any other file it names goes to
the body), findings under `min_severity` counted, not shown. Every finding's fingerprint is computed here
once (`Draft.fingerprints`); de-duplication against our earlier reviews (`Draft.without`), the version a
review posts (`Draft.posted`: inline capped, or everything in the body after GitHub refused an inline
comment), the inline comments' payloads and the SARIF locations all read them from there.

Only fingerprints from the leading block of submitted reviews our own identity wrote count as earlier:
a fingerprint anyone else writes would hide a finding (`earlier_fingerprints`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from ..core.diffs import line_hash
from ..core.markers import Identity, Marker, fingerprint, marker_of, read_fingerprints
from ..core.vocabulary import RIGHT, Finding, severity_rank
from ..findings.anchoring import (
    InlineComment,
    Placement,
    cap_inline,
    held_characters,
    normalize_path,
    place_findings,
    suggestion_block,
)
from ..findings.compose import TargetReport, inline_body, threshold
from ..findings.results import RequestResult
from ..ledger.manifest import Manifest, RequestRecord, ReviewedFile
from ..planning.packing import sort_key

REFUSED_INLINE = "GitHub did not accept it as an inline comment"
OTHER_FILE = "the answer names a file that request did not show"


def finding_fingerprint(files: Mapping[str, ReviewedFile], f: Finding, *, legacy: bool = False) -> str:
    """The finding's fingerprint: file (as the diff names it), side, the line's crc, category, normalised
    title; `legacy`: without the category, as releases before issue 20 wrote it."""
    path = normalize_path(f.path) if f.path not in files else f.path
    reviewed = files.get(path)
    hashes = (reviewed.crc if reviewed is not None else None) or ()
    crc = line_hash(hashes, f.line) if f.side == RIGHT else None
    return fingerprint(path, f.side, crc, f.title, None if legacy else f.category)


@dataclass(frozen=True)
class Draft:
    """One target's report as its results made it, with the fingerprint of each of its findings."""

    report: TargetReport
    fingerprints: Mapping[Finding, str]
    legacy: Mapping[Finding, str] = field(default_factory=dict)  # the same, as older releases wrote them

    def _earlier(self, f: Finding, earlier: frozenset[str]) -> bool:
        return self.fingerprints[f] in earlier or self.legacy.get(f) in earlier

    def without(self, earlier: Iterable[str], hidden: Mapping[str, str] | None = None) -> TargetReport:
        """The report without the findings an earlier review posted, nor those dismissed (`hidden`:
        fingerprint -> the author's login when the author dismissed it, else ""); the rest carry their
        fingerprints. A critical or high finding its author dismissed stays named in the body."""
        earlier, hidden = frozenset(earlier), hidden or {}
        fp = self.fingerprints
        report = self.report
        dismissed = [f for f in report.findings if fp[f] in hidden or self.legacy.get(f) in hidden]
        gone = {id(f) for f in dismissed}
        inline = [c for c in report.inline if id(c.finding) not in gone and not self._earlier(c.finding, earlier)]
        unplaced = [(f, why) for f, why in report.unplaced if id(f) not in gone and not self._earlier(f, earlier)]
        repeated = len(report.inline) + len(report.unplaced) - len(inline) - len(unplaced) - len(dismissed)
        kept = [fp[c.finding] for c in inline] + [fp[f] for f, _ in unplaced]
        shown = [(f, hidden.get(fp[f]) or hidden.get(self.legacy.get(f), "")) for f in dismissed
                 if severity_rank(f.severity) >= severity_rank("high")]
        return replace(report, inline=inline, unplaced=unplaced, repeated=repeated, fingerprints=kept,
                       dismissed=len(dismissed), dismissed_by_author=[(f, by) for f, by in shown if by])

    def posted(self, earlier: Iterable[str], *, inline_ok: bool, max_inline: int,
               hidden: Mapping[str, str] | None = None) -> TargetReport:
        """What a review posts: without what our earlier reviews said or people dismissed, at most
        `max_inline` inline comments; with `inline_ok` False (GitHub refused an inline comment) every finding
        in the body."""
        report = self.without(earlier, hidden)
        capped = cap_inline(Placement(report.inline, report.unplaced), max_inline)
        report = replace(report, inline=capped.inline, unplaced=capped.unplaced)
        if not inline_ok:
            report = replace(report, inline=[], unplaced=report.unplaced + [
                (c.finding, REFUSED_INLINE) for c in report.inline])
        return report

    def located(self) -> list[tuple[Finding, str, str]]:
        """(finding, path as the diff names it, fingerprint) of every finding, inline ones first."""
        fp = self.fingerprints
        return [(c.finding, c.path, fp[c.finding]) for c in self.report.inline] + [
            (f, f.path, fp[f]) for f, _ in self.report.unplaced]


def assemble(m: Manifest, key: str, results: Mapping[str, RequestResult], resubmitted: Iterable[str], *,
             min_severity: str, server_url: str) -> Draft:
    """What one target's requests found, and each finding's fingerprint (computed once, here)."""
    report = build_report(m, key, results, set(resubmitted), min_severity=min_severity, server_url=server_url)
    files = m.files.get(key, {})
    return Draft(report, {f: finding_fingerprint(files, f) for f in report.findings},
                 {f: finding_fingerprint(files, f, legacy=True) for f in report.findings})


def build_report(m: Manifest, key: str, results: Mapping[str, RequestResult], resubmitted: set[str], *,
                 min_severity: str, server_url: str) -> TargetReport:
    t = m.target(key)
    records = sorted((m.requests[cid] for cid in m.requests_for(key)),
                     key=lambda r: (sort_key(r.files[0].path), r.files[0].part))
    models = sorted({r.model for r in records}) or [m.model]
    report = TargetReport(key=key, label=t.label, repository=m.repository, head_sha=t.head_sha,
                          model="`, `".join(models), server_url=server_url, attempt=m.attempt, since=t.since,
                          number=t.number if t.kind == "pull" else None)
    report.skipped_files = [(s.path, s.reason) for s in m.skipped.get(key, ())]
    report.files_reviewed = len(m.files.get(key, {}))
    report.paths = frozenset(m.files.get(key, {}))  # only these become links
    own: list[Finding] = []  # findings on a file their request showed
    other: list[Finding] = []  # findings on any other file
    summaries: list[str] = []
    for rec in records:
        report.requests += 1
        if rec.custom_id in resubmitted:
            report.resubmitted += 1
            continue
        r = results.get(rec.custom_id) or RequestResult.failure(rec.custom_id, "missing",
                                                                "no result line for this request")
        _sort_findings(rec, r, own, other)
        _read_answer(report, _clip_label(", ".join(rec.paths)), r)
        if r.summary:
            summaries.append(r.summary)
    report.summary = "\n".join(summaries)
    own, below_own = threshold(own, min_severity)
    other, below_other = threshold(other, min_severity)
    report.below_threshold = below_own + below_other
    held = held_characters({path: f.invisible for path, f in m.files.get(key, {}).items() if f.invisible})
    placement = place_findings(own, m.commentable(key), invisible=held)
    report.inline = list(placement.inline)
    report.unplaced = list(placement.unplaced) + [(f, OTHER_FILE) for f in other]
    return report


def _sort_findings(rec: RequestRecord, r: RequestResult, own: list, other: list) -> None:
    """A finding on a file its request showed is `own`; a finding without a path, of a one-file request,
    is on that file. Salvaged findings of an answer with problems count too."""
    shown = set(rec.paths)
    for f in r.findings:
        f = f if f.path or len(shown) != 1 else replace(f, path=rec.paths[0])
        (own if f.path in shown or normalize_path(f.path) in shown else other).append(f)


def _read_answer(report: TargetReport, where: str, r: RequestResult) -> None:
    """What the answer lost or may miss, a refusal, an unreadable answer or a failed request."""
    report.notes.extend((where, note) for note in r.notes)  # caps and salvage: said on the pull request
    if r.truncated and r.status == "ok" and not any("max_output_tokens" in n for n in r.notes):
        report.notes.append((where, "the answer hit max_output_tokens; findings may be missing"))
    if r.refusal:
        report.unparsable.append((where, "the model refused", r.refusal))
    if r.status == "unparsable":
        report.unparsable.append((where, r.error_message or "not the JSON asked for", r.raw_text or ""))
    elif r.status in ("error", "missing"):
        report.failed.append((where, r.error_code or "error", r.error_message or ""))


def _clip_label(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def earlier_fingerprints(reviews, marker: Marker, identity: Identity) -> frozenset[str]:
    """Fingerprints of the findings our earlier reviews of this target posted (not this posting's own):
    from submitted reviews our identity wrote, out of their leading block only. A fingerprint anyone else
    writes would hide a finding."""
    fps: set[str] = set()
    for review in reviews:
        if getattr(review, "pending", False):
            continue
        ours = marker_of(review, identity)
        if ours and ours.target == marker.target and not ours.same_posting(marker):
            fps |= read_fingerprints(review.body)
    return frozenset(fps)


def comment_payload(c: InlineComment, fp: str | None = None) -> dict:
    """The review comment GitHub is sent for one inline finding, its first line naming the finding's
    fingerprint (`fp`), by which a dismissal of the comment names the finding (poll/dismissals.py)."""
    payload = {"path": c.path, "line": c.line, "side": c.side, "body": inline_body(c, suggestion_block(c), fp)}
    if c.start_line is not None and c.start_line != c.line:
        payload["start_line"] = c.start_line
        payload["start_side"] = c.start_side or c.side
    return payload
