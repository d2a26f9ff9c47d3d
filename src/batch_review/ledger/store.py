"""Where manifests wait between submit and poll: a local folder, or the repository's workflow artifacts.

Both stores hand out `Pending` manifests (the manifest plus the folder holding its batch input files) and
retire them once they are consumed. Each manifest has its own fate: one that cannot be fetched, unzipped,
read or trusted is reported in the `Listing` and skipped, and the others are still handed out.

The artifact store fails closed. Anyone who can run a workflow in the repository can upload an artifact
named `batch-review-…` (a same-repository branch's `pull_request` run, a `workflow_run` relay, a fork), so
an artifact is read only when GitHub says that the run that uploaded it is of this repository with this
repository as its head (null ids are refused), was started by `schedule` or `workflow_dispatch`, ran on
the default branch, and ran one of the configured workflow files (`artifacts.workflows`). A listing
without `workflow_run` (older GitHub Enterprise Server) is trusted only through the run its name gives
(`<prefix><run id>-<attempt>`) when GitHub lists the artifact under that run. An artifact that disappears
between listing and download was retired by another run: that is not a failure.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import re
import shutil
import tempfile
import traceback
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..core.errors import GitHubError, ManifestError
from .checks import targets_of
from .manifest import FILENAME, Manifest

DONE_DIR = "done"
EVAL_DIR = "eval"  # `batch-review eval`'s folders (eval/journey.py): never a manifest's, never listed here
LOCK_FILE = ".lock"
RUN_PREFIX = "batch-review-"  # submit's run folders: batch-review-<UTC time>
GITIGNORE = ".gitignore"
GITIGNORE_TEXT = "# Created by batch-review: its state folder (manifests, batch files) stays out of git.\n*\n"
MAX_UNZIPPED_BYTES = 2 * 1024 * 1024 * 1024


@dataclass
class Pending:
    name: str
    manifest: Manifest
    directory: Path  # holds manifest.json and the input-NNN.jsonl files
    handle: object = None  # artifact id for artifacts, the run folder for the local store


@dataclass
class Damaged:
    """A manifest of a trusted source that cannot be used: reported, and on the commits it names."""

    name: str
    message: str
    targets: list[tuple[str, str]]  # (target key, head sha) it names, where readable
    digest: str  # sha256 of the manifest file: the same damage is reported once


@dataclass
class Listing:
    pending: list[Pending] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # unreadable or untrusted manifests, one line each
    failures: list[str] = field(default_factory=list)  # could not be fetched this time: the next run retries
    damaged: list[Damaged] = field(default_factory=list)  # also in problems
    notes: list[str] = field(default_factory=list)  # artifacts retired by another run meanwhile
    bugs: list[str] = field(default_factory=list)  # unexpected exceptions, with their traceback

    def damage(self, name: str, exc: ManifestError, path: Path) -> None:
        self.problems.append(str(exc))
        self.damaged.append(Damaged(name, str(exc), targets_of(exc), file_digest(path)))

    def bug(self, what: str) -> None:
        self.bugs.append(f"{what}: unexpected error (a bug in batch-review, please report it):\n"
                         f"{traceback.format_exc().rstrip()}")


def file_digest(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return hashlib.sha256(str(path).encode()).hexdigest()


def input_path(directory: Path, name: str, *, missing_ok: bool = False) -> Path:
    """The batch input file `name` of a manifest: a regular file directly inside its folder, or ManifestError
    (an absolute path, '..', a subfolder or a symlink could make poll upload a file of the runner). With
    `missing_ok`, where such a file would be when there is none yet."""
    folder = Path(directory)
    path = folder / name
    if PurePosixPath(name).name != name or "\\" in name or name in ("", ".", ".."):
        raise ManifestError(f"{folder / FILENAME}: batch file {name!r} is not a plain name inside the manifest's folder")
    if path.is_symlink() or path.resolve().parent != folder.resolve():
        raise ManifestError(f"{folder / FILENAME}: batch file {name!r} leaves the manifest's folder")
    if missing_ok and not path.exists():
        return path
    if not path.is_file():
        raise ManifestError(f"{folder / FILENAME}: batch file {name!r} is missing")
    return path


def keep_out_of_git(root: str | Path) -> Path:
    """The state folder, created if needed, with a `.gitignore` of `*` in it, as pytest's and ruff's caches
    have: `git add -A` after a run stages none of it. Called when a run is first written there (not when
    the folder is merely checked), so a folder with nothing to keep stays empty: the workflow's upload step
    then uploads no artifact, and the poll gate sees none. The file is written only into a folder that
    holds nothing but batch-review's own entries (run folders, done/, the lock), so a
    --state-dir pointing at the user's own folder ('.', build/) is never hidden from git; an existing
    .gitignore is left as it is."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    ignore = root / GITIGNORE
    if ignore.exists() or ignore.is_symlink() or not all(_ours(entry) for entry in root.iterdir()):
        return root
    with contextlib.suppress(FileExistsError):  # another run wrote it meanwhile
        with open(ignore, "x", encoding="utf-8") as fh:
            fh.write(GITIGNORE_TEXT)
    return root


