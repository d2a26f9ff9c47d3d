"""verify_round.py: the verify round as a manifest records it; read back field by field, one line when
damaged; `started_at` outside the digest."""

from __future__ import annotations

import copy

import pytest

from batch_review.core.errors import ManifestError
from batch_review.ledger.manifest import Manifest

FINDING = {"path": "x.py", "line": 3, "start_line": None, "side": "RIGHT", "severity": "high", "category": "bug",
           "title": "Boom", "body": "It breaks.", "suggestion": None}


def document() -> dict:
    first = {"target": "pr-1", "batch": 0, "files": [{"path": "x.py", "old_path": None, "part": 0, "parts": 1}]}
    return {
        "version": 2, "repository": "acme/widgets", "endpoint": "/v1/chat/completions", "model": "gpt-5-mini",
        "provider": {"name": "openai"}, "created_at": "2026-11-24T02:00:00Z", "tool": "batch-review test",
        "targets": {"pr-1": {"kind": "pull", "number": 1, "head_sha": "a" * 40, "base_sha": "b" * 40,
                             "base_ref": "main", "head_ref": "f"}},
        "requests": {"pr-1:verify": first},
        "files": {"pr-1": {"x.py": {"RIGHT": [[1, 5]], "LEFT": []}}},
        "batches": [{"index": 0, "input_sha256": "c" * 64, "requests": 1, "bytes": 10, "model": "gpt-5-mini",
                     "endpoint": "/v1/chat/completions"}],
        "verify": {"of": "d" * 64, "deadline_hours": 12.0, "started_at": "2026-11-25T02:00:00Z",
                   "first": {"pr-1:0000:0": copy.deepcopy(first)},
                   "results": {"pr-1:0000:0": {"status": "ok", "findings": [FINDING], "summary": "s"}},
                   "candidates": {"pr-1:verify": [["c1", "pr-1:0000:0", 0]]}},
    }


def test_round_trip_and_the_digest_leaves_started_at_out(tmp_path):
    m = Manifest.from_json(document())
    (ref,) = m.verify.candidates["pr-1:verify"]
    assert m.verify.finding(ref).title == "Boom" and m.verify.finding(ref).custom_id == "pr-1:0000:0"
    again = Manifest.load(m.save(tmp_path))
    assert again.to_json() == m.to_json() and again.digest() == m.digest()
    later = document()
    later["verify"]["started_at"] = "2027-01-01T00:00:00Z"
    assert Manifest.from_json(later).digest() == m.digest()
    other = document()
    other["verify"]["deadline_hours"] = 1.0
    assert Manifest.from_json(other).digest() != m.digest()
    plain = document()
    del plain["verify"]
    assert "verify" not in Manifest.from_json(plain).to_json()


@pytest.mark.parametrize(("path", "value", "message"), [
    (("of",), "nope", "verify.of: 'nope' is not a sha256 digest"),
    (("deadline_hours",), True, "verify.deadline_hours: must be a number of hours above 0"),
    (("results", "pr-1:0000:0", "status"), "fine", "is not one of ok, unparsable, error, missing"),
    (("results", "pr-1:0000:0", "findings"), [dict(FINDING, side="UP")], "has an unknown side or severity"),
    (("results", "pr-1:0000:0", "findings"), [dict(FINDING, body="x" * 30_000)], "is over 20,000 characters"),
    (("results", "pr-1:0000:0", "findings"), [dict(FINDING, line="3")], "must be a whole number"),
    (("candidates", "pr-1:verify"), [["c1", "pr-1:0000:0", 5]], "[2]: 5 is out of range"),
    (("candidates", "pr-1:verify"), [["c1", "elsewhere", 0]], "names a request without a recorded result"),
    (("candidates", "pr-9:verify"), [], "names no verify request of this manifest"),
    (("first", "pr-1:0000:0", "target"), "pr-9", "names no target of this manifest"),
    (("results", "pr-9:0000:0"), {"status": "ok"}, "holds a result of a request the round does not record"),
])
def test_a_damaged_round_is_one_line_naming_its_field(path, value, message):
    data = copy.deepcopy(document())
    at = data["verify"]
    for key in path[:-1]:
        at = at[key]
    at[path[-1]] = value
    with pytest.raises(ManifestError) as exc:
        Manifest.from_json(data, source="m.json")
    assert message in str(exc.value) and "\n" not in str(exc.value) and str(exc.value).startswith("m.json: ")
