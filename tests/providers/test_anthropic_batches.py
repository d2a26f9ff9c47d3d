"""providers/anthropic_batches.py over the real anthropic client against the Message Batches emulator:
staging refuses what is not a Messages request, the API's limits are checked before anything is sent,
custom_ids carry the manifest's digest and results of another digest are refused, processing_status and
request_counts become the shared vocabulary, which requests go out again, and what the API keeps not."""

from __future__ import annotations

import json

import pytest

from batch_review.core.errors import BatchAPIError, ManifestError
from batch_review.findings.results import RequestResult
from batch_review.planning import anthropic_format
from batch_review.providers.anthropic_batches import AnthropicBatches
from batch_review.providers.base import BatchProvider

from ..conftest import ANTHROPIC_KEY
from ..emulators.anthropic_emu import claude_message

DIGEST = "a1b2c3d4e5f60718" + "9" * 48
OTHER = "ffffffffffffffff" + "0" * 48
ENDPOINT = anthropic_format.ENDPOINT


def _line(cid: str, url: str = ENDPOINT) -> str:
    return json.dumps({"custom_id": cid, "method": "POST", "url": url,
                       "body": {"model": "claude-haiku-4-5", "max_tokens": 2048,
                                "messages": [{"role": "user", "content": f"review {cid}"}]}})


def _input(tmp_path, *cids: str, name: str = "part-1.jsonl"):
    path = tmp_path / name
    path.write_text("".join(_line(c) + "\n" for c in cids))
    return path


def _meta(part: str = "1", digest: str = DIGEST) -> dict[str, str]:
    return {"manifest_digest": digest, "part": part}


@pytest.fixture
def client(anthropic_emu) -> AnthropicBatches:
    return AnthropicBatches(ANTHROPIC_KEY, anthropic_emu.base_url, max_retries=1, timeout=5.0)


def _send(client, tmp_path, *cids: str, digest: str = DIGEST):
    return client.create(client.upload(_input(tmp_path, *cids)), ENDPOINT, _meta(digest=digest))


# --- staging --------------------------------------------------------------------------------------------

def test_upload_stages_locally_and_sends_nothing(client, anthropic_emu, tmp_path):
    handle = client.upload(_input(tmp_path, "pr-1:c-1"))
    assert handle.startswith("staged-")
    assert client.upload(_input(tmp_path, "pr-1:c-1")) == handle  # the same input, the same handle
    assert anthropic_emu.log == []


@pytest.mark.parametrize("bad", [
    _line("pr-1:c-2", url="/v1/chat/completions"),  # an OpenAI request line
    json.dumps({"custom_id": "pr-1:c-2", "method": "POST", "url": ENDPOINT, "body": "not params"}),
    json.dumps({"custom_id": "pr-1:c-2", "method": "POST", "body": {}}),
])
def test_a_line_that_is_not_a_messages_request_is_refused_with_file_and_line(client, anthropic_emu, tmp_path, bad):
    path = tmp_path / "part-3.jsonl"
    path.write_text(_line("pr-1:c-1") + "\n\n" + bad + "\n")  # the blank line still counts
    with pytest.raises(BatchAPIError) as caught:
        client.upload(path)
    assert caught.value.line() == "part-3.jsonl line 3: not a Messages API request (/v1/messages)"
    assert not caught.value.transient
    assert anthropic_emu.log == []


def test_create_of_an_input_this_run_did_not_stage_is_refused(client, anthropic_emu):
    with pytest.raises(BatchAPIError) as caught:
        client.create("staged-0000", ENDPOINT, _meta())
    assert "staged-0000 is not an input staged by this run" in caught.value.line()
    assert anthropic_emu.log == []


def test_a_deleted_staging_cannot_be_created(client, anthropic_emu, tmp_path):
    handle = client.upload(_input(tmp_path, "pr-1:c-1"))
    client.delete_file(handle)
    with pytest.raises(BatchAPIError):
        client.create(handle, ENDPOINT, _meta())
    assert anthropic_emu.log == []


# --- limits ---------------------------------------------------------------------------------------------

def test_more_requests_than_the_api_takes_are_refused_before_sending(client, anthropic_emu, tmp_path, monkeypatch):
    assert anthropic_format.MAX_REQUESTS == 100_000  # the API's limit (FACTS.md); a small one stands in below
    monkeypatch.setattr(anthropic_format, "MAX_REQUESTS", 3)
    handle = client.upload(_input(tmp_path, "r-1", "r-2", "r-3", "r-4"))
    with pytest.raises(BatchAPIError) as caught:
        client.create(handle, ENDPOINT, _meta())
    assert caught.value.line().startswith("creating a batch: 4 requests, ")
    assert "over the Message Batches API's 100,000 requests or 256 MB" in caught.value.line()
    assert not caught.value.transient and anthropic_emu.log == []
    client.create(client.upload(_input(tmp_path, "r-1", "r-2", "r-3")), ENDPOINT, _meta())  # at the limit goes
    assert len(anthropic_emu.batches) == 1


