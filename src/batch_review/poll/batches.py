"""Poll's batch stage: a manifest's batches found, checked, and their results read.

Each batch's state, in manifest order (`retrieve_states`): a batch the provider's queue refused
(ledger/queue.py: token_limit_exceeded) counts as not created (`clear_refused`): it never ran, and is
never reported as a failed review. A batch the killed submit run created but did not record is found by
the digest in its metadata (`recover_unrecorded`); a part planned but never created (a killed submit, a
part held back for the queue, a refused one) is created by resume.py at the end of the poll, as the
queue has room, once the manifest is older than RESUME_AFTER (a younger one may belong to a submit that
is still running). A batch whose metadata does not carry the manifest's digest means the manifest was
altered or belongs to another run: nothing of it is posted. `collect_results` reads the finished batches'
output and error files into one result per custom_id; a damaged download (unreadable lines while some
results are missing) raises BatchAPIError so the next run downloads again.

`batch_row` is the one row per batch that both `poll` and `status` show. The batch client
(providers.BatchProvider) is called here through `find_by_metadata`, `retrieve`, `vouches` and `results`
only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from ..core.errors import BatchAPIError
from ..core.vocabulary import counted
from ..findings.results import RequestResult, parse_output_lines
from ..ledger.manifest import BatchRecord, Manifest, RequestRecord
from ..ledger.queue import part_tokens, queue_refused, waiting_targets
from ..ledger.send import found_by_digest
from ..ledger.store import Listing, Pending
from ..providers.base import BATCH_PENDING, BatchProvider, BatchState

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
    ended_at: int | None = None  # when the batch finished; None while it runs
    waiting: frozenset = frozenset()  # (manifest, target) of a part that waits for the provider's queue


def labels(m: Manifest) -> str:
    return ", ".join(t.label for t in m.targets.values())


def batch_row(name: str, targets: str, entry: BatchRecord, state: BatchState | None) -> BatchRow:
    """One manifest batch as the service reports it now (`state` None: not created yet)."""
    if state is None:
        return BatchRow(name, "-", "not created", targets, 0, 0, entry.requests, None, None)
    counts = state.request_counts or {}
    status = "refused: waiting for the provider's queue" if queue_refused(state) else state.status
    return BatchRow(name, state.id, status, targets, int(counts.get("completed", 0)),
                    int(counts.get("failed", 0)), int(counts.get("total", entry.requests)),
                    state.created_at, state.expires_at, state.ended_at)


def status_rows(listing: Listing, client: BatchProvider) -> list[BatchRow]:
    """`status`: one row per batch of every pending manifest, as the service reports it now; a part not
    created or refused by the provider's queue names its targets as waiting for the queue."""
    rows: list[BatchRow] = []
    for pending in listing.pending:
        m = pending.manifest
        for b in m.batches:
            state = client.retrieve(b.id) if b.id else None
            row = batch_row(pending.name, labels(m), b, state)
            if state is None or queue_refused(state):
                row.waiting = frozenset((pending.name, key) for key in waiting_targets(m, [b.index]))
            rows.append(row)
    return rows


def older_than(created_at: str, age: dt.timedelta, now: dt.datetime) -> bool:
    try:
        created = dt.datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        return True
    return now - created >= age


def recover_unrecorded(client: BatchProvider, pending: Pending, notes: list[str]) -> dict[int, BatchState]:
    """Batches a run created but did not record (the submit, or a poll that created a part), found by the
    manifest's digest and part; their states by part."""
    m = pending.manifest
    recovered = {}
    for index, state in sorted(found_by_digest(client, m).items()):
        if not m.batches[index].id:
            m.record(index, id=state.id)
            recovered[index] = state
            notes.append(f"{pending.name}: found batch {state.id} of part {index + 1}, which the manifest does "
                         "not record")
    return recovered


