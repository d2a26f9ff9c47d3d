"""The eval journey: history -> cases -> requests (as submit builds them) -> budget -> one batch -> the record;
a later call: the batch's state -> results -> scores -> the report.

`run_eval` starts an eval when its folder holds none (or only a dry run), and otherwise goes on with the one
there: while its batch runs it says so, once it has ended it collects the results (collect.py) and writes
the report (report.py). `--dry-run` writes the batch files and the estimate and sends nothing.

Nothing is sent before every case is planned and the budget checked (planning.budget, as submit): over
budget with on_exceed skip is OverBudget (exit 3), nothing written. If creating a batch fails, what was
created is cancelled and uploaded files deleted; what cannot be undone stays recorded, and the next call
goes on with it. Eval never posts to GitHub, never writes a manifest, and its batches carry no
`batch_review` metadata key: no poll reads or adopts them (record.py).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..core.errors import OverBudget, RepositoryError, StateError, UsageError, with_context
from ..core.vocabulary import counted
from ..git.repo import GitRepo
from ..ledger.batchfile import BatchFileWriter
from ..ledger.store import EVAL_DIR, keep_out_of_git, path_inside
from . import adapter
from .mining import Mined, Miner, Window
from .record import FILENAME, Case, EvalRecord

MAX_CASE_REQUESTS = 8  # an introducing change needing more requests is too large to review as one
REPORT_FILES = ("report.md", "recall.png")


@dataclass
class EvalContext:
    cfg: object
    git: GitRepo
    repository: str
    state_root: Path
    name: str
    window: Window
    near: int
    dry_run: bool
    provider: dict  # {"name", "base_url"}
    batch_client_factory: Callable[[], object]
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC).replace(microsecond=0)
    log: Callable[[str], None] = print

    @property
    def folder(self) -> Path:
        return eval_folder(self.state_root, self.name)


@dataclass
class Outcome:
    record: EvalRecord
    folder: Path
    stage: str  # planned (dry run) | submitted | running | reported
    running: list[str] = field(default_factory=list)  # "batch_… in_progress (3/10 done)"
    report: Path | None = None
    scores: object = None  # scoring.Scores once reported


def eval_folder(state_root: Path, name: str) -> Path:
    return Path(state_root) / EVAL_DIR / name


def settings_of(ctx: EvalContext) -> dict:
    w = ctx.window
    return {"rev": w.rev, "since": w.since_text, "limit": w.limit, "words": list(w.words), "near": ctx.near,
            "model": ctx.cfg.model}


def existing(folder: Path) -> EvalRecord | None:
    path = folder / FILENAME
    return EvalRecord.load(path) if path.exists() else None


def run_eval(ctx: EvalContext, *, asked: set[str]) -> Outcome:
    """Start the eval named ctx.name, or go on with it. `asked`: the mining flags given on the command line;
    going on with an eval that was started differently is refused (one line naming the flag)."""
    from .collect import go_on

    record = existing(ctx.folder)
    if record is None or record.dry_run:
        return start(ctx)
    _same_settings(ctx, record, asked)
    same_service(ctx, record)
    return go_on(ctx, record, near=ctx.near if "--near" in asked else None)


def same_service(ctx: EvalContext, record: EvalRecord) -> None:
    """An eval's batches are read from the service they were sent to: another provider would not know them."""
    sent, now = record.provider.get("name"), ctx.provider.get("name")
    if record.results is None and sent != now:
        raise UsageError(f"eval {record.name!r} was sent through provider {sent}, and the configuration now says "
                         f"{now}: run it with the configuration it was sent with")


def _same_settings(ctx: EvalContext, record: EvalRecord, asked: set[str]) -> None:
    if "--dry-run" in asked:
        raise UsageError(f"--dry-run: eval {record.name!r} is already sent; choose another --name for a dry run, "
                         f"or remove {ctx.folder} to start over")
    wanted, had = settings_of(ctx), record.settings
    for flag, key in (("--rev", "rev"), ("--since", "since"), ("--limit", "limit"), ("--fix-words", "words"),
                      ("--model", "model")):
        if flag in asked and wanted.get(key) != had.get(key):
            raise UsageError(f"{flag}: eval {record.name!r} was started with other settings ({key}: {had.get(key)!r}) "
                             f"and its batch is sent; choose another --name, or remove {ctx.folder} to start over")


