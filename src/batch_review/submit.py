"""The submit journey: targets -> diffs -> requests -> batch files -> budget -> batches -> manifest.

Orchestration only. Nothing is sent before every target has been diffed, every request built and the
budget checked; if creating any batch fails, the batches already created are cancelled and their files
deleted, so a run either submits everything it planned or leaves nothing running that it does not report.
Before the first batch is created, a copy of the manifest goes to the batch service and every batch names
it: a batch that outlives this run's manifest (killed, timed out, an undo that failed) is adopted by a
later poll (adoption.py). A batch whose cancel fails keeps its files and that copy for the same reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .adoption import MANIFEST_FILE, batch_metadata, keep_copy
from .batchfile import BatchFileWriter, encode_line
from .diffs import DiffError, decode_diff, parse_diff, right_line_hashes
from .errors import OverBudget, with_context
from .gitrepo import GitError, GitRepo
from .manifest import Manifest, request_record
from .markers import Identity, Marker, from_external_id, marker_of
from .packing import FileItem, line_counts, plan_requests, target_context
from .pricing import cost_of, format_usd, tokens_by_model
from .prompts import RequestBuilder, RequestSpec, clip_description
from .targets import Skip, select_pulls
from .vocabulary import Target


@dataclass
class TargetPlan:
    target: Target
    specs: list[RequestSpec] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)
    files: dict[str, dict] = field(default_factory=dict)
    skipped: list[dict] = field(default_factory=list)
    reviewed_files: int = 0
    full_review_reason: str | None = None  # why an incremental review was not possible

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

    @property
    def requests(self) -> int:
        return sum(len(p.specs) for p in self.plans)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


# --- targets -------------------------------------------------------------------------------------------

def local_targets(git: GitRepo, repository: str, base: str | None, head: str | None) -> list[Target]:
    """One branch pair from the local checkout: head (default HEAD) against base (default branch).

    With neither given and HEAD already on the default branch (nothing to compare), the last commit is
    reviewed instead, so the dry run shows something useful on a fresh clone.
    """
    base_ref = base or git.default_branch()
    head_ref = head or git.current_branch() or "HEAD"
    head_sha = git.rev_parse(head or "HEAD")
    base_sha = git.rev_parse(base_ref)
    if base is None and head is None and git.merge_base(base_sha, head_sha) == head_sha:
        parent = git.parent(head_sha)
        if parent:
            base_ref = f"{head_sha[:12]}~1"
    return [Target(kind="branches", repository=repository, base_ref=base_ref, head_ref=head_ref,
                   head_sha=head_sha)]


def github_targets(gh, cfg, git: GitRepo, *, only_prs: tuple[int, ...]) -> tuple[list[Target], list[Skip]]:
    targets: list[Target] = []
    skipped: list[Skip] = []
    if only_prs or cfg.targets.pull_requests.enabled:
        pulls, skips = select_pulls(gh.open_pulls(), cfg.targets.pull_requests, only=only_prs)
        skipped.extend(skips)
        targets.extend(
            Target(kind="pull", repository=gh.repository, base_ref=p.base_ref, head_ref=p.head_ref,
                   head_sha=p.head_sha, base_sha=p.base_sha, number=p.number, title=p.title, author=p.author,
                   body=clip_description(p.body, cfg.max_description_chars))
            for p in pulls
        )
    if not only_prs:
        for pair in cfg.targets.branches:
            try:
                targets.extend(local_targets(git, gh.repository, pair.base, pair.head))
            except GitError as exc:
                skipped.append(Skip(f"{pair.base}...{pair.head}", str(exc)))
    return targets, skipped


def posted_heads(gh, cfg, targets: list[Target]) -> tuple[set[tuple[str, str]], dict[str, Marker]]:
    """(target key, head sha) pairs that already carry a review or check run of ours, and per pull
    request the marker of our latest review (where an incremental review starts).

    Ours means written by output.bot_login (check runs: created by its app), with the marker at
    character 0 of the body: a marker anyone else writes, or one quoted inside a review's text, would
    otherwise make tonight skip a head, or narrow an incremental review to what came after a commit of
    the author's choosing. Only a review's marker for its own pull request counts."""
    identity = Identity(cfg.output.bot_login)
    done: set[tuple[str, str]] = set()
    latest: dict[str, Marker] = {}
    for t in targets:
        if t.kind == "pull" and cfg.output.mode in ("review", "both"):
            for review in sorted(gh.reviews(t.number), key=lambda r: r.id):
                m = None if review.pending else marker_of(review, identity)
                if m is None or m.target != t.key:
                    continue
                done.add((m.target, m.head))
                latest[t.key] = m
        if t.kind != "pull" or cfg.output.mode in ("check", "both"):
            for run in gh.check_runs(t.head_sha, cfg.output.check_name):
                marker = from_external_id(run.external_id) if identity.ran(run.app_slug) else None
                if marker and marker.target == t.key and marker.head == t.head_sha:
                    done.add((marker.target, marker.head))
    return done, latest


def pending_heads(listing) -> set[tuple[str, str]]:
    return {(key, t["head_sha"]) for p in listing.pending for key, t in p.manifest.targets.items()}


def ensure_commits(git: GitRepo, targets: list[Target], token: str | None) -> None:
    """Fetch the pull request heads (and bases) the checkout does not have, in one git call."""
    specs = []
    for t in targets:
        if t.kind != "pull":
            continue
        if not git.has_commit(t.head_sha):
            specs.append(f"+refs/pull/{t.number}/head:refs/remotes/batch-review/pull/{t.number}")
        if t.base_sha and not git.has_commit(t.base_sha):
            specs.append(f"+refs/heads/{t.base_ref}:refs/remotes/batch-review/base/{t.base_ref}")
    git.fetch(sorted(set(specs)), token=token)


# --- requests ------------------------------------------------------------------------------------------

def _parse(git: GitRepo, cfg, base: str, head: str):
    text, valid = decode_diff(git.diff(base, head, context=cfg.context_lines))
    return parse_diff(text, context=cfg.context_lines, valid_utf8=valid)


def plan_target(git: GitRepo, cfg, builder_for: Callable[[str], RequestBuilder], target: Target,
                since: Marker | None = None) -> TargetPlan:
    """The requests for one target. With `since` (our last review of this pull request) and
    `incremental` on, only what changed since that review is sent, within the pull request's files;
    a force-push (the reviewed head is no longer an ancestor) or a moved base means a full review."""
    base = git.merge_base(target.base_sha or target.base_ref, target.head_sha)
    target = dataclasses.replace(target, base_sha=base)
    plan = TargetPlan(target)
    try:
        files = _parse(git, cfg, base, target.head_sha)
    except DiffError as exc:
        plan.skipped.append({"path": "*", "reason": str(exc)})
        return plan
    index_of = {fd.path: i for i, fd in enumerate(files)}
    full = {fd.path: fd for fd in files}
    reviewed = files
    if cfg.incremental and since is not None and since.head != target.head_sha:
        if since.base and since.base != base:
            plan.full_review_reason = "the base moved since the last review"
        elif not git.has_commit(since.head) or not git.is_ancestor(since.head, target.head_sha):
            plan.full_review_reason = f"{since.head[:12]} is no longer an ancestor of the head (force-push)"
        else:
            try:
                reviewed = [fd for fd in _parse(git, cfg, since.head, target.head_sha) if fd.path in full]
            except DiffError as exc:
                plan.skipped.append({"path": "*", "reason": str(exc)})
                return plan
            plan.target = target = dataclasses.replace(target, since=since.head)
            for fd in reviewed:
                fd.notes.append(f"only the changes since the last review (commit {since.head[:12]}) are shown")
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

    def context(shown: dict[str, tuple[int, int]]) -> str:  # every file of the change, with its counts
        listing = [(fd.path, *(shown.get(fd.path) or line_counts(fd)), fd.path in shown) for fd in files]
        return target_context(target, listing, cfg.max_description_chars)

    specs, skipped = plan_requests(builder_for, target.key, items, context, per_file=cfg.request_unit == "file",
                                   max_file_chars=cfg.files.max_file_bytes)
    plan.skipped.extend({"path": path, "reason": reason} for path, reason in skipped)
    shown = {f.path for spec in specs for f in spec.files}
    for item in items:
        if item.fd.path not in shown:
            continue
        plan.reviewed_files += 1
        whole = full[item.fd.path]  # placement and fingerprints use the pull request's diff, as GitHub shows it
        plan.files[item.fd.path] = whole.commentable().to_json()
        if cfg.incremental:
            plan.files[item.fd.path]["crc"] = right_line_hashes(whole.hunks)
    for spec in specs:
        plan.specs.append(spec)
        url = cfg.provider.batch_url(builder_for(spec.model).endpoint)
        plan.lines.append(encode_line(spec.custom_id, url, spec.body))
    return plan


def over_budget(cfg, specs) -> str | None:
    """Why these requests (anything with model, est_input_tokens, max_output_tokens) are over the
    configured budget, or None. Costs are upper bounds: full max_output_tokens for every request."""
    budget = cfg.budget
    if budget.max_requests is not None and len(specs) > budget.max_requests:
        return f"{len(specs):,} requests is over budget.max_requests ({budget.max_requests:,})"
    cost = cost_of(cfg, specs)
    if budget.max_cost_usd is not None and cost is not None and cost.batch_usd > budget.max_cost_usd:
        return (f"estimated cost {format_usd(cost.batch_usd)} is over budget.max_cost_usd "
                f"({format_usd(budget.max_cost_usd)})")
    return None


def apply_budget(cfg, plans: list[TargetPlan]) -> tuple[list[TargetPlan], list[TargetPlan], str | None]:
    """(kept, deferred, note). Costs are upper bounds: full max_output_tokens for every request."""
    budget = cfg.budget

    def over(specs: list[RequestSpec]) -> str | None:
        return over_budget(cfg, specs)

    total = over([s for p in plans for s in p.specs])
    if total is None:
        return plans, [], None
    if budget.on_exceed != "fit":
        return [], plans, total + "; nothing submitted (budget.on_exceed: skip)"
    kept, deferred, taken = [], [], []
    for plan in plans:
        if over(taken + plan.specs) is None:
            kept.append(plan)
            taken += plan.specs
        else:
            deferred.append(plan)
    return kept, deferred, total + f"; submitted {len(kept)} of {len(plans)} targets (budget.on_exceed: fit)"


# --- the journey ---------------------------------------------------------------------------------------

@dataclass
class SubmitContext:
    cfg: object
    git: GitRepo
    repository: str
    state_root: Path
    dry_run: bool
    targets: list[Target]
    skipped_targets: list[Skip]
    provider_base_url: str
    batch_client_factory: Callable[[], object] | None = None
    last_reviews: dict[str, Marker] = field(default_factory=dict)  # target key -> our latest review's marker
    now: Callable[[], dt.datetime] = utc_now
    log: Callable[[str], None] = print


def run_submit(ctx: SubmitContext) -> SubmitResult:
    cfg = ctx.cfg
    builders: dict[str, RequestBuilder] = {}

    def builder_for(model: str) -> RequestBuilder:
        if model not in builders:
            builders[model] = RequestBuilder(
                model=model, endpoint=cfg.endpoint, instructions=cfg.instructions,
                max_output_tokens=cfg.max_output_tokens, max_input_tokens=cfg.max_input_tokens,
                reasoning_effort=cfg.reasoning_effort, temperature=cfg.temperature, summary=cfg.output.summary,
            )
        return builders[model]

    result = SubmitResult(ctx.repository, cfg.model, [], list(ctx.skipped_targets), dry_run=ctx.dry_run)
    plans = []
    for target in ctx.targets:
        try:
            plan = plan_target(ctx.git, cfg, builder_for, target, ctx.last_reviews.get(target.key))
        except GitError as exc:
            result.skipped_targets.append(Skip(target.label, str(exc)))
            continue
        if not plan.specs:
            reason = "no reviewable changes" if plan.skipped or plan.reviewed_files else "empty diff"
            result.skipped_targets.append(Skip(target.label, reason))
        plans.append(plan)
    kept, deferred, note = apply_budget(cfg, [p for p in plans if p.specs])
    result.plans = kept + [p for p in plans if not p.specs]
    result.deferred = deferred
    result.budget_note = note
    if not kept:
        if note:
            raise OverBudget(note)
        return result

    created = ctx.now()
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
        dry_run=ctx.dry_run,
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
    specs = [s for p in kept for s in p.specs]
    cost = cost_of(cfg, specs)
    manifest.estimate = {
        "input_tokens": sum(s.est_input_tokens for s in specs),
        "max_output_tokens": sum(s.max_output_tokens for s in specs),
        "batch_usd": round(cost.batch_usd, 6) if cost else None,
        "standard_usd": round(cost.standard_usd, 6) if cost else None,
        "by_model": {m: {"requests": n, "input_tokens": i, "max_output_tokens": o}
                     for m, (n, i, o) in sorted(tokens_by_model(specs).items())},
    }
    result.manifest = manifest
    result.manifest_path = manifest.save(run_dir)
    if ctx.dry_run:
        return result
    _send(ctx, manifest, parts, run_dir, result)
    return result


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
