"""The eval's report: report.md (and recall.png) in the eval's folder, from the record and its scores.

What it holds: recall, findings per case and the proxy precision at each severity threshold; the cost
(the estimate at the batch price, an upper bound, and the actual cost from the batch's usage); one row
per case (its commit, its subject, its bug lines, the fixes, whether and at what severity it was caught,
the closest finding); what was not scored and why; the miner's notes. With another eval, both side by
side on the cases they share.

Commit subjects, paths, notes and finding titles are author or model text: every one goes through
markdown.tables (redacted, escaped, one line), so the report renders as the same characters and nothing
else: no mention, link, image or HTML.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from ..core.vocabulary import counted
from ..markdown.tables import md_escape, md_list, md_table
from . import adapter
from .plot import FILENAME as PLOT
from .plot import recall_plot
from .record import EvalRecord
from .scoring import Scores, score_record

FILENAME = "report.md"
DOCS = "docs/eval.md"
MAX_LINES_SHOWN = 8  # bug lines listed per file in the cases table


def ratio(value: Fraction | None, numerator: int | None = None, denominator: int | None = None) -> str:
    if value is None:
        return "n/a"
    shown = f"{float(value):.2f}"
    return f"{shown} ({numerator} of {denominator})" if numerator is not None else shown


def write(folder: Path, record: EvalRecord, scores: Scores, other: EvalRecord | None = None) -> Path:
    """report.md and the plot in `folder`; the report's path."""
    folder = Path(folder)
    series = [(record.name, [r.recall for r in scores.rows])]
    compared = None
    if other is not None:
        common = {c.sha for c in record.cases} & {c.sha for c in other.cases}
        compared = (score_record(record, scores.near, common), score_record(other, scores.near, common))
        series = [(record.name, [r.recall for r in compared[0].rows]),
                  (other.name, [r.recall for r in compared[1].rows])]
    skipped = recall_plot(folder / PLOT, series)
    if skipped is not None:
        (folder / PLOT).unlink(missing_ok=True)
    path = folder / FILENAME
    path.write_text(markdown(record, scores, other, compared, skipped), encoding="utf-8")
    return path


def markdown(record: EvalRecord, scores: Scores, other: EvalRecord | None = None,
             compared: tuple[Scores, Scores] | None = None, plot_skipped: str | None = None) -> str:
    out = [f"# batch-review eval: {md_escape(record.name)}", "", _scope(record, scores), ""]
    out += ["## Recall by severity", "", md_table(
        ["severity at least", "recall", "findings per case", "proxy precision"],
        [[r.threshold, ratio(r.recall, r.caught, r.cases), ratio(r.per_case), ratio(r.precision, r.on_bug_lines,
                                                                                      r.findings)]
         for r in scores.rows]), ""]
    out += [f"The plot was skipped: {plot_skipped}." if plot_skipped else
            f"![Recall against the severity threshold]({PLOT})", ""]
    out += ["## Cost", "", md_table(["", "at the batch price"], _cost_rows(record)), ""]
    if other is not None and compared is not None:
        out += _comparison(record, other, compared)
    out += ["## Cases", "", md_table(["commit", "change", "bug lines", "fixed by", "caught at", "findings",
                                      "closest", "catching finding"], _case_rows(record, scores)), ""]
    unanswered = set(scores.unanswered)
    if unanswered:
        out += ["## Not scored", "", *md_list(_unanswered(record, unanswered)), ""]
    notes = record.notes + (record.results or {}).get("problems", [])
    if notes:
        out += ["## Notes", "", *md_list(notes), ""]
    out += [f"How to read this report, and what the proxy measures and misses: {DOCS} in batch-review's "
            "repository.", ""]
    return "\n".join(out)


def _scope(record: EvalRecord, scores: Scores) -> str:
    s = record.settings
    since = f" since {s.get('since')}" if s.get("since") else ""
    limit = f", the {s.get('limit')} newest introducing commits at most" if s.get("limit") else ""
    answered = sum(1 for c in scores.cases if c.answered)
    return md_escape(
        f"{record.repository}: commits whose message says {', '.join(s.get('words', []))}{since} in the history "
        f"of {record.head[:12]}{limit}; {counted(len(record.cases), 'case')}, {answered} answered, reviewed by "
        f"{s.get('model')} as submit reviews a change. A finding catches a case when it lies within "
        f"{counted(scores.near, 'line')} of a line a later fix changed.")