def test_the_byte_limit_is_the_size_of_the_create_body(client, anthropic_emu, tmp_path, monkeypatch):
    handle = client.upload(_input(tmp_path, "r-1", "r-2"))
    requests = [{"custom_id": anthropic_format.provider_id(DIGEST, c),
                 "params": json.loads(_line(c))["body"]} for c in ("r-1", "r-2")]
    size = len(json.dumps({"requests": requests}).encode())
    monkeypatch.setattr(anthropic_format, "MAX_BYTES", size - 1)
    with pytest.raises(BatchAPIError) as caught:
        client.create(handle, ENDPOINT, _meta())
    assert f"2 requests, {size:,} bytes" in caught.value.line() and anthropic_emu.log == []
    monkeypatch.setattr(anthropic_format, "MAX_BYTES", size)  # exactly at the limit goes
    client.create(handle, ENDPOINT, _meta())
    assert len(anthropic_emu.batches) == 1


def test_an_id_the_api_cannot_take_is_refused_before_sending(client, anthropic_emu, tmp_path):
    handle = client.upload(_input(tmp_path, "pr-1/../c 1"))
    with pytest.raises(Exception, match="cannot be sent to the Message Batches API"):
        client.create(handle, ENDPOINT, _meta())
    assert anthropic_emu.log == []


# --- ownership ------------------------------------------------------------------------------------------

def test_custom_ids_carry_the_digest_and_results_come_back_as_ours(client, anthropic_emu, tmp_path):
    anthropic_emu.set_responder(lambda cid, params: claude_message(json.dumps({"findings": [], "cid": cid})))
    state = _send(client, tmp_path, "pr-1:c-1", "pr-2:c-1")
    sent = [r["custom_id"] for r in anthropic_emu.requests_of(state.id)]
    assert sent == ["a1b2c3d4e5f60718_pr-1_c-1", "a1b2c3d4e5f60718_pr-2_c-1"]
    anthropic_emu.advance(state.id, "completed")
    output, errors = client.results(client.retrieve(state.id), DIGEST)
    assert errors == ""
    lines = [json.loads(x) for x in output.splitlines()]
    assert sorted(x["custom_id"] for x in lines) == ["pr-1:c-1", "pr-2:c-1"]
    assert all(x["response"]["status_code"] == 200 for x in lines)


def test_results_of_another_manifests_batch_are_refused(client, anthropic_emu, tmp_path):
    state = _send(client, tmp_path, "pr-1:c-1", digest=OTHER)
    anthropic_emu.advance(state.id, "completed")
    done = client.retrieve(state.id)
    assert client.vouches(done, DIGEST)  # nothing on the batch can refute it: the results must
    with pytest.raises(ManifestError, match=f"batch {state.id}: none of its 1 result"):
        client.results(done, DIGEST)


def test_results_before_the_batch_ends_are_one_service_line(client, tmp_path):
    state = _send(client, tmp_path, "pr-1:c-1")
    with pytest.raises(BatchAPIError) as caught:
        client.results(state, DIGEST)
    assert caught.value.line().startswith(f"reading the results of batch {state.id}: ")
    assert "results_url" in caught.value.line() and "\n" not in caught.value.line()


# --- state ----------------------------------------------------------------------------------------------

def test_a_running_batch_is_in_progress_with_everything_processing(client, tmp_path):
    state = _send(client, tmp_path, "a-1", "a-2", "a-3")
    assert state.status == "in_progress"
    assert state.request_counts == {"processing": 3, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0,
                                    "total": 3, "completed": 0, "failed": 0}
    assert state.expires_at - state.created_at == 86400
    assert state.metadata == {} and state.output_file_id is None and state.error_file_id is None


def test_an_ended_batch_is_completed_or_expired_by_its_counts(client, anthropic_emu, tmp_path):
    def errored(cid, params):
        return (529, {"error": {"type": "overloaded_error", "message": "Overloaded"}}) if cid == "a-2" \
            else claude_message("{}")
    anthropic_emu.set_responder(errored)
    done = _send(client, tmp_path, "a-1", "a-2")
    anthropic_emu.advance(done.id, "completed")
    state = client.retrieve(done.id)
    assert state.status == "completed"  # an errored request does not change the batch's end
    assert (state.request_counts["completed"], state.request_counts["failed"], state.request_counts["total"]) \
        == (1, 1, 2)
    late = _send(client, tmp_path, "b-1", "b-2", "b-3")
    anthropic_emu.advance(late.id, "expired", finished=lambda cid: cid.endswith("b-1"))
    state = client.retrieve(late.id)
    assert state.status == "expired"
    assert state.request_counts["expired"] == 2 and state.request_counts["failed"] == 2
    assert state.request_counts["completed"] == 1 and state.request_counts["total"] == 3


