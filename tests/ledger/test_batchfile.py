"""ledger/batchfile.py: JSONL lines, compact and safe, and files split under the request and byte limits, one
model per file."""

from __future__ import annotations

import hashlib
import json

import pytest

from batch_review.ledger.batchfile import BatchFileWriter, encode_line


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


def test_writer_splits_at_the_token_limit_of_the_providers_queue(tmp_path):
    """budget.max_enqueued_tokens: each part holds at most that many estimated input tokens; a request
    over it alone is a part of its own (the queue takes it when empty)."""
    w = BatchFileWriter(tmp_path, max_tokens=1000)
    tokens = [400, 500, 200, 900, 1500, 10]
    parts = [w.add(f"id-{i}", "m", "/v1/responses", b"{}\n", t) for i, t in enumerate(tokens)]
    done = w.close()
    assert parts == [0, 0, 1, 2, 3, 4]
    assert [p.tokens for p in done] == [900, 200, 900, 1500, 10]
    unlimited = BatchFileWriter(tmp_path / "all")
    assert {unlimited.add(f"id-{i}", "m", "/v1/responses", b"{}\n", t) for i, t in enumerate(tokens)} == {0}