def read_recovered(client: BatchProvider, pending: Pending, states: list[BatchState | None],
                   recovered: Mapping[int, BatchState], result) -> bool:
    """The states of the parts just recovered (by digest, or from another stored copy), checked like the
    others and filled into `states`, their rows added to `result` (a PollResult); False when one is not
    this manifest's (reported)."""
    m = pending.manifest
    digest, targets = m.digest(), labels(m)
    for index, b in enumerate(m.batches):
        if states[index] is not None or not b.id:
            continue
        state = recovered.get(index) or client.retrieve(b.id)
        if not client.vouches(state, digest):
            result.problems.append(f"{pending.name}: batch {b.id} metadata does not carry this manifest's digest: "
                                   "the manifest was altered or belongs to another run; nothing posted")
            return False
        result.rows.append(batch_row(pending.name, targets, b, state))
        states[index] = state
    result.refused.setdefault(pending.name, set()).update(clear_refused(pending, states, result.notes))
    return True


def clear_refused(pending: Pending, states: list[BatchState | None], notes: list[str]) -> dict[int, BatchState]:
    """A batch the provider's queue refused never ran and is not billed: its part counts as not created
    (its id cleared, its state None), to be created again when the queue has room; part -> refused batch."""
    m = pending.manifest
    cleared = {}
    for index, state in enumerate(states):
        if state is not None and queue_refused(state):
            m.record(index, id=None)
            states[index] = None
            cleared[index] = state
            notes.append(f"{pending.name}: batch {state.id} (part {index + 1}) was refused by the provider's "
                         "queue (token_limit_exceeded); it goes out again when the queue has room")
    return cleared


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
        raise BatchAPIError(f"batch {state.id}: {counted(len(parsed.malformed_lines), 'unreadable result line')} and "
                            f"{counted(len(parsed.missing), 'request')} without a result; downloading again next run")
    problems.extend(f"batch {state.id}: result for unknown custom_id {cid!r} ignored" for cid in parsed.unknown_ids)
    problems.extend(f"batch {state.id}: custom_id {cid!r} answered twice; the first kept" for cid in parsed.duplicates)
    problems.extend(f"batch {state.id}: output line {line_no} unreadable: {reason}"
                    for line_no, reason in parsed.malformed_lines)
    return parsed.by_id


def collect_results(client: BatchProvider, records: Mapping[str, RequestRecord], states: list[BatchState | None],
                    problems: list[str],
                    digest: str = "") -> dict[str, RequestResult]:
    """One result per custom_id of the finished batches (`states` in batch order) of the manifest with
    this digest."""
    results: dict[str, RequestResult] = {}
    for index, state in enumerate(states):
        if state is None:  # a part still running (a night split for the provider's queue): not read yet
            continue
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


def over_the_queue(m: Manifest, states: list[BatchState | None], limit: int | None) -> list[int]:
    """The parts with no batch that hold more estimated input tokens than budget.max_enqueued_tokens and
    more than one request: made before the key was set (or with a larger one), they can never be sent
    whole. A single request over it is not among them (nothing smaller can be made of it)."""
    if limit is None:
        return []
    tokens = part_tokens(m)
    return [i for i, s in enumerate(states) if s is None and tokens[i] > limit and m.batches[i].requests > 1]


def dropped_parts(pending: Pending, states: list[BatchState | None], limit: int | None, notes: list[str]
                  ) -> tuple[list[int], set[str]]:
    """The parts too large for budget.max_enqueued_tokens (`over_the_queue`) and their targets, once every
    other part is done: left out of this manifest, which is then retired, so the next submit reviews them
    again in batches that fit. Nothing of them was run or posted."""
    m = pending.manifest
    parts = over_the_queue(m, states, limit)
    others = [s for i, s in enumerate(states) if i not in parts]
    if not parts or any(s is None or s.status in BATCH_PENDING for s in others):
        return [], set()
    keys = waiting_targets(m, parts)
    notes.append(f"{pending.name}: {counted(len(parts), 'batch part')} {'holds' if len(parts) == 1 else 'hold'} "
                 f"more input tokens than budget.max_enqueued_tokens ({limit:,}) and never ran; their "
                 f"{counted(len(keys), 'target')} {'is' if len(keys) == 1 else 'are'} left to the next submit, "
                 "which splits them to fit")
    return parts, keys
