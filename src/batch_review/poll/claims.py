"""Posting reviews exactly once, many pull requests at a time: the claim GitHub arbitrates, in rounds.

GitHub lets a user hold only ONE pending review per pull request: creating any other review of theirs there
is refused (422 "User can only have one pending review per pull request"), and a pending review is visible
to its author only. A review part is posted in three steps, each pull request's a share of bulk reads:

1. Read (GraphQL, PULLS_PER_QUERY pull requests a request): state, head and our reviews. A part whose
   posting we already made (a review provenance.py believes: our identity, and with a key our signature,
   same target, head, manifest and part) costs nothing more: reruns write nothing.
2. Claim: create the review PENDING, with its whole body and every inline comment, in one request.
3. Check, holding the claim (one GraphQL read for all of a round's claims): our pending review is there,
   exactly as composed (body and comments), and no review of this posting and part was submitted before
   our claim (a concurrent poll). Then submit it as a COMMENT. While we hold the claim no other review of
   our user can appear on the pull request, so what the check shows cannot change under us: two polls
   never both submit the same part.

A pending review of our user that this run did not create is never submitted: its content is whatever its
writer chose (every workflow of a repository writes as github-actions[bot]). When our identity is a bot,
no person's draft can live there, so it is deleted before we claim (a killed poll's leftover, or someone
else's); under a person's account (a personal token) it is deleted only when it carries a marker we
believe, else the pull request waits for the next poll (their draft). A run whose own claim vanished
(another poll deleted it) does not delete the other poll's in turn: it leaves the pull request for the
next poll, so two polls cannot keep deleting each other's claims.

When a write fails in a way that may have landed anyway we look before trying again (publish.py). A 422
on an inline comment means GitHub refused one without saying which: the review is built again with every
comment moved into the body, so no finding is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..core.errors import ConfigError, GitHubError
from ..core.markers import Marker
from ..core.provenance import body_digest
from ..github.graphql import PULLS_PER_QUERY
from ..github.pacing import WriteBudgetSpent
from ..github.records import PullSnapshot, ReviewInfo, is_pending_review_conflict

CLAIM_ROUNDS = 4  # claim rounds per review part before a pull request is left for the next poll
FIRST_WAVE = 5  # claims held at once in a run's first round; doubled after each round GitHub took whole

Build = Callable[[bool, tuple], tuple[list[str], list[dict]]]


class PendingBlocked(GitHubError):
    """A pending review batch-review did not write holds the one pending review our user may have."""


@dataclass
class ReviewJob:
    """One pull request's review: its parts posted in order, and what became of it."""

    number: int
    marker: Marker  # target, head, manifest, base (part 1)
    build: Build  # (inline allowed, the reviews read) -> (sealed bodies, part 1's comments)
    part: int = 1
    inline: bool = True
    listing: tuple = ()  # the reviews the content was last built from
    outcome: str = ""  # "" while active; posted, already, elsewhere, closed, failed
    posted: int = 0
    error: GitHubError | None = None
    notes: list[str] = field(default_factory=list)
    lost: bool = False  # our claim vanished once (another poll)
    rounds: int = 0  # claim rounds spent on the current part
    parts: int = 1  # how many parts the review has, as last built
    claim: ReviewInfo | None = None
    content: tuple[str, list[dict]] = ("", [])

    @property
    def inline_moved_to_body(self) -> bool:
        return not self.inline

    def fail(self, exc: GitHubError) -> None:
        self.outcome, self.error = "failed", exc


def _spent(job: ReviewJob) -> bool:
    """Whether the job is over: an outcome, or out of claim rounds for its part (then it fails)."""
    if not job.outcome and job.rounds >= CLAIM_ROUNDS:
        job.fail(GitHubError(0, f"#{job.number}: could not post review part {job.part} after {CLAIM_ROUNDS} claims; "
                                "left for the next poll"))
    return bool(job.outcome)


def _same(a: str, b: str) -> bool:
    return body_digest(a) == body_digest(b)


