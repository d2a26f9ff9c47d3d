"""providers/openai_batches.py over the real openai client against the loopback emulator: the batch
round trip, ownership by metadata digest, a create made exactly once when its answer is lost, every
failure as one BatchAPIError line that never carries the key or the body, and listings bounded to 30 days."""

from __future__ import annotations

import json
import socket

import pytest

from batch_review.core.errors import BatchAPIError
from batch_review.providers import openai_batches
from batch_review.providers.openai_batches import FILES_LIVE, OpenAIBatches

from ..conftest import OPENAI_KEY
from ..emulators.base import now
from ..emulators.openai_emu import chat_completion

ENDPOINT = "/v1/chat/completions"
DIGEST = "d" * 64


def _line(cid: str) -> dict:
    return {"custom_id": cid, "method": "POST", "url": ENDPOINT,
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"review {cid}"}]}}


def _input(tmp_path, *cids: str):
    path = tmp_path / "part-1.jsonl"
    path.write_text("".join(json.dumps(_line(c)) + "\n" for c in cids))
    return path


def _meta(part: str = "1", digest: str = DIGEST) -> dict[str, str]:
    return {"manifest_digest": digest, "part": part}


@pytest.fixture
def client(openai_emu) -> OpenAIBatches:
    return OpenAIBatches(OPENAI_KEY, openai_emu.base_url, max_retries=1, timeout=5.0)


def test_upload_create_retrieve_results_round_trip(client, openai_emu, tmp_path):
    openai_emu.set_responder(lambda cid, body: chat_completion(json.dumps({"findings": [], "id": cid})))
    file_id = client.upload(_input(tmp_path, "r1", "r2"))
    assert openai_emu.files[file_id]["purpose"] == "batch"
    assert openai_emu.files[file_id]["filename"] == "part-1.jsonl"

    state = client.create(file_id, ENDPOINT, _meta())
    assert state.status == "validating" and state.input_file_id == file_id
    assert state.metadata == _meta()
    sent = openai_emu.requests("POST", r"^/v1/batches$")[-1].json
    assert sent["completion_window"] == "24h" and sent["metadata"] == _meta()

    openai_emu.advance(state.id, "completed")
    done = client.retrieve(state.id)
    assert done.status == "completed"
    assert done.request_counts["total"] == 2 and done.request_counts["completed"] == 2
    assert done.usage["input_tokens"] == 2000
    output, errors = client.results(done, DIGEST)
    assert errors == ""
    assert sorted(json.loads(x)["custom_id"] for x in output.splitlines()) == ["r1", "r2"]


def test_results_carry_the_error_file_of_an_expired_batch(client, openai_emu, tmp_path):
    state = client.create(client.upload(_input(tmp_path, "r1", "r2")), ENDPOINT, _meta())
    openai_emu.advance(state.id, "expired", finished=lambda cid: cid == "r1")
    done = client.retrieve(state.id)
    output, errors = client.results(done, DIGEST)
    assert [json.loads(x)["custom_id"] for x in output.splitlines()] == ["r1"]
    (err,) = [json.loads(x) for x in errors.splitlines()]
    assert err["custom_id"] == "r2" and err["error"]["code"] == "batch_expired"


def test_a_failed_batch_keeps_the_services_validation_errors(client, openai_emu, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({**_line("r1"), "url": "/v1/embeddings"}) + "\n")
    state = client.create(client.upload(path), ENDPOINT, _meta())
    openai_emu.advance(state.id, "failed")
    done = client.retrieve(state.id)
    assert done.status == "failed"
    assert done.errors and done.errors[0]["code"] == "invalid_url" and done.errors[0]["line"] == 1


def test_it_vouches_only_for_the_digest_in_the_batch_metadata(client, tmp_path):
    state = client.create(client.upload(_input(tmp_path, "r1")), ENDPOINT, _meta())
    assert client.vouches(state, DIGEST)
    assert not client.vouches(state, "e" * 64)
    assert not client.vouches(client.create(client.upload(_input(tmp_path, "r1")), ENDPOINT, {"part": "1"}), DIGEST)


def test_find_by_metadata_finds_only_this_manifests_batches(client, tmp_path):
    ours = [client.create(client.upload(_input(tmp_path, "r1")), ENDPOINT, _meta(p)).id for p in ("1", "2")]
    client.create(client.upload(_input(tmp_path, "r1")), ENDPOINT, _meta("1", "e" * 64))
    found = client.find_by_metadata(DIGEST)
    assert sorted(s.id for s in found) == sorted(ours)
    assert client.find_by_metadata("f" * 64) == []


