"""The provider's queue (issue 21 item 9, issue 26): a batch refused for the organization's queue is not a
failed review, and `budget.max_enqueued_tokens` splits a night to fit the queue.

Through the real CLI and clients against the emulators: OpenAI's enqueued-token limit per model (a batch
over it is created, then fails at validation with token_limit_exceeded, nothing billed) and Anthropic's
processing-queue limit (429 at create). Held: the refused part goes out again at a later poll and is
posted exactly once; no pull request is told its review failed; the split keeps every batch within the
limit (the emulator's own count) and delivers every target; a poll killed while sending a waiting part
loses nothing and sends nothing twice.
"""

from __future__ import annotations

import io
import json

import pytest

import batch_review.poll.batches as poll_batches

from ..conftest import finding
from ..night import ProviderHour
from .test_crash import TITLES, Actions, finish, lost_and_twice, sent_twice


@pytest.fixture(autouse=True)
def _no_wait(monkeypatch, signed):
    """Polls an hour apart: a manifest is never young enough to belong to a submit still running."""
    monkeypatch.setattr(poll_batches, "RESUME_AFTER", poll_batches.dt.timedelta(0))


@pytest.fixture
def answers(any_world):
    any_world.configure("request_unit: file\n")  # app.py and util.py in requests of their own
    any_world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")],
                           "util.py": [finding("util.py", 4, title="Leak")]})
    return any_world


def occupy(emu, tokens: int, model: str = "gpt-5-mini") -> str:
    """Another repository's batch of the same organization, in progress, holding `tokens` of the queue."""
    body = {"model": model, "messages": [{"role": "system", "content": "other"},
                                         {"role": "user", "content": "x" * (4 * tokens - 80)}],
            "max_completion_tokens": 10}
    line = json.dumps({"custom_id": "other-1", "method": "POST", "url": "/v1/chat/completions", "body": body})
    import openai

    client = openai.OpenAI(api_key=emu.api_key, base_url=emu.base_url)
    upload = client.files.create(file=("other.jsonl", io.BytesIO(line.encode() + b"\n")), purpose="batch")
    batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    emu.advance(batch.id, "in_progress")
    return batch.id


def two_file_night(world):
    """A night of one pull request whose two files are two requests, submitted as one batch: (emulator, batch id)."""
    world.configure("request_unit: file\n")
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")],
                       "util.py": [finding("util.py", 4, title="Leak")]})
    assert world.submit() == 0
    (batch,) = world.openai.batches
    return world.openai, batch


def test_a_batch_refused_for_the_queue_goes_out_again_and_is_posted_once(world, capsys):
    emu, ours = two_file_night(world)
    mine = emu.batch_tokens(ours)
    other = occupy(emu, mine)
    emu.enqueued_token_limit = mine + mine // 2  # room for one of the two
    assert emu.start_all() == [ours]
    refused = emu.batches[ours]
    assert refused["errors"]["data"][0]["code"] == "token_limit_exceeded"
    assert "Enqueued token limit reached for gpt-5-mini" in refused["errors"]["data"][0]["message"]
    assert refused["output_file_id"] is None and refused["usage"] is None, "nothing run, nothing billed"
    capsys.readouterr()
    assert world.run("status", "--state-dir", str(world.state)) == 0
    shown = capsys.readouterr().out
    assert "refused: waiting for the provider's queue" in shown
    assert "Waiting for the provider's queue: 1 target in 1 batch" in shown
    assert world.poll() == 0
    out = capsys.readouterr().out
    assert "refused by the provider's queue (token_limit_exceeded)" in out
    assert world.github.reviews(1) == [], "not reported on the pull request as a failed review"
    assert len(world.manifests()) == 1, "the manifest waits"
    again = [b for b in emu.batches if b not in (ours, other)]
    assert len(again) == 1, "the part went out again at once (a refused part never ran)"
    assert emu.start_all() == again, "the queue is still full: refused again"
    assert world.poll() == 0 and world.github.reviews(1) == []
    emu.advance(other, "completed")  # the other repository's batch finishes: the queue has room
    third = [b for b in emu.batches if b not in (ours, other, *again)]
    assert len(third) == 1 and emu.start_all() == []
    emu.complete_all()
    assert world.poll() == 0
    assert lost_and_twice(world, TITLES) == ([], []) and world.manifests() == []
    assert world.poll() == 0 and len(world.github.reviews(1)) == 1, "exactly once"
    assert sent_twice(world) == []
    assert "failed" not in world.github.reviews(1)[0]["body"].lower()



