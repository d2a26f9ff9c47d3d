"""Adoption of batches whose manifest was never stored: who could have written the copy, and what it takes.

The copy of a manifest on the batch service, and the batch metadata naming it, are written by whoever
holds the OpenAI key (another repository's workflow sharing the key, too) and can be damaged. Each test
plays one of those writers against the CLI and the emulators; the pure checks get unit tests.
"""

from __future__ import annotations

import json
import shutil

import openai
import pytest

from batch_review.core.errors import ManifestError
from batch_review.ledger.adoption import rebuild
from batch_review.ledger.manifest import Manifest
from batch_review.poll.resubmit import derive_manifest

from ..conftest import OPENAI_KEY, finding, paths_shown

HOUR = 3600


@pytest.fixture(autouse=True)
def _signing_key(signed):
    """Adoption needs the signing key: every run here has it (tests/ledger/test_provenance_attacks.py plays
    the attackers of the signature itself)."""


def lose_the_manifest(world) -> tuple[str, str]:
    """Submit, then lose the stored manifest (the upload step never ran); (batch id, copy id)."""
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")]})
    assert world.submit() == 0
    shutil.rmtree(world.state)
    (batch_id,) = world.batch_ids()
    return batch_id, world.openai.batches[batch_id]["metadata"]["manifest_file"]


def older(world, seconds: int = HOUR) -> None:
    for object_id in list(world.openai.batches) + list(world.openai.files):
        world.openai.backdate(object_id, seconds)


def copy_of(world, copy: str) -> dict:
    return json.loads(world.openai.files[copy]["data"])


def downloads(world, file_id: str) -> int:
    return len(world.openai.requests("GET", rf"^/v1/files/{file_id}/content$"))


def test_an_orphan_is_adopted_an_hour_later_and_posted_once(world, capsys):
    batch_id, copy = lose_the_manifest(world)
    world.openai.complete_all()
    assert world.poll() == 0  # younger than an hour: its submit run may still be storing the manifest
    assert world.github.reviews(1) == [] and downloads(world, copy) == 0
    older(world)
    assert world.poll() == 0
    assert "adopted from its copy" in capsys.readouterr().out
    (review,) = world.github.reviews(1)
    assert "Division by zero" in review["body"] + "".join(c["body"] for c in review["comments"])
    assert copy not in world.openai.files, "retired: the copy is deleted"
    older(world)
    assert world.poll() == 0 and len(world.github.reviews(1)) == 1, "a retired manifest is not adopted again"


def test_a_forged_copy_is_not_adopted(world, capsys):
    """The copy was altered (another target, another head): its digest no longer matches the metadata."""
    _, copy = lose_the_manifest(world)
    forged = copy_of(world, copy)
    forged["targets"]["pr-1"]["head_sha"] = "0" * 40
    world.openai.files[copy]["data"] = json.dumps(forged).encode()
    world.openai.complete_all()
    older(world)
    assert world.poll() == 0
    assert "is not the batch metadata's" in capsys.readouterr().err
    assert world.github.reviews(1) == [] and copy in world.openai.files


@pytest.mark.parametrize("resign", [False, True], ids=["metadata not re-signed", "signed with our key"])
def test_a_copy_for_another_repository_is_not_adopted(world, capsys, resign):
    """Batch metadata says this repository, the copy (consistent with its own digest) says another. Its new
    digest breaks our signature; even signed with our key (a run of ours that went wrong), the copy's
    repository is checked."""
    from batch_review.core.markers import Identity
    from batch_review.core.provenance import Provenance, SigningKey

    from ..conftest import SIGNING_KEY

    batch_id, copy = lose_the_manifest(world)
    doc = copy_of(world, copy)
    doc["repository"] = "evil/widgets"
    m = Manifest.from_json(doc)
    world.openai.files[copy]["data"] = json.dumps(doc).encode()
    metadata = world.openai.batches[batch_id]["metadata"]
    metadata["manifest_digest"] = m.digest()
    if resign:
        metadata.update(Provenance(Identity(), "acme/widgets", SigningKey.parse(SIGNING_KEY)).sign_batch(metadata))
    world.openai.complete_all()
    older(world)
    assert world.poll() == 0
    said = capsys.readouterr()
    if resign:
        assert "it is for 'evil/widgets', not acme/widgets" in said.err
    else:
        assert "does not carry our signature" in said.out and downloads(world, copy) == 0
    assert world.github.reviews(1) == []


