"""Poll's batch stage: a manifest's batches found, checked, and their results read.

`find_states` gives each batch's state, in manifest order: a batch the killed submit run created but did
not record is found by the digest in its metadata (`recover_unrecorded`); one it planned but never created
is created by resume.py once the manifest is older than RESUME_AFTER (a younger one may belong to a submit
that is still running). A batch whose metadata does not carry the manifest's digest means the manifest was
altered or belongs to another run: nothing of it is posted. `collect_results` reads the finished batches'
output and error files into one result per custom_id; a damaged download (unreadable lines while some
results are missing) raises BatchAPIError so the next run downloads again.

`batch_row` is the one row per batch that both `poll` and `status` show. The batch client
(providers.BatchProvider) is called here through `find_by_metadata`, `retrieve`, `vouches` and `results`
only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..core.errors import BatchAPIError
from ..findings.results import RequestResult, parse_output_lines
from ..ledger.manifest import BatchRecord, Manifest, RequestRecord
from ..ledger.send import found_by_digest
from ..ledger.store import Listing, Pending
from ..providers.base import BatchProvider, BatchState
from .resume import resume_batches

RESUME_AFTER = dt.timedelta(minutes=15)  # a younger manifest without batch ids may belong to a running submit
USAGE_KEYS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens")


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


def labels(m: Manifest) -> str:
    return ", ".join(t.label for t in m.targets.values())


def batch_row(name: str, targets: str, entry: BatchRecord, state: BatchState | None) -> BatchRow:
    """One manifest batch as the service reports it now (`state` None: not created yet)."""
    if state is None:
        return BatchRow(name, "-", "not created", targets, 0, 0, entry.requests, None, None)
    counts = state.request_counts or {}
    return BatchRow(name, state.id, state.status, targets, int(counts.get("completed", 0)),
                    int(counts.get("failed", 0)), int(counts.get("total", entry.requests)),
                    state.created_at, state.expires_at)


def status_rows(listing: Listing, client: BatchProvider) -> list[BatchRow]:
    """`status`: one row per batch of every pending manifest, as the service reports it now."""
    rows: list[BatchRow] = []
    for pending in listing.pending:
        m = pending.manifest
        for b in m.batches:
            rows.append(batch_row(pending.name, labels(m), b, client.retrieve(b.id) if b.id else None))
    return rows


def older_than(created_at: str, age: dt.timedelta, now: dt.datetime) -> bool:
    try:
        created = dt.datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        return True
    return now - created >= age


def recover_unrecorded(client: BatchProvider, pending: Pending, notes: list[str]) -> None:
    """Batches the submit run created but did not record, found by the manifest's digest and part."""
    m = pending.manifest
    for index, state in sorted(found_by_digest(client, m).items()):
        if not m.batches[index].id:
            m.record(index, id=state.id)
            notes.append(f"{pending.name}: recovered batch {state.id} that the submit run did not record")


def resume_unrecorded(client: BatchProvider, cfg, pending: Pending, notes: list[str], *, now: dt.datetime,
                      log: Callable[[str], None]) -> None:
    """Create the batches a killed submit planned but never created, once it cannot still be running. A
    verify round's manifest was written by a poll, which held the store's lock (or whose workflow stored
    it when the job ended): nothing can still be sending it, so its batches are created at once."""
    m = pending.manifest
    missing = [b for b in m.batches if not b.id]
    if missing and (m.verify is not None or older_than(m.created_at, RESUME_AFTER, now)):
        for batch_id in resume_batches(client, cfg, pending, missing, log=log):
            notes.append(f"{pending.name}: the submit run stopped before creating a batch; created it now as "
                         f"{batch_id}")


def retrieve_states(client: BatchProvider, pending: Pending, problems: list[str]
                    ) -> tuple[list[BatchState | None] | None, list[BatchRow]]:
    """(each batch's state, None where it has no id yet; None when a batch does not carry this manifest's
    digest) and the batches' rows."""
    m = pending.manifest
    digest, targets = m.digest(), labels(m)
    states: list[BatchState | None] = []
    rows: list[BatchRow] = []
    for b in m.batches:
        if not b.id:
            states.append(None)
            continue
        state = client.retrieve(b.id)
        if not client.vouches(state, digest):
            problems.append(f"{pending.name}: batch {b.id} metadata does not carry this manifest's digest: "
                            "the manifest was altered or belongs to another run; nothing posted")
            return None, rows
        states.append(state)
        rows.append(batch_row(pending.name, targets, b, state))
    return states, rows


def _failed(state: BatchState, expected: list[str], problems: list[str]) -> dict[str, RequestResult]:
    """A batch that failed as a whole (validation): every request of it failed, with the batch's error."""
    first = state.errors[0] if state.errors else {}
    code = first.get("code") or "batch_failed"
    message = first.get("message") or "the batch failed validation"
    problems.append(f"batch {state.id} failed: {code}: {message}")
    return {cid: RequestResult.failure(cid, code, message) for cid in expected}


def _downloaded(client: BatchProvider, state: BatchState, expected: list[str], problems: list[str], digest: str) -> dict[str, RequestResult]:
    output, errors = client.results(state, digest)
    parsed = parse_output_lines(output, errors, expected)
    if parsed.malformed_lines and parsed.missing:
        # results we cannot read while some are missing: a damaged download, not the model's doing
        raise BatchAPIError(f"batch {state.id}: {len(parsed.malformed_lines)} unreadable result line(s) and "
                            f"{len(parsed.missing)} request(s) without a result; downloading again next run")
    problems.extend(f"batch {state.id}: result for unknown custom_id {cid!r} ignored" for cid in parsed.unknown_ids)
    problems.extend(f"batch {state.id}: custom_id {cid!r} answered twice; the first kept" for cid in parsed.duplicates)
    problems.extend(f"batch {state.id}: output line {line_no} unreadable: {reason}"
                    for line_no, reason in parsed.malformed_lines)
    return parsed.by_id


def collect_results(client: BatchProvider, records: Mapping[str, RequestRecord], states: list[BatchState],
                    problems: list[str],
                    digest: str = "") -> dict[str, RequestResult]:
    """One result per custom_id of the finished batches (`states` in batch order) of the manifest with
    this digest."""
    results: dict[str, RequestResult] = {}
    for index, state in enumerate(states):
        expected = [cid for cid, r in records.items() if r.batch == index]
        if state.status == "failed":
            results.update(_failed(state, expected, problems))
        else:
            results.update(_downloaded(client, state, expected, problems, digest))
    return results


def add_usage(usage: dict[str, dict], records: Mapping[str, RequestRecord], results: Mapping[str, RequestResult]
              ) -> None:
    """Token totals per model of the requests that report usage, added to `usage`."""
    for cid, r in results.items():
        if r.usage is None or cid not in records:
            continue
        totals = usage.setdefault(records[cid].model, {"requests": 0, **dict.fromkeys(USAGE_KEYS, 0)})
        totals["requests"] += 1
        for key in USAGE_KEYS:
            totals[key] += int(getattr(r.usage, key, 0) or 0)
