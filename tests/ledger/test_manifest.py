"""manifest.py and markers.py: the record of what was sent, its digest, and the hidden markers."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from batch_review.core.errors import ManifestError
from batch_review.core.markers import Marker, from_external_id
from batch_review.core.vocabulary import FilePart
from batch_review.ledger.manifest import Manifest

from ..markdown_view import find_markers


def sample() -> Manifest:
    return Manifest.from_json({
        "version": 2, "repository": "acme/widgets", "endpoint": "/v1/chat/completions", "model": "gpt-5-mini",
        "provider": {"name": "openai", "base_url": "https://api.openai.com/v1"}, "created_at": "2026-11-24T02:00:00Z",
        "tool": "batch-review test",
        "targets": {"pr-1": {"kind": "pull", "number": 1, "head_sha": "a" * 40, "base_sha": "b" * 40,
                             "base_ref": "main", "head_ref": "f"}},
        "requests": {"pr-1:0000:0": {"target": "pr-1", "batch": 0,
                                     "files": [{"path": "x.py", "old_path": None, "part": 0, "parts": 1}]}},
        "files": {"pr-1": {"x.py": {"RIGHT": [[1, 5]], "LEFT": []}}},
        "batches": [{"index": 0, "input_sha256": "c" * 64, "requests": 1, "bytes": 10, "model": "gpt-5-mini",
                     "endpoint": "/v1/chat/completions"}],
    })


def test_round_trip_and_digest_ignores_batch_ids(tmp_path):
    m = sample()
    before = m.digest()
    m.record(0, id="batch_1", input_file_id="file-1")
    assert m.digest() == before
    path = m.save(tmp_path)
    loaded = Manifest.load(path)
    assert loaded.to_json() == m.to_json() and loaded.digest() == before
    assert loaded.batches[0].id == "batch_1" and loaded.batches[0].input_file_id == "file-1"
    m.requests["pr-1:0000:0"] = replace(m.requests["pr-1:0000:0"], files=(FilePart("y.py"),))
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
        ({**sample().to_json(), "requests": {"x": {"target": "nope"}}}, "requests.x: names no known target"),
        ({**sample().to_json(), "batches": {}}, "batches: must be a list, not an object"),
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
    text = json.dumps(sample().to_json()).replace("_tokens\"", "\"")  # est_input_tokens: a count, not a secret
    for word in ("token", "api_key", "authorization", "secret"):
        assert word not in text.lower()


def test_markers_round_trip():
    m = Marker("pr-12", "a" * 40, "d" * 64, 2)
    assert find_markers(f"{m.html()}\nbye") == [Marker("pr-12", "a" * 40, "d" * 16, 2)]
    assert find_markers(m.html())[0].same_posting(m)
    assert from_external_id(m.external_id()).same_posting(m)
    assert from_external_id("something-else") is None


def _pinned_document(version: int) -> dict:
    """A manifest as submit writes it: version 1 (the previous release) or 2 (one request, several files)."""
    target = {"kind": "pull", "number": 1, "head_sha": "a" * 40, "base_sha": "b" * 40, "base_ref": "main",
              "head_ref": "f", "title": "T", "author": "octocat", "since": ""}
    if version == 1:
        requests = {"pr-1:0000:0": {"target": "pr-1", "path": "x.py", "old_path": None, "chunk": 0, "chunks": 1,
                                    "batch": 0, "model": "gpt-5-mini", "est_input_tokens": 1234}}
        files = {"pr-1": {"x.py": {"RIGHT": [[1, 5]], "LEFT": []}}}
    else:
        target["body"] = "Fixes x."
        requests = {"pr-1:0000:0": {"target": "pr-1", "files": [
            {"path": "x.py", "old_path": None, "part": 0, "parts": 1},
            {"path": "y/z.py", "old_path": "y/w.py", "part": 0, "parts": 1}],
            "batch": 0, "model": "gpt-5-mini", "est_input_tokens": 1234, "max_output_tokens": 1641}}
        files = {"pr-1": {"x.py": {"RIGHT": [[1, 5]], "LEFT": []}, "y/z.py": {"RIGHT": [[2, 3]], "LEFT": [[2, 2]]}}}
    return {
        "version": version, "tool": "batch-review 0.1.0", "created_at": "2026-11-24T02:00:00Z",
        "repository": "acme/widgets", "provider": {"name": "openai", "base_url": "https://api.openai.com/v1"},
        "endpoint": "/v1/chat/completions", "model": "gpt-5-mini", "attempt": 0, "parent": None,
        "dry_run": False, "targets": {"pr-1": target}, "requests": requests, "files": files,
        "skipped": {},
        "estimate": {}, "batches": [{"index": 0, "file": "input-000.jsonl", "input_sha256": "c" * 64, "requests": 1,
                                     "bytes": 10, "model": "gpt-5-mini", "endpoint": "/v1/chat/completions",
                                     "id": "batch_1"}]}


def _pinned(version: int) -> Manifest:
    return Manifest.from_json(_pinned_document(version))


def test_the_digest_is_pinned_for_both_versions(tmp_path):
    """The digest is in the metadata of batches already running: the algorithm may never drift. The
    version 1 figure is what the previous release (eac1c4f) computes for the same document."""
    v1, v2 = _pinned(1), _pinned(2)
    assert v1.digest() == "0d3f4bf3aacf360341bb5d2eba836eb02955e3ecd9ef81003b6845fd6d7c7911"
    assert v2.digest() == "9e37e95f06cc2e07a232a77a154f315e26bebeea6dc334a7809e6896a71285c9"
    for m in (v1, v2):  # read back from disk: same document, same digest, same version in the metadata
        loaded = Manifest.load(m.save(tmp_path / str(m.version)))
        assert loaded.digest() == m.digest() and loaded.batch_metadata(0)["batch_review"] == str(m.version)


def test_typed_request_records_read_both_versions():
    (r1,) = _pinned(1).requests.values()
    assert r1.paths == ("x.py",) and (r1.batch, r1.model, r1.est_input_tokens) == (0, "gpt-5-mini", 1234)
    (r2,) = _pinned(2).requests.values()
    assert r2.paths == ("x.py", "y/z.py") and r2.files[1].old_path == "y/w.py" and r2.max_output_tokens == 1641


@pytest.mark.parametrize("version", [1, 2])
def test_each_version_is_written_back_exactly_as_its_release_wrote_it(version, tmp_path):
    """The typed records give back the very document they were read from (a version 1 request keeps its
    one-file form, its target no description), with every record filled: a file's line crcs, the files
    not reviewed, a recorded upload, the manifest's copy, a parent. Saving it (as poll does after resuming
    a batch) keeps its digest."""
    doc = _pinned_document(version)
    doc["files"]["pr-1"]["x.py"]["crc"] = [[1, [7, 8, 9, 10, 11]]]
    doc["skipped"] = {"pr-1": [{"path": "poetry.lock", "reason": "excluded by default: lock file"}]}
    doc["batches"][0].update(input_file_id="file-1", manifest_file="file-copy")
    doc.update(parent="d" * 64, attempt=1, estimate={"input_tokens": 1234, "batch_usd": None})
    m = Manifest.from_json(json.loads(json.dumps(doc)))
    assert m.to_json() == doc
    assert Manifest.load(m.save(tmp_path)).to_json() == doc
    assert m.files["pr-1"]["x.py"].crc == [[1, [7, 8, 9, 10, 11]]]
    assert m.skipped["pr-1"][0].reason == "excluded by default: lock file"
    assert (m.batches[0].input_file_id, m.batches[0].manifest_file, m.batches[0].id) == ("file-1", "file-copy", "batch_1")
    assert m.target("pr-1").body == ("" if version == 1 else "Fixes x.")


def test_a_version_1_request_that_shows_several_files_is_refused():
    """Version 1 holds one file per request; a document that says otherwise was written by no release."""
    doc = _pinned_document(1)
    doc["requests"]["pr-1:0000:0"] = _pinned_document(2)["requests"]["pr-1:0000:0"]
    with pytest.raises(ManifestError, match=r"m\.json: request 'pr-1:0000:0' shows 2 files; a version 1"):
        Manifest.from_json(doc, source="m.json")


@pytest.mark.parametrize("record", [
    {"target": "pr-1", "files": "x.py", "batch": 0},
    {"target": "pr-1", "files": [{"old_path": None}], "batch": 0},
    {"target": "pr-1", "files": [{"path": "x.py"}], "batch": "first"},
    {"target": "pr-1", "batch": 0},
    {"target": "pr-1", "files": [], "batch": 0},
])
def test_a_forged_request_record_is_refused_with_its_id(record):
    data = _pinned(2).to_json()
    data["requests"] = {"pr-1:0000:0": record}
    with pytest.raises(ManifestError, match=r"m\.json: requests?\W+pr-1:0000:0"):
        Manifest.from_json(data, source="m.json")


def test_a_forged_copy_or_an_empty_id_in_a_batch_is_not_believed():
    """Whoever edits a stored manifest may write anything into a batch's `manifest_file` (the checks do
    not read it) or an empty `id`: an empty id is no batch, a copy that is not a string is none, and only
    a plain file id is ever named in a batch's metadata."""
    from batch_review.ledger.adoption import batch_metadata

    doc = _pinned_document(2)
    doc["batches"][0].update(id="", manifest_file={"id": "file-x"})
    m = Manifest.from_json(doc)
    assert (m.batches[0].id, m.batches[0].manifest_file) == (None, None)
    assert "manifest_file" not in batch_metadata(m, 0)
    doc["batches"][0]["manifest_file"] = "../file-x"
    assert "manifest_file" not in batch_metadata(Manifest.from_json(doc), 0)
    doc["batches"][0]["manifest_file"] = "file-copy"
    assert batch_metadata(Manifest.from_json(doc), 0)["manifest_file"] == "file-copy"