def test_another_repositorys_batches_are_never_read(world):
    batch_id, copy = lose_the_manifest(world)
    world.openai.batches[batch_id]["metadata"]["repository"] = "other/repo"
    world.openai.complete_all()
    older(world)
    assert world.poll() == 0
    assert downloads(world, copy) == 0 and world.github.reviews(1) == []


@pytest.mark.parametrize("data", [b"not json\n", b"[" * 100_000 + b"]" * 100_000, b'{"version": 1}\n'],
                         ids=["not JSON", "nested too deep", "not a manifest"])
def test_a_damaged_copy_is_reported_and_the_poll_goes_on(world, capsys, data):
    _, copy = lose_the_manifest(world)
    world.openai.files[copy]["data"] = data
    world.openai.complete_all()
    older(world)
    assert world.poll() == 0
    assert f"manifest copy {copy}" in capsys.readouterr().err and world.github.reviews(1) == []


def test_the_listing_is_bounded_by_age_and_paged(world):
    """150 newer batches of someone else in front of the orphan, 300 older than 30 days behind it: two
    pages are read, the old ones never."""
    batch_id, _ = lose_the_manifest(world)
    world.openai.complete_all()
    older(world, 2 * HOUR)
    template = world.openai.batches[batch_id]
    for i in range(450):
        bid = f"batch_zz{i:06d}"
        age = HOUR if i < 150 else 31 * 24 * HOUR
        world.openai.batches[bid] = {**template, "id": bid, "created_at": template["created_at"] + 2 * HOUR - age,
                                     "metadata": {"batch_review": "1", "repository": "other/repo"}}
    before = len(world.openai.requests("GET", r"^/v1/batches$"))
    assert world.poll() == 0
    assert len(world.github.reviews(1)) == 1
    assert len(world.openai.requests("GET", r"^/v1/batches$")) - before == 2


# --- pure checks ----------------------------------------------------------------------------------------

def _manifest(world) -> Manifest:
    world.answer_with({})
    assert world.submit("--dry-run") == 0
    return Manifest.from_json(world.manifest())


def test_derived_manifest_is_deterministic(world):
    m = _manifest(world)
    ids = sorted(m.requests)[:1]
    assert derive_manifest(m, ids).digest() == derive_manifest(Manifest.from_json(m.to_json()), ids).digest()
    assert derive_manifest(m, ids).parent == m.digest() != derive_manifest(m, ids).digest()


class _State:
    def __init__(self, part: str) -> None:
        self.id, self.input_file_id, self.metadata = f"batch_{part}", "file-x", {"part": part}


@pytest.mark.parametrize("part", ["2/1", "1/2", "0/1", "x"])
def test_rebuild_refuses_a_batch_that_is_not_one_of_its_parts(world, part):
    m = _manifest(world)
    m.dry_run = False
    data = json.dumps(m.to_json()).encode()
    with pytest.raises(ManifestError, match="is not one of its 1 part"):
        rebuild(data, "file-copy", m.digest(), m.repository, [_State(part)])
    assert rebuild(data, "file-copy", m.digest(), m.repository, [_State("1/1")]).batches[0].id == "batch_1/1"


# --- what the emulator holds the client to (the service's rules for files) --------------------------------

@pytest.fixture
def client(openai_emu):
    return openai.OpenAI(api_key=OPENAI_KEY, base_url=openai_emu.base_url, max_retries=0)


