"""The poll journey: store -> manifest -> batches -> results -> review -> publish -> retire.

Orchestration only; each stage has its module: the store lists the manifests (store.py), batches.py finds
their batches and reads the results, review.py assembles what will be posted, posting.py and publish.py
post it, resubmit.py sends expired requests out again, adoption.py finds batches whose manifest was never
stored. A manifest is posted when every one of its batches has reached a final state, and retired only
when every target was posted (or deliberately not: closed pull requests) and the manifest of its
resubmitted requests, if any, is stored (store before retire). Anything that fails leaves the manifest in
place; markers make the next run pick up exactly where this one stopped. Each manifest has its own fate.
"""

from __future__ import annotations

import datetime as dt
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import BatchAPIError, BatchReviewError, ConfigError, GitHubError, StateError, UsageError
from ..findings.compose import TargetReport
from ..findings.sarif import SarifTarget, write_sarif
from ..ledger import adoption
from ..ledger.store import Pending
from ..providers.base import BATCH_PENDING, BatchProvider, BatchState
from . import batches, posting, review
from .batches import BatchRow
from .resubmit import expired_requests, resubmit_expired
from .resume import keep_resumed, recover_recorded

RATE_RESERVE = 50  # stop posting when fewer GitHub requests than this are left: the next poll goes on


@dataclass
class PollResult:
    rows: list[BatchRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # reported; nothing to retry
    failures: list[str] = field(default_factory=list)  # a service failed: left pending, the run exits 1
    bugs: list[str] = field(default_factory=list)  # an unexpected exception, with its traceback: exits 1
    notes: list[str] = field(default_factory=list)
    reviews_posted: int = 0
    check_runs_posted: int = 0
    pending_batches: int = 0
    inline: int = 0  # findings shown as inline comments
    in_body: int = 0  # findings shown in the body
    usage: dict[str, dict] = field(default_factory=dict)  # model -> token totals
    reports: list[TargetReport] = field(default_factory=list)
    seen: adoption.Seen | None = None  # what the store listed
    derived: set[str] = field(default_factory=set)  # digests of the manifests this run resubmitted
    rate_limited: bool = False  # stopped posting to keep the token's rate budget: the rest waits


@dataclass
class PollContext:
    cfg: object
    store: object
    client: BatchProvider  # the batch service
    github: object | None  # github_api.GitHubAPI, None outside GitHub
    publisher: object | None
    state_root: Path
    dry_run: bool = False
    server_url: str = "https://github.com"
    log: Callable[[str], None] = print
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)


def run_poll(ctx: PollContext) -> PollResult:
    result = PollResult()
    with ctx.store.lock():
        _poll_stored(ctx, result)
        for pending in adoption.adoptable(ctx, result):  # batches of ours no stored manifest covers
            _poll_one(ctx, pending, result)
    return result


def _poll_stored(ctx: PollContext, result: PollResult) -> None:
    """Each manifest has its own fate: a transient service failure leaves it for the next run, a bad one is
    reported (log, summary, a check run on the commits it names) and skipped, a bug in our code is reported
    with its traceback; every other manifest proceeds either way."""
    listing = ctx.store.list()
    result.seen = adoption.seen_in(listing)
    result.problems.extend(listing.problems)
    result.failures.extend(listing.failures)
    result.notes.extend(listing.notes)
    result.bugs.extend(listing.bugs)
    for damaged in listing.damaged:
        _post_problem_checks(ctx, result, damaged.name, damaged.message, damaged.targets, damaged.digest)
    for pending in listing.pending:
        _poll_one(ctx, pending, result)


def _poll_one(ctx: PollContext, pending: Pending, result: PollResult) -> None:
    """One manifest, in isolation from the others."""
    try:
        _poll_manifest(ctx, pending, result)
    except (GitHubError, BatchAPIError) as exc:
        result.failures.append(f"{pending.name}: {exc}; left pending for the next run")
    except (ConfigError, UsageError, StateError):  # the run's own setup, not this manifest: stop here
        raise
    except BatchReviewError as exc:  # this manifest cannot be used as it is (bad input, over budget)
        message = str(exc) if str(exc).startswith(pending.name) else f"{pending.name}: {exc}"
        result.problems.append(message)
        m = pending.manifest
        targets = [(key, m.target(key).head_sha) for key in m.targets]
        _post_problem_checks(ctx, result, pending.name, message, targets, m.digest())
    except Exception:  # noqa: BLE001 - a bug: shown with its traceback, the others still proceed
        result.bugs.append(f"{pending.name}: unexpected error (a bug in batch-review, please report it):\n"
                           f"{traceback.format_exc().rstrip()}")


def _post_problem_checks(ctx: PollContext, result: PollResult, name: str, message: str,
                    targets: list[tuple[str, str]], digest: str) -> None:
    if ctx.github is None or ctx.publisher is None or ctx.dry_run:
        return
    created, notes = posting.post_problem_checks(ctx.publisher, ctx.cfg.output.check_name, name, message, targets, digest)
    result.check_runs_posted += created
    result.notes.extend(notes)


