"""What each command shows people: the printed tables and lines, the job summary, the step outputs.

The journeys return plain results (SubmitResult, PollResult, batch rows); this module (submit's, and the
tables' columns) and present_poll.py (poll, status and cancel) turn them into text, and nothing else does. Every line goes out through actions_log, so it is redacted and inert.
"""

from __future__ import annotations

import os

from ..findings.words import counted
from ..markdown.tables import md_escape, md_list, md_table, text_table
from ..planning.pricing import format_usd
from ..submit.journey import SubmitResult
from . import actions_env, actions_log
from .actions_log import echo

SUBMIT_HEADERS = ["target", "files", "skipped", "requests", "input tokens", "max output tokens",
                  "batch cost (max)", "standard cost (max)"]
MODEL_HEADERS = ["model", "requests", "input tokens", "max output tokens", "batch cost (max)"]
BATCH_HEADERS = ["targets", "batch", "status", "completed", "failed", "total", "age", "finished"]
COST_HEADERS = ["model", "requests", "input tokens", "cached", "output tokens", "batch cost", "standard cost"]
CANCEL_HEADERS = ["batch", "status", "completed", "failed", "total"]


COMPLETION_WINDOW = 24 * 3600  # both services' batches finish within 24 hours of creation, or expire


def _usd(cost, attr: str) -> str:
    return format_usd(getattr(cost, attr) if cost else None)


# --- submit --------------------------------------------------------------------------------------------

def _submit_rows(result: SubmitResult) -> list[list]:
    """One row per target (its cost computed when it was planned), then the total from the estimate."""
    rows = [[f"{plan.target.label} {plan.target.title}"[:60].strip(), plan.reviewed_files, len(plan.skipped),
             len(plan.specs), f"{plan.input_tokens:,}", f"{plan.output_tokens:,}", _usd(plan.cost, "batch_usd"),
             _usd(plan.cost, "standard_usd")] for plan in result.plans]
    estimate = result.estimate
    rows.append(["total", sum(p.reviewed_files for p in result.plans), sum(len(p.skipped) for p in result.plans),
                 result.requests, f"{estimate.get('input_tokens', 0):,}", f"{estimate.get('max_output_tokens', 0):,}",
                 format_usd(estimate.get("batch_usd")), format_usd(estimate.get("standard_usd"))])
    return rows


def _model_rows(result: SubmitResult) -> list[list]:
    return [[model, m["requests"], f"{m['input_tokens']:,}", f"{m['max_output_tokens']:,}", format_usd(m["batch_usd"])]
            for model, m in result.estimate.get("by_model", {}).items()]


def rules_lines(result: SubmitResult) -> list[str]:
    """The repository's rules each target's requests carry (file, its tokens, how many requests), and
    once per base commit the rules files it did not use and why, and what a cap cut."""
    lines, seen = [], set()
    for plan in result.plans:
        commit = plan.rules_commit[:12]
        if plan.rules:
            used = ", ".join(f"{path} ({tokens:,} tokens, {counted(n, 'request')})" for path, (tokens, n)
                             in plan.rules.items())
            lines.append(f"{plan.target.label}: repository rules from {commit}: {used}")
        for note in plan.rules_notes:
            if (commit, note) not in seen:
                seen.add((commit, note))
                lines.append(f"rules of {commit}: {note}")
    return lines


def _submit_notes(result: SubmitResult) -> list[str]:
    lines = [f"skipped {skip.what}: {skip.reason}" for skip in result.skipped_targets]
    lines += rules_lines(result)
    for plan in result.plans:
        if plan.target.since:
            lines.append(f"{plan.target.label}: incremental review of the changes since {plan.target.since[:12]}")
        if plan.full_review_reason:
            lines.append(f"{plan.target.label}: full review: {plan.full_review_reason}")
        lines += [f"  {plan.target.label} {item.path}: {item.reason}" for item in plan.skipped]
    verify = result.estimate.get("verify")
    if verify:  # the second batch poll sends, priced from the stated candidate mix (planning/verify.py)
        lines.append(f"verify round, expected ({verify['candidates_per_target']} candidates per target): "
                     f"{counted(verify['requests'], 'request')}, {verify['input_tokens']:,} input tokens, "
                     f"{format_usd(verify['batch_usd'])} at batch price (max), counted in the budget")
    return lines


def _submit_summary(result: SubmitResult, mode: str, rows: list[list], model_rows: list[list]) -> str:
    """The job summary: every string in it (titles, branch names, reasons) is written inert (markdown.tables)."""
    summary = [f"### batch-review submit ({mode})", "", f"{md_escape(result.repository)}, model "
               f"{md_escape(result.model)}", "", md_table(SUBMIT_HEADERS, rows), ""]
    if len(model_rows) > 1:
        summary += [md_table(MODEL_HEADERS, model_rows), ""]
    if result.skipped_targets:
        summary += ["Skipped:", "", *md_list(f"{s.what}: {s.reason}" for s in result.skipped_targets), ""]
    if rules := rules_lines(result):
        summary += ["Repository rules:", "", *md_list(rules), ""]
    if result.batch_ids:
        summary += ["Batches: " + ", ".join(md_escape(b) for b in result.batch_ids), ""]
    if result.waiting_batches:
        summary += [queue_line(result.waiting_targets, result.waiting_batches), ""]
    return "\n".join(summary) + "\n"


def queue_line(targets: int, parts: int) -> str:
    """What waits for the provider's queue (its enqueued-token or batch-request limit): sent by a later poll."""
    return (f"Waiting for the provider's queue: {counted(targets, 'target')} in {counted(parts, 'batch')}; a later poll sends "
            "them as earlier batches finish.")


def show_submit(result: SubmitResult) -> None:
    rows, model_rows = _submit_rows(result), _model_rows(result)
    mode = "dry run" if result.dry_run else "submitted"
    echo(f"batch-review submit ({mode}): {result.repository}, model {result.model}")
    echo(text_table(SUBMIT_HEADERS, rows))
    if len(model_rows) > 1:
        echo(text_table(MODEL_HEADERS, model_rows))
    for line in _submit_notes(result):
        echo(line)
    if result.budget_note:
        actions_log.warning(result.budget_note)
    if result.manifest_path:
        echo(f"manifest: {result.manifest_path}")
    for batch_id in result.batch_ids:
        echo(f"batch: {batch_id}")
    actions_env.append_summary(_submit_summary(result, mode, rows, model_rows), os.environ)
    batch_usd = result.estimate.get("batch_usd")
    actions_env.set_output("batch-ids", " ".join(result.batch_ids), os.environ)
    actions_env.set_output("requests-submitted", str(0 if result.dry_run else result.requests), os.environ)
    actions_env.set_output("estimated-cost", f"{batch_usd:.4f}" if batch_usd is not None else "", os.environ)


def risk(provenance) -> None:
    """The one warning of a run that read markers of github-actions[bot] with no signing key to prove them."""
    line = provenance.risk() if provenance is not None else None
    if line:
        actions_log.warning(line)
