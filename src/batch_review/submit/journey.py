"""The submit journey: pending manifests -> targets -> requests -> budget -> batch files -> manifest -> batches.

Orchestration only: targets.py picks the targets (minus what is pending, posted or orphaned), plans.py
turns each target's diff into requests (planning/), budget.py keeps them within budget and estimates
their cost (once: the manifest's `estimate`, which the report prints), batchfile.py writes the files and
ledger/send.py sends them. Services come in as objects (`SubmitContext`); what is shown goes out through
its callbacks.

Nothing is sent before every target has been diffed, every request built and the budget checked; if
creating any batch fails, the batches already created are cancelled and their files deleted, so a run
either submits everything it planned or leaves nothing running that it does not report. Before the first
batch is created, a copy of the manifest goes to the batch service and every batch names it: a batch that
outlives this run's manifest (killed, timed out, an undo that failed) is adopted by a later poll
(adoption.py). A batch whose cancel fails keeps its files and that copy for the same reason.

The provider's queue (ledger/queue.py): with `budget.max_enqueued_tokens` the batch files are split to fit
it and only the parts that fit beside our batches still in progress are created; the others (and any the
service refuses for its queue) wait in the manifest without a batch id, and later polls create them.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..core.errors import OverBudget, ServiceError, with_context
from ..core.markers import Identity
from ..core.provenance import Provenance
from ..core.vocabulary import counted
from ..git.repo import GitRepo
from ..ledger import memory
from ..ledger.adoption import orphan_heads, seen_in
from ..ledger.batchfile import BatchFileWriter
from ..ledger.manifest import BatchRecord, Manifest, RequestRecord, provider_record
from ..ledger.queue import Queue, waiting_targets
from ..ledger.send import Sent, send_batches
from ..ledger.store import keep_out_of_git, path_inside
from ..planning.budget import apply_budget, estimate_of
from ..providers.base import BatchProvider
from .plans import TargetPlan, plan_targets
from .targets import Skip, TargetSelection, select_targets


@dataclass
class SubmitResult:
    repository: str
    model: str
    plans: list[TargetPlan]
    skipped_targets: list[Skip]
    manifest: Manifest | None = None
    manifest_path: Path | None = None
    batch_ids: list[str] = field(default_factory=list)
    dry_run: bool = False
    budget_note: str | None = None
    deferred: list[TargetPlan] = field(default_factory=list)
    estimate: dict = field(default_factory=dict)  # of the requests kept: the manifest's "estimate"
    store_bugs: list[str] = field(default_factory=list)  # the store's unexpected failures (already shown)
    waiting_batches: int = 0  # parts left for a later poll: the provider's queue has no room for them now
    waiting_targets: int = 0  # the targets with a request in one of them

    @property
    def requests(self) -> int:
        return sum(len(p.specs) for p in self.plans)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


# --- the journey ---------------------------------------------------------------------------------------

@dataclass
class SubmitContext:
    """The journey's inputs: the configuration, the checkout, the services (as objects) and what was asked."""

    cfg: object
    git: GitRepo
    repository: str
    state_root: Path
    dry_run: bool
    store: object  # store.LocalStore | store.ArtifactStore: where pending manifests wait
    provider_base_url: str
    github: object | None = None  # github_api.GitHubAPI; None: review a branch pair of the checkout
    base: str | None = None  # --base / --head: the branch pair
    head: str | None = None
    only_prs: tuple[int, ...] = ()  # --pr
    fetch_token: str | None = None  # for fetching pull request heads the checkout lacks
    batch_client_factory: Callable[[], BatchProvider] | None = None
    now: Callable[[], dt.datetime] = utc_now
    log: Callable[[str], None] = print
    warn: Callable[[str], None] = print
    alert: Callable[[str], None] = print  # a bug's one line (its traceback is already in the log)
    group: Callable[[str], AbstractContextManager] = lambda title: nullcontext()
    progress: Callable[[int, int, str], None] = lambda done, total, current: None  # targets planned, of all, now
    provenance: Provenance | None = None  # who we are and the signing key; None: output.bot_login, no key

    def trust(self) -> Provenance:
        return self.provenance or Provenance(Identity(self.cfg.output.bot_login), self.repository)


