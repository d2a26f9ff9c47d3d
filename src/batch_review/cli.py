"""Command line: `batch-review submit | poll | status | cancel | action`; arguments, exit codes, reports.

Exit codes (errors.py): 0 done; 1 a service failed (state left so the next run resumes); 2 bad input,
nothing sent; 3 over budget, nothing sent. Only the product's errors are caught: anything else is a bug
and shows its traceback. Everything printed is redacted (actions_env.redacting_streams).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

from . import __version__, actions_env
from .config import DEFAULT_CONFIG_PATH
from .errors import EXIT_FAILED, EXIT_OK, BatchReviewError, ServiceError, UsageError
from .gitrepo import GitRepo
from .pricing import actual_cost, estimate_cost, format_usd
from .redact import redact
from .report import md_table, text_table
from .runtime import (
    api_key,
    batch_client,
    github_from_env,
    load,
    manifest_store,
    provider_base_url,
    writable_state_dir,
)
from .services import BATCH_PENDING
from .submit import (
    SubmitContext,
    SubmitResult,
    cost_of,
    ensure_commits,
    github_targets,
    local_targets,
    pending_heads,
    posted_heads,
    run_submit,
    tokens_by_model,
)
from .targets import drop_already_done

echo = actions_env.echo


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="batch-review", description="Overnight pull request review through the OpenAI Batch API.")
    parser.add_argument("--version", action="version", version=f"batch-review {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", help=f"configuration file (default: {DEFAULT_CONFIG_PATH} if it exists)")
        p.add_argument("--state-dir", default=".batch-review", help="where manifests are written and read")
        p.add_argument("--artifact-prefix", help="artifact name prefix of the manifests (default: config)")

    p = sub.add_parser("submit", help="build and submit tonight's batches")
    common(p)
    p.add_argument("--dry-run", action="store_true", help="write the batch files and manifest, send nothing")
    p.add_argument("--repo", default=".", help="the git checkout to diff (default: .)")
    p.add_argument("--base", help="review HEAD (or --head) against this ref instead of open pull requests")
    p.add_argument("--head", help="the ref to review against --base (default: HEAD)")
    p.add_argument("--pr", type=int, action="append", default=[], metavar="N", help="only this pull request")
    p.add_argument("--model", help="override the configured model")
    p.add_argument("--artifacts", action="store_true",
                   help="look for pending manifests among workflow artifacts (default inside GitHub Actions)")

    for name, text in (("poll", "post the results of finished batches"),
                       ("status", "show pending batches"),
                       ("cancel", "cancel pending batches")):
        p = sub.add_parser(name, help=text)
        common(p)
        p.add_argument("--artifacts", action="store_true",
                       help="read manifests from workflow artifacts (default inside GitHub Actions)")
        if name == "poll":
            p.add_argument("--dry-run", action="store_true", help="show what would be posted, post nothing")
        if name == "cancel":
            p.add_argument("batch_ids", nargs="*", metavar="BATCH_ID")
            p.add_argument("--all", action="store_true", help="cancel every pending batch")
    sub.add_parser("action", help="run as the GitHub Action (reads the INPUT_* variables)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    actions_env.register_secrets(os.environ)
    sys.excepthook = _redacted_traceback
    with actions_env.redacting_streams():
        try:
            if argv[:1] == ["action"]:
                os.environ.update(actions_env.environment_from_inputs(os.environ))
                argv = actions_env.argv_from_inputs(os.environ)
            args = _parser().parse_args(argv)
            return COMMANDS[args.command](args)
        except BatchReviewError as exc:
            actions_env.error(exc.line())
            return exc.exit_code


def _redacted_traceback(kind, value, tb) -> None:
    """A bug's traceback, as Python prints it, with secrets redacted."""
    import traceback

    sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb))))


# --- submit --------------------------------------------------------------------------------------------

def cmd_submit(args) -> int:
    cfg = load(args)
    git = GitRepo(args.repo)
    git.check()
    local = bool(args.base or args.head)
    gh = None if local else github_from_env(required=bool(args.pr))
    if not args.dry_run:
        api_key(cfg, why="use --dry-run to build the batch without sending it")
    writable_state_dir(args)
    with actions_env.group("Targets"):
        if gh is None:
            repository = os.environ.get("GITHUB_REPOSITORY") or git.remote_repository() or \
                f"local/{git.toplevel().name}"
            targets, skipped = local_targets(git, repository, args.base, args.head), []
        else:
            repository = gh.repository
            targets, skipped = github_targets(gh, cfg, git, only_prs=tuple(args.pr))
        store = manifest_store(args, cfg, gh)
        listing = store.list()
        if listing.failures:  # without every pending manifest, a head could be submitted twice
            raise ServiceError(f"cannot read the pending manifests ({listing.failures[0]}); nothing submitted",
                               transient=True)
        for problem in listing.problems:
            actions_env.warning(problem)
        done, last_reviews = pending_heads(listing), {}
        if gh is not None:
            posted, last_reviews = posted_heads(gh, cfg, targets)
            done |= posted
        targets, already = drop_already_done(targets, done)
        skipped += already
        if gh is not None:
            ensure_commits(git, targets, os.environ.get("GITHUB_TOKEN"))
    ctx = SubmitContext(
        cfg=cfg, git=git, repository=repository, state_root=Path(args.state_dir), dry_run=args.dry_run,
        targets=targets, skipped_targets=skipped, provider_base_url=provider_base_url(cfg),
        batch_client_factory=lambda: batch_client(cfg), log=echo,
        last_reviews=last_reviews,
    )
    with actions_env.group("Build and submit"):
        result = run_submit(ctx)
    report_submit(result, cfg)
    return EXIT_OK


