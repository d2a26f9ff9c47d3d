"""One target's report, assembled from its manifest and its requests' results (pure).

Requests are taken in file order, so their summaries join in that order. A finding counts as on the
diff only when it names a file its own request showed; any other file it names goes to the body.
"""

from __future__ import annotations

from dataclasses import replace

from .anchoring import normalize_path, place_findings
from .compose import TargetReport, threshold
from .manifest import Manifest
from .packing import sort_key
from .results import RequestResult


def build_report(ctx, m: Manifest, key: str, results: dict[str, RequestResult],
                 resubmitted: set[str]) -> TargetReport:
    """What one target's requests found (ctx: the poll context: cfg.output.min_severity, server_url).
    Requests are taken in file order (the order of their summaries).
    A finding counts as on the diff only when it names a file its own request showed."""
    t = m.targets[key]
    label = f"#{t['number']}" if t["kind"] == "pull" else f"{t['base_ref']}...{t['head_ref']}"
    records = sorted((m.request(cid) for cid in m.requests_for(key)),
                     key=lambda r: (sort_key(r.files[0].path), r.files[0].part))
    models = sorted({r.model for r in records}) or [m.model]
    report = TargetReport(key=key, label=label, repository=m.repository, head_sha=t["head_sha"],
                          model="`, `".join(models), server_url=ctx.server_url, attempt=m.attempt,
                          since=t.get("since", ""))
    report.skipped_files = list(m.skipped.get(key, []))
    report.files_reviewed = len(m.files.get(key, {}))
    own, other, summaries = [], [], []  # findings on a file their request showed, and on any other file
    for rec in records:
        shown = set(rec.paths)
        where = _clip_label(", ".join(rec.paths))
        report.requests += 1
        r = results.get(rec.custom_id) or RequestResult.failure(rec.custom_id, "missing", "no result line for this request")
        if rec.custom_id in resubmitted:
            report.resubmitted += 1
            continue
        for f in r.findings:  # salvaged findings of an answer with problems count too
            f = f if f.path or len(shown) != 1 else replace(f, path=rec.paths[0])
            (own if f.path in shown or normalize_path(f.path) in shown else other).append(f)
        report.notes.extend((where, note) for note in r.notes)  # caps and salvage: said on the pull request
        if r.truncated and r.status == "ok" and not any("max_output_tokens" in n for n in r.notes):
            report.notes.append((where, "the answer hit max_output_tokens; findings may be missing"))
        if r.summary:
            summaries.append(r.summary)
        if r.refusal:
            report.unparsable.append((where, "the model refused", r.refusal))
        if r.status == "unparsable":
            report.unparsable.append((where, r.error_message or "not the JSON asked for", r.raw_text or ""))
        elif r.status in ("error", "missing"):
            report.failed.append((where, r.error_code or "error", r.error_message or ""))
    report.summary = "\n".join(summaries)
    own, below_own = threshold(own, ctx.cfg.output.min_severity)
    other, below_other = threshold(other, ctx.cfg.output.min_severity)
    report.below_threshold = below_own + below_other
    placement = place_findings(own, m.commentable(key))
    report.inline = list(placement.inline)
    report.unplaced = list(placement.unplaced) + [
        (f, "the answer names a file that request did not show") for f in other]
    return report


def _clip_label(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