def occupy_claude(emu, requests: int) -> str:
    """Another workspace batch of `requests` requests, processing: it holds that much of the queue."""
    import anthropic

    client = anthropic.Anthropic(api_key=emu.api_key, base_url=emu.base_url, max_retries=0)
    batch = client.messages.batches.create(requests=[
        {"custom_id": f"other_{i}", "params": {"model": "claude-haiku-4-5", "max_tokens": 10, "system": "other",
                                               "messages": [{"role": "user", "content": "hello"}]}}
        for i in range(requests)])
    return batch.id


def test_anthropic_refuses_at_create_and_the_part_waits(claude_world, capsys, tmp_path, monkeypatch):
    world = claude_world
    world.configure("request_unit: file\n")
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")],
                       "util.py": [finding("util.py", 4, title="Leak")]})
    emu = world.openai  # the Message Batches emulator
    other = occupy_claude(emu, 5)
    emu.queue_limit = 6  # our two requests do not fit beside the other five
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert world.submit() == 0, "a full queue is not a failed submit"
    assert list(emu.batches) == [other] and emu.queue_refusals >= 1
    assert "Waiting for the provider's queue: 1 target in 1 batch" in summary.read_text()
    assert [b.get("id") for b in world.manifest()["batches"]] == [None], "kept, without a batch id"
    capsys.readouterr()
    assert world.run("status", "--state-dir", str(world.state)) == 0
    assert "Waiting for the provider's queue: 1 target in 1 batch" in capsys.readouterr().out
    summary.write_text("")
    assert world.poll() == 0, "still full: the part waits"
    assert "Waiting for the provider's queue: 1 target in 1 batch" in summary.read_text()
    assert world.github.reviews(1) == [] and list(emu.batches) == [other]
    emu.advance(other, "completed")  # the queue has room again
    assert world.poll() == 0
    (ours,) = [b for b in emu.batches if b != other]
    emu.complete_all()
    assert world.poll() == 0
    assert lost_and_twice(world, TITLES) == ([], []) and world.manifests() == []
    assert world.poll() == 0 and len(world.github.reviews(1)) == 1 and len(emu.batches) == 2


SPLIT = "request_unit: file\nmax_input_tokens: 1000\nbudget:\n  max_enqueued_tokens: 1000\n"


def test_a_poll_killed_while_sending_a_waiting_part_loses_nothing(world, tmp_path):
    world.configure(SPLIT)
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")],
                       "util.py": [finding("util.py", 4, title="Leak")]})
    actions = Actions(world, tmp_path)
    assert actions.job("submit") == 0
    parts = json.loads(next((tmp_path / "runs" / "run1").glob("*/manifest.json")).read_text())["batches"]
    assert len(parts) == 2 and [bool(p.get("id")) for p in parts] == [True, False], "one part fits, one waits"
    (first,) = world.batch_ids()
    world.openai.complete_all()
    actions.an_hour_later()
    actions.killed("poll", world.openai, "POST", r"^/v1/batches$")  # killed creating the waiting part
    assert world.github.reviews(1) == []
    actions.an_hour_later()
    assert actions.job("poll") == 0
    second = [b for b in world.batch_ids() if b != first]
    assert len(second) == 1, "the waiting part created once"
    finish(world, actions)  # every stored manifest retired, nothing lost or sent twice
    assert len(world.github.reviews(1)) == 1