def report_submit(result: SubmitResult, cfg) -> None:
    headers = ["target", "files", "skipped", "requests", "input tokens", "max output tokens",
               "batch cost (max)", "standard cost (max)"]
    rows = []
    for plan in result.plans:
        cost = cost_of(cfg, plan.specs)
        rows.append([
            f"{plan.target.label} {plan.target.title}"[:60].strip(), plan.reviewed_files, len(plan.skipped),
            len(plan.specs), f"{plan.input_tokens:,}", f"{plan.output_tokens:,}",
            format_usd(cost.batch_usd if cost else None), format_usd(cost.standard_usd if cost else None),
        ])
    total_in = sum(p.input_tokens for p in result.plans)
    total_out = sum(p.output_tokens for p in result.plans)
    total = cost_of(cfg, [s for p in result.plans for s in p.specs])
    rows.append(["total", sum(p.reviewed_files for p in result.plans), sum(len(p.skipped) for p in result.plans),
                 result.requests, f"{total_in:,}", f"{total_out:,}",
                 format_usd(total.batch_usd if total else None), format_usd(total.standard_usd if total else None)])
    mode = "dry run" if result.dry_run else "submitted"
    echo(f"batch-review submit ({mode}): {result.repository}, model {result.model}")
    echo(text_table(headers, rows))
    by_model = tokens_by_model([s for p in result.plans for s in p.specs])
    model_headers = ["model", "requests", "input tokens", "max output tokens", "batch cost (max)"]
    model_rows = [[m, n, f"{i:,}", f"{o:,}", format_usd(c.batch_usd if (c := estimate_cost(m, i, o, cfg.prices))
                                                           else None)] for m, (n, i, o) in sorted(by_model.items())]
    if len(model_rows) > 1:
        echo(text_table(model_headers, model_rows))
    for skip in result.skipped_targets:
        echo(f"skipped {skip.what}: {skip.reason}")
    for plan in result.plans:
        if plan.target.since:
            echo(f"{plan.target.label}: incremental review of the changes since {plan.target.since[:12]}")
        if plan.full_review_reason:
            echo(f"{plan.target.label}: full review: {plan.full_review_reason}")
        for item in plan.skipped:
            echo(f"  {plan.target.label} {item['path']}: {item['reason']}")
    if result.budget_note:
        actions_env.warning(result.budget_note)
    if result.manifest_path:
        echo(f"manifest: {result.manifest_path}")
    for batch_id in result.batch_ids:
        echo(f"batch: {batch_id}")
    summary = [f"### batch-review submit ({mode})", "", f"{result.repository}, model `{result.model}`", "",
               md_table(headers, rows), ""]
    if len(model_rows) > 1:
        summary += [md_table(model_headers, model_rows), ""]
    if result.skipped_targets:
        summary += ["Skipped:", ""] + [f"- {s.what}: {s.reason}" for s in result.skipped_targets] + [""]
    if result.batch_ids:
        summary += ["Batches: " + ", ".join(f"`{b}`" for b in result.batch_ids), ""]
    actions_env.append_summary("\n".join(summary) + "\n", os.environ)
    actions_env.set_output("batch-ids", " ".join(result.batch_ids), os.environ)
    actions_env.set_output("requests-submitted", str(0 if result.dry_run else result.requests), os.environ)
    actions_env.set_output("estimated-cost", f"{total.batch_usd:.4f}" if total else "", os.environ)


def poll_context(args, cfg, *, need_github: bool):
    from .poll import PollContext
    from .publish import Publisher

    gh = github_from_env(required=need_github and bool(args.artifacts))
    store = manifest_store(args, cfg, gh)
    writable_state_dir(args)  # resubmissions and SARIF files are written there
    return PollContext(
        cfg=cfg, store=store, client=batch_client(cfg), github=gh,
        publisher=Publisher(gh, log=echo) if gh else None,
        state_root=Path(args.state_dir), dry_run=bool(getattr(args, "dry_run", False)),
        server_url=os.environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/"),
        log=echo,
    )


