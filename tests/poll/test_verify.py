"""The verify round end to end (issue 20 item 1): the first batch's findings go out again as a second
batch through the emulators, a scripted verifier answers, and exactly what GitHub, the job summary and
SARIF received is checked. Each scenario runs with each provider (any_world)."""

from __future__ import annotations

import json
import re

import pytest

from batch_review.markdown.check import check

from ..conftest import finding, user_message
from ..emulators.openai_emu import chat_completion

pytestmark = pytest.mark.verify

CANDIDATE = re.compile(r"### candidate (c\d+): .*\nFinding \(another model's words\):\n(\{.*\})")
TRUE = finding("app.py", 2, title="Division by zero", body="x / 0 raises.")
PLANTED = finding("app.py", 61, start_line=59, severity="critical", title="Planted wrong finding",
                  body="This is not a problem at all.")
LOW = finding("util.py", 4, severity="low", title="Leaked handle")


def candidates_in(body: dict) -> dict[str, dict]:
    """Candidate id -> the finding as the verify request quotes it."""
    return {cid: json.loads(text) for cid, text in CANDIDATE.findall(user_message(body))}


def verifier(world, first: dict, decide) -> list[dict]:
    """First-round answers by file; verify requests answered by `decide(candidate) -> verdict dict`; the
    verify requests' bodies are kept in the returned list."""
    seen: list[dict] = []

    def responder(cid: str, body: dict):
        if cid.endswith(":verify"):
            seen.append(body)
            verdicts = [dict(decide(c), id=i) for i, c in candidates_in(body).items()]
            return chat_completion(json.dumps({"verdicts": verdicts}), prompt_tokens=900, completion_tokens=80)
        text = user_message(body)
        answer = [f for path, fs in first.items() if f"=== {path}" in text for f in fs]
        return chat_completion(json.dumps({"findings": answer}), prompt_tokens=1200, completion_tokens=300)

    world.openai.set_responder(responder)
    return seen


def by_title(verdicts: dict):
    def decide(c: dict) -> dict:
        return {"verdict": "confirmed", "reason": "real", "severity": None, **verdicts.get(c["title"], {})}
    return decide


def two_rounds(world) -> None:
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    assert world.github.reviews(1) == []  # held back for the verify round
    # Anthropic keeps no manifest copy: the first round's manifest stays until the verify one is seen stored
    (data,) = [d for d in map(lambda p: json.loads(p.read_text()), world.manifests()) if "verify" in d]
    assert list(data["requests"]) == ["pr-1:verify"] and data["verify"]["of"]
    world.openai.complete_all()
    assert world.poll() == 0


def test_refuted_candidates_are_never_posted_and_confirmed_ones_once_on_their_lines(any_world, monkeypatch):
    world = any_world  # each provider in turn
    sarif_dir, summary = world.state / "sarif", world.state / "summary.md"
    world.configure(f"output:\n  sarif_dir: {sarif_dir}\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    seen = verifier(world, {"app.py": [TRUE, PLANTED], "util.py": [LOW]}, by_title({
        "Planted wrong finding": {"verdict": "refuted", "reason": "f20 is never called with user input"},
        "Leaked handle": {"verdict": "refuted", "reason": "closed by the caller"}}))
    two_rounds(world)
    (review,) = world.github.reviews(1)
    assert [(c["path"], c["line"]) for c in review["comments"]] == [("app.py", 2)]
    assert "Planted wrong finding" not in json.dumps(review) and "Leaked handle" not in json.dumps(review)
    assert "2 candidate findings were checked and dropped" in review["body"]
    assert check(review["body"], leading=2, links=("https://github.com/acme/widgets/blob/", "https://github.com/acme/widgets/pull/1/")) == []
    # the verify request carried the hunk and the enclosing function, read from git at the head
    (body,) = seen
    text = user_message(body)
    assert "def f0(x):" in text and "2:     return x / 0" in text and "@@ " in text
    # the job summary and SARIF list the dropped ones with the verifier's reasons
    assert "f20 is never called with user input" in summary.read_text()
    sarif = json.loads((sarif_dir / "pr-1.sarif").read_text())
    suppressed = [r for r in sarif["runs"][0]["results"] if r.get("suppressions")]
    assert len(suppressed) == 2 and {s["suppressions"][0]["kind"] for s in suppressed} == {"external"}
    assert "closed by the caller" in {s["suppressions"][0]["justification"] for s in suppressed}
    # retired, posted once
    assert world.manifests() == [] and world.poll() == 0 and len(world.github.reviews(1)) == 1


def test_a_target_without_candidates_sends_no_verify_request(any_world):
    world = any_world  # each provider in turn
    verifier(world, {}, by_title({}))
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    assert "0 findings" in review["body"] and world.manifests() == []
    assert len(world.batch_ids()) == 1  # no second batch


