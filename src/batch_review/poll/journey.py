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
The provider's queue (ledger/queue.py): a batch it refused is a part not created, never a failed review;
once every manifest is read, the parts not created yet go out, oldest manifest first, as far as the queue
has room beside our batches in progress (`budget.max_enqueued_tokens`); the rest wait for a later poll,
and the run says how many targets wait for the provider's queue.
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
from ..core.vocabulary import counted
from ..findings.compose import TargetReport
from ..findings.sarif import SarifTarget, write_sarif
from ..github.pacing import WriteBudgetSpent
from ..ledger import adoption, memory
from ..ledger.queue import Queue, waiting_targets
from ..ledger.store import Pending
from ..providers.base import BATCH_PENDING, BatchProvider, BatchState
from . import batches, posting, review, verified, verify
from .batches import BatchRow
from .dismissals import Reading
from .posting import Stop, Work
from .resubmit import expired_requests, resubmit_expired
from .resume import keep_resumed, recover_recorded, resume_batches


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
    queue: Queue = field(default_factory=Queue)  # the provider's queue: our batches in it, the limit
    unsent: list[Pending] = field(default_factory=list)  # manifests with parts to create at the end
    refused: dict[str, dict[int, BatchState]] = field(default_factory=dict)  # manifest -> part -> refused batch
    queue_waiting_batches: int = 0  # parts left for a later poll: no room in the provider's queue
    queue_waiting_targets: int = 0  # the targets with a request in one of them


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
    git: object | None = None  # git.repo.GitRepo: the checkout the verify round reads code from
    fetch_token: str | None = None  # for fetching pull request heads the checkout lacks

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
    partial: bool = False  # some of its batches still run (the provider's queue): post, never retire


def run_poll(ctx: PollContext) -> PollResult:
    result = PollResult(queue=Queue(ctx.cfg.budget.max_enqueued_tokens))
    ready: list[Ready] = []
    with ctx.store.lock():
        _poll_stored(ctx, result, ready)
        for pending in adoption.adoptable(ctx, result):  # batches of ours no stored manifest covers
            _poll_one(ctx, pending, result, ready)
        for pending in result.unsent:  # oldest first, as the provider's queue has room
            _isolated(ctx, pending, result, lambda p=pending: _send_unsent(ctx, p, result))
        _publish(ctx, ready, result)
        for r in ready:
            if all(w.done for w in r.works) and not ctx.dry_run and not r.partial:
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
    """The state of each batch (None: not created yet, or refused by the provider's queue), or None when
    the batches are not this manifest's. The ones in the queue count against it."""
    states, rows = batches.retrieve_states(ctx.client, pending, result.problems)
    result.rows.extend(rows)
    if states is None:
        return None
    cleared = batches.clear_refused(pending, states, result.notes)
    result.refused[pending.name] = cleared
    if any(s is None for s in states):
        recovered = batches.recover_unrecorded(ctx.client, pending, result.notes)
        result.notes.extend(recover_recorded(pending, result.seen, [s.id for s in cleared.values()]))
        if not batches.read_recovered(ctx.client, pending, states, recovered, result):
            return None
    result.queue.holding(pending.manifest, states)
    return states


def _send_unsent(ctx: PollContext, pending: Pending, result: PollResult) -> None:
    """The parts of one manifest that have no batch yet, created as far as the provider's queue has room
    (not while the submit that planned them may still be running); what is left waits for a later poll."""
    m = pending.manifest
    missing = [b for b in m.batches if not b.id]
    # its submit may still run; a verify round's manifest was written by a poll, which held the store's lock
    # (or whose workflow stored it when the job ended): nothing can still be sending it
    if m.verify is None and not batches.older_than(m.created_at, batches.RESUME_AFTER, ctx.now()):
        missing = [b for b in missing if b.index in result.refused.get(pending.name, ())]  # those it did make
    if not missing:
        return
    sent = resume_batches(ctx.client, ctx.cfg, pending, missing, log=ctx.log, queue=result.queue)
    for batch_id in sent.created:
        index = next(b.index for b in m.batches if b.id == batch_id)
        result.rows.append(batches.batch_row(pending.name, batches.labels(m), m.batches[index],
                                             ctx.client.retrieve(batch_id)))
    if sent.created:
        keep_resumed(ctx.client, pending, ctx.state_root)
    if sent.waiting:
        result.queue_waiting_batches += len(sent.waiting)
        result.queue_waiting_targets += len(waiting_targets(m, sent.waiting))
        result.notes.append(f"{pending.name}: {counted(len(sent.waiting), 'batch part')} {'waits' if len(sent.waiting) == 1 else 'wait'} for the provider's queue"
                            + (f" ({sent.refusal})" if sent.refusal else ""))


