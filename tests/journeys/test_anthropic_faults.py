"""provider anthropic under faults: every Message Batches call of submit and poll, each fault the emulator
injects (test_fault_matrix.py's cells, same pass rule), and the process killed while waiting on one
(test_crash.py's way). The GitHub calls are the same for both providers and are covered there."""

from __future__ import annotations

import pytest

from tests.journeys.test_crash import HANG, kill_when_requested, reviews_ok, start
from tests.journeys.test_fault_matrix import FAULTS, FINDINGS, inject, make_zip, record, run_twice
from tests.journeys.test_fault_matrix import fast_timeouts as fast_timeouts  # noqa: F401 - the fixture, used by name

from ..conftest import finding, make_world, use_anthropic

SUBMIT_CALLS = {"Anthropic: create message batch": ("POST", r"^/v1/messages/batches$")}
POLL_CALLS = {
    "Anthropic: retrieve message batch": ("GET", r"^/v1/messages/batches/[^/]+$"),
    "Anthropic: results stream": ("GET", r"^/v1/messages/batches/[^/]+/results$"),
}


@pytest.fixture
def claude(tmp_path, openai_emu, anthropic_emu, github_emu, monkeypatch):
    return use_anthropic(make_world(tmp_path, openai_emu, github_emu, monkeypatch), anthropic_emu, monkeypatch)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("call", list(SUBMIT_CALLS))
def test_submit_fault(claude, call, fault, fast_timeouts):  # noqa: F811
    inject(claude, SUBMIT_CALLS[call], fault)
    outcome, runs = run_twice(claude.submit)
    batches = list(claude.openai.batches.values())
    assert len(batches) == 1, "exactly one batch for the pull request"
    assert [b["id"] for b in claude.manifest()["batches"]] == [batches[0]["id"]]
    record("submit", call, fault, outcome, runs, len(batches) - 1, 0)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("call", list(POLL_CALLS))
def test_poll_fault(claude, call, fault, tmp_path, fast_timeouts):  # noqa: F811
    claude.answer_with(FINDINGS)
    assert claude.submit() == 0
    claude.openai.complete_all()
    files = {str(p.relative_to(claude.state)): p.read_bytes() for p in claude.state.rglob("*") if p.is_file()}
    claude.github.add_artifact("batch-review-7-1", make_zip(files))
    inject(claude, POLL_CALLS[call], fault)
    outcome, runs = run_twice(lambda: claude.run("poll", "--artifacts", "--state-dir", str(tmp_path / "poll")))
    reviews = claude.github.reviews(1)
    assert len(reviews) == 1, "exactly one review"
    text = reviews[0]["body"] + "".join(c["body"] for c in reviews[0]["comments"])
    lost = [f["title"] for fs in FINDINGS.values() for f in fs if f["title"] not in text]
    assert lost == [], "every finding is in the review"
    assert claude.github.artifacts == {}, "the manifest is retired"
    record("poll", call, fault, outcome, runs, len(reviews) - 1, len(lost))


@pytest.fixture
def answers(claude):
    claude.configure("request_unit: file\n")
    claude.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")],
                        "util.py": [finding("util.py", 4, title="Leak")]})
    return claude


def test_submit_killed_while_creating_the_batch_then_next_runs(answers, monkeypatch):
    w = answers
    w.openai.inject("POST", r"^/v1/messages/batches$", "timeout", seconds=HANG)
    proc = start(w, "submit")
    kill_when_requested(proc, w.openai, "POST", r"^/v1/messages/batches$")
    assert w.batch_ids() == []
    assert w.submit() == 0  # the next night: the head is pending in the manifest
    assert w.batch_ids() == [] and len(w.manifests()) == 1
    import batch_review.poll.batches as batches

    assert w.poll() == 0 and w.batch_ids() == []  # soon after: the submit might still be running
    monkeypatch.setattr(batches, "RESUME_AFTER", batches.dt.timedelta(0))
    assert w.poll() == 0  # later: created from the manifest's own checked input file
    (batch_id,) = w.batch_ids()
    w.openai.advance(batch_id, "completed")
    assert w.poll() == 0
    reviews_ok(w)
    assert w.manifests() == []


def test_poll_killed_while_reading_results_then_rerun(answers):
    w = answers
    assert w.submit() == 0
    w.openai.complete_all()
    w.openai.inject("GET", r"/results$", "timeout", seconds=HANG)
    proc = start(w, "poll")
    kill_when_requested(proc, w.openai, "GET", r"/results$")
    assert w.poll() == 0
    reviews_ok(w)
    assert w.manifests() == []


def test_a_batch_poll_created_for_a_killed_submit_is_stored_and_never_created_twice(answers, monkeypatch,
                                                                                       tmp_path):
    """Artifacts: the Message Batches API keeps no metadata, so the batch a poll creates for a killed
    submit is found next time only through the manifest that poll stores (the workflow uploads its state
    folder); each later poll, reading both artifacts, creates nothing more and posts once."""
    w = answers
    w.openai.inject("POST", r"^/v1/messages/batches$", "timeout", seconds=HANG)
    proc = start(w, "submit")
    kill_when_requested(proc, w.openai, "POST", r"^/v1/messages/batches$")

    def upload_step(folder, name):
        files = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        if files:
            w.github.add_artifact(name, make_zip(files))

    upload_step(w.state, "batch-review-1-1")
    import batch_review.poll.batches as batches

    monkeypatch.setattr(batches, "RESUME_AFTER", batches.dt.timedelta(0))
    polls = [tmp_path / f"poll{i}" for i in range(4)]
    assert w.run("poll", "--artifacts", "--state-dir", str(polls[0])) == 0
    (batch_id,) = w.batch_ids()
    upload_step(polls[0], "batch-review-2-1")
    assert w.run("poll", "--artifacts", "--state-dir", str(polls[1])) == 0
    assert w.batch_ids() == [batch_id]  # found through the stored copy, not created again
    w.openai.advance(batch_id, "completed")
    assert w.run("poll", "--artifacts", "--state-dir", str(polls[2])) == 0
    assert w.run("poll", "--artifacts", "--state-dir", str(polls[3])) == 0
    reviews_ok(w)
    assert w.batch_ids() == [batch_id] and w.github.artifacts == {}


def test_a_lost_answer_to_create_costs_a_batch_never_a_second_review(answers):
    """No idempotency key and no metadata: the SDK's retry of a create whose answer was lost makes a second
    batch. The manifest records the one it got; the other runs unseen (billed) and is never posted."""
    w = answers
    w.openai.inject("POST", r"^/v1/messages/batches$", "lost_response")
    assert w.submit() == 0
    first, recorded = w.batch_ids()
    assert [b["id"] for b in w.manifest()["batches"]] == [recorded]
    w.openai.complete_all()
    assert w.poll() == 0 and w.poll() == 0
    reviews_ok(w)
    assert w.manifests() == [] and first != recorded
