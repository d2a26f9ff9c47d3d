"""planning/openai_format.py: the Chat Completions and Responses bodies, the shared prefix identical in every
request, reasoning effort only for reasoning models."""

from __future__ import annotations

import json

from batch_review.core.diffs import parse_diff
from batch_review.planning.builder import RequestBuilder
from batch_review.planning.contract import FINDINGS_SCHEMA, output_cap
from batch_review.planning.packing import custom_id

from .requests_fixture import DIFF, builder, file_requests


def test_chat_body_shape_and_identical_prefix():
    b = builder(reasoning_effort="low")
    fd = parse_diff(DIFF)[0]
    specs, reason = file_requests(b, "pr-7", 3, fd, ["Check auth."])
    assert reason is None and len(specs) == 1
    spec = specs[0]
    assert spec.custom_id == "pr-7:0003:0" == custom_id("pr-7", 3, 0)
    body = spec.body
    assert body["model"] == "gpt-5-mini" and body["max_completion_tokens"] == spec.max_output_tokens
    assert body["reasoning_effort"] == "low" and "temperature" not in body
    assert body["response_format"]["json_schema"]["schema"] == FINDINGS_SCHEMA
    assert body["response_format"]["json_schema"]["strict"] is True
    system, user = body["messages"]
    assert system["role"] == "system" and system["content"].startswith("Find bugs.")
    assert user["content"].startswith("=== app.py\ninstructions for this file: Check auth.\n@@ def handler")
    assert "instructions for this file: Check auth." in user["content"]
    other, _ = file_requests(b, "pr-8", 0, parse_diff(DIFF.replace("app.py", "b.py"))[0])
    # the shared prefix (instructions + schema) is byte-identical across requests
    assert json.dumps(other[0].body["messages"][0]) == json.dumps(system)
    assert other[0].body["response_format"] == body["response_format"]
    assert other[0].body["prompt_cache_key"] == body["prompt_cache_key"]


def test_responses_body_shape():
    spec = file_requests(builder("/v1/responses", temperature=0.2), "pr-1", 0, parse_diff(DIFF)[0])[0][0]
    body = spec.body
    assert body["instructions"].startswith("Find bugs.") and body["input"].startswith("=== app.py")
    assert body["text"]["format"]["type"] == "json_schema"
    assert body["max_output_tokens"] == spec.max_output_tokens == output_cap(spec.est_input_tokens, 2048)
    assert body["temperature"] == 0.2 and body["store"] is False and "messages" not in body


def test_reasoning_effort_goes_only_to_reasoning_models():
    fd = parse_diff(DIFF)[0]
    for model, sent in (("gpt-5-mini", True), ("o4-mini", True), ("ft:gpt-5-nano:acme::x", True),
                        ("gpt-4.1", False), ("gpt-4o-mini", False)):
        b = RequestBuilder(model=model, endpoint="/v1/chat/completions", instructions="x", max_output_tokens=4096,
                           max_input_tokens=16000, reasoning_effort="low")
        body = file_requests(b, "pr-1", 0, fd)[0][0].body
        assert ("reasoning_effort" in body) is sent, model
        rb = RequestBuilder(model=model, endpoint="/v1/responses", instructions="x", max_output_tokens=4096,
                            max_input_tokens=16000, reasoning_effort="low")
        assert ("reasoning" in file_requests(rb, "pr-1", 0, fd)[0][0].body) is sent, model
