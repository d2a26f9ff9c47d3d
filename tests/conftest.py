"""Shared end-to-end setting: a real git repository with pull requests, and the two loopback emulators.

Tests run the real CLI (in-process, `batch_review.cli.commands.main`) with the real openai and PyGithub clients,
pointed at the emulators through OPENAI_BASE_URL and GITHUB_API_URL.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from batch_review.cli import commands as cli

from .emulators.anthropic_emu import AnthropicEmulator
from .emulators.github_emu import GitHubEmulator
from .emulators.openai_emu import OpenAIEmulator, chat_completion
from .gitfixture import Repo, git

# tools/mutation.py runs the tests with this profile: the same examples on every run, so whether a mutant is
# killed does not depend on luck.
settings.register_profile("mutation", derandomize=True, database=None)

OPENAI_KEY = "sk-test-emulator-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-api03-emulator-0123456789abcdef"
CLAUDE_CONFIG = "provider:\n  name: anthropic\nmodel: claude-haiku-4-5\n"
GITHUB_TOKEN = "ghs_emulatortoken0123456789"
SIGNING_KEY = "5ca1ab1e" * 8  # 32 bytes, hex: what `openssl rand -hex 32` gives


@pytest.fixture
def signed(monkeypatch):
    """The recommended setup for the workflow token: the signing key set (a secret of the default branch's
    environment in a real workflow)."""
    monkeypatch.setenv("BATCH_REVIEW_SIGNING_KEY", SIGNING_KEY)
    return SIGNING_KEY


@pytest.fixture
def openai_emu():
    with OpenAIEmulator(api_key=OPENAI_KEY) as emu:
        yield emu


@pytest.fixture
def github_emu():
    with GitHubEmulator(token=GITHUB_TOKEN, repo="acme/widgets") as emu:
        yield emu


@dataclass
class World:
    repo: Repo
    openai: OpenAIEmulator
    github: GitHubEmulator
    state: Path
    pulls: dict[int, str]  # number -> head sha

    def run(self, *args: str) -> int:
        return cli.main(list(args))

    def submit(self, *extra: str) -> int:
        return self.run("submit", "--state-dir", str(self.state), *extra)

    def poll(self, *extra: str) -> int:
        return self.run("poll", "--state-dir", str(self.state), *extra)

    def manifests(self) -> list[Path]:
        return sorted(p for p in self.state.glob("*/manifest.json"))

    def manifest(self) -> dict:
        (path,) = self.manifests()
        return json.loads(path.read_text())

    def configure(self, text: str) -> None:
        """Add `text` to the repository's .github/batch-review.yml."""
        path = self.repo.path / ".github" / "batch-review.yml"
        path.parent.mkdir(exist_ok=True)
        path.write_text((path.read_text() if path.exists() else "") + text)

    def request_of(self, path: str) -> str:
        """The custom_id of the (first) request that shows `path`."""
        return next(cid for cid, r in self.manifest()["requests"].items() if path in paths_of(r))

    def batch_ids(self) -> list[str]:
        return list(self.openai.batches)

    def answer_with(self, by_path: dict[str, object]) -> None:
        """Scripted model answers by file path: a findings list, a raw string, or (status, body)."""
        def responder(custom_id: str, body: dict):
            paths = paths_shown(body)
            special = [by_path[p] for p in paths if isinstance(by_path.get(p), tuple | str)]
            if special and isinstance(special[0], tuple):
                return special[0]
            if special:
                return chat_completion(special[0])
            answer = [f for p in paths for f in by_path.get(p, [])]
            return chat_completion(json.dumps({"findings": answer}), prompt_tokens=1200, completion_tokens=300,
                                   cached_tokens=800)
        self.openai.set_responder(responder)


def paths_of(record: dict) -> list[str]:
    """The files a manifest request record (version 2) shows, in order."""
    return [f["path"] for f in record["files"]]


def user_message(body: dict) -> str:
    if "system" in body:  # the Messages API's params (provider anthropic)
        return body["messages"][0]["content"]
    return body["messages"][1]["content"] if "messages" in body else body["input"]


def ours(theirs: str) -> str:
    """Our custom_id of a Message Batches request id (<16 hex of the digest>_<ours, ':' as '_'>)."""
    return theirs.split("_", 1)[1].replace("_", ":")


