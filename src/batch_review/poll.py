"""The poll journey: store -> manifest -> batches -> results -> anchoring -> publish, then retire.

Orchestration only. A manifest is posted when every one of its batches has reached a final state, and
retired only when every target was posted (or deliberately not: closed pull requests) and the manifest of
its resubmitted requests, if any, is stored (store before retire). Anything that fails leaves the manifest
in place; markers make the next run pick up exactly where this one stopped. After the stored manifests,
batches of ours that no stored manifest covers are adopted from their manifest copy (adoption.py).
"""

from __future__ import annotations

import datetime as dt
import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import adoption
from .anchoring import Placement, cap_inline, normalize_path, suggestion_block
from .compose import TargetReport, check_conclusion, check_output, inline_body, review_bodies
from .diffs import line_hash
from .errors import BatchReviewError, ConfigError, StateError, UsageError
from .manifest import Manifest
from .markers import Identity, Marker, fingerprint, marker_of, read_fingerprints
from .pricing import actual_cost, format_usd
from .resubmit import resubmit_expired
from .results import RequestResult, parse_output_lines
from .resume import resume_batches
from .review import build_report
from .sarif import sarif_log
from .services import BATCH_PENDING, BatchAPIError, GitHubError
from .store import Pending

MAX_INLINE = 30  # reviewdog's cap per review, well clear of GitHub's abuse limits
RATE_RESERVE = 50  # stop posting when fewer GitHub requests than this are left: the next poll goes on
RESUME_AFTER = dt.timedelta(minutes=15)  # a younger manifest without batch ids may belong to a running submit


def _older_than(created_at: str, age: dt.timedelta, now: dt.datetime) -> bool:
    try:
        created = dt.datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        return True
    return now - created >= age


@dataclass
class BatchRow:
    manifest: str
    batch_id: str
    status: str
    targets: str
    completed: int
    failed: int
    total: int
    created_at: int | None
    expires_at: int | None


