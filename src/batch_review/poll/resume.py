"""Creating the batches a manifest lists but has none for: a killed submit's, a part held back for the
provider's queue, a part the queue refused (ledger/queue.py), as the queue has room (`queue`).

A manifest batch without an id is created by poll, but only from the manifest's own input file, checked
first: a plain file directly in the manifest's folder, exactly the size, sha256 and request count the
manifest records, every line a request of this manifest to its endpoint and model with an output token
cap. The file is always uploaded afresh: a recorded `input_file_id` is never reused (in a shared OpenAI
account it could name another repository's file, whose content would be reviewed and posted here). A
folder without the file (a manifest adopted from its copy on the batch service) takes the recorded
upload's content only when its size and sha256 are the manifest's, and uploads those bytes afresh. The
recorded upload is deleted afterwards only when it is plainly the killed run's (name, size, purpose). The
requests then pass the same budget check as a fresh submit (`budget.over_budget`), all parts of the
manifest together, before anything is uploaded. The parts the queue has no room for keep no upload:
a later poll sends them the same way.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ManifestError, OverBudget
from ..core.vocabulary import counted
from ..ledger.adoption import Seen
from ..ledger.checks import show
from ..ledger.manifest import FILENAME, BatchRecord, Manifest
from ..ledger.queue import Queue
from ..ledger.send import Sent, send_batches
from ..ledger.store import Pending, input_path
from ..planning.budget import over_budget
from ..planning.tokenizer import estimate_tokens
from ..providers.base import BatchProvider

_TOKEN_CAPS = ("max_completion_tokens", "max_output_tokens", "max_tokens")


@dataclass(frozen=True)
class Planned:
    """One request of a batch input file, as the budget check sees it."""

    custom_id: str
    model: str
    est_input_tokens: int
    max_output_tokens: int


def checked_input(client: BatchProvider, pending: Pending, b: BatchRecord) -> tuple[Path, list[Planned]]:
    """The input file of manifest batch `b` and its requests, or ManifestError naming what does not match.
    A folder without the file (an adopted manifest has none) gets the recorded upload's content, but only
    when it is exactly the content the manifest records: its bytes are then uploaded afresh like a file's."""
    m = pending.manifest
    where = f"{pending.directory / FILENAME}: batches[{b.index}] ({b.file})"
    path = input_path(pending.directory, b.file, missing_ok=bool(b.input_file_id))
    if not path.exists():
        data = client.download_bytes(b.input_file_id)
        _same(where, len(data), hashlib.sha256(data).hexdigest(), b, f"the upload {b.input_file_id}")
        path.write_bytes(data)
    with path.open("rb") as fh:
        sha = hashlib.file_digest(fh, "sha256").hexdigest()
    _same(where, path.stat().st_size, sha, b, "the file")
    planned = []
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            planned.append(_request(line, f"{where} line {number}", m.endpoint, b.model))
    ids = [p.custom_id for p in planned]
    expected = {cid for cid, r in m.requests.items() if r.batch == b.index}
    if len(planned) != b.requests or len(set(ids)) != len(ids) or set(ids) != expected:
        raise ManifestError(f"{where}: holds {counted(len(planned), 'request')} ({len(set(ids))} distinct), the manifest "
                            f"records {b.requests} and lists {len(expected)} for this batch")
    return path, planned


def _same(where: str, size: int, sha: str, b: BatchRecord, what: str) -> None:
    if size != b.bytes:
        raise ManifestError(f"{where}: {what} has {size:,} bytes, the manifest records {b.bytes:,}")
    if sha != b.input_sha256:
        raise ManifestError(f"{where}: sha256 {sha[:16]}… of {what} is not the manifest's "
                            f"{b.input_sha256[:16]}…: altered, or not this manifest's input")


def _request(line: bytes, where: str, endpoint: str, model: str) -> Planned:
    try:
        doc = json.loads(line)
    except (ValueError, RecursionError):
        raise ManifestError(f"{where}: not a JSON request") from None
    body = doc.get("body") if isinstance(doc, dict) else None
    if not isinstance(body, dict) or not isinstance(doc.get("custom_id"), str):
        raise ManifestError(f"{where}: not a batch request (custom_id, body)")
    if doc.get("method") != "POST" or doc.get("url") != endpoint:
        raise ManifestError(f"{where}: sent to {show(doc.get('url'))}, not the manifest's endpoint {endpoint}")
    if body.get("model") != model:
        raise ManifestError(f"{where}: model {show(body.get('model'))} is not the batch's {model}")
    caps = [body[k] for k in _TOKEN_CAPS if k in body]
    if len(caps) != 1 or isinstance(caps[0], bool) or not isinstance(caps[0], int) or caps[0] < 1:
        raise ManifestError(f"{where}: the request has no single output token cap")
    return Planned(doc["custom_id"], model, estimate_tokens(line.decode("utf-8", "replace")), caps[0])


