"""ledger/send.py: the one send routine of submit, resubmit and resume, through the real openai client
against the emulator: every step recorded and saved before the next, nothing created twice, and on a
failure an exact account of what exists (what each journey undoes)."""

from __future__ import annotations

import json

import pytest

from batch_review.core.errors import BatchAPIError
from batch_review.ledger.manifest import Manifest
from batch_review.ledger.send import Sent, found_by_digest, send_batches
from batch_review.providers.openai_batches import OpenAIBatches

from ..conftest import OPENAI_KEY, finding

# app.py and util.py go to different models, so the run has two batch input files
ROUTING = "model: gpt-5-mini\nrouting:\n  - {model: gpt-5-nano, max_changed_lines: 5}\n"


def planned(world) -> Manifest:
    """What a submit killed before its first upload leaves: a manifest of two parts, nothing sent."""
    world.configure(ROUTING)
    assert world.submit("--dry-run") == 0
    (path,) = world.manifests()
    m = Manifest.load(path)
    m.dry_run = False
    m.save(path.parent)
    assert len(m.batches) == 2 and world.openai.files == {} and world.openai.batches == {}
    return m


def client(world) -> OpenAIBatches:
    return OpenAIBatches(OPENAI_KEY, world.openai.base_url, max_retries=0, timeout=30)


def inputs(world, m: Manifest) -> dict:
    (path,) = world.manifests()
    return {b.index: path.parent / b.file for b in m.batches}


def said(b, state) -> str:
    return f"part {b.index + 1}: {state.id}"


def test_each_step_is_recorded_and_saved_before_the_next(world):
    """Uploads, then the manifest's copy (naming every upload), then the batches, each on disk before the
    next step: a run killed anywhere leaves a record that names everything it made."""
    m = planned(world)
    (path,) = world.manifests()
    saved: list[dict] = []
    lines: list[str] = []
    sent = send_batches(client(world), m, inputs(world, m), said=said, log=lines.append,
                        save=lambda: saved.append(json.loads(m.save(path.parent).read_text())))
    wire = [(e.method, e.path) for e in world.openai.requests("POST")]
    assert wire == [("POST", "/v1/files")] * 3 + [("POST", "/v1/batches")] * 2
    # saved after each upload, after the copy, after each batch
    assert [[(b.get("input_file_id") is not None, b.get("manifest_file") is not None, b.get("id") is not None)
             for b in doc["batches"]] for doc in saved] == [
        [(True, False, False), (False, False, False)], [(True, False, False), (True, False, False)],
        [(True, True, False), (True, True, False)], [(True, True, True), (True, True, False)],
        [(True, True, True), (True, True, True)]]
    loaded = Manifest.load(path)
    assert [b.id for b in loaded.batches] == sent.created == list(world.openai.batches)
    copy = json.loads(world.openai.files[sent.copy]["data"])  # what an adopting poll reads
    assert [b["input_file_id"] for b in copy["batches"]] == list(sent.uploads.values())
    for b in loaded.batches:
        meta = world.openai.batches[b.id]["metadata"]
        assert meta == {"batch_review": "2", "repository": "acme/widgets", "manifest_digest": m.digest(),
                        "part": f"{b.index + 1}/2", "manifest_file": sent.copy}
        assert world.openai.batches[b.id]["input_file_id"] == b.input_file_id
    assert lines == [f"part {b.index + 1}: {b.id}" for b in loaded.batches]
    assert loaded.digest() == m.digest()  # what was recorded is outside the digest


def test_a_refused_create_leaves_an_exact_account_and_the_retry_creates_nothing_twice(world):
    """The service refuses the second batch: `Sent` names exactly what exists on the service (what submit
    cancels and deletes), the manifest on disk records the batch that was made, and a second send of the
    same manifest (resubmit after a killed poll) finds that batch by its digest: one batch per part, and
    the copy the batches name is not uploaded again."""
    m = planned(world)
    (path,) = world.manifests()
    world.openai.inject("POST", r"^/v1/batches$", 400, skip=1)
    sent = Sent()
    with pytest.raises(BatchAPIError, match="HTTP 400"):
        send_batches(client(world), m, inputs(world, m), said=said, sent=sent, log=lambda line: None,
                     save=lambda: m.save(path.parent))
    assert sorted(sent.uploaded) == sorted(world.openai.files) and len(sent.uploaded) == 3
    assert sent.created == list(world.openai.batches) and len(sent.created) == 1
    on_disk = Manifest.load(path)
    assert [b.id for b in on_disk.batches] == [sent.created[0], None]

    again = Manifest.load(path)
    found = found_by_digest(client(world), again)
    assert {i: s.id for i, s in found.items()} == {0: sent.created[0]}
    retry = send_batches(client(world), again, inputs(world, again), found=found, said=said,
                         log=lambda line: None, save=lambda: again.save(path.parent))
    assert retry.created != [] and retry.copy == sent.copy and not retry.own_copy
    assert len(world.openai.batches) == 2  # one per part
    assert [b.id for b in Manifest.load(path).batches] == [sent.created[0], retry.created[0]]


def test_a_resume_refused_midway_leaves_no_stray_upload_and_creates_each_part_once(world, monkeypatch):
    """Poll resumes a killed submit's two parts and the service refuses the second: the upload no batch
    was made from is deleted, the run is left pending, and the next poll finds the batch it made by its
    digest and creates only the other: each request sent once, then posted."""
    import batch_review.poll.batches as batches

    monkeypatch.setattr(batches, "RESUME_AFTER", batches.dt.timedelta(0))
    planned(world)
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")],
                       "util.py": [finding("util.py", 4, title="Leak")]})
    world.openai.inject("POST", r"^/v1/batches$", 400, skip=1)
    assert world.poll() == 1  # a service failed: left pending
    (first,) = world.openai.batches
    assert set(world.openai.files) == {world.openai.batches[first]["input_file_id"]}  # no stray upload
    assert world.poll() == 0
    assert len(world.openai.batches) == 2 and first in world.openai.batches
    models = sorted(world.openai.lines(b["input_file_id"])[0]["body"]["model"] for b in world.openai.batches.values())
    assert models == ["gpt-5-mini", "gpt-5-nano"]
    world.openai.complete_all()
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    text = review["body"] + "".join(c["body"] for c in review["comments"])
    assert "Division by zero" in text and "Leak" in text
