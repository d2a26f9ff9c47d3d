"""poll/resubmit.py: the expired requests go out again as a new batch with its own manifest, derived
deterministically (a killed poll's batch is found by the new digest, not created twice), from the input
lines the old manifest recorded and nothing else (a changed input is refused, a missing one leaves no
half-written batch files). Real OpenAIBatches / AnthropicBatches clients against the emulators."""

from __future__ import annotations

import hashlib
import json

import pytest

from batch_review.core.errors import ManifestError
from batch_review.ledger.manifest import Manifest
from batch_review.ledger.store import Pending
from batch_review.poll.resubmit import derive_manifest, input_lines, resubmit_expired
from batch_review.providers.anthropic_batches import AnthropicBatches
from batch_review.providers.openai_batches import OpenAIBatches

from ..conftest import ANTHROPIC_KEY, OPENAI_KEY


@pytest.fixture
def sent(world) -> Pending:
    """A nightly submit of pull request 1, one request per file, its batch created and then expired."""
    world.answer_with({})
    world.configure("request_unit: file\n")
    assert world.submit() == 0
    (path,) = world.manifests()
    for batch_id in world.batch_ids():
        world.openai.advance(batch_id, "expired")
    return Pending(path.parent.name, Manifest.load(path), path.parent)


@pytest.fixture
def client(world) -> OpenAIBatches:
    return OpenAIBatches(OPENAI_KEY, world.openai.base_url, max_retries=0)


def _ids(m: Manifest) -> list[str]:
    return sorted(m.requests)


def test_the_derived_manifest_holds_only_the_expired_requests_and_names_its_parent(sent):
    old = sent.manifest
    assert len(old.requests) >= 2
    cid = _ids(old)[0]
    new = derive_manifest(old, [cid])
    assert list(new.requests) == [cid] and new.parent == old.digest() and new.attempt == old.attempt + 1
    target = old.requests[cid].target
    assert list(new.targets) == [target]
    assert set(new.files[target]) == set(old.requests[cid].paths) != set(old.files[target])
    assert (new.repository, new.endpoint, new.model, new.created_at) == \
        (old.repository, old.endpoint, old.model, old.created_at)
    assert derive_manifest(old, [cid]).digest() != derive_manifest(old, _ids(old)).digest()


def test_the_expired_requests_go_out_once_as_a_new_batch_with_a_stored_manifest(sent, client, world):
    first, second = _ids(sent.manifest)[:2]
    new, copy = resubmit_expired(client, sent, [second], world.state, log=lambda s: None)
    assert copy  # OpenAI keeps the new manifest's copy: a later poll can adopt the batch
    (batch_id,) = [b for b in world.batch_ids() if world.openai.batches[b]["metadata"]["manifest_digest"]
                   == new.digest()]
    assert new.batches[0].id == batch_id
    sent_ids = [x["custom_id"] for x in world.openai.lines(world.openai.batches[batch_id]["input_file_id"])]
    assert sent_ids == [second]
    saved = world.state / f"{sent.name}-retry1" / "manifest.json"
    assert Manifest.load(saved).digest() == new.digest() and Manifest.load(saved).batches[0].id == batch_id


def test_a_poll_killed_after_creating_the_batch_does_not_create_it_again(sent, client, world):
    cid = _ids(sent.manifest)[0]
    before = len(world.batch_ids())
    new, _ = resubmit_expired(client, sent, [cid], world.state, log=lambda s: None)
    (world.state / f"{sent.name}-retry1" / "manifest.json").unlink()  # the store never saw it
    again, _ = resubmit_expired(client, sent, [cid], world.state, log=lambda s: None)
    assert again.digest() == new.digest()
    assert again.batches[0].id == new.batches[0].id
    assert len(world.batch_ids()) == before + 1


def test_a_changed_input_file_is_refused_and_nothing_is_sent(sent, client, world):
    path = sent.directory / sent.manifest.batches[0].file
    path.write_bytes(path.read_bytes().replace(b"app.py", b"app.pY", 1))
    before = (len(world.batch_ids()), len(world.openai.files))
    with pytest.raises(ManifestError, match=f"{sent.name}: {path.name} of part 1 is not the one the manifest "
                                            r"recorded \(input_sha256\); cannot resubmit"):
        resubmit_expired(client, sent, _ids(sent.manifest)[:1], world.state, log=lambda s: None)
    assert (len(world.batch_ids()), len(world.openai.files)) == before


def test_without_the_local_file_the_recorded_upload_is_read_and_checked(sent, client, world):
    path = sent.directory / sent.manifest.batches[0].file
    original = path.read_bytes()
    path.unlink()  # an adopted manifest: no input files beside it
    lines = dict(input_lines(client, sent, set(_ids(sent.manifest))))
    assert set(lines) == set(sent.manifest.requests)
    assert b"".join(lines[json.loads(x)["custom_id"]] for x in original.splitlines()) == original
    # the upload under the recorded id is someone else's content: refused
    sent.manifest.record(0, input_file_id=client.upload_bytes("input-000.jsonl", original + original))
    with pytest.raises(ManifestError, match="of part 1 is not the one the manifest recorded"):
        list(input_lines(client, sent, set(_ids(sent.manifest))))


def test_an_input_outside_the_manifests_folder_is_never_read(sent, client, world):
    """A manifest naming '../x.jsonl' (a hostile artifact) gets neither that file nor a half-written batch."""
    outside = sent.directory.parent / "input-000.jsonl"
    outside.write_bytes((sent.directory / sent.manifest.batches[0].file).read_bytes())
    sent.manifest.record(0, file="../input-000.jsonl", input_file_id=None)
    before = len(world.batch_ids())
    with pytest.raises(ManifestError, match=r"input lines of \d+ expired requests? are not in the artifact"):
        resubmit_expired(client, sent, _ids(sent.manifest)[:1], world.state, log=lambda s: None)
    assert len(world.batch_ids()) == before
    assert list((world.state / f"{sent.name}-retry1").glob("*.jsonl")) == []


def test_a_service_without_files_keeps_no_copy(sent, anthropic_emu, world):
    """The Message Batches API keeps no copy of the new manifest: the caller must keep the old one."""
    claude = AnthropicBatches(ANTHROPIC_KEY, anthropic_emu.base_url)
    path = sent.directory / sent.manifest.batches[0].file
    lines = []
    for raw in path.read_bytes().splitlines():  # the same requests as the Messages API's params
        line = json.loads(raw)
        lines.append(json.dumps({**line, "url": "/v1/messages", "body": {
            "model": "claude-haiku-4-5", "max_tokens": 1024, "messages": [{"role": "user", "content": "x"}]}}))
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(data)

    sent.manifest.record(0, input_sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    new, copy = resubmit_expired(claude, sent, _ids(sent.manifest)[:1], world.state, log=lambda s: None)
    assert copy is False
    assert new.batches[0].id in anthropic_emu.batches


def test_a_request_missing_from_the_input_leaves_no_half_written_batch_file(sent, client, world):
    first, second = _ids(sent.manifest)[:2]
    path = sent.directory / sent.manifest.batches[0].file
    data = b"".join(x + b"\n" for x in path.read_bytes().splitlines() if json.loads(x)["custom_id"] != second)
    path.write_bytes(data)
    sent.manifest.record(0, input_sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    before = len(world.batch_ids())
    with pytest.raises(ManifestError, match=r"input lines of 1 expired request are not in the artifact"):
        resubmit_expired(client, sent, [first, second], world.state, log=lambda s: None)
    assert len(world.batch_ids()) == before
    assert list((world.state / f"{sent.name}-retry1").glob("*.jsonl")) == []
