"""ledger/queue.py: what the provider's queue refused, what each part holds, and what fits now (pure)."""

from __future__ import annotations

import types

import pytest

from batch_review.ledger.manifest import BatchRecord, Manifest, RequestRecord
from batch_review.ledger.queue import Queue, part_tokens, queue_refused, waiting_targets


def state(status: str, errors) -> types.SimpleNamespace:
    return types.SimpleNamespace(id="b", status=status, errors=errors)


@pytest.mark.parametrize(("status", "errors", "refused"), [
    ("failed", [{"code": "token_limit_exceeded", "message": "Enqueued token limit reached"}], True),
    ("failed", [{"code": "invalid_request"}, {"code": "token_limit_exceeded"}], True),
    ("failed", [{"code": "duplicate_custom_id", "line": 2}], False),  # a broken input is a real failure
    ("failed", [], False),
    ("completed", [{"code": "token_limit_exceeded"}], False),  # only a failed batch was refused
    ("failed", "token_limit_exceeded", False),  # hostile shapes: not a list of objects
    ("failed", [["token_limit_exceeded"]], False),
    ("failed", None, False),
    ("failed", [{"code": ["token_limit_exceeded"]}], False),
])
def test_only_a_batch_failed_for_the_queue_counts_as_refused(status, errors, refused):
    assert queue_refused(state(status, errors)) is refused


def manifest(tokens_by_part: list[list[int]], models: list[str] | None = None) -> Manifest:
    m = Manifest(repository="acme/widgets", endpoint="/v1/chat/completions", model="m", provider={"name": "openai"},
                 created_at="2026-12-07T00:00:00Z", tool="batch-review 0")
    models = models or ["m"] * len(tokens_by_part)
    m.batches = [BatchRecord(i, f"input-{i:03d}.jsonl", "0" * 64, len(t), 10, models[i], m.endpoint)
                 for i, t in enumerate(tokens_by_part)]
    n = 0
    for part, tokens in enumerate(tokens_by_part):
        for t in tokens:
            n += 1
            m.requests[f"r{n}"] = RequestRecord(f"r{n}", f"pr-{n}", (), part, models[part], t, 100)
    return m


def test_part_tokens_and_the_targets_of_waiting_parts():
    m = manifest([[100, 200], [50], [0]])
    assert part_tokens(m) == {0: 300, 1: 50, 2: 0}
    assert waiting_targets(m, [1, 2]) == {"pr-3", "pr-4"}


def test_a_part_fits_beside_what_is_held_per_model_and_always_into_an_empty_queue():
    m = manifest([[600], [500], [2000], [300]], models=["m", "m", "n", "m"])
    queue = Queue(1000)
    admits = queue.admits(m)
    assert admits(0) and not admits(1), "600 + 500 is over 1,000"
    assert admits(2), "another model has its own queue, and an empty queue takes even a part over the limit"
    assert admits(3) and queue.held == {"m": 900, "n": 2000}


def test_batches_in_progress_hold_their_tokens_and_no_limit_admits_everything():
    m = manifest([[700], [400], [100]])
    queue = Queue(1000)
    queue.holding(m, [state("in_progress", []), state("completed", []), None])
    assert queue.held == {"m": 700}
    assert not queue.admits(m)(1) and queue.admits(m)(2)
    free = Queue(None)
    free.holding(m, [state("validating", []), state("finalizing", []), None])
    assert all(free.admits(m)(i) for i in range(3)) and free.held == {"m": 1100 + 1200}