def _age(created_at: int | None, now: float) -> str:
    if not created_at:
        return "?"
    minutes = int((now - created_at) // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


def _when(ts: int | None) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else "?"


def batch_table(rows) -> tuple[list[str], list[list]]:
    now = time.time()
    headers = ["targets", "batch", "status", "completed", "failed", "total", "age", "latest completion"]
    return headers, [[r.targets, r.batch_id, r.status, r.completed, r.failed, r.total, _age(r.created_at, now),
                      _when(r.expires_at)] for r in rows]


def cmd_poll(args) -> int:
    from .compose import review_bodies
    from .poll import cost_rows, run_poll

    cfg = load(args)
    ctx = poll_context(args, cfg, need_github=True)
    with actions_env.group("Poll batches and post results"):
        result = run_poll(ctx)
    headers, rows = batch_table(result.rows)
    echo(text_table(headers, rows) if rows else "no pending batches")
    for report in result.reports if ctx.github is None or ctx.dry_run else []:
        echo()
        echo("\n".join(review_bodies(report, "0" * 16)))
    for note in result.notes:
        echo(note)
    for problem in result.problems:
        actions_env.warning(problem)
    echo(f"posted: {result.reviews_posted} review(s), {result.check_runs_posted} check run(s); findings inline "
          f"{result.inline}, in the body {result.in_body}; pending batches {result.pending_batches}")
    usage_rows = cost_rows(cfg, result.usage)
    cost_headers = ["model", "requests", "input tokens", "cached", "output tokens", "batch cost", "standard cost"]
    if usage_rows:
        echo(text_table(cost_headers, usage_rows))
    summary = ["### batch-review poll", ""]
    if rows:
        summary += [md_table(headers, rows), ""]
    summary.append(f"Posted {result.reviews_posted} review(s) and {result.check_runs_posted} check run(s); "
                   f"{result.pending_batches} batch(es) still pending.")
    if usage_rows:
        summary += ["", md_table(cost_headers, usage_rows)]
    summary += [f"- {p}" for p in result.failures + result.problems]
    actions_env.append_summary("\n".join(summary) + "\n", os.environ)
    costs = [actual_cost(m, t, cfg.prices) for m, t in result.usage.items()]
    total = sum(c.batch_usd for c in costs if c is not None)
    actions_env.set_output("pending-batches", str(result.pending_batches), os.environ)
    actions_env.set_output("reviews-posted", str(result.reviews_posted), os.environ)
    actions_env.set_output("actual-cost", f"{total:.4f}", os.environ)
    for failure in result.failures:
        actions_env.error(failure)
    return EXIT_FAILED if result.failures else EXIT_OK



def cmd_status(args) -> int:
    from .poll import BatchRow

    cfg = load(args)
    gh = github_from_env(required=bool(args.artifacts))
    store = manifest_store(args, cfg, gh)
    client = batch_client(cfg)
    listing = store.list()
    for problem in listing.failures + listing.problems:
        actions_env.warning(problem)
    rows: list[BatchRow] = []
    for pending in listing.pending:
        labels = ", ".join(f"#{t['number']}" if t["kind"] == "pull" else f"{t['base_ref']}...{t['head_ref']}"
                           for t in pending.manifest.targets.values())
        for b in pending.manifest.batches:
            if not b.get("id"):
                rows.append(BatchRow(pending.name, "-", "not created", labels, 0, 0, b.get("requests", 0), None, None))
                continue
            s = client.retrieve(b["id"])
            c = s.request_counts or {}
            rows.append(BatchRow(pending.name, s.id, s.status, labels, c.get("completed", 0), c.get("failed", 0),
                                c.get("total", b.get("requests", 0)), s.created_at, s.expires_at))
    headers, table = batch_table(rows)
    echo(text_table(headers, table) if table else "no pending batches")
    actions_env.set_output("pending-batches", str(sum(r.status in BATCH_PENDING for r in rows)), os.environ)
    actions_env.append_summary("### batch-review status\n\n" + (md_table(headers, table) if table else
                                                                  "no pending batches") + "\n", os.environ)
    return EXIT_OK


def cmd_cancel(args) -> int:
    cfg = load(args)
    if not args.all and not args.batch_ids:
        raise UsageError("cancel needs BATCH_ID arguments or --all")
    client = batch_client(cfg)
    ids = list(args.batch_ids)
    if args.all:
        gh = github_from_env(required=bool(args.artifacts))
        listing = manifest_store(args, cfg, gh).list()
        ids += [b["id"] for p in listing.pending for b in p.manifest.batches if b.get("id")]
    rows = []
    for batch_id in dict.fromkeys(ids):
        state = client.retrieve(batch_id)
        if state.status in BATCH_PENDING - {"cancelling"}:
            state = client.cancel(batch_id)
        c = state.request_counts or {}
        rows.append([batch_id, state.status, c.get("completed", 0), c.get("failed", 0), c.get("total", 0)])
    headers = ["batch", "status", "completed", "failed", "total"]
    echo(text_table(headers, rows) if rows else "nothing to cancel")
    echo("completed requests are billed; poll posts them once the cancellation finishes")
    return EXIT_OK


COMMANDS = {"submit": cmd_submit, "poll": cmd_poll, "status": cmd_status, "cancel": cmd_cancel}


if __name__ == "__main__":
    sys.exit(main())
