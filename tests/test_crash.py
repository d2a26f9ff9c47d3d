"""The process killed (SIGKILL) between steps, then the next scheduled runs: nothing twice, nothing lost.

Each case holds one request open in an emulator, kills the batch-review process while it waits for
the answer, and then runs the following commands as the schedule would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from .conftest import GITHUB_TOKEN, OPENAI_KEY, finding

HANG = 30.0  # seconds an emulator holds the request; the process is killed long before


def start(world, *args: str) -> subprocess.Popen:
    env = {**os.environ, "OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": world.openai.base_url,
           "GITHUB_TOKEN": GITHUB_TOKEN, "GITHUB_REPOSITORY": "acme/widgets", "GITHUB_API_URL": world.github.api_url,
           "BATCH_REVIEW_WRITE_INTERVAL": "0"}
    return subprocess.Popen([sys.executable, "-m", "batch_review", *args, "--state-dir", str(world.state)],
                            cwd=world.repo.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill_when_requested(proc: subprocess.Popen, emu, method: str, path_regex: str) -> None:
    """Wait until the process has sent the held request, then SIGKILL it."""
    deadline = time.time() + 20
    while not emu.requests(method, path_regex):
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "the request never came"
        time.sleep(0.02)
    proc.kill()
    proc.wait(timeout=10)


def reviews_ok(world) -> None:
    (review,) = world.github.reviews(1)
    text = review["body"] + "".join(c["body"] for c in review["comments"])
    assert "Division by zero" in text and "Leak" in text


@pytest.fixture
def answers(world):
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")],
                       "util.py": [finding("util.py", 4, title="Leak")]})


@pytest.mark.parametrize(("method", "path"), [("POST", r"^/v1/files$"), ("POST", r"^/v1/batches$")],
                         ids=["killed while uploading", "killed while creating the batch"])
def test_submit_killed_then_next_runs(world, answers, method, path, monkeypatch):
    world.openai.inject(method, path, "timeout", seconds=HANG)
    proc = start(world, "submit")
    kill_when_requested(proc, world.openai, method, path)
    assert world.batch_ids() == []
    # the next night: the head is pending in the manifest, so it is not submitted again
    assert world.submit() == 0
    assert world.batch_ids() == [] and len(world.manifests()) == 1
    # a poll soon after leaves it alone: the submit might still be running
    assert world.poll() == 0
    assert world.batch_ids() == []
    # a later poll creates the batch the killed run planned, reusing its upload if it had one
    import batch_review.poll as poll

    monkeypatch.setattr(poll, "RESUME_AFTER", poll.dt.timedelta(0))
    assert world.poll() == 0
    (batch_id,) = world.batch_ids()
    batch_files = [f for f in world.openai.files.values() if f["purpose"] == "batch"]
    assert len(batch_files) == 1, "no orphaned upload"
    world.openai.advance(batch_id, "completed")
    assert world.poll() == 0
    reviews_ok(world)
    assert world.manifests() == []


@pytest.mark.parametrize(("method", "path"), [
    ("GET", r"^/v1/files/[^/]+/content$"),
    ("POST", r"/pulls/1/reviews$"),
], ids=["killed while downloading results", "killed while posting the review"])
def test_poll_killed_then_rerun(world, answers, method, path):
    assert world.submit() == 0
    world.openai.complete_all()
    emu = world.openai if path.startswith("^/v1") else world.github
    emu.inject(method, path, "timeout", seconds=HANG)
    proc = start(world, "poll")
    kill_when_requested(proc, emu, method, path)
    assert world.poll() == 0
    reviews_ok(world)
    assert world.manifests() == []


def test_poll_killed_after_posting_before_retiring(world, answers, monkeypatch):
    assert world.submit() == 0
    world.openai.complete_all()
    import batch_review.store as store

    def killed(self, pending):
        raise KeyboardInterrupt  # the process dies here: posted, not retired

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(store.LocalStore, "retire", killed)
        world.poll()
    assert len(world.github.reviews(1)) == 1 and len(world.manifests()) == 1
    assert world.poll() == 0
    assert len(world.github.reviews(1)) == 1 and world.manifests() == []


def test_two_polls_at_the_same_time_post_once(world, answers):
    assert world.submit() == 0
    world.openai.complete_all()
    world.github.inject("POST", r"/pulls/1/reviews$", "timeout", seconds=1.0)  # hold the first poster
    first, second = start(world, "poll"), start(world, "poll")
    outs = [p.communicate(timeout=60) for p in (first, second)]
    codes = [first.returncode, second.returncode]
    assert codes.count(0) >= 1, outs
    assert world.poll() == 0
    reviews_ok(world)  # exactly one review, with every finding
