"""Where manifests wait between submit and poll: a local folder, or the repository's workflow artifacts.

Both stores hand out `Pending` manifests (the manifest plus the folder holding its batch input files) and
retire them once they are consumed. The artifact store trusts only artifacts uploaded by workflow runs of
this repository: a fork's pull request workflow can upload artifacts too, and those are never read.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .manifest import FILENAME, Manifest, ManifestError
from .services import GitHubError

DONE_DIR = "done"
MAX_UNZIPPED_BYTES = 2 * 1024 * 1024 * 1024


@dataclass
class Pending:
    name: str
    manifest: Manifest
    directory: Path  # holds manifest.json and the input-NNN.jsonl files
    handle: object = None  # artifact id for artifacts, the run folder for the local store


@dataclass
class Listing:
    pending: list[Pending] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # unreadable or untrusted manifests, one line each
    failures: list[str] = field(default_factory=list)  # could not be fetched this time: the next run retries


class LocalStore:
    """Manifests in `<root>/<run>/manifest.json`; retired ones move to `<root>/done/<run>/`."""

    kind = "folder"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def run_dir(self, name: str) -> Path:
        return self.root / name

    @contextlib.contextmanager
    def lock(self):
        """One poll at a time on this folder: a second one waits, then finds the work done."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def list(self) -> Listing:
        listing = Listing()
        if not self.root.is_dir():
            return listing
        for path in sorted(self.root.glob(f"*/{FILENAME}")):
            if path.parent.name == DONE_DIR:
                continue
            try:
                manifest = Manifest.load(path)
            except ManifestError as exc:
                listing.problems.append(str(exc))
                continue
            if manifest.dry_run:
                continue
            listing.pending.append(Pending(path.parent.name, manifest, path.parent, path.parent))
        return listing

    def retire(self, pending: Pending) -> None:
        source = Path(pending.handle)
        if not source.exists():
            return  # retired by another poll
        done = self.root / DONE_DIR
        done.mkdir(parents=True, exist_ok=True)
        target = done / source.name
        if target.exists():
            shutil.rmtree(target)
        source.rename(target)


class ArtifactStore:
    """Manifests uploaded as workflow artifacts named `<prefix>…`; retiring deletes the artifact."""

    kind = "artifacts"

    def __init__(self, github, prefix: str, workdir: Path | None = None) -> None:
        self.github = github
        self.prefix = prefix
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="batch-review-artifacts-"))

    def list(self) -> Listing:
        listing = Listing()
        repo_id = self.github.repository_id
        for art in self.github.artifacts(self.prefix):
            if art.repository_id not in (None, repo_id) or art.head_repository_id not in (None, repo_id):
                listing.problems.append(
                    f"artifact {art.name} (id {art.id}) was uploaded by a workflow run from another repository "
                    f"(head repository id {art.head_repository_id}): ignored"
                )
                continue
            try:
                data = self.github.download_artifact(art.id)
                folders = extract_manifests(data, self.workdir / str(art.id))
            except (GitHubError, zipfile.BadZipFile) as exc:  # a broken transfer: try again next run
                listing.failures.append(f"artifact {art.name} (id {art.id}): {exc or type(exc).__name__}")
                continue
            except (ManifestError, OSError, ValueError) as exc:
                listing.problems.append(f"artifact {art.name} (id {art.id}): {exc}")
                continue
            for folder in folders:
                try:
                    manifest = Manifest.load(folder / FILENAME)
                except ManifestError as exc:
                    listing.problems.append(f"artifact {art.name} (id {art.id}): {exc}")
                    continue
                if not manifest.dry_run:
                    listing.pending.append(Pending(art.name, manifest, folder, art.id))
        return listing

    def retire(self, pending: Pending) -> None:
        self.github.delete_artifact(int(pending.handle))

    @contextlib.contextmanager
    def lock(self):
        """Artifacts have no lock: in Actions the poll workflow's concurrency group runs one poll at a time,
        and the markers make a second poster find the first one's review."""
        yield


def extract_manifests(data: bytes, destination: Path) -> list[Path]:
    """Unzip an artifact safely (no absolute paths, no '..', bounded size); the folders holding a manifest."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        total = 0
        for info in zf.infolist():
            parts = PurePosixPath(info.filename).parts
            if info.filename.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
                raise ValueError(f"unsafe path in zip: {info.filename!r}")
            total += info.file_size
            if total > MAX_UNZIPPED_BYTES:
                raise ValueError("artifact unzips to more than 2 GiB")
        destination.mkdir(parents=True, exist_ok=True)
        zf.extractall(destination)
    return sorted(p.parent for p in destination.rglob(FILENAME))
