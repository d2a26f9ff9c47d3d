"""Objects on the batch service that a key holder forged or that arrived damaged, played through the CLI
against the emulators: none of them stops a poll or a submit of this repository."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from batch_review.core.errors import ManifestError
from batch_review.ledger.adoption import rebuild

from ..conftest import finding

HOUR = 3600


@pytest.fixture(autouse=True)
def _signing_key(signed):
    """The copies here are of our own (signed) batches: adopting them needs the signing key."""


@pytest.mark.parametrize("number", ["1e400", "-1e400", "Infinity"])
def test_a_copy_with_a_number_too_large_for_an_int_stops_no_poll_and_no_submit(world, capsys, number):
    """`attempt: 1e400` is valid JSON (a float, infinite); int() of it raised OverflowError, which no
    caller caught: every poll and every nightly submit of the repository died for the copy's 30 days."""
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")]})
    assert world.submit() == 0
    shutil.rmtree(world.state)  # the manifest was never stored: only its copy leads to the batch
    (batch_id,) = world.batch_ids()
    copy = world.openai.batches[batch_id]["metadata"]["manifest_file"]
    doc = json.loads(world.openai.files[copy]["data"])
    world.openai.files[copy]["data"] = json.dumps(doc)[:-1].encode() + f', "attempt": {number}}}'.encode()
    world.openai.complete_all()
    for object_id in list(world.openai.batches) + list(world.openai.files):
        world.openai.backdate(object_id, HOUR)
    assert world.poll() == 0
    err = capsys.readouterr().err  # refused by the manifest checks, or (past them) by int()
    assert re.search(rf"manifest copy {copy}: (not a readable manifest|attempt: must be a whole number)", err), err
    assert world.github.reviews(1) == []
    assert world.submit() == 0  # the nightly submit still runs (it looks for orphans first)
    assert len(world.batch_ids()) == 2, "the head the unreadable copy names is submitted again"


def test_rebuild_turns_any_unreadable_number_into_a_manifest_error():
    base = {"version": 1, "repository": "acme/widgets", "endpoint": "/v1/chat/completions", "model": "m",
            "targets": {}, "requests": {}, "files": {}, "batches": []}
    for number in ("1e400", "NaN", "Infinity", "1" * 5000):
        data = json.dumps(base)[:-1].encode() + f', "attempt": {number}}}'.encode()
        with pytest.raises(ManifestError, match="manifest copy file-x"):
            rebuild(data, "file-x", "a" * 64, "acme/widgets", [])