def test_an_expired_verify_batch_posts_the_findings_marked_unverified(any_world):
    world = any_world  # each provider in turn
    verifier(world, {"app.py": [TRUE, PLANTED]}, by_title({"Planted wrong finding": {"verdict": "refuted"}}))
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    world.openai.advance(world.batch_ids()[-1], "expired", finished=lambda cid: False)
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    comments = {c["line"]: c["body"] for c in review["comments"]}
    assert set(comments) == {2, 61} and all("unverified" in body for body in comments.values())
    assert "2 findings are posted unverified" in review["body"] and world.manifests() == []


@pytest.mark.parametrize("end", ["expired", "failed"])
def test_an_expired_or_failed_verify_batch_posts_the_findings_marked_unverified(world, end):
    verifier(world, {"app.py": [TRUE, PLANTED]}, by_title({"Planted wrong finding": {"verdict": "refuted"}}))
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    verify_batch = world.batch_ids()[-1]
    if end == "failed":  # the service refuses the input file as a whole
        world.openai.batches[verify_batch]["input_file_id"] = world.openai.batches[world.batch_ids()[0]][
            "input_file_id"]
        batch = world.openai.batches[verify_batch]
        data = world.openai.files[batch["input_file_id"]]["data"]
        world.openai.files[batch["input_file_id"]]["data"] = data + data  # duplicate custom_ids
        world.openai.advance(verify_batch, "completed")
        assert world.openai.batches[verify_batch]["status"] == "failed"
    else:
        world.openai.advance(verify_batch, "expired", finished=lambda cid: False)
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    comments = {c["line"]: c["body"] for c in review["comments"]}
    assert set(comments) == {2, 61}  # nothing refuted without an answer: both posted, marked
    assert all("unverified" in body for body in comments.values())
    assert "2 findings are posted unverified" in review["body"] and world.manifests() == []


def test_past_the_deadline_the_findings_are_posted_unverified_and_the_batch_cancelled(world):
    world.configure("verify:\n  deadline_hours: 1\n")
    verifier(world, {"app.py": [TRUE]}, by_title({}))
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    (path,) = world.manifests()
    data = json.loads(path.read_text())
    data["verify"]["started_at"] = "2000-01-01T00:00:00Z"  # not in the digest: the batch is still ours
    path.write_text(json.dumps(data))
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    assert "did not finish by its deadline" in review["body"] and "unverified" in review["comments"][0]["body"]
    assert world.openai.batches[world.batch_ids()[-1]]["status"] in ("cancelling", "cancelled")


def test_killed_between_rounds_loses_nothing_and_duplicates_nothing(world, monkeypatch):
    """The poll dies right after creating the verify batch, before its manifest reaches the store:
    the next poll derives the same verify manifest, finds that batch by its digest, and sends no second."""
    verifier(world, {"app.py": [TRUE, PLANTED]}, by_title({"Planted wrong finding": {"verdict": "refuted"}}))
    assert world.submit() == 0
    world.openai.complete_all()
    import batch_review.poll.verify as verify

    real = verify.send_batches

    def killed(*args, **kwargs):
        real(*args, **kwargs)
        raise SystemExit("killed")

    monkeypatch.setattr(verify, "send_batches", killed)
    with pytest.raises(SystemExit):
        world.poll()
    for folder in world.state.glob("*-verify"):  # the kill lost the verify manifest
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    monkeypatch.setattr(verify, "send_batches", real)
    assert world.poll() == 0
    assert len(world.batch_ids()) == 2  # the first round's and one verify batch, found again
    assert world.github.reviews(1) == []
    world.openai.complete_all()
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    assert [c["line"] for c in review["comments"]] == [2] and world.manifests() == []
    assert world.poll() == 0 and len(world.github.reviews(1)) == 1


def test_a_hostile_verify_answer_changes_nothing_it_should_not(any_world):
    world = any_world  # each provider in turn
    low = finding("app.py", 2, severity="low", title="Division by zero")

    def responder(cid: str, body: dict):
        if cid.endswith(":verify"):
            (c1, c2) = sorted(candidates_in(body))
            verdicts = [
                {"id": c1, "verdict": "confirmed", "reason": "ok", "severity": "critical"},  # raised: ignored
                {"id": c2, "verdict": "refuted", "severity": None,
                 "reason": "@admin see [x](https://evil.example) <img src=x> ![i](https://evil.example/i.png)"},
                {"id": "c99", "verdict": "refuted", "reason": "not asked", "severity": None},  # unknown id
                {"id": c2, "verdict": "confirmed", "reason": "twice", "severity": None},  # answered twice
            ]
            return chat_completion(json.dumps({"verdicts": verdicts}))
        return chat_completion(json.dumps({"findings": [low, PLANTED]}) if "=== app.py" in user_message(body)
                               else json.dumps({"findings": []}))

    world.openai.set_responder(responder)
    two_rounds(world)
    (review,) = world.github.reviews(1)
    comments = {c["line"]: c["body"] for c in review["comments"]}
    # the critical candidate (c1, most severe first) is kept at its own severity; the low one was answered
    # twice, so it is posted, unverified; nothing is raised, nothing dropped on the strength of a hostile id
    assert set(comments) == {2, 61}
    headings = {line: body.splitlines()[1] for line, body in comments.items()}  # after our hidden finding line
    assert headings[61].startswith("🔴 **critical**") and headings[2].startswith("🔵 **low**")
    assert "unverified" in comments[2] and "unverified" not in comments[61]
    assert "evil.example" not in review["body"] and "checked and dropped" not in review["body"]
    assert check(review["body"], leading=2, links=("https://github.com/acme/widgets/blob/", "https://github.com/acme/widgets/pull/1/")) == []


