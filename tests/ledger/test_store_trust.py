"""Forged manifests (issue 10): an artifact is read only when GitHub says our own trusted workflow uploaded it,
and a killed submit is resumed only from the artifact's own, checked input file within the budget.

Each attack runs the real CLI against the emulators and shows that nothing is uploaded, created or posted
and that one clear line names the problem. Each has a control (the same artifact from a trusted run, or
an untampered file) that does go through, so the test can fail.
"""

from __future__ import annotations

import json
import os

import pytest

from batch_review.ledger.store import run_problem, workflow_file
from batch_review.poll import batches

from ..conftest import finding
from ..emulators.github_emu import make_zip

SUBMIT_YML = ".github/workflows/batch-review-submit.yml"


@pytest.fixture(autouse=True)
def _resume_at_once(monkeypatch):
    monkeypatch.setattr(batches, "RESUME_AFTER", batches.dt.timedelta(0))


def killed_submit_state(world) -> dict[str, bytes]:
    """What a submit killed before it created its batch leaves: the manifest (no batch id) and the input."""
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")]})
    per_file = world.state.parent / "per-file.yml"  # two requests, so that max_requests: 1 is over budget
    per_file.write_text("request_unit: file\n")
    assert world.submit("--dry-run", "--config", str(per_file)) == 0
    (path,) = world.manifests()
    doc = json.loads(path.read_text())
    doc["dry_run"] = False
    path.write_text(json.dumps(doc))
    files = {str(p.relative_to(world.state)): p.read_bytes() for p in world.state.rglob("*") if p.is_file()}
    for p in sorted(world.state.rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    return files


def edit_manifest(files: dict[str, bytes], change) -> dict[str, bytes]:
    (name,) = [n for n in files if n.endswith("manifest.json")]
    doc = json.loads(files[name])
    change(doc)
    return {**files, name: json.dumps(doc).encode()}


def poll_artifacts(world, tmp_path, *extra: str) -> int:
    return world.run("poll", "--artifacts", "--state-dir", str(tmp_path / "poll"), *extra)


def batch_uploads(world) -> list[dict]:
    return [f for f in world.openai.files.values() if f["purpose"] == "batch"]


def assert_nothing_done(world, capsys, expected: str) -> None:
    assert batch_uploads(world) == [] and world.batch_ids() == []
    assert world.github.reviews(1) == [] and world.github.check_runs() == []
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if expected in line]
    assert len(lines) == 1 and lines[0].startswith("warning: "), err


