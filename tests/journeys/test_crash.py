"""The process killed (SIGKILL) between steps, then the next scheduled runs: nothing twice, nothing lost.

Each case holds one request open in an emulator, kills the batch-review process while it waits for
the answer, and then runs the following commands as the schedule would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ..conftest import GITHUB_TOKEN, OPENAI_KEY, finding, paths_shown
from ..emulators.github_emu import make_zip

HANG = 30.0  # seconds an emulator holds the request; the process is killed long before


@pytest.fixture(autouse=True)
def _signing_key(signed):
    """Every run here has the signing key: adopting an orphan batch needs its signature."""


def start(world, *args: str) -> subprocess.Popen:
    env = {**os.environ, "OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": world.openai.base_url,
           "GITHUB_TOKEN": GITHUB_TOKEN, "GITHUB_REPOSITORY": "acme/widgets", "GITHUB_API_URL": world.github.api_url,
           "BATCH_REVIEW_WRITE_INTERVAL": "0"}
    return subprocess.Popen([sys.executable, "-m", "batch_review", *args, "--state-dir", str(world.state)],
                            cwd=world.repo.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill_when_requested(proc: subprocess.Popen, emu, method: str, path_regex: str) -> None:
    """Wait until the process has sent the held request, then SIGKILL it."""
    deadline = time.time() + 90  # a fresh interpreter's imports on a loaded machine; only a failure waits it out
    pause = threading.Event()  # a real wait: the suite makes time.sleep a no-op, which would spin a core here
    while not emu.requests(method, path_regex):
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "the request never came"
        pause.wait(0.02)
    proc.kill()
    proc.wait(timeout=10)


def unnamed_uploads(world) -> list[str]:
    """Batch-purpose files that no batch names, as its input or as its manifest's copy."""
    named = {b["input_file_id"] for b in world.openai.batches.values()}
    named |= {(b["metadata"] or {}).get("manifest_file") for b in world.openai.batches.values()}
    return [f for f, rec in world.openai.files.items() if rec["purpose"] == "batch" and f not in named]


def reviews_ok(world) -> None:
    (review,) = world.github.reviews(1)
    text = review["body"] + "".join(c["body"] for c in review["comments"])
    assert "Division by zero" in text and "Leak" in text


@pytest.fixture
def answers(world):
    world.configure("request_unit: file\n")  # app.py and util.py in requests of their own: one can expire alone
    world.configure("verify:\n  enabled: false\n")  # these processes post in one poll (the verify round's kill
    # points: tests/poll/test_verify.py)
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
    import batch_review.poll.batches as batches

    monkeypatch.setattr(batches, "RESUME_AFTER", batches.dt.timedelta(0))
    assert world.poll() == 0
    (batch_id,) = world.batch_ids()
    assert unnamed_uploads(world) == [], "no orphaned upload"
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
    import batch_review.ledger.store as store

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


# --- the seams between workflow steps (artifact store, as in GitHub Actions) ----------------------------
#
# In Actions each job starts with an empty .batch-review/ and its upload step, when it runs, stores that
# folder as an artifact; a job killed or failed skips that step (upload-artifact's default if: success()).
# `Actions` plays those jobs against the emulators; every scenario ends with the same check: every finding
# posted exactly once (lost 0, twice 0) and no request sent in two batches.

HOUR = 3600