def _start_poll(world):
    import os
    import subprocess
    import sys

    from ..conftest import GITHUB_TOKEN, OPENAI_KEY

    env = {**os.environ, "OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": world.openai.base_url,
           "GITHUB_TOKEN": GITHUB_TOKEN, "GITHUB_REPOSITORY": "acme/widgets", "GITHUB_API_URL": world.github.api_url,
           "BATCH_REVIEW_WRITE_INTERVAL": "0"}
    return subprocess.Popen([sys.executable, "-m", "batch_review", "poll", "--state-dir", str(world.state)],
                            cwd=world.repo.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize(("method", "path"), [("POST", r"^/v1/files$"), ("POST", r"^/v1/batches$")],
                         ids=["killed while uploading the verify input", "killed while creating the verify batch"])
def test_a_poll_process_killed_between_rounds_loses_nothing_and_duplicates_nothing(world, method, path):
    import threading
    import time

    verifier(world, {"app.py": [TRUE, PLANTED]}, by_title({"Planted wrong finding": {"verdict": "refuted"}}))
    assert world.submit() == 0
    world.openai.complete_all()
    before = len(world.openai.requests(method, path))  # submit's own
    world.openai.inject(method, path, "timeout", seconds=30.0)
    proc = _start_poll(world)
    deadline, pause = time.time() + 90, threading.Event()
    while len(world.openai.requests(method, path)) == before:
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "the request never came"
        pause.wait(0.02)
    proc.kill()
    proc.wait(timeout=10)
    assert world.github.reviews(1) == []
    assert world.poll() == 0  # the rerun sends the verify round
    assert len(world.openai.batches) == 2 and world.github.reviews(1) == []
    world.openai.complete_all()
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    assert [c["line"] for c in review["comments"]] == [2] and "1 candidate finding was checked and dropped" in \
        review["body"]
    assert world.manifests() == [] and world.poll() == 0 and len(world.github.reviews(1)) == 1


def test_a_lost_verify_batch_waits_for_its_deadline_then_posts_unverified(world, capsys):
    verifier(world, {"app.py": [TRUE]}, by_title({}))
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    del world.openai.batches[world.batch_ids()[-1]]  # the service no longer knows the verify batch
    assert world.poll() == 1  # a service failure: left pending, nothing posted yet
    assert world.github.reviews(1) == [] and "left pending" in capsys.readouterr().err
    (path,) = world.manifests()
    data = json.loads(path.read_text())
    data["verify"]["started_at"] = "2000-01-01T00:00:00Z"
    path.write_text(json.dumps(data))
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    assert "the verify batch could not be found" in review["body"] and world.manifests() == []


def test_the_poll_budget_guard_keeps_an_over_budget_verify_round_from_being_sent(world, capsys):
    # the first round is already spent; the verify round alone must fit the run's cost limit
    verifier(world, {"app.py": [TRUE]}, by_title({}))
    assert world.submit() == 0
    world.openai.complete_all()
    world.configure("budget:\n  max_cost_usd: 0.0000001\n")
    assert world.poll() == 0
    assert len(world.openai.batches) == 1  # no verify batch
    (review,) = world.github.reviews(1)
    assert [c["line"] for c in review["comments"]] == [2]
    assert "verify round not sent" in capsys.readouterr().out


def test_status_and_the_cost_line_cover_both_rounds(world, capsys):
    verifier(world, {"app.py": [TRUE]}, by_title({}))
    assert world.submit() == 0
    out = capsys.readouterr().out
    assert "verify round, expected (2 candidates per target): 1 request" in out
    world.openai.complete_all()
    assert world.poll() == 0
    capsys.readouterr()
    assert world.run("status", "--state-dir", str(world.state)) == 0
    assert world.batch_ids()[-1] in capsys.readouterr().out  # the verify batch, pending
    world.openai.complete_all()
    assert world.poll() == 0
    out = capsys.readouterr().out
    assert re.search(r"gpt-5-mini\s+1\s+900\s", out)  # the verify round's usage in the cost table
