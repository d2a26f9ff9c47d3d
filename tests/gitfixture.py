"""Real git repositories for tests: a work tree with a bare `origin`, commits made with plain git."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    env = {**os.environ, **GIT_ENV}
    out = subprocess.run(["git", *args], cwd=cwd, env=env, input=input, capture_output=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {out.stderr.decode(errors='replace')}")
    return out.stdout.decode(errors="replace").strip()


class Repo:
    """A checkout on branch main with one initial commit, and a bare origin it can push to."""

    def __init__(self, root: Path) -> None:
        self.origin = root / "origin.git"
        self.path = root / "work"
        self.path.mkdir(parents=True)
        git(root, "init", "-q", "--bare", "-b", "main", str(self.origin))
        git(self.path, "init", "-q", "-b", "main")
        git(self.path, "remote", "add", "origin", str(self.origin))
        self.write("README.md", "# demo\n")
        self.commit("initial")

    @classmethod
    def existing(cls, root: Path) -> Repo:
        """A checkout made earlier under `root` (work/ and origin.git/), e.g. a copy of a built one."""
        repo = cls.__new__(cls)
        repo.origin, repo.path = root / "origin.git", root / "work"
        return repo

    def write(self, rel: str, content: str | bytes) -> Path:
        path = self.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    def commit(self, message: str) -> str:
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return git(self.path, "rev-parse", "HEAD")

    def branch(self, name: str) -> None:
        git(self.path, "checkout", "-q", "-b", name)

    def checkout(self, name: str) -> None:
        git(self.path, "checkout", "-q", name)

    def push(self, *refspecs: str) -> None:
        git(self.path, "push", "-q", "origin", *refspecs)

    def diff(self, base: str, head: str, context: int = 3) -> bytes:
        env = {**os.environ, **GIT_ENV}
        return subprocess.run(
            ["git", "-c", "core.quotepath=off", "diff", "--find-renames", f"-U{context}", base, head],
            cwd=self.path, env=env, capture_output=True, check=True,
        ).stdout
