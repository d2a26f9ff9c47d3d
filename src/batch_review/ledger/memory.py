"""The repository's memory of dismissed findings: a signed file the trusted poll writes and both journeys read.

What it holds: for each finding a user with write access dismissed (poll/dismissals.py), its fingerprint and,
for the model, its file, category and title, with the day it was dismissed. At most `max_entries`, the
newest, none older than `max_age_days`: it stays small whatever happens.

Where it survives: poll writes `memory.json` into `dismissals.memory_dir`; the poll workflow uploads that
folder as the artifact `<prefix>.memory-<run id>-<attempt>` (its name never starts with the manifests'
prefix, so the poll gate and the manifest store never take it for a manifest). A later run reads the newest
one it believes, and deletes the older ones it has superseded (at most MAX_DELETES a run).

What is believed (anyone who can run a workflow can upload an artifact with that name): only an artifact
store.py's rules trust (this repository, the default branch, a scheduled or dispatched run of a configured
workflow), whose file carries a valid signature of our signing key over its whole content (kind "memory",
this repository). Without a key there is no memory: nothing is written, nothing is read. Every entry is
checked field by field; a forged, unsigned, foreign or damaged memory is ignored with one line, and the run
goes on without it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from ..core.errors import GitHubError
from .store import ArtifactStore

VERSION = 1
FILENAME = "memory.json"
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DELETES = 3
_FP = re.compile(r"[0-9a-f]{16}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def artifact_prefix(manifest_prefix: str) -> str:
    """`batch-review-` -> `batch-review.memory-`: never a prefix of a manifest's artifact name."""
    return manifest_prefix.rstrip("-") + ".memory-"


@dataclass(frozen=True)
class Entry:
    fingerprint: str
    path: str
    category: str
    title: str
    day: str  # YYYY-MM-DD, the day it was dismissed

    @classmethod
    def checked(cls, data: object) -> Entry:
        if not isinstance(data, dict) or set(data) != {"fingerprint", "path", "category", "title", "day"}:
            raise ValueError("an entry is not {fingerprint, path, category, title, day}")
        if not all(isinstance(v, str) for v in data.values()):
            raise ValueError("an entry's fields are not strings")
        if not _FP.fullmatch(data["fingerprint"]) or not _DAY.fullmatch(data["day"]):
            raise ValueError("an entry's fingerprint or day is malformed")
        if max(len(data["path"]), len(data["title"]), len(data["category"])) > 1000:
            raise ValueError("an entry's text is too long")
        return cls(**data)


@dataclass(frozen=True)
class Memory:
    entries: tuple[Entry, ...] = ()

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(e.fingerprint for e in self.entries)

    def merged(self, new: Iterable[Entry], *, today: dt.date, max_entries: int, max_age_days: int) -> Memory:
        """With `new` added (the first day a fingerprint was dismissed kept), bounded in age and count."""
        by_fp: dict[str, Entry] = {}
        for e in [*self.entries, *new]:
            by_fp.setdefault(e.fingerprint, e)
        oldest = (today - dt.timedelta(days=max_age_days)).isoformat()
        kept = sorted((e for e in by_fp.values() if e.day >= oldest), key=lambda e: (e.day, e.fingerprint),
                      reverse=True)[:max_entries]
        return Memory(tuple(sorted(kept, key=lambda e: (e.day, e.fingerprint))))

    def on(self, paths: Iterable[str]) -> list[Entry]:
        """The entries on these files, newest first."""
        wanted = set(paths)
        return sorted((e for e in self.entries if e.path in wanted), key=lambda e: e.day, reverse=True)


def _content(memory: Memory, repository: str) -> dict:
    return {"version": VERSION, "repository": repository, "entries": [asdict(e) for e in memory.entries]}


def _digest(content: dict) -> str:
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def dump(memory: Memory, repository: str, key) -> str:
    """The signed file's text."""
    content = _content(memory, repository)
    return json.dumps({**content, "signature": key.sign("memory", repository, _digest(content))}, indent=1) + "\n"


def parse(text: bytes, repository: str, key) -> Memory:
    """A memory file's entries when our key signed exactly this content for this repository; ValueError."""
    if len(text) > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES:,} bytes")
    data = json.loads(text.decode("utf-8"))
    if not isinstance(data, dict) or data.get("version") != VERSION or data.get("repository") != repository:
        raise ValueError("not a memory of this repository")
    content = {k: data.get(k) for k in ("version", "repository", "entries")}
    if not isinstance(content["entries"], list) or not key.verify(data.get("signature"), "memory", repository,
                                                                  _digest(content)):
        raise ValueError("its signature is not ours")
    return Memory(tuple(Entry.checked(e) for e in content["entries"]))


def write(folder: str | Path, memory: Memory, repository: str, key) -> Path:
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    out = path / FILENAME
    out.write_text(dump(memory, repository, key), encoding="utf-8")
    return out


def load(github, manifest_prefix: str, workflows: tuple[str, ...], key, notes: list[str]) -> Memory:
    """The newest memory artifact we believe (empty without one); what was not believed, one line each in
    `notes`. Older believed ones are deleted (superseded), at most MAX_DELETES."""
    if key is None:
        return Memory()
    prefix = artifact_prefix(manifest_prefix)
    trust = ArtifactStore(github, prefix, workflows=workflows)
    believed: list = []
    for art in sorted(github.artifacts(prefix), key=lambda a: (a.created_at, a.id), reverse=True):
        what = f"memory artifact {art.name if art.name.isprintable() else repr(art.name)} (id {art.id})"
        try:
            problem = trust.untrusted(art)
            memory = None if problem else _read(github.download_artifact(art.id, max_bytes=MAX_FILE_BYTES * 2),
                                                github.repository, key)
        except (GitHubError, ValueError, zipfile.BadZipFile, UnicodeDecodeError, KeyError) as exc:
            problem = str(exc) or type(exc).__name__
        if problem:
            notes.append(f"{what} ignored: {problem}")
            continue
        believed.append((art, memory))
        if len(believed) > 1:
            break
    if not believed:
        return Memory()
    for art, _ in believed[1:MAX_DELETES + 1]:
        try:
            github.delete_artifact(art.id)
        except GitHubError as exc:
            notes.append(f"could not delete the superseded memory artifact {art.id}: {exc}")
    return believed[0][1]


def _read(data: bytes, repository: str, key) -> Memory:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(FILENAME)
        if info.file_size > MAX_FILE_BYTES:
            raise ValueError(f"{FILENAME} is larger than {MAX_FILE_BYTES:,} bytes")
        return parse(zf.read(info), repository, key)
