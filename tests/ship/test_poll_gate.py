"""The poll gate (gate/action.yml running gate/pending.sh): it skips the container job only when GitHub's
complete artifact listing holds no manifest artifact of ours, and polls on any doubt.

The script runs the way the runner runs the composite action's one step: its `run:` text with
`bash --noprofile --norc -eo pipefail`, GITHUB_ACTION_PATH set to gate/, and the step's env with its
expressions filled in. Real curl and jq talk to the GitHub emulator (which pages, expires and fails like
GitHub), or a fake curl on PATH gives answers GitHub should never give.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ..conftest import GITHUB_TOKEN, finding
from ..emulators.github_emu import make_zip

ROOT = Path(__file__).resolve().parents[2]
GATE_ACTION = yaml.safe_load((ROOT / "gate" / "action.yml").read_text())
(GATE_STEP,) = GATE_ACTION["runs"]["steps"]
WORKFLOW = yaml.safe_load((ROOT / "examples" / "workflows" / "batch-review-poll.yml").read_text())
REUSABLE = yaml.safe_load((ROOT / ".github" / "workflows" / "reusable-poll.yml").read_text())
CALLER = yaml.safe_load((ROOT / "examples" / "workflows" / "reusable" / "batch-review-poll.yml").read_text())
GATE_JOB = WORKFLOW["jobs"]["pending"]
(GATE,) = GATE_JOB["steps"]  # the example's one step: the gate action
PREFIX = WORKFLOW["env"]["ARTIFACT_PREFIX"]
HOURLY = GATE["with"]["hourly-schedule"]
DAILY = [c["cron"] for c in WORKFLOW[True]["schedule"] if c["cron"] != HOURLY][0]  # yaml reads `on:` as True
# What the runner puts in for each expression of the step's env (tests fill in the values).
STEP_ENV = {"TOKEN": "${{ inputs.github-token }}", "ARTIFACT_PREFIX": "${{ inputs.artifact-prefix }}",
            "HOURLY": "${{ inputs.hourly-schedule }}", "SCHEDULE": "${{ github.event.schedule }}",
            "REPO_ID": "${{ github.repository_id }}"}

pytestmark = pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq") and shutil.which("bash")),
                                reason="needs bash, curl and jq (preinstalled on GitHub's runners)")


def run_gate(tmp_path: Path, api_url: str, *, event: str = "schedule", schedule: str = HOURLY,
             path: str | None = None, repo_id: str = "4242", prefix: str = PREFIX) -> tuple[str, str]:
    """The composite step as the runner runs it: `bash --noprofile --norc -eo pipefail {0}` on its `run:`
    text, with GITHUB_ACTION_PATH and the step's env."""
    assert GATE_STEP["shell"] == "bash" and GATE_STEP["env"] == STEP_ENV
    script = tmp_path / "step.sh"
    script.write_text(GATE_STEP["run"])
    output = tmp_path / "github_output"
    output.write_text("")
    env = {
        "PATH": path if path is not None else os.environ["PATH"], "HOME": str(tmp_path),
        "GITHUB_OUTPUT": str(output), "GITHUB_EVENT_NAME": event, "GITHUB_API_URL": api_url,
        "GITHUB_REPOSITORY": "acme/widgets", "GITHUB_ACTION_PATH": str(ROOT / "gate"),
        # the step's env, with the expressions the runner would fill in
        "TOKEN": GITHUB_TOKEN, "ARTIFACT_PREFIX": prefix, "HOURLY": HOURLY,
        "SCHEDULE": schedule if event == "schedule" else "", "REPO_ID": repo_id,
    }
    proc = subprocess.run([shutil.which("bash"), "--noprofile", "--norc", "-eo", "pipefail", str(script)], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = output.read_text().splitlines()
    assert len(lines) == 1 and lines[0] in ("poll=true", "poll=false"), lines
    return lines[0].removeprefix("poll="), proc.stdout


def listings(emu) -> list:
    return emu.requests("GET", r"/actions/artifacts$")


def test_no_artifacts_skips_the_poll(tmp_path, github_emu):
    poll, out = run_gate(tmp_path, github_emu.api_url)
    assert poll == "false" and "no manifest artifact among 0" in out
    (req,) = listings(github_emu)
    assert req.headers["authorization"] == f"Bearer {GITHUB_TOKEN}" and req.query["per_page"] == ["100"]


def test_other_artifacts_only_skip_the_poll(tmp_path, github_emu):
    github_emu.add_artifact("coverage-report", make_zip({"a.txt": "x"}))
    github_emu.add_artifact("batch-reviewer-notes", make_zip({"a.txt": "x"}))  # not the prefix "batch-review-"
    assert run_gate(tmp_path, github_emu.api_url)[0] == "false"


def test_a_waiting_manifest_artifact_polls(tmp_path, github_emu):
    github_emu.add_artifact("coverage-report", make_zip({"a.txt": "x"}))
    github_emu.add_artifact(f"{PREFIX}99-1", make_zip({"x/manifest.json": "{}"}))
    poll, out = run_gate(tmp_path, github_emu.api_url)
    assert poll == "true" and "a manifest artifact is waiting" in out


def test_expired_artifacts_only_skip_the_poll(tmp_path, github_emu):
    github_emu.add_artifact(f"{PREFIX}1-1", make_zip({"x/manifest.json": "{}"}), expired=True)
    github_emu.add_artifact(f"{PREFIX}2-1", make_zip({"x/manifest.json": "{}"}), expired=True)
    assert run_gate(tmp_path, github_emu.api_url)[0] == "false"


def test_artifacts_from_a_fork_cannot_force_polls(tmp_path, github_emu):
    """A fork's pull request workflow can upload an artifact with our prefix into this repository; the store
    ignores it (test_fork_artifacts_are_ignored), so it must not buy a container build every hour either."""
    github_emu.add_artifact(f"{PREFIX}7-1", make_zip({"x/manifest.json": "{}"}), head_repository_id=777)
    assert run_gate(tmp_path, github_emu.api_url)[0] == "false"


@pytest.mark.parametrize("name", [f"{PREFIX}$(touch pwned)\npoll=false", f"{PREFIX}`touch pwned`",
                                  f"{PREFIX}1 0 0", "x\npoll=false"])
def test_hostile_artifact_names_reach_no_shell_and_no_output(tmp_path, github_emu, name):
    """Any workflow run of the repository names its artifacts; a name is only ever compared inside jq."""
    github_emu.add_artifact(name, b"PK")
    poll, _ = run_gate(tmp_path, github_emu.api_url)  # run_gate: exactly one line in GITHUB_OUTPUT
    assert poll == ("true" if name.startswith(PREFIX) else "false")
    assert not list(tmp_path.rglob("pwned"))


def test_our_artifact_on_the_third_page_is_found(tmp_path, github_emu):
    github_emu.add_artifact(f"{PREFIX}1-1", make_zip({"x/manifest.json": "{}"}))  # oldest: listed last
    for i in range(250):
        github_emu.add_artifact(f"ci-{i}", b"PK")
    assert run_gate(tmp_path, github_emu.api_url)[0] == "true"
    assert [r.query["page"] for r in listings(github_emu)] == [["1"], ["2"], ["3"]]


def test_every_page_is_read_before_skipping(tmp_path, github_emu):
    for i in range(250):
        github_emu.add_artifact(f"ci-{i}", b"PK")
    poll, out = run_gate(tmp_path, github_emu.api_url)
    assert poll == "false" and "among 250" in out
    assert len(listings(github_emu)) == 3


@pytest.mark.parametrize("fault", [401, 403, 404, 500, 502, "reset", "malformed"])
def test_an_api_error_polls_anyway(tmp_path, github_emu, fault):
    github_emu.inject("GET", r"/actions/artifacts$", fault, times=5)
    poll, out = run_gate(tmp_path, github_emu.api_url)
    assert poll == "true", out


def test_an_error_on_a_later_page_polls_anyway(tmp_path, github_emu):
    for i in range(150):
        github_emu.add_artifact(f"ci-{i}", b"PK")
    github_emu.inject("GET", r"/actions/artifacts$", 500, times=5, skip=1)  # page 1 fine, page 2 fails
    poll, out = run_gate(tmp_path, github_emu.api_url)
    assert poll == "true" and "listing artifacts failed" in out


def test_an_unreachable_api_polls_anyway(tmp_path):
    assert run_gate(tmp_path, "http://127.0.0.1:9")[0] == "true"


@pytest.mark.parametrize(("event", "schedule"), [("workflow_dispatch", ""), ("schedule", DAILY),
                                                 ("schedule", "7 * * * *")])
def test_manual_daily_and_unknown_schedules_poll_in_full_without_asking(tmp_path, github_emu, event, schedule):
    """The daily run finds batches whose manifest was lost (no artifact names them)."""
    assert run_gate(tmp_path, github_emu.api_url, event=event, schedule=schedule)[0] == "true"
    assert listings(github_emu) == []


def test_a_missing_tool_polls_anyway(tmp_path, github_emu):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("bash", "curl", "seq"):  # no jq
        (bin_dir / name).symlink_to(shutil.which(name))
    poll, out = run_gate(tmp_path, github_emu.api_url, path=str(bin_dir))
    assert poll == "true" and "curl or jq is missing" in out


def test_a_missing_repository_id_polls_anyway(tmp_path, github_emu):
    assert run_gate(tmp_path, github_emu.api_url, repo_id="")[0] == "true"


def fake_curl(tmp_path: Path, *bodies: object) -> str:
    """A curl on PATH that answers each call with the next body (a 200 whose content GitHub never sends)."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir(exist_ok=True)
    for i, body in enumerate(bodies, 1):
        (bin_dir / f"body{i}").write_text(body if isinstance(body, str) else json.dumps(body))
    (bin_dir / "curl").write_text(
        "#!/bin/sh\n"
        f'n=$(($(cat "{bin_dir}/count" 2>/dev/null || echo 0) + 1)); echo "$n" > "{bin_dir}/count"\n'
        f'cat "{bin_dir}/body$n"\n')
    (bin_dir / "curl").chmod(0o755)
    return f"{bin_dir}:{os.environ['PATH']}"


def artifact(name_, **extra) -> dict:
    return {"id": 1, "name": name_, "expired": False,
            "workflow_run": {"id": 1, "repository_id": 4242, "head_repository_id": 4242}} | extra


@pytest.mark.parametrize("body", [
    {"message": "Server Error"},  # no list
    {"total_count": "1", "artifacts": []},  # a count that is not a number
    {"total_count": 1, "artifacts": [artifact("ci-1", name=None)]},  # a name that is not text: maybe ours
    {"total_count": 1, "artifacts": [artifact(f"{PREFIX}1-1", expired="no")]},  # not plainly expired
    {"total_count": 1, "artifacts": [artifact(f"{PREFIX}1-1", workflow_run=None)]},  # no run: the store reads it
    {"total_count": 1, "artifacts": ["not an object"]},
    {"total_count": 300, "artifacts": [artifact("ci-1")]},  # the listing ends before the count
    "[1, 2",
])
def test_an_unexpected_answer_polls_anyway(tmp_path, body):
    poll, out = run_gate(tmp_path, "http://unused", path=fake_curl(tmp_path, body))
    assert poll == "true", out


def test_the_fake_answers_like_github_when_nothing_waits(tmp_path):
    """The fake-curl cases above poll because of their content, not because of the fake."""
    body = {"total_count": 2, "artifacts": [artifact("ci-1"), artifact(f"{PREFIX}1-1", expired=True)]}
    assert run_gate(tmp_path, "http://unused", path=fake_curl(tmp_path, body))[0] == "false"


def test_a_night_polls_while_a_manifest_waits_and_stops_once_it_is_posted(world, tmp_path):
    """Submit, then the hourly gate: true while the batch runs, true when it is done, false once poll has
    posted the review and retired the artifact. The store and the gate agree at every step."""
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")]})
    gate_dir = tmp_path / "gate"
    gate_dir.mkdir()
    assert run_gate(gate_dir, world.github.api_url)[0] == "false"
    assert world.submit() == 0
    (folder,) = {p.parent for p in world.manifests()}
    files = {f"{folder.name}/{p.name}": p.read_bytes() for p in folder.iterdir() if p.is_file()}
    world.github.add_artifact(f"{PREFIX}99-1", make_zip(files))
    assert run_gate(gate_dir, world.github.api_url)[0] == "true"
    assert world.run("poll", "--artifacts", "--artifact-prefix", PREFIX) == 0  # still running: kept
    assert world.github.artifacts and world.github.reviews(1) == []
    assert run_gate(gate_dir, world.github.api_url)[0] == "true"
    world.openai.complete_all()
    assert world.run("poll", "--artifacts", "--artifact-prefix", PREFIX) == 0
    assert len(world.github.reviews(1)) == 1 and world.github.artifacts == {}
    assert run_gate(gate_dir, world.github.api_url)[0] == "false"


def test_an_empty_prefix_counts_every_artifact_as_ours(tmp_path, github_emu):
    """A misconfigured prefix must not hide a waiting manifest: with none, any artifact means "poll"."""
    github_emu.add_artifact("coverage-report", make_zip({"a.txt": "x"}))
    assert run_gate(tmp_path, github_emu.api_url, prefix="")[0] == "true"


# --- the action and the workflows around the script -------------------------------------------------------

def test_the_gate_action_declares_what_its_step_reads():
    """Every input the step reads is declared, the poll answer is the action's output, and the token and the
    prefix default to what the workflows use; the prefix default is the configuration's documented one."""
    inputs = GATE_ACTION["inputs"]
    assert set(inputs) == {"hourly-schedule", "artifact-prefix", "github-token"}
    assert inputs["hourly-schedule"]["required"] is True and "default" not in inputs["hourly-schedule"]
    assert inputs["github-token"]["default"] == "${{ github.token }}"
    example_config = yaml.safe_load((ROOT / "config.example.yml").read_text())
    assert inputs["artifact-prefix"]["default"] == example_config["artifacts"]["prefix"] == PREFIX
    assert GATE_ACTION["outputs"] == {"poll": {"description": GATE_ACTION["outputs"]["poll"]["description"],
                                               "value": "${{ steps.check.outputs.poll }}"}}
    assert GATE_STEP["id"] == "check" and GATE_STEP["run"] == 'bash "$GITHUB_ACTION_PATH/pending.sh"'
    assert GATE_ACTION["runs"]["using"] == "composite"


def gate_users(workflow: dict) -> list[str]:
    return [name for name, job in workflow["jobs"].items()
            if any(str(s.get("uses", "")).startswith(("batch-review/batch-review@", "$/"))
                   and not str(s.get("uses", "")).startswith("$/gate") for s in job.get("steps", []))]


@pytest.mark.parametrize(("workflow", "gate_ref"), [(WORKFLOW, "batch-review/batch-review/gate@"),
                                                    (REUSABLE, "$/gate")])
def test_the_container_job_is_skipped_only_on_a_plain_no(workflow, gate_ref):
    """A step-level `if:` would not help: the runner prepares a Docker action's image while setting up the job,
    before any step's condition is evaluated. So the action runs in a second job, and that job is skipped
    only when the first one answered poll=false; a failed or timed-out first job has no answer: poll."""
    gate_job, poll_job = workflow["jobs"]["pending"], workflow["jobs"]["poll"]
    assert poll_job["needs"] == "pending"
    assert poll_job["if"] == "${{ !cancelled() && needs.pending.outputs.poll != 'false' }}"
    (gate,) = gate_job["steps"]
    assert gate["uses"].startswith(gate_ref) and gate["id"] == "gate"
    assert gate_job["outputs"] == {"poll": "${{ steps.gate.outputs.poll }}"} and "container" not in gate_job
    assert gate_job["permissions"] == {"actions": "read"}
    assert gate_users(workflow) == ["poll"]


def test_the_gate_the_action_and_the_upload_use_one_prefix():
    """A prefix the gate did not look for would skip every hourly poll: all three read one value."""
    for workflow, prefix in ((WORKFLOW, "${{ env.ARTIFACT_PREFIX }}"), (REUSABLE, "${{ inputs.artifact-prefix }}")):
        steps = workflow["jobs"]["poll"]["steps"]
        action = next(s for s in steps if str(s.get("uses", "")) in ("$/",) or
                      str(s.get("uses", "")).startswith("batch-review/batch-review@"))
        upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
        assert action["with"]["artifact-prefix"] == prefix
        assert upload["with"]["name"].startswith(prefix)
        assert workflow["jobs"]["pending"]["steps"][0]["with"]["artifact-prefix"] == prefix
    assert REUSABLE[True]["workflow_call"]["inputs"]["artifact-prefix"]["default"] == PREFIX


def test_the_hourly_cron_is_the_one_the_gate_knows():
    """The example and the organization's caller each tell the gate their own hourly cron; the reusable
    workflow passes the caller's on, and demands it."""
    crons = [c["cron"] for c in WORKFLOW[True]["schedule"]]
    assert HOURLY in crons and len(crons) == 2 and DAILY.split()[2:] == ["*", "*", "*"]
    caller_crons = [c["cron"] for c in CALLER[True]["schedule"]]
    assert CALLER["jobs"]["poll"]["with"]["hourly-schedule"] == caller_crons[0] and len(caller_crons) == 2
    assert REUSABLE[True]["workflow_call"]["inputs"]["hourly-schedule"]["required"] is True
    assert REUSABLE["jobs"]["pending"]["steps"][0]["with"]["hourly-schedule"] == "${{ inputs.hourly-schedule }}"
