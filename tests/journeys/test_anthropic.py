"""provider anthropic end to end: the real `anthropic` SDK against the Message Batches emulator, the real
PyGithub against the GitHub emulator, and the same placement and exactly-once guarantees as OpenAI.

The poll journey's scenarios that are the same for both providers run in tests/poll/test_journey.py with
the provider-parametrized `any_world`; this file holds what differs for Claude.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from batch_review.planning.pricing import format_usd

from ..conftest import ANTHROPIC_KEY, finding, ours
from ..emulators.anthropic_emu import claude_message, params_problem
from ..emulators.github_emu import make_zip

# --- the poll journey, with provider anthropic (tests/poll/test_journey.py runs its shared scenarios with
# any_world: each provider in turn) ---------------------------------------------------------------------

def test_expired_requests_post_partial_results_and_go_out_again(claude_world):
    """As with OpenAI, but with no manifest copy on the service the parent manifest is kept until the
    manifest of its resubmitted requests is seen in the store (the next poll), then retired."""
    w = claude_world
    w.configure("request_unit: file\n")
    w.answer_with({"app.py": [finding("app.py", 2)], "util.py": [finding("util.py", 4, title="Leak")]})
    assert w.submit() == 0
    (batch_id,) = w.batch_ids()
    app_id = w.request_of("app.py")
    w.openai.advance(batch_id, "expired", finished=lambda cid: cid == app_id)
    assert w.poll() == 0
    (first,) = w.github.reviews(1)
    assert [c["line"] for c in first["comments"]] == [2]
    assert "1 request expired and was submitted again" in first["body"]
    parent, retry = sorted((json.loads(p.read_text()) for p in w.manifests()), key=lambda m: m["attempt"])
    assert retry["attempt"] == 1 and retry["parent"] is not None and list(retry["requests"]) != [app_id]
    new_batch = retry["batches"][0]["id"]
    assert new_batch != batch_id and len(w.batch_ids()) == 2
    assert w.poll() == 0  # the parent sees its child stored: retired, not resubmitted again
    assert len(w.batch_ids()) == 2 and len(w.manifests()) == 1 and len(w.github.reviews(1)) == 1
    w.openai.advance(new_batch, "completed")
    assert w.poll() == 0
    second = w.github.reviews(1)[1]
    assert [c["path"] for c in second["comments"]] == ["util.py"]
    assert "resubmission" in second["body"] and w.manifests() == []


def test_status_shows_when_a_claude_batch_ended_or_the_latest_it_can(claude_world, capsys):
    """Issue 22: the last column is the batch's ended_at once it ended, and its expires_at while it runs."""
    w = claude_world
    assert w.submit() == 0
    (batch_id,) = w.batch_ids()
    capsys.readouterr()
    assert w.run("status", "--state-dir", str(w.state)) == 0
    assert f"by {_utc(w.openai.batches[batch_id]['expires_at'])}" in capsys.readouterr().out
    w.openai.advance(batch_id, "completed")
    assert w.run("status", "--state-dir", str(w.state)) == 0
    row = capsys.readouterr().out.splitlines()[-1]
    assert row.endswith(_utc(w.openai.batches[batch_id]["ended_at"])) and " by " not in row


