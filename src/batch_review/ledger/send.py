"""The one send routine of submit, resubmit and resume: a manifest's batches put on the batch service,
each step recorded in the manifest and saved before the next.

The order is what every later run relies on (docs/design.md, the manifest's lifecycle):
1. each input file not sent yet is uploaded and its upload recorded (a run killed now leaves the upload
   named: poll resumes from it);
2. the manifest's copy goes to the batch service and every batch names it (adoption.py), unless a batch
   already created for this manifest names one, or the caller makes none (resume: that manifest is
   stored already, which is how poll found it; a copy it records is still named in the metadata);
3. each batch is created from its upload with the manifest's metadata and its id recorded, saved before
   the next is made. A batch that a killed run already created for this manifest (`found`: by its digest
   and part, `found_by_digest`) is recorded instead of created again. A part the provider's queue has
   no room for (`admits` says no, or the service refuses the create: QueueFull) is not created, nor any
   part after it: they are `Sent.waiting`, kept in the manifest without a batch id, and a later poll
   creates them (ledger/queue.py). A batch the queue refused (token_limit_exceeded) is never "found".

`save` writes the manifest where it is kept (None: the caller keeps it). Nothing is undone here: `Sent`
says what this send put on the service, and each journey decides what a failure undoes (submit cancels
and deletes everything, resume deletes the uploads no batch was made from, resubmit leaves it to the next
poll, which finds its batches by digest).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import QueueFull
from .adoption import MANIFEST_FILE, batch_metadata, keep_copy
from .manifest import BatchRecord, Manifest
from .queue import queue_refused

if TYPE_CHECKING:  # the interface only: the ledger imports no provider
    from ..providers.base import BatchProvider, BatchState


@dataclass
class Sent:
    """What one send put on the batch service, so far."""

    uploads: dict[int, str] = field(default_factory=dict)  # batch index -> the upload of its input file
    copy: str | None = None  # the manifest's copy the batches name (uploaded here, or found)
    own_copy: bool = False  # whether this send uploaded that copy
    created: list[str] = field(default_factory=list)  # the batches this send created, in order
    waiting: list[int] = field(default_factory=list)  # parts held back for the provider's queue
    refusal: str | None = None  # the service's answer when it refused a create for its queue

    @property
    def uploaded(self) -> list[str]:
        """Every file this send uploaded, inputs first, then the manifest's copy."""
        return [*self.uploads.values(), *([self.copy] if self.own_copy and self.copy else [])]


def found_by_digest(client: BatchProvider, m: Manifest) -> dict[int, BatchState]:
    """The batches already created for this manifest (its digest in their metadata), by part index."""
    parts = {m.part(i): i for i in range(len(m.batches))}
    found = {}
    for state in client.find_by_metadata(m.digest()):
        index = parts.get(state.metadata.get("part"))
        if index is not None and not queue_refused(state):
            found[index] = state
    return found


def send_batches(client: BatchProvider, m: Manifest, inputs: Mapping[int, Path], *,
                 said: Callable[[BatchRecord, BatchState], str], log: Callable[[str], None] = print,
                 save: Callable[[], object] | None = None, found: Mapping[int, BatchState] | None = None,
                 with_copy: bool = True, sent: Sent | None = None,
                 admits: Callable[[int], bool] | None = None) -> Sent:
    """Create the batches of `inputs` (batch index -> its input file): upload, copy, create, each
    recorded in `m` and saved. `said` is the line logged for each batch created or found; `sent`, when
    given, is filled as the send goes, so that a caller whose send failed knows what exists. `admits`
    (ledger.queue.Queue.admits) says whether a part fits the provider's queue now."""
    sent = Sent() if sent is None else sent
    found = found or {}
    save = save or (lambda: None)
    todo = [i for i in sorted(inputs) if i not in found]
    for i in todo:
        sent.uploads[i] = client.upload(inputs[i])
        m.record(i, input_file_id=sent.uploads[i])
        save()  # a run killed now leaves the upload recorded: poll resumes with it
    if with_copy:
        _copy(client, m, found, bool(todo), sent, log)
        if sent.copy:
            save()
    for i in sorted(inputs):
        state = found.get(i)
        if state is None:
            state = _create(client, m, i, sent, admits)
            if state is None:
                continue
            sent.created.append(state.id)
            record = m.record(i, id=state.id)
        else:
            record = m.record(i, input_file_id=state.input_file_id, id=state.id)
        save()  # every batch is on disk before the next one is made
        log(said(record, state))
    return sent


def _copy(client: BatchProvider, m: Manifest, found: Mapping[int, BatchState], uploads: bool, sent: Sent,
          log: Callable[[str], None]) -> None:
    """The copy the batches found name, else (when there is anything to create) a new one; recorded on
    every batch of the manifest. None when the service keeps no copy."""
    copies = sorted({s.metadata[MANIFEST_FILE] for s in found.values() if s.metadata.get(MANIFEST_FILE)})
    sent.copy = copies[0] if copies else None
    if sent.copy is None and uploads:
        sent.copy = keep_copy(client, m, log)  # records every upload: what an adopting poll needs
        sent.own_copy = sent.copy is not None
    if sent.copy:
        for i in range(len(m.batches)):
            m.record(i, manifest_file=sent.copy)


def _create(client: BatchProvider, m: Manifest, i: int, sent: Sent, admits: Callable[[int], bool] | None
            ) -> BatchState | None:
    """Part `i` created, or None when it waits for the provider's queue (and so does every later part)."""
    if sent.waiting or (admits is not None and not admits(i)):
        sent.waiting.append(i)
        return None
    try:
        return client.create(m.batches[i].input_file_id, m.endpoint, batch_metadata(m, i))
    except QueueFull as exc:
        sent.waiting.append(i)
        sent.refusal = str(exc)
        return None