class Claims:
    def __init__(self, publisher) -> None:
        self.pub = publisher
        self.gh = publisher.github
        self.trust = publisher.provenance
        self.short: WriteBudgetSpent | None = None  # the run's writes cannot finish another claim

    def _afford(self, writes: int) -> bool:
        """Whether this run's write budget has room for a whole claim (deletes, create, submit): a claim is
        never left half done for want of writes. When not, the run stops after this round."""
        budget = getattr(self.gh, "budget", None)
        if budget is None or budget.left() >= writes:
            return True
        self.short = self.short or WriteBudgetSpent(
            f"stopped posting: {budget.per_hour} content-creating requests in the last hour (GitHub's limit)",
            budget.hour_frees())
        return False

    def _posted(self, snap: PullSnapshot, marker: Marker, part: int) -> bool:
        for r in snap.reviews:
            m = None if r.pending else self.trust.believes(r)
            if m is not None and m.same_posting(marker) and m.part == part:
                return True
        return False

    def run(self, jobs: list[ReviewJob], snaps: dict[int, PullSnapshot]) -> None:
        """Post every job's parts, a round at a time: claims, one check read, submits; then one read of what
        is still to do. WriteBudgetSpent and ConfigError stop all of it, anything else only its job."""
        while True:
            active = [j for j in jobs if not _spent(j)]
            if not active:
                return
            tried = self._round(active, snaps)
            if self.short is not None:
                raise self.short
            again = [j.number for j in tried if not j.outcome]
            if again:
                snaps.update(self.gh.pull_snapshots(again)[0])

    def _round(self, active: list[ReviewJob], snaps: dict[int, PullSnapshot]) -> list[ReviewJob]:
        """Claim for up to a wave of active jobs, check every claim in one read, submit what passed; the jobs
        tried. The wave starts small and doubles while GitHub takes every write, and halves after a limit
        answer, so a limit GitHub enforces below ours (other automation of our identity) strands few claims."""
        budget = getattr(self.gh, "budget", None)
        answers = budget.limit_answers if budget is not None else 0
        wave = getattr(self.pub, "wave", FIRST_WAVE)
        claimed, tried = [], []
        for job in active:
            if self.short is not None or len(claimed) >= wave:
                break
            tried.append(job)
            job.rounds += 1
            if self._guard(job, self._claim, job, snaps.get(job.number)):
                claimed.append(job)
        if claimed:
            self._check(claimed, snaps)
        limited = budget is not None and budget.limit_answers > answers
        self.pub.wave = max(1, wave // 2) if limited else min(2 * wave, PULLS_PER_QUERY)
        return tried

    def _check(self, claimed: list[ReviewJob], snaps: dict[int, PullSnapshot]) -> None:
        """One read for all of a round's claims, then each is settled: submitted, or dropped."""
        fresh, nodes = self.gh.pull_snapshots([j.number for j in claimed], tuple(j.claim.node_id for j in claimed))
        snaps.update(fresh)
        for job, node in zip(claimed, nodes, strict=True):
            self._guard(job, self._settle, job, fresh.get(job.number), node)

    @staticmethod
    def _guard(job: ReviewJob, step, *args) -> bool:
        try:
            return bool(step(*args))
        except (WriteBudgetSpent, ConfigError):
            raise
        except GitHubError as exc:
            job.fail(exc)
            return False

    # --- 2. the claim --------------------------------------------------------------------------------

    def _claim(self, job: ReviewJob, snap: PullSnapshot | None) -> bool:
        """Create this part's pending review; whether we now hold a claim to check."""
        if snap is None:
            job.outcome = "closed"
            job.notes.append(f"#{job.number} was not found: nothing posted")
            return False
        while self._posted(snap, job.marker, job.part):
            job.part, job.rounds = job.part + 1, 0
        bodies, comments = job.build(job.inline, snap.reviews)
        job.listing, job.parts = snap.reviews, len(bodies)
        if job.part > len(bodies):
            job.outcome = "posted" if job.posted else "already"
            return False
        if not self._afford(2 + sum(r.pending for r in snap.reviews)):
            job.rounds -= 1
            return False
        if not self._clear(job, snap):
            return False
        return self._create(job, bodies[job.part - 1], comments if job.part == 1 else [])

    def _clear(self, job: ReviewJob, snap: PullSnapshot) -> bool:
        """Delete the pending reviews of our user this run did not create (see the module's rules); whether
        the way is clear to claim."""
        for r in (r for r in snap.reviews if r.pending):
            if not self.trust.identity.wrote(r.author):
                raise ConfigError(f"output.bot_login is {self.trust.identity.login!r} but the token writes as "
                                  f"{r.author!r}: set output.bot_login: {r.author}")
            if job.lost:
                job.outcome = "elsewhere"
                job.notes.append(f"#{job.number}: another poll is posting this review right now; left for the "
                                 "next poll")
                return False
            if not self.trust.bot and self.trust.believes(r) is None:
                raise PendingBlocked(0, f"#{job.number}: {r.author} has a pending review that batch-review did not "
                                        "write (GitHub allows one per user); not posted, left for the next poll")
            self.pub.log(f"#{job.number}: deleting pending review {r.id}, which this run did not create")
            self._drop(job.number, r.id)
        return True

    def _create(self, job: ReviewJob, body: str, comments: list[dict]) -> bool:
        def landed():
            return next((r for r in self.gh.reviews(job.number) if r.pending and self.trust.identity.wrote(r.author)
                         and _same(r.body, body)), None)
        try:
            mine = self.pub.write(f"review part {job.part} on #{job.number}",
                                  lambda: self.gh.create_pending_review(job.number, job.marker.head, body, comments),
                                  landed)
        except GitHubError as exc:
            if is_pending_review_conflict(exc):
                return False  # a concurrent poll claimed after our read: read again next round
            if exc.status == 422 and comments and job.inline:
                self.pub.log(f"GitHub refused an inline comment on #{job.number} ({exc}); moving them into the body")
                job.inline = False
                bodies, _ = job.build(False, job.listing)
                return self._create(job, bodies[job.part - 1], [])
            raise
        if not self.trust.identity.wrote(mine.author):
            self._drop(job.number, mine.id)
            raise ConfigError(f"output.bot_login is {self.trust.identity.login!r} but the token writes as "
                              f"{mine.author!r}: set output.bot_login: {mine.author} (else our own reviews "
                              "would not be recognised and could be posted twice)")
        job.claim, job.content = mine, (body, comments)
        return True

    # --- 3. the check, then submit -------------------------------------------------------------------

    def _settle(self, job: ReviewJob, snap: PullSnapshot | None, node: ReviewInfo | None) -> None:
        mine, (body, comments) = job.claim, job.content
        job.claim = None
        if node is None or snap is None:  # our claim is gone: another poll (or anyone of our user) took it
            job.lost = True
            return
        if self._posted(snap, job.marker, job.part):  # posted before our claim: ours is a duplicate
            self._drop(job.number, mine.id)
            job.part, job.rounds = job.part + 1, 0
            return
        composed = sorted((c["path"], body_digest(c["body"])) for c in comments)
        shown = sorted((path, body_digest(text)) for path, text in node.comments or ())
        if not node.pending or not _same(node.body, body) or composed != shown:
            job.notes.append(f"#{job.number}: our pending review was changed by someone else; not submitted")
            if node.pending:
                self._drop(job.number, mine.id)
            return
        bodies, now = job.build(job.inline, snap.reviews)
        if job.part > len(bodies) or not _same(bodies[job.part - 1], body) or (job.part == 1 and now != comments):
            self._drop(job.number, mine.id)  # our earlier reviews changed what we post: build it again
            return
        self._submit(job, mine.id)

    def _submit(self, job: ReviewJob, review_id: int) -> None:
        def submitted():
            r = self.gh.review(job.number, review_id)
            return r is not None and not r.pending
        try:
            self.pub.write(f"submitting review {review_id} on #{job.number}",
                           lambda: self.gh.submit_review(job.number, review_id), submitted)
        except GitHubError as exc:
            if exc.status not in (404, 422):
                raise
            job.lost = True  # deleted or submitted by someone else meanwhile: the next read tells
            return
        job.posted += 1
        job.part, job.rounds = job.part + 1, 0
        if job.part > job.parts:
            job.outcome = "posted"

    def _drop(self, number: int, review_id: int) -> None:
        """Delete a pending review; gone or already submitted is fine: the next read shows how it ended."""
        try:
            self.pub.write(f"deleting pending review {review_id} on #{number}",
                           lambda: self.gh.delete_pending_review(number, review_id),
                           lambda: (lambda r: r is None or not r.pending)(self.gh.review(number, review_id)))
        except GitHubError as exc:
            if exc.status not in (404, 422):
                raise
