"""The manifest: the versioned record of what one submit run sent, so that poll can post without guessing.

It maps every custom_id to its target and the files that request showed, and keeps each file's
commentable lines. Version 2 (one request, several files) is written; version 1 (one request, one file),
left pending by the previous release, is still read and posted: `request()` gives both as one typed
record, and the digest is computed over the document as it was written. It never holds a
secret: no token, no key, no authorization header, no base URL beyond its scheme, host and port
(`provider_record`). Its digest goes into each batch's metadata, and poll
posts nothing for a batch whose metadata does not carry the digest of the manifest it was found with.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..core.diffs import CommentableLines
from ..core.errors import ManifestError
from ..core.redact import url_origin
from ..core.vocabulary import Target
from .checks import MAX_BYTES, check_document, check_fields, named_targets, read_number, show

VERSION = 2
READABLE = (1, 2)
FILENAME = "manifest.json"
_BATCH_DIGEST_KEYS = ("index", "input_sha256", "requests", "bytes", "model", "endpoint")
_REQUIRED = ("version", "repository", "endpoint", "model", "targets", "requests", "files", "batches")


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file one request showed: part `part` of `parts` of its diff (0 of 1: the whole file)."""

    path: str
    old_path: str | None = None
    part: int = 0
    parts: int = 1

    def to_json(self) -> dict:
        return {"path": self.path, "old_path": self.old_path, "part": self.part, "parts": self.parts}


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request: its target, the files it showed in order, its batch part, model and token figures."""

    custom_id: str
    target: str
    files: tuple[FileRef, ...]
    batch: int
    model: str
    est_input_tokens: int = 0
    max_output_tokens: int = 0

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files)

    def to_json(self) -> dict:
        return {"target": self.target, "files": [f.to_json() for f in self.files], "batch": self.batch,
                "model": self.model, "est_input_tokens": self.est_input_tokens,
                "max_output_tokens": self.max_output_tokens}

    @classmethod
    def from_json(cls, cid: str, data: dict, default_model: str) -> RequestRecord:
        if "files" in data:  # version 2
            files = tuple(FileRef(str(f["path"]), f.get("old_path"), int(f.get("part", 0)), int(f.get("parts", 1)))
                          for f in data["files"])
        else:  # version 1: one file, one chunk of it
            files = (FileRef(str(data["path"]), data.get("old_path"), int(data.get("chunk", 0)),
                             int(data.get("chunks", 1))),)
        if not files:
            raise ValueError("it names no file")
        return cls(cid, str(data["target"]), files, int(data["batch"]), str(data.get("model") or default_model),
                   int(data.get("est_input_tokens") or 0), int(data.get("max_output_tokens") or 0))


def provider_record(provider: Mapping) -> dict:
    """The provider as a manifest records it: its base URL reduced to scheme, host and port (a gateway's
    userinfo, path and query may hold credentials: they are never written down), the rest as given."""
    record = dict(provider)
    if "base_url" in record:
        record["base_url"] = url_origin(str(record["base_url"] or ""))
    return record


def _check(data: object, source: str) -> None:
    """Every field the tool reads, checked (ledger/checks.py); ManifestError naming the first problem."""
    check_document(data, source, _REQUIRED)
    if type(data["version"]) is not int or data["version"] not in READABLE:  # not true, 2.0 or "2"
        raise ManifestError(f"{source}: version {show(data['version'])} is not supported "
                            f"(this tool reads {', '.join(map(str, READABLE))})")
    check_fields(data, source)
    for cid, req in data["requests"].items():
        try:
            RequestRecord.from_json(cid, req, "")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ManifestError(f"{source}: request {show(cid)} is malformed "
                                f"({type(exc).__name__}: {exc})") from exc


def request_record(target_key: str, spec, batch: int) -> dict:
    """The manifest entry (version 2) of a prompts.RequestSpec written to batch part `batch`."""
    files = tuple(FileRef(f.path, f.old_path, f.part, f.parts) for f in spec.files)
    return RequestRecord(spec.custom_id, target_key, files, batch, spec.model, spec.est_input_tokens,
                         spec.max_output_tokens).to_json()


@dataclass
class Manifest:
    repository: str
    endpoint: str
    model: str
    provider: dict
    created_at: str
    tool: str
    targets: dict[str, dict] = field(default_factory=dict)
    requests: dict[str, dict] = field(default_factory=dict)
    files: dict[str, dict[str, dict]] = field(default_factory=dict)
    skipped: dict[str, list[dict]] = field(default_factory=dict)
    estimate: dict = field(default_factory=dict)
    batches: list[dict] = field(default_factory=list)
    attempt: int = 0
    parent: str | None = None
    dry_run: bool = False
    version: int = VERSION

    def to_json(self) -> dict:
        return {
            "version": self.version, "tool": self.tool, "created_at": self.created_at,
            "repository": self.repository, "provider": self.provider, "endpoint": self.endpoint,
            "model": self.model, "attempt": self.attempt, "parent": self.parent, "dry_run": self.dry_run,
            "targets": self.targets, "requests": self.requests, "files": self.files, "skipped": self.skipped,
            "estimate": self.estimate, "batches": self.batches,
        }

    @classmethod
    def from_json(cls, data: object, *, source: str = "manifest") -> Manifest:
        """A manifest from its JSON, every field the tool reads checked first (manifest_checks.py)."""
        try:
            _check(data, source)
        except ManifestError as exc:
            exc.targets = named_targets(data)
            raise
        except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError) as exc:
            # the last net: the checks above name every problem they foresee; whatever slips past them is
            # still a damaged manifest, reported as one (tests/ledger/test_manifest_damage.py keeps it unused)
            error = ManifestError(f"{source}: damaged in a way the checks have not foreseen "
                                  f"({type(exc).__name__})")
            error.targets = named_targets(data)
            raise error from None
        return cls(
            repository=str(data["repository"]), endpoint=str(data["endpoint"]), model=str(data["model"]),
            provider=dict(data.get("provider") or {}), created_at=str(data.get("created_at", "")),
            tool=str(data.get("tool", "")), targets=data["targets"], requests=data["requests"],
            files=data["files"], skipped=dict(data.get("skipped") or {}), estimate=dict(data.get("estimate") or {}),
            batches=list(data["batches"]), attempt=int(data.get("attempt", 0)), parent=data.get("parent"),
            dry_run=bool(data.get("dry_run", False)), version=data["version"],
        )

    def digest(self) -> str:
        """sha256 of the canonical manifest, batches reduced to what is known before they are created."""
        doc = self.to_json()
        doc["batches"] = [{k: b.get(k) for k in _BATCH_DIGEST_KEYS} for b in self.batches]
        canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8", errors="surrogatepass")).hexdigest()

    def batch_metadata(self, index: int) -> dict[str, str]:
        """Metadata for batch `index`: 4 of the 16 pairs the API allows, values well under 512 characters."""
        return {
            "batch_review": str(self.version),
            "repository": self.repository[:512],
            "manifest_digest": self.digest(),
            "part": f"{index + 1}/{len(self.batches)}",
        }

    def commentable(self, target_key: str) -> dict[str, CommentableLines]:
        return {path: CommentableLines.from_json(ranges) for path, ranges in self.files.get(target_key, {}).items()}

    def requests_for(self, target_key: str) -> list[str]:
        return [cid for cid, req in self.requests.items() if req["target"] == target_key]

    def request(self, cid: str) -> RequestRecord:
        """The typed record of one request, whichever version wrote it."""
        return RequestRecord.from_json(cid, self.requests[cid], self.model)

    def records(self) -> dict[str, RequestRecord]:
        """Every request's typed record, by custom_id, in the manifest's order."""
        return {cid: self.request(cid) for cid in self.requests}

    def target(self, key: str) -> Target:
        """The typed record of one target (its label, kind, number and commits)."""
        return Target.from_json(self.repository, self.targets[key])

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
