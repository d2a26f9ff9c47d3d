"""poll/cancel.py: which batches `cancel --all` names (those the pending manifests record), and that only a
batch still running is asked to stop, each once, with the counts the status table shows. The real
OpenAIBatches client against the emulator."""

from __future__ import annotations

import json

import pytest

from batch_review.core.errors import BatchAPIError
from batch_review.ledger.manifest import BatchRecord, Manifest
from batch_review.ledger.store import Listing, Pending
from batch_review.poll.cancel import cancel_batches, pending_batch_ids
from batch_review.providers.openai_batches import OpenAIBatches

from ..conftest import OPENAI_KEY

ENDPOINT = "/v1/chat/completions"


@pytest.fixture
def client(openai_emu) -> OpenAIBatches:
    return OpenAIBatches(OPENAI_KEY, openai_emu.base_url, max_retries=0)


def _batch(client, tmp_path, *cids: str) -> str:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"custom_id": c, "method": "POST", "url": ENDPOINT, "body": {
        "model": "gpt-4o-mini", "messages": [{"role": "user", "content": c}]}}) + "\n" for c in cids))
    return client.create(client.upload(path), ENDPOINT, {"manifest_digest": "d" * 64, "part": "1"}).id


def _cancels(emu) -> int:
    return len(emu.requests("POST", r"/cancel$"))


def test_a_running_batch_is_asked_to_stop_and_reported_cancelling(client, openai_emu, tmp_path):
    waiting = _batch(client, tmp_path, "a", "b")  # validating
    running = _batch(client, tmp_path, "c")
    openai_emu.advance(running, "in_progress")
    finalizing = _batch(client, tmp_path, "d")
    openai_emu.advance(finalizing, "finalizing")
    rows = cancel_batches(client, [waiting, running, finalizing])
    assert rows == [[waiting, "cancelling", 0, 0, 0], [running, "cancelling", 0, 0, 1],
                    [finalizing, "cancelling", 0, 0, 1]]
    assert _cancels(openai_emu) == 3
    assert {openai_emu.batches[b]["status"] for b in (waiting, running, finalizing)} == {"cancelling"}


@pytest.mark.parametrize("end", ["completed", "expired", "failed", "cancelled"])
def test_a_finished_batch_is_only_reported(client, openai_emu, tmp_path, end):
    done = _batch(client, tmp_path, "a", "b")
    openai_emu.advance(done, end, finished=lambda cid: cid == "a")
    (row,) = cancel_batches(client, [done])
    assert row[:2] == [done, end] and _cancels(openai_emu) == 0
    if end in ("completed", "expired"):
        assert row[2:] == [2 if end == "completed" else 1, 0 if end == "completed" else 1, 2]


def test_a_batch_already_cancelling_is_not_asked_again(client, openai_emu, tmp_path):
    batch = _batch(client, tmp_path, "a")
    client.cancel(batch)
    assert cancel_batches(client, [batch]) == [[batch, "cancelling", 0, 0, 0]]
    assert _cancels(openai_emu) == 1


def test_a_batch_named_twice_is_cancelled_and_reported_once(client, openai_emu, tmp_path):
    first, second = _batch(client, tmp_path, "a"), _batch(client, tmp_path, "b")
    rows = cancel_batches(client, [first, second, first])
    assert [r[0] for r in rows] == [first, second]
    assert _cancels(openai_emu) == 2


def test_an_unknown_batch_is_one_service_line(client):
    with pytest.raises(BatchAPIError) as caught:
        cancel_batches(client, ["batch_nope"])
    assert caught.value.line() == "reading batch batch_nope: HTTP 404: No batch found with id 'batch_nope'."


def _manifest(*ids: str | None) -> Manifest:
    parts = [BatchRecord(i, f"input-{i:03d}.jsonl", "0" * 64, 1, 100, "gpt-4o-mini", ENDPOINT, id=batch_id)
             for i, batch_id in enumerate(ids)]
    return Manifest(repository="acme/widgets", endpoint=ENDPOINT, model="gpt-4o-mini", provider={},
                    created_at="2026-12-07T00:00:00Z", tool="batch-review", batches=parts)


def test_all_means_the_batches_the_pending_manifests_record(tmp_path):
    listing = Listing(pending=[Pending("one", _manifest("batch_a", None, "batch_b"), tmp_path),
                               Pending("two", _manifest("batch_c", "batch_a"), tmp_path)])
    assert pending_batch_ids(listing) == ["batch_a", "batch_b", "batch_c", "batch_a"]
    assert pending_batch_ids(Listing(problems=["damaged.json: not a manifest"])) == []
