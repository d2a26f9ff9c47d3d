"""The submit journey: pending manifests -> targets -> diffs -> requests -> budget -> batch files -> manifest
-> uploads and batches.

Orchestration only: targets.py picks the targets (minus what is pending, posted or orphaned), packing.py
and prompts.py build the requests, budget.py keeps them within budget and estimates their cost (once: the
manifest's `estimate`, which the report prints), batchfile.py writes the files. Services come in as
objects (`SubmitContext`); what is shown goes out through its callbacks.

Nothing is sent before every target has been diffed, every request built and the budget checked; if
creating any batch fails, the batches already created are cancelled and their files deleted, so a run
either submits everything it planned or leaves nothing running that it does not report. Before the first
batch is created, a copy of the manifest goes to the batch service and every batch names it: a batch that
outlives this run's manifest (killed, timed out, an undo that failed) is adopted by a later poll
(adoption.py). A batch whose cancel fails keeps its files and that copy for the same reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..core.diffs import DiffError, decode_diff, parse_diff, right_line_hashes
from ..core.errors import OverBudget, RepositoryError, ServiceError, with_context
from ..core.markers import Identity, Marker
from ..core.provenance import Provenance
from ..core.vocabulary import Target
from ..git.repo import GitRepo
from ..ledger.adoption import MANIFEST_FILE, batch_metadata, keep_copy, orphan_heads, seen_in
from ..ledger.batchfile import BatchFileWriter, encode_line
from ..ledger.manifest import Manifest, request_record
from ..planning.budget import apply_budget, estimate_of
from ..planning.packing import FileItem, line_counts, plan_requests, target_context
from ..planning.pricing import CostEstimate, cost_of
from ..planning.prompts import RequestBuilder, RequestSpec
from ..planning.tokenizer import o200k_counter
from .targets import Skip, TargetSelection, select_targets


@dataclass
class TargetPlan:
    target: Target
    specs: list[RequestSpec] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)
    files: dict[str, dict] = field(default_factory=dict)
    skipped: list[dict] = field(default_factory=list)
    reviewed_files: int = 0
    full_review_reason: str | None = None  # why an incremental review was not possible
    cost: CostEstimate | None = None  # upper bound (output at each request's cap); None: a model has no price

    @property
    def input_tokens(self) -> int:
        return sum(s.est_input_tokens for s in self.specs)

    @property
    def output_tokens(self) -> int:
        return sum(s.max_output_tokens for s in self.specs)


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

    @property
    def requests(self) -> int:
        return sum(len(p.specs) for p in self.plans)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


# --- requests ------------------------------------------------------------------------------------------

def _parse(git: GitRepo, cfg, base: str, head: str):
    text, valid = decode_diff(git.diff(base, head, context=cfg.context_lines))
    return parse_diff(text, context=cfg.context_lines, valid_utf8=valid)


def _since_last_review(git: GitRepo, cfg, plan: TargetPlan, base: str, files: list, since: Marker | None):
    """The files to review: the whole change, or (incremental, with our last review's marker) only what
    changed since that review, within the pull request's files. None after a diff error (in plan.skipped)."""
    target = plan.target
    if not cfg.incremental or since is None or since.head == target.head_sha:
        return files
    if since.base and since.base != base:
        plan.full_review_reason = "the base moved since the last review"
        return files
    if not git.has_commit(since.head) or not git.is_ancestor(since.head, target.head_sha):
        plan.full_review_reason = f"{since.head[:12]} is no longer an ancestor of the head (force-push)"
        return files
    paths = {fd.path for fd in files}
    try:
        reviewed = [fd for fd in _parse(git, cfg, since.head, target.head_sha) if fd.path in paths]
    except DiffError as exc:
        plan.skipped.append({"path": "*", "reason": str(exc)})
        return None
    plan.target = dataclasses.replace(target, since=since.head)
    for fd in reviewed:
        fd.notes.append(f"only the changes since the last review (commit {since.head[:12]}) are shown")
    return reviewed


def _file_items(cfg, reviewed: list, index_of: dict[str, int], plan: TargetPlan) -> list[FileItem]:
    """The files the config lets through, each with its model and path instructions; the rest skipped."""
    items = []
    for fd in reviewed:
        reason = fd.skip_reason()
        if reason is None:
            ok, why = cfg.files.is_reviewed(fd.path)
            reason = None if ok else why
        if reason is not None:
            plan.skipped.append({"path": fd.path, "reason": reason})
            continue
        changed = sum(1 for h in fd.hunks for ln in h if ln.line_type in "+-") if cfg.routing_needs_line_counts else 0
        items.append(FileItem(index_of[fd.path], fd, cfg.model_for(fd.path, changed),
                              cfg.path_instructions_for(fd.path)))
    return items


def plan_target(git: GitRepo, cfg, builder_for: Callable[[str], RequestBuilder], target: Target,
                since: Marker | None = None) -> TargetPlan:
    """The requests for one target. With `since` (our last review of this pull request) and
    `incremental` on, only what changed since that review is sent, within the pull request's files;
    a force-push (the reviewed head is no longer an ancestor) or a moved base means a full review."""
    base = git.merge_base(target.base_sha or target.base_ref, target.head_sha)
    plan = TargetPlan(dataclasses.replace(target, base_sha=base))
    try:
        files = _parse(git, cfg, base, target.head_sha)
    except DiffError as exc:
        plan.skipped.append({"path": "*", "reason": str(exc)})
        return plan
    reviewed = _since_last_review(git, cfg, plan, base, files, since)
    if reviewed is None:
        return plan
    items = _file_items(cfg, reviewed, {fd.path: i for i, fd in enumerate(files)}, plan)

    def context(shown: dict[str, tuple[int, int]]) -> str:  # every file of the change, with its counts
        listing = [(fd.path, *(shown.get(fd.path) or line_counts(fd)), fd.path in shown) for fd in files]
        return target_context(plan.target, listing, cfg.max_description_chars)

    specs, skipped = plan_requests(builder_for, plan.target.key, items, context,
                                   per_file=cfg.request_unit == "file", max_file_chars=cfg.files.max_file_bytes)
    plan.skipped.extend({"path": path, "reason": reason} for path, reason in skipped)
    shown = {f.path for spec in specs for f in spec.files}
    full = {fd.path: fd for fd in files}  # placement and fingerprints use the pull request's diff, as GitHub shows it
    for item in items:
        if item.fd.path in shown:
            plan.reviewed_files += 1
            plan.files[item.fd.path] = full[item.fd.path].commentable().to_json()
            if cfg.incremental:
                plan.files[item.fd.path]["crc"] = right_line_hashes(full[item.fd.path].hunks)
    plan.specs = specs
    plan.lines = [encode_line(spec.custom_id, cfg.provider.batch_url(builder_for(spec.model).endpoint), spec.body)
                  for spec in specs]
    plan.cost = cost_of(cfg, specs)
    return plan


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
    batch_client_factory: Callable[[], object] | None = None
    now: Callable[[], dt.datetime] = utc_now
    log: Callable[[str], None] = print
    warn: Callable[[str], None] = print
    alert: Callable[[str], None] = print  # a bug's one line (its traceback is already in the log)
    group: Callable[[str], AbstractContextManager] = lambda title: nullcontext()
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


def _plan_all(ctx: SubmitContext, selection: TargetSelection, result: SubmitResult) -> list[TargetPlan]:
    cfg, builders = ctx.cfg, {}
    counter = o200k_counter()  # exact token counts when tiktoken's o200k_base is on disk

    def builder_for(model: str) -> RequestBuilder:
        if model not in builders:
            builders[model] = RequestBuilder(
                model=model, endpoint=cfg.endpoint, instructions=cfg.instructions,
                max_output_tokens=cfg.max_output_tokens, max_input_tokens=cfg.max_input_tokens,
                reasoning_effort=cfg.reasoning_effort, temperature=cfg.temperature, summary=cfg.output.summary,
                count=counter,
            )
        return builders[model]

    plans = []
    for target in selection.targets:
        try:
            with cycle_collection_paused():
                plan = plan_target(ctx.git, cfg, builder_for, target, selection.last_reviews.get(target.key))
        except RepositoryError as exc:
            result.skipped_targets.append(Skip(target.label, str(exc)))
            continue
        if not plan.specs:
            reason = "no reviewable changes" if plan.skipped or plan.reviewed_files else "empty diff"
            result.skipped_targets.append(Skip(target.label, reason))
        plans.append(plan)
    return plans


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """No cycle collection while a target is planned. Its diff is millions of small objects (unidiff's
    files, hunks and lines, then the rendered text) that reference counting frees and that hold no
    cycles, yet the collector scans all of them again every time enough new ones pile up: on a diff of a
    million changed lines, a third of the planning time. The collector's state is restored after, so a
    cycle made meanwhile is collected then."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run_submit(ctx: SubmitContext) -> SubmitResult:
    """Targets, their requests within budget, the batch files and manifest; then (unless a dry run) the
    uploads and batches. Raises OverBudget when the budget leaves nothing to send."""
    cfg = ctx.cfg
    with ctx.group("Targets"):
        listing = _pending(ctx)
        selection = _select(ctx, listing)
    result = SubmitResult(ctx.repository, cfg.model, [], list(selection.skipped), dry_run=ctx.dry_run,
                          store_bugs=list(listing.bugs))
    with ctx.group("Build and submit"):
        plans = _plan_all(ctx, selection, result)
        kept, result.deferred, result.budget_note = apply_budget(cfg, [p for p in plans if p.specs])
        result.plans = kept + [p for p in plans if not p.specs]
        result.estimate = estimate_of(cfg, [s for p in kept for s in p.specs])
        if not kept:
            if result.budget_note:
                raise OverBudget(result.budget_note)
            return result
        manifest, parts, run_dir = _write(ctx, kept, result.estimate)
        result.manifest, result.manifest_path = manifest, manifest.save(run_dir)
        if not ctx.dry_run:
            _send(ctx, manifest, parts, run_dir, result)
    return result


def _write(ctx: SubmitContext, kept: list[TargetPlan], estimate: dict):
    """The batch files and the manifest of this run, in a new folder of the state directory."""
    cfg, created = ctx.cfg, ctx.now()
    run_name = f"batch-review-{created.strftime('%Y%m%dT%H%M%SZ')}"
    run_dir = ctx.state_root / run_name
    if run_dir.exists():
        run_name += f"-{len(list(ctx.state_root.glob(run_name + '*')))}"
        run_dir = ctx.state_root / run_name
    writer = BatchFileWriter(run_dir)
    manifest = Manifest(
        repository=ctx.repository, endpoint=cfg.provider.batch_url(cfg.endpoint), model=cfg.model,
        provider={"name": cfg.provider.name, "base_url": ctx.provider_base_url},
        created_at=created.isoformat().replace("+00:00", "Z"), tool=f"batch-review {__version__}",
        dry_run=ctx.dry_run, estimate=estimate,
    )
    for plan in kept:
        key = plan.target.key
        manifest.targets[key] = plan.target.to_json()
        manifest.files[key] = plan.files
        if plan.skipped:
            manifest.skipped[key] = plan.skipped
        for spec, line in zip(plan.specs, plan.lines, strict=True):
            part = writer.add(spec.custom_id, spec.model, manifest.endpoint, line)
            manifest.requests[spec.custom_id] = request_record(key, spec, part)
        plan.lines = []  # written: free the memory
    parts = writer.close()
    manifest.batches = [p.to_json() for p in parts]
    return manifest, parts, run_dir


def _send(ctx: SubmitContext, manifest: Manifest, parts, run_dir: Path, result: SubmitResult) -> None:
    client = ctx.batch_client_factory()
    uploaded: list[str] = []
    created: list[str] = []
    try:
        for part, entry in zip(parts, manifest.batches, strict=True):
            file_id = client.upload(part.path)
            uploaded.append(file_id)
            entry["input_file_id"] = file_id
            manifest.save(run_dir)  # a run killed now leaves the file recorded: poll resumes with it
        copy = keep_copy(client, manifest, ctx.log)  # records every upload: what an adopting poll needs
        if copy:
            uploaded.append(copy)
            for entry in manifest.batches:
                entry[MANIFEST_FILE] = copy
            manifest.save(run_dir)
        for part, entry in zip(parts, manifest.batches, strict=True):
            batch = client.create(entry["input_file_id"], manifest.endpoint, batch_metadata(manifest, part.index))
            created.append(batch.id)
            entry["id"] = batch.id
            manifest.save(run_dir)  # every created batch is on disk before the next one is made
            ctx.log(f"created batch {batch.id} ({part.requests} requests, {part.bytes:,} bytes)")
    except Exception as exc:
        leftovers = _undo(client, uploaded, created)
        if leftovers:
            manifest.save(run_dir)
            message = (f"{exc}; could not undo: {'; '.join(leftovers)} (recorded in {run_dir} and on the batch "
                       "service: a later poll finishes this run)")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
            result.manifest_path = None
            undone = f"cancelled {len(created)} batch(es) and deleted {len(uploaded)} file(s)" if uploaded else ""
            message = f"{exc}{'; ' + undone if undone else ''}; nothing submitted"
        reported = with_context(exc, message)
        if reported is None:  # a bug: undone above, now its traceback
            raise
        raise reported from exc
    result.batch_ids = created


def _undo(client, uploaded: list[str], created: list[str]) -> list[str]:
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
