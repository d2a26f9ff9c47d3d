"""The manifest: the versioned record of what one submit run sent, so that poll can post without guessing.

It maps every custom_id to its target and the files that request showed, and keeps each reviewed file's
commentable lines. It is typed records end to end: `Target`s (vocabulary.py), `RequestRecord`s (the
files they showed as `FilePart`s), `ReviewedFile`s, `SkippedFile`s and `BatchRecord`s. Version 2 (one
request, several files) is written; version 1 (one request, one file, no target description), left
pending by the previous release, is still read, posted and resubmitted in its own form. `provider` and
`estimate` are recorded for people and kept as written; the tool never reads them back.

Reading (`from_json`, `load`) checks every field first (checks.py), then builds the records. Writing
(`to_json`) gives back the document exactly as its version's release wrote it, so the digest (sha256 of
the canonical document) is the same for the same document whichever release computes it: pinned for both
versions by tests/ledger/test_manifest.py. It never holds a secret: no token, no key, no authorization
header, no base URL beyond its scheme, host and port (`provider_record`). Its digest goes into each batch's metadata, and poll posts nothing for a batch whose metadata does
not carry the digest of the manifest it was found with.

Why frozen dataclasses rather than pydantic models: checks.py already checks every field with the
one-line errors users see, so a second validation would only cost time on the largest documents; the
digest needs each version's form written out by hand, not a model's dump (whose coercions could change a
value, and with it the digest); and submit makes one record per request on its hot path, where a slotted
class is cheapest. The per-line arrays (a file's ranges and line crcs) are kept as they come, not copied
into objects: reading or writing a manifest of a million changed lines adds no object per line. A
batch's record changes as the run goes (upload, copy, creation): `Manifest.record` replaces it, nothing
edits a record in place.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.diffs import CommentableLines
from ..core.errors import ManifestError
from ..core.redact import url_origin
from ..core.vocabulary import LEFT, RIGHT, FilePart, Target
from .checks import MAX_BYTES, check_document, check_fields, named_targets, read_number, show
from .verify_round import VerifyRound

if TYPE_CHECKING:
    from ..planning.builder import RequestSpec
    from .batchfile import BatchPart

VERSION = 2
READABLE = (1, 2)
FILENAME = "manifest.json"
_BATCH_DIGEST_KEYS = ("index", "input_sha256", "requests", "bytes", "model", "endpoint")
_REQUIRED = ("version", "repository", "endpoint", "model", "targets", "requests", "files", "batches")
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError)

# per hunk: [its first new line, [crc32 of each new-side line]], as diffs.right_line_hashes makes them and the
# JSON holds them; kept as they come (a large change has a million of them: no copy on the way in or out)
LineHashes = Sequence[Sequence]


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request: its target, the files it showed in order, its batch part, model and token figures."""

    custom_id: str
    target: str
    files: tuple[FilePart, ...]
    batch: int
    model: str
    est_input_tokens: int = 0
    max_output_tokens: int = 0

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files)

    @classmethod
    def planned(cls, spec: RequestSpec, target: str, batch: int) -> RequestRecord:
        """The record of a planned request written to batch part `batch`."""
        return cls(spec.custom_id, target, spec.files, batch, spec.model, spec.est_input_tokens,
                   spec.max_output_tokens)

    def to_json(self, version: int = VERSION) -> dict:
        if version == 1:  # the previous release's form: one file, one chunk of it
            (f,) = self.files
            return {"target": self.target, "path": f.path, "old_path": f.old_path, "chunk": f.part,
                    "chunks": f.parts, "batch": self.batch, "model": self.model,
                    "est_input_tokens": self.est_input_tokens}
        return {"target": self.target,
                "files": [{"path": f.path, "old_path": f.old_path, "part": f.part, "parts": f.parts}
                          for f in self.files],
                "batch": self.batch, "model": self.model, "est_input_tokens": self.est_input_tokens,
                "max_output_tokens": self.max_output_tokens}

    @classmethod
    def from_json(cls, cid: str, data: dict, default_model: str) -> RequestRecord:
        if "files" in data:  # version 2
            files = tuple(FilePart(str(f["path"]), f.get("old_path"), int(f.get("part", 0)), int(f.get("parts", 1)))
                          for f in data["files"])
        else:  # version 1: one file, one chunk of it
            files = (FilePart(str(data["path"]), data.get("old_path"), int(data.get("chunk", 0)),
                              int(data.get("chunks", 1))),)
        if not files:
            raise ValueError("it names no file")
        return cls(cid, str(data["target"]), files, int(data["batch"]), str(data.get("model") or default_model),
                   int(data.get("est_input_tokens") or 0), int(data.get("max_output_tokens") or 0))


