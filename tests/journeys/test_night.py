"""A night of many pull requests within GitHub's write limits, at a tenth of the scale, through the real CLI.

Issue 26's load run, scaled so CI keeps it true: 60 pull requests (1 to 3 findings each), GitHub's limits
cut to 8 content-creating requests a minute and 50 an hour (the configuration says the same), on a
simulated clock the product's pacing shares with the emulator (writes a second apart, as GitHub asks).
Held: no duplicate, nothing lost, every finding on its line; polls <= ceil(writes needed / 50) + 1; no
request within a minute after a limit answer; each partial poll says how many are left (output
`pending-reviews`, job summary); at most 3 GitHub calls per posted pull request, reruns included; the most
severe reviews posted first. bench/bench_night.py runs the same at 300 and 1,000 with GitHub's own limits.
"""

from __future__ import annotations

import pytest

from batch_review.cli import commands as cli
from batch_review.core.vocabulary import severity_rank

from ..conftest import GITHUB_TOKEN, OPENAI_KEY
from ..emulators.github_emu import GitHubEmulator
from ..gitfixture import Repo
from ..night import Night, SimClock, build_pulls, findings_of, responder

N, PER_MINUTE, PER_HOUR = 60, 8, 50


def make_night(tmp_path, openai_emu, monkeypatch, n: int, per_minute: int, per_hour: int,
               emulator_per_hour: int | None = None):
    import batch_review.github.pacing as pacing

    clock = SimClock()
    github = GitHubEmulator(token=GITHUB_TOKEN, repo="acme/widgets", clock=clock.now).start()
    github.creation_limit_per_minute = per_minute
    github.creation_limit_per_hour = emulator_per_hour or per_hour
    repo = Repo(tmp_path / "git")
    repo.push("main")
    build_pulls(repo, github, n)
    monkeypatch.chdir(repo.path)
    for name, value in {"OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": openai_emu.base_url,
                        "GITHUB_TOKEN": GITHUB_TOKEN, "GITHUB_REPOSITORY": "acme/widgets",
                        "GITHUB_API_URL": github.api_url, "BATCH_REVIEW_WRITE_INTERVAL": "1",
                        "BATCH_REVIEW_SIGNING_KEY": "42" * 32}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(pacing, "CLOCK", clock)
    openai_emu.set_responder(responder)
    night = Night(repo.path.parent, openai_emu, github, clock, n, tmp_path / "state")
    night.configure(f"output:\n  writes_per_minute: {per_minute}\n  writes_per_hour: {per_hour}\n"
                    "targets:\n  pull_requests:\n    skip_authors: []\n")
    return night


@pytest.fixture
def night(tmp_path, openai_emu, monkeypatch):
    night = make_night(tmp_path, openai_emu, monkeypatch, N, PER_MINUTE, PER_HOUR)
    yield night
    night.github.stop()


def worst(number: int) -> int:
    return max(severity_rank(f["severity"]) for f in findings_of(number))


def test_sixty_pull_requests_within_scaled_limits(night):
    assert cli.main(["submit", "--state-dir", str(night.state)]) == 0
    night.openai.complete_all()
    night.run_polls()
    figures = night.check(PER_HOUR)
    assert figures["polls"] >= 3 and figures["partial"][0] > 0, "the limits did cut the night short"
    first, *later = [p.posted for p in night.polls if p.posted]
    assert min(worst(n) for n in first) >= max(worst(n) for p in later for n in p), "the most severe went first"
    assert night.github.limit_answers == [], "the poll's own pacing kept it under GitHub's limits"
    rerun = night.poll()  # a poll after the night: nothing to do, nothing written
    assert rerun.writes == 0 and rerun.left == 0


def test_limit_answers_are_obeyed_when_github_allows_less_than_configured(tmp_path, openai_emu, monkeypatch):
    """Other automation of the same identity used the hour: GitHub answers 403 with Retry-After before our
    own count says so. The poll sends nothing for at least a minute, stops cleanly (exit 0) when the wait is
    long, says when the next poll can go on, and the next polls finish the night."""
    night = make_night(tmp_path, openai_emu, monkeypatch, 12, 80, 500, emulator_per_hour=10)
    try:
        assert cli.main(["submit", "--state-dir", str(night.state)]) == 0
        night.openai.complete_all()
        night.run_polls()
        figures = night.check(10, max_calls=None)
        assert figures["polls"] <= 4 and figures["writes"] <= figures["writes_needed"] + 2
        assert night.github.limit_answers, "GitHub did answer with its limit"
        assert night.github.early_requests == []
    finally:
        night.github.stop()
