"""Tokens of the requests `submit --dry-run` builds for one change, counted with o200k_base.

    TIKTOKEN_CACHE_DIR=DIR python tools/prompt_tokens.py --repo PATH --base main --head feature

DIR holds o200k_base.tiktoken under the sha1 name tiktoken looks for (see ../shared/FACTS.md). Prints
requests, input tokens (system + user + schema + 7 per request for the message framing), the tokens of
the diff itself (the +/-/space lines of `git diff -U3` of the reviewed files), what is not diff per
reviewed file, and the product's own estimate beside the count. Works on any version of the tool: it only
reads the batch input and the manifest a dry run writes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import tiktoken

FRAMING = 7  # per request: role markers of two messages and the reply priming


def body_texts(body: dict) -> list[str]:
    if "messages" in body:
        texts = [m["content"] for m in body["messages"]]
        schema = body["response_format"]["json_schema"]["schema"]
    else:
        texts = [body["instructions"], body["input"]]
        schema = body["text"]["format"]["schema"]
    return texts + [json.dumps(schema)]


def diff_tokens(enc, repo: Path, base: str, head: str, paths: set[str]) -> int:
    out = subprocess.run(["git", "-C", str(repo), "diff", "-U3", "--find-renames", f"{base}...{head}"],
                         capture_output=True, check=True).stdout.decode("utf-8", "replace")
    total, keep = 0, False
    for line in out.split("\n"):
        if line.startswith("+++ "):
            keep = line[6:] in paths
        elif line.startswith(("diff --git", "--- ", "@@", "index ")):
            continue
        elif keep and line[:1] in ("+", "-", " "):
            total += len(enc.encode(line + "\n", disallowed_special=()))
    return total


def measure(repo: Path, base: str, head: str, config: str | None) -> dict:
    enc = tiktoken.get_encoding("o200k_base")
    state = Path(tempfile.mkdtemp(prefix="prompt-tokens-"))
    cmd = [sys.executable, "-m", "batch_review.cli.commands", "submit", "--dry-run", "--base", base, "--head", head,
           "--state-dir", str(state)] + (["--config", config] if config else [])
    subprocess.run(cmd, cwd=repo, check=True, capture_output=True)
    (manifest_path,) = state.glob("*/manifest.json")
    manifest = json.loads(manifest_path.read_text())
    counted = estimated = requests = 0
    for path in sorted(manifest_path.parent.glob("input-*.jsonl")):
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = json.loads(raw)
            requests += 1
            counted += FRAMING + sum(len(enc.encode(t, disallowed_special=())) for t in body_texts(line["body"]))
    for record in manifest["requests"].values():
        estimated += record["est_input_tokens"]
    paths = {p for files in manifest["files"].values() for p in files}
    diff = diff_tokens(enc, repo, base, head, paths)
    return {"requests": requests, "files": len(paths), "input_tokens": counted, "diff_tokens": diff,
            "not_diff_per_file": round((counted - diff) / max(1, len(paths))),
            "per_request": round(counted / max(1, requests)), "estimated": estimated,
            "estimate_error": f"{(estimated - counted) / max(1, counted):+.1%}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--head", required=True)
    ap.add_argument("--config")
    args = ap.parse_args()
    print(json.dumps(measure(args.repo, args.base, args.head, args.config)))


if __name__ == "__main__":
    main()
