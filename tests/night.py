"""A busy repository's night, shared by tests/journeys/test_night.py and bench/bench_night.py.

`Night` builds a repository with N open pull requests (each adds its own file), the GitHub emulator with
GitHub's write limits on a simulated clock that the product's pacing shares, and model answers of 1 to 3
findings per pull request (their severities spread, so the order of posting shows). `run_polls` runs the
real CLI's poll an hour apart (the hourly cron) until nothing is left, and `check` holds the night to
issue 26's goals: no duplicate, nothing lost, every finding on its line, no request within a minute after
a limit answer, every partial poll saying what is left, and the calls each posted pull request cost.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from batch_review.cli import commands as cli

from .emulators.openai_emu import chat_completion
from .gitfixture import git

SEVERITIES = ("low", "medium", "high", "critical")
HOUR = 3600.0


class SimClock:
    """Simulated time for the product's pacing and the emulator's limits: sleeping advances it at once."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start
        self.slept = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self.t

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self.t += seconds
                self.slept += seconds

    def advance_to(self, t: float) -> None:
        with self._lock:
            self.t = max(self.t, t)


def findings_of(number: int) -> list[dict]:
    """1 to 3 findings on the pull request's own file, severities spread across the night."""
    out = []
    for k in range(1 + number % 3):
        out.append({"path": f"prs/pr{number}.py", "line": 2 + 2 * k, "start_line": None, "side": "new",
                    "severity": SEVERITIES[(number * 7 + k) % 4], "category": "bug",
                    "title": f"Finding {k + 1} of pull request {number}", "body": "It breaks.", "suggestion": None})
    return out


def build_pulls(repo, github, n: int, lines: int = 8) -> dict[int, str]:
    """N pull requests in the origin (refs/pull/N/head, as GitHub keeps them), each adding prs/prN.py of
    `lines` lines; the checkout has only main, as in CI."""
    base = git(repo.path, "rev-parse", "HEAD")
    stream = []
    for i in range(1, n + 1):
        content = "".join(f"value_{i}_{k} = {k}\n" for k in range(lines))
        message = f"pull request {i}\n"
        stream.append(f"commit refs/pull/{i}/head\nmark :{i}\ncommitter T <t@e> 1767225600 +0000\n"
                      f"data {len(message)}\n{message}from {base}\nM 100644 inline prs/pr{i}.py\n"
                      f"data {len(content)}\n{content}\n")
    marks = repo.path.parent / "marks"
    git(repo.origin, "fast-import", "--quiet", f"--export-marks={marks}", input="".join(stream).encode())
    heads = {int(m[1:]): sha for m, sha in (line.split() for line in marks.read_text().splitlines())}
    for i, sha in heads.items():
        diff = git(repo.origin, "diff", "-U3", f"{base}...{sha}") + "\n"
        github.add_pull(i, head_sha=sha, base_sha=base, diff=diff, head_ref=f"feature-{i}", title=f"Change {i}")
    return heads


def responder(custom_id: str, body: dict):
    text = body["messages"][1]["content"] if "messages" in body else body["input"]
    found = [f for line in text.split("\n") if line.startswith("=== prs/pr")
             for f in findings_of(int(line[10:].split(".py")[0]))]
    return chat_completion(json.dumps({"findings": found}), prompt_tokens=900, completion_tokens=120)


class ProviderHour:
    """The OpenAI batch service's hour before each poll: what was created starts as the organization's queue
    allows (refused beyond it: token_limit_exceeded), then what runs finishes. Keeps the most input tokens
    ever enqueued, by the emulator's own count."""

    def __init__(self, emu, model: str = "gpt-5-mini") -> None:
        self.emu, self.model, self.most, self.hours = emu, model, 0, 0

    def hour(self) -> None:
        self.hours += 1
        self.emu.start_all()
        self.most = max(self.most, self.emu.enqueued_tokens(self.model))
        for batch_id, b in list(self.emu.batches.items()):
            if b["status"] == "in_progress":
                self.emu.advance(batch_id, "completed")


@dataclass
class Poll:
    code: int
    requests: int  # GitHub requests of this poll
    writes: int  # content-creating ones
    posted: list[int]  # pull requests whose review this poll posted
    left: int  # the pending-reviews output
    said_left: bool  # the log and the summary say how many are left
    seconds: float  # job time: wall time plus the simulated waits