def test_emulator_refuses_what_the_files_api_refuses(client):
    with pytest.raises(openai.BadRequestError, match="Must be .jsonl"):
        client.files.create(file=("m.json", b"{}\n"), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="supported purposes"):
        client.files.create(file=("m.jsonl", b"{}\n"), purpose="manifests")
    with pytest.raises(openai.BadRequestError, match="expires_after"):
        client.files.create(file=("m.jsonl", b"{}\n"), purpose="batch",
                            expires_after={"anchor": "created_at", "seconds": 31 * 86400})
    kept = client.files.create(file=("m.jsonl", b"{}\n"), purpose="user_data")
    with pytest.raises(openai.BadRequestError, match="Not allowed to download files of purpose: user_data"):
        client.files.content(kept.id)
    for limit in (0, 101):
        with pytest.raises(openai.BadRequestError, match="limit"):
            client.batches.list(limit=limit)
    with pytest.raises(openai.BadRequestError, match="limit"):
        client.files.list(limit=10_001)


def test_emulator_files_expire_and_list_newest_first(client, openai_emu):
    a = client.files.create(file=("a.jsonl", b"{}\n"), purpose="batch")
    b = client.files.create(file=("b.jsonl", b"{}\n"), purpose="batch",
                            expires_after={"anchor": "created_at", "seconds": 3600})
    assert b.expires_at == b.created_at + 3600 and a.expires_at == a.created_at + 30 * 86400
    assert [f.id for f in client.files.list(purpose="batch")] == [b.id, a.id]
    openai_emu.backdate(b.id, 3600)
    assert [f.id for f in client.files.list(purpose="batch")] == [a.id]
    with pytest.raises(openai.NotFoundError):
        client.files.content(b.id)
    assert client.files.content(a.id).content == b"{}\n"


def test_an_expired_orphan_is_resubmitted_from_its_inputs_on_the_batch_service(world):
    """No stored input files: the expired request's line is downloaded and checked against the manifest."""
    world.configure("request_unit: file\n")  # app.py's request can finish while util.py's expires
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")],
                       "util.py": [finding("util.py", 4, title="Leak")]})
    assert world.submit() == 0
    shutil.rmtree(world.state)
    (batch_id,) = world.batch_ids()
    lines = world.openai.lines(world.openai.batches[batch_id]["input_file_id"])
    app = next(x["custom_id"] for x in lines if paths_shown(x["body"]) == ["app.py"])
    world.openai.advance(batch_id, "expired", finished=lambda cid: cid == app)
    older(world)
    assert world.poll() == 0
    (first,) = world.github.reviews(1)
    assert "Division by zero" in json.dumps(first) and "Leak" not in json.dumps(first)
    (_, retry) = world.batch_ids()
    assert [x["custom_id"] for x in world.openai.lines(world.openai.batches[retry]["input_file_id"])] != [app]
    world.openai.advance(retry, "completed")
    assert world.poll() == 0
    assert "Leak" in json.dumps(world.github.reviews(1)[1]) and world.manifests() == []


def test_without_a_copy_the_original_waits_until_the_resubmission_is_stored(world, capsys):
    """A service that refuses the manifest copy: the expired manifest is not retired in the run that
    resubmits it, but once the resubmission's manifest is listed in the store (next poll)."""
    world.configure("request_unit: file\n")  # app.py's request can finish while util.py's expires
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")],
                       "util.py": [finding("util.py", 4, title="Leak")]})
    assert world.submit() == 0
    (batch_id,) = world.batch_ids()
    lines = world.openai.lines(world.openai.batches[batch_id]["input_file_id"])
    app = next(x["custom_id"] for x in lines if paths_shown(x["body"]) == ["app.py"])
    world.openai.advance(batch_id, "expired", finished=lambda cid: cid == app)
    world.openai.inject("POST", r"^/v1/files$", 400, skip=1)  # the resubmission's input passes, its copy not
    assert world.poll() == 0
    out = capsys.readouterr().out
    assert "keeps no copy of the manifest" in out and "kept until the manifest of its resubmitted" in out
    assert len(world.manifests()) == 2 and len(world.github.reviews(1)) == 1
    assert world.poll() == 0  # the resubmission is listed now: the original is retired, nothing sent again
    assert len(world.manifests()) == 1 and len(world.batch_ids()) == 2 and len(world.github.reviews(1)) == 1
    world.openai.complete_all()
    assert world.poll() == 0
    assert "Leak" in json.dumps(world.github.reviews(1)[1]) and world.manifests() == []
