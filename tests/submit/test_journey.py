"""submit end to end: real git, the real openai and PyGithub clients, loopback emulators."""

from __future__ import annotations

import gc
import json

import pytest

from batch_review.submit import plans
from batch_review.submit.plans import cycle_collection_paused

from ..conftest import GITHUB_TOKEN, OPENAI_KEY, paths_of


def test_submit_reviews_open_pull_requests_and_only_once(world, capsys):
    assert world.submit() == 0
    out = capsys.readouterr().out
    assert "skipped #2: draft" in out and "skipped #3: label 'no-batch-review' is excluded" in out
    m = world.manifest()
    assert list(m["targets"]) == ["pr-1"]
    target = m["targets"]["pr-1"]
    assert target["head_sha"] == world.pulls[1] and target["number"] == 1
    # one request for the pull request: both files, whole, in file order
    assert [paths_of(r) for r in m["requests"].values()] == [["app.py", "util.py"]]
    assert m["skipped"]["pr-1"] == [{"path": "poetry.lock", "reason": "excluded by default: lock file"}]
    assert m["files"]["pr-1"]["app.py"]["RIGHT"] == [[1, 8], [59, 65]]
    (batch_id,) = world.batch_ids()
    batch = world.openai.batches[batch_id]
    assert m["batches"][0]["id"] == batch_id and batch["completion_window"] == "24h"
    assert batch["metadata"]["manifest_digest"] and batch["metadata"]["repository"] == "acme/widgets"
    lines = world.openai.lines(batch["input_file_id"])
    assert {x["custom_id"] for x in lines} == set(m["requests"])
    assert world.openai.files[batch["input_file_id"]]["purpose"] == "batch"
    # the emulator validates every line against the official request types when validation runs
    assert world.openai.advance(batch_id, "in_progress")["status"] == "in_progress"
    # a second run the same night submits nothing new
    assert world.submit() == 0
    assert "skipped #1: head" in capsys.readouterr().out
    assert len(world.openai.batches) == 1


def test_pull_request_heads_are_fetched_without_writing_the_token(world):
    assert world.submit() == 0
    config = (world.repo.path / ".git" / "config").read_text()
    assert GITHUB_TOKEN not in config and "extraheader" not in config
    for path in world.state.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert GITHUB_TOKEN.encode() not in data and OPENAI_KEY.encode() not in data


def test_over_budget_sends_nothing(world, capsys):
    (world.repo.path / ".github").mkdir()
    (world.repo.path / ".github" / "batch-review.yml").write_text("request_unit: file\nbudget:\n  max_requests: 1\n")
    assert world.submit() == 3
    err = capsys.readouterr().err
    assert "over budget: 2 requests is over budget.max_requests (1); nothing submitted" in err
    assert world.openai.requests("POST") == [] and world.manifests() == []


def test_budget_fit_submits_whole_targets_that_fit(world, capsys, github_emu):
    github_emu.pulls[2]["draft"] = False
    (world.repo.path / ".github").mkdir()
    (world.repo.path / ".github" / "batch-review.yml").write_text(
        "request_unit: file\nbudget:\n  max_requests: 1\n  on_exceed: fit\n")
    assert world.submit() == 0
    m = world.manifest()
    assert list(m["targets"]) == ["pr-2"]
    assert "submitted 1 of 2 targets (budget.on_exceed: fit)" in capsys.readouterr().err


def test_bad_config_is_one_line_exit_2_and_nothing_sent(world, capsys):
    (world.repo.path / ".github").mkdir()
    (world.repo.path / ".github" / "batch-review.yml").write_text("output:\n  mode: reviews\n")
    assert world.submit() == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: .github/batch-review.yml: output.mode: 'reviews' is not allowed; "
                   "allowed: review, check, both"]
    assert world.openai.requests("POST") == [] and world.github.requests("POST") == []


def test_failed_create_deletes_the_upload_and_leaves_no_manifest(world, capsys):
    world.openai.inject("POST", r"^/v1/batches$", 400, body={"error": {"message": "token_limit_exceeded",
                                                                         "type": "invalid_request_error",
                                                                         "code": "token_limit_exceeded"}})
    assert world.submit() == 1
    err = capsys.readouterr().err
    assert "creating the batch" in err and "deleted 2 files; nothing submitted" in err  # input + manifest copy
    assert world.openai.files == {} and world.manifests() == []


def test_transient_errors_are_retried_by_the_client(world):
    world.openai.inject("POST", r"^/v1/files$", 503, times=1)
    world.openai.inject("POST", r"^/v1/batches$", 429, retry_after="0", times=1)
    world.github.inject("GET", r"/pulls$", 502, times=1)
    assert world.submit() == 0
    assert len(world.openai.batches) == 1 and len(world.openai.files) == 2  # the input and the manifest copy