ATTACKS = {
    # a contributor's same-repository branch: its pull_request run uploads batch-review-… (the forged
    # workflow file lives on that branch, so it may be named like ours)
    "branch pull_request run": (dict(event="pull_request", head_branch="evil", path=SUBMIT_YML),
                                "started by 'pull_request'"),
    # a workflow_run relay on the default branch that re-uploads what a pull request run produced
    "workflow_run relay": (dict(event="workflow_run", path=".github/workflows/relay.yml"),
                           "started by 'workflow_run'"),
    # our submit workflow file, dispatched by hand on a branch where it was edited
    "dispatch on a branch": (dict(event="workflow_dispatch", head_branch="evil", path=SUBMIT_YML),
                             "on branch 'evil', not the default branch 'main'"),
    # a scheduled run of another workflow file of the default branch
    "another workflow file": (dict(event="schedule", path=".github/workflows/ci.yml"),
                              "'.github/workflows/ci.yml', which is not in artifacts.workflows"),
    # a fork's run: another repository is its head
    "fork run": (dict(event="schedule", head_repository_id=777), "from another repository"),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_forged_manifest_from_an_untrusted_run_is_never_executed(attack, world, tmp_path, capsys):
    run, expected = ATTACKS[attack]
    files = killed_submit_state(world)
    world.github.add_run(50, **run)
    world.github.add_artifact("batch-review-50-1", make_zip(files), run_id=50,
                              head_repository_id=run.get("head_repository_id"))
    assert poll_artifacts(world, tmp_path) == 0
    assert_nothing_done(world, capsys, expected)
    assert world.github.requests("GET", r"/artifacts/\d+/zip$") == [], "an untrusted artifact is not downloaded"
    assert len(world.github.artifacts) == 1, "nor deleted"
    # the nightly submit does not believe it either: pull request 1 is not "already submitted"
    assert world.submit() == 0 and len(world.batch_ids()) == 1


def test_control_the_same_artifact_from_the_nightly_run_is_resumed(world, tmp_path):
    files = killed_submit_state(world)
    world.github.add_run(50, event="schedule", path=SUBMIT_YML)
    world.github.add_artifact("batch-review-50-1", make_zip(files), run_id=50)
    assert poll_artifacts(world, tmp_path) == 0
    (upload,) = batch_uploads(world)
    assert len(world.batch_ids()) == 1
    (name,) = [n for n in files if n.endswith(".jsonl")]
    assert upload["data"] == files[name], "the artifact's own input file was uploaded"
    world.openai.complete_all()
    assert poll_artifacts(world, tmp_path) == 0
    assert len(world.github.reviews(1)) == 1 and world.github.artifacts == {}


def test_one_run_lookup_per_run(world, tmp_path):
    files = killed_submit_state(world)
    for _ in range(3):
        world.github.add_artifact("batch-review-50-1", make_zip(files), run_id=50)
    assert poll_artifacts(world, tmp_path) == 0
    assert len(world.github.requests("GET", r"/actions/runs/50$")) == 1


def test_null_workflow_run_ids_are_refused(world, tmp_path, capsys):
    files = killed_submit_state(world)
    world.github.add_artifact("batch-review-50-1", make_zip(files), run_id=50,
                              workflow_run={"id": None, "repository_id": None, "head_repository_id": None})
    assert poll_artifacts(world, tmp_path) == 0
    assert_nothing_done(world, capsys, "names no workflow run, repository or head repository (null ids)")
    assert world.github.requests("GET", r"/artifacts/\d+/zip$") == []


def test_a_foreign_input_file_id_is_never_used(world, tmp_path):
    """Another repository's batch input in the same OpenAI account, named by the manifest: the artifact's own
    file is uploaded instead, and the foreign file is neither used nor deleted."""
    files = killed_submit_state(world)
    foreign = world.openai.add_file(b'{"custom_id":"secret","method":"POST","url":"/v1/chat/completions",'
                                    b'"body":{"model":"gpt-5-mini","messages":[]}}\n', "batch", "input-000.jsonl")

    def name_foreign(doc):
        doc["batches"][0]["input_file_id"] = foreign["id"]

    world.github.add_artifact("batch-review-50-1", make_zip(edit_manifest(files, name_foreign)), run_id=50)
    assert poll_artifacts(world, tmp_path) == 0
    (batch,) = world.openai.batches.values()
    assert batch["input_file_id"] != foreign["id"] and foreign["id"] in world.openai.files
    (name,) = [n for n in files if n.endswith(".jsonl")]
    assert world.openai.files[batch["input_file_id"]]["data"] == files[name]


def test_a_foreign_input_file_id_without_the_file_creates_nothing(world, tmp_path, capsys):
    """Without its own file, the recorded upload's content is used only if it is the manifest's (sha256)."""
    files = killed_submit_state(world)
    foreign = world.openai.add_file(b"{}\n", "batch", "input-000.jsonl")
    files = edit_manifest(files, lambda doc: doc["batches"][0].update(input_file_id=foreign["id"]))
    files = {n: d for n, d in files.items() if not n.endswith(".jsonl")}
    world.github.add_artifact("batch-review-50-1", make_zip(files), run_id=50)
    assert poll_artifacts(world, tmp_path) == 0
    assert [f["id"] for f in batch_uploads(world)] == [foreign["id"]] and world.batch_ids() == []
    assert world.github.reviews(1) == []
    err = capsys.readouterr().err
    assert len([x for x in err.splitlines() if f"the upload {foreign['id']} has 3 bytes" in x]) == 1, err


@pytest.mark.parametrize("name", ["../../../../etc/hostname", "/etc/hostname", "sub/input-000.jsonl",
                                  "..", "input-000.jsonl\\..\\x"])
def test_a_batch_file_outside_the_artifact_folder_is_refused(name, world, tmp_path, capsys):
    files = killed_submit_state(world)
    world.github.add_artifact("batch-review-50-1", make_zip(
        edit_manifest(files, lambda doc: doc["batches"][0].update(file=name))), run_id=50)
    assert poll_artifacts(world, tmp_path) == 0
    assert batch_uploads(world) == [] and world.batch_ids() == [] and world.github.reviews(1) == []
    err = capsys.readouterr().err
    line = [x for x in err.splitlines() if "batches[0].file" in x]
    assert len(line) == 1 and "is not a plain file name inside the manifest's folder" in line[0], err
    # trusted but unusable: said on the commit it names, once, apart from the review's own check run
    (run,) = world.github.check_runs()
    assert run["name"] == "batch-review: problem" and run["head_sha"] == world.pulls[1]
    assert poll_artifacts(world, tmp_path) == 0 and len(world.github.check_runs()) == 1


def test_a_symlinked_batch_file_in_the_state_folder_is_refused(world, capsys):
    """The local store: input-000.jsonl is a link to a file of the runner."""
    files = killed_submit_state(world)
    for name, data in files.items():
        (world.state / name).parent.mkdir(parents=True, exist_ok=True)
        (world.state / name).write_bytes(data)
    (link,) = world.state.glob("*/input-000.jsonl")
    secret = world.state.parent / "runner-secret.txt"
    secret.write_bytes(link.read_bytes())  # same bytes: only the link itself gives it away
    link.unlink()
    os.symlink(secret, link)
    assert world.poll() == 0
    assert batch_uploads(world) == [] and world.batch_ids() == []
    err = capsys.readouterr().err
    assert len([x for x in err.splitlines() if "batch file 'input-000.jsonl' leaves the manifest's folder" in x]) == 1


@pytest.mark.parametrize(("tamper", "expected"), [
    (lambda data: data.replace(b"Division", b"Divisi0n") if b"Division" in data else data[:-2] + b" \n",
     "of the file is not the manifest's"),
    (lambda data: data + data, "the file has"),
])
def test_a_tampered_input_file_is_not_uploaded(tamper, expected, world, tmp_path, capsys):
    files = killed_submit_state(world)
    (name,) = [n for n in files if n.endswith(".jsonl")]
    world.github.add_artifact("batch-review-50-1", make_zip({**files, name: tamper(files[name])}), run_id=50)
    assert poll_artifacts(world, tmp_path) == 0
    assert batch_uploads(world) == [] and world.batch_ids() == [] and world.github.reviews(1) == []
    err = capsys.readouterr().err
    assert len([x for x in err.splitlines() if expected in x]) == 1, err


def test_a_manifest_consistent_with_a_hostile_file_still_needs_our_request_shape(world, tmp_path, capsys):
    """Even with sha256, size and count rewritten to match, a line without an output token cap (unbounded
    cost) or aimed at another endpoint is refused."""
    import hashlib

    files = killed_submit_state(world)
    (name,) = [n for n in files if n.endswith(".jsonl")]
    lines = [json.loads(x) for x in files[name].splitlines()]
    for line in lines:
        line["body"].pop("max_completion_tokens", None)
        line["body"].pop("max_output_tokens", None)
    data = b"".join(json.dumps(x).encode() + b"\n" for x in lines)
    files = edit_manifest({**files, name: data}, lambda doc: doc["batches"][0].update(
        input_sha256=hashlib.sha256(data).hexdigest(), bytes=len(data)))
    world.github.add_artifact("batch-review-50-1", make_zip(files), run_id=50)
    assert poll_artifacts(world, tmp_path) == 0
    assert batch_uploads(world) == [] and world.batch_ids() == []
    assert "the request has no single output token cap" in capsys.readouterr().err


@pytest.mark.parametrize(("budget", "created"), [("max_requests: 1", 0), ("max_cost_usd: 0.000001", 0),
                                                  ("max_requests: 100", 1)])
def test_resuming_a_killed_submit_is_held_to_the_budget(budget, created, world, tmp_path, capsys):
    files = killed_submit_state(world)
    config = tmp_path / "budget.yml"
    config.write_text(f"budget:\n  {budget}\n")
    world.github.add_artifact("batch-review-50-1", make_zip(files), run_id=50)
    assert poll_artifacts(world, tmp_path, "--config", str(config)) == 0
    assert len(world.batch_ids()) == created and len(batch_uploads(world)) == created
    if not created:
        err = capsys.readouterr().err
        assert len([x for x in err.splitlines() if "is over budget." in x and "nothing created" in x]) == 1, err


# --- pure -------------------------------------------------------------------------------------------

class Run:
    def __init__(self, **kw):
        self.__dict__.update(dict(id=9, event="schedule", path=SUBMIT_YML, head_branch="main", repository_id=1,
                                  head_repository_id=1) | kw)


@pytest.mark.parametrize(("run", "problem"), [
    (Run(), None),
    (Run(event="workflow_dispatch", path="acme/widgets/.github/workflows/batch-review-poll.yml@refs/heads/main"),
     None),
    (Run(path=".github/workflows/batch-review-submit.yml@main"), None),
    (Run(path="ACME/widgets/.github/workflows/batch-review-submit.yml@main"), None),
    (Run(path="other/repo/.github/workflows/batch-review-submit.yml@main"), "not in artifacts.workflows"),
    (Run(path=".github/workflows/batch-review-submit.yml@refs/heads/evil"), "at 'refs/heads/evil'"),
    (Run(repository_id=None), "another repository"),
    (Run(head_repository_id=2), "another repository"),
    (Run(head_branch=None), "on branch None"),
    (Run(event="pull_request_target"), "started by 'pull_request_target'"),
    (Run(event="push"), "started by 'push'"),
    (Run(event="schedule\n::error::x"), r"started by 'schedule\n::error::x'"),
])
def test_run_problem(run, problem):
    found = run_problem(run, repository_id=1, repository="acme/widgets", default_branch="main",
                        workflows=(SUBMIT_YML, ".github/workflows/batch-review-poll.yml"))
    assert found == problem if problem is None else problem in found
    assert found is None or "\n" not in found


def test_workflow_file_forms():
    assert workflow_file(".github/workflows/a.yml", "o/r") == (".github/workflows/a.yml", "")
    assert workflow_file("o/r/.github/workflows/a.yml@main", "o/r") == (".github/workflows/a.yml", "main")
    assert workflow_file("x/y/.github/workflows/a.yml@main", "o/r") == ("x/y/.github/workflows/a.yml", "main")