def _poll_manifest(ctx: PollContext, pending: Pending, result: PollResult, ready: list[Ready]) -> None:
    m = pending.manifest
    if ctx.github is not None and m.repository != ctx.github.repository:
        result.problems.append(f"{pending.name}: manifest is for {m.repository}, not {ctx.github.repository}")
        return
    if m.verify is not None:
        _poll_verify(ctx, pending, result, ready)
        return
    states = _batch_states(ctx, pending, result)
    if states is None:
        return
    parts, dropped = batches.dropped_parts(pending, states, ctx.cfg.budget.max_enqueued_tokens, result.notes)
    waiting = [s for i, s in enumerate(states) if i not in parts and (s is None or s.status in BATCH_PENDING)]
    if waiting:  # None: a part not created yet (the submit may still be running, or the queue is full)
        result.pending_batches += len(waiting)
        if any(s is None for s in states) and not ctx.dry_run:
            result.unsent.append(pending)
        _ready_so_far(ctx, pending, states, result, ready)
        return
    records = m.requests
    results = batches.collect_results(ctx.client, records, states, result.problems, m.digest())
    batches.add_usage(result.usage, records, results)
    resubmitted, kept = _resubmit(ctx, pending, expired_requests(records, states, results, ctx.client.resubmittable), result)
    started = verify.Started()
    if ctx.cfg.verify.enabled and not ctx.dry_run:  # the verify round posts the targets with candidates
        started = verify.start_round(ctx, pending, results, resubmitted, result.seen, log=ctx.log)
        result.notes.extend(started.notes)
    works = []
    for key in (k for k in m.targets if k not in started.keys and k not in dropped):
        failed_batch = any(states[records[cid].batch].status == "failed" for cid in m.requests_for(key))
        draft = review.assemble(m, key, results, resubmitted, min_severity=ctx.cfg.output.min_severity,
                                server_url=ctx.server_url)
        works.append(Work(m, pending.name, key, draft, failed_batch=failed_batch))
    refused = list(result.refused.get(pending.name, {}).values())  # their copies go when it is retired
    ready.append(Ready(pending, [*states, *refused], kept and started.kept, works))


def _poll_verify(ctx: PollContext, pending: Pending, result: PollResult, ready: list[Ready]) -> None:
    """A verify manifest: wait for its batch until the deadline, then post with the verdicts it has."""
    m, late, lost = pending.manifest, verified.past_deadline(pending.manifest, ctx.now()), False
    try:
        states = _batch_states(ctx, pending, result)
    except BatchAPIError:
        if not late:
            raise
        states, lost = [None] * len(m.batches), True
    if states is None:
        return
    waiting = [s for s in states if s is None or s.status in BATCH_PENDING]
    if waiting and not late:
        result.pending_batches += len(waiting)
        if any(s is None for s in states) and not ctx.dry_run:  # a killed poll's verify batch: created now
            result.unsent.append(pending)
        return
    if waiting and not ctx.dry_run:
        verified.give_up(ctx.client, states, result.notes, pending.name)
    texts = verified.texts_by_target(m, verified.answers(ctx.client, m, states, result.usage, result.problems))
    why = verified.why_unverified(states, bool(waiting), lost)
    if waiting or any(s is not None and s.status != "completed" for s in states):
        result.notes.append(verified.note_for(pending, why))
    works = [Work(m, pending.name, key, verified.draft(m, key, texts.get(key), why, min_severity=ctx.cfg.output.min_severity,
                                                      server_url=ctx.server_url)[0]) for key in m.targets]
    ready.append(Ready(pending, [s for s in states if s is not None], True, works))


def _ready_so_far(ctx: PollContext, pending: Pending, states: list[BatchState | None], result: PollResult,
                  ready: list[Ready]) -> None:
    """A night split for the provider's queue posts as its batches complete: the targets whose requests
    are all in completed batches are posted now (their markers make later polls skip them); the manifest
    stays, and is retired once every batch is done."""
    m = pending.manifest
    done = {i for i, s in enumerate(states) if s is not None and s.status == "completed"}
    keys = [key for key in m.targets if all(m.requests[cid].batch in done for cid in m.requests_for(key))]
    if not keys:
        return
    finished = [s if i in done else None for i, s in enumerate(states)]
    results = batches.collect_results(ctx.client, m.requests, finished, result.problems, m.digest())
    works = [Work(m, pending.name, key, review.assemble(m, key, results, (), min_severity=ctx.cfg.output.min_severity,
                                                       server_url=ctx.server_url)) for key in keys]
    ready.append(Ready(pending, states, True, works, partial=True))


def _resubmit(ctx: PollContext, pending: Pending, expired: set[str], result: PollResult) -> tuple[set[str], bool]:
    """(the requests resubmitted, whether the manifest of the resubmitted requests survives this run
    whatever happens next: stored in the store or kept as a copy on the batch service)."""
    m = pending.manifest
    if not expired:
        return set(), True
    if m.attempt >= ctx.cfg.output.max_resubmits or ctx.dry_run:
        why = "(dry run: not resubmitted)" if ctx.dry_run else "after the last resubmission"
        result.notes.append(f"{pending.name}: {counted(len(expired), 'request')} expired {why}")
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
        result.notes.append(f"{pending.name}: kept until the manifest of its resubmitted or verify requests is stored")
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
    return write_sarif(Path(ctx.cfg.output.sarif_dir), target, draft.located(), m.commentable(report.key),
                       verified.dropped_located(m, report.key, report.refuted))
