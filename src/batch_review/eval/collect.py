"""Going on with an eval that was sent: its batches' states, then (once every one has ended) its results
kept in the record, then the scores and the report.

The batches are the record's, proven: each must be vouched for by the batch service as carrying this
eval's digest (`vouches`; Anthropic proves it on the results' custom_ids), else nothing is read. Results
are read by poll's own reader (adapter.collect_results: every request gets exactly one result; foreign,
duplicate or broken lines are reported, a damaged download is read again next time). What is kept of
each answer is what scoring needs: status, and per finding its path, lines, side, severity and title
(model text, clipped; made inert where the report shows it). Usage comes from the batch's own usage when
the service reports it (OpenAI), else from the requests' (Anthropic), priced at the batch rate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from ..core.errors import StateError, UsageError
from ..findings.answers import clip_text
from ..providers.base import BATCH_PENDING
from . import adapter, report
from .journey import EvalContext, Outcome, eval_folder, existing, same_service, send
from .record import EvalRecord
from .scoring import score_record

MAX_TITLE = 200


def go_on(ctx: EvalContext, record: EvalRecord, *, near: int | None = None,
          other: EvalRecord | None = None) -> Outcome:
    """The eval's next step: create what a killed run left uncreated, wait for the batches, collect their
    results once, then write the report (again, from the kept results, on every later call)."""
    if record.results is None:
        if any(not b.get("id") for b in record.batches):
            send(ctx, record, resuming=True)
        client = ctx.batch_client_factory()
        states = states_of(client, record, ctx.folder)
        running = [s for s in states if s.status in BATCH_PENDING]
        if running:
            return Outcome(record, ctx.folder, "running", running=[_row(s) for s in running])
        record.results = gather(client, record, states, ctx.cfg, ctx.now())
        record.save(ctx.folder)
    scores = score_record(record, near)
    path = report.write(ctx.folder, record, scores, other)
    return Outcome(record, ctx.folder, "reported", report=path, scores=scores)


def run_report(ctx: EvalContext, *, near: int | None, compare: str | None) -> Outcome:
    """`eval report`: the report of the eval named ctx.name (collected first if its batch has ended), side
    by side with the eval named `compare` when given, which must have its results already."""
    record = existing(ctx.folder)
    if record is None:
        raise UsageError(f"--name: no eval {ctx.name!r} in {ctx.folder.parent} (start it with `batch-review eval "
                         f"--name {ctx.name}`)")
    if record.dry_run:
        raise UsageError(f"--name: eval {ctx.name!r} is a dry run: nothing was sent, so there is nothing to report "
                         f"(run `batch-review eval --name {ctx.name}` to send it)")
    other = None
    if compare is not None:
        other = existing(eval_folder(ctx.state_root, compare))
        if other is None or other.results is None or compare == ctx.name:
            why = "is the eval itself" if compare == ctx.name else "has no eval there" if other is None else \
                "has no results yet (run `batch-review eval --name NAME` again once its batch has ended)"
            raise UsageError(f"--compare: {compare!r} {why}")
    same_service(ctx, record)
    return go_on(ctx, record, near=near, other=other)


def _row(state) -> str:
    counts = state.request_counts or {}
    return (f"batch {state.id} {state.status} ({_count(counts.get('completed'))}/"
            f"{_count(counts.get('total'))} requests done)")


def states_of(client, record: EvalRecord, folder) -> list:
    digest, states = record.digest(), []
    for entry in record.batches:
        state = client.retrieve(entry["id"])
        if not client.vouches(state, digest):
            raise StateError(f"{folder}: batch {entry['id']} does not carry this eval's digest: the record was "
                             "altered or names another run's batch; nothing read")
        states.append(state)
    return states


class _Part:
    """What poll's reader needs of a request: the index of its batch part."""

    def __init__(self, batch: int) -> None:
        self.batch = batch


def gather(client, record: EvalRecord, states: list, cfg, now: dt.datetime) -> dict:
    problems: list[str] = []
    parts = {cid: _Part(r["batch"]) for cid, r in record.requests.items()}
    results = adapter.collect_results(client, parts, states, problems, record.digest())
    requests = {cid: {"status": r.status, "error": r.error_code,
                      "findings": [_finding(f) for f in r.findings]} for cid, r in sorted(results.items())}
    usage = usage_of(record, states, results)
    for model, totals in usage.items():
        cost = adapter.actual_cost(model, totals, cfg.prices)
        totals["batch_usd"] = round(cost.batch_usd, 6) if cost else None
    return {"collected_at": now.isoformat().replace("+00:00", "Z"), "requests": requests, "usage": usage,
            "batches": {s.id: s.status for s in states}, "problems": problems[:100]}


def _finding(f) -> dict:
    return {"path": clip_text(f.path, 1000), "line": f.line, "start_line": f.start_line, "side": f.side,
            "severity": f.severity, "title": clip_text(f.title, MAX_TITLE)}


def _count(value) -> int:
    """A token count from a service's answer: a non-negative int, anything else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_of(record: EvalRecord, states: list, results: Mapping) -> dict[str, dict]:
    """Token totals per model: the batch's usage when the service reports it, else its requests'."""
    totals: dict[str, dict] = {}
    for entry, state in zip(record.batches, states, strict=True):
        t = totals.setdefault(entry["model"], {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0})
        usage = state.usage if isinstance(state.usage, Mapping) else None
        if usage and (_count(usage.get("input_tokens")) or _count(usage.get("output_tokens"))):
            details = usage.get("input_tokens_details")
            t["input_tokens"] += _count(usage.get("input_tokens"))
            t["cached_input_tokens"] += _count(details.get("cached_tokens")) if isinstance(details, Mapping) else 0
            t["output_tokens"] += _count(usage.get("output_tokens"))
            continue
        for cid, request in record.requests.items():
            r = results.get(cid)
            if request["batch"] == entry["index"] and r is not None and r.usage is not None:
                t["input_tokens"] += _count(r.usage.input_tokens)
                t["cached_input_tokens"] += _count(r.usage.cached_input_tokens)
                t["output_tokens"] += _count(r.usage.output_tokens)
    return totals
