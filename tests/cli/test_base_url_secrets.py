"""A credential in the provider's base URL never leaks (issue 21, item 6). The attacker reads what the tool
leaves behind: the manifest (a workflow artifact anyone with read access downloads, and its copy kept on
the provider), the job log, the job summary, the step outputs, and what is sent to the services. A
gateway's URL may carry a key in its userinfo (`user:sk-secret@`), its path (an account id or key
segment, as Cloudflare's AI Gateway has) or its query (`?api-key=`). Before, the URL was written verbatim
into manifest.json and the copy on the provider.

Played through the real CLI inside Actions (GITHUB_ACTIONS=true), with the real openai client against the
emulator behind a gateway that routes on a secret path prefix: the manifest records only scheme, host and
port; each credential part is `::add-mask::`ed (the one line allowed to name it) and appears in no other
log line, no file written, and no request body either emulator received.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import finding
from ..emulators.github_emu import make_zip

PATH_KEY = "sk-pathsecret0123456789"


@pytest.fixture
def in_actions(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary"))
    return tmp_path


def leaks(world, tmp_path: Path, out: str, secrets: list[str]) -> list[str]:
    """Where any of `secrets` shows up: a log line other than its own ::add-mask::, a file under tmp_path
    (state, summary, outputs, the checkout), a request body either emulator received."""
    found = []
    lines = [line for line in out.splitlines() if not line.startswith("::add-mask::")]
    files = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    bodies = [e.body for e in world.openai.log + world.github.log]
    for secret in secrets:
        found += [f"log: {line}" for line in lines if secret in line]
        found += [f"file: {p}" for p, data in files.items() if secret.encode() in data]
        found += [f"request body: {body[:80]!r}" for body in bodies if secret.encode() in body]
    return found


def origin(world) -> str:
    return f"http://127.0.0.1:{world.openai.port}"


def test_a_key_in_the_gateways_path_is_never_written_or_logged(world, in_actions, monkeypatch, capsys):
    world.openai.gateway = f"/gw/{PATH_KEY}"
    url = f"{origin(world)}/gw/{PATH_KEY}/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")]})
    assert world.submit() == 0
    assert world.openai.requests("POST", r"^/v1/batches$")[0].gateway == f"/gw/{PATH_KEY}"  # it went through
    assert world.manifest()["provider"] == {"name": "openai", "base_url": origin(world)}
    world.openai.complete_all()
    files = {str(p.relative_to(world.state)): p.read_bytes() for p in world.state.rglob("*") if p.is_file()}
    world.github.add_artifact("batch-review-1-1", make_zip(files))
    assert world.run("poll", "--artifacts", "--state-dir", str(in_actions / "poll")) == 0
    assert len(world.github.reviews(1)) == 1
    out, err = capsys.readouterr()
    assert f"::add-mask::{PATH_KEY}" in out.splitlines() and f"::add-mask::{url}" in out.splitlines()
    assert leaks(world, in_actions, out + err, [PATH_KEY, url]) == []


def test_a_service_echoing_the_path_is_redacted_in_the_log(world, in_actions, monkeypatch, capsys):
    """The gateway answers 404 naming the path it was sent (OpenAI's "Invalid URL (POST /v1/…)" does too)."""
    world.openai.gateway = "/gw/current"
    url = f"{origin(world)}/gw/{PATH_KEY}/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    assert world.submit() == 1
    out, err = capsys.readouterr()
    assert "HTTP 404: no route for [redacted]/files; nothing submitted" in out + err  # as the service echoed it
    assert leaks(world, in_actions, out + err, [PATH_KEY]) == []


@pytest.mark.parametrize("dry_run", [True, False])
def test_userinfo_and_query_credentials_are_never_written_or_logged(world, in_actions, monkeypatch, capsys,
                                                                     dry_run):
    """The issue's URL. The client sends userinfo as Basic authentication, so the emulator (OpenAI) refuses
    it: the run fails, and neither the manifest written before the upload nor the failure shows it."""
    url = f"http://user:sk-secret@127.0.0.1:{world.openai.port}/v1?api-key=abc"
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    assert world.submit(*(["--dry-run"] if dry_run else [])) == (0 if dry_run else 1)
    if dry_run:  # (a real run stops at its first request, before any manifest is written)
        (manifest,) = world.manifests()
        assert f'"base_url":"{origin(world)}"' in manifest.read_text()
    out, err = capsys.readouterr()
    masks = {line.removeprefix("::add-mask::") for line in out.splitlines() if line.startswith("::add-mask::")}
    assert {"sk-secret", "user:sk-secret", "api-key=abc", url} <= masks
    assert leaks(world, in_actions, out + err, ["sk-secret", "api-key=abc", "user:sk", url]) == []
    if not dry_run:
        assert world.openai.log and "Incorrect API key" in out + err  # it was sent, and refused
