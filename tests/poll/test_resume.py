"""poll/resume.py: a batch a killed submit planned is created only from the manifest's own input, checked
line by line (the same endpoint and model, one output token cap, exactly the manifest's requests); an
adopted manifest takes the recorded upload's bytes only when they are the recorded ones; the killed run's
upload is deleted only when it is plainly its own; a service without metadata gets the manifest with the
new ids written where the workflow stores it; ids another stored copy recorded are taken over.
Real OpenAIBatches / AnthropicBatches clients against the emulators; the manifest is a real dry-run submit's."""

from __future__ import annotations

import hashlib
import json

import pytest

from batch_review.config.models import Config
from batch_review.core.errors import ManifestError
from batch_review.ledger.adoption import Seen
from batch_review.ledger.manifest import Manifest
from batch_review.ledger.store import Pending
from batch_review.poll.resume import checked_input, keep_resumed, recover_recorded, resume_batches
from batch_review.providers.anthropic_batches import AnthropicBatches
from batch_review.providers.openai_batches import OpenAIBatches

from ..conftest import ANTHROPIC_KEY, OPENAI_KEY


@pytest.fixture
def planned(world) -> Pending:
    """What a submit killed before creating its batch leaves: the manifest (no batch id) and its input."""
    world.answer_with({})
    assert world.submit("--dry-run") == 0
    (path,) = world.manifests()
    return Pending(path.parent.name, Manifest.load(path), path.parent)


@pytest.fixture
def client(world) -> OpenAIBatches:
    return OpenAIBatches(OPENAI_KEY, world.openai.base_url, max_retries=0)


def _rewrite(pending: Pending, change) -> None:
    """Change the input's lines and record the new file in the manifest, so only the line checks can object."""
    b = pending.manifest.batches[0]
    path = pending.directory / b.file
    lines = [json.loads(x) for x in path.read_bytes().splitlines()]
    lines = change(lines)
    data = b"".join((x if isinstance(x, bytes) else json.dumps(x).encode()) + b"\n" for x in lines)
    path.write_bytes(data)
    pending.manifest.record(0, input_sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))


def test_the_planned_input_is_read_back_as_the_manifests_requests(planned, client):
    b = planned.manifest.batches[0]
    path, requests = checked_input(client, planned, b)
    assert path == planned.directory / b.file
    assert sorted(r.custom_id for r in requests) == sorted(planned.manifest.requests)
    assert all(r.model == b.model and r.max_output_tokens > 0 and r.est_input_tokens > 0 for r in requests)


def _set(key, value):
    def change(lines):
        lines[0]["body"][key] = value
        return lines
    return change


@pytest.mark.parametrize(("change", "says"), [
    (_set("model", "gpt-5-pro"), "line 1: model 'gpt-5-pro' is not the batch's"),
    (_set("max_tokens", 100), "line 1: the request has no single output token cap"),  # a second cap
    (lambda lines: [{**x, "body": {**x["body"], **{k: True for k in x["body"] if k.startswith("max_")}}}
                    for x in lines], "line 1: the request has no single output token cap"),
    (lambda lines: [{**x, "body": {**x["body"], **{k: 0 for k in x["body"] if k.startswith("max_")}}}
                    for x in lines], "line 1: the request has no single output token cap"),
    (lambda lines: [{**lines[0], "method": "GET"}, *lines[1:]], "line 1: sent to"),
    (lambda lines: [b"{not json", *lines[1:]], "line 1: not a JSON request"),
    (lambda lines: [[1, 2], *lines[1:]], "line 1: not a batch request (custom_id, body)"),
    (lambda lines: [*lines, lines[0]], "requests (1 distinct)"),  # a request twice
    (lambda lines: [{**lines[0], "custom_id": "pr-9:0001:0"}, *lines[1:]], "the manifest records"),  # not ours
])
def test_an_input_line_the_manifest_did_not_plan_is_refused(planned, client, world, change, says):
    _rewrite(planned, change)
    with pytest.raises(ManifestError, match=r"manifest.json: batches\[0\] \(input-000.jsonl\)") as caught:
        resume_batches(client, Config(), planned, planned.manifest.batches)
    assert says in str(caught.value)
    assert world.openai.files == {} and world.openai.batches == {}


