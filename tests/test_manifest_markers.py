"""manifest.py and markers.py: the record of what was sent, its digest, and the hidden markers."""

from __future__ import annotations

import json

import pytest

from batch_review.manifest import Manifest, ManifestError
from batch_review.markers import Marker, find_markers, from_external_id


def sample() -> Manifest:
    return Manifest(
        repository="acme/widgets", endpoint="/v1/chat/completions", model="gpt-5-mini",
        provider={"name": "openai", "base_url": "https://api.openai.com/v1"}, created_at="2026-11-24T02:00:00Z",
        tool="batch-review test",
        targets={"pr-1": {"kind": "pull", "number": 1, "head_sha": "a" * 40, "base_sha": "b" * 40,
                          "base_ref": "main", "head_ref": "f"}},
        requests={"pr-1:0000:0": {"target": "pr-1", "path": "x.py", "old_path": None, "chunk": 0, "chunks": 1,
                                  "batch": 0}},
        files={"pr-1": {"x.py": {"RIGHT": [[1, 5]], "LEFT": []}}},
        batches=[{"index": 0, "input_sha256": "c" * 64, "requests": 1, "bytes": 10, "model": "gpt-5-mini",
                  "endpoint": "/v1/chat/completions"}],
    )


def test_round_trip_and_digest_ignores_batch_ids(tmp_path):
    m = sample()
    before = m.digest()
    m.batches[0]["id"] = "batch_1"
    m.batches[0]["input_file_id"] = "file-1"
    assert m.digest() == before
    path = m.save(tmp_path)
    loaded = Manifest.load(path)
    assert loaded.to_json() == m.to_json() and loaded.digest() == before
    m.requests["pr-1:0000:0"]["path"] = "y.py"
    assert m.digest() != before
    assert m.commentable("pr-1")["x.py"].right == ((1, 5),)


def test_metadata_fits_the_api_limits():
    meta = sample().batch_metadata(0)
    assert len(meta) <= 16 and all(len(k) <= 64 and len(v) <= 512 for k, v in meta.items())
    assert meta["manifest_digest"] == sample().digest() and meta["part"] == "1/1"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "not a JSON object"),
        ({"version": 1}, "missing repository"),
        ({**sample().to_json(), "version": 9}, "version 9 is not supported"),
        ({**sample().to_json(), "requests": {"x": {"target": "nope"}}}, "request 'x' names no known target"),
        ({**sample().to_json(), "batches": {}}, "batches must be a list"),
    ],
)
def test_bad_manifests_are_refused(data, message):
    with pytest.raises(ManifestError, match=message):
        Manifest.from_json(data)


def test_unreadable_file(tmp_path):
    (tmp_path / "manifest.json").write_text("{nope")
    with pytest.raises(ManifestError, match="cannot read"):
        Manifest.load(tmp_path / "manifest.json")


def test_no_secret_fields():
    text = json.dumps(sample().to_json())
    for word in ("token", "api_key", "authorization", "secret"):
        assert word not in text.lower()


def test_markers_round_trip():
    m = Marker("pr-12", "a" * 40, "d" * 64, 2)
    assert find_markers(f"{m.html()}\nbye") == [Marker("pr-12", "a" * 40, "d" * 16, 2)]
    assert find_markers(m.html())[0].same_posting(m)
    assert from_external_id(m.external_id()).same_posting(m)
    assert from_external_id("something-else") is None