def pending_heads(listing) -> set[tuple[str, str]]:
    """(target key, head sha) of every target a pending manifest names."""
    return {(key, p.manifest.target(key).head_sha) for p in listing.pending for key in p.manifest.targets}


def _pending(ctx: SubmitContext):
    """The store's listing of pending manifests, its problems shown. Without every pending manifest a head
    could be submitted twice, so a listing GitHub did not answer in full stops the run."""
    listing = ctx.store.list()
    if listing.failures:
        raise ServiceError(f"cannot read the pending manifests ({listing.failures[0]}); nothing submitted",
                           transient=True)
    for problem in listing.problems:  # a bad or untrusted artifact: skipped, the others still count
        ctx.warn(problem)
    for note in listing.notes:
        ctx.log(note)
    for bug in listing.bugs:
        ctx.alert(bug)
    return listing


def _select(ctx: SubmitContext, listing) -> TargetSelection:
    selection = select_targets(ctx.cfg, ctx.git, ctx.github, repository=ctx.repository, base=ctx.base,
                               head=ctx.head, only_prs=ctx.only_prs, pending=pending_heads(listing),
                               token=ctx.fetch_token, provenance=ctx.trust())
    if selection.targets and not ctx.dry_run:  # a batch of ours whose manifest was never stored is pending too
        client = ctx.batch_client_factory()
        selection = selection.without(orphan_heads(client, ctx.repository, seen_in(listing).digests,
                                                   now=ctx.now().timestamp(), provenance=ctx.trust()))
    return selection


def _memory(ctx: SubmitContext) -> memory.Memory | None:
    """The findings this team dismissed before (ledger/memory.py), when there is a memory to read."""
    cfg, key = ctx.cfg, ctx.trust().key
    if ctx.github is None or key is None or not (cfg.dismissals.enabled and cfg.dismissals.memory):
        return None
    notes: list[str] = []
    remembered = memory.load(ctx.github, cfg.artifacts.prefix, cfg.artifacts.workflows, key, notes)
    for note in notes:
        ctx.warn(f"warning: {note}")
    return remembered


def run_submit(ctx: SubmitContext) -> SubmitResult:
    """Targets, their requests within budget, the batch files and manifest; then (unless a dry run) the
    uploads and batches. Raises OverBudget when the budget leaves nothing to send."""
    cfg = ctx.cfg
    with ctx.group("Targets"):
        listing = _pending(ctx)
        selection = _select(ctx, listing)
        ctx.log(f"targets: {len(selection.targets)} to review, {len(selection.skipped)} skipped")
    result = SubmitResult(ctx.repository, cfg.model, [], list(selection.skipped), dry_run=ctx.dry_run,
                          store_bugs=list(listing.bugs))
    with ctx.group("Build and submit"):
        plans, skipped = plan_targets(ctx.git, cfg, selection, progress=ctx.progress,
                                      state_folder=path_inside(ctx.state_root, ctx.git.toplevel()),
                                      remembered=_memory(ctx))
        result.skipped_targets.extend(skipped)
        kept, result.deferred, result.budget_note = apply_budget(cfg, [p for p in plans if p.specs],
                                                                 verify=cfg.verify.enabled)
        result.plans = kept + [p for p in plans if not p.specs]
        result.estimate = estimate_of(cfg, [s for p in kept for s in p.specs],
                                      verify_targets=len(kept) if cfg.verify.enabled else 0)
        if not kept:
            if result.budget_note:
                raise OverBudget(result.budget_note)
            return result
        manifest, parts, run_dir = _write(ctx, kept, result.estimate)
        result.manifest, result.manifest_path = manifest, manifest.save(run_dir)
        if not ctx.dry_run:
            _send(ctx, manifest, parts, run_dir, result, listing)
    return result


