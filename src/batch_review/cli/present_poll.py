"""What poll, status and cancel show people: the batch table, the posting counts, the cost, the stop line,
the job summary and the step outputs (present.py shows submit's). Every line goes out through actions_log,
so it is redacted and inert.
"""

from __future__ import annotations

import datetime as dt
import os
import time

from ..findings.words import counted
from ..markdown.tables import md_escape, md_list, md_table, text_table
from ..planning.pricing import actual_cost
from ..providers.base import BATCH_PENDING
from . import actions_env, actions_log
from .actions_log import echo
from .present import BATCH_HEADERS, CANCEL_HEADERS, COMPLETION_WINDOW, COST_HEADERS, _usd, queue_line


def _age(created_at: int | None, now: float) -> str:
    if not created_at:
        return "?"
    minutes = int((now - created_at) // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


def _when(ts: int | None) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else "?"


def _targets(text: str, limit: int = 60) -> str:
    """A batch's targets as one cell: a night of hundreds is its first few and the count."""
    names = text.split(", ")
    if len(text) <= limit:
        return text
    shown = []
    while names[len(shown):] and len(", ".join(shown + [names[len(shown)]])) <= limit - 20:
        shown.append(names[len(shown)])
    if not shown:
        return text[:limit - 1] + "…"
    return f"{', '.join(shown)} … ({len(names)} targets)"


def _finished(row) -> str:
    """When the batch finished; while it runs, the latest it can (its 24-hour window's end); "-" before
    it is created."""
    if row.ended_at:
        return _when(row.ended_at)
    if row.status in BATCH_PENDING:
        deadline = row.expires_at or (row.created_at + COMPLETION_WINDOW if row.created_at else None)
        return f"by {_when(deadline)}"
    return "-" if row.batch_id == "-" else "?"


def batch_table(rows) -> list[list]:
    now = time.time()
    return [[_targets(r.targets), r.batch_id, r.status, r.completed, r.failed, r.total, _age(r.created_at, now),
             _finished(r)] for r in rows]


def cost_rows(cfg, usage: dict[str, dict]) -> list[list[str]]:
    """One row per model: requests, tokens, and what they cost at batch and at standard prices."""
    rows = []
    for model, t in sorted(usage.items()):
        cost = actual_cost(model, t, cfg.prices)
        rows.append([model, t["requests"], f"{t['input_tokens']:,}", f"{t['cached_input_tokens']:,}",
                     f"{t['output_tokens']:,}", _usd(cost, "batch_usd") if cost else "unknown price",
                     _usd(cost, "standard_usd") if cost else "unknown price"])
    return rows


def _poll_lines(result, rows: list[list], usage_rows: list[list], *, show_bodies: bool) -> None:
    """The log: batches, the bodies (local or dry run), notes, problems as warnings, the counts, the cost."""
    from ..findings.compose import review_bodies

    echo(text_table(BATCH_HEADERS, rows) if rows else "no pending batches")
    for report in result.reports if show_bodies else []:
        echo()
        echo("\n".join(review_bodies(report, "0" * 16)))
    for note in result.notes:
        echo(note)
    if result.stop is not None:
        actions_log.notice(stop_line(result))
    for problem in result.problems:
        actions_log.warning(problem)
    echo(f"posted: {counted(result.reviews_posted, 'review')}, {counted(result.check_runs_posted, 'check run')}; "
         "findings inline "
         f"{result.inline}, in the body {result.in_body}; pending batches {result.pending_batches}; "
         f"reviews left for the next poll {result.pending_reviews}")
    if result.queue_waiting_batches:
        actions_log.notice(queue_line(result.queue_waiting_targets, result.queue_waiting_batches))
    if usage_rows:
        echo(text_table(COST_HEADERS, usage_rows))


def _poll_summary(result, rows: list[list], usage_rows: list[list]) -> str:
    """The job summary: batches, counts, cost, every problem, and every finding whatever was posted."""
    from ..findings.compose import summary_markdown

    summary = ["### batch-review poll", ""]
    if rows:
        summary += [md_table(BATCH_HEADERS, rows), ""]
    summary.append(f"Posted {counted(result.reviews_posted, 'review')} and "
                   f"{counted(result.check_runs_posted, 'check run')}; {counted(result.pending_batches, 'batch')} "
                   f"still pending; {counted(result.pending_reviews, 'finished review')} left for the next poll.")
    if result.stop is not None:
        summary += ["", f"**Stopped early:** {md_escape(stop_line(result))}"]
    if result.queue_waiting_batches:
        summary += ["", queue_line(result.queue_waiting_targets, result.queue_waiting_batches)]
    if usage_rows:
        summary += ["", md_table(COST_HEADERS, usage_rows)]
    summary += md_list(result.failures + result.problems)
    summary += md_list(f"{b.splitlines()[0]} (traceback in the log)" for b in result.bugs)
    summary += ["", *(summary_markdown(r) for r in result.reports)]
    return "\n".join(summary) + "\n"


def stop_line(result) -> str:
    """What a poll that stopped early says: posted, left, why, and when the next poll can go on."""
    from ..poll.posting import when

    return (f"posted {result.posted_targets} of {counted(result.ready_targets, 'finished target')}; "
            f"{result.pending_reviews} "
            f"left for the next poll, which can continue {when(result.stop.resume_at)} ({result.stop.why})")


def show_poll(result, cfg, *, show_bodies: bool) -> None:
    """The batches, what was (or would be) posted, the cost; failures last, as errors."""
    rows, usage_rows = batch_table(result.rows), cost_rows(cfg, result.usage)
    _poll_lines(result, rows, usage_rows, show_bodies=show_bodies)
    actions_env.append_summary(_poll_summary(result, rows, usage_rows), os.environ)
    costs = [actual_cost(m, t, cfg.prices) for m, t in result.usage.items()]
    total = sum(c.batch_usd for c in costs if c is not None)
    actions_env.set_output("pending-batches", str(result.pending_batches), os.environ)
    actions_env.set_output("reviews-posted", str(result.reviews_posted), os.environ)
    actions_env.set_output("pending-reviews", str(result.pending_reviews), os.environ)
    actions_env.set_output("actual-cost", f"{total:.4f}", os.environ)
    for failure in result.failures + result.bugs:
        actions_log.error(failure)


def show_status(rows, problems: list[str]) -> None:
    for problem in problems:
        actions_log.warning(problem)
    table = batch_table(rows)
    echo(text_table(BATCH_HEADERS, table) if table else "no pending batches")
    waiting = [r for r in rows if r.waiting]
    queue = queue_line(len(frozenset().union(*(r.waiting for r in waiting))), len(waiting)) if waiting else ""
    if queue:
        echo(queue)
    actions_env.set_output("pending-batches", str(sum(r.status in BATCH_PENDING for r in rows)), os.environ)
    actions_env.append_summary("### batch-review status\n\n" + (md_table(BATCH_HEADERS, table) if table else
                                                                  "no pending batches") + "\n"
                               + (f"\n{queue}\n" if queue else ""), os.environ)


def show_cancel(rows: list[list]) -> None:
    echo(text_table(CANCEL_HEADERS, rows) if rows else "nothing to cancel")
    echo("completed requests are billed; poll posts them once the cancellation finishes")
