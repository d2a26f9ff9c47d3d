"""bench/bench_requests.py reads archives from the package index and request files: its pure parts.

The benchmark extracts source distributions it did not write into a git repository and then runs git
there, so an archive that tries to leave the repository or to plant git configuration must get nowhere.
"""

from __future__ import annotations

import importlib.util
import io
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_requests.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_requests", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def _tar(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            t.addfile(info)
    return path


def test_hostile_sdist_stays_inside_the_repository_and_out_of_git(bench, tmp_path):
    archive = _tar(tmp_path / "pkg-1.0.tar.gz", {
        "pkg-1.0/src/pkg/__init__.py": b"x = 1\n",
        "pkg-1.0/../../escape.py": b"evil\n",
        "/abs/pkg-1.0/../outside.py": b"evil\n",
        "pkg-1.0/.git/config": b"[core]\n\tfsmonitor = touch /tmp/pwned\n",
        "pkg-1.0/sub/.GIT/hooks/post-checkout": b"#!/bin/sh\n",
        "pkg-1.0/PKG-INFO": b"Metadata-Version: 2.1\n",
        "pkg-1.0/src/pkg.egg-info/SOURCES.txt": b"generated\n",
    }, links={"pkg-1.0/link.py": "/etc/passwd"})
    assert bench._members(archive) == [("src/pkg/__init__.py", b"x = 1\n")]


def test_hostile_zip_sdist_is_filtered_alike(bench, tmp_path):
    archive = tmp_path / "pkg-1.0.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("pkg-1.0/ok.py", b"ok\n")
        z.writestr("pkg-1.0\\..\\..\\escape.py", b"evil\n")
        z.writestr("pkg-1.0/.git/HEAD", b"ref: refs/heads/evil\n")
    assert bench._members(archive) == [("ok.py", b"ok\n")]


@pytest.mark.parametrize(("name", "package", "version", "expected"), [
    ("flask-3.1.0.tar.gz", "flask", "3.1.0", True),
    ("Flask-3.1.0.tar.gz", "flask", "3.1.0", True),
    ("zope_interface-7.0.zip", "zope.interface", "7.0", True),
    ("flask-3.1.0.tar.gz", "flask", "3.1", False),
    ("flask-3.1.0-py3-none-any.whl", "flask", "3.1.0", False),
    ("flask-3.1.0", "flask", "3.1.0", False),
])
def test_only_the_asked_sdist_is_taken_from_the_cache(bench, name, package, version, expected):
    assert bench._sdist_of(name, package, version) is expected


def test_tokens_are_counted_over_everything_the_model_reads(bench):
    class Chars:  # one "token" per character: the accounting, not the tokenizer, is under test
        def encode(self, text, disallowed_special=()):
            return list(text)

    count = bench.Counter(Chars())
    schema = {"type": "object"}
    chat = {"model": "m", "messages": [{"role": "system", "content": "abc"}, {"role": "user", "content": "de"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": schema}}}
    responses = {"model": "m", "instructions": "abc", "input": "de",
                 "text": {"format": {"type": "json_schema", "name": "n", "schema": schema}}}
    expected = 3 + 2 + len('{"type": "object"}') + 3 * 2 + 3
    assert count.body(chat) == count.body(responses) == expected
    assert bench.user_texts(chat) == bench.user_texts(responses) == ["de"]


def test_reviewed_files_are_read_from_a_version_1_manifest(bench):
    manifest = {"files": {"branches:a...b": {"src/x.py": {}, "src/y.py": {}}}, "requests": {}}
    assert bench.reviewed_paths(manifest) == {"src/x.py", "src/y.py"}