def test_max_enqueued_tokens_splits_the_night_and_delivers_every_target(tmp_path, openai_emu, monkeypatch):
    from .test_night import make_night

    night = make_night(tmp_path, openai_emu, monkeypatch, 12, 80, 500)
    try:
        limit = 3000
        night.configure("targets:\n  pull_requests:\n    skip_authors: []\nmax_input_tokens: 1000\n"
                        f"budget:\n  max_enqueued_tokens: {limit}\n")
        openai_emu.enqueued_token_limit = limit
        from batch_review.cli import commands as cli

        assert cli.main(["submit", "--state-dir", str(night.state)]) == 0
        (path,) = night.state.glob("*/manifest.json")
        parts = json.loads(path.read_text())["batches"]
        assert len(parts) >= 3 and sum(bool(p.get("id")) for p in parts) == 1, "one part at a time fits"
        queue = ProviderHour(openai_emu)
        night.run_polls(hour=queue.hour)
        night.check(500, max_calls=None, queue_polls=len(parts))  # no duplicate, nothing lost, every finding on its line
        assert openai_emu.queue_refusals == [], "no batch over the limit"
        assert 0 < queue.most <= limit
        assert len(openai_emu.batches) == len(parts), "each part created once"
        assert 0 < len(night.polls[0].posted) < 12, "the first batch's reviews go out while the others wait"
    finally:
        night.github.stop()


def test_a_batch_larger_than_the_queue_goes_to_the_next_submit_once_the_key_is_set(world, capsys):
    """Without the key the night is one batch larger than the organization's queue: refused at every poll.
    Once budget.max_enqueued_tokens is set, the poll leaves its targets to the next submit (nothing of them
    ran or was posted) and retires it; that submit splits them to fit, and they are posted exactly once."""
    emu, first = two_file_night(world)
    emu.enqueued_token_limit = emu.batch_tokens(first) * 3 // 4  # the whole night never fits
    assert emu.start_all() == [first]
    assert world.poll() == 0 and world.github.reviews(1) == []
    assert emu.start_all() != [], "sent again, refused again"
    world.configure("max_input_tokens: 1000\nbudget:\n  max_enqueued_tokens: 1000\n")  # the user sets the key
    capsys.readouterr()
    assert world.poll() == 0
    assert "left to the next submit, which splits them to fit" in capsys.readouterr().out
    assert world.manifests() == [] and world.github.reviews(1) == []
    assert world.submit() == 0, "not pending any more: submitted again, split"
    parts = world.manifest()["batches"]
    assert len(parts) == 2
    refusals = len(emu.queue_refusals)
    for _ in range(4):
        emu.start_all()
        emu.complete_all()
        assert world.poll() == 0
    assert len(emu.queue_refusals) == refusals, "each part of the split night fits the queue"
    assert lost_and_twice(world, TITLES) == ([], []) and sent_twice(world) == []
    assert len(world.github.reviews(1)) == 1 and world.manifests() == []


def test_a_refused_batch_that_is_not_this_manifests_is_not_believed(world, capsys):
    """An altered manifest names someone else's batch that the queue refused (who holds the provider key
    could make one): it does not carry this manifest's digest, so nothing is created again for it and
    nothing is posted; the manifest is reported."""
    world.configure("request_unit: file\n")
    assert world.submit() == 0
    emu = world.openai
    (ours,) = emu.batches
    foreign = occupy(emu, 10)  # in progress already: make a second one that the queue refuses
    emu.enqueued_token_limit = 10
    stranger = occupy_refused(emu)
    assert emu.batches[stranger]["status"] == "failed" and emu.batches[foreign]["status"] == "in_progress"
    path = world.manifests()[0]
    doc = json.loads(path.read_text())
    doc["batches"][0]["id"] = stranger
    path.write_text(json.dumps(doc))
    before = set(emu.batches)
    capsys.readouterr()
    assert world.poll() == 0
    out = capsys.readouterr()
    assert "does not carry this manifest's digest" in out.out + out.err
    assert set(emu.batches) == before, "nothing created again for a batch that is not ours"
    assert world.github.reviews(1) == [] and ours in emu.batches


def occupy_refused(emu) -> str:
    """Another batch of the organization, created and refused by its full queue."""
    import openai

    body = {"model": "gpt-5-mini", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u" * 400}],
            "max_completion_tokens": 10}
    line = json.dumps({"custom_id": "x-1", "method": "POST", "url": "/v1/chat/completions", "body": body})
    client = openai.OpenAI(api_key=emu.api_key, base_url=emu.base_url)
    upload = client.files.create(file=("x.jsonl", io.BytesIO(line.encode() + b"\n")), purpose="batch")
    batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h",
                                  metadata={"batch_review": "2", "part": "1/1"})
    emu.advance(batch.id, "in_progress")
    return batch.id