def _batch_states(ctx: PollContext, pending: Pending, result: PollResult) -> list[BatchState | None] | None:
    """The state of each batch (None: not created yet), or None when the batches are not this manifest's."""
    if any(not b.id for b in pending.manifest.batches):
        batches.recover_unrecorded(ctx.client, pending, result.notes)
        result.notes.extend(recover_recorded(pending, result.seen))
        missing = any(not b.id for b in pending.manifest.batches)
        if not ctx.dry_run:
            batches.resume_unrecorded(ctx.client, ctx.cfg, pending, result.notes, now=ctx.now(), log=ctx.log)
            if missing and all(b.id for b in pending.manifest.batches):  # this poll created them
                keep_resumed(ctx.client, pending, ctx.state_root)
    states, rows = batches.retrieve_states(ctx.client, pending, result.problems)
    result.rows.extend(rows)
    return states


def _poll_manifest(ctx: PollContext, pending: Pending, result: PollResult) -> None:
    m = pending.manifest
    if ctx.github is not None and m.repository != ctx.github.repository:
        result.problems.append(f"{pending.name}: manifest is for {m.repository}, not {ctx.github.repository}")
        return
    states = _batch_states(ctx, pending, result)
    if states is None:
        return
    waiting = [s for s in states if s is None or s.status in BATCH_PENDING]
    if waiting:  # None: a batch its submit run has not created yet (it may still be running)
        result.pending_batches += len(waiting)
        return
    records = m.requests
    results = batches.collect_results(ctx.client, records, states, result.problems, m.digest())
    batches.add_usage(result.usage, records, results)
    resubmitted, kept = _resubmit(ctx, pending, expired_requests(records, states, results, ctx.client.resubmittable), result)
    all_done = True
    for key in m.targets:
        failed_batch = any(states[records[cid].batch].status == "failed" for cid in m.requests_for(key))
        draft = review.assemble(m, key, results, resubmitted, min_severity=ctx.cfg.output.min_severity,
                                server_url=ctx.server_url)
        all_done = _post_target(ctx, m, key, draft, result, failed_batch=failed_batch) and all_done
    if all_done and not ctx.dry_run:
        _retire(ctx, pending, states, kept, result)


def _resubmit(ctx: PollContext, pending: Pending, expired: set[str], result: PollResult) -> tuple[set[str], bool]:
    """(the requests resubmitted, whether the manifest of the resubmitted requests survives this run
    whatever happens next: stored in the store or kept as a copy on the batch service)."""
    m = pending.manifest
    if not expired:
        return set(), True
    if m.attempt >= ctx.cfg.output.max_resubmits or ctx.dry_run:
        why = "(dry run: not resubmitted)" if ctx.dry_run else "after the last resubmission"
        result.notes.append(f"{pending.name}: {len(expired)} request(s) expired {why}")
        return set(), True
    if result.seen is not None and m.digest() in result.seen.parents:  # already resubmitted and stored
        return expired, True
    new, kept = resubmit_expired(ctx.client, pending, sorted(expired), ctx.state_root, log=ctx.log)
    result.derived.add(new.digest())
    return expired, kept


def _retire(ctx: PollContext, pending: Pending, states: list[BatchState], kept: bool, result: PollResult) -> None:
    """Every target posted: the manifest's copies on the batch service first (a retired manifest is never
    adopted again), then the stored manifest; not before the manifest of its resubmission survives."""
    if not kept:
        result.notes.append(f"{pending.name}: kept until the manifest of its resubmitted requests is stored")
        return
    adoption.forget_copies(ctx.client, states)
    if not isinstance(pending.handle, adoption.Adopted):
        ctx.store.retire(pending)


def _post_target(ctx: PollContext, m, key: str, draft: review.Draft, result: PollResult, *,
                 failed_batch: bool) -> bool:
    """Write down and post one target; whether nothing more is to be done for it from this manifest."""
    report = draft.report
    result.reports.append(report)
    if ctx.cfg.output.sarif_dir:
        _write_sarif(ctx, m, draft)
    if ctx.github is None or ctx.dry_run:
        result.inline += len(report.inline)
        result.in_body += len(report.unplaced)
        return ctx.github is None  # local: the report is printed; dry run: nothing retired
    if rate_budget_low(ctx, result):
        return False
    posted = posting.post_target(ctx.github, ctx.publisher, ctx.cfg.output, m, key, draft, failed_batch=failed_batch)
    result.notes.extend(posted.notes)
    result.reviews_posted += posted.reviews
    result.check_runs_posted += posted.check_runs
    if posted.shown is not None:
        result.inline += len(posted.shown.inline)
        result.in_body += len(posted.shown.unplaced)
    return posted.done


def _write_sarif(ctx: PollContext, m, draft: review.Draft) -> Path:
    report = draft.report
    target = SarifTarget(key=report.key, label=report.label, model=report.model,
                         repository_uri=f"{report.server_url}/{report.repository}", head_sha=report.head_sha,
                         tool_version=m.tool.removeprefix("batch-review ") or "0")
    return write_sarif(Path(ctx.cfg.output.sarif_dir), target, draft.located(), m.commentable(report.key))


def rate_budget_low(ctx: PollContext, result: PollResult) -> bool:
    """True once the token has fewer than RATE_RESERVE requests left: posting stops cleanly, what is
    posted stays posted (markers), and every manifest not finished is kept for the next poll."""
    if result.rate_limited:
        return True
    remaining = ctx.github.rate_remaining() if hasattr(ctx.github, "rate_remaining") else None
    if remaining is None or remaining >= RATE_RESERVE:
        return False
    result.rate_limited = True
    result.notes.append(f"the GitHub token has {remaining} requests left this hour (keeping {RATE_RESERVE} in "
                        "reserve): stopped posting; the rest is posted by the next poll")
    return True