@dataclass
class Night:
    root: Path
    openai: object
    github: object
    clock: SimClock
    n: int
    state: Path
    polls: list[Poll] = field(default_factory=list)

    def configure(self, text: str) -> None:
        path = self.root / "work" / ".github" / "batch-review.yml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)

    def poll(self) -> Poll:
        out, summary = self.root / f"out-{len(self.polls)}", self.root / f"summary-{len(self.polls)}"
        os.environ.update(GITHUB_OUTPUT=str(out), GITHUB_STEP_SUMMARY=str(summary))
        before, slept, started = len(self.github.log), self.clock.slept, time.monotonic()
        reviewed = {n for n in self.github.pulls if self.github.reviews(n)}
        try:
            code = cli.main(["poll", "--state-dir", str(self.state)])
        finally:
            os.environ.pop("GITHUB_OUTPUT"), os.environ.pop("GITHUB_STEP_SUMMARY")
        log = self.github.log[before:]
        outputs = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
        left = int(outputs.get("pending-reviews", "-1"))
        text = summary.read_text() if summary.exists() else ""
        said = left == 0 or (f"{left:,} finished review{'' if left == 1 else 's'} left for the next poll" in text
                             and "Stopped early" in text)
        posted = sorted(n for n in self.github.pulls if self.github.reviews(n) and n not in reviewed)
        writes = sum(e.method in ("POST", "PATCH", "PUT", "DELETE") and not e.path.endswith("/graphql") for e in log)
        poll = Poll(code, len(log), writes, posted, left, said,
                    time.monotonic() - started + self.clock.slept - slept)
        self.polls.append(poll)
        return poll

    def run_polls(self, limit: int = 20, hour=None) -> None:
        """Poll an hour apart (the hourly schedule) until nothing is left; `hour()` is what the batch
        service does in the hour before each poll (None: nothing)."""
        start = self.clock.now()
        for k in range(limit):
            self.clock.advance_to(start + k * HOUR)
            if hour is not None:
                hour()
            poll = self.poll()
            assert poll.code == 0, f"poll {k + 1} exited {poll.code}"
            if poll.left == 0 and not list(self.state.glob("*/manifest.json")):
                return
        raise AssertionError(f"not done after {limit} polls")

    def check(self, per_hour: int, max_calls: float | None = 3, queue_polls: int = 0) -> dict:
        """Issue 26's goals, asserted; the night's figures, returned. (A night of a dozen pull requests
        spends more calls on each run's fixed reads than on its few pull requests: `max_calls` None. A
        night split to fit the provider's queue waits `queue_polls` more polls for its batches.)"""
        lost, twice, off_line = [], [], []
        for n in range(1, self.n + 1):
            reviews = self.github.reviews(n)
            if len(reviews) != 1:
                (twice if reviews else lost).append(n)
                continue
            # each comment's first line is our hidden fingerprint of its finding (issue 20), then its heading
            comments = {(c["path"], c["line"], c["body"].split("\n")[1]) for c in reviews[0]["comments"]}
            for f in findings_of(n):
                if not any(path == f["path"] and line == f["line"] and f["title"] in head
                           for path, line, head in comments):
                    off_line.append((n, f["title"]))
        assert (lost, twice, off_line) == ([], [], []), (lost[:5], twice[:5], off_line[:5])
        assert self.github.early_requests == [], self.github.early_requests[:3]
        assert all(p.said_left for p in self.polls), [p.left for p in self.polls]
        assert all(p.left == 0 or p.posted for p in self.polls[:-1]), "a partial poll that posted nothing"
        needed = 2 * self.n  # a claim and a submit per pull request
        posting = [p for p in self.polls if p.requests]
        calls = sum(p.requests for p in self.polls) / self.n
        assert len(self.polls) <= math.ceil(needed / per_hour) + 1 + queue_polls, (len(self.polls), needed)
        assert max_calls is None or calls <= max_calls, calls
        return {"pull_requests": self.n, "polls": len(self.polls), "writes": sum(p.writes for p in self.polls),
                "writes_needed": needed, "calls_per_posted": calls, "limit_answers": len(self.github.limit_answers),
                "job_minutes": sum(math.ceil(p.seconds / 60) for p in posting),
                "partial": [p.left for p in self.polls]}
