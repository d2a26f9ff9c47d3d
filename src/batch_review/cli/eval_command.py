"""`batch-review eval [report]`: its arguments, the eval journey run, and what it shows.

`eval` mines the repository's history for bug fixes and sends one review per introducing commit as one
batch (`--dry-run`: writes it and the estimate, sends nothing); the same command again goes on with that
eval: the batch's state while it runs, then the report. `eval report` writes the report of an eval whose
batch has ended, side by side with another (`--compare OTHER`). A bad flag, or a flag the step does not
take, is one line naming it (exit 2); over budget is exit 3, as for submit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from pathlib import Path

from ..core.errors import EXIT_OK, UsageError
from ..core.vocabulary import counted
from ..eval.collect import run_report
from ..eval.journey import EvalContext, Outcome, eval_folder, existing, run_eval
from ..eval.mining import Window
from ..eval.szz import DEFAULT_FIX_WORDS, check_words
from ..git.repo import GitRepo
from ..markdown.tables import text_table
from ..planning.pricing import format_usd
from . import actions_log, clients, runtime
from .runtime import Settings

DEFAULT_LIMIT = 100
DEFAULT_NEAR = 3
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MINING_FLAGS = (("--rev", "rev"), ("--since", "since"), ("--limit", "limit"), ("--fix-words", "fix_words"),
                ("--model", "model"), ("--dry-run", "dry_run"))


def _name(text: str) -> str:
    if not _NAME.fullmatch(text) or text in (".", ".."):
        raise argparse.ArgumentTypeError(f"{text!r} is not a name (1 to 64 letters, digits, '.', '_' or '-')")
    return text


def _date(text: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD, or an ISO 8601 time)") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _count(low: int, high: int):
    def parse(text: str) -> int:
        if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from {low} to {high:,}")
        return int(text)
    return parse


def _words(text: str) -> tuple[str, ...]:
    try:
        return check_words(w.strip() for w in text.split(",") if w.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub) -> None:
    p = sub.add_parser(
        "eval", help="score the reviewer on this repository's own bug fixes",
        description="Mine the history for bug fixes, review each commit that introduced a fixed line as submit "
        "would (one batch), then report what the reviews caught. Run it again to go on: the batch's state, "
        "then the report. See docs/eval.md.")
    p.add_argument("step", nargs="?", choices=["report"], help="report: write the report of an eval whose batch "
                   "has ended (with --compare, side by side with another)")
    p.add_argument("--name", type=_name, default="default", help="which eval (its folder under STATE_DIR/eval/)")
    p.add_argument("--config", help="configuration file (default: .github/batch-review.yml if it exists)")
    p.add_argument("--state-dir", default=".batch-review", help="the evals live in its eval/ folder")
    p.add_argument("--repo", default=".", help="the git checkout whose history is mined (default: .)")
    p.add_argument("--rev", help="mine the history of this commit (default: HEAD)")
    p.add_argument("--since", type=_date, help="only fixes and introducing commits committed since this date")
    p.add_argument("--limit", type=_count(1, 100_000), help=f"the N newest introducing commits (default {DEFAULT_LIMIT})")
    p.add_argument("--fix-words", type=_words, help="comma-separated words that make a commit message a fix "
                   f"(default {','.join(DEFAULT_FIX_WORDS)}; whole words, any case)")
    p.add_argument("--near", type=_count(0, 100), help=f"a finding within N lines of a bug line catches it "
                   f"(default {DEFAULT_NEAR})")
    p.add_argument("--model", help="override the configured model")
    p.add_argument("--dry-run", action="store_true", default=None, help="write the batch and its estimate, send nothing")
    p.add_argument("--compare", type=_name, help="with report: the other eval to show side by side")


def _asked(args) -> set[str]:
    return {flag for flag, key in MINING_FLAGS if getattr(args, key) is not None}


def _check_step(args) -> None:
    if args.step == "report":
        for flag in sorted(_asked(args)):
            raise UsageError(f"{flag}: not with `eval report`, which reports on the eval as it was run "
                             "(start another with `batch-review eval --name OTHER`)")
    elif args.compare is not None:
        raise UsageError("--compare: only with `eval report` (batch-review eval report --compare OTHER)")


def cmd_eval(args, settings: Settings) -> int:
    _check_step(args)
    cfg = runtime.load(args, settings)
    git = GitRepo(args.repo)
    git.check()
    state_root = Path(args.state_dir)
    record = existing(eval_folder(state_root, args.name))
    starting = args.step is None and (record is None or record.dry_run)
    if starting:
        runtime.check_prices(cfg, args)
        if not args.dry_run:
            clients.api_key(cfg, settings, why="use --dry-run to build the batch without sending it")
    runtime.writable_state_dir(args)  # the record, the batch files and the report are written there
    since = args.since.astimezone(dt.UTC) if args.since else None
    window = Window(rev=args.rev or "HEAD", since=int(since.timestamp()) if since else None,
                    since_text=since.date().isoformat() if since and since.time() == dt.time() else
                    since.isoformat().replace("+00:00", "Z") if since else "",
                    limit=args.limit or DEFAULT_LIMIT, words=args.fix_words or DEFAULT_FIX_WORDS)
    ctx = EvalContext(
        cfg=cfg, git=git, repository=runtime.repository(settings, git), state_root=state_root, name=args.name,
        window=window, near=DEFAULT_NEAR if args.near is None else args.near, dry_run=bool(args.dry_run),
        provider={"name": cfg.provider.name, "base_url": clients.provider_base_url(cfg, settings)},
        batch_client_factory=lambda: clients.batch_client(cfg, settings), log=actions_log.echo)
    if args.step == "report":
        outcome = run_report(ctx, near=args.near, compare=args.compare)
    else:
        outcome = run_eval(ctx, asked=_asked(args) | ({"--near"} if args.near is not None else set()))
    show(outcome)
    return EXIT_OK


def show(outcome: Outcome) -> None:
    """What eval prints: its notes, then what happened and what to do next."""
    record, echo = outcome.record, actions_log.echo
    name = record.name
    if outcome.stage in ("planned", "submitted"):
        for note in record.notes:
            echo(f"note: {note}")
        requests = len(record.requests)
        usd = format_usd(record.estimate.get("batch_usd"))
        echo(f"eval {name}: {counted(len(record.cases), 'case')}, {counted(requests, 'request')}, estimated {usd} at the batch price "
             f"(upper bound)")
        if outcome.stage == "planned":
            echo(f"dry run: the batch is in {outcome.folder}; nothing sent")
        else:
            ids = ", ".join(b["id"] for b in record.batches if b.get("id"))
            echo(f"sent as {ids}; run `batch-review eval --name {name}` again once it has ended (within 24 hours) "
                 "for the report")
    elif outcome.stage == "running":
        for row in outcome.running:
            echo(row)
        echo(f"eval {name}: not finished; run it again later for the report")
    else:
        scores = outcome.scores
        echo(text_table(["severity at least", "recall", "caught", "findings/case", "precision"],
                        [[r.threshold, _num(r.recall), f"{r.caught}/{r.cases}", _num(r.per_case), _num(r.precision)]
                         for r in scores.rows]))
        if scores.unanswered:
            echo(f"{counted(len(scores.unanswered), 'case')} without an answer "
                 f"{'is' if len(scores.unanswered) == 1 else 'are'} not counted (see the report)")
        echo(f"report: {outcome.report}")


def _num(value) -> str:
    return "n/a" if value is None else f"{float(value):.2f}"
