"""Expired batches: the requests that did not finish go out again as a new batch with its own manifest.

The new manifest is derived deterministically from the old one (same content gives the same digest), so
a poll killed after creating the batch but before saving the manifest finds that batch again through its
metadata instead of submitting the same requests twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from .batchfile import BatchFileWriter
from .errors import ManifestError
from .manifest import Manifest
from .store import Pending


def derive_manifest(old: Manifest, custom_ids: Sequence[str]) -> Manifest:
    wanted = set(custom_ids)
    keys = {old.requests[cid]["target"] for cid in wanted}
    paths = {(old.requests[cid]["target"], old.requests[cid]["path"]) for cid in wanted}
    return Manifest(
        repository=old.repository, endpoint=old.endpoint, model=old.model, provider=dict(old.provider),
        created_at=old.created_at, tool=old.tool, attempt=old.attempt + 1, parent=old.digest(),
        targets={k: v for k, v in old.targets.items() if k in keys},
        requests={cid: dict(r) for cid, r in old.requests.items() if cid in wanted},
        files={k: {p: r for p, r in files.items() if (k, p) in paths} for k, files in old.files.items() if k in keys},
    )


def input_lines(directory: Path, wanted: set[str]):
    """(custom_id, line bytes) for the wanted requests, read from the old run's input files."""
    for path in sorted(directory.glob("input-*.jsonl")):
        with path.open("rb") as fh:
            for line in fh:
                if not line.strip():
                    continue
                cid = json.loads(line).get("custom_id")
                if cid in wanted:
                    yield cid, line if line.endswith(b"\n") else line + b"\n"


def resubmit_expired(client, pending: Pending, custom_ids: Sequence[str], state_root: Path, *,
                     log: Callable[[str], None] = print) -> Manifest:
    old = pending.manifest
    new = derive_manifest(old, custom_ids)
    run_dir = state_root / f"{pending.name}-retry{new.attempt}"
    writer = BatchFileWriter(run_dir)
    found = set()
    for cid, line in input_lines(pending.directory, set(custom_ids)):
        new.requests[cid]["batch"] = writer.add(cid, old.requests[cid].get("model", old.model), old.endpoint, line)
        found.add(cid)
    missing = set(custom_ids) - found
    if missing:
        writer.discard()
        raise ManifestError(f"{pending.name}: input lines of {len(missing)} expired request(s) are not in the "
                           "artifact; cannot resubmit them")
    parts = writer.close()
    new.batches = [p.to_json() for p in parts]
    new.save(run_dir)
    digest = new.digest()
    existing = {s.metadata.get("part"): s for s in client.find_by_metadata(digest)}
    for part, entry in zip(parts, new.batches, strict=True):
        state = existing.get(f"{part.index + 1}/{len(parts)}")
        if state is None:
            entry["input_file_id"] = client.upload(part.path)
            state = client.create(entry["input_file_id"], new.endpoint, new.batch_metadata(part.index))
        else:
            entry["input_file_id"] = state.input_file_id
        entry["id"] = state.id
        new.save(run_dir)
        log(f"resubmitted {part.requests} expired request(s) of {pending.name} as batch {state.id}")
    return new
