"""Command line: `batch-review submit | poll | status | cancel | eval | action`: arguments in, the journey run, errors mapped to exit codes.

The environment (with the action's inputs as variables) is read once into runtime.Settings; each command
builds its journey's inputs from the arguments and those settings, runs it, and prints through present.py
(submit) or present_poll.py. Exit codes (errors.py): 0 done; 1 a service failed (state left so the next run
resumes); 2 bad input, nothing sent; 3 over budget, nothing sent. Only the product's errors are caught:
anything else is a bug and shows its traceback. Everything printed is redacted (actions_log.redacting_streams).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .. import __version__
from ..config.models import DEFAULT_CONFIG_PATH
from ..core.errors import EXIT_FAILED, EXIT_OK, BatchReviewError, UsageError
from ..git.repo import GitRepo
from ..ledger.adoption import Signed
from ..poll.cancel import cancel_batches, pending_batch_ids
from ..submit.journey import SubmitContext, run_submit
from . import actions_env, actions_log, clients, eval_command, present, present_poll, runtime
from .progress import PlanningProgress
from .runtime import Settings


class _Parser(argparse.ArgumentParser):
    """argparse with bad flags as one line (a UsageError, exit 2) instead of its usage block."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _pull_request(text: str) -> int:
    number = text.removeprefix("#")
    if not number.isdigit() or int(number) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a pull request number")
    return int(number)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="batch-review", description="Overnight pull request review through batch APIs.")
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
    p.add_argument("--pr", type=_pull_request, nargs="+", action="extend", default=[], metavar="N",
                   help="only these pull requests (--pr 3 4, or --pr 3 --pr 4); not with --base/--head")
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
    eval_command.add_parser(sub)
    sub.add_parser("action", help="run as the GitHub Action (reads the INPUT_* variables)",
                   description="Run as the GitHub Action: the command named by INPUT_COMMAND (submit, poll, status "
                   "or cancel) with the flags the other inputs stand for (config, model, dry-run, artifact-prefix, "
                   "pull-requests, state-dir, batch-ids; keys from openai-api-key, anthropic-api-key, "
                   "github-token). See action.yml.")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    actions_env.register_secrets(os.environ)
    sys.excepthook = actions_log.redacted_excepthook
    with actions_log.redacting_streams():
        try:
            environ, via_action = dict(os.environ), argv[:1] == ["action"] and not {"-h", "--help"} & set(argv)
            if via_action and len(argv) > 1:  # the inputs say what to run: a word more is a mistake
                raise UsageError(f"action takes no arguments (it reads the INPUT_* variables), not {argv[1:]!r}")
            if via_action:
                environ.update(actions_env.environment_from_inputs(environ))
                argv = actions_env.argv_from_inputs(environ)
            args = _parser().parse_args(argv)
            args.via_action = via_action
            actions_env.check_output_file(environ)
            return COMMANDS[args.command](args, Settings.from_environ(environ))
        except BatchReviewError as exc:
            actions_log.error(exc.line())
            return exc.exit_code


def cmd_submit(args, settings: Settings) -> int:
    runtime.one_kind_of_target(args)
    cfg = runtime.load(args, settings)
    runtime.check_prices(cfg, args)
    git = GitRepo(args.repo)
    git.check()
    runtime.branch_pair(args, git, settings)
    gh = None if args.base or args.head else clients.github(settings, required=bool(args.pr))
    trust = clients.provenance(cfg, settings, gh.repository if gh else runtime.repository(settings, git))
    if not args.dry_run:
        clients.api_key(cfg, settings, why="use --dry-run to build the batch without sending it")
    runtime.writable_state_dir(args)
    progress = PlanningProgress()
    context = SubmitContext(
        cfg=cfg, git=git, repository=gh.repository if gh else runtime.repository(settings, git),
        state_root=Path(args.state_dir), dry_run=args.dry_run, store=clients.manifest_store(args, cfg, gh, settings),
        provider_base_url=clients.provider_base_url(cfg, settings), github=gh, base=args.base, head=args.head,
        only_prs=tuple(args.pr), fetch_token=settings.github_token or None,
        batch_client_factory=lambda: Signed(clients.batch_client(cfg, settings), trust), log=actions_log.echo,
        warn=actions_log.warning, alert=actions_log.error, group=actions_log.group, progress=progress.update,
        provenance=trust,
    )
    with progress:
        result = run_submit(context)
    present.show_submit(result)
    present.risk(trust if gh is not None else None)
    return EXIT_FAILED if result.store_bugs else EXIT_OK


def poll_context(args, cfg, settings: Settings, *, need_github: bool):
    from ..poll.journey import PollContext
    from ..poll.publish import Publisher

    gh = clients.github(settings, required=need_github and bool(args.artifacts))
    trust = clients.provenance(cfg, settings, gh.repository if gh else settings.github_repository)
    if gh is not None:
        gh.budget.per_minute, gh.budget.per_hour = cfg.output.writes_per_minute, cfg.output.writes_per_hour
    store = clients.manifest_store(args, cfg, gh, settings)
    runtime.writable_state_dir(args)  # resubmissions are written there
    if cfg.output.sarif_dir and not getattr(args, "dry_run", False):
        runtime.writable_dir(cfg.output.sarif_dir, "output.sarif_dir")
    return PollContext(
        cfg=cfg, store=store, client=Signed(clients.batch_client(cfg, settings), trust), github=gh,
        publisher=Publisher(gh, provenance=trust, log=actions_log.echo) if gh else None, provenance=trust,
        state_root=Path(args.state_dir), dry_run=bool(getattr(args, "dry_run", False)), git=GitRepo("."),
        fetch_token=settings.github_token or None,
        server_url=settings.github_server_url,
        log=actions_log.echo,
    )


def cmd_poll(args, settings: Settings) -> int:
    from ..poll.journey import run_poll

    cfg = runtime.load(args, settings)
    ctx = poll_context(args, cfg, settings, need_github=True)
    with actions_log.group("Poll batches and post results"):
        result = run_poll(ctx)
    present_poll.show_poll(result, cfg, show_bodies=ctx.github is None or ctx.dry_run)
    present.risk(ctx.provenance if ctx.github is not None else None)
    return EXIT_FAILED if result.failures or result.bugs else EXIT_OK


def cmd_status(args, settings: Settings) -> int:
    from ..poll.batches import status_rows

    cfg = runtime.load(args, settings)
    store = clients.manifest_store(args, cfg, clients.github(settings, required=bool(args.artifacts)), settings)
    client = clients.batch_client(cfg, settings)
    listing = store.list()
    present_poll.show_status(status_rows(listing, client), listing.failures + listing.problems + listing.bugs)
    return EXIT_OK


def cmd_cancel(args, settings: Settings) -> int:
    cfg = runtime.load(args, settings)
    if not args.all and not args.batch_ids:
        raise UsageError("cancel needs BATCH_ID arguments or --all")
    client = clients.batch_client(cfg, settings)
    ids = list(args.batch_ids)
    if args.all:
        gh = clients.github(settings, required=bool(args.artifacts))
        ids += pending_batch_ids(clients.manifest_store(args, cfg, gh, settings).list())
    present_poll.show_cancel(cancel_batches(client, ids))
    return EXIT_OK


COMMANDS = {"submit": cmd_submit, "poll": cmd_poll, "status": cmd_status, "cancel": cmd_cancel,
            "eval": eval_command.cmd_eval}


if __name__ == "__main__":
    sys.exit(main())
