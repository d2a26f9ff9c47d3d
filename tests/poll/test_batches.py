"""batches.py and resubmit.expired_requests: the pure parts of poll's batch stage."""

from __future__ import annotations

import datetime as dt
import types

from batch_review.findings.results import RequestResult, Usage
from batch_review.ledger.manifest import Manifest
from batch_review.poll import batches
from batch_review.poll.resubmit import expired_requests

NOW = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)


def manifest(version: int = 2) -> Manifest:
    def req(path: str, batch: int, model: str | None) -> dict:
        if version == 1:
            return {"target": "pr-1", "path": path, "old_path": None, "chunk": 0, "chunks": 1, "batch": batch,
                    **({"model": model} if model else {})}
        return {"target": "pr-1", "batch": batch, "model": model or "", "files": [{"path": path, "old_path": None,
                                                                                "part": 0, "parts": 1}]}

    def batch(index: int, requests: int) -> dict:
        return {"index": index, "requests": requests, "input_sha256": "c" * 64, "bytes": 10, "model": "gpt-5-mini",
                "endpoint": "/v1/chat/completions"}

    return Manifest.from_json({
        "repository": "acme/widgets", "endpoint": "/v1/chat/completions", "model": "gpt-5-mini", "provider": {},
        "created_at": "2026-11-24T02:00:00Z", "tool": "t", "version": version,
        "targets": {"pr-1": {"kind": "pull", "number": 1, "head_sha": "a" * 40}},
        "requests": {"pr-1:0000:0": req("a.py", 0, "gpt-5"), "pr-1:0001:0": req("b.py", 0, None),
                     "pr-1:0002:0": req("c.py", 1, None)},
        "files": {}, "batches": [batch(0, 2), batch(1, 1)],
    })


def state(status: str = "completed", **counts) -> types.SimpleNamespace:
    return types.SimpleNamespace(id=f"batch_{status}", status=status, request_counts=counts, created_at=1,
                                 expires_at=2, ended_at=3, errors=[])


def test_one_row_shape_for_poll_and_status():
    row = batches.batch_row("run-1", "#1", manifest().batches[0], state(completed="2", failed=0, total=2))
    assert (row.batch_id, row.status, row.completed, row.failed, row.total) == ("batch_completed", "completed", 2, 0, 2)
    assert (row.created_at, row.expires_at, row.ended_at) == (1, 2, 3)
    planned = batches.batch_row("run-1", "#1", manifest().batches[1], None)
    assert (planned.batch_id, planned.status, planned.total, planned.created_at) == ("-", "not created", 1, None)
    assert batches.labels(manifest()) == "#1"


def test_a_manifest_without_a_readable_date_counts_as_old():
    """A killed submit's manifest is resumed after RESUME_AFTER; a date nobody can read does not hold it
    back forever."""
    assert batches.older_than("2026-11-24T02:00:00Z", batches.RESUME_AFTER, NOW)
    assert not batches.older_than("2026-11-24T02:50:00Z", batches.RESUME_AFTER, NOW)
    assert batches.older_than("not a date", batches.RESUME_AFTER, NOW)


def test_only_unanswered_requests_of_an_expired_batch_are_resubmitted():
    m = manifest()
    states = [state("expired"), state("completed")]
    results = {"pr-1:0000:0": RequestResult("pr-1:0000:0", "ok"),  # answered before the batch expired
               "pr-1:0001:0": RequestResult.failure("pr-1:0001:0", "batch_expired", "expired"),
               "pr-1:0002:0": RequestResult.failure("pr-1:0002:0", None, "no line", status="missing")}
    assert expired_requests(m.requests, states, results) == {"pr-1:0001:0"}
    other_error = {"pr-1:0001:0": RequestResult.failure("pr-1:0001:0", "server_error", "500")}
    assert expired_requests(m.requests, states, other_error) == set()


def test_a_batch_that_failed_as_a_whole_fails_each_of_its_requests():
    failed = types.SimpleNamespace(id="batch_x", status="failed", errors=[{"code": "invalid_model", "message": "no"}])
    problems: list[str] = []
    results = batches.collect_results(None, manifest().requests, [failed, failed], problems)  # nothing downloaded
    assert {cid: (r.status, r.error_code) for cid, r in results.items()} == {
        cid: ("error", "invalid_model") for cid in ("pr-1:0000:0", "pr-1:0001:0", "pr-1:0002:0")}
    assert problems == ["batch batch_x failed: invalid_model: no"] * 2


def test_usage_is_added_per_model_for_both_manifest_versions():
    for version in (1, 2):
        records = manifest(version).requests
        results = {cid: RequestResult(cid, "ok", usage=Usage(10, 4, 3, 1)) for cid in records}
        results["pr-1:0002:0"] = RequestResult("pr-1:0002:0", "ok")  # no usage reported
        usage: dict[str, dict] = {}
        batches.add_usage(usage, records, results)
        batches.add_usage(usage, records, {"pr-1:0000:0": results["pr-1:0000:0"]})
        assert usage == {"gpt-5": {"requests": 2, "input_tokens": 20, "cached_input_tokens": 8, "output_tokens": 6,
                                   "reasoning_tokens": 2},
                         "gpt-5-mini": {"requests": 1, "input_tokens": 10, "cached_input_tokens": 4,
                                        "output_tokens": 3, "reasoning_tokens": 1}}, version
