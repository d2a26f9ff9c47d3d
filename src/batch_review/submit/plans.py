"""Submit's planning stage: each target's diff -> its requests (`plan_targets`, `plan_target`).

For each target, in this order and one way: the diff from the merge base (only what changed since our
last review, when `incremental` is on and that review's head is still an ancestor), the files the config
lets through (each with its model and path instructions), rendered once (planning.rendering via
packing.render), the target's context from the counts rendering found, packed into requests
(planning.packing) with room kept for the repository's rules, each request's rules put before its text
(read from the target's base commit by rules.py, chosen and framed by planning.rules), and each request
made into the endpoint's wire format (planning.builder). What is
not reviewed is kept with its reason (`SkippedFile`); what the manifest will keep of each reviewed file
(`ReviewedFile`) is taken from the pull request's whole diff, as GitHub shows it.

A target's planning runs with the cycle collector paused (`cycle_collection_paused`): a large diff is
millions of acyclic objects the collector would otherwise rescan again and again.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..core.diffs import DiffError, FileDiff, decode_diff, parse_diff, right_line_hashes
from ..core.errors import RepositoryError
from ..core.markers import Marker
from ..core.vocabulary import Target
from ..findings.anchoring import invisible, invisible_lines
from ..git.repo import GitRepo
from ..ledger.batchfile import encode_line
from ..ledger.manifest import ReviewedFile, SkippedFile
from ..planning.builder import RequestBuilder, RequestSpec
from ..planning.packing import FileItem, line_counts, pack, remembered_text, render, target_context
from ..planning.pricing import CostEstimate, cost_of
from ..planning.rendering import one_line
from ..planning.rules import RepositoryRules
from ..planning.tokenizer import o200k_counter, tokens_at_most
from .rules import RulesReader
from .targets import Skip, TargetSelection


@dataclass
class TargetPlan:
    target: Target
    specs: list[RequestSpec] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)
    files: dict[str, ReviewedFile] = field(default_factory=dict)  # by path: what the manifest keeps
    skipped: list[SkippedFile] = field(default_factory=list)
    reviewed_files: int = 0
    full_review_reason: str | None = None  # why an incremental review was not possible
    cost: CostEstimate | None = None  # upper bound (output at each request's cap); None: a model has no price
    rules_commit: str = ""  # the base commit the repository's rules were read from
    rules: dict[str, list[int]] = field(default_factory=dict)  # rules file -> [tokens shown, requests with it]
    rules_notes: list[str] = field(default_factory=list)  # rules files not used and why; what was cut

    @property
    def input_tokens(self) -> int:
        return sum(s.est_input_tokens for s in self.specs)

    @property
    def output_tokens(self) -> int:
        return sum(s.max_output_tokens for s in self.specs)


def _parse(git: GitRepo, cfg, base: str, head: str) -> tuple[list[FileDiff], bool]:
    """The change's files, and whether its text holds an invisible character anywhere (one search: only
    then are the lines that hold one recorded, for the suggestions that replace them)."""
    text, valid = decode_diff(git.diff(base, head, context=cfg.context_lines))
    return parse_diff(text, context=cfg.context_lines, valid_utf8=valid), bool(invisible(text))


def _since_last_review(git: GitRepo, cfg, plan: TargetPlan, base: str, files: list[FileDiff],
                       since: Marker | None) -> list[FileDiff] | None:
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
        reviewed = [fd for fd in _parse(git, cfg, since.head, target.head_sha)[0] if fd.path in paths]
    except DiffError as exc:
        plan.skipped.append(SkippedFile("*", str(exc)))
        return None
    plan.target = dataclasses.replace(target, since=since.head)
    for fd in reviewed:
        fd.notes.append(f"only the changes since the last review (commit {since.head[:12]}) are shown")
    return reviewed


def _file_items(cfg, reviewed: list[FileDiff], index_of: dict[str, int], plan: TargetPlan,
                state_folder: str | None = None) -> list[FileItem]:
    """The files the config lets through (none in our own state folder, even committed), each with its
    model and path instructions; the rest skipped."""
    items = []
    for fd in reviewed:
        reason = fd.skip_reason()
        if state_folder and (fd.path + "/").startswith(state_folder + "/"):
            reason = "batch-review's state folder"
        if reason is None:
            ok, why = cfg.files.is_reviewed(fd.path)
            reason = None if ok else why
        if reason is not None:
            plan.skipped.append(SkippedFile(fd.path, reason))
            continue
        changed = sum(1 for h in fd.hunks for ln in h if ln.line_type in "+-") if cfg.routing_needs_line_counts else 0
        items.append(FileItem(index_of[fd.path], fd, cfg.model_for(fd.path, changed),
                              cfg.path_instructions_for(fd.path)))
    return items


def _paths(parts) -> list[str]:
    return [p for part in parts for p in (part.path, part.old_path) if p]


def _requests(cfg, builder_for: Callable[[str], RequestBuilder], plan: TargetPlan, files: list[FileDiff],
              items: list[FileItem], rules: RepositoryRules, remembered=None) -> list[RequestSpec]:
    """Render, context (with what the team dismissed before, `remembered`), pack (room kept for the most rules
    a request of the target can carry), each request's rules before its text, build: the target's requests in
    file order; what does not fit, skipped."""
    ready, skipped = render(items, cfg.files.max_file_bytes)
    counts = {r.item.fd.path: r.rendered.counts for r in ready}  # every file of the change, with its counts
    listing = [(fd.path, *(counts.get(fd.path) or line_counts(fd)), fd.path in counts) for fd in files]
    context = target_context(plan.target, listing, cfg.max_description_chars)
    if remembered is not None and remembered.entries:  # ledger.memory.Memory: what the team dismissed before
        shown = [(e.path, e.category, e.title) for e in remembered.on(fd.path for fd in files)]
        context = dataclasses.replace(context, head=context.head + remembered_text(
            shown, cfg.dismissals.max_prompt_tokens))
    packed, reserved = [], 0
    if ready:
        shared = builder_for(ready[0].item.model)  # the run's prefix and input budget, the same for every model
        reserved = rules.reserve(_paths(r.item.fd for r in ready))
        packed, unfit = pack(plan.target.key, ready, context, prefix_tokens=shared.prefix.tokens + reserved,
                             max_input_tokens=shared.max_input_tokens, per_file=cfg.request_unit == "file")
        skipped += unfit
    plan.skipped.extend(SkippedFile(path, reason) for path, reason in skipped)
    specs = []
    for p in packed:
        block = rules.block(_paths(p.files))
        for path, tokens in block.shown:
            plan.rules.setdefault(path, [tokens, 0])[1] += 1
        if block.cut and block.cut not in plan.rules_notes:
            plan.rules_notes.append(block.cut)
        specs.append(builder_for(p.model).spec(p.custom_id, block.text + p.user, p.files,
                                               p.tokens - reserved + block.tokens, read_only=block.tokens))
    return specs


def plan_target(git: GitRepo, cfg, builder_for: Callable[[str], RequestBuilder], target: Target,
                since: Marker | None = None, *, state_folder: str | None = None,
                rules: RulesReader | None = None, rules_from: str | None = None, remembered=None) -> TargetPlan:
    """The requests for one target. With `since` (our last review of this pull request) and
    `incremental` on, only what changed since that review is sent, within the pull request's files;
    a force-push (the reviewed head is no longer an ancestor) or a moved base means a full review.
    The repository's rules come from the target's base (its base branch's commit, never its head),
    through `rules` (the run's reader, which reads each commit once) or a reader of its own; with
    `rules_from` (a pull request whose base is not the default branch) from that commit ("": none)."""
    base_commit = target.base_sha or target.base_ref
    base = git.merge_base(base_commit, target.head_sha)
    plan = TargetPlan(dataclasses.replace(target, base_sha=base))
    rules_commit = base_commit if rules_from is None else rules_from
    repo_rules = (rules or RulesReader.of(git, cfg)).rules(rules_commit) if rules_commit else RepositoryRules()
    if rules_from is not None:
        plan.rules_notes.append(f"#{target.number}: base branch {one_line(target.base_ref)[:100]} is not the default "
                                "branch: " + ("rules read where it leaves the default branch" if rules_from else
                                              "no rules (it shares no history with the default branch)"))
    plan.rules_commit = repo_rules.commit
    plan.rules_notes.extend(f"{path}: {why}" for path, why in repo_rules.skipped)
    try:
        files, holds_invisible = _parse(git, cfg, base, target.head_sha)
    except DiffError as exc:
        plan.skipped.append(SkippedFile("*", str(exc)))
        return plan
    reviewed = _since_last_review(git, cfg, plan, base, files, since)
    if reviewed is None:
        return plan
    items = _file_items(cfg, reviewed, {fd.path: i for i, fd in enumerate(files)}, plan, state_folder)
    specs = _requests(cfg, builder_for, plan, files, items, repo_rules, remembered)
    shown = {f.path for spec in specs for f in spec.files}
    full = {fd.path: fd for fd in files}  # placement and fingerprints use the pull request's diff, as GitHub shows it
    for item in items:
        if item.fd.path in shown:
            plan.reviewed_files += 1
            fd = full[item.fd.path]
            held = invisible_lines(fd.hunks) if holds_invisible else None  # what a suggestion may keep
            plan.files[fd.path] = ReviewedFile.of(fd.commentable(), right_line_hashes(fd.hunks)
                                                  if cfg.incremental or cfg.dismissals.enabled else None, held)
    plan.specs = specs
    plan.lines = [encode_line(spec.custom_id, cfg.provider.batch_url(builder_for(spec.model).endpoint), spec.body)
                  for spec in specs]
    plan.cost = cost_of(cfg, specs)
    return plan


def builders(cfg) -> Callable[[str], RequestBuilder]:
    """The run's request builders, one per model, made when first asked for; exact token counts when
    tiktoken's o200k_base is on disk."""
    made: dict[str, RequestBuilder] = {}
    counter = o200k_counter()

    def builder_for(model: str) -> RequestBuilder:
        if model not in made:
            made[model] = RequestBuilder(
                model=model, endpoint=cfg.endpoint, instructions=cfg.instructions,
                max_output_tokens=cfg.max_output_tokens, max_input_tokens=cfg.max_input_tokens,
                reasoning_effort=cfg.reasoning_effort, temperature=cfg.temperature, summary=cfg.output.summary,
                count=counter,
            )
        return made[model]

    return builder_for


def plan_targets(git: GitRepo, cfg, selection: TargetSelection, *, state_folder: str | None = None,
                 progress: Callable[[int, int, str], None] = lambda done, total, current: None,
                 remembered=None) -> tuple[list[TargetPlan], list[Skip]]:
    """Every selected target's plan (those with no request too), and the targets that could not be planned
    or have nothing to review, with why. `progress(done, total, now)` is told before each target and at the
    end; nothing under `state_folder` (a path in the checkout) is reviewed. `remembered` (ledger.memory.Memory):
    the findings this team dismissed before, shown to the model on the files they name."""
    counter = o200k_counter()  # the rules' cap is in real tokens: counted exactly, or never short of them
    builder_for, reader = builders(cfg), RulesReader.of(git, cfg, counter.fixed if counter else tokens_at_most)
    plans, skipped, total = [], [], len(selection.targets)
    for done, target in enumerate(selection.targets):
        progress(done, total, target.label)
        try:
            with cycle_collection_paused():
                plan = plan_target(git, cfg, builder_for, target, selection.last_reviews.get(target.key),
                                   state_folder=state_folder, rules=reader,
                                   rules_from=selection.rules_from.get(target.key), remembered=remembered)
        except RepositoryError as exc:
            skipped.append(Skip(target.label, str(exc)))
            continue
        if not plan.specs:
            reason = "no reviewable changes" if plan.skipped or plan.reviewed_files else "empty diff"
            skipped.append(Skip(target.label, reason))
        plans.append(plan)
    progress(total, total, "")
    return plans, skipped


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
