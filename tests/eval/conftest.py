"""eval's end-to-end setting: the planted history (built once per process, copied for each test) and the
batch emulators, driven through the real CLI with the real openai and anthropic clients; and the scripted
models that answer its requests: one that finds every planted bug, one that stays silent, one that is
noisy."""

from __future__ import annotations

import atexit
import html
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from batch_review.cli import commands as cli
from batch_review.markdown import safety as ms

from ..conftest import ANTHROPIC_KEY, OPENAI_KEY, finding, ours, user_message
from ..emulators.anthropic_emu import AnthropicEmulator
from ..emulators.openai_emu import chat_completion
from .histories import Planted, planted

_TEMPLATE: list = []
_LINE = re.compile(r"(\d+)\+(.*)")


def _template() -> tuple[Path, Planted]:
    if not _TEMPLATE:
        root = Path(tempfile.mkdtemp(prefix="batch-review-eval-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        _TEMPLATE.append((root, planted(root / "history")))
    return _TEMPLATE[0]


@dataclass
class EvalWorld:
    path: Path
    planted: Planted
    service: object  # the batch emulator (OpenAI's or Anthropic's)
    state: Path

    def eval(self, *args: str) -> int:
        return cli.main(["eval", "--state-dir", str(self.state), *args])

    def folder(self, name: str = "default") -> Path:
        return self.state / "eval" / name

    def record(self, name: str = "default") -> dict:
        return json.loads((self.folder(name) / "eval.json").read_text())

    def sha(self, role: str) -> str:
        return self.planted.shas[role]

    def answer(self, model: Callable[[dict], list[dict]]) -> None:
        self.service.set_responder(lambda cid, body: chat_completion(
            json.dumps({"findings": model(body)}), prompt_tokens=1000, completion_tokens=100))


@pytest.fixture
def history(tmp_path, monkeypatch, openai_emu) -> EvalWorld:
    root, p = _template()
    shutil.copytree(root / "history", tmp_path / "history", symlinks=True)
    monkeypatch.chdir(tmp_path / "history")
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_emu.base_url)
    for var in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_TOKEN", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(var, raising=False)
    world = EvalWorld(tmp_path / "history", p, openai_emu, tmp_path / "state")
    world.planted = Planted(p.repo, dict(p.shas), p.bugs, p.snippets)
    return world


@pytest.fixture
def claude_history(history, monkeypatch, tmp_path) -> EvalWorld:
    """The same history, reviewed through Anthropic's Message Batches API (configured outside the repository)."""
    emu = AnthropicEmulator(api_key=ANTHROPIC_KEY)
    emu.__enter__()
    emu.id_view = ours
    config = tmp_path / "claude.yml"
    config.write_text("provider:\n  name: anthropic\nmodel: claude-haiku-4-5\n")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emu.base_url)
    history.service = emu
    history.config = str(config)
    yield history
    emu.__exit__(None, None, None)


# --- scripted models ----------------------------------------------------------------------------------------

def added_lines(body: dict) -> list[tuple[str, int, str]]:
    """(path, new line number, code) of every added line a request shows."""
    out, path = [], None
    for line in user_message(body).split("\n"):
        if line.startswith("=== "):
            path = line[4:].rsplit(" (", 1)[0]
            continue
        m = _LINE.fullmatch(line)
        if m and path is not None:
            out.append((path, int(m[1]), m[2]))
    return out


def files_shown(body: dict) -> list[str]:
    return list(dict.fromkeys(path for path, _, _ in added_lines(body)))


def finder(snippets: dict[str, str], severity: str = "high") -> Callable[[dict], list[dict]]:
    """A model that reports every planted bug line it is shown, exactly on it."""
    def model(body: dict) -> list[dict]:
        return [finding(path, n, severity=severity, title="Planted bug") for path, n, code in added_lines(body)
                if code in snippets]
    return model


def silent(body: dict) -> list[dict]:
    return []


def noisy(snippets: dict[str, str]) -> Callable[[dict], list[dict]]:
    """Finds every planted bug (medium), and says something severe (high) about line 1 of every file."""
    found = finder(snippets, "medium")

    def model(body: dict) -> list[dict]:
        return found(body) + [finding(path, 1, severity="high", title="Looks odd") for path in files_shown(body)]
    return model


# --- the report as GitHub renders it ------------------------------------------------------------------------

def _text(cell: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]*>", "", cell)).replace(ms.JOINER, "").split())


def rendered_rows(markdown: str) -> list[list[str]]:
    """Every table row of a markdown text, as GitHub renders it: the cells' visible text."""
    rendered = ms.render(markdown)
    return [[_text(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", rendered, re.S)]
