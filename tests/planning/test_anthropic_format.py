"""anthropic_format.py (pure): Messages params, custom_id mapping, results lines; and what the Message
Batches emulator refuses, through the real SDK (an emulator is worth what it rejects)."""

from __future__ import annotations

import json

import anthropic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch_review.core.errors import InputError, ManifestError
from batch_review.findings.results import parse_output_lines
from batch_review.planning import anthropic_format as af
from batch_review.planning.contract import FINDINGS_SCHEMA

from ..emulators.anthropic_emu import AnthropicEmulator, claude_message, params_problem

DIGEST = "0123456789abcdef" + "0" * 48


def params(model="claude-haiku-4-5", effort="low", cap=4096, temperature=None) -> dict:
    return af.messages_params(model=model, system="Review.", schema=FINDINGS_SCHEMA, user="=== a.py (added)",
                              cap=cap, reasoning_effort=effort, temperature=temperature)


# --- requests ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("effort", "budget"), [("low", 1024), ("medium", 2048), ("high", 3072)])
def test_budget_thinking_is_a_share_of_the_cap_below_it(effort, budget):
    p = params(effort=effort, cap=4096)
    assert p["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert p["thinking"]["budget_tokens"] < p["max_tokens"] == 4096
    assert "effort" not in p["output_config"] and params_problem(p) is None


@pytest.mark.parametrize("cap", [1, 1024, 2047])
def test_no_thinking_when_the_cap_leaves_no_room_for_it(cap):
    p = params(effort="high", cap=cap)
    assert "thinking" not in p and p["max_tokens"] == cap and params_problem(p) is None


@pytest.mark.parametrize("cap", [2048, 2049, 5000, 100_000])
def test_a_budget_always_leaves_the_answer_1024_tokens(cap):
    budget = params(effort="high", cap=cap)["thinking"]["budget_tokens"]
    assert 1024 <= budget <= cap - 1024


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "claude-opus-4-8", "claude-opus-5", "claude-sonnet-5-5"])
def test_adaptive_models_get_adaptive_thinking_and_the_effort(model):
    p = params(model=model, effort="medium", cap=1500, temperature=0.2)
    assert p["thinking"] == {"type": "adaptive"} and p["output_config"]["effort"] == "medium"
    assert "temperature" not in p and params_problem(p) is None


def test_minimal_or_no_effort_means_no_thinking_and_temperature_only_then():
    assert "thinking" not in params(effort="minimal") and "thinking" not in params(effort=None)
    assert params(effort=None, temperature=0.2)["temperature"] == 0.2
    assert "temperature" not in params(effort="low", temperature=0.2)  # thinking needs the default


def test_shared_instructions_are_one_cached_system_block_and_the_schema_the_output_format():
    p = params()
    assert p["system"] == [{"type": "text", "text": "Review.", "cache_control": {"type": "ephemeral"}}]
    assert p["messages"] == [{"role": "user", "content": "=== a.py (added)"}]
    schema = p["output_config"]["format"]["schema"]
    item = schema["properties"]["findings"]["items"]
    assert item["properties"]["start_line"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert item["additionalProperties"] is False and "type" not in json.dumps(item["properties"]["suggestion"])[:0]


# --- custom_ids --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cid", ["pr-12:0003:0", "branches-0123456789ab:0000:1", "pr-99999999:9999:12"])
def test_ids_map_into_the_apis_pattern_and_back(cid):
    theirs = af.provider_id(DIGEST, cid)
    assert af.ID_PATTERN.fullmatch(theirs) and theirs.startswith("0123456789abcdef_")
    assert af.our_id(DIGEST, theirs) == cid
    assert af.our_id("f" * 64, theirs) is None  # another manifest's id


@given(st.lists(st.from_regex(af.OUR_ID, fullmatch=True).filter(lambda s: len(s) <= 47), unique=True, max_size=20))
def test_the_map_is_one_to_one(ids):
    mapped = [af.provider_id(DIGEST, cid) for cid in ids]
    assert len(set(mapped)) == len(ids)
    assert [af.our_id(DIGEST, t) for t in mapped] == ids


@pytest.mark.parametrize("cid", ["pr_1:0000:0", "pr-1:0000:0 ", "pr-1/x", "", "x" * 48])
def test_an_id_that_cannot_be_mapped_is_refused_before_sending(cid):
    with pytest.raises(InputError):
        af.provider_id(DIGEST, cid)


@pytest.mark.parametrize("theirs", [None, 7, "", "0123456789abcdef_", "0123456789abcdef_pr-1:0000:0",
                                    "0123456789abcdef pr-1_0000_0", "x" * 65, "0123456789ABCDEF_pr-1_0000_0"])
def test_anything_else_is_not_one_of_ours(theirs):
    assert af.our_id(DIGEST, theirs) in (None, "") or theirs == "0123456789abcdef_"


# --- results -----------------------------------------------------------------------------------------------

def _line(cid: str, result: dict) -> str:
    return json.dumps({"custom_id": af.provider_id(DIGEST, cid), "result": result})


def test_every_result_type_reaches_results_py_as_the_batch_apis_lines():
    text = "\n".join([
        _line("pr-1:0000:0", {"type": "succeeded", "message": claude_message(
            json.dumps({"findings": [{"path": "a.py", "line": 1, "start_line": None, "side": "new",
                                      "severity": "high", "category": "bug", "title": "T", "body": "B",
                                      "suggestion": None}]}), input_tokens=10, cache_read=90, cache_write=5)}),
        _line("pr-1:0001:0", {"type": "succeeded", "message": claude_message("{\"findings\": [", stop_reason="max_tokens")}),
        _line("pr-1:0002:0", {"type": "succeeded", "message": claude_message("no", stop_reason="refusal")}),
        _line("pr-1:0003:0", {"type": "errored", "error": {"type": "error", "error": {
            "type": "overloaded_error", "message": "Overloaded"}}}),
        _line("pr-1:0004:0", {"type": "expired"}),
        _line("pr-1:0005:0", {"type": "canceled"}),
        "not json at all",
    ])
    out, err = af.result_files(text, DIGEST, "msgbatch_1")
    ids = [f"pr-1:000{i}:0" for i in range(7)]
    parsed = parse_output_lines(out, err, ids)
    r = parsed.by_id
    assert r["pr-1:0000:0"].status == "ok" and r["pr-1:0000:0"].findings[0].title == "T"
    assert (r["pr-1:0000:0"].usage.input_tokens, r["pr-1:0000:0"].usage.cached_input_tokens) == (105, 90)
    assert r["pr-1:0001:0"].truncated and r["pr-1:0002:0"].refusal == "no"
    assert (r["pr-1:0003:0"].status, r["pr-1:0003:0"].error_code) == ("error", "overloaded_error")
    assert r["pr-1:0004:0"].error_code == "batch_expired" and r["pr-1:0005:0"].error_code == "batch_cancelled"
    assert parsed.missing == ["pr-1:0006:0"] and len(parsed.malformed_lines) == 1
    assert af.resubmittable("error", "overloaded_error", "completed")
    assert af.resubmittable("error", "batch_expired", "expired")
    assert not af.resubmittable("error", "invalid_request_error", "expired")
    assert not af.resubmittable("error", "batch_cancelled", "cancelled")
    assert af.resubmittable("missing", None, "expired") and not af.resubmittable("missing", None, "completed")


def test_results_of_another_manifest_are_refused_whole():
    text = json.dumps({"custom_id": af.provider_id("f" * 64, "pr-1:0000:0"), "result": {"type": "expired"}})
    with pytest.raises(ManifestError, match="none of its 1 result"):
        af.result_files(text, DIGEST, "msgbatch_1")


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=12))
def test_any_json_as_a_result_never_raises_and_never_becomes_ours(value):
    kind, line = af.result_line(json.dumps({"custom_id": value, "result": value}), DIGEST)
    assert kind in ("output", "error")
    cid = json.loads(line)["custom_id"]
    assert " " in cid  # renamed: never one of our ids