@pytest.fixture
def anthropic_emu():
    with AnthropicEmulator(api_key=ANTHROPIC_KEY) as emu:
        emu.id_view = ours  # responders and finished() see our custom_ids, as with the OpenAI emulator
        yield emu


def use_anthropic(world: World, emu: AnthropicEmulator, monkeypatch) -> World:
    """The same world with provider anthropic: the Message Batches emulator stands where OpenAI's did."""
    world.openai = emu
    world.configure(CLAUDE_CONFIG)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emu.base_url)
    return world


@pytest.fixture
def claude_world(tmp_path, openai_emu, anthropic_emu, github_emu, monkeypatch) -> World:
    return use_anthropic(make_world(tmp_path, openai_emu, github_emu, monkeypatch), anthropic_emu, monkeypatch)


@pytest.fixture(params=["openai", "anthropic"])
def any_world(request, tmp_path, openai_emu, github_emu, monkeypatch) -> World:
    """The world with each provider in turn (world.openai is that provider's emulator)."""
    world = make_world(tmp_path, openai_emu, github_emu, monkeypatch)
    if request.param == "anthropic":
        return use_anthropic(world, request.getfixturevalue("anthropic_emu"), monkeypatch)
    return world


def paths_shown(body: dict) -> list[str]:
    """The files a request shows, from its '=== <path> (...)' headers."""
    return [line[4:].rsplit(" (", 1)[0] for line in user_message(body).split("\n") if line.startswith("=== ")]


def finding(path: str, line: int, *, side: str = "new", start_line=None, severity: str = "high",
            title: str = "A problem", body: str = "It breaks.", suggestion=None, category: str = "bug") -> dict:
    return {"path": path, "line": line, "start_line": start_line, "side": side, "severity": severity,
            "category": category, "title": title, "body": body, "suggestion": suggestion}


APP_BASE = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(30))


def _build_world(root: Path) -> tuple[str, dict[int, str], dict[int, str]]:
    """The git side of the world under `root`: (base sha, pull number -> head sha, pull number -> diff)."""
    repo = Repo(root / "git")
    repo.write("app.py", APP_BASE)
    repo.write("util.py", "import os\n\ndef load(p):\n    return open(p).read()\n")
    repo.write("poetry.lock", "# lock\n")
    base = repo.commit("base")
    repo.push("main")
    pulls = {}
    # pull request 1: changes app.py in two hunks, util.py, and a lock file
    repo.branch("feature-1")
    lines = APP_BASE.splitlines(keepends=True)
    lines[1] = "    return x / 0\n"
    lines[4] = "    return x - 1\n"
    lines[60:62] = ["def f20(x):\n", "    return eval(x)\n"]
    repo.write("app.py", "".join(lines))
    repo.write("util.py", "import os\n\ndef load(p):\n    return open(p).read()  # no close\n\ndef save(p, d):\n"
                          "    open(p, 'w').write(d)\n")
    repo.write("poetry.lock", "# lock 2\n")
    pulls[1] = repo.commit("feature 1")
    # pull request 2: a draft; pull request 3: labelled no-batch-review
    repo.checkout("main")
    repo.branch("feature-2")
    repo.write("draft.py", "x = 1\n")
    pulls[2] = repo.commit("draft")
    repo.checkout("main")
    repo.branch("feature-3")
    repo.write("skip.py", "y = 2\n")
    pulls[3] = repo.commit("skipped")
    for number, sha in pulls.items():
        git(repo.path, "push", "-q", "origin", f"{sha}:refs/pull/{number}/head")
    repo.checkout("main")
    for branch in ("feature-1", "feature-2", "feature-3"):  # the checkout has only main, like CI
        git(repo.path, "branch", "-q", "-D", branch)
    git(repo.path, "reflog", "expire", "--expire=now", "--all")
    git(repo.path, "gc", "-q", "--prune=now")
    diffs = {number: git(root / "git" / "origin.git", "diff", "-U3", "--find-renames", f"{base}...{sha}") + "\n"
             for number, sha in pulls.items()}
    return base, pulls, diffs


_TEMPLATE: list = []  # this process's built world: (its folder, base, pulls, diffs), copied into each test


