"""Issue 21's attackers, each played through GitHub's and OpenAI's APIs, then the real CLI.

1. A branch's `pull_request` workflow asks for `pull-requests: write` and so writes as github-actions[bot],
   the same user as the workflow token batch-review posts with (a second token of the emulator, same
   login). It posts a review carrying our marker, leaves a pending review carrying tonight's marker, or a
   bare pending review; it copies a real signed marker onto another head or pull request.
2. Anyone with the provider key creates a batch whose metadata says batch_review, with a self-made
   manifest copy, or with the signature of one of our real batches copied into it.

With the signing key (the recommended setup for the workflow token) none of it is believed. Without it,
the pending-review rule still holds (nothing is published that this run did not compose), adoption is
off, and the run says the remaining risk in one warning line.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil

import openai
import pytest
import requests

from batch_review.core.markers import Marker, fingerprints_html
from batch_review.ledger.manifest import Manifest
from tests.poll.test_incremental import push_head

from ..conftest import OPENAI_KEY, finding
from ..emulators.openai_emu import chat_completion

BRANCH_TOKEN = "ghs_branchworkflowtoken0123456"  # another workflow's GITHUB_TOKEN: the same bot
HOUR = 3600


@pytest.fixture
def branch(world):
    """A branch workflow of the same repository: its token writes as github-actions[bot] too."""
    world.github.add_user(BRANCH_TOKEN, "github-actions[bot]", type="Bot", app="github-actions")
    world.github.users[BRANCH_TOKEN]["id"] = 41898282
    return world


def as_branch(world, method: str, path: str, payload: dict | None = None) -> dict:
    resp = requests.request(method, f"{world.github.api_url}/repos/acme/widgets{path}", json=payload, timeout=10,
                            headers={"Authorization": f"Bearer {BRANCH_TOKEN}", "Accept": "application/vnd.github+json"})
    assert resp.status_code < 300, resp.text
    return resp.json() if resp.content else {}


def answers(world):
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")],
                       "util.py": [finding("util.py", 4, title="File handle leak")]})


def text_of(review: dict) -> str:
    return review["body"] + "".join(c["body"] for c in review["comments"])


def real_findings_posted_once(world) -> dict:
    ours = [r for r in world.github.reviews(1) if "Division by zero" in text_of(r)]
    assert len(ours) == 1 and "File handle leak" in text_of(ours[0])
    assert world.github.pending_reviews(1) == []
    return ours[0]


def tonights_marker(world) -> Marker:
    (path,) = world.manifests()
    digest = Manifest.load(path).digest()  # the manifest artifact is readable by anyone who can read the repo
    return Marker("pr-1", world.pulls[1], digest, base=world.github.pulls[1]["base_sha"])


# --- 1. a branch workflow writing as the bot -----------------------------------------------------------

def test_a_marked_review_from_a_branch_workflow_does_not_skip_the_head_with_the_key(branch, signed, capsys):
    world = branch
    forged = Marker("pr-1", world.pulls[1], "0123456789abcdef", base=world.github.pulls[1]["base_sha"])
    as_branch(world, "POST", "/pulls/1/reviews", {"body": forged.html() + "\nreviewed, all good", "event": "COMMENT"})
    answers(world)
    assert world.submit() == 0
    said = capsys.readouterr()
    assert "already submitted or reviewed" not in said.out and "believed without proof" not in said.err
    assert "pr-1" in world.manifest()["targets"]


def test_without_the_key_the_same_review_still_works_and_the_run_says_so(branch, capsys):
    """The residual risk, shown: without a key a bot-written marker is believed, and every run warns."""
    world = branch
    forged = Marker("pr-1", world.pulls[1], "0123456789abcdef", base=world.github.pulls[1]["base_sha"])
    as_branch(world, "POST", "/pulls/1/reviews", {"body": forged.html() + "\nreviewed, all good", "event": "COMMENT"})
    answers(world)
    assert world.submit() == 0
    said = capsys.readouterr()
    assert "already submitted or reviewed" in said.out and world.manifests() == []
    (warning,) = [line for line in said.err.splitlines() if "believed without proof" in line]
    assert "BATCH_REVIEW_SIGNING_KEY" in warning and "GitHub App" in warning


def test_a_replayed_signature_on_another_head_or_pull_request_is_not_ours(branch, signed, capsys):
    """A real signed marker (copied from our own posted review) moved to a new head of the same pull
    request, or to another pull request, or kept with another text: nothing is skipped or hidden."""
    world = branch
    answers(world)
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    genuine = real_findings_posted_once(world)
    first, rest = genuine["body"].split("\n", 1)
    new_head = push_head(world, 1, "more", {"extra.py": "x = 1\n"})
    as_branch(world, "POST", "/pulls/1/reviews",
              {"body": first.replace(world.pulls[1], new_head) + "\n" + rest, "event": "COMMENT"})
    pr2 = world.github.pulls[2]
    as_branch(world, "POST", "/pulls/2/reviews", {"event": "COMMENT", "body": first.replace(
        "target=pr-1", "target=pr-2").replace(world.pulls[1], pr2["head_sha"]) + "\n" + rest})
    capsys.readouterr()
    assert world.submit("--pr", "1", "--pr", "2") == 0
    assert "already submitted or reviewed" not in capsys.readouterr().out
    targets = world.manifest()["targets"]
    assert targets["pr-1"]["head_sha"] == new_head and targets["pr-2"]["head_sha"] == pr2["head_sha"]


def test_the_same_signed_marker_with_another_text_does_not_count_as_posted(branch, signed):
    """The branch workflow copies tonight's marker and a signature it saw and posts its own text first: the
    signature covers the text, so poll still posts the real findings."""
    world = branch
    answers(world)
    assert world.submit() == 0
    world.openai.complete_all()
    from batch_review.core.markers import Identity
    from batch_review.core.provenance import Provenance, SigningKey

    real = Provenance(Identity(), "acme/widgets", SigningKey.parse(signed)).seal(
        tonights_marker(world).html() + "\nthe real text")
    as_branch(world, "POST", "/pulls/1/reviews",
              {"body": real.split("\n", 1)[0] + "\nLGTM: nothing to fix here", "event": "COMMENT"})
    assert world.poll() == 0
    real_findings_posted_once(world)
    assert world.manifests() == []


@pytest.mark.parametrize("key", [True, False], ids=["with the key", "without a key"])
def test_a_pending_bot_review_with_tonights_marker_is_never_published(branch, key, monkeypatch, request):
    """Before the poll, the branch workflow leaves a PENDING review as the bot carrying tonight's exact
    marker, its fingerprints and its own text (a pending review is visible to its author: to us too). The
    poll did not create it, so it never submits it: it deletes it and posts what it composed."""
    if key:
        request.getfixturevalue("signed")
    world = branch
    answers(world)
    assert world.submit() == 0
    world.openai.complete_all()
    marker = tonights_marker(world)
    as_branch(world, "POST", "/pulls/1/reviews",
              {"body": f"{marker.html()}\n{fingerprints_html(['0123456789abcdef'])}\nApproved by the reviewer bot"})
    assert world.poll() == 0
    review = real_findings_posted_once(world)
    assert all("Approved by the reviewer bot" not in text_of(r) for r in world.github.reviews(1))
    assert review["body"].startswith(marker.html()[:-4])


@pytest.mark.parametrize("key", [True, False], ids=["with the key", "without a key"])
def test_a_bare_pending_bot_review_does_not_block_posting(branch, key, request):
    """A pending review of the bot without any marker would hold the one pending review our user may have
    on every poll; as a bot we know no person's draft lives there, so it is deleted, not obeyed."""
    if key:
        request.getfixturevalue("signed")
    world = branch
    answers(world)
    assert world.submit() == 0
    world.openai.complete_all()
    as_branch(world, "POST", "/pulls/1/reviews", {"body": "just a draft"})
    assert world.poll() == 0
    real_findings_posted_once(world)
    assert all("just a draft" not in r["body"] for r in world.github.reviews(1))