def test_a_create_whose_answer_is_lost_is_found_by_metadata_and_not_created_twice(client, openai_emu, tmp_path):
    file_id = client.upload(_input(tmp_path, "r1"))
    # another part of the same manifest already runs: it must not be taken for this part's batch
    other = client.create(client.upload(_input(tmp_path, "r9")), ENDPOINT, _meta("2"))
    openai_emu.inject("POST", r"^/v1/batches$", "lost_response")
    state = client.create(file_id, ENDPOINT, _meta("1"))
    creates = openai_emu.requests("POST", r"^/v1/batches$")
    assert len(creates) == 2  # the other part's, and this one's (whose answer was lost): never a retry
    assert len(openai_emu.batches) == 2
    assert state.id != other.id and state.input_file_id == file_id and state.metadata["part"] == "1"


def test_a_create_refused_with_5xx_that_made_nothing_is_sent_again_once(client, openai_emu, tmp_path):
    file_id = client.upload(_input(tmp_path, "r1"))
    # part 2 of the same manifest runs already: its batch is not part 1's answer
    other = client.create(client.upload(_input(tmp_path, "r9")), ENDPOINT, _meta("2"))
    openai_emu.inject("POST", r"^/v1/batches$", 500)
    state = client.create(file_id, ENDPOINT, _meta("1"))
    assert len(openai_emu.requests("POST", r"^/v1/batches$")) == 3
    assert sorted(openai_emu.batches) == sorted([other.id, state.id])
    assert state.input_file_id == file_id and state.metadata == _meta("1")


def test_a_create_refused_with_400_is_not_retried(client, openai_emu, tmp_path):
    file_id = client.upload(_input(tmp_path, "r1"))
    too_much = {f"k{i}": "v" for i in range(17)}  # the service takes at most 16 metadata pairs
    with pytest.raises(BatchAPIError) as caught:
        client.create(file_id, ENDPOINT, too_much)
    assert len(openai_emu.requests("POST", r"^/v1/batches$")) == 1
    assert caught.value.status == 400 and not caught.value.transient
    assert caught.value.line().startswith(f"creating the batch for {file_id}: HTTP 400: Invalid 'metadata'")


def test_a_create_that_keeps_failing_is_one_transient_line(client, openai_emu, tmp_path):
    file_id = client.upload(_input(tmp_path, "r1"))
    openai_emu.inject("POST", r"^/v1/batches$", 503, times=10)
    with pytest.raises(BatchAPIError) as caught:
        client.create(file_id, ENDPOINT, _meta())
    assert len(openai_emu.requests("POST", r"^/v1/batches$")) == client.max_retries + 1
    assert caught.value.transient and caught.value.status == 503
    assert openai_emu.batches == {}


def test_an_echoed_authorization_header_never_reaches_the_error_line(openai_emu):
    openai_emu.inject("GET", r"^/v1/batches/", "echo", status=401)
    client = OpenAIBatches(OPENAI_KEY, openai_emu.base_url, max_retries=0)
    with pytest.raises(BatchAPIError) as caught:
        client.retrieve("batch_x")
    line = caught.value.line()
    assert line.startswith("reading batch batch_x: HTTP 401: ")
    assert OPENAI_KEY not in line and OPENAI_KEY[3:] not in line
    assert "\n" not in line and "request_headers" not in line
    assert caught.value.status == 401 and not caught.value.transient


def test_a_wrong_key_is_the_services_short_message(openai_emu):
    client = OpenAIBatches("sk-wrong-key-0123456789", openai_emu.base_url, max_retries=0)
    with pytest.raises(BatchAPIError) as caught:
        client.retrieve("batch_x")
    assert caught.value.line() == "reading batch batch_x: HTTP 401: Incorrect API key provided."


def test_a_timeout_is_one_transient_line(openai_emu):
    openai_emu.inject("GET", r"^/v1/batches/", "timeout", seconds=2.0)
    client = OpenAIBatches(OPENAI_KEY, openai_emu.base_url, max_retries=0, timeout=0.3)
    with pytest.raises(BatchAPIError) as caught:
        client.retrieve("batch_x")
    assert caught.value.line() == "reading batch batch_x: timed out"
    assert caught.value.transient


def test_a_refused_connection_is_one_transient_line():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = OpenAIBatches(OPENAI_KEY, f"http://127.0.0.1:{port}/v1", max_retries=0, timeout=2.0)
    with pytest.raises(BatchAPIError) as caught:
        client.live_files()
    line = caught.value.line()
    assert line.startswith("listing files: cannot connect (") and "\n" not in line
    assert OPENAI_KEY not in line and caught.value.transient


def test_a_body_that_is_not_json_is_one_line(client, openai_emu):
    openai_emu.inject("GET", r"^/v1/batches/", "malformed", times=5)
    with pytest.raises(BatchAPIError) as caught:
        client.retrieve("batch_x")
    assert caught.value.line() == "reading batch batch_x: JSONDecodeError: Expecting value: line 1 column 1 (char 0)"
    assert caught.value.transient  # a damaged answer: the next run reads again


def test_no_key_is_refused_before_any_request(openai_emu):
    with pytest.raises(BatchAPIError) as caught:
        OpenAIBatches("", openai_emu.base_url)
    assert "OPENAI_API_KEY" in caught.value.line() and not caught.value.transient
    assert openai_emu.log == []