# --- starting: mine, plan, write, send --------------------------------------------------------------------

def start(ctx: EvalContext) -> Outcome:
    cfg = ctx.cfg
    if ctx.git.is_shallow():
        raise RepositoryError(f"{ctx.git.toplevel()}: a shallow clone holds too little history to find the commits "
                              "that introduced a bug: run `git fetch --unshallow` (in GitHub Actions, "
                              "actions/checkout with fetch-depth: 0)")
    state_folder = path_inside(ctx.state_root, ctx.git.toplevel())
    mined = Miner(ctx.git, cfg, ctx.window, state_folder=state_folder).mine()
    ctx.log(f"history: {counted(mined.fixes, 'fix commit')} in the window, {mined.blamed} blamed, "
            f"{counted(len(mined.cases), 'introducing commit')}")
    record = EvalRecord(name=ctx.name, repository=ctx.repository, created_at=_stamp(ctx.now()),
                        tool=f"batch-review {__version__}", head=mined.head, settings=settings_of(ctx),
                        notes=list(mined.notes), provider=dict(ctx.provider),
                        endpoint=cfg.provider.batch_url(cfg.endpoint), dry_run=ctx.dry_run)
    plans = _plan(ctx, mined, record, state_folder)
    kept, deferred, note = adapter.apply_budget(cfg, [plan for _, plan in plans])
    if not kept:
        if note:
            raise OverBudget(f"{note} (eval {ctx.name}: {counted(len(plans), 'case')}); narrow it with --limit or --since")
        for line in record.notes:  # why each fix made no case
            ctx.log(f"note: {line}")
        raise UsageError(f"eval {ctx.name}: no case to review in this window ({_why_none(mined, record)})")
    if note:
        record.notes.append(note)
    dropped = {id(p) for p in deferred}
    for case, plan in plans:
        if id(plan) in dropped:
            record.notes.append(f"commit {case.sha[:12]}: left out by the budget")
    chosen = [(case, plan) for case, plan in plans if id(plan) not in dropped]
    _write(ctx, record, chosen)
    if ctx.dry_run:
        return Outcome(record, ctx.folder, "planned")
    send(ctx, record)
    return Outcome(record, ctx.folder, "submitted")


