"""Posting reviews and check runs exactly once.

Each review body and check run carries a marker (markers.py). Before posting we look for it; when a write
fails in a way that may have landed anyway (a 5xx, a reset connection, a timeout) we look again before
trying once more. A 422 on a review means GitHub refused an inline comment without saying which: the
review is posted again with every comment moved into the body, so no finding is lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .compose import ANNOTATIONS_PER_REQUEST
from .github_api import GitHubError
from .markers import Marker, find_markers, from_external_id

SECONDARY_LIMIT_WAIT = 60.0  # GitHub: wait at least a minute when no Retry-After is given


@dataclass
class Posted:
    reviews: int = 0
    check_runs: int = 0
    already: int = 0  # parts found already posted (a rerun, or a lost response that had landed)
    inline_moved_to_body: bool = False
    requests: int = 0  # content-creating requests sent


def _retryable(exc: GitHubError) -> bool:
    return exc.status == 0 or exc.status >= 500 or exc.status == 429 or (
        exc.status == 403 and (exc.retry_after is not None or "rate limit" in str(exc).lower()))


class Publisher:
    def __init__(self, github, *, attempts: int = 4, sleep: Callable[[float], None] = time.sleep,
                 log: Callable[[str], None] = print) -> None:
        self.github = github
        self.attempts = attempts
        self.sleep = sleep
        self.log = log

    def _write(self, what: str, send: Callable[[], object], landed: Callable[[], bool], posted: Posted):
        """Send a write; after a failure that may have landed, check before sending again."""
        for attempt in range(1, self.attempts + 1):
            posted.requests += 1
            try:
                return send()
            except GitHubError as exc:
                if not _retryable(exc) or attempt == self.attempts:
                    raise
                wait = exc.retry_after if exc.retry_after is not None else (
                    SECONDARY_LIMIT_WAIT if exc.status == 403 else min(30.0, 2.0 ** attempt))
                self.log(f"{what}: {exc}; checking and retrying in {wait:.0f} s")
                self.sleep(wait)
                if landed():
                    return None
        raise AssertionError("unreachable")

    # --- reviews -------------------------------------------------------------------------------------

    def _posted_parts(self, number: int, marker: Marker) -> set[int]:
        return self._parts_in(self.github.reviews(number), marker)

    @staticmethod
    def _parts_in(reviews, marker: Marker) -> set[int]:
        return {m.part for r in reviews for m in find_markers(r.body) if m.same_posting(marker)}

    def post_review(self, number: int, head_sha: str, marker: Marker,
                    build: Callable[[bool], tuple[list[str], list[dict]]], *, existing=None) -> Posted:
        """Post the review parts not yet on the pull request. `build(inline)` gives (bodies, comments);
        with inline False every finding is in the body. `existing`: the reviews just listed, if any."""
        posted = Posted()
        done = self._parts_in(existing, marker) if existing is not None else self._posted_parts(number, marker)
        bodies, comments = build(True)
        if 1 not in done and comments:
            try:
                self._post_part(number, head_sha, marker, 1, bodies[0], comments, posted)
            except GitHubError as exc:
                if exc.status != 422:
                    raise
                self.log(f"GitHub refused an inline comment on #{number} ({exc}); moving them into the body")
                posted.inline_moved_to_body = True
                done = self._posted_parts(number, marker)
                bodies, comments = build(False)
            else:
                done.add(1)
                posted.reviews += 1
        for part, body in enumerate(bodies, start=1):
            if part in done:
                posted.already += 1
                continue
            self._post_part(number, head_sha, marker, part, body, comments if part == 1 else [], posted)
            posted.reviews += 1
        return posted

    def _post_part(self, number, head_sha, marker, part, body, comments, posted: Posted) -> None:
        self._write(
            f"review part {part} on #{number}",
            lambda: self.github.create_review(number, head_sha, body, comments),
            lambda: part in self._posted_parts(number, marker),
            posted,
        )

    # --- check runs ----------------------------------------------------------------------------------

    def _find_run(self, name: str, head_sha: str, marker: Marker):
        for run in self.github.check_runs(head_sha, name):
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
            posted.already += 1
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
                posted,
            )
            posted.check_runs += 1
            run = self._find_run(name, head_sha, marker)
            if run is None:
                raise GitHubError(0, f"check run {name!r} on {head_sha[:12]} was created but cannot be found")
            if final:
                return posted
        sent = run.annotations_count
        while sent < len(annotations):
            chunk = annotations[sent:sent + ANNOTATIONS_PER_REQUEST]
            before = sent
            self._write(
                f"annotations {sent + 1}-{sent + len(chunk)} of check run {run.id}",
                lambda chunk=chunk: self.github.update_check_run(run.id, output={**output, "annotations": chunk}),
                lambda before=before: self._annotations(name, head_sha, marker) > before,
                posted,
            )
            sent = self._annotations(name, head_sha, marker)
        self._write(
            f"concluding check run {run.id}",
            lambda: self.github.update_check_run(run.id, output=output, conclusion=conclusion),
            lambda: getattr(self._find_run(name, head_sha, marker), "status", "") == "completed",
            posted,
        )
        return posted

    def _annotations(self, name: str, head_sha: str, marker: Marker) -> int:
        run = self._find_run(name, head_sha, marker)
        return run.annotations_count if run else 0