def test_listings_stop_at_30_days(client, openai_emu, tmp_path):
    old_file = client.upload(_input(tmp_path, "r1"))
    old = client.create(old_file, ENDPOINT, _meta("1"))
    new_file = client.upload(_input(tmp_path, "r2"))
    new = client.create(new_file, ENDPOINT, _meta("2"))
    # the old ones are a day older than a file lives (the file is kept alive: only the age is tested)
    openai_emu.backdate(old.id, FILES_LIVE + 86400)
    openai_emu.files[old_file]["created_at"] -= FILES_LIVE + 86400
    assert [s.id for s in client.recent_batches()] == [new.id]
    assert [s.id for s in client.find_by_metadata(DIGEST)] == [new.id]
    assert set(client.live_files()) == {new_file}
    # the bound is taken from `now`: seen from 40 days on, nothing is recent
    later = openai_emu.batches[new.id]["created_at"] + FILES_LIVE + 1
    assert client.recent_batches(now=later) == []
    assert client.live_files(now=later) == {}


def test_listings_read_no_more_than_max_list_pages(client, openai_emu, tmp_path, monkeypatch):
    monkeypatch.setattr(openai_batches, "MAX_LIST_PAGES", 2)
    file_id = client.upload(_input(tmp_path, "r1"))
    for part in range(205):
        openai_emu.batches[f"batch_{part:04d}"] = emulated_batch(file_id, part)
    found = client.recent_batches()
    assert len(found) == 200
    assert len(openai_emu.requests("GET", r"^/v1/batches$")) == 2


def emulated_batch(file_id: str, part: int) -> dict:
    """A batch record as the emulator keeps it (made directly: 205 creates would be slow)."""
    t = now() - part
    return {"id": f"batch_{part:04d}", "object": "batch", "endpoint": ENDPOINT, "model": None, "errors": None,
            "input_file_id": file_id, "completion_window": "24h", "status": "in_progress",
            "output_file_id": None, "error_file_id": None, "created_at": t, "in_progress_at": t,
            "expires_at": t + 86400, "finalizing_at": None, "completed_at": None, "failed_at": None,
            "expired_at": None, "cancelling_at": None, "cancelled_at": None,
            "request_counts": {"total": 1, "completed": 0, "failed": 0}, "usage": None,
            "metadata": _meta(str(part))}


def test_upload_bytes_asks_for_the_expiry_and_reads_back(client, openai_emu):
    file_id = client.upload_bytes("manifest.jsonl", b'{"a": 1}\n', expires_after=7 * 86400)
    record = openai_emu.files[file_id]
    assert record["expires_at"] - record["created_at"] == 7 * 86400
    assert client.download_bytes(file_id) == b'{"a": 1}\n'
    assert client.file_info(file_id) == ("manifest.jsonl", 9, "batch")


def test_an_expiry_outside_the_services_range_is_one_line(client, openai_emu):
    with pytest.raises(BatchAPIError) as caught:
        client.upload_bytes("manifest.jsonl", b"{}\n", expires_after=60)
    assert caught.value.line().startswith("uploading manifest.jsonl: HTTP 400: Invalid 'expires_after'")
    assert openai_emu.files == {}


def test_unknown_files_are_none_and_deleting_one_is_quiet(client, openai_emu):
    assert client.file_info("file-nope") is None
    client.delete_file("file-nope")
    file_id = client.upload_bytes("m.jsonl", b"{}\n")
    client.delete_file(file_id)
    assert file_id not in openai_emu.files
    with pytest.raises(BatchAPIError) as caught:
        client.download("file-nope")
    assert caught.value.line() == "downloading file file-nope: HTTP 404: No such File object: file-nope"
    assert caught.value.status == 404


def test_cancel_asks_the_service_and_a_finished_batch_refuses(client, openai_emu, tmp_path):
    state = client.create(client.upload(_input(tmp_path, "r1")), ENDPOINT, _meta())
    assert client.cancel(state.id).status == "cancelling"
    openai_emu.finish_cancel(state.id)
    with pytest.raises(BatchAPIError) as caught:
        client.cancel(state.id)
    assert caught.value.status == 409
    assert caught.value.line() == f"cancelling batch {state.id}: HTTP 409: Cannot cancel a batch with status 'cancelled'."


@pytest.mark.parametrize(("retry_after", "waited"), [("7", 7.0), ("3600", 60.0), (None, 0.5)])
def test_a_create_waits_what_the_service_asks_at_most_a_minute(client, openai_emu, tmp_path, monkeypatch,
                                                               retry_after, waited):
    slept: list[float] = []
    monkeypatch.setattr(openai_batches.time, "sleep", slept.append)
    file_id = client.upload(_input(tmp_path, "r1"))
    openai_emu.inject("POST", r"^/v1/batches$", 429, retry_after=retry_after)
    client.create(file_id, ENDPOINT, _meta())
    assert slept == [waited]
    assert len(openai_emu.batches) == 1
