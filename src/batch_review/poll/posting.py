"""Poll's posting stage: what goes where for every ready target, in what order, within GitHub's limits.

Every target of every manifest whose batches are done becomes a `Work`. They are posted in one order
(`order`): the longest-waiting manifest first, and within it the target with the most severe finding first,
so a night that GitHub's write limits cut short delivers the most important reviews in its first hour.
They go in chunks of PULLS_PER_QUERY: one GraphQL read gives each pull request's state, head and our
reviews (a target already posted costs no request of its own), then claims.py posts the reviews, then
check runs follow (a branch pair, mode `check` or `both`, a failed batch). A pull request closed since
the submission gets nothing (unless `output.post_on_closed`): it is said once and counts as done.

When the run's write budget is spent (github/pacing.py: WriteBudgetSpent), or the token's primary rate
budget runs low, posting stops cleanly: what is posted stays posted (markers), the rest is `left` for
the next poll, with the time from which it can go on. A service failure on one target fails that target
only. The review leaves out what our earlier reviews already posted (review.Draft) and keeps at most
MAX_INLINE inline comments; the check run carries every finding not already posted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ..core.errors import ConfigError, GitHubError
from ..core.markers import Marker
from ..core.vocabulary import counted, severity_rank
from ..findings.compose import TargetReport, by_severity, check_conclusion, check_output, review_bodies
from ..github.graphql import PULLS_PER_QUERY
from ..github.pacing import RESERVE, WriteBudgetSpent
from .claims import Claims, ReviewJob
from .dismissals import Reading
from .review import Draft, comment_payload, earlier_fingerprints

MAX_INLINE = 30  # reviewdog's cap per review, well clear of GitHub's abuse limits
FAILED_BATCH_TITLE = "The review batch failed: see the details"


@dataclass
class Work:
    """One ready target: what it posts, and (after the stage) what became of it."""

    manifest: object  # ledger.manifest.Manifest
    name: str  # the manifest's name (for notes and failures)
    key: str
    draft: Draft
    failed_batch: bool = False
    done: bool = False  # nothing more to post for it from this manifest
    left: bool = False  # not reached: the run stopped first
    reviews: int = 0
    check_runs: int = 0
    shown: TargetReport | None = None  # what the developer sees inline and in the body
    hidden: dict[str, str] = field(default_factory=dict)  # dismissed fingerprints (dismissals.Reading.read)
    notes: list[str] = field(default_factory=list)
    failure: str | None = None

    @property
    def target(self):
        return self.manifest.target(self.key)

    def order(self) -> tuple:
        """Longest waiting first (the manifest's creation time), then the most severe finding, then number."""
        worst = max((severity_rank(f.severity) for f in self.draft.report.findings), default=-1)
        t = self.target
        return (str(self.manifest.created_at), -worst, t.number or 0, self.key)


@dataclass
class Stop:
    why: str
    resume_at: float | None  # epoch seconds from which the next poll can go on


def post_all(github, publisher, out, works: list[Work], dismissals: Reading | None = None) -> Stop | None:
    """Post every Work in order within the run's budgets (`out`: the config's output section), without what
    people dismissed (`dismissals`); how the run stopped early, or None. Works not reached are marked `left`."""
    ordered = sorted(works, key=Work.order)
    for start in range(0, len(ordered), PULLS_PER_QUERY):
        chunk = ordered[start:start + PULLS_PER_QUERY]
        stop = _primary_low(github)
        try:
            if stop is None:
                _post_chunk(github, publisher, out, chunk, dismissals)
        except WriteBudgetSpent as exc:
            stop = Stop(str(exc), exc.resume_at)
        if stop is not None:
            for w in ordered[start:]:
                w.left = not w.done and w.failure is None
            return stop
    return None


def _primary_low(github) -> Stop | None:
    """A Stop when the token's primary rate budget (REST or GraphQL) is under RESERVE requests."""
    remaining = github.rate_remaining() if hasattr(github, "rate_remaining") else None
    if remaining is None or remaining >= RESERVE:
        return None
    resets = [reset for left, reset in github.budget.rate_remaining.values() if left < RESERVE and reset]
    return Stop(f"the GitHub token has {counted(remaining, 'request')} left this hour (keeping {RESERVE} in reserve)",
                float(min(resets)) if resets else None)


def _post_chunk(github, publisher, out, chunk: list[Work], dismissals: Reading | None = None) -> None:
    pulls = [w.target.number for w in chunk if w.target.kind == "pull"]
    try:
        snaps = github.pull_snapshots(pulls)[0] if pulls else {}
        if dismissals is not None:  # never post what was dismissed: without this read, nothing is posted
            dismissals.read(github, publisher.provenance, chunk, snaps)
    except GitHubError as exc:
        for w in chunk:
            w.failure = f"{w.name}: {exc}; left pending for the next run"
        return
    jobs: dict[int, ReviewJob] = {}
    for w in chunk:
        job = _prepare(publisher, out, w, snaps)
        if job is not None:
            jobs[id(w)] = job
    stop = None
    try:
        Claims(publisher).run(list(jobs.values()), snaps)
    except WriteBudgetSpent as exc:  # what was posted before is still accounted for, below
        stop = exc
    for w in chunk:
        _finish_one(publisher, out, w, jobs.get(id(w)), stopped=stop is not None)
    if stop is not None:
        raise stop


def _finish_one(publisher, out, w: Work, job: ReviewJob | None, *, stopped: bool) -> None:
    """_finish for a Work whose review (if any) has an outcome; after a stop, nothing new is begun."""
    if w.done or w.failure or (job is not None and not job.outcome) or (stopped and job is None):
        return
    try:
        _finish(publisher, out, w, job)
    except (WriteBudgetSpent, ConfigError):
        raise
    except GitHubError as exc:
        w.failure = f"{w.name}: {exc}; left pending for the next run"


def _prepare(publisher, out, w: Work, snaps: dict) -> ReviewJob | None:
    """The review job of a pull request that gets one; a closed one is done here."""
    t, report = w.target, w.draft.report
    if t.kind != "pull":
        w.shown = report
        return None
    snap = snaps.get(t.number)
    if snap is None or (not snap.open and not out.post_on_closed):
        state = "not found" if snap is None else ("merged" if snap.merged else "closed")
        w.notes.append(f"{report.label} is {state}: nothing posted")
        w.done = True
        return None
    report.current_head = snap.head_sha
    w.shown = report
    if out.mode not in ("review", "both"):
        return None
    composer = Composer(publisher, w)
    return ReviewJob(t.number, composer.marker, composer)


class Composer:
    """A review job's build(inline_ok, reviews): the bodies (sealed by provenance) and comments without
    what our earlier reviews in `reviews` already said; each version composed once."""

    def __init__(self, publisher, w: Work) -> None:
        self.trust, self.draft, self.hidden = publisher.provenance, w.draft, w.hidden
        self.marker = Marker(w.key, w.target.head_sha, w.manifest.digest(), base=w.target.base_sha)
        self.versions: dict = {}

    def _version(self, inline_ok: bool, reviews) -> tuple:
        earlier = earlier_fingerprints(reviews, self.marker, self.trust)
        if (inline_ok, earlier) not in self.versions:
            rep = self.draft.posted(earlier, inline_ok=inline_ok, max_inline=MAX_INLINE, hidden=self.hidden)
            bodies = [self.trust.seal(b) for b in review_bodies(rep, self.marker.manifest, self.marker.base)]
            comments = [comment_payload(c, self.draft.fingerprints[c.finding])
                        for c in by_severity(rep.inline, key=lambda c: c.finding)]  # worst first
            self.versions[(inline_ok, earlier)] = (rep, bodies, comments)
        return self.versions[(inline_ok, earlier)]

    def __call__(self, inline_ok: bool, reviews) -> tuple[list[str], list[dict]]:
        _, bodies, comments = self._version(inline_ok, reviews)
        return bodies, comments

    def report(self, inline_ok: bool, reviews) -> TargetReport:
        return self._version(inline_ok, reviews)[0]


def _finish(publisher, out, w: Work, job: ReviewJob | None) -> None:
    """After the review (if any): the check run where one is due; the Work's outcome."""
    t = w.target
    for_check = w.draft.without((), w.hidden) if w.hidden else w.draft.report
    if job is not None:
        w.notes.extend(job.notes)
        if job.outcome == "failed":
            w.failure = f"{w.name}: {job.error}"
            return
        if job.outcome in ("elsewhere", "closed"):
            w.done = job.outcome == "closed"
            return
        w.reviews = job.posted
        w.shown = job.build.report(job.inline, job.listing)
        marker = Marker(w.key, t.head_sha, w.manifest.digest(), base=t.base_sha)
        for_check = w.draft.without(earlier_fingerprints(job.listing, marker, publisher.provenance), w.hidden)
    if t.kind != "pull" or out.mode in ("check", "both") or w.failed_batch:
        output, annotations = check_output(for_check)
        if w.failed_batch:
            output["title"] = FAILED_BATCH_TITLE
        w.check_runs = publisher.post_check_run(
            name=out.check_name, head_sha=t.head_sha, marker=Marker(w.key, t.head_sha, w.manifest.digest()),
            output=output, annotations=annotations,
            conclusion=check_conclusion(for_check.findings, out.fail_on)).check_runs
    w.done = True


def post_problem_checks(publisher, check_name: str, name: str, message: str, targets: list[tuple[str, str]],
                   digest: str) -> tuple[int, list[str]]:
    """A check run on each commit a manifest we cannot use names, so the problem shows where the review
    was expected; named apart from the review check run, so it never counts as a posted review.
    (check runs created, notes)."""
    output = {"title": "batch-review could not use this review's manifest",
              "summary": f"The manifest `{name}` was not used; nothing was posted from it:\n\n"
                         f"    {' '.join(message.split())[:2000]}\n\nThe next submit reviews this commit again once "
                         "the manifest is retired or expires."}
    created, notes = 0, []
    for key, head_sha in targets:
        try:
            created += publisher.post_check_run(
                name=f"{check_name}: problem", head_sha=head_sha, marker=Marker(key, head_sha, digest),
                output=output, annotations=[], conclusion="neutral").check_runs
        except (WriteBudgetSpent, ConfigError):
            raise
        except GitHubError as exc:
            notes.append(f"{name}: could not report the problem on {head_sha[:12]}: {exc}")
    return created, notes


def when(resume_at: float | None) -> str:
    """A resume time as people read it."""
    if resume_at is None:
        return "at the next poll"
    return "after " + dt.datetime.fromtimestamp(resume_at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