# --- the emulator refuses what the service refuses, through the real SDK ----------------------------------

@pytest.fixture
def sdk():
    with AnthropicEmulator("k") as emu:
        yield anthropic.Anthropic(api_key="k", base_url=emu.base_url, max_retries=0), emu


GOOD = {"custom_id": "a", "params": params()}


@pytest.mark.parametrize(("requests", "message"), [
    ([dict(GOOD, custom_id="pr-1:0000:0")], "does not match"),
    ([dict(GOOD, custom_id="x" * 65)], "does not match"),
    ([GOOD, GOOD], "used by another request"),
    ([], "between 1 and 100,000"),
    ([{"custom_id": "a", "params": {k: v for k, v in GOOD["params"].items() if k != "max_tokens"}}], "max_tokens"),
    ([{"custom_id": "a", "params": dict(GOOD["params"], response_format={})}], "Extra inputs"),
    ([{"custom_id": "a", "params": dict(GOOD["params"], max_tokens="4096")}], "max_tokens"),
    ([{"custom_id": "a", "params": dict(GOOD["params"], thinking={"type": "enabled", "budget_tokens": 4096})}],
     "budget_tokens"),
    ([dict(GOOD, extra=1)], "{custom_id, params}"),
])
def test_the_emulator_refuses_a_bad_create(sdk, requests, message):
    client, emu = sdk
    with pytest.raises(anthropic.BadRequestError, match="requests|" + message) as info:
        client.messages.batches.create(requests=requests)
    assert message in str(info.value) and emu.batches == {}


def test_the_emulator_refuses_too_many_requests_a_wrong_key_and_no_version(sdk):
    client, emu = sdk
    # 100,001 requests, sent as bytes through the SDK's own HTTP layer: the SDK's typed transform of that
    # many params costs half a minute and a gigabyte, and is not what the emulator is checked for here
    many = b'{"requests": [' + b",".join(b'{"custom_id": "r%d", "params": {}}' % i for i in range(100_001)) + b"]}"
    with pytest.raises(anthropic.BadRequestError, match="100,000"):
        client.post("/v1/messages/batches", cast_to=object, content=many,
                    options={"headers": {"Content-Type": "application/json"}})
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(api_key="nope", base_url=emu.base_url, max_retries=0).messages.batches.list()
    with pytest.raises(anthropic.BadRequestError, match="anthropic-version"):
        client.messages.batches.list(extra_headers={"anthropic-version": ""})
    batch = client.messages.batches.create(requests=[GOOD])
    with pytest.raises(anthropic.NotFoundError):  # no results before the batch ends
        client.get(f"/v1/messages/batches/{batch.id}/results", cast_to=object)
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve("msgbatch_unknown")


def test_the_emulators_objects_are_the_sdks_types(sdk):
    client, emu = sdk
    batch = client.messages.batches.create(requests=[GOOD, dict(GOOD, custom_id="b")])
    assert batch.processing_status == "in_progress" and batch.request_counts.processing == 2
    emu.advance(batch.id, "expired", finished=lambda cid: cid == "a")
    ended = client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.results_url
    assert (ended.request_counts.succeeded, ended.request_counts.expired) == (1, 1)
    results = {r.custom_id: r.result.type for r in client.messages.batches.results(batch.id)}
    assert results == {"a": "succeeded", "b": "expired"}
    assert [b.id for b in client.messages.batches.list(limit=1)] == [batch.id]
