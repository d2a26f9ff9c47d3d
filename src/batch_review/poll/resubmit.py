"""Expired batches: the requests that did not finish go out again as a new batch with its own manifest.

The new manifest is derived deterministically from the old one (same parent and same expired requests
give the same digest: fields are copied, lines are read in part order, parts split by model the same
way), so a poll killed after creating the batch but before its manifest was stored derives it again,
finds that batch through its metadata instead of submitting the same requests twice, and writes the
manifest out again.

Store before retire: the new manifest's copy is uploaded to the batch service before its batch is
created, so once the batch exists a later poll can always adopt it (adoption.py), whatever happens to
the workflow's upload step. `resubmit_expired` says whether that copy exists; without it the old
manifest must stay until the new one is seen in the store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from ..core.errors import ManifestError
from ..core.vocabulary import counted
from ..findings.results import RequestResult
from ..ledger.batchfile import BatchFileWriter, BatchPart
from ..ledger.manifest import BatchRecord, Manifest, RequestRecord, provider_record
from ..ledger.send import found_by_digest, send_batches
from ..ledger.store import Pending
from ..providers.base import BatchProvider, BatchState, expired_only


def expired_requests(records: Mapping[str, RequestRecord], states: list[BatchState], results: Mapping[str, RequestResult],
                     resubmittable: Callable[[RequestResult, str], bool] = expired_only) -> set[str]:
    """What a resubmission sends again (pure), by the provider's rule (providers.BatchProvider.resubmittable;
    OpenAI's: the requests of expired batches that have no answer)."""
    return {cid for cid, r in results.items() if resubmittable(r, states[records[cid].batch].status)}


def derive_manifest(old: Manifest, custom_ids: Sequence[str]) -> Manifest:
    wanted = set(custom_ids)
    keys = {old.requests[cid].target for cid in wanted}
    paths = {(old.requests[cid].target, path) for cid in wanted for path in old.requests[cid].paths}
    return Manifest(
        repository=old.repository, endpoint=old.endpoint, model=old.model, provider=provider_record(old.provider),
        created_at=old.created_at, tool=old.tool, attempt=old.attempt + 1, parent=old.digest(), version=old.version,
        targets={k: t for k, t in old.targets.items() if k in keys},
        requests={cid: r for cid, r in old.requests.items() if cid in wanted},
        files={k: {p: f for p, f in files.items() if (k, p) in paths} for k, files in old.files.items() if k in keys},
    )


def _part_data(client: BatchProvider, pending: Pending, entry: BatchRecord) -> tuple[bytes, str] | None:
    """(bytes, where from) of one input part: the stored file, else the upload it recorded, else None."""
    local = pending.directory / entry.file
    if local.is_file() and local.parent == pending.directory:
        return local.read_bytes(), local.name
    if entry.input_file_id:
        return client.download_bytes(entry.input_file_id), f"input file {entry.input_file_id}"
    return None


def input_lines(client: BatchProvider, pending: Pending, wanted: set[str]) -> Iterator[tuple[str, bytes]]:
    """(custom_id, line bytes) for the wanted requests, in part order: from the stored input files, or
    (an adopted manifest has none) downloaded from the batch service and checked against the manifest."""
    m = pending.manifest
    parts = {m.requests[cid].batch for cid in wanted}
    for entry in (b for b in m.batches if b.index in parts):
        found = _part_data(client, pending, entry)
        if found is None:
            continue
        data, source = found
        if hashlib.sha256(data).hexdigest() != entry.input_sha256:
            raise ManifestError(f"{pending.name}: {source} of part {entry.index + 1} is not the one the manifest "
                               "recorded (input_sha256); cannot resubmit")
        for line in data.splitlines(keepends=True):
            if not line.strip():
                continue
            cid = json.loads(line).get("custom_id")
            if cid in wanted:
                yield cid, line if line.endswith(b"\n") else line + b"\n"


def _write_inputs(client: BatchProvider, pending: Pending, new: Manifest, custom_ids: Sequence[str],
                  run_dir: Path) -> list[BatchPart]:
    """The expired requests' input lines written as the new manifest's batch files; their parts."""
    old = pending.manifest
    writer = BatchFileWriter(run_dir)
    found = set()
    for cid, line in input_lines(client, pending, set(custom_ids)):
        new.requests[cid] = replace(new.requests[cid], batch=writer.add(cid, old.requests[cid].model, old.endpoint, line))
        found.add(cid)
    missing = set(custom_ids) - found
    if missing:
        writer.discard()
        raise ManifestError(f"{pending.name}: input lines of {counted(len(missing), 'expired request')} are not in the "
                           "artifact; cannot resubmit them")
    return writer.close()


def resubmit_expired(client: BatchProvider, pending: Pending, custom_ids: Sequence[str], state_root: Path, *,
                     log: Callable[[str], None] = print) -> tuple[Manifest, bool]:
    """(the new manifest, whether the batch service keeps its copy). The manifest is also written under
    `state_root` for the workflow's upload step. Batches of the same derived manifest that a killed poll
    created are found by its digest and reused, with the copy they name."""
    new = derive_manifest(pending.manifest, custom_ids)
    run_dir = state_root / f"{pending.name}-retry{new.attempt}"
    parts = _write_inputs(client, pending, new, custom_ids, run_dir)
    new.batches = [BatchRecord.of(p) for p in parts]
    new.save(run_dir)
    sent = send_batches(client, new, {p.index: p.path for p in parts}, found=found_by_digest(client, new), log=log,
                        save=lambda: new.save(run_dir),
                        said=lambda b, state: f"resubmitted {counted(b.requests, 'expired request')} of {pending.name} as "
                                              f"batch {state.id}")
    return new, sent.copy is not None
