"""What each command shows people: the printed tables and lines, the job summary, the step outputs.

The journeys return plain results (SubmitResult, PollResult, batch rows); this module turns them into
text, and nothing else does. Every line goes out through actions_log, so it is redacted and inert.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable

from ..findings.words import counted
from ..markdown.tables import md_escape, md_list, md_table, text_table
from ..planning.pricing import actual_cost, format_usd
from ..providers.base import BATCH_PENDING
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

PROGRESS_EVERY = 5.0  # seconds between progress lines; nothing shows for planning shorter than that


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


class PlanningProgress:
    """submit's planning in the log: silent for its first PROGRESS_EVERY seconds, then a line every
    PROGRESS_EVERY seconds (`planning: 3 of 40 targets done, now #12 (10 s)`), by the clock, not per
    target; a background thread keeps the lines coming while one large target is planned. At the end one
    summary line, `planned 40 targets in 12.3 s`. `update` is the journey's `progress` callback; lines go
    through `emit` (actions_log.echo: redacted, inert), inside whatever log group is open."""

    def __init__(self, *, every: float | None = None, clock: Callable[[], float] = time.monotonic,
                 emit: Callable[[str], None] = echo) -> None:
        self.every = PROGRESS_EVERY if every is None else every
        self.clock, self.emit = clock, emit
        self.started = self.shown = None  # when planning began; when the last line was shown
        self.state: tuple[int, int, str] | None = None  # (done, total, current) while planning
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._thread: threading.Thread | None = None

    def update(self, done: int, total: int, current: str) -> None:
        with self._lock:
            now = self.clock()
            if self.started is None:
                self.started = self.shown = now
            if current:
                self.state = (done, total, current)
            else:
                self.state = None
                if total:
                    self.emit(f"planned {_count(total, 'target')} in {now - self.started:.1f} s")
        self.tick()

    def tick(self) -> None:
        """A progress line if planning is under way and the last line (or the start) is PROGRESS_EVERY old."""
        with self._lock:
            now = self.clock()
            if self.state is None or now - self.shown < self.every:
                return
            self.shown = now
            done, total, current = self.state
            self.emit(f"planning: {done:,} of {total:,} targets done, now {current} "
                      f"({now - self.started:.0f} s)")

    def __enter__(self) -> PlanningProgress:
        self._thread = threading.Thread(target=self._run, name="batch-review-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(min(1.0, max(0.05, self.every))):
            self.tick()


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
            used = ", ".join(f"{path} ({tokens:,} tokens, {_count(n, 'request')})" for path, (tokens, n)
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
                     f"{verify['requests']} request(s), {verify['input_tokens']:,} input tokens, "
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
    return (f"Waiting for the provider's queue: {targets} target(s) in {parts} batch(es); a later poll sends "
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


# --- poll and status -----------------------------------------------------------------------------------

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


def risk(provenance) -> None:
    """The one warning of a run that read markers of github-actions[bot] with no signing key to prove them."""
    line = provenance.risk() if provenance is not None else None
    if line:
        actions_log.warning(line)


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
