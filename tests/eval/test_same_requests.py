"""eval reviews an introducing commit exactly as submit reviews that commit: the same instructions, path
instructions, schema, model, caps and framing, the commit's message added as the author's description
(framed as submit frames a pull request's). If submit changes how it builds a request and eval's adapter
does not follow, this test says so."""

from __future__ import annotations

import json

from batch_review.cli import commands as cli

CONFIG = """\
model: gpt-5-nano
reasoning_effort: high
max_output_tokens: 3000
instructions: Review for correctness only.
path_instructions:
  - path: "*.py"
    instructions: Watch the off-by-one errors.
output:
  summary: false
"""


def lines_of(path) -> dict[str, dict]:
    return {(d := json.loads(x))["custom_id"].split(":", 1)[1]: d for x in path.read_text().splitlines()}


def test_the_eval_request_is_submits_request_with_the_commit_message_as_description(history, tmp_path):
    config = tmp_path / "same.yml"
    config.write_text(CONFIG)
    sha = history.sha("B")
    assert history.eval("--config", str(config), "--dry-run", "--since", "2025-01-31", "--limit", "3") == 0
    state = tmp_path / "submit-state"
    assert cli.main(["submit", "--dry-run", "--config", str(config), "--state-dir", str(state),
                     "--base", f"{sha[:12]}~1", "--head", sha[:12]]) == 0
    (submitted,) = state.glob("batch-review-*/input-000.jsonl")
    record = history.record()
    key = next(c["key"] for c in record["cases"] if c["sha"] == sha)
    ours = {cid.split(":", 1)[1]: d for cid, d in
            ((json.loads(x)["custom_id"], json.loads(x)) for x in (history.folder() / "input-000.jsonl").read_text()
             .splitlines()) if cid.startswith(key + ":")}
    theirs = lines_of(submitted)
    assert ours.keys() == theirs.keys() == {"0000:0"}
    mine, submits = ours["0000:0"]["body"], theirs["0000:0"]["body"]
    branches = f"Branches: {sha[:12]} into {sha[:12]}~1\n"
    assert submits["messages"][1]["content"].startswith(branches)
    assert mine["messages"][1]["content"] == submits["messages"][1]["content"].replace(
        branches, branches + "Description by the author:\n| Add a parser\n", 1)
    assert "instructions for this file: Watch the off-by-one errors." in mine["messages"][1]["content"]
    different = {k for k in mine.keys() | submits.keys() if mine.get(k) != submits.get(k)}
    assert different <= {"messages", "max_completion_tokens"}
    assert mine["messages"][0] == submits["messages"][0]  # the system prompt: instructions and contract
    assert mine["model"] == "gpt-5-nano" and mine["reasoning_effort"] == "high"
    assert submits["max_completion_tokens"] <= mine["max_completion_tokens"] <= 3000  # a longer input, a cap as long
