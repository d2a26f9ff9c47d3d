"""Writing to GitHub exactly once: the write that looks before it tries again, and check runs.

`Publisher.write` sends one write; when it fails in a way that may have landed anyway (a 5xx, a reset
connection, a timeout) it looks (`landed`) before trying once more, and a rate-limit answer is waited out
by the write budget (github/pacing.py) or ends the run's posting (WriteBudgetSpent). Reviews are posted
through the claim in claims.py, which writes through here.

Each review body and check run carries a marker (markers.py); only what provenance.py believes our own
run wrote counts: our identity, and with a signing key a valid signature.

Check runs have no claim (GitHub allows any number of runs with one name and external_id): the
marker is looked for before creating one, which covers reruns; two polls at the very same moment can
still create two identical check runs. The example workflows' concurrency group is what prevents that.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..core.errors import GitHubError
from ..core.markers import Identity, Marker
from ..core.provenance import Provenance
from ..findings.compose import ANNOTATIONS_PER_REQUEST
from ..github.pacing import WriteBudgetSpent


@dataclass
class Posted:
    reviews: int = 0
    check_runs: int = 0
    inline_moved_to_body: bool = False


def _limit(exc: GitHubError) -> bool:
    return exc.status == 429 or (exc.status == 403 and (exc.retry_after is not None or "rate limit" in str(exc).lower()))


def _may_have_landed(exc: GitHubError) -> bool:
    return exc.status == 0 or exc.status >= 500


class Publisher:
    def __init__(self, github, *, provenance: Provenance | None = None, attempts: int = 4,
                 sleep: Callable[[float], None] | None = None, log: Callable[[str], None] = print) -> None:
        self.github = github
        self.provenance = provenance or Provenance(Identity(), getattr(github, "repository", ""))
        self.attempts = attempts
        budget = getattr(github, "budget", None)
        self.sleep = sleep or (budget.clock.sleep if budget is not None else time.sleep)
        self.log = log

    @property
    def identity(self) -> Identity:
        return self.provenance.identity

    def write(self, what: str, send: Callable[[], object], landed: Callable[[], object]):
        """Send a write; after a failure that may have landed, check before sending again; a rate-limit
        answer is sent again once the write budget's wait is over (it raises WriteBudgetSpent when the
        run must stop instead). Returns what `send` returned, or what `landed` found."""
        for attempt in range(1, self.attempts + 1):
            try:
                return send()
            except WriteBudgetSpent:
                raise
            except GitHubError as exc:
                if attempt == self.attempts or not (_limit(exc) or _may_have_landed(exc)):
                    raise
                if _limit(exc):
                    self.log(f"{what}: {exc}; waiting as GitHub asks, then trying again")
                    continue  # not carried out; the budget waits before the next request
                wait = min(30.0, 2.0 ** attempt)
                self.log(f"{what}: {exc}; checking and retrying in {wait:.0f} s")
                self.sleep(wait)
                found = landed()
                if found:
                    return found
        raise AssertionError("unreachable")

    # --- check runs ----------------------------------------------------------------------------------

    def _find_run(self, name: str, head_sha: str, marker: Marker):
        for run in self.github.check_runs(head_sha, name):
            found = self.provenance.check_marker(run)  # anyone's app can name a check run like ours
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
            self.write(
                f"check run {name!r} on {head_sha[:12]}",
                lambda: self.github.create_check_run(
                    name=name, head_sha=head_sha, external_id=self.provenance.external_id(marker),
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
            self.write(
                f"annotations {sent + 1}-{sent + len(chunk)} of check run {run.id}",
                lambda chunk=chunk: self.github.update_check_run(run.id, output={**output, "annotations": chunk}),
                lambda before=before: self._annotations(name, head_sha, marker) > before,
            )
            sent = self._annotations(name, head_sha, marker)
        self.write(
            f"concluding check run {run.id}",
            lambda: self.github.update_check_run(run.id, output=output, conclusion=conclusion),
            lambda: getattr(self._find_run(name, head_sha, marker), "status", "") == "completed",
        )
        return posted

    def _annotations(self, name: str, head_sha: str, marker: Marker) -> int:
        run = self._find_run(name, head_sha, marker)
        return run.annotations_count if run else 0