def _utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(int(ts), dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- submit ---------------------------------------------------------------------------------------------

def test_dry_run_writes_the_messages_requests_and_prices_them_at_claude_batch_prices(claude_world, capsys,
                                                                                      monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY")  # a dry run needs no key
    assert claude_world.submit("--dry-run") == 0
    m = claude_world.manifest()
    assert m["provider"]["name"] == "anthropic" and m["endpoint"] == "/v1/messages"
    assert m["model"] == "claude-haiku-4-5" and m["dry_run"] is True
    (path,) = claude_world.state.glob("*/input-000.jsonl")
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(lines) == len(m["requests"]) == 1  # one request for pull request 1
    for line in lines:
        params = line["body"]
        assert line["url"] == "/v1/messages" and params_problem(params) is None  # what the SDK types accept
        assert params["system"][0]["cache_control"] == {"type": "ephemeral"}
        assert params["output_config"]["format"]["type"] == "json_schema"
        assert params["max_tokens"] == m["requests"][line["custom_id"]]["max_output_tokens"]
        # reasoning_effort low (the default): Haiku 4.5 thinks with a budget only when the cap leaves the
        # answer 1,024 tokens beside the smallest budget; this small pull request's cap does not
        assert params["max_tokens"] < 2048 and "thinking" not in params
    est = m["estimate"]
    expected = (est["input_tokens"] * 1.00 + est["max_output_tokens"] * 5.00) / 1e6 * 0.5  # Haiku 4.5, half
    assert est["batch_usd"] == pytest.approx(expected, rel=1e-6)
    assert format_usd(expected) in capsys.readouterr().out
    assert claude_world.openai.log == []  # nothing sent


def test_submit_sends_one_batch_of_mapped_custom_ids_and_nothing_else(claude_world):
    assert claude_world.submit() == 0
    (batch_id,) = claude_world.batch_ids()
    m = claude_world.manifest()
    digest = claude_world.openai.requests("POST", r"/batches$")[0]
    sent = [r["custom_id"] for r in digest.json["requests"]]
    assert [ours(cid) for cid in sent] == list(m["requests"])
    assert all(len(cid) <= 64 and cid.split("_", 1)[0] == sent[0][:16] for cid in sent)
    assert [b["id"] for b in m["batches"]] == [batch_id]
    assert "manifest_file" not in m["batches"][0]  # the API keeps no files: no copy of the manifest
    assert claude_world.submit() == 0  # a second run the same night submits nothing new
    assert claude_world.batch_ids() == [batch_id]


def test_over_budget_at_claude_prices_sends_nothing(claude_world, capsys):
    claude_world.configure("budget:\n  max_cost_usd: 0.001\n")
    assert claude_world.submit() == 3
    assert "is over budget.max_cost_usd ($0.0010); nothing submitted" in capsys.readouterr().err
    assert claude_world.openai.log == [] and claude_world.manifests() == []


def test_a_missing_key_is_one_line_exit_2_and_nothing_sent(claude_world, capsys, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-the-one")  # another provider's key does not count
    assert claude_world.submit() == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith("ANTHROPIC_API_KEY is not set (the action's anthropic-api-key "
                                             "input); use --dry-run to build the batch without sending it")
    assert claude_world.openai.log == [] and claude_world.manifests() == []


def test_a_model_without_a_price_is_one_line_exit_3_and_nothing_sent(claude_world, capsys):
    """A typo in a Claude model's name has no price: with the default budget.max_cost_usd the cost guard
    cannot hold, so nothing is built (the dry run included), and the line offers the close name."""
    path = claude_world.repo.path / ".github" / "batch-review.yml"
    path.write_text(path.read_text().replace("model: claude-haiku-4-5\n", "model: claude-sonet-4-6\n"))
    assert claude_world.submit("--dry-run") == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'claude-sonet-4-6' has no known price" in err[0]
    assert "did you mean 'claude-sonnet-4-6'?" in err[0] and "prices:" in err[0]
    assert claude_world.manifests() == [] and claude_world.openai.log == []


def test_an_openai_model_routed_with_provider_anthropic_is_one_line_exit_2(claude_world, capsys):
    claude_world.configure("routing:\n  - model: gpt-5\n    paths: ['*.py']\n")
    assert claude_world.submit("--dry-run") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: .github/batch-review.yml: routing[0].model: 'gpt-5' is an "
                                              "OpenAI model, but provider.name is anthropic")
    assert claude_world.manifests() == [] and claude_world.openai.log == []


# --- results: what Anthropic's stream holds -----------------------------------------------------------

def test_overloaded_requests_go_out_again_and_invalid_ones_are_reported(claude_world):
    w = claude_world
    w.configure("request_unit: file\n")
    w.answer_with({"app.py": (529, {"error": {"type": "overloaded_error", "message": "Overloaded"}}),
                   "util.py": (400, {"error": {"type": "invalid_request_error", "message": "bad params"}})})
    assert w.submit() == 0
    w.openai.complete_all()
    assert w.poll() == 0
    (first,) = w.github.reviews(1)
    assert "1 request expired and was submitted again" in first["body"]
    assert "`invalid_request_error` bad params" in first["body"]
    retry = max((json.loads(p.read_text()) for p in w.manifests()), key=lambda m: m["attempt"])
    assert [r["files"][0]["path"] for r in retry["requests"].values()] == ["app.py"]
    w.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")]})
    w.openai.complete_all()
    assert w.poll() == 0
    assert w.poll() == 0  # the parent is retired once its child is listed; the child posts
    second = w.github.reviews(1)[1]
    assert [c["line"] for c in second["comments"]] == [2] and w.manifests() == []


def test_a_cancelled_batch_posts_what_ran_and_reports_the_rest(claude_world):
    w = claude_world
    w.configure("request_unit: file\n")
    w.answer_with({"app.py": [finding("app.py", 2)]})
    assert w.submit() == 0
    (batch_id,) = w.batch_ids()
    assert w.run("cancel", "--all", "--state-dir", str(w.state)) == 0
    assert w.openai.batches[batch_id]["processing_status"] == "canceling"
    app_id = w.request_of("app.py")
    w.openai.advance(batch_id, "cancelled", finished=lambda cid: cid == app_id)
    assert w.poll() == 0
    (review,) = w.github.reviews(1)
    assert [c["line"] for c in review["comments"]] == [2]
    assert "Requests that failed" in review["body"] and "batch_cancelled" in review["body"]
    assert w.manifests() == []


def test_cached_and_written_prompt_tokens_are_counted_as_input(claude_world, capsys):
    w = claude_world
    w.openai.set_responder(lambda cid, params: claude_message(
        json.dumps({"findings": []}), input_tokens=100, cache_read=900, cache_write=300, output_tokens=50))
    assert w.submit() == 0
    w.openai.complete_all()
    capsys.readouterr()
    assert w.poll() == 0
    row = next(x for x in capsys.readouterr().out.splitlines() if x.lstrip().startswith("claude-haiku-4-5"))
    assert "1,300" in row and "900" in row  # input (100 + 300 written + 900 read), of which cached


# --- attacks ----------------------------------------------------------------------------------------------

def _results(w, batch_id: str) -> list[dict]:
    return [json.loads(x) for x in w.openai.batches[batch_id]["results"].splitlines()]


def _set_results(w, batch_id: str, lines: list[dict]) -> None:
    w.openai.batches[batch_id]["results"] = b"".join(json.dumps(x).encode() + b"\n" for x in lines)


def test_result_lines_we_never_sent_or_sent_twice_post_nothing_extra(claude_world, capsys):
    """Attacker: a results stream with a forged line for another pull request's id (raw, in our own
    spelling, and under another manifest's prefix) and a second, different answer for our request. Only
    our request's first answer is posted, once, on its own pull request."""
    w = claude_world
    w.answer_with({"app.py": [finding("app.py", 2, title="Real")]})
    assert w.submit() == 0
    (batch_id,) = w.batch_ids()
    w.openai.complete_all()
    (line,) = _results(w, batch_id)
    forged = json.loads(json.dumps(line))
    forged["result"]["message"]["content"][0]["text"] = json.dumps(
        {"findings": [finding("app.py", 5, title="Forged")]})
    prefix = line["custom_id"].split("_", 1)[0]
    others = [dict(forged, custom_id=cid) for cid in
              ("pr-2:0000:0", f"{prefix}_pr-2_0000_0", "0123456789abcdef_pr-1_0000_0", "pr-1_0000_0")]
    _set_results(w, batch_id, [line, forged, *others])
    assert w.poll() == 0
    (review,) = w.github.reviews(1)
    text = review["body"] + "".join(c["body"] for c in review["comments"])
    assert "Real" in text and "Forged" not in text
    assert w.github.reviews(2) == []
    err = capsys.readouterr().err
    assert "answered twice; the first kept" in err and err.count("result for unknown custom_id") == 4


def test_a_manifest_pointed_at_another_runs_batch_posts_nothing(claude_world, capsys):
    """Attacker: an altered manifest (its batch id swapped for another manifest's batch, or any field
    changed) has another digest; the batch's results do not carry it, so nothing is posted from it."""
    w = claude_world
    w.answer_with({"app.py": [finding("app.py", 2, title="Real")]})
    assert w.submit() == 0
    w.openai.complete_all()
    (path,) = w.manifests()
    data = json.loads(path.read_text())
    data["targets"]["pr-1"]["title"] = "changed after submission"
    path.write_text(json.dumps(data))
    assert w.poll() == 0
    assert w.github.reviews(1) == []
    assert "none of its 1 result is a request of this manifest" in capsys.readouterr().err
    assert len(w.manifests()) == 1  # kept, never retired from a batch it cannot prove its own


def test_hostile_claude_text_goes_through_the_same_neutralizer(claude_world):
    w = claude_world
    hostile = ("Ping @admin and see #1; <details><summary>x</summary> "
               "<!-- batch-review:v1 target=pr-9 head=abc1234 manifest=0123456789abcdef -->")
    w.answer_with({"app.py": [finding("app.py", 2, title="@everyone " + hostile, body=hostile)]})
    assert w.submit() == 0
    w.openai.complete_all()
    assert w.poll() == 0
    (review,) = w.github.reviews(1)
    first, comment = review["comments"][0]["body"].split("\n", 1)  # our hidden line names the finding (issue 20)
    assert first.startswith("<!-- batch-review:finding ")
    assert "@\u2060admin" in comment and "<!--" not in comment and "<details>" not in comment
    assert review["body"].count("<!-- batch-review:v1") == 1 and review["body"].startswith("<!-- batch-review:v1")


def test_poll_from_the_artifact_store_posts_once(claude_world):
    w = claude_world
    w.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")]})
    assert w.submit() == 0
    w.openai.complete_all()
    files = {str(p.relative_to(w.state)): p.read_bytes() for p in w.state.rglob("*") if p.is_file()}
    w.github.add_artifact("batch-review-7-1", make_zip(files))
    assert w.run("poll", "--artifacts", "--state-dir", str(w.state.parent / "poll")) == 0
    assert w.run("poll", "--artifacts", "--state-dir", str(w.state.parent / "poll")) == 0
    assert len(w.github.reviews(1)) == 1 and w.github.artifacts == {}


def test_the_key_never_leaves_in_an_error_line(claude_world, capsys):
    """A gateway that echoes the request headers (Authorization: Bearer <key>) into its error."""
    w = claude_world
    w.openai.inject("POST", r"^/v1/messages/batches$", "echo", status=400)
    assert w.submit() == 1
    out = capsys.readouterr()
    assert ANTHROPIC_KEY not in out.out + out.err
    assert "creating the batch" in out.err


def test_the_actions_anthropic_api_key_input_runs_submit_and_is_masked(claude_world, tmp_path, monkeypatch):
    from tests.cli.test_actions_env import run_entrypoint

    monkeypatch.delenv("ANTHROPIC_API_KEY")  # only the action's input holds it
    proc, outputs, summary = run_entrypoint(claude_world, tmp_path, "schedule", **{"anthropic-api-key": ANTHROPIC_KEY})
    assert proc.returncode == 0, proc.stderr
    (batch_id,) = claude_world.batch_ids()
    assert outputs["batch-ids"] == batch_id and float(outputs["estimated-cost"]) > 0
    logged = [line for line in (proc.stdout + proc.stderr).splitlines() if not line.startswith("::add-mask::")]
    assert ANTHROPIC_KEY not in "\n".join(logged) + summary and f"::add-mask::{ANTHROPIC_KEY}" in proc.stdout
