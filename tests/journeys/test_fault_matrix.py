"""Fault matrix: every external call of submit and poll, each fault the emulators can inject.

Each cell injects one fault into one call, runs the command, and runs it once more if it failed (the
next scheduled run). The cell passes when the end state is exactly right: one live batch for the pull
request and no orphaned upload (submit); one review carrying every finding and the manifest retired
(poll). Outcomes are recorded; `python tools/reliability_report.py` turns them into docs/reliability.md.
"""

from __future__ import annotations

import json
import os

import pytest

from ..conftest import finding, make_world
from ..emulators.github_emu import make_zip

# seconds a client waits for an answer in these cells: long enough that a loaded machine never times out an
# answer the emulator gives (2 cores shared by the test workers), short enough to keep the "timeout" cells quick
TIMEOUT = 2.5
FAULTS = ["429", "500", "502", "503", "reset", "timeout", "malformed"]
SUBMIT_CALLS = {
    "GitHub: get repository": ("GET", r"^/repos/acme/widgets$"),
    "GitHub: list pull requests": ("GET", r"/pulls$"),
    "GitHub: read reviews (already posted?, GraphQL)": ("POST", r"/graphql$"),
    "OpenAI: upload batch file": ("POST", r"^/v1/files$"),
    "OpenAI: create batch": ("POST", r"^/v1/batches$"),
    "OpenAI: list batches (orphans)": ("GET", r"^/v1/batches$"),
}
POLL_CALLS = {
    "GitHub: list artifacts": ("GET", r"/actions/artifacts$"),
    "GitHub: download artifact": ("GET", r"/actions/artifacts/\d+/zip$"),
    "OpenAI: retrieve batch": ("GET", r"^/v1/batches/[^/]+$"),
    "OpenAI: download results": ("GET", r"^/v1/files/[^/]+/content$"),
    "GitHub: read pull requests and reviews (GraphQL)": ("POST", r"/graphql$"),
    "GitHub: create pending review (claim)": ("POST", r"/pulls/1/reviews$"),
    "GitHub: check the claim (GraphQL)": ("POST", r"/graphql$", 1),
    "GitHub: submit review": ("POST", r"/pulls/1/reviews/\d+/events$"),
    "GitHub: delete artifact": ("DELETE", r"/actions/artifacts/\d+$"),
    "OpenAI: delete the manifest copy": ("DELETE", r"^/v1/files/[^/]+$"),
    "OpenAI: list batches (orphans)": ("GET", r"^/v1/batches$"),
}
FINDINGS = {"app.py": [finding("app.py", 2, title="Division by zero"), finding("app.py", 40, title="Far")],
            "util.py": [finding("util.py", 4, title="Leak")]}
REPORT = os.environ.get("BATCH_REVIEW_RELIABILITY_REPORT")


def inject(world, call: tuple, fault: str) -> None:
    method, path, skip = (*call, 0)[:3]  # skip: let that many matching requests through first
    emu = world.openai if path.startswith("^/v1") else world.github
    if fault.isdigit():
        emu.inject(method, path, int(fault), retry_after="0" if fault in ("429", "503") else None, skip=skip)
    else:
        emu.inject(method, path, fault, seconds=TIMEOUT * 2.5, skip=skip)


def record(journey: str, call: str, fault: str, outcome: str, runs: int, duplicates: int, lost: int) -> None:
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"journey": journey, "call": call, "fault": fault, "outcome": outcome,
                                 "runs": runs, "duplicates": duplicates, "lost": lost}) + "\n")


@pytest.fixture
def fast_timeouts(monkeypatch, signed):
    """Short timeouts; and the recommended setup, with the signing key (so submit looks for signed orphans)."""
    monkeypatch.setenv("BATCH_REVIEW_HTTP_TIMEOUT", str(TIMEOUT))


def run_twice(command) -> tuple[str, int]:
    """Run; if it failed, run again as the next scheduled run would. (outcome, runs)."""
    first = command()
    if first == 0:
        return "succeeded (retried)", 1
    assert first == 1, f"a service failure must exit 1, not {first}"
    second = command()
    assert second == 0, "the next run must resume and succeed"
    return "failed cleanly (exit 1), next run completed", 2


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("call", list(SUBMIT_CALLS))
def test_submit_fault(call, fault, tmp_path, openai_emu, github_emu, monkeypatch, fast_timeouts):
    world = make_world(tmp_path, openai_emu, github_emu, monkeypatch)
    inject(world, SUBMIT_CALLS[call], fault)
    outcome, runs = run_twice(world.submit)
    live = [b for b in openai_emu.batches.values() if b["status"] != "cancelling"]
    assert len(live) == 1, "exactly one batch for the pull request"
    referenced = {b["input_file_id"] for b in live} | {(b["metadata"] or {}).get("manifest_file") for b in live}
    orphans = [f for f, rec in openai_emu.files.items() if rec["purpose"] == "batch" and f not in referenced]
    assert orphans == [], "no upload is left without a batch"
    m = world.manifest()
    assert [b["id"] for b in m["batches"]] == [live[0]["id"]]
    assert not any(f.times for f in github_emu.faults + openai_emu.faults), "the fault met the call it names"
    record("submit", call, fault, outcome, runs, len(live) - 1, 0)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("call", list(POLL_CALLS))
def test_poll_fault(call, fault, tmp_path, openai_emu, github_emu, monkeypatch, fast_timeouts):
    world = make_world(tmp_path, openai_emu, github_emu, monkeypatch)
    world.answer_with(FINDINGS)
    assert world.submit() == 0
    openai_emu.complete_all()
    files = {str(p.relative_to(world.state)): p.read_bytes() for p in world.state.rglob("*") if p.is_file()}
    github_emu.add_artifact("batch-review-7-1", make_zip(files))
    inject(world, POLL_CALLS[call], fault)
    outcome, runs = run_twice(lambda: world.run("poll", "--artifacts", "--state-dir", str(tmp_path / "poll")))
    reviews = github_emu.reviews(1)
    assert len(reviews) == 1, "exactly one review"
    assert github_emu.pending_reviews(1) == [], "no pending review left behind"
    text = reviews[0]["body"] + "".join(c["body"] for c in reviews[0]["comments"])
    lost = [f["title"] for fs in FINDINGS.values() for f in fs if f["title"] not in text]
    assert lost == [], "every finding is in the review"
    assert github_emu.artifacts == {}, "the manifest is retired"
    assert not any(f.times for f in github_emu.faults + openai_emu.faults), "the fault met the call it names"
    record("poll", call, fault, outcome, runs, len(reviews) - 1, len(lost))

