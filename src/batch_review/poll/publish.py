"""Posting reviews and check runs exactly once, even with two polls at the same time.

Each review body and check run carries a marker (markers.py); only markers written by our own identity
count. A review is posted through a claim that GitHub arbitrates: a user may hold only ONE pending review
per pull request (a second is refused with 422 "User can only have one pending review per pull request").

1. Claim: create the review PENDING, with its whole body and every inline comment, in one request.
2. Look, holding the claim: list the reviews. If this posting (same marker) is already there, someone
   else posted it: our pending review is deleted. While we hold the claim nobody of our identity can
   publish anything on this pull request, so what the listing shows cannot change under us. The same
   listing gives the fingerprints of our earlier reviews; if they change what we would post, the pending
   review is deleted and built again.
3. Submit it as a COMMENT.

The poll that loses the race gets the 422 and lists the reviews. A pending review of ours that it finds
is complete (created in one request), so it is settled on the spot, whoever left it (a running poll or
one that was killed; GitHub gives pending reviews no age to judge staleness by): submitted when its
posting is not on the pull request yet, deleted when it is. The owner's own submit or delete then fails,
and it finds the posting there. A pending review without our marker (a person's draft under a personal
token) is never touched: the pull request is left for the next poll.

When a write fails in a way that may have landed anyway (a 5xx, a reset connection, a timeout) we look
before trying once more. A 422 on an inline comment means GitHub refused one without saying which: the
review is built again with every comment moved into the body, so no finding is lost.

Check runs have no such claim (GitHub allows any number of runs with one name and external_id): the
marker is looked for before creating one, which covers reruns; two polls at the very same moment can
still create two identical check runs. The example workflows' concurrency group is what prevents that.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..core.errors import ConfigError, GitHubError
from ..core.markers import Identity, Marker, from_external_id, marker_of
from ..findings.compose import ANNOTATIONS_PER_REQUEST
from ..github.records import is_pending_review_conflict

SECONDARY_LIMIT_WAIT = 60.0  # GitHub: wait at least a minute when no Retry-After is given
CLAIM_ROUNDS = 4  # claims tried per review part before giving up until the next poll


@dataclass
class Posted:
    reviews: int = 0
    check_runs: int = 0
    inline_moved_to_body: bool = False
    settled: int = 0  # pending reviews of another poll submitted or deleted


class InlineRefused(Exception):
    """GitHub refused an inline comment (422): build the review again with every finding in the body."""


class PendingBlocked(GitHubError):
    """A pending review that batch-review did not write holds the one pending review our user may have."""


def _retryable(exc: GitHubError) -> bool:
    return exc.status == 0 or exc.status >= 500 or exc.status == 429 or (
        exc.status == 403 and (exc.retry_after is not None or "rate limit" in str(exc).lower()))


Build = Callable[[bool, list], tuple[list[str], list[dict]]]


class Publisher:
    def __init__(self, github, *, identity: Identity | None = None, attempts: int = 4,
                 sleep: Callable[[float], None] = time.sleep, log: Callable[[str], None] = print) -> None:
        self.github = github
        self.identity = identity or Identity()
        self.attempts = attempts
        self.sleep = sleep
        self.log = log

    def _write(self, what: str, send: Callable[[], object], landed: Callable[[], object]):
        """Send a write; after a failure that may have landed, check before sending again. Returns what
        `send` returned, or what `landed` found."""
        for attempt in range(1, self.attempts + 1):
            try:
                return send()
            except GitHubError as exc:
                if not _retryable(exc) or attempt == self.attempts:
                    raise
                wait = exc.retry_after if exc.retry_after is not None else (
                    SECONDARY_LIMIT_WAIT if exc.status == 403 else min(30.0, 2.0 ** attempt))
                self.log(f"{what}: {exc}; checking and retrying in {wait:.0f} s")
                self.sleep(wait)
                found = landed()
                if found:
                    return found
        raise AssertionError("unreachable")

    # --- reviews -------------------------------------------------------------------------------------

    def _ours(self, reviews, marker: Marker, *, pending: bool) -> list:
        """Our reviews (by identity, marker at character 0) of this posting and part."""
        out = []
        for r in reviews:
            m = marker_of(r, self.identity)
            if m and m.same_posting(marker) and m.part == marker.part and r.pending == pending:
                out.append(r)
        return out

    def post_review(self, number: int, head_sha: str, marker: Marker, build: Build) -> Posted:
        """Post the review parts not yet on the pull request. `build(inline, reviews)` gives (bodies,
        comments) from the reviews listed so far (none before the first listing); with inline False every
        finding is in the body."""
        posted = Posted()
        inline, listing, part, rounds = True, [], 1, 0
        while True:
            bodies, comments = build(inline, listing)
            if part > len(bodies):
                return posted
            rounds += 1
            if rounds > CLAIM_ROUNDS * max(1, len(bodies)):
                raise GitHubError(0, f"#{number}: could not post review part {part} after {rounds - 1} claims; "
                                     "left for the next poll")
            pm = replace(marker, part=part)
            try:
                outcome, listing = self._claim(number, head_sha, pm, bodies[part - 1],
                                               comments if part == 1 else [], posted,
                                               lambda reviews, p=part, i=inline: self._content(build, i, reviews, p))
            except InlineRefused as exc:
                self.log(f"GitHub refused an inline comment on #{number} ({exc}); moving them into the body")
                inline = False
                posted.inline_moved_to_body = True
                continue
            if outcome == "rebuild":
                continue
            if outcome == "posted":
                posted.reviews += 1
            part += 1

    @staticmethod
    def _content(build: Build, inline: bool, reviews, part: int):
        bodies, comments = build(inline, reviews)
        return (bodies[part - 1] if part <= len(bodies) else None), (comments if part == 1 else [])

    def _claim(self, number, head_sha, pm: Marker, body, comments, posted: Posted, content):
        """One claim: (outcome, listing) with outcome "posted", "already" or "rebuild"."""
        try:
            mine = self._write(
                f"review part {pm.part} on #{number}",
                lambda: self.github.create_pending_review(number, head_sha, body, comments),
                lambda: next(iter(self._ours(self.github.reviews(number), pm, pending=True)), None),
            )
        except GitHubError as exc:
            if is_pending_review_conflict(exc):
                listing = self.github.reviews(number)
                if self._ours(listing, pm, pending=False):
                    return "already", listing
                finished = self._settle(number, listing, posted)
                if any(m.same_posting(pm) and m.part == pm.part for m in finished):
                    return "already", listing  # it was this very part, left pending: now submitted
                return "rebuild", listing
            if exc.status == 422 and comments:
                raise InlineRefused(str(exc)) from exc
            raise
        if not self.identity.wrote(mine.author):
            self._drop(number, mine.id)
            raise ConfigError(f"output.bot_login is {self.identity.login!r} but the token writes as "
                              f"{mine.author!r}: set output.bot_login: {mine.author} (else our own reviews "
                              "would not be recognised and could be posted twice)")
        listing = self.github.reviews(number)  # holding the claim: nobody of ours can publish meanwhile
        if self._ours(listing, pm, pending=False):
            self._drop(number, mine.id)
            return "already", listing
        if content(listing) != (body, comments):  # our earlier reviews change what we post
            self._drop(number, mine.id)
            return "rebuild", listing
        return self._submit(number, mine.id, pm), listing

    def _submit(self, number: int, review_id: int, pm: Marker) -> str:
        def submitted():
            return any(r.id == review_id and not r.pending for r in self.github.reviews(number))
        try:
            self._write(f"submitting review {review_id} on #{number}",
                        lambda: self.github.submit_review(number, review_id), submitted)
        except GitHubError as exc:
            if exc.status not in (404, 422):
                raise
            # another poll settled our pending review: submitted it, or deleted it as a duplicate
            if self._ours(self.github.reviews(number), pm, pending=False):
                return "already"
            raise
        return "posted"

    def _drop(self, number: int, review_id: int) -> None:
        """Delete one of our pending reviews; gone or already submitted (another poll settled it) is fine:
        the next claim sees how it ended."""
        try:
            self.github.delete_pending_review(number, review_id)
        except GitHubError as exc:
            if exc.status not in (404, 422):
                raise

    def _settle(self, number: int, listing, posted: Posted) -> list[Marker]:
        """Finish the pending review that holds our one claim on this pull request; the markers of those
        submitted."""
        finished: list[Marker] = []
        for r in listing:
            if not r.pending:
                continue
            if not self.identity.wrote(r.author):
                raise ConfigError(f"output.bot_login is {self.identity.login!r} but the token writes as "
                                  f"{r.author!r}: set output.bot_login: {r.author}")
            m = marker_of(r, self.identity)
            if m is None:
                raise PendingBlocked(0, f"#{number}: {r.author} has a pending review that batch-review did not "
                                        "write (GitHub allows one per user); not posted, left for the next poll")
            posted.settled += 1
            if self._ours(listing, m, pending=False):
                self.log(f"#{number}: deleting a pending duplicate of review part {m.part} ({m.manifest})")
                self._drop(number, r.id)
                continue
            self.log(f"#{number}: submitting the pending review {r.id} another poll left ({m.manifest})")
            try:
                self.github.submit_review(number, r.id)
                finished.append(m)
            except GitHubError as exc:
                if exc.status not in (404, 422):
                    raise
        return finished

    # --- check runs ----------------------------------------------------------------------------------

    def _find_run(self, name: str, head_sha: str, marker: Marker):
        for run in self.github.check_runs(head_sha, name):
            if not self.identity.ran(run.app_slug):
                continue  # anyone's app can name a check run like ours and copy our external_id
            found = from_external_id(run.external_id)
            if found and found.same_posting(marker):
                return run
        return None

    def post_check_run(self, *, name: str, head_sha: str, marker: Marker, output: dict,
                       annotations: list[dict], conclusion: str) -> Posted:
        """Create (or resume) the check run, append annotations 50 a request, then conclude it."""
        posted = Posted()
        run = self._find_run(name, head_sha, marker)
        if run is not None and run.status == "completed":
            return posted
        chunks = [annotations[i:i + ANNOTATIONS_PER_REQUEST]
                  for i in range(0, len(annotations), ANNOTATIONS_PER_REQUEST)] or [[]]
        if run is None:
            first = chunks[0]
            final = len(chunks) == 1
            self._write(
                f"check run {name!r} on {head_sha[:12]}",
                lambda: self.github.create_check_run(
                    name=name, head_sha=head_sha, external_id=marker.external_id(),
                    output={**output, "annotations": first}, conclusion=conclusion if final else None),
                lambda: self._find_run(name, head_sha, marker) is not None,
            )
            posted.check_runs += 1
            if final:  # created complete: no need to look it up again
                return posted
            run = self._find_run(name, head_sha, marker)
            if run is None:
                raise GitHubError(0, f"check run {name!r} on {head_sha[:12]} was created but cannot be found")
        sent = run.annotations_count
        while sent < len(annotations):
            chunk = annotations[sent:sent + ANNOTATIONS_PER_REQUEST]
            before = sent
            self._write(
                f"annotations {sent + 1}-{sent + len(chunk)} of check run {run.id}",
                lambda chunk=chunk: self.github.update_check_run(run.id, output={**output, "annotations": chunk}),
                lambda before=before: self._annotations(name, head_sha, marker) > before,
            )
            sent = self._annotations(name, head_sha, marker)
        self._write(
            f"concluding check run {run.id}",
            lambda: self.github.update_check_run(run.id, output=output, conclusion=conclusion),
            lambda: getattr(self._find_run(name, head_sha, marker), "status", "") == "completed",
        )
        return posted

    def _annotations(self, name: str, head_sha: str, marker: Marker) -> int:
        run = self._find_run(name, head_sha, marker)
        return run.annotations_count if run else 0
