"""prompts.py and batchfile.py: request bodies, the shared prefix, chunking, JSONL files and their limits."""

from __future__ import annotations

import hashlib
import json

import pytest

from batch_review.batchfile import BatchFileWriter, encode_line
from batch_review.diffs import parse_diff
from batch_review.prompts import (
    FINDINGS_SCHEMA,
    RequestBuilder,
    chunk_hunks,
    custom_id,
    estimate_tokens,
    render_hunk,
    shared_prefix,
)

DIFF = """\
diff --git a/app.py b/app.py
index 1111111..2222222 100644
--- a/app.py
+++ b/app.py
@@ -10,4 +10,5 @@ def handler(request):
     user = request.user
-    if user:
+    if user is not None:
+        audit(user)
         return ok()
     return denied()
"""


def builder(endpoint="/v1/chat/completions", max_input_tokens=16000, **kw):
    return RequestBuilder(model="gpt-5-mini", endpoint=endpoint, instructions="Find bugs.",
                          max_output_tokens=2048, max_input_tokens=max_input_tokens, **kw)


def test_render_hunk_numbers_both_sides():
    fd = parse_diff(DIFF)[0]
    lines, added, removed = render_hunk(fd.hunks[0])
    assert (added, removed) == (2, 1)
    assert lines[0] == "@@ -10,4 +10,5 @@ def handler(request):"
    assert lines[1] == "    10     10       user = request.user"
    assert lines[2] == "    11        -     if user:"
    assert lines[3] == "           11 +     if user is not None:"
    assert lines[5] == "    12     13           return ok()"


def test_chat_body_shape_and_identical_prefix():
    b = builder(reasoning_effort="low")
    fd = parse_diff(DIFF)[0]
    specs, reason = b.file_requests("pr-7", 3, fd, ["Check auth."])
    assert reason is None and len(specs) == 1
    spec = specs[0]
    assert spec.custom_id == "pr-7:0003:0" == custom_id("pr-7", 3, 0)
    body = spec.body
    assert body["model"] == "gpt-5-mini" and body["max_completion_tokens"] == 2048
    assert body["reasoning_effort"] == "low" and "temperature" not in body
    assert body["response_format"]["json_schema"]["schema"] == FINDINGS_SCHEMA
    assert body["response_format"]["json_schema"]["strict"] is True
    system, user = body["messages"]
    assert system["role"] == "system" and system["content"].startswith("Find bugs.")
    assert "File: app.py" in user["content"] and "- Check auth." in user["content"]
    other, _ = b.file_requests("pr-8", 0, parse_diff(DIFF.replace("app.py", "b.py"))[0])
    # the shared prefix (instructions + schema) is byte-identical across requests
    assert json.dumps(other[0].body["messages"][0]) == json.dumps(system)
    assert other[0].body["response_format"] == body["response_format"]
    assert other[0].body["prompt_cache_key"] == body["prompt_cache_key"]


def test_responses_body_shape():
    body = builder("/v1/responses", temperature=0.2).file_requests("pr-1", 0, parse_diff(DIFF)[0])[0][0].body
    assert body["instructions"].startswith("Find bugs.") and body["input"].startswith("File: app.py")
    assert body["text"]["format"]["type"] == "json_schema" and body["max_output_tokens"] == 2048
    assert body["temperature"] == 0.2 and body["store"] is False and "messages" not in body


def test_large_file_splits_between_hunks_and_never_loses_a_line():
    hunks = []
    for h in range(12):
        start = 1 + h * 100
        body = "".join(f"+added line {h}-{i} {'x' * 60}\n" for i in range(40))
        hunks.append(f"@@ -{start},0 +{start},40 @@\n{body}")
    diff = "diff --git a/big.py b/big.py\n--- a/big.py\n+++ b/big.py\n" + "".join(hunks)
    fd = parse_diff(diff)[0]
    b = builder(max_input_tokens=2500)
    specs, reason = b.file_requests("pr-2", 0, fd)
    assert reason is None and len(specs) > 1
    assert [s.chunk for s in specs] == list(range(len(specs))) and {s.chunks for s in specs} == {len(specs)}
    assert all(s.est_input_tokens <= 2500 for s in specs)
    users = [s.body["messages"][1]["content"] for s in specs]
    for h in range(12):  # every hunk header appears once, in one request: never split between requests
        assert sum(u.count(f"@@ -{1 + h * 100},0 ") for u in users) == 1
    assert sum(u.count("+ added line") for u in users) == 12 * 40
    assert "(part 1 of" in users[0]


def test_single_hunk_over_budget_is_split_inside_with_continuation():
    rendered = [["@@ -1,0 +1,300 @@"] + [f"      {i:>6} + {'y' * 80}" for i in range(300)]]
    chunks = chunk_hunks(rendered, 1000)
    assert len(chunks) > 1 and chunks[1][0].endswith("(continued)")
    assert sum(len(c) - 1 for c in chunks) == 300
    assert all(estimate_tokens("\n".join(c)) <= 1000 + 50 for c in chunks)


def test_file_too_large_and_budget_too_small():
    fd = parse_diff(DIFF)[0]
    assert builder().file_requests("pr-1", 0, fd, max_file_chars=50)[1].startswith("diff is ")
    tiny = builder(max_input_tokens=shared_prefix("Find bugs.").tokens + 10)
    assert tiny.file_requests("pr-1", 0, fd)[1].startswith("files.max_input_tokens leaves no room")


def test_estimate_is_conservative():
    assert estimate_tokens("") == 1
    assert estimate_tokens("x" * 3500) == 1001


def test_encode_line_is_compact_utf8_and_survives_lone_surrogates():
    line = encode_line("pr-1:0000:0", "/v1/chat/completions", {"model": "m", "messages": [{"content": "é"}]})
    assert line.endswith(b"\n") and "é".encode() in line
    assert json.loads(line) == {"custom_id": "pr-1:0000:0", "method": "POST", "url": "/v1/chat/completions",
                                "body": {"model": "m", "messages": [{"content": "é"}]}}
    odd = encode_line("x", "/v1/responses", {"input": "bad \udcff byte"})
    assert json.loads(odd)["body"]["input"] == "bad \ufffd byte"


def test_writer_splits_at_request_and_byte_limits(tmp_path):
    w = BatchFileWriter(tmp_path, max_requests=3, max_bytes=200)
    lines = [encode_line(f"id-{i}", "/v1/responses", {"input": "z" * 40}) for i in range(7)]
    parts = [w.add(f"id-{i}", "m", "/v1/responses", line) for i, line in enumerate(lines)]
    done = w.close()
    assert all(p.requests <= 3 and p.bytes <= 200 for p in done)
    assert sum(p.requests for p in done) == 7 and parts == sorted(parts)
    for p in done:
        data = p.path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == p.sha256 and len(data) == p.bytes
        assert [json.loads(x)["custom_id"] for x in data.splitlines()] == p.custom_ids


def test_writer_keeps_one_model_per_file_and_discard_removes_files(tmp_path):
    w = BatchFileWriter(tmp_path)
    assert w.add("a", "m1", "/v1/responses", b"{}\n") == 0
    assert w.add("b", "m2", "/v1/responses", b"{}\n") == 1
    assert w.add("c", "m1", "/v1/responses", b"{}\n") == 0
    w.discard()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="over the batch file limit"):
        BatchFileWriter(tmp_path, max_bytes=10).add("big", "m", "/v1/responses", b"x" * 11)