def _stamp(when: dt.datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _why_none(mined: Mined, record: EvalRecord) -> str:
    if not mined.fixes:
        return f"no commit message holds a fix word ({', '.join(record.settings['words'])})"
    return f"{counted(mined.fixes, 'fix commit')}, none with a reviewable introducing commit; see the notes above"


def _plan(ctx: EvalContext, mined: Mined, record: EvalRecord, state_folder: str | None) -> list:
    """(case, plan) of every case worth sending; the others get one note each."""
    cfg, builder_for, keys, out = ctx.cfg, adapter.request_builders(ctx.cfg), set(), []
    for case in mined.cases:
        short = case.sha[:12]
        target = adapter.case_target(ctx.repository, case.sha, case.parent, mined.messages.get(case.sha, ""))
        try:
            plan = adapter.plan_case(ctx.git, cfg, builder_for, target, state_folder=state_folder)
        except RepositoryError as exc:
            record.notes.append(f"commit {short}: cannot diff it ({exc}); skipped")
            continue
        why = _unfit(case, plan, keys)
        if why:
            record.notes.append(f"commit {short}: {why}; skipped")
            continue
        keys.add(plan.target.key)
        out.append((case, plan))
    return out


def _unfit(case: Case, plan, keys: set[str]) -> str | None:
    """Why a case's plan cannot be sent (and trims its bug lines to the files its requests show)."""
    if not plan.specs:
        reasons = sorted({s["reason"] for s in plan.skipped}) or ["empty diff"]
        return f"no reviewable changes ({'; '.join(reasons)[:200]})"
    if len(plan.specs) > MAX_CASE_REQUESTS:
        return f"a change of {len(plan.specs)} requests, over {MAX_CASE_REQUESTS}: too large to review as one"
    if plan.target.key in keys:  # two commits with the same 12-hex prefix: their custom_ids would clash
        return f"its short id clashes with another case's ({plan.target.key})"
    shown = {f.path for spec in plan.specs for f in spec.files}
    lines = {p: n for p, n in case.bug_lines.items() if p in shown}
    if not lines:
        return "its bug lines are all in files its review does not show (excluded, binary or too large)"
    case.unshown = sum(len(n) for p, n in case.bug_lines.items() if p not in shown)
    case.bug_lines, case.key = lines, plan.target.key
    return None


def _write(ctx: EvalContext, record: EvalRecord, chosen: list) -> None:
    """The batch files and the record, in the eval's folder (emptied of an earlier dry run first)."""
    folder = ctx.folder
    keep_out_of_git(ctx.state_root)
    if folder.exists():
        shutil.rmtree(folder)
    writer = BatchFileWriter(folder)
    specs = []
    for case, plan in chosen:
        record.cases.append(case)
        for spec, line in zip(plan.specs, plan.lines, strict=True):
            part = writer.add(spec.custom_id, spec.model, record.endpoint, line)
            record.requests[spec.custom_id] = {
                "case": case.sha, "batch": part, "model": spec.model, "files": [f.path for f in spec.files],
                "est_input_tokens": spec.est_input_tokens, "max_output_tokens": spec.max_output_tokens}
            specs.append(spec)
    record.batches = [_part(p) for p in writer.close()]
    record.estimate = adapter.estimate_of(ctx.cfg, specs)
    record.save(folder)


def _part(p) -> dict:
    """A batch input file as the record keeps it (the fields its digest covers; `input_file_id` and `id`
    are added as it is sent)."""
    return {"index": p.index, "file": p.path.name, "input_sha256": p.sha256, "requests": p.requests,
            "bytes": p.bytes, "model": p.model, "endpoint": p.endpoint}


# --- sending ---------------------------------------------------------------------------------------------

def metadata(record: EvalRecord, index: int) -> dict[str, str]:
    """The eval's batch metadata: its digest (the provider's proof that a batch is this eval's) and part,
    and no `batch_review` key, which is what poll's adoption looks for."""
    return {"batch_review_eval": record.name, "repository": record.repository[:512],
            "manifest_digest": record.digest(), "part": f"{index + 1}/{len(record.batches)}"}


def send(ctx: EvalContext, record: EvalRecord, *, resuming: bool = False) -> None:
    """Upload and create every batch part the record has not created yet, saving after each step. When
    `resuming` an eval a killed run left, a part created but never recorded is found by its metadata."""
    client = ctx.batch_client_factory()
    uploaded, created = [], []
    try:
        for entry in record.batches:
            if entry.get("id"):
                continue
            part = metadata(record, entry["index"])
            found = [s for s in client.find_by_metadata(part["manifest_digest"])
                     if s.metadata.get("part") == part["part"]] if resuming else []
            if found:
                entry["id"] = found[0].id
                record.save(ctx.folder)
                continue
            entry["input_file_id"] = client.upload(_input(ctx.folder, entry["file"]))
            uploaded.append(entry["input_file_id"])
            record.save(ctx.folder)
            state = client.create(entry["input_file_id"], record.endpoint, part)
            entry["id"] = state.id
            created.append(state.id)
            record.save(ctx.folder)
            ctx.log(f"created batch {state.id} ({counted(entry['requests'], 'request')})")
    except Exception as exc:
        leftovers = _undo(client, uploaded, created)
        if leftovers or resuming:
            for entry in record.batches if not leftovers else ():  # undone: created again next time
                if entry.get("id") in created or entry.get("input_file_id") in uploaded:
                    entry["id"] = entry["input_file_id"] = None
            record.save(ctx.folder)
            message = f"{exc}; could not undo: {'; '.join(leftovers)} (recorded in {ctx.folder}: run the eval " \
                      "again to go on)" if leftovers else f"{exc}; run the eval again to go on"
        else:
            shutil.rmtree(ctx.folder, ignore_errors=True)
            message = f"{exc}; nothing submitted"
        reported = with_context(exc, message)
        if reported is None:
            raise
        raise reported from exc


def _input(folder: Path, name: str) -> Path:
    path = folder / name
    if path.is_symlink() or not path.is_file() or path.resolve().parent != folder.resolve():
        raise StateError(f"{path}: the eval's batch file is missing; remove {folder} to start the eval again")
    return path


def _undo(client, uploaded: list[str], created: list[str]) -> list[str]:
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
