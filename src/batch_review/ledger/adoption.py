"""Orphans: batches of ours that no stored manifest covers, found on the batch service and adopted.

A run can create a batch and then die before its manifest is stored: a job killed or timed out after
creating it, a submit whose undo failed, a poll whose upload step was skipped after a later failure.
So before any batch is created, a copy of its manifest is uploaded to the batch service (a batch-purpose
file, the one purpose whose content can be downloaded again; it expires with the batch files after 30
days), and every batch's metadata names that copy (`manifest_file`) next to its manifest's digest.

Poll lists the batches of the last 30 days. A batch is ours when its metadata carries `batch_review` and
this repository; its digest is covered when a stored manifest has that digest. An uncovered digest older
than ADOPT_AFTER (younger ones may belong to a run whose upload step has not finished) whose copy still
exists is adopted: the copy is downloaded and processed like a stored manifest, from a scratch folder.

Trust: the metadata and the copy are written by whoever holds the provider key, which may be more people
than those who run our workflows (a shared organisation key, a branch workflow that reads the secret). So
a batch is adopted only when its metadata carries our signature (core/provenance.py: HMAC over the
repository, the manifest digest, the part and the copy's id, with the signing key only default-branch jobs
receive; `Signed` adds it to every batch we create). Without a signing key nothing is adopted: an orphan
is reported in the notes, never posted. The copy is then used only if it parses as a manifest, its digest
equals the signed one, its repository is this repository, and every batch naming it is one of its parts.
Retiring a manifest deletes its copy first, so a retired manifest's batches are never adopted again; the
review markers stop a second posting if that deletion is lost.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import BatchAPIError, ManifestError
from ..core.markers import Identity
from ..core.provenance import Provenance
from ..core.vocabulary import counted, plural
from .manifest import Manifest
from .store import Pending

if TYPE_CHECKING:  # the interface only: the ledger imports no provider
    from ..providers.base import BatchProvider, BatchState

MANIFEST_FILE = "manifest_file"  # batch metadata key: the id of the manifest's copy on the batch service
ADOPT_AFTER = 3600  # seconds: a younger uncovered batch may belong to a run that is still storing its manifest
COPY_EXPIRES = 30 * 86400  # the most a file's expires_after allows, and how long batch-purpose files live anyway
MAX_COPY_BYTES = 64 * 1024 * 1024
_DIGEST = re.compile(r"[0-9a-f]{64}")
_FILE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass(frozen=True)
class Adopted:
    """Pending.handle of an adopted manifest: there is no stored copy to retire, only the service's."""

    file_id: str


@dataclass
class Seen:
    """What the store listed: digests of the readable manifests, and the parents they replace."""

    digests: set[str] = field(default_factory=set)
    parents: set[str] = field(default_factory=set)
    complete: bool = True  # False when an artifact could not be fetched: coverage unknown, adopt nothing
    recorded: dict[str, dict[int, str]] = field(default_factory=dict)  # digest -> part index -> batch id


def seen_in(listing) -> Seen:
    seen = Seen(complete=not listing.failures)
    for pending in listing.pending:
        try:
            seen.digests.add(pending.manifest.digest())
        except Exception:  # noqa: BLE001 - a manifest whose digest cannot be computed covers nothing
            continue
        if isinstance(pending.manifest.parent, str):
            seen.parents.add(pending.manifest.parent)
        ids = {b.index: b.id for b in pending.manifest.batches if b.id}
        if ids:
            seen.recorded.setdefault(pending.manifest.digest(), {}).update(ids)
    return seen


def batch_metadata(m: Manifest, index: int) -> dict[str, str]:
    """The manifest's metadata for batch `index`, plus the id of the manifest's copy when it has one."""
    metadata = m.batch_metadata(index)
    copy = m.batches[index].manifest_file
    if copy is not None and _FILE_ID.fullmatch(copy):
        metadata[MANIFEST_FILE] = copy
    return metadata