def test_dry_run_needs_no_token_and_no_network(world, monkeypatch, capsys):
    for var in ("OPENAI_API_KEY", "GITHUB_TOKEN", "GITHUB_REPOSITORY", "OPENAI_BASE_URL", "GITHUB_API_URL"):
        monkeypatch.delenv(var)
    world.repo.branch("topic")
    world.repo.write("app.py", "print('hello')\n")
    world.repo.commit("topic change")
    assert world.submit("--dry-run") == 0
    out = capsys.readouterr().out
    assert "batch-review submit (dry run)" in out and "main...topic" in out
    m = world.manifest()
    assert m["dry_run"] is True and m["batches"][0].get("id") is None
    assert world.openai.log == [] and world.github.log == []
    lines = [json.loads(x) for x in (world.manifests()[0].parent / "input-000.jsonl").read_text().splitlines()]
    assert [x["url"] for x in lines] == ["/v1/chat/completions"]


def test_an_empty_pull_request_is_reported_not_submitted(world, capsys, github_emu):
    base = github_emu.pulls[1]["base_sha"]
    github_emu.add_pull(4, head_sha=base, base_sha=base, diff="")
    assert world.submit("--pr", "4") == 0
    assert "skipped #4: empty diff" in capsys.readouterr().out
    assert world.openai.batches == {} and world.manifests() == []


def test_no_diff_driver_or_textconv_of_the_repository_is_run(world, tmp_path):
    from ..gitfixture import git

    marker = tmp_path / "PWNED"
    git(world.repo.path, "config", "diff.evil.textconv", f"sh -c 'touch {marker}; cat \"$0\"'")
    git(world.repo.path, "config", "diff.evil.command", f"sh -c 'touch {marker}'")
    git(world.repo.path, "config", "diff.external", f"sh -c 'touch {marker}'")
    (world.repo.path / ".gitattributes").write_text("*.py diff=evil\n")
    assert world.submit() == 0
    assert not marker.exists()
    assert [paths_of(r) for r in world.manifest()["requests"].values()] == [["app.py", "util.py"]]


def test_a_lost_answer_to_create_batch_does_not_create_two(world):
    world.openai.inject("POST", r"^/v1/batches$", "lost_response")
    assert world.submit() == 0
    assert len(world.openai.batches) == 1
    assert world.manifest()["batches"][0]["id"] == next(iter(world.openai.batches))


def test_hostile_pull_request_titles_render_inert_in_the_job_summary(world, github_emu, monkeypatch, tmp_path):
    """A pull request's author writes its title: in the submit job summary it must show as written and do
    nothing else (no mention pinging a team, no tracking image, no link, no HTML, no extra table cells)."""
    import re

    from batch_review.markdown import safety as ms
    from batch_review.markdown.check import check

    from ..markdown_view import visible

    titles = {1: "@acme/admins #3 ![i](https://evil.test/p.png) [x](https://e.test)",
              2: "a | b | c | d | e | f | g | h | i | <img src=x>",
              3: "</td></tr></table><!-- batch-review:v1 --> **b** \\|"}
    for number, title in titles.items():
        github_emu.pulls[number].update(title=title, draft=False, labels=[])
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert world.submit("--dry-run") == 0
    text = summary.read_text()
    assert check(text) == []  # nothing live: mention, reference, image, link, raw HTML, comment
    html = ms.render(text)
    rows = [re.findall(r"<t[dh][^>]*>", row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)]
    assert [len(r) for r in rows] == [8] * 5  # header, three targets, total: every row keeps its 8 cells
    for number, title in titles.items():
        assert f"#{number} {title}"[:60].strip() in visible(text)  # shown as written (clipped to 60)


def test_a_target_is_planned_without_cycle_collection_and_the_collector_comes_back(world, monkeypatch):
    """Planning allocates millions of acyclic objects on a large diff; the cycle collector rescanning them
    was a third of the planning time (bench/bench_submit.py). It is paused per target, never left off."""
    seen, real = [], plans.plan_target

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(plans, "plan_target", spy)
    assert gc.isenabled()
    assert world.submit("--dry-run") == 0
    assert seen == [False] and gc.isenabled()


def test_the_cycle_collector_is_restored_as_it_was_even_after_an_error():
    with pytest.raises(RuntimeError), cycle_collection_paused():
        assert not gc.isenabled()
        raise RuntimeError("planning failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with cycle_collection_paused():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()
