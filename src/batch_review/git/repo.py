"""The local git checkout: the one place that runs git (diffs, merge bases, fetching pull request heads).

Pull requests larger than the GitHub API's file listing limit are reviewed whole because the diff always
comes from local git. When a pull request's head is not in the checkout it is fetched from `origin`; the
token travels to git through the environment of that one call (GIT_CONFIG_* variables), never through
.git/config, the command line, the manifest or an artifact.

Failures carry git's own words: a checkout git refuses (another user's, "dubious ownership") says so and
what to do, instead of "not a git repository". A failed fetch is a service failure (exit 1, the next run
retries), not bad input; every other git failure is a RepositoryError (exit 2).
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import FetchError, RepositoryError
from ..core.vocabulary import counted


def _git_words(stderr: bytes) -> str:
    """git's own message: its first fatal:/error: line (the next lines are usually hints)."""
    lines = [x.strip() for x in stderr.decode("utf-8", "replace").splitlines() if x.strip()]
    for line in lines:
        for prefix in ("fatal:", "error:"):
            if line.startswith(prefix):
                return line.removeprefix(prefix).strip()
    return lines[-1] if lines else ""


def _refused(path, stderr: bytes) -> RepositoryError | None:
    """git's safe.directory check: the checkout belongs to another user (a container action's usual case)."""
    text = stderr.decode("utf-8", "replace")
    if "dubious ownership" not in text:
        return None
    hint = next((x.strip() for x in text.splitlines() if "safe.directory" in x and x.strip().startswith("git ")),
                f"git config --global --add safe.directory {Path(path).resolve()}")
    return RepositoryError(f"git refuses the checkout: {_git_words(stderr)}. It belongs to another user "
                           f"than the one running batch-review; allow it with `{hint}` (in a container, as the "
                           "container's user) or run as the checkout's owner")


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One entry of a commit's tree as git stores it: a symbolic link is a blob (mode 120000) holding its
    target, a submodule a commit (mode 160000); nothing here is ever followed on disk."""

    mode: str
    kind: str  # blob, tree or commit
    oid: str
    size: int | None  # blobs only
    path: str

    @property
    def is_file(self) -> bool:
        return self.kind == "blob" and self.mode in ("100644", "100755")

    @property
    def is_symlink(self) -> bool:
        return self.kind == "blob" and self.mode == "120000"


def _tree_entries(out: bytes) -> list[TreeEntry]:
    """`git ls-tree -z -l` output as entries; a path that is not UTF-8 keeps its bytes escaped."""
    entries = []
    for record in out.split(b"\0"):
        meta, tab, path = record.partition(b"\t")
        fields = meta.split()
        if not tab or len(fields) != 4:
            continue
        mode, kind, oid, size = (f.decode("ascii", "replace") for f in fields)
        entries.append(TreeEntry(mode, kind, oid, int(size) if size.isdigit() else None,
                                 path.decode("utf-8", "backslashreplace")))
    return entries


class GitRepo:
    def __init__(self, path: str | os.PathLike = ".") -> None:
        self.path = Path(path)

    def _run(self, args: Sequence[str], *, env: dict | None = None, check: bool = True) -> bytes:
        cmd = ["git", "-C", str(self.path), "-c", "core.quotepath=off", *args]
        try:
            proc = subprocess.run(cmd, capture_output=True, env=env, check=False)
        except FileNotFoundError as exc:
            raise RepositoryError("git is not installed or not on PATH") from exc
        if check and proc.returncode != 0:
            raise _refused(self.path, proc.stderr) or RepositoryError(
                f"git {args[0]} failed: {_git_words(proc.stderr) or 'exit ' + str(proc.returncode)}")
        return proc.stdout

    def check(self) -> None:
        cmd = ["git", "-C", str(self.path), "rev-parse", "--is-inside-work-tree"]
        try:
            proc = subprocess.run(cmd, capture_output=True, check=False)
        except FileNotFoundError as exc:
            raise RepositoryError("git is not installed or not on PATH") from exc
        if proc.stdout.strip() == b"true":
            return
        refused = _refused(self.path, proc.stderr)
        if refused:
            raise refused
        words = _git_words(proc.stderr) or "not a git repository"
        raise RepositoryError(f"{self.path}: {words} (run from a checkout or pass --repo)")

    def toplevel(self) -> Path:
        return Path(self._run(["rev-parse", "--show-toplevel"]).decode().strip())

    def rev_parse(self, ref: str, *, flag: str = "") -> str:
        """The commit `ref` names, or a RepositoryError naming `flag` (where the ref came from, e.g. --base)
        and the `git fetch` that would bring it into the checkout."""
        named = f"{flag}: " if flag else ""
        if ref.startswith("-"):
            raise RepositoryError(f"{named}bad revision {ref!r}")
        out = self._run(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], check=False).strip()
        if not out:
            raise RepositoryError(f"{named}{ref!r} is not a branch, tag or commit of the checkout; "
                                  f"{self.fetch_hint(ref)}")
        return out.decode()

    def _has_ref(self, ref: str) -> bool:
        return bool(self._run(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], check=False).strip())

    def fetch_hint(self, ref: str) -> str:
        """What would bring a missing `ref` into the checkout (a phrase): `origin/main` -> `git fetch
        origin main`; `main` that only origin has -> use origin/main; anything else -> fetch it, or say that
        there is no remote to fetch from."""
        remotes = self._run(["remote"], check=False).decode().split()
        remote, _, branch = ref.partition("/")
        if remote in remotes and branch:
            return f"run `git fetch {remote} {branch}` first"
        for name in remotes:
            if self._has_ref(f"refs/remotes/{name}/{ref}"):
                return f"the checkout has it as {name}/{ref}: pass that"
        if not remotes:
            return "the checkout has no remote to fetch it from"
        name = "origin" if "origin" in remotes else remotes[0]
        if re.fullmatch(r"[0-9a-fA-F]{7,64}", ref):
            return f"run `git fetch {name} {ref}` first (or fetch the whole history)"
        return f"run `git fetch {name} {ref}` and pass {name}/{ref}"

    def has_commit(self, sha: str) -> bool:
        cmd = ["git", "-C", str(self.path), "cat-file", "-e", f"{sha}^{{commit}}"]
        return subprocess.run(cmd, capture_output=True, check=False).returncode == 0

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        cmd = ["git", "-C", str(self.path), "merge-base", "--is-ancestor", ancestor, descendant]
        return subprocess.run(cmd, capture_output=True, check=False).returncode == 0

    def parent(self, sha: str) -> str | None:
        out = self._run(["rev-parse", "--verify", "--quiet", f"{sha}~1^{{commit}}"], check=False).strip()
        return out.decode() if out else None

    def merge_base(self, base: str, head: str) -> str:
        out = self._run(["merge-base", base, head], check=False).strip()
        if not out:
            raise RepositoryError(f"{base[:12]} and {head[:12]} have no common ancestor")
        return out.decode()

    def current_branch(self) -> str | None:
        out = self._run(["symbolic-ref", "--quiet", "--short", "HEAD"], check=False).strip()
        return out.decode() if out else None

    def default_branch(self) -> str:
        """origin's default branch if known, else the first of main/master/trunk that exists."""
        out = self._run(["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"], check=False)
        if out.strip():
            return out.decode().strip()
        for name in ("main", "master", "trunk", "origin/main", "origin/master"):
            if self._run(["rev-parse", "--verify", "--quiet", name], check=False).strip():
                return name
        raise RepositoryError("cannot tell the default branch: pass --base")

    def diff(self, base_sha: str, head_sha: str, *, context: int, ignore_space: bool = False) -> bytes:
        """The diff of head against base (both commits), as GitHub computes a pull request's; with
        `ignore_space`, changes of whitespace alone are left out (-w)."""
        return self._run(
            [
                "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false", "-c", "diff.external=",
                "diff", "--no-color", "--no-ext-diff", "--no-textconv", "--find-renames",
                *(["-w"] if ignore_space else []), f"-U{context}", base_sha, head_sha, "--",
            ]
        )

    # --- files of a commit, from git's objects (the repository's rules files) ----------------------------

    def tree_entries(self, commit: str, paths: Sequence[str], *, recursive: bool = False) -> list[TreeEntry]:
        """The entries at `paths` (literal paths from the repository's root, never patterns) in `commit`'s
        tree, with `recursive` every entry under a folder path; read from git's objects, never the work
        tree, so a symbolic link is an entry, not followed."""
        if commit.startswith("-"):
            raise RepositoryError(f"bad revision {commit!r}")
        out = self._run(["--literal-pathspecs", "ls-tree", "-z", "-l", "--full-tree",
                         *(["-r"] if recursive else []), commit, "--", *paths])
        return _tree_entries(out)

    def blob(self, oid: str) -> bytes:
        """The content of blob `oid` (its size known beforehand from `tree_entries`)."""
        if not re.fullmatch(r"[0-9a-f]{40,64}", oid):
            raise RepositoryError(f"bad object id {oid!r}")
        return self._run(["cat-file", "blob", oid])

    # --- history (eval's miner): raw git output, parsed by eval/szz.py -----------------------------------

    def is_shallow(self) -> bool:
        return self._run(["rev-parse", "--is-shallow-repository"]).strip() == b"true"

    def log_commits(self, rev: str, *, since: str | None = None) -> bytes:
        """Every commit reachable from `rev` (committed since `since`, a date git reads), newest first:
        NUL-separated fields sha, parents, committer time, message (git never prints a NUL inside one)."""
        if rev.startswith("-"):
            raise RepositoryError(f"bad revision {rev!r}")
        window = [f"--since={since}"] if since else []
        return self._run(["log", "-z", "--no-show-signature", "--format=%H%x00%P%x00%ct%x00%B", *window, rev, "--"])

    def commit_details(self, shas: Iterable[str]) -> bytes:
        """The same fields for the named commits (full hex ids), in the order given."""
        out = []
        shas = list(shas)
        for start in range(0, len(shas), 500):  # a bounded command line
            out.append(self._run(["log", "-z", "--no-walk=unsorted", "--no-show-signature",
                                  "--format=%H%x00%P%x00%ct%x00%B",
                                  *shas[start:start + 500], "--"]))
        return b"\0".join(x.rstrip(b"\0") for x in out if x)

    def numstat(self, base: str, head: str) -> bytes:
        """`git diff --numstat -z -w` of head against base: added, removed and the path (renames as two)."""
        return self._run(["-c", "diff.external=", "diff", "--numstat", "-z", "-w", "--no-ext-diff", "--no-textconv",
                          "--find-renames", base, head, "--"])

    def blame(self, rev: str, path: str, ranges: Sequence[tuple[int, int]]) -> bytes:
        """`git blame --porcelain -w` of lines `ranges` (inclusive) of `path` as of commit `rev`."""
        spans = [f"-L{first},{last}" for first, last in ranges]
        return self._run(["blame", "--porcelain", "-w", "--no-textconv", *spans, rev, "--", path])

    def file_at(self, sha: str, path: str, *, max_bytes: int = 2_000_000) -> str | None:
        """The text of `path` at commit `sha` from the checkout's objects (never a work tree or pull
        request text), or None when it is not there, is too large or is not UTF-8."""
        if sha.startswith("-") or not path or path.startswith("-"):
            return None
        size = self._run(["cat-file", "-s", f"{sha}:{path}"], check=False).strip()
        if not size.isdigit() or int(size) > max_bytes:
            return None
        data = self._run(["cat-file", "blob", f"{sha}:{path}"], check=False)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def file_diff(self, base_sha: str, head_sha: str, path: str, *, context: int = 3) -> str:
        """The unified diff of one file between two commits ("" when git cannot give it); the path is a
        literal name (a model wrote it), never a pathspec."""
        if base_sha.startswith("-") or head_sha.startswith("-"):
            return ""
        out = self._run(["--literal-pathspecs", "diff", "--no-color", "--no-ext-diff", "--no-textconv",
                         f"-U{context}", base_sha, head_sha, "--", path], check=False)
        return out.decode("utf-8", errors="replace")

    def fetch(self, refspecs: Iterable[str], *, token: str | None = None, remote: str = "origin") -> None:
        """Fetch refspecs from `remote`; the token, if any, reaches git only through this call's environment."""
        specs = list(refspecs)
        if not specs:
            return
        env = dict(os.environ)
        env["GIT_TERMINAL_PROMPT"] = "0"
        if self._run(["remote", "get-url", remote], check=False).strip() == b"":
            raise RepositoryError(f"{self.path}: the checkout has no remote {remote!r} to fetch pull request "
                                  "heads from (check out with actions/checkout, or add the remote)")
        if token:
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            count = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
            env[f"GIT_CONFIG_KEY_{count}"] = "http.extraheader"
            env[f"GIT_CONFIG_VALUE_{count}"] = f"AUTHORIZATION: basic {basic}"
            env["GIT_CONFIG_COUNT"] = str(count + 1)
        try:
            self._run(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, *specs], env=env)
        except RepositoryError as exc:
            if "dubious ownership" in str(exc):
                raise
            raise FetchError(f"{exc} (fetching {counted(len(specs), 'pull request ref')} from {remote}); "
                             "the next run tries again") from exc

    def remote_repository(self, remote: str = "origin") -> str | None:
        """owner/name from the remote's URL when it looks like a GitHub-style URL, else None."""
        url = self._run(["remote", "get-url", remote], check=False).decode().strip()
        if not url:
            return None
        path = url.split(":", 1)[1] if url.startswith("git@") else url.split("://", 1)[-1].split("/", 1)[-1]
        parts = [p for p in path.removesuffix(".git").split("/") if p]
        return "/".join(parts[-2:]) if len(parts) >= 2 else None