def resume_batches(client: BatchProvider, cfg, pending: Pending, batches: list[BatchRecord],
                   log: Callable[[str], None] = print, queue: Queue | None = None) -> Sent:
    """Check every listed part, check the budget for all of them, then upload and create each that the
    queue has room for (no new copy of the manifest: it is stored already); what was sent, and what waits.
    A failure, or a part left waiting, deletes the uploads no batch was made from."""
    m: Manifest = pending.manifest
    checked = [(b, *checked_input(client, pending, b)) for b in batches]
    problem = over_budget(cfg, [p for _, _, planned in checked for p in planned])
    if problem:
        raise OverBudget(f"{pending.name}: resuming {counted(len(batches), 'batch')} a killed submit planned: {problem}; "
                         "nothing created")
    sent = Sent()
    try:
        send_batches(client, m, {b.index: path for b, path, _ in checked}, with_copy=False, sent=sent, log=log,
                     admits=queue.admits(m) if queue is not None else None,
                     said=lambda b, state: f"{pending.name}: created batch part {b.index + 1} ({b.requests} "
                                           f"requests) as {state.id}")
    except Exception:
        _unused(client, m, batches, sent, log)
        raise
    finally:
        for b, path, _ in checked:  # `b` as the killed run left it: its recorded upload is not used
            if m.batches[b.index].id:
                _drop_recorded_upload(client, b, path, log)
    _unused(client, m, batches, sent, log)
    return sent


def _unused(client: BatchProvider, m: Manifest, batches: list[BatchRecord], sent: Sent,
            log: Callable[[str], None]) -> None:
    """The uploads of this send that no batch was made from, deleted; those parts' records as they were."""
    before = {b.index: b for b in batches}
    for index, file_id in sent.uploads.items():
        if m.batches[index].id is None:
            _delete(client, file_id, log)
            m.record(index, input_file_id=before[index].input_file_id)


def _delete(client: BatchProvider, file_id: str, log: Callable[[str], None]) -> None:
    try:
        client.delete_file(file_id)
    except Exception as exc:  # noqa: BLE001 - the first error is the one to report
        log(f"could not delete the upload {file_id} ({exc})")


def _drop_recorded_upload(client: BatchProvider, b: BatchRecord, path: Path, log: Callable[[str], None]) -> None:
    """The upload the killed run recorded is not used; delete it when it is plainly that upload (our file
    name and size, purpose batch), so it is not left behind. Anything else under that id is left alone."""
    recorded = b.input_file_id
    if not recorded:
        return
    try:
        info = client.file_info(recorded)
        if info == (path.name, b.bytes, "batch"):
            client.delete_file(recorded)
    except Exception as exc:  # noqa: BLE001 - a leftover upload costs nothing; the batch is created
        log(f"could not delete the earlier upload {recorded} ({exc})")


def keep_resumed(client: BatchProvider, pending: Pending, state_root: Path) -> Path | None:
    """For a service that keeps no batch metadata (providers.BatchProvider.keeps_metadata False), write
    the manifest with the ids this poll created under `state_root` (the run's state folder, which the
    workflow stores), with its input files: this record is the only way the next poll finds them. The
    local store's folder is the manifest's own, saved in place. A service with metadata needs nothing."""
    if client.keeps_metadata:
        return None
    target = state_root / pending.directory.name
    if target.resolve() != pending.directory.resolve():
        shutil.copytree(pending.directory, target, dirs_exist_ok=True)
    pending.manifest.save(target)
    return target


def recover_recorded(pending: Pending, seen: Seen | None, refused: Iterable[str] = ()) -> list[str]:
    """Take the ids that another stored copy of this manifest (same digest: a poll that resumed it and
    stored it again) recorded for the parts this one has none for, except batches the provider's queue
    refused; the notes saying so."""
    m = pending.manifest
    recorded = seen.recorded.get(m.digest(), {}) if seen is not None else {}
    refused = set(refused)
    notes = []
    for b in m.batches:
        batch_id = recorded.get(b.index)
        if not b.id and batch_id and batch_id not in refused:
            m.record(b.index, id=batch_id)
            notes.append(f"{pending.name}: batch part {b.index + 1} is {batch_id}, as a later copy of this "
                         "manifest recorded")
    return notes