def test_an_adopted_manifest_takes_the_recorded_upload_only_when_it_is_the_recorded_content(planned, client, world):
    b = planned.manifest.batches[0]
    local = planned.directory / b.file
    good = client.upload(local)
    local.rename(local.with_suffix(".kept"))
    planned.manifest.record(0, input_file_id=good)
    path, requests = checked_input(client, planned, planned.manifest.batches[0])
    assert path.read_bytes() == local.with_suffix(".kept").read_bytes()
    assert len(requests) == b.requests

    path.unlink()
    other = client.upload_bytes(b.file, local.with_suffix(".kept").read_bytes().replace(b"app.py", b"app.pY"))
    planned.manifest.record(0, input_file_id=other)
    with pytest.raises(ManifestError, match=f"of the upload {other} is not the manifest's"):
        checked_input(client, planned, planned.manifest.batches[0])
    assert not path.exists()  # a content that is not the manifest's is never written where the input goes


def test_resuming_uploads_afresh_and_deletes_only_the_killed_runs_own_upload(planned, client, world):
    b = planned.manifest.batches[0]
    own = client.upload(planned.directory / b.file)  # the killed run's upload: our name, our size
    planned.manifest.record(0, input_file_id=own)
    (created,) = resume_batches(client, Config(), planned, planned.manifest.batches, log=lambda s: None).created
    assert world.openai.batches[created]["input_file_id"] not in (own, None)
    assert own not in world.openai.files
    assert planned.manifest.batches[0].id == created


def test_a_file_under_the_recorded_id_that_is_not_the_runs_own_is_left_alone(planned, client, world):
    b = planned.manifest.batches[0]
    theirs = client.upload_bytes("their-data.jsonl", (planned.directory / b.file).read_bytes())
    planned.manifest.record(0, input_file_id=theirs)
    resume_batches(client, Config(), planned, planned.manifest.batches, log=lambda s: None)
    assert theirs in world.openai.files  # another name: perhaps someone else's file; never deleted


def test_a_failed_create_deletes_the_fresh_upload(planned, client, world):
    world.openai.inject("POST", r"^/v1/batches$", 400)
    with pytest.raises(Exception, match="HTTP 400"):
        resume_batches(client, Config(), planned, planned.manifest.batches, log=lambda s: None)
    assert world.openai.batches == {}
    assert [f for f in world.openai.files.values() if f["purpose"] == "batch"] == []


# --- keep_resumed, recover_recorded ---------------------------------------------------------------------

def test_a_service_with_metadata_needs_no_written_record(planned, client, tmp_path):
    assert keep_resumed(client, planned, tmp_path / "stored") is None
    assert not (tmp_path / "stored").exists()


def test_without_metadata_the_manifest_with_its_new_ids_goes_where_the_workflow_stores(planned, anthropic_emu,
                                                                                       tmp_path):
    claude = AnthropicBatches(ANTHROPIC_KEY, anthropic_emu.base_url)
    planned.manifest.record(0, id="msgbatch_resumed")
    target = keep_resumed(claude, planned, tmp_path / "stored")
    assert target == tmp_path / "stored" / planned.directory.name
    assert Manifest.load(target / "manifest.json").batches[0].id == "msgbatch_resumed"
    assert (target / planned.manifest.batches[0].file).read_bytes() == \
        (planned.directory / planned.manifest.batches[0].file).read_bytes()
    # the local store's own folder is saved in place
    assert keep_resumed(claude, planned, planned.directory.parent) == planned.directory
    assert Manifest.load(planned.directory / "manifest.json").batches[0].id == "msgbatch_resumed"


def test_ids_another_copy_recorded_are_taken_for_the_parts_without_one(planned):
    m = planned.manifest
    seen = Seen(recorded={m.digest(): {0: "batch_later"}, "f" * 64: {0: "batch_other"}})
    notes = recover_recorded(planned, seen)
    assert m.batches[0].id == "batch_later"
    assert notes == [f"{planned.name}: batch part 1 is batch_later, as a later copy of this manifest recorded"]
    assert recover_recorded(planned, Seen(recorded={m.digest(): {0: "batch_again"}})) == []  # one id kept
    assert m.batches[0].id == "batch_later"


def test_ids_of_another_manifest_are_never_taken(planned):
    assert recover_recorded(planned, Seen(recorded={"f" * 64: {0: "batch_other"}})) == []
    assert recover_recorded(planned, None) == []
    assert planned.manifest.batches[0].id is None


