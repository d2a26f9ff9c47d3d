"""One bad manifest stops nobody (issue 11): damaged artifacts are reported and skipped, the others are
posted, the nightly submit still submits, an artifact retired by someone else meanwhile is not a failure,
and a bug in our code shows its traceback without stopping the other manifests. Also: artifacts uploaded
by upload-artifact v3 (GitHub Enterprise Server) are read, with the same trust rules.
"""

from __future__ import annotations

import json

import pytest

from batch_review.core.errors import ManifestError
from batch_review.ledger.checks import MAX_DEPTH, too_deep
from batch_review.ledger.manifest import Manifest
from batch_review.poll import review as review_module
from tests.ledger.test_manifest import sample

from ..conftest import finding
from ..emulators.github_emu import make_zip


def submitted(world) -> dict[str, bytes]:
    """A real night's state folder (one manifest, batch created and finished), removed from disk."""
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")]})
    assert world.submit() == 0
    world.openai.complete_all()
    files = {str(p.relative_to(world.state)): p.read_bytes() for p in world.state.rglob("*") if p.is_file()}
    for p in sorted(world.state.rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    return files


def manifest_name(files) -> str:
    (name,) = [n for n in files if n.endswith("manifest.json")]
    return name


def edited(files, change) -> dict[str, bytes]:
    doc = json.loads(files[manifest_name(files)])
    change(doc)
    return {**files, manifest_name(files): json.dumps(doc).encode()}


def poll_artifacts(world, tmp_path) -> int:
    return world.run("poll", "--artifacts", "--state-dir", str(tmp_path / "poll"))


DAMAGE = {
    # a manifest nested too deep: json raised RecursionError, which stopped every poll
    "nested too deep": (lambda files: {manifest_name(files): b"[" * 200_000 + b"]" * 200_000},
                        "nested too deep to read"),
    "deep but readable": (lambda files: edited(files, lambda d: d.update(estimate={"x": json.loads(
        "[" * 60 + "]" * 60)})), f"nested deeper than {MAX_DEPTH} levels"),
    # a target without head_sha: KeyError later
    "target without head_sha": (lambda files: edited(files, lambda d: d["targets"]["pr-1"].pop("head_sha")),
                                "targets.pr-1.head_sha: must be a string, not null"),
    "request naming a missing batch": (lambda files: edited(files, lambda d: [
        r.update(batch=7) for r in d["requests"].values()]), ".batch: 7 is out of range"),
    "files of the wrong type": (lambda files: edited(files, lambda d: d["files"]["pr-1"].update(
        {"app.py": {"RIGHT": "1-9"}})), "files.pr-1.app.py.RIGHT: must be a list, not a string"),
    # an artifact that is not a zip
    "not a zip": (None, "not a readable zip"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_artifact_does_not_stop_the_others(damage, world, tmp_path, capsys):
    make, expected = DAMAGE[damage]
    files = submitted(world)
    bad = world.github.add_artifact("batch-review-1-1", b"PK\x03\x04 this is no zip" if make is None
                                    else make_zip(make(files)))
    good = world.github.add_artifact("batch-review-2-1", make_zip(files), run_id=2)
    assert poll_artifacts(world, tmp_path) == 0
    (review,) = world.github.reviews(1)
    assert "Division by zero" in review["body"] + "".join(c["body"] for c in review["comments"])
    assert good not in world.github.artifacts and bad in world.github.artifacts, "only the good one is retired"
    err = capsys.readouterr().err
    assert len([x for x in err.splitlines() if expected in x and x.startswith("warning: ")]) == 1, err
    # the next night is not lost either: submit runs ("nothing submitted" before)
    world.github.move_head(1, world.pulls[1])  # same head: already reviewed, so nothing new to send
    assert world.submit() == 0


def test_a_damaged_manifest_is_reported_on_the_commit_it_names(world, tmp_path):
    files = submitted(world)
    world.github.add_artifact("batch-review-1-1", make_zip(edited(files, lambda d: d["requests"].update(
        {"pr-1:9999:0": {"target": "pr-1", "path": 5, "batch": 0}}))))
    assert poll_artifacts(world, tmp_path) == 0
    (run,) = world.github.check_runs()
    assert run["name"] == "batch-review: problem" and run["head_sha"] == world.pulls[1]
    assert run["conclusion"] == "neutral" and "requests.pr-1:9999:0.path: must be a string" in run["output"]["summary"]
    assert poll_artifacts(world, tmp_path) == 0 and len(world.github.check_runs()) == 1, "reported once"
    # it is not mistaken for the review's own check run: with the night's batch gone (so nothing can be
    # adopted), the pull request is submitted again
    world.openai.batches.clear()
    assert world.submit() == 0 and len(world.batch_ids()) == 1


def test_a_manifest_that_cannot_be_resubmitted_does_not_stop_the_others(world, tmp_path, capsys):
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")]})
    assert world.submit() == 0
    (batch_id,) = world.batch_ids()
    world.openai.advance(batch_id, "expired", finished=lambda cid: False)
    files = {str(p.relative_to(world.state)): p.read_bytes() for p in world.state.rglob("*") if p.is_file()}
    # neither the input file nor the record of its upload: the expired requests cannot be sent again
    no_input = edited({n: d for n, d in files.items() if not n.endswith(".jsonl")},
                      lambda d: [b.pop("input_file_id", None) for b in d["batches"]])
    world.github.add_artifact("batch-review-1-1", make_zip(no_input))
    world.github.add_artifact("batch-review-2-1", make_zip(files), run_id=2)
    assert poll_artifacts(world, tmp_path) == 0
    err = capsys.readouterr().err
    assert len([x for x in err.splitlines() if "cannot resubmit them" in x]) == 1, err
    assert len(world.batch_ids()) == 2, "the intact artifact's expired requests were resubmitted"


@pytest.mark.parametrize("command", ["poll", "submit"])
def test_an_artifact_retired_meanwhile_is_not_a_failure(command, world, tmp_path):
    """Submit and poll run side by side: poll deletes an artifact between submit's listing and download."""
    files = submitted(world)
    gone = world.github.add_artifact("batch-review-1-1", make_zip(files))
    world.github.inject("GET", rf"/actions/artifacts/{gone}/zip$", 404)
    if command == "poll":
        assert poll_artifacts(world, tmp_path) == 0
    else:
        assert world.run("submit", "--artifacts", "--state-dir", str(tmp_path / "submit")) == 0


def test_a_transient_download_failure_still_stops_submit(world, tmp_path):
    """Without every pending manifest a head could be submitted twice: a 5xx stops submit (exit 1)."""
    files = submitted(world)
    aid = world.github.add_artifact("batch-review-1-1", make_zip(files))
    world.github.inject("GET", rf"/actions/artifacts/{aid}/zip$", 502, times=10)
    assert world.run("submit", "--artifacts", "--state-dir", str(tmp_path / "submit")) == 1
    assert len(world.batch_ids()) == 1


def test_a_bug_shows_its_traceback_and_the_others_proceed(world, tmp_path, monkeypatch, capsys):
    files = submitted(world)
    world.github.add_artifact("batch-review-1-1", make_zip(files))
    world.github.add_artifact("batch-review-2-1", make_zip(files), run_id=2)
    real = review_module.assemble
    calls = []

    def buggy(m, *args, **kwargs):  # a bug in our code, hit by the first manifest only
        calls.append(m)
        if len(calls) == 1:
            raise TypeError("unsupported operand")
        return real(m, *args, **kwargs)

    monkeypatch.setattr(review_module, "assemble", buggy)
    assert poll_artifacts(world, tmp_path) == 1
    assert len(world.github.reviews(1)) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "TypeError: unsupported operand" in err
    assert "batch-review-1-1: unexpected error (a bug in batch-review" in err


# --- upload-artifact v3 (GitHub Enterprise Server) -------------------------------------------------

def test_v3_artifacts_on_enterprise_server_are_read(world, tmp_path):
    """v3's zip stores entries with folder entries and the listing has no digest; with workflow_run present
    the same trust rules apply."""
    files = submitted(world)
    world.github.add_artifact("batch-review-1-1", make_zip(files, v3=True), v3=True)
    assert poll_artifacts(world, tmp_path) == 0
    assert len(world.github.reviews(1)) == 1 and world.github.artifacts == {}


def test_v3_artifacts_without_workflow_run_are_trusted_through_their_run(world, tmp_path, capsys):
    """A listing without workflow_run: the run comes from the name (batch-review-<run id>-<attempt>) and
    counts only if GitHub lists the artifact under that run."""
    files = submitted(world)
    world.github.add_run(77, event="pull_request", head_branch="evil")
    claims_77 = world.github.add_artifact("batch-review-77-1", make_zip(files, v3=True), run_id=77, v3=True,
                                          workflow_run={})
    world.github.add_run(88, event="pull_request", head_branch="evil")
    claims_5 = world.github.add_artifact("batch-review-5-1", make_zip(files, v3=True), run_id=88, v3=True,
                                         workflow_run={})
    nameless = world.github.add_artifact("batch-review-tonight", make_zip(files, v3=True), run_id=5, v3=True,
                                         workflow_run={})
    world.github.add_run(6, event="schedule")
    good = world.github.add_artifact("batch-review-6-1", make_zip(files, v3=True), run_id=6, v3=True,
                                     workflow_run={})
    assert world.github.artifacts[good].get("workflow_run") is None
    assert poll_artifacts(world, tmp_path) == 0
    assert len(world.github.reviews(1)) == 1
    assert set(world.github.artifacts) == {claims_77, claims_5, nameless}
    err = capsys.readouterr().err
    assert f"batch-review-77-1 (id {claims_77}) comes from workflow run 77 started by 'pull_request'" in err
    assert f"batch-review-5-1 (id {claims_5}) is not listed under workflow run 5" in err
    assert f"batch-review-tonight (id {nameless}) carries no workflow run" in err


def test_enterprise_server_api_prefix_with_run_lookups(tmp_path, openai_emu, monkeypatch):
    from ..conftest import GITHUB_TOKEN, make_world
    from ..emulators.github_emu import GitHubEmulator

    with GitHubEmulator(token=GITHUB_TOKEN, repo="acme/widgets", prefix="/api/v3") as ghes:
        world = make_world(tmp_path, openai_emu, ghes, monkeypatch)
        files = submitted(world)
        ghes.add_artifact("batch-review-3-1", make_zip(files, v3=True), run_id=3, v3=True, workflow_run={})
        assert poll_artifacts(world, tmp_path) == 0
        assert len(ghes.reviews(1)) == 1 and ghes.artifacts == {}
        assert ghes.requests("GET", r"^/api/v3/repos/acme/widgets/actions/runs/3/artifacts$")


# --- manifest checks (pure) -----------------------------------------------------------------------

def good() -> dict:
    return sample().to_json()


def with_(change) -> dict:
    doc = good()
    change(doc)
    return doc


@pytest.mark.parametrize(("doc", "message"), [
    (with_(lambda d: d["targets"]["pr-1"].update(head_sha="main")), "targets.pr-1.head_sha: 'main' is not a commit id"),
    (with_(lambda d: d["targets"]["pr-1"].update(kind="issue")), "targets.pr-1.kind: 'issue' is not pull or branches"),
    (with_(lambda d: d["targets"]["pr-1"].update(number="1")), "targets.pr-1.number: must be a whole number"),
    (with_(lambda d: d["targets"]["pr-1"].update(number=2)), "a pull request target's key must be pr-2"),
    (with_(lambda d: d["targets"].update({"pr 1\n::error::": d["targets"]["pr-1"]})),
     r"key 'pr 1\n::error::' is not a target key"),
    (with_(lambda d: d.update(repository=["acme/widgets"])), "repository: must be a string, not a list"),
    (with_(lambda d: d.update(attempt=True)), "attempt: must be a whole number, not true/false"),
    (with_(lambda d: d.update(dry_run="no")), "dry_run: must be true or false"),
    (with_(lambda d: d.update(parent="../x")), "parent: '../x' is not a manifest digest"),
    (with_(lambda d: d["batches"][0].update(index=3)), "batches[0].index: must be 0"),
    (with_(lambda d: d["batches"][0].update(file="../input-000.jsonl")), "batches[0].file: '../input-000.jsonl' is not"),
    (with_(lambda d: d["batches"][0].update(file="manifest.json")), "is used twice"),
    (with_(lambda d: d["batches"][0].update(input_sha256="x")), "batches[0].input_sha256: 'x' is not a sha256"),
    (with_(lambda d: d["batches"][0].update(id=5)), "batches[0].id: must be a string"),
    (with_(lambda d: d["requests"]["pr-1:0000:0"].update(batch=-1)), "requests.pr-1:0000:0.batch: -1 is out of range"),
    (with_(lambda d: d["files"]["pr-1"]["x.py"].update(RIGHT=[[5, 1]])), "files.pr-1.x.py.RIGHT[0]: 1 is out of range"),
    (with_(lambda d: d["files"]["pr-1"]["x.py"].update(crc=[[1, ["a"]]])), "files.pr-1.x.py.crc[0]: must be"),
    (with_(lambda d: d["files"].update({"pr-9": {}})), "files.pr-9: names no known target"),
    (with_(lambda d: d.update(skipped={"pr-1": [{"path": 1}]})), "skipped.pr-1[0].path: must be a string"),
    (with_(lambda d: d.update(estimate=[])), "estimate: must be an object, not a list"),
])
def test_manifest_fields_are_checked(doc, message):
    with pytest.raises(ManifestError) as caught:
        Manifest.from_json(doc, source="m.json")
    text = str(caught.value)
    assert message in text and text.startswith("m.json: ") and "\n" not in text


def test_a_broken_manifest_still_names_its_well_formed_targets():
    with pytest.raises(ManifestError) as caught:
        Manifest.from_json(with_(lambda d: d["batches"][0].update(requests="2")))
    assert caught.value.targets == [("pr-1", "a" * 40)]


def test_the_previous_release_manifest_is_still_read():
    """Version 1 as submit writes it, with the incremental crc records."""
    doc = with_(lambda d: d["files"]["pr-1"]["x.py"].update(crc=[[1, [123, 456, 789, 0, 4294967295]]]))
    assert Manifest.from_json(doc).digest() == Manifest.from_json(doc).digest()


def test_depth_is_found_without_recursion():
    deep: list = []
    node = deep
    for _ in range(100_000):
        node.append([])
        node = node[0]
    assert too_deep(deep) and not too_deep(good())
    with pytest.raises(ManifestError, match="nested deeper than"):
        Manifest.from_json({**good(), "estimate": {"x": deep}})


def test_an_oversized_manifest_is_not_read(tmp_path, monkeypatch):
    import batch_review.ledger.manifest as manifest

    monkeypatch.setattr(manifest, "MAX_BYTES", 100)
    path = sample().save(tmp_path)
    with pytest.raises(ManifestError, match="over the 100 a manifest may have"):
        Manifest.load(path)
