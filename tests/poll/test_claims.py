"""Two polls at once post once, whatever the workflow file says: the claim GitHub arbitrates.

A user may hold one PENDING review per pull request. Poll creates its review pending (the claim), looks
at the reviews while holding it, and submits it; the poll that loses gets GitHub's 422 and finishes or
drops the pending review it finds. Run with the artifact store, which has no lock of its own, and a slow
review endpoint that holds every create long enough for both polls to have looked first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from batch_review.cli import commands as cli
from batch_review.core.markers import Marker

from ..conftest import GITHUB_TOKEN, OPENAI_KEY, finding
from ..emulators.github_emu import make_zip

ROUNDS = 20


@pytest.fixture
def finished(world):
    """A finished batch for pull request 1, its manifest zipped as the submit workflow uploads it."""
    world.configure("verify:\n  enabled: false\n")  # the pollers are processes: one poll posts
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")],
                       "util.py": [finding("util.py", 4, title="File handle leak")]})
    assert world.submit() == 0
    world.openai.complete_all()
    files = {str(p.relative_to(world.state)): p.read_bytes() for p in world.state.rglob("*") if p.is_file()}
    return world, make_zip(files)


def overlap_only(stderr: str) -> bool:
    """Exit 1 whose only error is the artifact the other poll retired between listing and download
    (issue 11's "overlap is normal", fixed in the artifact store, not here)."""
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    return bool(errors) and all("downloading artifact" in e and "HTTP 404" in e for e in errors)


def exactly_one_review(world) -> dict:
    reviews = world.github.reviews(1)
    assert len(reviews) == 1, [r["body"][:80] for r in reviews]
    assert world.github.pending_reviews(1) == []
    text = reviews[0]["body"] + "".join(c["body"] for c in reviews[0]["comments"])
    assert "Division by zero" in text and "File handle leak" in text
    return reviews[0]


def test_two_pollers_in_threads_post_exactly_one_review_every_round(finished, tmp_path, capsys):
    world, artifact = finished
    world.github.slow("POST", r"/pulls/1/reviews$", 0.2)
    world.github.creation_limit_per_minute = 10_000  # twenty rounds in a minute: not what this test is about
    for rnd in range(ROUNDS):
        world.github.clear_reviews(1)
        world.github.add_artifact(f"batch-review-{rnd}", artifact)
        codes: list[int] = []

        def poll(i: int, rnd=rnd, codes=codes) -> None:
            codes.append(cli.main(["poll", "--artifacts", "--state-dir", str(tmp_path / f"r{rnd}-{i}")]))

        threads = [threading.Thread(target=poll, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        err = capsys.readouterr().err
        assert codes == [0, 0] or (sorted(codes) == [0, 1] and overlap_only(err)), (rnd, codes, err)
        exactly_one_review(world)
        assert world.github.artifacts == {}, f"round {rnd}: the manifest is retired"


def test_two_poller_processes_post_exactly_one_review(finished, tmp_path):
    world, artifact = finished
    world.github.slow("POST", r"/pulls/1/reviews$", 0.3)
    world.github.creation_limit_per_minute = 10_000
    env = {**os.environ, "OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": world.openai.base_url,
           "GITHUB_TOKEN": GITHUB_TOKEN, "GITHUB_REPOSITORY": "acme/widgets",
           "GITHUB_API_URL": world.github.api_url, "BATCH_REVIEW_WRITE_INTERVAL": "0"}
    for rnd in range(3):
        world.github.clear_reviews(1)
        world.github.add_artifact(f"batch-review-{rnd}", artifact)
        procs = [subprocess.Popen([sys.executable, "-m", "batch_review", "poll", "--artifacts", "--state-dir",
                                   str(tmp_path / f"r{rnd}-{i}")], cwd=world.repo.path, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
        for proc, (_, err) in zip(procs, outs, strict=True):
            assert proc.returncode == 0 or overlap_only(err.decode()), err.decode()[-1500:]
        exactly_one_review(world)


def test_a_pending_review_left_by_a_killed_poll_is_deleted_and_the_next_posts_its_own(finished, monkeypatch):
    """Killed between the claim and the submit: the next poll did not create that pending review, so it
    never submits it (its content could be anyone's: every workflow writes as the bot); it deletes it,
    claims with exactly what it composed, and submits that."""
    world, _ = finished
    import batch_review.github.api as github_api

    def killed(self, number, review_id):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(github_api.GitHubAPI, "submit_review", killed)
        world.poll()
    (left,) = world.github.pending_reviews(1)
    assert world.github.reviews(1) == []
    world.github.log.clear()
    assert world.poll() == 0
    review = exactly_one_review(world)
    assert review["id"] != left["id"]
    writes = [(e.method, e.path.rsplit("/", 2)[-2:]) for e in world.github.log if e.method in ("POST", "DELETE")
              and not e.path.endswith("/graphql")]
    assert writes == [("DELETE", ["reviews", str(left["id"])]), ("POST", ["1", "reviews"]),
                      ("POST", [str(review["id"]), "events"])]
    assert world.manifests() == []


def test_a_pending_review_of_another_posting_is_deleted_never_submitted(finished):
    """A pending bot review carrying another posting's marker (a killed poll's, or a branch workflow's
    that wrote it as github-actions[bot]) is deleted, not published; tonight's review is posted."""
    world, _ = finished
    older = Marker("pr-1", world.github.pulls[1]["base_sha"], "0123456789abcdef").html()
    world.github.add_review(1, older + "\nthe attacker's text", login="github-actions[bot]", type="Bot", pending=True)
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    assert review["body"].startswith("<!-- batch-review:v1 target=pr-1 ") and "attacker" not in review["body"]
    assert "Division by zero" in "".join(c["body"] for c in review["comments"])
    assert world.github.pending_reviews(1) == [] and world.manifests() == []


def test_a_pending_duplicate_is_deleted_and_a_persons_draft_is_never_seen(finished):
    """A pending bot review with the very marker we are about to post is deleted, not submitted (the
    posting that follows is ours, exactly as composed); another user's draft is invisible to us and stays."""
    world, _ = finished
    from batch_review.github.api import GitHubAPI
    from batch_review.poll.claims import Claims, ReviewJob
    from batch_review.poll.publish import Publisher

    marker = Marker("pr-1", world.pulls[1], "1111111111111111")
    world.github.add_review(1, marker.html() + "\nnot what we composed", login="github-actions[bot]", type="Bot",
                            pending=True)
    world.github.add_review(1, "batch-review never wrote this", login="octocat", pending=True)  # not ours
    gh = GitHubAPI(GITHUB_TOKEN, "acme/widgets", world.github.api_url)
    job = ReviewJob(1, marker, lambda inline, reviews: ([marker.html() + "\nnew"], []))
    Claims(Publisher(gh, log=lambda m: None)).run([job], gh.pull_snapshots([1])[0])
    assert (job.outcome, job.posted) == ("posted", 1)
    assert [p["user"]["login"] for p in world.github.pending_reviews(1)] == ["octocat"]
    (posted,) = world.github.reviews(1)
    assert posted["body"] == marker.html() + "\nnew"


def test_reruns_write_nothing_while_the_manifests_delete_keeps_failing(finished, tmp_path):
    """Issue 21 item 8: the artifact's delete fails poll after poll, so the posted manifest is met again
    every hour. Each rerun reads (one GraphQL request for its pull requests) and writes no review: the only
    write it makes is the delete it retries."""
    world, artifact = finished
    world.github.add_artifact("batch-review-1-1", artifact)
    world.github.inject("DELETE", r"/actions/artifacts/\d+$", 500, times=1000)
    assert world.run("poll", "--artifacts", "--state-dir", str(tmp_path / "first")) == 1
    exactly_one_review(world)
    for rerun in range(3):
        world.github.log.clear()
        assert world.run("poll", "--artifacts", "--state-dir", str(tmp_path / f"rerun{rerun}")) == 1
        writes = {(e.method, e.path.rsplit("/", 2)[-2]) for e in world.github.log
                  if e.method in ("POST", "PATCH", "PUT", "DELETE") and e.path != "/graphql"}
        assert writes == {("DELETE", "artifacts")}, writes
        assert [e.path for e in world.github.log if e.path == "/graphql"] == ["/graphql"]
        exactly_one_review(world)
