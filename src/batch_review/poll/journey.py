"""The poll journey: store -> manifest -> batches -> results -> review -> publish -> retire.

Orchestration only; each stage has its module: the store lists the manifests (store.py), batches.py finds
their batches and reads the results, review.py assembles what will be posted, posting.py (with claims.py
and publish.py) posts it, resubmit.py sends expired requests out again, adoption.py finds batches whose
manifest was never stored. Every manifest whose batches have all reached a final state is prepared first
(results, resubmissions, one draft per target); then all their targets are posted together, in one order
(longest waiting, most severe first) and within GitHub's write limits; then each manifest whose targets
are all posted (or deliberately not: closed pull requests) is retired, once the manifest of its
resubmitted requests, if any, is stored (store before retire). Anything that fails leaves the manifest in
place; markers make the next run pick up exactly where this one stopped. Each manifest has its own fate.
When the write budget is spent the run stops posting cleanly (exit 0) and says how many targets are left
and when the next poll can go on.
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
from ..github.pacing import WriteBudgetSpent
from ..ledger import adoption, memory
from ..ledger.store import Pending
from ..providers.base import BATCH_PENDING, BatchProvider, BatchState
from . import batches, posting, review
from .batches import BatchRow
from .dismissals import Reading
from .posting import Stop, Work
from .resubmit import expired_requests, resubmit_expired
from .resume import keep_resumed, recover_recorded


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
    stop: Stop | None = None  # posting stopped early (GitHub's limits): the rest waits for the next poll
    ready_targets: int = 0  # targets of finished manifests this run had to post
    posted_targets: int = 0  # of them, posted by this run (a review or check run written)
    pending_reviews: int = 0  # of them, not posted yet: left for the next poll (the stop, or a failure)


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
    provenance: object | None = None  # core.provenance.Provenance: what we believe, and the signing key

    def __post_init__(self) -> None:
        if self.provenance is None:
            self.provenance = getattr(self.publisher, "provenance", None)


@dataclass
class Ready:
    """A manifest whose batches are done: its targets to post, then its retirement."""

    pending: Pending
    states: list
    kept: bool  # the manifest of its resubmitted requests survives this run
    works: list[Work]


def run_poll(ctx: PollContext) -> PollResult:
    result = PollResult()
    ready: list[Ready] = []
    with ctx.store.lock():
        _poll_stored(ctx, result, ready)
        for pending in adoption.adoptable(ctx, result):  # batches of ours no stored manifest covers
            _poll_one(ctx, pending, result, ready)
        _publish(ctx, ready, result)
        for r in ready:
            if all(w.done for w in r.works) and not ctx.dry_run:
                _isolated(ctx, r.pending, result, lambda r=r: _retire(ctx, r.pending, r.states, r.kept, result))
    return result


def _poll_stored(ctx: PollContext, result: PollResult, ready: list[Ready]) -> None:
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
        _poll_one(ctx, pending, result, ready)


def _poll_one(ctx: PollContext, pending: Pending, result: PollResult, ready: list[Ready]) -> None:
    """One manifest, in isolation from the others: ready to post, waiting, or reported."""
    _isolated(ctx, pending, result, lambda: _poll_manifest(ctx, pending, result, ready))


def _isolated(ctx: PollContext, pending: Pending, result: PollResult, step: Callable[[], None]) -> None:
    """A step of one manifest; what fails is that manifest's fate, not the others'."""
    try:
        step()
    except WriteBudgetSpent as exc:
        result.stop = result.stop or Stop(str(exc), exc.resume_at)
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
    if ctx.github is None or ctx.publisher is None or ctx.dry_run or result.stop is not None:
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


def _poll_manifest(ctx: PollContext, pending: Pending, result: PollResult, ready: list[Ready]) -> None:
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
    works = []
    for key in m.targets:
        failed_batch = any(states[records[cid].batch].status == "failed" for cid in m.requests_for(key))
        draft = review.assemble(m, key, results, resubmitted, min_severity=ctx.cfg.output.min_severity,
                                server_url=ctx.server_url)
        works.append(Work(m, pending.name, key, draft, failed_batch=failed_batch))
    ready.append(Ready(pending, states, kept, works))


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


def _publish(ctx: PollContext, ready: list[Ready], result: PollResult) -> None:
    """Every ready target written down (report, SARIF) and posted, in order, within the run's budgets."""
    works = [w for r in ready for w in r.works]
    for w in works:
        result.reports.append(w.draft.report)
        if ctx.cfg.output.sarif_dir:
            _write_sarif(ctx, w.manifest, w.draft)
    result.ready_targets = len(works)
    if ctx.github is None or ctx.dry_run:
        for w in works:  # local: the report is printed, and done; dry run: nothing posted, nothing retired
            result.inline += len(w.draft.report.inline)
            result.in_body += len(w.draft.report.unplaced)
            w.done = ctx.github is None and not ctx.dry_run
        return
    reading = _reading(ctx, result) if works else Reading(enabled=False)
    if result.stop is None:
        result.stop = posting.post_all(ctx.github, ctx.publisher, ctx.cfg.output, works, reading)
    _remember(ctx, reading, result)
    for w in works:
        result.notes.extend(w.notes)
        if w.failure:
            result.failures.append(w.failure)
        result.reviews_posted += w.reviews
        result.check_runs_posted += w.check_runs
        result.posted_targets += bool(w.reviews or w.check_runs)
        result.pending_reviews += not w.done
        if w.done and w.shown is not None:
            result.inline += len(w.shown.inline)
            result.in_body += len(w.shown.unplaced)


def _reading(ctx: PollContext, result: PollResult) -> Reading:
    """The run's dismissals, starting from the repository's memory when there is one to read."""
    cfg, key = ctx.cfg.dismissals, getattr(ctx.provenance, "key", None)
    reading = Reading(enabled=cfg.enabled)
    if cfg.enabled and cfg.memory and key is not None:
        reading.loaded = memory.load(ctx.github, ctx.cfg.artifacts.prefix, ctx.cfg.artifacts.workflows, key,
                                     result.notes)
        reading.remembered = reading.loaded.fingerprints
    return reading


def _remember(ctx: PollContext, reading: Reading, result: PollResult) -> None:
    """The team's new dismissals added to the memory, written for the workflow to upload (when it changed)."""
    key = getattr(ctx.provenance, "key", None)
    cfg = ctx.cfg.dismissals
    if reading.loaded is None or key is None:
        return
    today = ctx.now().date()
    new = [memory.Entry(d.fingerprint, d.path, d.category, d.title, today.isoformat()) for d in reading.found]
    merged = reading.loaded.merged(new, today=today, max_entries=cfg.max_entries, max_age_days=cfg.max_age_days)
    if merged != reading.loaded:
        path = memory.write(cfg.memory_dir, merged, ctx.github.repository, key)
        result.notes.append(f"the memory of dismissed findings now holds {len(merged.entries)}: {path}")


def _write_sarif(ctx: PollContext, m, draft: review.Draft) -> Path:
    report = draft.report
    target = SarifTarget(key=report.key, label=report.label, model=report.model,
                         repository_uri=f"{report.server_url}/{report.repository}", head_sha=report.head_sha,
                         tool_version=m.tool.removeprefix("batch-review ") or "0")
    return write_sarif(Path(ctx.cfg.output.sarif_dir), target, draft.located(), m.commentable(report.key))