def path_inside(root: str | Path, toplevel: str | Path) -> str | None:
    """The state folder's path inside the checkout at `toplevel` ('.batch-review'), or None when it lies
    outside it (or is the checkout itself)."""
    try:
        inside = Path(root).resolve().relative_to(Path(toplevel).resolve())
    except ValueError:
        return None
    return inside.as_posix() if inside.parts else None


def _ours(entry: Path) -> bool:
    """An entry batch-review writes into its state folder."""
    if entry.is_symlink():
        return False
    if entry.name in (LOCK_FILE, GITIGNORE):
        return entry.is_file()
    return entry.is_dir() and (entry.name in (DONE_DIR, EVAL_DIR) or entry.name.startswith(RUN_PREFIX)
                               or (entry / FILENAME).is_file())


class LocalStore:
    """Manifests in `<root>/<run>/manifest.json`; retired ones move to `<root>/done/<run>/`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @contextlib.contextmanager
    def lock(self):
        """One poll at a time on this folder: a second one waits, then finds the work done."""
        keep_out_of_git(self.root)
        with open(self.root / LOCK_FILE, "w") as fh:
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
                listing.damage(path.parent.name, exc, path)
                continue
            except Exception:  # noqa: BLE001 - one manifest's bug must not stop the others
                listing.bug(str(path))
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


TRUSTED_EVENTS = ("schedule", "workflow_dispatch")


class ArtifactStore:
    """Manifests uploaded as workflow artifacts named `<prefix>…`; retiring deletes the artifact."""

    def __init__(self, github, prefix: str, workdir: Path | None = None, *,
                 workflows: tuple[str, ...] = (".github/workflows/batch-review-submit.yml",
                                               ".github/workflows/batch-review-poll.yml")) -> None:
        self.github = github
        self.prefix = prefix
        self.workflows = tuple(workflows)
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="batch-review-artifacts-"))
        self._runs: dict[int, str | None] = {}  # run id -> why it is not trusted (None: trusted)
        self._run_artifacts: dict[int, set[int]] = {}

    def list(self) -> Listing:
        listing = Listing()
        for art in self.github.artifacts(self.prefix):
            try:
                self._read(art, listing)
            except Exception:  # noqa: BLE001 - one artifact's bug must not stop the others
                listing.bug(f"artifact {art.name!r} (id {art.id})")
        return listing

    def _read(self, art, listing: Listing) -> None:
        name = art.name if art.name.isprintable() else repr(art.name)  # never a line break into the log
        what = f"artifact {name} (id {art.id})"
        try:
            problem = self.untrusted(art)
        except GitHubError as exc:
            if exc.transient:  # GitHub did not answer: ask again next run
                listing.failures.append(f"{what}: {exc}")
            else:
                listing.problems.append(f"{what}: cannot tell which workflow run uploaded it ({exc}): ignored")
            return
        if problem:
            listing.problems.append(f"{what} {problem}: ignored")
            return
        try:
            data = self.github.download_artifact(art.id)
        except GitHubError as exc:
            if exc.status in (404, 410):  # retired (or expired) by another run since the listing
                listing.notes.append(f"{what} was retired by another run meanwhile")
            else:
                listing.failures.append(f"{what}: {exc}")
            return
        try:
            folders = extract_manifests(data, self.workdir / str(art.id))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
            if isinstance(exc, zipfile.BadZipFile) and len(data) != art.size:  # not what GitHub listed
                listing.failures.append(f"{what}: got {len(data):,} bytes of {art.size:,}, not a zip: a broken "
                                        "transfer, read again next run")
            else:
                listing.problems.append(f"{what}: not a readable zip: {exc or type(exc).__name__}")
            return
        for folder in folders:
            try:
                manifest = Manifest.load(folder / FILENAME)
            except ManifestError as exc:
                named = ManifestError(f"{what}: {exc}")
                named.targets = targets_of(exc)
                listing.damage(name, named, folder / FILENAME)
                continue
            if not manifest.dry_run:
                listing.pending.append(Pending(name, manifest, folder, art.id))

    def untrusted(self, art) -> str | None:
        """Why the artifact is not trusted (a phrase to follow its name), or None. Asks GitHub once per run."""
        repo_id = self.github.repository_id
        run_id = art.run_id
        if not art.has_workflow_run:
            m = re.fullmatch(re.escape(self.prefix) + r"(\d{1,20})-\d{1,6}", art.name)
            if m is None:
                return (f"carries no workflow run and its name is not {self.prefix}<run id>-<attempt>, "
                        "so the run that uploaded it is unknown")
            run_id = int(m[1])
            if run_id not in self._run_artifacts:
                self._run_artifacts[run_id] = self.github.run_artifact_ids(run_id)
            if art.id not in self._run_artifacts[run_id]:
                return f"is not listed under workflow run {run_id}, which its name claims"
        elif None in (run_id, art.repository_id, art.head_repository_id):
            return "names no workflow run, repository or head repository (null ids)"
        elif art.repository_id != repo_id or art.head_repository_id != repo_id:
            return (f"was uploaded by a workflow run from another repository (head repository id "
                    f"{art.head_repository_id})")
        if run_id not in self._runs:
            run = self.github.workflow_run(run_id)
            self._runs[run_id] = run_problem(run, repository_id=repo_id, repository=self.github.repository,
                                             default_branch=self.github.default_branch, workflows=self.workflows)
        return self._runs[run_id]

    def retire(self, pending: Pending) -> None:
        self.github.delete_artifact(int(pending.handle))

    @contextlib.contextmanager
    def lock(self):
        """Artifacts have no lock: in Actions the poll workflow's concurrency group runs one poll at a time,
        and the markers make a second poster find the first one's review."""
        yield