def _write(ctx: SubmitContext, kept: list[TargetPlan], estimate: dict):
    """The batch files and the manifest of this run, in a new folder of the state directory."""
    cfg, created = ctx.cfg, ctx.now()
    run_name = f"batch-review-{created.strftime('%Y%m%dT%H%M%SZ')}"
    run_dir = keep_out_of_git(ctx.state_root) / run_name  # the state folder, with its .gitignore of `*`
    if run_dir.exists():
        run_name += f"-{len(list(ctx.state_root.glob(run_name + '*')))}"
        run_dir = ctx.state_root / run_name
    writer = BatchFileWriter(run_dir, max_tokens=cfg.budget.max_enqueued_tokens)
    manifest = Manifest(
        repository=ctx.repository, endpoint=cfg.provider.batch_url(cfg.endpoint), model=cfg.model,
        provider=provider_record({"name": cfg.provider.name, "base_url": ctx.provider_base_url}),
        created_at=created.isoformat().replace("+00:00", "Z"), tool=f"batch-review {__version__}",
        dry_run=ctx.dry_run, estimate=estimate,
    )
    for plan in kept:
        key = plan.target.key
        manifest.targets[key] = plan.target
        manifest.files[key] = plan.files
        if plan.skipped:
            manifest.skipped[key] = tuple(plan.skipped)
        for spec, line in zip(plan.specs, plan.lines, strict=True):
            part = writer.add(spec.custom_id, spec.model, manifest.endpoint, line, spec.est_input_tokens)
            manifest.requests[spec.custom_id] = RequestRecord.planned(spec, key, part)
        plan.lines = []  # written: free the memory
    parts = writer.close()
    manifest.batches = [BatchRecord.of(p) for p in parts]
    return manifest, parts, run_dir


def _queue(ctx: SubmitContext, client: BatchProvider, listing) -> Queue:
    """The provider's queue as this run finds it: our pending manifests' batches still in progress count
    against budget.max_enqueued_tokens (read only when it is set)."""
    queue = Queue(ctx.cfg.budget.max_enqueued_tokens)
    if queue.limit is None:
        return queue
    for pending in listing.pending:
        m = pending.manifest
        queue.holding(m, [client.retrieve(b.id) if b.id else None for b in m.batches])
    return queue


def _send(ctx: SubmitContext, manifest: Manifest, parts, run_dir: Path, result: SubmitResult, listing) -> None:
    client = ctx.batch_client_factory()
    sent = Sent()
    try:
        send_batches(client, manifest, {p.index: p.path for p in parts}, sent=sent, log=ctx.log,
                     save=lambda: manifest.save(run_dir), admits=_queue(ctx, client, listing).admits(manifest),
                     said=lambda b, batch: f"created batch {batch.id} ({counted(b.requests, 'request')}, {b.bytes:,} bytes)")
    except Exception as exc:
        leftovers = _undo(client, sent.uploaded, sent.created)
        if leftovers:
            manifest.save(run_dir)
            message = (f"{exc}; could not undo: {'; '.join(leftovers)} (recorded in {run_dir} and on the batch "
                       "service: a later poll finishes this run)")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
            result.manifest_path = None
            uploaded, created = sent.uploaded, sent.created
            undone = f"cancelled {counted(len(created), 'batch')} and deleted {counted(len(uploaded), 'file')}" if uploaded else ""
            message = f"{exc}{'; ' + undone if undone else ''}; nothing submitted"
        reported = with_context(exc, message)
        if reported is None:  # a bug: undone above, now its traceback
            raise
        raise reported from exc
    result.batch_ids = sent.created
    if sent.waiting:
        result.waiting_batches = len(sent.waiting)
        result.waiting_targets = len(waiting_targets(manifest, sent.waiting))
        ctx.log(f"waiting for the provider's queue: {counted(result.waiting_batches, 'batch')} of "
                f"{counted(result.waiting_targets, 'target')}; a later poll sends them"
                + (f" ({sent.refusal})" if sent.refusal else ""))


def _undo(client: BatchProvider, uploaded: list[str], created: list[str]) -> list[str]:
    """Cancel created batches and delete uploaded files; returns what could not be undone. While a batch
    still runs, nothing is deleted: its siblings' inputs and the manifest copy let a later poll finish it."""
    leftovers = []
    for batch_id in created:
        try:
            client.cancel(batch_id)
        except Exception as exc:  # noqa: BLE001
            leftovers.append(f"batch {batch_id} still running ({exc})")
    if leftovers:
        return leftovers
    for file_id in uploaded:
        try:
            client.delete_file(file_id)
        except Exception as exc:  # noqa: BLE001
            leftovers.append(f"file {file_id} not deleted ({exc})")
    return leftovers