@dataclass
class PollResult:
    rows: list[BatchRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # reported; nothing to retry
    failures: list[str] = field(default_factory=list)  # a service failed: left pending, the run exits 1
    bugs: list[str] = field(default_factory=list)  # an unexpected exception, with its traceback: exits 1
    notes: list[str] = field(default_factory=list)
    reviews_posted: int = 0
    check_runs_posted: int = 0
    write_requests: int = 0
    pending_batches: int = 0
    retired: int = 0
    resubmitted_batches: list[str] = field(default_factory=list)
    inline: int = 0
    in_body: int = 0
    moved_after_422: int = 0
    usage: dict[str, dict] = field(default_factory=dict)  # model -> token totals
    reports: list[TargetReport] = field(default_factory=list)
    sarif_files: list[Path] = field(default_factory=list)
    seen: adoption.Seen | None = None  # what the store listed
    derived: set[str] = field(default_factory=set)  # digests of the manifests this run resubmitted
    rate_limited: bool = False  # stopped posting to keep the token's rate budget: the rest waits

    def add_usage(self, model: str, r: RequestResult) -> None:
        totals = self.usage.setdefault(model, {"requests": 0, "input_tokens": 0, "cached_input_tokens": 0,
                                               "output_tokens": 0, "reasoning_tokens": 0})
        totals["requests"] += 1
        for key in ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens"):
            totals[key] += int(getattr(r.usage, key, 0) or 0)


@dataclass
class PollContext:
    cfg: object
    store: object
    client: object  # openai_batches.BatchClient
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
        _run_poll(ctx, result)
        _adopt_orphans(ctx, result)
    return result


def _run_poll(ctx: PollContext, result: PollResult) -> None:
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
        report_on_commits(ctx, result, damaged.name, damaged.message, damaged.targets, damaged.digest)
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
        targets = [(key, t["head_sha"]) for key, t in pending.manifest.targets.items()]
        report_on_commits(ctx, result, pending.name, message, targets, pending.manifest.digest())
    except Exception:  # noqa: BLE001 - a bug: shown with its traceback, the others still proceed
        result.bugs.append(f"{pending.name}: unexpected error (a bug in batch-review, please report it):\n"
                           f"{traceback.format_exc().rstrip()}")


def report_on_commits(ctx: PollContext, result: PollResult, name: str, message: str,
                      targets: list[tuple[str, str]], digest: str) -> None:
    """A check run on each commit a manifest we cannot use names, so the problem shows where the review
    was expected. It is named apart from the review check run, so it never counts as a posted review."""
    if ctx.github is None or ctx.publisher is None or ctx.dry_run:
        return
    output = {"title": "batch-review could not use this review's manifest",
              "summary": f"The manifest `{name}` was not used; nothing was posted from it:\n\n"
                         f"    {' '.join(message.split())[:2000]}\n\nThe next submit reviews this commit again once the manifest "
                         "is retired or expires."}
    for key, head_sha in targets:
        try:
            posted = ctx.publisher.post_check_run(
                name=f"{ctx.cfg.output.check_name}: problem", head_sha=head_sha,
                marker=Marker(key, head_sha, digest), output=output, annotations=[], conclusion="neutral")
        except GitHubError as exc:
            result.notes.append(f"{name}: could not report the problem on {head_sha[:12]}: {exc}")
            continue
        result.check_runs_posted += posted.check_runs
        result.write_requests += posted.requests


def batch_states(ctx: PollContext, pending: Pending, result: PollResult) -> list[object | None] | None:
    """The state of each batch, or None when the batches do not belong to this manifest."""
    m = pending.manifest
    digest = m.digest()
    if any(not b.get("id") for b in m.batches):
        found = {s.metadata.get("part"): s for s in ctx.client.find_by_metadata(digest)}
        for b in m.batches:
            state = found.get(f"{b['index'] + 1}/{len(m.batches)}")
            if not b.get("id") and state is not None:
                b["id"] = state.id
                result.notes.append(f"{pending.name}: recovered batch {state.id} that the submit run did not record")
        missing = [b for b in m.batches if not b.get("id")]
        if missing and not ctx.dry_run and _older_than(m.created_at, RESUME_AFTER, ctx.now()):
            for batch_id in resume_batches(ctx.client, ctx.cfg, pending, missing, log=ctx.log):
                result.notes.append(f"{pending.name}: the submit run stopped before creating a batch; "
                                    f"created it now as {batch_id}")
    states: list[object | None] = []
    for b in m.batches:
        if not b.get("id"):
            states.append(None)
            continue
        state = ctx.client.retrieve(b["id"])
        if state.metadata.get("manifest_digest") != digest:
            result.problems.append(
                f"{pending.name}: batch {b['id']} metadata does not carry this manifest's digest: "
                "the manifest was altered or belongs to another run; nothing posted")
            return None
        states.append(state)
        counts = state.request_counts or {}
        result.rows.append(BatchRow(
            pending.name, state.id, state.status, ", ".join(_labels(m)), int(counts.get("completed", 0)),
            int(counts.get("failed", 0)), int(counts.get("total", b.get("requests", 0))), state.created_at,
            state.expires_at))
    return states


def _labels(m: Manifest) -> list[str]:
    return [f"#{t['number']}" if t["kind"] == "pull" else f"{t['base_ref']}...{t['head_ref']}"
            for t in m.targets.values()]


def status_rows(listing, client) -> list[BatchRow]:
    """`status`: one row per batch of every pending manifest, as the service reports it now."""
    rows: list[BatchRow] = []
    for pending in listing.pending:
        labels = ", ".join(_labels(pending.manifest))
        for b in pending.manifest.batches:
            if not b.get("id"):
                rows.append(BatchRow(pending.name, "-", "not created", labels, 0, 0, b.get("requests", 0), None, None))
                continue
            s = client.retrieve(b["id"])
            c = s.request_counts or {}
            rows.append(BatchRow(pending.name, s.id, s.status, labels, c.get("completed", 0), c.get("failed", 0),
                                 c.get("total", b.get("requests", 0)), s.created_at, s.expires_at))
    return rows


def collect_results(ctx: PollContext, m: Manifest, states: list, result: PollResult
                    ) -> dict[str, RequestResult]:
    results: dict[str, RequestResult] = {}
    for b, state in zip(m.batches, states, strict=True):
        expected = [cid for cid, r in m.requests.items() if r["batch"] == b["index"]]
        if state.status == "failed":
            first = state.errors[0] if state.errors else {}
            code = first.get("code") or "batch_failed"
            message = first.get("message") or "the batch failed validation"
            for cid in expected:
                results[cid] = RequestResult.failure(cid, code, message)
            result.problems.append(f"batch {state.id} failed: {code}: {message}")
            continue
        output = ctx.client.download(state.output_file_id) if state.output_file_id else ""
        errors = ctx.client.download(state.error_file_id) if state.error_file_id else ""
        parsed = parse_output_lines(output, errors, expected)
        if parsed.malformed_lines and parsed.missing:
            # results we cannot read while some are missing: a damaged download, not the model's doing
            raise BatchAPIError(f"batch {state.id}: {len(parsed.malformed_lines)} unreadable result line(s) and "
                                f"{len(parsed.missing)} request(s) without a result; downloading again next run")
        for cid in parsed.unknown_ids:
            result.problems.append(f"batch {state.id}: result for unknown custom_id {cid!r} ignored")
        for cid in parsed.duplicates:
            result.problems.append(f"batch {state.id}: custom_id {cid!r} answered twice; the first kept")
        for line_no, reason in parsed.malformed_lines:
            result.problems.append(f"batch {state.id}: output line {line_no} unreadable: {reason}")
        results.update(parsed.by_id)
        for cid, r in parsed.by_id.items():
            if r.usage is not None:
                result.add_usage(m.requests[cid].get("model", m.model), r)
    return results


def _poll_manifest(ctx: PollContext, pending: Pending, result: PollResult) -> None:
    m = pending.manifest
    if ctx.github is not None and m.repository != ctx.github.repository:
        result.problems.append(f"{pending.name}: manifest is for {m.repository}, not {ctx.github.repository}")
        return
    states = batch_states(ctx, pending, result)
    if states is None:
        return
    waiting = [s for s in states if s is None or s.status in BATCH_PENDING]
    if waiting:  # None: a batch its submit run has not created yet (it may still be running)
        result.pending_batches += len(waiting)
        return
    results = collect_results(ctx, m, states, result)
    expired = {cid for cid, r in results.items()
               if r.status in ("error", "missing") and r.error_code in ("batch_expired", None)
               and _state_of(m, states, cid) == "expired"}
    resubmitted: set[str] = set()
    kept = True  # the manifest of the resubmitted requests survives this run whatever happens next
    if expired and m.attempt < ctx.cfg.output.max_resubmits and not ctx.dry_run:
        resubmitted = expired
        if result.seen is None or m.digest() not in result.seen.parents:  # else: already resubmitted and stored
            new, kept = resubmit_expired(ctx.client, pending, sorted(expired), ctx.state_root, log=ctx.log)
            result.derived.add(new.digest())
            result.resubmitted_batches.extend(b["id"] for b in new.batches if b.get("id"))
    elif expired:
        result.notes.append(f"{pending.name}: {len(expired)} request(s) expired "
                            f"{'(dry run: not resubmitted)' if ctx.dry_run else 'after the last resubmission'}")
    all_done = True
    for key in m.targets:
        failed_batch = any(_state_of(m, states, cid) == "failed" for cid in m.requests_for(key))
        if not _post_target(ctx, pending, key, results, resubmitted, result, failed_batch=failed_batch):
            all_done = False
    if all_done and not ctx.dry_run and not kept:
        result.notes.append(f"{pending.name}: kept until the manifest of its resubmitted requests is stored")
    elif all_done and not ctx.dry_run:
        adoption.forget_copies(ctx.client, states)  # first: a retired manifest is never adopted again
        if not isinstance(pending.handle, adoption.Adopted):
            ctx.store.retire(pending)
        result.retired += 1


def _adopt_orphans(ctx: PollContext, result: PollResult) -> None:
    """Process the batches of ours that no stored manifest covers, from their manifest copies."""
    for pending in adoption.adoptable(ctx, result):
        _poll_one(ctx, pending, result)


def _state_of(m: Manifest, states, cid: str) -> str | None:
    return states[m.requests[cid]["batch"]].status


def comment_payload(c) -> dict:
    payload = {"path": c.path, "line": c.line, "side": c.side,
               "body": inline_body(c, suggestion_block(c))}
    if c.start_line is not None and c.start_line != c.line:
        payload["start_line"] = c.start_line
        payload["start_side"] = c.start_side or c.side
    return payload


def _post_target(ctx: PollContext, pending: Pending, key: str, results, resubmitted, result: PollResult, *,
                 failed_batch: bool = False) -> bool:
    """Post one target's review and/or check run. A failed batch also gets a check run on the target,
    so the failure shows on the commit and not only in the job summary."""
    m = pending.manifest
    t = m.targets[key]
    report = build_report(ctx, m, key, results, resubmitted)
    result.reports.append(report)
    if ctx.cfg.output.sarif_dir:
        result.sarif_files.append(write_sarif(ctx, m, report))
    if ctx.github is None or ctx.dry_run:
        result.inline += len(report.inline)
        result.in_body += len(report.unplaced)
        return ctx.github is None  # local: the report is printed; dry run: nothing retired
    if rate_budget_low(ctx, result):
        return False
    if t["kind"] == "pull":
        pull = ctx.github.open_pull(int(t["number"]))  # one listing per run, not a request per pull request
        if pull is None and not ctx.cfg.output.post_on_closed:
            pull = ctx.github.pull(int(t["number"]))  # closed since submission: once, then retired
            result.notes.append(f"{report.label} is {'merged' if pull.merged else 'closed'}: nothing posted")
            return True
        report.current_head = (pull or ctx.github.pull(int(t["number"]))).head_sha
    marker = Marker(key, t["head_sha"], m.digest(), base=t.get("base_sha", ""))
    mode = ctx.cfg.output.mode
    shown = report  # what the developer sees inline and in the body, for the placement figures
    if t["kind"] == "pull" and mode in ("review", "both"):
        shown, report = _post_review(ctx, m, report, marker, result)
    if t["kind"] != "pull" or mode in ("check", "both") or failed_batch:
        output, annotations = check_output(report)
        if failed_batch:
            output["title"] = "The review batch failed: see the details"
        posted = ctx.publisher.post_check_run(
            name=ctx.cfg.output.check_name, head_sha=t["head_sha"], marker=marker, output=output,
            annotations=annotations, conclusion=check_conclusion(report.findings, ctx.cfg.output.fail_on))
        result.check_runs_posted += posted.check_runs
        result.write_requests += posted.requests
    result.inline += len(shown.inline)
    result.in_body += len(shown.unplaced)
    return True


def _post_review(ctx: PollContext, m: Manifest, report: TargetReport, marker: Marker, result: PollResult
                 ) -> tuple[TargetReport, TargetReport]:
    """Post the pull request review through the claim (publish.py). (what the review shows, the report
    without what our earlier reviews already said, for the check run)."""
    files = m.files.get(report.key, {})
    digest = m.digest()
    identity = getattr(ctx.publisher, "identity", None) or Identity(ctx.cfg.output.bot_login)
    versions: dict[tuple[bool, frozenset], TargetReport] = {}

    def version(inline_ok: bool, reviews) -> TargetReport:
        """The review as posted: without what our earlier reviews said, inline capped; with inline
        False (GitHub refused an inline comment) every finding in the body."""
        earlier = frozenset(earlier_fingerprints(reviews, marker, identity))
        if (inline_ok, earlier) not in versions:
            rep = drop_repeated(report, files, earlier)
            capped = cap_inline(Placement(rep.inline, rep.unplaced), MAX_INLINE)
            rep = replace(rep, inline=capped.inline, unplaced=capped.unplaced)
            if not inline_ok:
                rep = replace(rep, inline=[], unplaced=rep.unplaced + [
                    (c.finding, "GitHub did not accept it as an inline comment") for c in rep.inline])
            versions[(inline_ok, earlier)] = rep
        return versions[(inline_ok, earlier)]

    last: list = [[]]  # the listing the review was last built from

    def build(inline_ok: bool, reviews):
        last[0] = reviews
        rep = version(inline_ok, reviews)
        return review_bodies(rep, digest, marker.base), [comment_payload(c) for c in rep.inline]

    posted = ctx.publisher.post_review(int(m.targets[report.key]["number"]), marker.head, marker, build)
    result.reviews_posted += posted.reviews
    result.write_requests += posted.requests
    if posted.inline_moved_to_body:
        result.moved_after_422 += len(version(True, last[0]).inline)
    return (version(not posted.inline_moved_to_body, last[0]),
            drop_repeated(report, files, earlier_fingerprints(last[0], marker, identity)))


def write_sarif(ctx: PollContext, m: Manifest, report: TargetReport) -> Path:
    files = m.files.get(report.key, {})
    fingerprints = {id(c.finding): finding_fingerprint(files, c.finding) for c in report.inline}
    fingerprints.update({id(f): finding_fingerprint(files, f) for f, _ in report.unplaced})
    log = sarif_log(report, tool_version=m.tool.removeprefix("batch-review ") or "0", fingerprints=fingerprints)
    path = Path(ctx.cfg.output.sarif_dir) / f"{report.key}.sarif"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(log, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def earlier_fingerprints(reviews, marker: Marker, identity: Identity) -> set[str]:
    """Fingerprints of the findings our earlier reviews of this target posted (not this posting's own):
    from submitted reviews our identity wrote, out of their leading block only. A fingerprint anyone else
    writes would hide a finding."""
    fps: set[str] = set()
    for review in reviews:
        if getattr(review, "pending", False):
            continue
        ours = marker_of(review, identity)
        if ours and ours.target == marker.target and not ours.same_posting(marker):
            fps |= read_fingerprints(review.body)
    return fps


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


def finding_fingerprint(files: dict, f) -> str:
    path = normalize_path(f.path) if f.path not in files else f.path
    hashes = (files.get(path) or {}).get("crc") or []
    return fingerprint(path, f.side, line_hash(hashes, f.line) if f.side == "RIGHT" else None, f.title)


def drop_repeated(report: TargetReport, files: dict, earlier: set[str]) -> TargetReport:
    """The report without findings an earlier review already posted; the rest carry their fingerprints."""
    inline = [c for c in report.inline if finding_fingerprint(files, c.finding) not in earlier]
    unplaced = [(f, why) for f, why in report.unplaced if finding_fingerprint(files, f) not in earlier]
    repeated = len(report.inline) + len(report.unplaced) - len(inline) - len(unplaced)
    fingerprints = [finding_fingerprint(files, c.finding) for c in inline] + [
        finding_fingerprint(files, f) for f, _ in unplaced]
    return replace(report, inline=inline, unplaced=unplaced, repeated=repeated, fingerprints=fingerprints)


def cost_rows(cfg, usage: dict[str, dict]) -> list[list[str]]:
    rows = []
    for model, t in sorted(usage.items()):
        cost = actual_cost(model, t, cfg.prices)
        rows.append([model, t["requests"], f"{t['input_tokens']:,}", f"{t['cached_input_tokens']:,}",
                     f"{t['output_tokens']:,}", format_usd(cost.batch_usd) if cost else "unknown price",
                     format_usd(cost.standard_usd) if cost else "unknown price"])
    return rows