def _cost_rows(record: EvalRecord) -> list[list[str]]:
    estimate = record.estimate.get("batch_usd")
    rows = [["estimated (upper bound: every request at its output cap)", adapter.format_usd(estimate)]]
    usage = (record.results or {}).get("usage")
    if usage:
        costs = [t.get("batch_usd") for t in usage.values()]
        total = None if any(c is None for c in costs) else sum(costs)
        tokens = (f"{sum(t.get('input_tokens', 0) for t in usage.values()):,} input, "
                  f"{sum(t.get('output_tokens', 0) for t in usage.values()):,} output tokens")
        rows.append([f"actual (the batch's usage: {tokens})", adapter.format_usd(total)])
    return rows


def _lines(bug_lines: dict[str, list[int]]) -> str:
    parts = []
    for path, lines in bug_lines.items():
        shown = ", ".join(map(str, lines[:MAX_LINES_SHOWN])) + (", …" if len(lines) > MAX_LINES_SHOWN else "")
        parts.append(f"{path}: {shown}")
    return "; ".join(parts)


def _case_rows(record: EvalRecord, scores: Scores) -> list[list[str]]:
    by_sha = {c.sha: c for c in scores.cases}
    rows = []
    for case in record.cases:
        score = by_sha.get(case.sha)
        if score is None:
            continue
        catch = score.catch
        rows.append([case.sha[:12], case.subject[:120], _lines(case.bug_lines),
                     ", ".join(f[:12] for f in case.fixes),
                     (score.caught_at or "no") if score.answered else "not answered",
                     str(len(score.findings)) if score.answered else "",
                     "" if score.closest is None else str(score.closest),
                     catch.title[:120] if catch else ""])
    return rows


def _unanswered(record: EvalRecord, shas: set[str]) -> list[str]:
    results = (record.results or {}).get("requests", {})
    out = []
    for case in record.cases:
        if case.sha not in shas:
            continue
        why = sorted({f"{r.get('status')}: {r.get('error') or 'no answer'}" for cid, req in record.requests.items()
                      if req["case"] == case.sha for r in [results.get(cid) or {}]
                      if r.get("status") not in ("ok", "unparsable")})
        out.append(f"commit {case.sha[:12]}: {'; '.join(why) or 'no request'} (the model was not asked; not "
                   "counted)")
    return out


def _comparison(record: EvalRecord, other: EvalRecord, compared: tuple[Scores, Scores]) -> list[str]:
    a, b = compared
    shared = sum(1 for c in a.cases if c.answered)
    header = [f"## {md_escape(record.name)} and {md_escape(other.name)} side by side", "",
              md_escape(f"On the {counted(len(a.cases), 'case')} both evals hold ({shared} answered by {record.name}, "
                        f"{sum(1 for c in b.cases if c.answered)} by {other.name}), within {counted(a.near, 'line')}; "
                        f"{record.name}: {record.settings.get('model')}, {other.name}: {other.settings.get('model')}."),
              ""]
    rows = [[ra.threshold, ratio(ra.recall, ra.caught, ra.cases), ratio(rb.recall, rb.caught, rb.cases),
             ratio(ra.per_case), ratio(rb.per_case), ratio(ra.precision), ratio(rb.precision)]
            for ra, rb in zip(a.rows, b.rows, strict=True)]
    table = md_table(["severity at least", f"recall {record.name}", f"recall {other.name}",
                      f"per case {record.name}", f"per case {other.name}", f"precision {record.name}",
                      f"precision {other.name}"], rows)
    theirs = {c.sha: c for c in b.cases}
    per_case = [[c.sha[:12], _caught(c), _caught(theirs[c.sha])] for c in a.cases if c.sha in theirs]
    return header + [table, "", md_table(["commit", f"caught at ({record.name})", f"caught at ({other.name})"],
                                         per_case), ""]


def _caught(score) -> str:
    return (score.caught_at or "no") if score.answered else "not answered"