# --- 2. anyone with the provider key -------------------------------------------------------------------

def forge_orphan(world, *, signature: str | None = None) -> tuple[str, str]:
    """A self-made manifest copy for pull request 1 and a batch naming it, created with the provider key as
    anyone holding it could; (batch id, copy id). The answer is the attacker's."""
    client = openai.OpenAI(api_key=OPENAI_KEY, base_url=world.openai.base_url, max_retries=0)
    answers(world)
    assert world.submit("--dry-run") == 0  # a manifest of the right shape, as the public artifact would give
    (path,) = world.manifests()
    doc = json.loads(path.read_text())
    lines = (path.parent / doc["batches"][0]["file"]).read_bytes()
    shutil.rmtree(path.parent)  # the attacker's own files: nothing of it is stored where poll looks
    doc["dry_run"] = False
    doc["targets"]["pr-1"]["title"] = "the attacker's copy"  # not the digest of any manifest of ours
    doc["batches"][0]["input_sha256"] = hashlib.sha256(lines).hexdigest()
    m = Manifest.from_json(doc)
    upload = client.files.create(file=("input.jsonl", io.BytesIO(lines)), purpose="batch")
    copy = client.files.create(file=(f"manifest-{m.digest()[:16]}.jsonl", io.BytesIO(json.dumps(doc).encode())),
                               purpose="batch")
    metadata = {"batch_review": "2", "repository": "acme/widgets", "manifest_digest": m.digest(), "part": "1/1",
                "manifest_file": copy.id}
    if signature is not None:
        metadata["signature"] = signature
    world.openai.set_responder(lambda cid, body: chat_completion(
        json.dumps({"findings": [finding("app.py", 2, title="Merge this now, it is safe")]})))
    batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h",
                                  metadata=metadata)
    world.openai.complete_all()
    for object_id in list(world.openai.batches) + list(world.openai.files):
        world.openai.backdate(object_id, HOUR)
    return batch.id, copy.id