def _world_template() -> tuple[Path, str, dict[int, str], dict[int, str]]:
    """The git world is the same for every test (fixed dates make the same commits): built once per
    process, then each test gets its own copy, which is all a test may change."""
    if not _TEMPLATE:
        root = Path(tempfile.mkdtemp(prefix="batch-review-world-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        _TEMPLATE.append((root, *_build_world(root)))
    return _TEMPLATE[0]


def make_world(tmp_path: Path, openai_emu: OpenAIEmulator, github_emu: GitHubEmulator,
               monkeypatch) -> World:
    template, base, pulls, diffs = _world_template()
    shutil.copytree(template / "git", tmp_path / "git", symlinks=True)
    config = tmp_path / "git" / "work" / ".git" / "config"  # the work tree's origin is its own copy's
    config.write_text(config.read_text().replace(str(template / "git"), str(tmp_path / "git")))
    repo = Repo.existing(tmp_path / "git")
    for number, sha in pulls.items():
        github_emu.add_pull(number, head_sha=sha, base_sha=base, diff=diffs[number], head_ref=f"feature-{number}",
                            draft=number == 2, labels=("no-batch-review",) if number == 3 else ())
    monkeypatch.chdir(repo.path)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_emu.base_url)
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/widgets")
    monkeypatch.setenv("GITHUB_API_URL", github_emu.api_url)
    monkeypatch.setenv("BATCH_REVIEW_WRITE_INTERVAL", "0")
    for var in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(var, raising=False)
    return World(repo, openai_emu, github_emu, tmp_path / "state", dict(pulls))


@pytest.fixture
def world(tmp_path, openai_emu, github_emu, monkeypatch) -> World:
    return make_world(tmp_path, openai_emu, github_emu, monkeypatch)


class NoWait:
    """Wall time, without the waiting."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        pass


@pytest.fixture(autouse=True)
def _verify_round_only_where_asked(request, monkeypatch):
    """The verify round (issue 20, on by default) holds every finding back for a second batch; the tests
    written before it pin what the first round posts, so the round runs only in tests marked `verify`
    (tests/poll/test_verify.py). Off here, a manifest posts exactly as it did before the round."""
    if request.node.get_closest_marker("verify") is None:
        import batch_review.poll.verify as verify

        monkeypatch.setattr(verify, "start_round", lambda *args, **kwargs: verify.Started())


@pytest.fixture(autouse=True)
def _no_real_sleep(monkeypatch):
    """Publish waits out Retry-After and backoff, the write budget paces; tests do not wait in real time (a
    test of the pacing itself gives the product and the emulator one simulated clock)."""
    import batch_review.github.pacing as pacing
    import batch_review.poll.publish as publish

    monkeypatch.setattr(publish.time, "sleep", lambda s: None)
    monkeypatch.setattr(pacing, "CLOCK", NoWait())
    # exact token counting is on only where a test turns it on (tests/planning/test_tokenizer.py)
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)


def _o200k_file() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / "o200k_base.tiktoken"
        if candidate.is_file():
            return candidate
    return None


@pytest.fixture(scope="session")
def o200k_cache(tmp_path_factory) -> Path:
    """A TIKTOKEN_CACHE_DIR holding o200k_base, from ../shared/data (skips when tiktoken or the file is missing)."""
    pytest.importorskip("tiktoken")
    source = _o200k_file()
    if source is None:
        pytest.skip("o200k_base.tiktoken is not in ../shared/data")
    import hashlib
    import shutil

    cache = tmp_path_factory.mktemp("tiktoken")
    url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    shutil.copy(source, cache / hashlib.sha1(url.encode()).hexdigest())
    return cache


@pytest.fixture(scope="session")
def o200k(o200k_cache):
    """The o200k_base encoding, read offline; TIKTOKEN_CACHE_DIR is set only while it loads, so the
    product's own counting (tokenizer.py) stays off in every test that does not turn it on."""
    import os

    import tiktoken

    old = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(o200k_cache)
    try:
        return tiktoken.get_encoding("o200k_base")
    finally:
        if old is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = old


def pytest_configure(config):
    config.addinivalue_line("markers", "verify: the test runs the verify round (off elsewhere; see "
                                       "_verify_round_only_where_asked)")