def keep_copy(client: BatchProvider, m: Manifest, log: Callable[[str], None]) -> str | None:
    """Upload the manifest's copy; its file id, or None when the service refuses such a file (then only a
    stored manifest can lead a later poll to these batches). A transient failure is raised."""
    data = (json.dumps(m.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    try:
        return client.upload_bytes(f"manifest-{m.digest()[:16]}.jsonl", data, expires_after=COPY_EXPIRES)
    except BatchAPIError as exc:
        if exc.transient:
            raise
        log(f"warning: the batch service keeps no copy of the manifest ({exc}); only the stored manifest "
            "leads to these batches")
        return None


def forget_copies(client: BatchProvider, states: Iterable[BatchState | None]) -> None:
    """Delete the manifest copies named by a manifest's batches (already checked to carry its digest)."""
    for copy in sorted({s.metadata.get(MANIFEST_FILE) for s in states if s is not None} - {None}):
        if isinstance(copy, str) and _FILE_ID.fullmatch(copy):
            client.delete_file(copy)


class Signed:
    """A batch service whose every created batch carries our signature in its metadata (provenance.py);
    everything else is the service's own."""

    def __init__(self, client, provenance: Provenance) -> None:
        self._client = client
        self._provenance = provenance

    def create(self, input_file_id: str, endpoint: str, metadata: dict[str, str]):
        return self._client.create(input_file_id, endpoint, self._provenance.sign_batch(metadata))

    def __getattr__(self, name: str):
        return getattr(self._client, name)


@dataclass
class Orphan:
    digest: str
    manifest: Manifest
    batch_ids: list[str]
    file_id: str

    def pending(self, directory: Path) -> Pending:
        return Pending(f"orphan-{self.digest[:12]}", self.manifest, directory, Adopted(self.file_id))


def _uncovered(states: Iterable[BatchState], repository: str, covered: set[str]) -> dict[str, list[BatchState]]:
    """Our batches (metadata `batch_review`, this repository) by manifest digest, minus the covered ones."""
    groups: dict[str, list] = {}
    for state in states:
        md = state.metadata
        digest = md.get("manifest_digest", "")
        if "batch_review" not in md or md.get("repository") != repository or digest in covered:
            continue
        if isinstance(digest, str) and _DIGEST.fullmatch(digest):
            groups.setdefault(digest, []).append(state)
    return groups


def _copy_of(states: list[BatchState], live: dict[str, int]) -> str | None:
    """The one live manifest copy the batches name; None when it is gone (retired or expired);
    ManifestError when they disagree or it is too large."""
    copies = {s.metadata.get(MANIFEST_FILE) for s in states} - {None}
    if len(copies) != 1:
        raise ManifestError(f"they name different manifest copies ({', '.join(sorted(map(str, copies)))})")
    (copy,) = copies
    if copy not in live:
        return None  # retired (its copy deleted) or expired: nothing left to post
    if live[copy] > MAX_COPY_BYTES:
        raise ManifestError(f"manifest copy {copy} is {live[copy]:,} bytes, over {MAX_COPY_BYTES:,}")
    return copy


def _unsigned(groups: dict[str, list], provenance: Provenance) -> list[str]:
    """Groups whose batches do not all carry our valid signature: removed from `groups`, and said in a note."""
    unsigned = sorted(d for d, states in groups.items()
                      if not all(provenance.batch_signed(s.metadata) for s in states))
    notes = []
    for digest in unsigned:
        states = groups.pop(digest)
        ids = ", ".join(sorted(s.id for s in states))
        why = ("adopting needs BATCH_REVIEW_SIGNING_KEY (docs/security.md)" if provenance.key is None
               else "their metadata does not carry our signature")
        notes.append(f"{plural(len(states), 'batch')} {ids} {'names' if len(states) == 1 else 'name'} this "
                     f"repository but no stored manifest: not adopted, nothing posted ({why})")
    return notes


def find_orphans(client: BatchProvider, repository: str, covered: set[str], *, now: float, min_age: float,
                 provenance: Provenance) -> tuple[list[Orphan], list[str], list[str]]:
    """(orphans to adopt, problems, notes): ours (signed), uncovered, at least `min_age` seconds old, with
    a live copy. Batches that only say they are ours are left out, in a note."""
    candidates = {d: states for d, states in _uncovered(client.recent_batches(now=now), repository, covered).items()
                  if min(s.created_at for s in states) <= now - min_age
                  and any(s.metadata.get(MANIFEST_FILE) for s in states)}
    notes = _unsigned(candidates, provenance)
    if not candidates:
        return [], [], notes
    live = client.live_files(now=now)
    orphans, problems = [], []
    for digest, states in sorted(candidates.items()):
        ids = sorted(s.id for s in states)
        try:
            copy = _copy_of(states, live)
            if copy is None:
                continue
            manifest = rebuild(client.download_bytes(copy), copy, digest, repository, states)
        except ManifestError as exc:
            problems.append(f"{plural(len(ids), 'batch')} {', '.join(ids)}: {exc}; not adopted")
            continue
        orphans.append(Orphan(digest, manifest, ids, copy))
    return orphans, problems, notes


def _check_copy(m: Manifest, source: str, digest: str, repository: str) -> None:
    actual = m.digest()
    if actual != digest:
        raise ManifestError(f"{source}: its digest {actual[:16]} is not the batch metadata's {digest[:16]}")
    if m.repository != repository:
        raise ManifestError(f"{source}: it is for {m.repository!r}, not {repository}")
    if m.dry_run:
        raise ManifestError(f"{source}: a dry-run manifest")
    if any(b.index != i for i, b in enumerate(m.batches)):
        raise ManifestError(f"{source}: its batches are not numbered 0 to {len(m.batches) - 1}")


def rebuild(data: bytes, copy: str, digest: str, repository: str, states: list[BatchState]) -> Manifest:
    """The manifest from its copy, checked against the batches that name it; ManifestError if it fails."""
    source = f"manifest copy {copy}"
    try:
        m = Manifest.from_json(json.loads(data.decode("utf-8")), source=source)
        _check_copy(m, source, digest, repository)
    except ManifestError:
        raise
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError, ArithmeticError) as exc:  # 1e400
        raise ManifestError(f"{source}: not a readable manifest ({type(exc).__name__})") from None
    for b in m.batches:
        m.record(b.index, id=None, manifest_file=copy)
    for state in states:
        number, _, total = str(state.metadata.get("part", "")).partition("/")
        if not (number.isdigit() and total == str(len(m.batches)) and 1 <= int(number) <= len(m.batches)):
            raise ManifestError(f"{source}: batch {state.id} (part {state.metadata.get('part')!r}) is not one "
                                f"of its {counted(len(m.batches), 'part')}")
        entry = m.batches[int(number) - 1]
        if entry.id not in (None, state.id):
            raise ManifestError(f"{source}: two batches claim part {number}")
        m.record(entry.index, id=state.id, input_file_id=state.input_file_id)
    return m


def orphan_heads(client: BatchProvider, repository: str, covered: set[str], *, now: float,
                 provenance: Provenance) -> set[tuple[str, str]]:
    """(target key, head sha) of every adoptable (signed) orphan, whatever its age: submit treats them as
    pending. Unsigned ones are not: no poll will post them."""
    if provenance.key is None:
        return set()
    orphans, _, _ = find_orphans(client, repository, covered, now=now, min_age=0, provenance=provenance)
    return {(key, o.manifest.target(key).head_sha) for o in orphans for key in o.manifest.targets}


def adoptable(ctx, result) -> list[Pending]:
    """Poll's orphans, as Pendings in scratch folders; notes, problems and a listing failure go to `result`
    (poll.PollResult). Nothing when there is no repository to call ours or the store listing was partial."""
    if ctx.github is None or result.seen is None or not result.seen.complete:
        return []
    try:
        orphans, problems, notes = find_orphans(ctx.client, ctx.github.repository,
                                                result.seen.digests | result.derived, now=ctx.now().timestamp(),
                                                min_age=ADOPT_AFTER,
                                                provenance=ctx.provenance or Provenance(Identity(), ctx.github.repository))
    except BatchAPIError as exc:
        result.failures.append(f"looking for batches without a stored manifest: {exc}")
        return []
    result.problems.extend(problems)
    result.notes.extend(notes)
    adopted = []
    for orphan in orphans:
        pending = orphan.pending(Path(tempfile.mkdtemp(prefix="batch-review-orphan-")))
        result.notes.append(f"{pending.name}: {plural(len(orphan.batch_ids), 'batch')} {', '.join(orphan.batch_ids)} had no stored manifest; "
                            f"adopted from its copy {orphan.file_id}")
        adopted.append(pending)
    return adopted