@dataclass(frozen=True, slots=True)
class ReviewedFile:
    """A file a request showed: the lines a comment may sit on (inclusive [first, last] ranges, one per
    hunk, on each side) and, for incremental reviews, the crc32 of each new-side line, by which a later
    review knows a finding it already posted (poll/review.py). The ranges are kept as they come (checked
    by checks.py when read) and made a `CommentableLines` only when a target is placed (`lines`).
    `invisible`: [[new line, the invisible characters it holds], ...] for the lines that hold any
    (anchoring.invisible_lines), which a suggestion replacing them may keep; absent for most files."""

    right: Sequence[Sequence[int]]
    left: Sequence[Sequence[int]]
    crc: LineHashes | None = None
    invisible: Sequence[Sequence] | None = None

    @classmethod
    def of(cls, lines: CommentableLines, crc: LineHashes | None = None,
           invisible: Sequence[Sequence] | None = None) -> ReviewedFile:
        """From the diff's commentable lines and diffs.right_line_hashes' output."""
        return cls(lines.right, lines.left, crc, invisible or None)

    @property
    def lines(self) -> CommentableLines:
        return CommentableLines(tuple(map(tuple, self.right)), tuple(map(tuple, self.left)))

    def to_json(self) -> dict:
        data: dict = {RIGHT: self.right, LEFT: self.left}
        if self.crc is not None:
            data["crc"] = self.crc
        if self.invisible:
            data["invisible"] = self.invisible
        return data

    @classmethod
    def from_json(cls, data: dict) -> ReviewedFile:
        return cls(data.get(RIGHT, []), data.get(LEFT, []), data.get("crc"), data.get("invisible") or None)


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file of a target that was not reviewed, and why (path "*": the target's whole diff)."""

    path: str
    reason: str

    def to_json(self) -> dict:
        return {"path": self.path, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """One batch input file of the manifest (its name in the manifest's folder, digest, size, model and
    endpoint) and, as the run goes, its upload, the manifest's copy on the service, and the batch."""

    index: int
    file: str
    input_sha256: str
    requests: int
    bytes: int
    model: str
    endpoint: str
    input_file_id: str | None = None  # the upload the batch is created from
    manifest_file: str | None = None  # the manifest's copy on the batch service (adoption.py)
    id: str | None = None  # the batch, once created

    @classmethod
    def of(cls, part: BatchPart) -> BatchRecord:
        """The record of a batch input file just written (batchfile.py)."""
        return cls(part.index, part.path.name, part.sha256, part.requests, part.bytes, part.model, part.endpoint)

    def to_json(self) -> dict:
        data = {"index": self.index, "file": self.file, "input_sha256": self.input_sha256,
                "requests": self.requests, "bytes": self.bytes, "model": self.model, "endpoint": self.endpoint}
        for key in ("input_file_id", "manifest_file", "id"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data

    @classmethod
    def from_json(cls, data: dict) -> BatchRecord:
        index = int(data["index"])
        return cls(index, str(data.get("file", f"input-{index:03d}.jsonl")), str(data["input_sha256"]),
                   int(data["requests"]), int(data["bytes"]), str(data["model"]), str(data["endpoint"]),
                   _text(data.get("input_file_id")), _text(data.get("manifest_file")), _text(data.get("id")))


def _text(value: object) -> str | None:
    """A recorded id: a non-empty string, else None (not recorded)."""
    return value if isinstance(value, str) and value else None


def _target_json(target: Target, version: int) -> dict:
    data = target.to_json()
    if version == 1:  # the previous release kept no description
        data.pop("body", None)
    return data


def provider_record(provider: Mapping) -> dict:
    """The provider as a manifest records it: its base URL reduced to scheme, host and port (a gateway's
    userinfo, path and query may hold credentials: they are never written down), the rest as given."""
    record = dict(provider)
    if "base_url" in record:
        record["base_url"] = url_origin(str(record["base_url"] or ""))
    return record


@dataclass
class Manifest:
    repository: str
    endpoint: str
    model: str
    provider: dict
    created_at: str
    tool: str
    targets: dict[str, Target] = field(default_factory=dict)
    requests: dict[str, RequestRecord] = field(default_factory=dict)
    files: dict[str, dict[str, ReviewedFile]] = field(default_factory=dict)
    skipped: dict[str, tuple[SkippedFile, ...]] = field(default_factory=dict)
    estimate: dict = field(default_factory=dict)
    batches: list[BatchRecord] = field(default_factory=list)
    attempt: int = 0
    parent: str | None = None
    dry_run: bool = False
    version: int = VERSION
    verify: VerifyRound | None = None  # a verify round's manifest (verify_round.py); absent otherwise

    def to_json(self) -> dict:
        return self._document([b.to_json() for b in self.batches])

    def _document(self, batches: list[dict], *, for_digest: bool = False) -> dict:
        doc = self._first_round(batches)
        if self.verify is not None:  # absent from every other manifest, so their digests are unchanged
            doc["verify"] = self.verify.to_json(for_digest=for_digest)
        return doc

    def _first_round(self, batches: list[dict]) -> dict:
        v = self.version
        return {
            "version": v, "tool": self.tool, "created_at": self.created_at,
            "repository": self.repository, "provider": self.provider, "endpoint": self.endpoint,
            "model": self.model, "attempt": self.attempt, "parent": self.parent, "dry_run": self.dry_run,
            "targets": {key: _target_json(t, v) for key, t in self.targets.items()},
            "requests": {cid: r.to_json(v) for cid, r in self.requests.items()},
            "files": {key: {path: f.to_json() for path, f in files.items()} for key, files in self.files.items()},
            "skipped": {key: [s.to_json() for s in items] for key, items in self.skipped.items()},
            "estimate": self.estimate, "batches": batches,
        }

    @classmethod
    def from_json(cls, data: object, *, source: str = "manifest") -> Manifest:
        """A manifest from its JSON, every field the tool reads checked first (checks.py)."""
        try:
            check_document(data, source, _REQUIRED)
            if type(data["version"]) is not int or data["version"] not in READABLE:  # not true, 2.0 or "2"
                raise ManifestError(f"{source}: version {show(data['version'])} is not supported "
                                    f"(this tool reads {', '.join(map(str, READABLE))})")
            check_fields(data, source)
            return cls._records(data, source)
        except ManifestError as exc:
            exc.targets = named_targets(data)
            raise
        except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError) as exc:
            # the last net: the checks above name every problem they foresee; whatever slips past them is
            # still a damaged manifest, reported as one (tests/ledger/test_checks.py keeps it unused)
            error = ManifestError(f"{source}: damaged in a way the checks have not foreseen "
                                  f"({type(exc).__name__})")
            error.targets = named_targets(data)
            raise error from None

    @classmethod
    def _records(cls, data: dict, source: str) -> Manifest:
        """The typed records of a checked document."""
        requests = _requests(data, source)
        repository = str(data["repository"])
        try:
            return cls(
                repository=repository, endpoint=str(data["endpoint"]), model=str(data["model"]),
                provider=dict(data.get("provider") or {}), created_at=str(data.get("created_at", "")),
                tool=str(data.get("tool", "")), requests=requests,
                targets={key: Target.from_json(repository, t) for key, t in data["targets"].items()},
                files={key: {path: ReviewedFile.from_json(f) for path, f in files.items()}
                       for key, files in data["files"].items()},
                skipped={key: tuple(SkippedFile(str(s["path"]), str(s["reason"])) for s in items)
                         for key, items in (data.get("skipped") or {}).items()},
                estimate=dict(data.get("estimate") or {}), batches=[BatchRecord.from_json(b) for b in data["batches"]],
                attempt=int(data.get("attempt", 0)), parent=data.get("parent"), dry_run=bool(data.get("dry_run", False)),
                version=data["version"],
                verify=None if data.get("verify") is None else VerifyRound.from_json(
                    data["verify"], source, data["targets"], requests, str(data["model"])),
            )
        except _MALFORMED as exc:
            raise ManifestError(f"{source}: malformed ({type(exc).__name__}: {exc})") from exc

    def digest(self) -> str:
        """sha256 of the canonical manifest, batches reduced to what is known before they are created."""
        doc = self._document([{k: getattr(b, k) for k in _BATCH_DIGEST_KEYS} for b in self.batches], for_digest=True)
        canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8", errors="surrogatepass")).hexdigest()

    def part(self, index: int) -> str:
        """Batch `index` as its metadata names it: "1/3"."""
        return f"{index + 1}/{len(self.batches)}"

    def batch_metadata(self, index: int) -> dict[str, str]:
        """Metadata for batch `index`: 4 of the 16 pairs the API allows, values well under 512 characters."""
        return {
            "batch_review": str(self.version),
            "repository": self.repository[:512],
            "manifest_digest": self.digest(),
            "part": self.part(index),
        }

    def record(self, index: int, **changes: str | None) -> BatchRecord:
        """What happened to batch `index` (input_file_id, manifest_file, id), recorded; its new record."""
        self.batches[index] = replace(self.batches[index], **changes)
        return self.batches[index]

    def commentable(self, target_key: str) -> dict[str, CommentableLines]:
        return {path: f.lines for path, f in self.files.get(target_key, {}).items()}

    def requests_for(self, target_key: str) -> list[str]:
        return [cid for cid, r in self.requests.items() if r.target == target_key]

    def target(self, key: str) -> Target:
        """The typed record of one target (its label, kind, number and commits)."""
        return self.targets[key]

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / FILENAME
        tmp = path.with_suffix(".tmp")
        # compact: the C encoder is several times faster than an indented dump on large manifests
        tmp.write_text(json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n",
                       encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Read and check a manifest file: at most MAX_BYTES, JSON, not nested too deep, well typed."""
        path = Path(path)
        try:
            if path.is_symlink() or not path.is_file():
                raise ManifestError(f"{path}: not a regular file")
            size = path.stat().st_size
            if size > MAX_BYTES:
                raise ManifestError(f"{path}: {size:,} bytes, over the {MAX_BYTES:,} a manifest may have")
            data = json.loads(path.read_text(encoding="utf-8"), parse_int=read_number)
        except (OSError, ValueError) as exc:  # ValueError: not UTF-8, not JSON, a number past 4,300 digits
            raise ManifestError(f"{path}: cannot read: {exc}") from exc
        except RecursionError:
            raise ManifestError(f"{path}: nested too deep to read; a manifest is never that deep") from None
        return cls.from_json(data, source=str(path))


def _requests(data: dict, source: str) -> dict[str, RequestRecord]:
    """Every request's record; a version-1 manifest holds one file per request, as its release wrote."""
    records = {}
    for cid, req in data["requests"].items():
        try:
            records[cid] = record = RequestRecord.from_json(cid, req, str(data["model"]))
        except _MALFORMED as exc:
            raise ManifestError(f"{source}: request {show(cid)} is malformed ({type(exc).__name__}: {exc})") from exc
        if data["version"] == 1 and len(record.files) != 1:
            raise ManifestError(f"{source}: request {show(cid)} shows {len(record.files)} files; a version 1 "
                                "manifest holds one per request")
    return records
