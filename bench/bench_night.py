"""A night of hundreds of pull requests against the emulators, with GitHub's write limits and a simulated clock.

    python bench/bench_night.py                 # 300 and 1,000 pull requests (a few minutes)
    python bench/bench_night.py --sizes 300
    python bench/bench_night.py --queue 2000000 --sizes 1000   # the provider's queue: 2M enqueued tokens

For each size: a repository with N open pull requests (each adds its own file; 1 to 3 findings each, their
severities spread), the GitHub emulator enforcing 80 content-creating requests a minute and 500 an hour
(403 with Retry-After beyond them) on a simulated clock that the product's pacing shares, writes a second
apart as GitHub asks. The real CLI submits once (a separate process: its time and peak memory are
measured) and polls an hour apart, as the hourly schedule would, until every review is posted. The night
is held to issue 26's goals (tests/night.py `Night.check`): no duplicate, nothing lost, every finding on its
line, no request within a minute after a limit answer, each partial poll says how many are left, polls <=
ceil(writes needed / 500) + 1, at most 3 GitHub calls per posted pull request (every request of every poll
counted, reruns included).

Columns: submit wall time and peak RSS (the submit process alone, its git children not included); polls;
content-creating requests (writes) against the 2 per pull request a perfect night needs; GitHub calls per
posted pull request; limit answers (403s GitHub gave); job minutes of the polls, each rounded up as GitHub
bills them, the simulated waits (pacing, limit answers) included; what each poll left for the next.

`--queue LIMIT`: the OpenAI emulator enforces an enqueued-token limit for the model (a batch over it fails
with token_limit_exceeded), each pull request adds a larger file (`--lines`, so that the night is several
times the limit), and the batch service's hour before each poll starts what was created (oldest first, as
the queue allows) and finishes what runs. The night is run twice: without `budget.max_enqueued_tokens`
and with it set to LIMIT. Columns: batches created (refused ones included), refusals, the most tokens
enqueued at once (the emulator's count), polls, hours from the submit to the last review, reviews posted,
lost and duplicated.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import batch_review.github.pacing as pacing  # noqa: E402
import batch_review.poll.batches as poll_batches  # noqa: E402
from tests.conftest import GITHUB_TOKEN, OPENAI_KEY  # noqa: E402
from tests.emulators.github_emu import GitHubEmulator  # noqa: E402
from tests.emulators.openai_emu import OpenAIEmulator  # noqa: E402
from tests.gitfixture import GIT_ENV, Repo  # noqa: E402
from tests.night import Night, ProviderHour, SimClock, build_pulls, responder  # noqa: E402

PER_MINUTE, PER_HOUR = 80, 500


def submit(env: dict, state: Path, cwd: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one `batch-review submit` process."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "batch_review", "submit", "--state-dir", str(state)], cwd=cwd,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"submit exited {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
    return time.monotonic() - started, usage.ru_maxrss / 1024


def night(n: int, *, queue: int | None = None, key: int | None = None, lines: int = 8, polls: int = 20) -> dict:
    clock = SimClock()
    with tempfile.TemporaryDirectory() as tmp, OpenAIEmulator(api_key=OPENAI_KEY) as openai_emu, \
            GitHubEmulator(token=GITHUB_TOKEN, repo="acme/widgets", clock=clock.now) as github:
        root = Path(tmp)
        github.creation_limit_per_minute, github.creation_limit_per_hour = PER_MINUTE, PER_HOUR
        github.rate_limit = github.rate_remaining = 1_000_000  # the primary budget is not what this measures
        github.graphql_limit = github.graphql_remaining = 1_000_000
        repo = Repo(root / "git")
        repo.push("main")
        t0 = time.monotonic()
        build_pulls(repo, github, n, lines)
        built = time.monotonic() - t0
        openai_emu.set_responder(responder)
        openai_emu.enqueued_token_limit = queue
        env = {**os.environ, **{k: v for k, v in GIT_ENV.items() if k.startswith("GIT_CONFIG")},
               "OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": openai_emu.base_url, "GITHUB_TOKEN": GITHUB_TOKEN,
               "GITHUB_REPOSITORY": "acme/widgets", "GITHUB_API_URL": github.api_url,
               "BATCH_REVIEW_WRITE_INTERVAL": "1", "BATCH_REVIEW_SIGNING_KEY": "42" * 32}
        nightly = Night(repo.path.parent, openai_emu, github, clock, n, root / "state")
        nightly.configure("targets:\n  pull_requests:\n    skip_authors: []\nbudget:\n  max_cost_usd: null\n"
                          "  max_requests: null\n" + (f"  max_enqueued_tokens: {key}\n" if key else ""))
        seconds, rss = submit(env, nightly.state, repo.path)
        hour = ProviderHour(openai_emu) if queue else None
        if hour is not None:  # polls are an hour apart here: no part is young enough to be a running submit's
            poll_batches.RESUME_AFTER = poll_batches.dt.timedelta(0)
        if hour is None:
            openai_emu.complete_all()
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        os.chdir(repo.path)
        pacing.CLOCK = clock
        try:
            with open(root / "polls.log", "w") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                if hour is None:
                    nightly.run_polls()
                else:
                    return queue_figures(nightly, hour, polls, {"submit_s": seconds, "key": key, "limit": queue})
            figures = nightly.check(PER_HOUR)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            os.chdir(ROOT)
        return {**figures, "submit_s": seconds, "submit_rss_mib": rss, "setup_s": built,
                "limit_polls": math.ceil(figures["writes_needed"] / PER_HOUR) + 1}


def queue_figures(nightly: Night, hour: ProviderHour, polls: int, extra: dict) -> dict:
    """Polls an hour apart until the night is done (or `polls` pass); what the queue did to it."""
    emu = nightly.openai
    try:
        nightly.run_polls(limit=polls, hour=hour.hour)
        nightly.check(PER_HOUR, max_calls=None, queue_polls=polls)
        done = True
    except AssertionError:
        done = False
    reviews = [len(nightly.github.reviews(n)) for n in range(1, nightly.n + 1)]
    posting = [k for k, p in enumerate(nightly.polls) if p.posted]
    return {**extra, "pull_requests": nightly.n, "done": done, "batches": len(emu.batches),
            "refused": len(emu.queue_refusals), "most": hour.most, "polls": len(nightly.polls),
            "hours": posting[-1] + 1 if posting else None, "posted": sum(r > 0 for r in reviews),
            "lost": sum(r == 0 for r in reviews), "twice": sum(r > 1 for r in reviews)}


def main_queue(args) -> None:
    print("| pull requests | budget.max_enqueued_tokens | batches (refused) | most enqueued | polls | hours to the "
          "last review | reviews posted | lost | duplicates |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        for key in ((args.queue,) if args.with_key_only else (None, args.queue)):
            r = night(n, queue=args.queue, key=key, lines=args.lines, polls=args.polls)
            hours = r["hours"] if r["done"] else f"never (after {r['polls']} polls)"
            print(f"| {n:,} | {f'{key:,}' if key else 'not set'} | {r['batches']} ({r['refused']}) | {r['most']:,} "
                  f"| {r['polls']} | {hours} | {r['posted']:,} | {r['lost']:,} | {r['twice']} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[300, 1000])
    ap.add_argument("--queue", type=int, default=None, help="the model's enqueued-token limit (OpenAI)")
    ap.add_argument("--lines", type=int, default=400, help="lines each pull request adds (with --queue)")
    ap.add_argument("--polls", type=int, default=12, help="polls at most (with --queue)")
    ap.add_argument("--with-key-only", action="store_true", help="with --queue: only the night with the key")
    args = ap.parse_args()
    if args.queue:
        return main_queue(args)
    rows = [night(n) for n in args.sizes]
    print("| pull requests | submit | submit peak RSS | polls (goal) | writes (needed) | calls per posted PR "
          "| limit answers | job minutes | left after each poll |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['pull_requests']:,} | {r['submit_s']:.1f} s | {r['submit_rss_mib']:.0f} MiB | {r['polls']} "
              f"(<= {r['limit_polls']}) | {r['writes']:,} ({r['writes_needed']:,}) | {r['calls_per_posted']:.2f} "
              f"| {r['limit_answers']} | {r['job_minutes']} | {', '.join(map(str, r['partial']))} |")
    print(f"\nself RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (bench, emulators included)")


if __name__ == "__main__":
    main()