def workflow_file(path: str, repository: str) -> tuple[str, str]:
    """The workflow file and ref of a run's `path`: '.github/workflows/x.yml', or with '@ref', or as
    'owner/repo/.github/workflows/x.yml@ref' (the form the REST description shows)."""
    file, at, ref = path.partition("@")
    prefix = repository.lower() + "/"
    if file.lower().startswith(prefix):
        file = file[len(prefix):]
    return file, ref if at else ""


def run_problem(run, *, repository_id: int, repository: str, default_branch: str,
                workflows: tuple[str, ...]) -> str | None:
    """Why a workflow run may not hand manifests to poll (a phrase), or None (pure)."""
    if run.repository_id != repository_id or run.head_repository_id != repository_id:
        return (f"comes from workflow run {run.id} of another repository (repository id {run.repository_id}, "
                f"head repository id {run.head_repository_id})")
    if run.event not in TRUSTED_EVENTS:
        return (f"comes from workflow run {run.id} started by {run.event!r}; only schedule and "
                "workflow_dispatch runs may hand manifests to poll")
    if run.head_branch != default_branch:
        return (f"comes from workflow run {run.id} on branch {run.head_branch!r}, not the default branch "
                f"{default_branch!r}")
    file, ref = workflow_file(run.path, repository)
    if file not in workflows:
        return f"comes from workflow run {run.id} of {file!r}, which is not in artifacts.workflows"
    if ref and ref not in (default_branch, f"refs/heads/{default_branch}"):
        return f"comes from workflow run {run.id} of {file!r} at {ref!r}, not the default branch"
    return None


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
