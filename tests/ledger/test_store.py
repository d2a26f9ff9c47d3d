"""store.py: the local store, batch file names and artifact unzipping, without any service."""

from __future__ import annotations

import io
import zipfile

import pytest

from batch_review.core.errors import ManifestError
from batch_review.ledger import store as store_module
from batch_review.ledger.manifest import FILENAME, Manifest
from batch_review.ledger.store import LocalStore, extract_manifests, input_path

HEAD = "a" * 40


def sample(**changes) -> Manifest:
    fields = dict(
        version=2, repository="acme/widgets", endpoint="/v1/chat/completions", model="gpt-5-mini",
        provider={"name": "openai"}, created_at="2026-11-24T02:00:00Z", tool="batch-review test",
        targets={"pr-1": {"kind": "pull", "number": 1, "head_sha": HEAD, "base_sha": "b" * 40,
                          "base_ref": "main", "head_ref": "f"}},
        requests={"pr-1:0000:0": {"target": "pr-1", "batch": 0, "model": "gpt-5-mini",
                                  "files": [{"path": "x.py", "old_path": None, "part": 0, "parts": 1}]}},
        files={"pr-1": {"x.py": {"RIGHT": [[1, 5]], "LEFT": []}}},
        batches=[{"index": 0, "file": "input-000.jsonl", "input_sha256": "c" * 64, "requests": 1, "bytes": 10,
                  "model": "gpt-5-mini", "endpoint": "/v1/chat/completions"}])
    return Manifest.from_json({**fields, **changes})


def test_the_local_store_lists_each_manifest_with_its_own_fate(tmp_path):
    sample().save(tmp_path / "run-1")
    sample(dry_run=True).save(tmp_path / "run-2")  # a dry run is never posted
    sample().save(tmp_path / "done" / "run-0")  # retired
    (tmp_path / "run-3").mkdir()
    (tmp_path / "run-3" / FILENAME).write_text('{"version": 2, "targets": {"pr-9": {"head_sha": "' + HEAD + '"}}')
    listing = LocalStore(tmp_path).list()
    assert [p.name for p in listing.pending] == ["run-1"]
    assert listing.pending[0].manifest.target("pr-1").head_sha == HEAD
    (damaged,) = listing.damaged
    assert damaged.name == "run-3" and "run-3" in damaged.message and listing.problems == [damaged.message]
    assert listing.failures == [] and listing.bugs == []


def test_a_symlinked_manifest_is_not_read(tmp_path):
    """A manifest.json that is a link could make poll read (and post from) any file of the runner."""
    sample().save(tmp_path / "elsewhere")
    (tmp_path / "runs" / "run-1").mkdir(parents=True)
    (tmp_path / "runs" / "run-1" / FILENAME).symlink_to(tmp_path / "elsewhere" / FILENAME)
    listing = LocalStore(tmp_path / "runs").list()
    assert listing.pending == [] and "not a regular file" in listing.problems[0]


def test_retiring_moves_the_manifest_to_done_once(tmp_path):
    sample().save(tmp_path / "run-1")
    sample().save(tmp_path / "done" / "run-1")  # an earlier retirement of the same name
    store = LocalStore(tmp_path)
    (pending,) = store.list().pending
    store.retire(pending)
    store.retire(pending)  # another poll retired it meanwhile: nothing to do
    assert store.list().pending == [] and (tmp_path / "done" / "run-1" / FILENAME).is_file()
    assert not (tmp_path / "run-1").exists()


@pytest.mark.parametrize("name", ["../input-000.jsonl", "/etc/passwd", "sub/input-000.jsonl", "..\\x.jsonl",
                                  "", ".", ".."])
def test_a_batch_file_name_that_leaves_the_folder_is_refused(tmp_path, name):
    with pytest.raises(ManifestError, match="not a plain name"):
        input_path(tmp_path, name, missing_ok=True)


def test_batch_files_must_be_regular_files_of_the_folder(tmp_path):
    (tmp_path / "secret").write_text("runner file")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "input-000.jsonl").symlink_to(tmp_path / "secret")
    with pytest.raises(ManifestError, match="leaves the manifest's folder"):
        input_path(tmp_path / "run", "input-000.jsonl")
    with pytest.raises(ManifestError, match="is missing"):
        input_path(tmp_path / "run", "input-001.jsonl")
    assert input_path(tmp_path / "run", "input-001.jsonl", missing_ok=True) == tmp_path / "run" / "input-001.jsonl"


def zipped(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("name", ["../evil/manifest.json", "/abs/manifest.json", "C:/x/manifest.json",
                                  "a/../../manifest.json"])
def test_an_artifact_that_would_write_outside_its_folder_is_refused(tmp_path, name):
    """Anyone who can upload an artifact chooses its entry names: nothing is written anywhere."""
    with pytest.raises(ValueError, match="unsafe path"):
        extract_manifests(zipped({"run/manifest.json": b"{}", name: b"{}"}), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_an_artifact_that_unzips_too_large_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "MAX_UNZIPPED_BYTES", 1000)
    with pytest.raises(ValueError, match="more than"):
        extract_manifests(zipped({"a/manifest.json": b"x" * 600, "b/manifest.json": b"x" * 600}), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_an_artifact_gives_the_folders_that_hold_a_manifest(tmp_path):
    folders = extract_manifests(zipped({"b/manifest.json": b"{}", "a/manifest.json": b"{}",
                                        "a/input-000.jsonl": b"", "c/notes.txt": b""}), tmp_path)
    assert folders == [tmp_path / "a", tmp_path / "b"]