class Actions:
    def __init__(self, world, tmp_path) -> None:
        self.world, self.root, self.runs = world, tmp_path / "runs", 0

    def state(self) -> Path:
        self.runs += 1
        return self.root / f"run{self.runs}"

    def job(self, command: str, *extra: str, upload: bool = True) -> int:
        state = self.state()
        code = self.world.run(command, "--artifacts", "--state-dir", str(state), *extra)
        if upload:
            self.upload(state)
        return code

    def killed(self, command: str, emu, method: str, path: str, *, skip: int = 0) -> Path:
        """Run the job's action step as a process, SIGKILL it while `method path` is held; no upload step."""
        state = self.state()
        emu.inject(method, path, "timeout", seconds=HANG, skip=skip)
        env = {**os.environ, "GITHUB_TOKEN": GITHUB_TOKEN, "BATCH_REVIEW_WRITE_INTERVAL": "0"}
        proc = subprocess.Popen([sys.executable, "-m", "batch_review", command, "--artifacts", "--state-dir",
                                 str(state)], cwd=self.world.repo.path, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        kill_when_requested(proc, emu, method, path)
        with emu.lock:
            emu.faults.clear()
        return state

    def upload(self, state: Path) -> None:
        files = {str(p.relative_to(state)): p.read_bytes() for p in state.rglob("*") if p.is_file()}
        if files:  # if-no-files-found: ignore
            self.world.github.add_artifact(f"batch-review-{self.runs}-1", make_zip(files), run_id=self.runs)

    def an_hour_later(self) -> None:
        """The next scheduled poll: every batch and file is an hour older."""
        for object_id in list(self.world.openai.batches) + list(self.world.openai.files):
            self.world.openai.backdate(object_id, HOUR)


def lost_and_twice(world, titles: list[str]) -> tuple[list[str], list[str]]:
    """(findings in no review, findings in more than one review) of pull request 1."""
    texts = [r["body"] + "".join(c["body"] for c in r["comments"]) for r in world.github.reviews(1)]
    counts = {t: sum(t in text for text in texts) for t in titles}
    return [t for t, n in counts.items() if n == 0], [t for t, n in counts.items() if n > 1]


def sent_twice(world) -> list[str]:
    """custom_ids answered (so billed) in more than one batch; an expired request sent again is not."""
    seen: dict[str, int] = {}
    for b in world.openai.batches.values():
        if b["output_file_id"]:
            for line in world.openai.lines(b["output_file_id"]):
                seen[line["custom_id"]] = seen.get(line["custom_id"], 0) + 1
    return sorted(cid for cid, n in seen.items() if n > 1)


TITLES = ["Division by zero", "Leak"]


def expire_util(world, batch_id: str) -> None:
    """The batch expires with app.py's request finished and util.py's not."""
    data = world.openai.lines(world.openai.batches[batch_id]["input_file_id"])
    app = next(x["custom_id"] for x in data if paths_shown(x["body"]) == ["app.py"])
    world.openai.advance(batch_id, "expired", finished=lambda cid: cid == app)


def finish(world, actions: Actions) -> None:
    """Complete whatever runs, and poll until nothing is left pending."""
    for _ in range(3):
        world.openai.complete_all()
        actions.an_hour_later()
        assert actions.job("poll") == 0
    assert world.github.artifacts == {}, "every stored manifest retired"
    assert lost_and_twice(world, TITLES) == ([], []) and sent_twice(world) == []


def test_seam_killed_after_posting_before_the_upload_step(world, answers, tmp_path):
    actions = Actions(world, tmp_path)
    assert actions.job("submit") == 0
    (first,) = world.batch_ids()
    expire_util(world, first)
    # the poll resubmits util.py, posts app.py's finding, and dies before it retires or uploads anything
    actions.killed("poll", world.openai, "DELETE", r"^/v1/files/")
    assert len(world.github.reviews(1)) == 1 and len(world.batch_ids()) == 2
    actions.an_hour_later()
    assert actions.job("poll") == 0  # the same resubmission again: found by its metadata, not created twice
    assert len(world.batch_ids()) == 2 and len(world.github.reviews(1)) == 1
    finish(world, actions)


def test_seam_killed_between_resubmitting_and_storing(world, answers, tmp_path):
    actions = Actions(world, tmp_path)
    assert actions.job("submit") == 0
    (first,) = world.batch_ids()
    expire_util(world, first)
    # killed right after creating the resubmitted batch, before posting: nothing stored, nothing retired
    actions.killed("poll", world.github, "POST", r"/pulls/1/reviews$")  # held: the claim is never made
    assert len(world.batch_ids()) == 2 and world.github.reviews(1) == []
    actions.an_hour_later()
    assert actions.job("poll", upload=False) == 0  # and this poll's upload is lost too
    assert len(world.batch_ids()) == 2 and len(world.github.reviews(1)) == 1
    finish(world, actions)  # the resubmission is adopted from its copy on the batch service


def test_seam_resubmitted_manifest_never_uploaded(world, answers, tmp_path, capsys):
    """The issue's night: poll resubmits and retires the original, a later failure skips the upload step."""
    actions = Actions(world, tmp_path)
    assert actions.job("submit") == 0
    (first,) = world.batch_ids()
    expire_util(world, first)
    broken = world.github.add_artifact("batch-review-other-1", make_zip({"x/readme.txt": "x"}))
    world.github.inject("GET", rf"/artifacts/{broken}/zip$", 502, times=100)  # another artifact fails
    assert actions.job("poll", upload=False) == 1  # exit 1: the upload step (if: success()) is skipped
    assert len(world.batch_ids()) == 2 and len(world.github.reviews(1)) == 1
    with world.github.lock:
        world.github.faults.clear()
        del world.github.artifacts[broken]
    assert list(world.github.artifacts) == [], "the original was retired: its resubmission's copy is kept"
    actions.an_hour_later()
    assert actions.job("poll") == 0
    assert "adopted from its copy" in capsys.readouterr().out
    finish(world, actions)
    # retired: its copy is gone, so no later poll adopts it again
    actions.an_hour_later()
    assert actions.job("poll") == 0 and len(world.github.reviews(1)) == 2


@pytest.fixture
def two_parts(world):
    """util.py goes to another model: two batch input files, two batches."""
    config = world.repo.path / ".github" / "batch-review.yml"
    config.parent.mkdir(exist_ok=True)
    config.write_text("routing:\n  - {model: gpt-5-nano, paths: [util.py]}\n")


def test_seam_submit_killed_after_a_batch_exists(world, answers, two_parts, tmp_path, monkeypatch):
    actions = Actions(world, tmp_path)
    # killed while creating the second batch: the first runs, the manifest was never stored
    actions.killed("submit", world.openai, "POST", r"^/v1/batches$", skip=1)
    (orphan,) = world.batch_ids()
    assert world.github.artifacts == {}
    # the next night: the head is pending in that batch, so it is not submitted again
    actions.an_hour_later()
    assert actions.job("submit") == 0 and world.batch_ids() == [orphan]
    # the next poll adopts it and creates the part the killed run never created
    import batch_review.poll.batches as batches

    monkeypatch.setattr(batches, "RESUME_AFTER", batches.dt.timedelta(0))
    assert actions.job("poll") == 0
    assert len(world.batch_ids()) == 2 and world.github.reviews(1) == []
    finish(world, actions)
    assert len(world.github.reviews(1)) == 1, "one review holding every finding"


def test_seam_submit_undo_fails(world, answers, two_parts, tmp_path, monkeypatch, capsys):
    actions = Actions(world, tmp_path)
    world.openai.inject("POST", r"^/v1/batches$", 400, skip=1)  # the second batch is refused
    world.openai.inject("POST", r"/cancel$", 500, times=100)  # and the first cannot be cancelled
    assert actions.job("submit", upload=False) == 1  # exit 1: the upload step is skipped
    assert "could not undo" in capsys.readouterr().err
    (orphan,) = world.batch_ids()
    with world.openai.lock:
        world.openai.faults.clear()
    actions.an_hour_later()
    assert actions.job("submit") == 0 and world.batch_ids() == [orphan]
    import batch_review.poll.batches as batches

    monkeypatch.setattr(batches, "RESUME_AFTER", batches.dt.timedelta(0))
    assert actions.job("poll") == 0
    finish(world, actions)
    assert len(world.github.reviews(1)) == 1, "one review holding every finding"