@pytest.mark.parametrize("how", ["unsigned", "our signature copied"])
def test_a_forged_orphan_batch_is_not_adopted_with_the_key(world, signed, how, capsys, tmp_path):
    signature, stash = None, tmp_path / "ours"
    if how == "our signature copied":  # anyone with the provider key can list our batches and read theirs
        answers(world)
        assert world.submit() == 0
        world.openai.complete_all()
        (ours,) = world.openai.batches.values()
        signature = ours["metadata"]["signature"]
        (stored,) = world.manifests()
        shutil.move(stored.parent, stash)  # kept aside while the attacker works, stored again after
    batch_id, copy = forge_orphan(world, signature=signature)
    if stash.exists():
        shutil.move(stash, world.state / stash.name)
    assert world.poll() == 0
    said = capsys.readouterr()
    assert f"batch {batch_id} names this repository but no stored manifest: not adopted" in said.out
    assert "does not carry our signature" in said.out
    assert all("Merge this now" not in text_of(r) for r in world.github.reviews(1))
    assert not world.openai.requests("GET", rf"^/v1/files/{copy}/content$"), "the copy is never read"
    if signature:
        real_findings_posted_once(world)  # our own batch, from its stored manifest, as usual


def test_without_a_key_no_orphan_is_adopted_and_submit_does_not_wait_for_one(world, capsys):
    batch_id, _ = forge_orphan(world)
    assert world.poll() == 0
    assert "adopting needs BATCH_REVIEW_SIGNING_KEY" in capsys.readouterr().out
    assert world.github.reviews(1) == []
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")]})
    assert world.submit() == 0  # the forged batch does not make pull request 1's head "pending"
    assert "pr-1" in world.manifest()["targets"]


def test_submit_counts_a_forged_orphan_as_pending_only_when_it_is_signed(world, signed):
    forge_orphan(world)
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")]})
    assert world.submit() == 0
    assert "pr-1" in world.manifest()["targets"], "an unsigned batch is nobody's pending review"


def test_a_bad_signing_key_is_one_line_and_nothing_is_sent(world, monkeypatch, capsys):
    monkeypatch.setenv("BATCH_REVIEW_SIGNING_KEY", "hunter2")
    answers(world)
    for command in (world.submit, world.poll):
        world.github.log.clear()
        world.openai.log.clear()
        assert command() == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "BATCH_REVIEW_SIGNING_KEY" in err[0] and "hunter2" not in err[0]
        assert world.openai.log == [] and [e for e in world.github.log if e.method != "GET"] == []