def test_a_cancelled_batch_is_cancelling_then_cancelled_even_if_all_ran(client, anthropic_emu, tmp_path):
    state = _send(client, tmp_path, "a-1", "a-2")
    assert client.cancel(state.id).status == "cancelling"
    assert client.retrieve(state.id).status == "cancelling"
    anthropic_emu.advance(state.id, "completed")  # everything ran before the cancel took effect
    assert client.retrieve(state.id).status == "cancelled"
    other = _send(client, tmp_path, "b-1")
    client.cancel(other.id)
    anthropic_emu.advance(other.id, "cancelled")
    ended = client.retrieve(other.id)
    assert ended.status == "cancelled" and ended.request_counts["canceled"] == 1
    assert ended.request_counts["failed"] == 1


# --- what goes out again --------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "code", "batch", "again"), [
    ("error", "batch_expired", "expired", True),
    ("error", "overloaded_error", "completed", True),  # failed on the service's side
    ("error", "api_error", "completed", True),
    ("error", "rate_limit_error", "completed", True),
    ("error", "invalid_request_error", "completed", False),  # our request was wrong: again is wrong again
    ("error", "batch_cancelled", "cancelled", False),  # a user cancelled it
    ("missing", None, "expired", True),
    ("missing", None, "completed", False),
    ("ok", None, "expired", False),
    ("unparsable", None, "expired", False),
])
def test_resubmittable_requests(status, code, batch, again):
    client = AnthropicBatches(ANTHROPIC_KEY, "http://127.0.0.1:9")  # a pure rule: no service asked
    result = RequestResult("pr-1:c-1", status, error_code=code)
    assert client.resubmittable(result, batch) is again


# --- what the API does not keep --------------------------------------------------------------------------

def test_what_the_api_does_not_keep_is_nothing_and_costs_no_request(client, anthropic_emu):
    assert isinstance(client, BatchProvider)
    assert client.keeps_metadata is False
    assert client.upload_bytes("manifest.json", b"{}") is None
    assert client.find_by_metadata(DIGEST) == []
    assert client.recent_batches() == [] and client.live_files() == {}
    assert client.file_info("file-1") is None
    with pytest.raises(BatchAPIError, match="keeps no files: file-1 cannot be downloaded") as caught:
        client.download_bytes("file-1")
    assert not caught.value.transient
    assert anthropic_emu.log == []


# --- failures -------------------------------------------------------------------------------------------

def test_no_key_is_refused_before_any_request(anthropic_emu):
    with pytest.raises(BatchAPIError, match="ANTHROPIC_API_KEY") as caught:
        AnthropicBatches(None, anthropic_emu.base_url)
    assert not caught.value.transient and anthropic_emu.log == []


def test_an_echoed_key_never_reaches_the_error_line(client, anthropic_emu, tmp_path):
    anthropic_emu.inject("POST", r"^/v1/messages/batches$", "echo", status=401)
    with pytest.raises(BatchAPIError) as caught:
        _send(client, tmp_path, "pr-1:c-1")
    line = caught.value.line()
    assert line.startswith("creating the batch (part 1): HTTP 401: ")
    assert ANTHROPIC_KEY not in line and "emulator-0123456789abcdef" not in line
    assert "\n" not in line and len(line) < 400  # the service's message, clipped: never the body
    assert caught.value.status == 401 and not caught.value.transient


def test_a_wrong_key_is_the_services_short_message(anthropic_emu):
    client = AnthropicBatches("sk-ant-wrong-0123456789", anthropic_emu.base_url, max_retries=0)
    with pytest.raises(BatchAPIError) as caught:
        client.retrieve("msgbatch_x")
    assert caught.value.line() == "reading batch msgbatch_x: HTTP 401: invalid x-api-key"


def test_an_overloaded_service_is_one_transient_line_after_the_retries(client, anthropic_emu, tmp_path):
    anthropic_emu.inject("POST", r"^/v1/messages/batches$", 529, times=5)
    with pytest.raises(BatchAPIError) as caught:
        _send(client, tmp_path, "pr-1:c-1")
    assert caught.value.line() == "creating the batch (part 1): HTTP 529: injected fault"
    assert caught.value.transient and caught.value.status == 529
    assert len(anthropic_emu.requests("POST", r"^/v1/messages/batches$")) == 2  # max_retries=1
    assert anthropic_emu.batches == {}


def test_a_timeout_is_one_transient_line(anthropic_emu):
    anthropic_emu.inject("GET", r"^/v1/messages/batches/", "timeout", seconds=2.0)
    client = AnthropicBatches(ANTHROPIC_KEY, anthropic_emu.base_url, max_retries=0, timeout=0.3)
    with pytest.raises(BatchAPIError) as caught:
        client.retrieve("msgbatch_x")
    assert caught.value.line() == "reading batch msgbatch_x: timed out" and caught.value.transient
