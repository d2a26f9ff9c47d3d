"""actions_env.py, action.yml, and the entrypoint run the way the runner runs a Docker action."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from batch_review.cli import actions_env
from batch_review.cli.actions_env import argv_from_inputs, environment_from_inputs
from batch_review.core.errors import InputError

from ..conftest import GITHUB_TOKEN, OPENAI_KEY, finding
from ..markdown_view import shows

ROOT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def inputs(**values: str) -> dict[str, str]:
    """INPUT_* variables as the runner sets them: every declared input, defaults filled in."""
    env = {}
    for name, spec in ACTION["inputs"].items():
        default = str(spec.get("default", ""))
        if "${{" in default:
            default = GITHUB_TOKEN  # ${{ github.token }}
        env[f"INPUT_{name.upper()}"] = values.get(name, default)
    return env


def test_declared_inputs_are_exactly_the_consumed_ones():
    assert set(ACTION["inputs"]) == set(actions_env.INPUTS)
    samples = {"command": "poll", "dry-run": "true", "pull-requests": "7", "batch-ids": "batch_9",
               "config": "other.yml", "state-dir": "elsewhere", "model": "gpt-5", "artifact-prefix": "x-",
               "openai-api-key": "sk-other", "openai-base-url": "http://other/v1", "github-token": "ghs_other",
               "anthropic-api-key": "sk-ant-other", "signing-key": "ab" * 32}
    for name in ACTION["inputs"]:  # each declared input changes what the CLI gets, in some command
        changed = False
        for command in ("submit", "poll", "cancel"):
            base = inputs(command=command, **{"batch-ids": "all"} if command == "cancel" else {})
            varied = {**base, f"INPUT_{name.upper()}": samples[name]}
            before = (argv_from_inputs(base), environment_from_inputs(base))
            after = (argv_from_inputs(varied), environment_from_inputs(varied))
            changed = changed or before != after
        assert changed, f"input {name} is declared but nothing reads it"


def test_declared_outputs_are_exactly_the_written_ones():
    assert tuple(ACTION["outputs"]) == actions_env.OUTPUTS
    written = set()
    for path in (ROOT / "src" / "batch_review").rglob("*.py"):
        written |= set(re.findall(r'set_output\("([a-z-]+)"', path.read_text()))
    assert written == set(actions_env.OUTPUTS)


def test_action_runs_the_dockerfile_with_the_action_command():
    assert ACTION["runs"] == {"using": "docker", "image": "Dockerfile", "args": ["action"]}
    assert 'ENTRYPOINT ["batch-review"]\n' in (ROOT / "Dockerfile").read_text()  # + args: `batch-review action`


@pytest.mark.parametrize(("values", "argv"), [
    ({}, ["submit", "--state-dir", ".batch-review"]),
    ({"config": "ci/review.yml"}, ["submit", "--config", "ci/review.yml", "--state-dir", ".batch-review"]),
    ({"dry-run": "true", "model": "gpt-5", "pull-requests": "12, #13"},
     ["submit", "--state-dir", ".batch-review", "--dry-run",
      "--model", "gpt-5", "--pr", "12", "--pr", "13"]),
    ({"command": "poll", "artifact-prefix": "nightly-"},
     ["poll", "--state-dir", ".batch-review", "--artifact-prefix",
      "nightly-", "--artifacts"]),
    ({"command": "cancel", "batch-ids": "all"},
     ["cancel", "--state-dir", ".batch-review", "--artifacts", "--all"]),
    ({"command": "cancel", "batch-ids": "batch_1 batch_2"},
     ["cancel", "--state-dir", ".batch-review", "--artifacts",
      "batch_1", "batch_2"]),
])
def test_inputs_map_onto_the_cli(values, argv):
    assert argv_from_inputs(inputs(**values)) == argv


@pytest.mark.parametrize(("values", "message"), [
    ({"command": "sumbit"}, "input command: 'sumbit' is not one of submit, poll, status, cancel"),
    ({"dry-run": "maybe"}, "input dry-run: 'maybe' is not true or false"),
    ({"pull-requests": "12 abc"}, "input pull-requests: 'abc' is not a pull request number"),
    ({"command": "cancel"}, "input batch-ids: cancel needs batch ids, or 'all'"),
])
def test_bad_inputs_are_one_line(values, message):
    with pytest.raises(InputError) as exc:
        argv_from_inputs(inputs(**values))
    assert str(exc.value) == message


def test_secrets_become_environment_and_are_masked(monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    env = environment_from_inputs({**inputs(**{"openai-api-key": "sk-x\nsk-y", "openai-base-url": "http://h/v1"})})
    assert env == {"OPENAI_API_KEY": "sk-x\nsk-y", "GITHUB_TOKEN": GITHUB_TOKEN, "OPENAI_BASE_URL": "http://h/v1"}
    out = capsys.readouterr().out
    assert "::add-mask::sk-x\n::add-mask::sk-y\n" in out and f"::add-mask::{GITHUB_TOKEN}" in out


def test_outputs_use_delimiters(tmp_path):
    out = tmp_path / "out"
    actions_env.set_output("batch-ids", "b1 b2", {"GITHUB_OUTPUT": str(out)})
    actions_env.set_output("reviews-posted", "x\ny", {"GITHUB_OUTPUT": str(out)})
    lines = out.read_text().splitlines()
    assert lines[0] == "batch-ids=b1 b2"
    assert lines[1].startswith("reviews-posted<<ghadelimiter_") and lines[2:4] == ["x", "y"]
    assert lines[4] == lines[1].split("<<")[1]


def test_summary_is_capped_at_one_mebibyte(tmp_path):
    path = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(path)}
    actions_env.append_summary("x" * (2 * 1024 * 1024), env)
    actions_env.append_summary("more", env)
    text = path.read_text()
    assert len(text.encode()) <= 1024 * 1024 and "summary truncated" in text


def run_entrypoint(world, tmp_path: Path, event: str, **values: str) -> tuple[subprocess.CompletedProcess, dict, str]:
    """`batch-review action` in a fresh process, with the environment a Docker action gets."""
    output = tmp_path / f"output-{len(list(tmp_path.glob('output-*')))}"
    summary = tmp_path / "summary.md"
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps({"schedule": "17 2 * * *"} if event == "schedule" else
                                     {"inputs": {}, "ref": "refs/heads/main", "repository": {"full_name": "acme/widgets"}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "OPENAI_"))}
    env.update(inputs(**{"openai-api-key": OPENAI_KEY, "openai-base-url": world.openai.base_url, **values}))
    env.update({
        "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_WORKSPACE": str(world.repo.path), "GITHUB_REPOSITORY": "acme/widgets",
        "GITHUB_API_URL": world.github.api_url, "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary), "BATCH_REVIEW_WRITE_INTERVAL": "0",
        "GITHUB_RUN_ID": "99",
    })
    proc = subprocess.run([sys.executable, "-m", "batch_review", "action"], cwd=world.repo.path, env=env,
                          capture_output=True, text=True, timeout=120)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines()) if output.exists() else {}
    return proc, outputs, summary.read_text() if summary.exists() else ""


def test_entrypoint_submit_then_poll_like_the_runner(world, tmp_path):
    from ..emulators.github_emu import make_zip

    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")]})
    world.configure("verify:\n  enabled: false\n")  # one poll posts (the verify round: tests/poll/test_verify.py)
    proc, outputs, summary = run_entrypoint(world, tmp_path, "schedule")
    assert proc.returncode == 0, proc.stderr
    (batch_id,) = world.batch_ids()
    assert outputs["batch-ids"] == batch_id and outputs["requests-submitted"] == "1"  # one pull request, one request
    assert float(outputs["estimated-cost"]) > 0
    assert "### batch-review submit (submitted)" in summary and "::group::Targets" in proc.stdout
    # the key is printed only in the command that tells the runner to mask it
    logged = [line for line in (proc.stdout + proc.stderr).splitlines() if not line.startswith("::add-mask::")]
    assert OPENAI_KEY not in "\n".join(logged) + summary and f"::add-mask::{OPENAI_KEY}" in proc.stdout
    # the workflow uploads the state directory as an artifact; poll finds it through the API
    state = world.repo.path / ".batch-review"
    files = {str(p.relative_to(state)): p.read_bytes() for p in state.rglob("*") if p.is_file()}
    world.github.add_artifact("batch-review-99-1", make_zip(files))
    world.openai.complete_all()
    proc, outputs, summary = run_entrypoint(world, tmp_path, "workflow_dispatch", command="poll")
    assert proc.returncode == 0, proc.stderr
    assert outputs["reviews-posted"] == "1" and outputs["pending-batches"] == "0"
    assert float(outputs["actual-cost"]) > 0 and "### batch-review poll" in summary
    (review,) = world.github.reviews(1)
    assert [c["line"] for c in review["comments"]] == [2]
    assert world.github.artifacts == {} and world.github.blob_auth_leaks == []


def test_entrypoint_rejects_bad_input_with_one_line(world, tmp_path):
    proc, outputs, _ = run_entrypoint(world, tmp_path, "workflow_dispatch", command="sumbit")
    assert proc.returncode == 2 and outputs == {}
    assert proc.stdout.strip().splitlines()[-1] == (
        "::error::input command: 'sumbit' is not one of submit, poll, status, cancel")


def test_fork_artifacts_are_ignored(world, tmp_path):
    from ..emulators.github_emu import make_zip

    world.github.add_artifact("batch-review-1-1", make_zip({"x/manifest.json": "{}"}), head_repository_id=777)
    proc, outputs, _ = run_entrypoint(world, tmp_path, "workflow_dispatch", command="poll")
    assert proc.returncode == 0
    assert "uploaded by a workflow run from another repository" in proc.stdout
    assert world.github.requests("GET", r"/artifacts/\d+/zip$") == []


def test_no_secret_reaches_any_output(world, tmp_path):
    """Every file, log, output and request body the tool writes is scanned for the three secrets (the
    signing key too, whether given as hex or as base64)."""
    import base64

    from ..emulators.github_emu import make_zip

    key = "9f" * 32
    key64 = base64.b64encode(bytes.fromhex(key)).decode()
    world.answer_with({"app.py": [finding("app.py", 2)]})
    world.configure("verify:\n  enabled: false\n")  # one poll posts
    logs = []
    proc, _, _ = run_entrypoint(world, tmp_path, "schedule", **{"signing-key": key})
    logs.append(proc.stdout + proc.stderr)
    state = world.repo.path / ".batch-review"
    files = {str(p.relative_to(state)): p.read_bytes() for p in state.rglob("*") if p.is_file()}
    world.github.add_artifact("batch-review-99-1", make_zip(files))
    world.openai.complete_all()
    proc, _, _ = run_entrypoint(world, tmp_path, "workflow_dispatch", command="poll", **{"signing-key": key64})
    logs.append(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stderr
    written = [p.read_bytes() for p in list(state.rglob("*")) + list(tmp_path.glob("*")) if p.is_file()]
    written += [(world.repo.path / ".git" / "config").read_bytes()]
    written += [a["data"] for a in world.github.artifacts.values()]
    uploads = [e.body for e in world.openai.log if e.method == "POST" and e.path.endswith("/files")]
    sent_to_github = [e.body for e in world.github.log if e.method in ("POST", "PATCH")]
    sent_to_openai = [e.body for e in world.openai.log if e.method == "POST"]
    for secret in (OPENAI_KEY, GITHUB_TOKEN, key, key64):
        for text in logs:
            assert secret not in "\n".join(x for x in text.splitlines() if not x.startswith("::add-mask::"))
        for blob in written + uploads + sent_to_github + sent_to_openai:
            assert secret.encode() not in blob
    # GitHub: the pending review and its submission (the claim), beside GraphQL reads; OpenAI: the input,
    # the manifest copy
    github_writes = [e for e in world.github.log if e.method in ("POST", "PATCH") and e.path != "/graphql"]
    assert len(github_writes) == 2 and len(uploads) == 2 and logs[0] and logs[1]
    assert "::add-mask::" + key in logs[0] and "::add-mask::" + key64 in logs[1]
    (review,) = world.github.reviews(1)
    assert " sig=" in review["body"].split("\n", 1)[0]


def _printed(text: str) -> str:
    """What a reader of the log sees: everything but the commands that tell the runner what to mask."""
    return "\n".join(x for x in text.splitlines() if not x.startswith("::add-mask::"))


def _assert_nowhere(secret: str, texts: list[str], folders: list[Path]) -> None:
    for text in texts:
        assert secret not in _printed(text)
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path


def test_an_endpoint_that_echoes_the_key_cannot_make_us_print_it(world, tmp_path):
    """An OpenAI-compatible endpoint (or a gateway before it) answers errors with the request's headers,
    Authorization included, in its body and its response headers; GitHub does the same. The key and the
    token appear nowhere: not in stdout, stderr, the step summary, GITHUB_OUTPUT or the state folder."""
    from ..emulators.github_emu import make_zip

    state = world.repo.path / ".batch-review"
    seen: list[str] = []
    # 1. submit: the upload is refused with an echo
    world.openai.inject("POST", r"^/v1/files$", "echo", status=401)
    proc, _, summary = run_entrypoint(world, tmp_path, "schedule")
    assert proc.returncode == 1
    assert "HTTP 401: Authorization: Bearer [redacted]" in proc.stdout  # the echo arrived, and was redacted
    seen += [proc.stdout, proc.stderr, summary]
    # 2. GitHub echoes the token on the pull request listing
    world.github.inject("GET", r"/pulls$", "echo", status=403)
    proc, _, summary = run_entrypoint(world, tmp_path, "schedule")
    assert proc.returncode == 1 and "HTTP 403" in proc.stdout
    seen += [proc.stdout, proc.stderr, summary]
    # 3. poll: reading the batch is refused with an echo; the failure goes to the log and the summary
    world.answer_with({"app.py": [finding("app.py", 2)]})
    proc, _, _ = run_entrypoint(world, tmp_path, "schedule")
    assert proc.returncode == 0, proc.stdout
    files = {str(p.relative_to(state)): p.read_bytes() for p in state.rglob("*") if p.is_file()}
    world.github.add_artifact("batch-review-99-1", make_zip(files))
    world.openai.inject("GET", r"^/v1/batches/", "echo", status=400, times=10)
    proc, _, summary = run_entrypoint(world, tmp_path, "workflow_dispatch", command="poll")
    assert proc.returncode == 1 and shows(summary, "HTTP 400: Authorization: Bearer [redacted]")
    seen += [proc.stdout, proc.stderr, summary]
    echoed = [e for emu in (world.openai, world.github) for e in emu.log if e.status in (400, 401, 403)]
    assert len(echoed) >= 3
    for secret in (OPENAI_KEY, GITHUB_TOKEN):
        _assert_nowhere(secret, seen, [state, tmp_path])


def test_a_key_of_no_known_shape_is_redacted_too(tmp_path, github_emu, monkeypatch, capsys):
    """Azure keys are 32 hex digits, nothing like sk-…: the key itself is known and removed wherever an
    echo puts it, in-process (the CLI's own streams) and in the files Actions reads."""
    from ..conftest import make_world
    from ..emulators.openai_emu import OpenAIEmulator

    key = "0123456789abcdef0123456789abcdef"
    with OpenAIEmulator(api_key=key, dialect="azure") as azure:
        world = make_world(tmp_path, azure, github_emu, monkeypatch)
        monkeypatch.delenv("OPENAI_BASE_URL")
        monkeypatch.delenv("OPENAI_API_KEY")
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", key)
        (world.repo.path / ".github").mkdir()
        (world.repo.path / ".github" / "batch-review.yml").write_text(
            f"provider:\n  name: azure\n  azure_endpoint: {azure.base_url}\n")
        summary, output = tmp_path / "summary.md", tmp_path / "output"
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
        monkeypatch.setenv("GITHUB_OUTPUT", str(output))
        assert world.submit() == 0
        azure.inject("GET", r"/batches/", "echo", status=400, times=10)
        assert world.poll() == 1
        out, err = capsys.readouterr()
        assert "credential [redacted] is not valid" in err  # the bare key was in the echo
        _assert_nowhere(key, [out, err], [world.state, tmp_path])
        assert any(e.status == 400 for e in azure.log)


def test_redaction_leaves_ordinary_text_alone():
    from batch_review.core.redact import redact

    text = ("batch_abc123 file-xyz: 12 input tokens, task-force sk-1 authorization failed; "
            "https://api.github.com/repos/a/b ghs_short")
    assert redact(text) == text
    assert redact("https://x-access-token:ghs_0123456789abcdef@github.com/a/b") == "https://[redacted]@github.com/a/b"
    assert redact('{"Authorization": "Bearer sk-proj-abcdefghij"}') == '{"Authorization": "[redacted]"}'
    assert redact("github_pat_11ABCDEFG0123456789_abc") == "github_pat_[redacted]"


def test_a_failed_requests_echoed_key_is_not_posted_on_the_pull_request(world, capsys):
    """The service's error lines are shown on the pull request ("Requests that failed"): an endpoint that
    repeats the request's Authorization header there must not publish the key."""
    world.answer_with({"app.py": (500, {"error": {"message": f"upstream rejected Authorization: Bearer {OPENAI_KEY}",
                                                  "type": "server_error", "code": "upstream_error"}}),
                       "util.py": (400, {"error": {"message": f"key {OPENAI_KEY} has no access to the model",
                                                   "type": "invalid_request_error", "code": None}})})
    assert world.submit() == 0
    world.openai.complete_all()
    world.poll()
    out, err = capsys.readouterr()
    posted = [e.body.decode() for e in world.github.log if e.method in ("POST", "PATCH")]
    bodies = [json.loads(b).get("body", "").replace("\\", "") for b in posted]  # markdown escapes removed
    assert any("Requests that failed" in b for b in bodies)
    # the service's message is there, the key is not
    assert any("upstream rejected Authorization: Bearer [redacted]" in b for b in bodies), bodies
    for text in posted + bodies + [out, err]:
        assert OPENAI_KEY not in text


def test_redacting_twice_changes_nothing():
    from batch_review.core.redact import redact, register

    register(OPENAI_KEY)
    once = redact(f"Authorization: Bearer {OPENAI_KEY}; api-key: {OPENAI_KEY}")
    assert once == "Authorization: Bearer [redacted]; api-key: [redacted]" and redact(once) == once
