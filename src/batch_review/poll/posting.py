"""Poll's posting policy: what goes where for one target, and the check runs that report a bad manifest.

A pull request gets its review (mode `review` or `both`) through publish.py's claim; a branch pair, mode
`check` or `both`, and a target whose batch failed get a check run. A pull request closed since the
submission gets nothing (unless `output.post_on_closed`): it is reported once and its manifest retired. The
review leaves out what our earlier reviews already posted (review.Draft) and keeps at most MAX_INLINE
inline comments; the check run carries every finding not already posted. GitHub is asked about the pull
request through one listing of open pull requests per run (github_api caches it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.errors import GitHubError
from ..core.markers import Marker
from ..findings.compose import TargetReport, check_conclusion, check_output, review_bodies
from ..ledger.manifest import Manifest
from .review import Draft, comment_payload, earlier_fingerprints

MAX_INLINE = 30  # reviewdog's cap per review, well clear of GitHub's abuse limits
FAILED_BATCH_TITLE = "The review batch failed: see the details"


@dataclass
class Posting:
    """What posting one target did."""

    done: bool = True  # nothing more to post for it from this manifest
    reviews: int = 0
    check_runs: int = 0
    shown: TargetReport | None = None  # what the developer sees inline and in the body
    notes: list[str] = field(default_factory=list)


def post_target(github, publisher, out, m: Manifest, key: str, draft: Draft, *, failed_batch: bool) -> Posting:
    """Post one target's review and/or check run (`out`: the config's output section). A failed batch
    also gets a check run on the target, so the failure shows on the commit and not only in the summary."""
    t = m.target(key)
    report = draft.report
    posting = Posting()
    if t.kind == "pull":
        pull = github.open_pull(t.number)  # one listing per run, not a request per pull request
        if pull is None and not out.post_on_closed:
            pull = github.pull(t.number)  # closed since submission: once, then retired
            posting.notes.append(f"{report.label} is {'merged' if pull.merged else 'closed'}: nothing posted")
            return posting
        report.current_head = (pull or github.pull(t.number)).head_sha
    marker = Marker(key, t.head_sha, m.digest(), base=t.base_sha)
    posting.shown = for_check = report
    if t.kind == "pull" and out.mode in ("review", "both"):
        posting.shown, for_check, posting.reviews = _post_review(publisher, t.number, draft, marker)
    if t.kind != "pull" or out.mode in ("check", "both") or failed_batch:
        output, annotations = check_output(for_check)
        if failed_batch:
            output["title"] = FAILED_BATCH_TITLE
        posting.check_runs = publisher.post_check_run(
            name=out.check_name, head_sha=t.head_sha, marker=marker, output=output, annotations=annotations,
            conclusion=check_conclusion(for_check.findings, out.fail_on)).check_runs
    return posting


def _post_review(publisher, number: int, draft: Draft, marker: Marker) -> tuple[TargetReport, TargetReport, int]:
    """Post the pull request review through the claim (publish.py): (what the review shows, the report
    without what our earlier reviews already said, for the check run, reviews posted)."""
    identity = publisher.identity
    versions: dict[tuple[bool, frozenset], TargetReport] = {}
    last: list = [[]]  # the listing the review was last built from

    def version(inline_ok: bool, reviews) -> TargetReport:
        earlier = earlier_fingerprints(reviews, marker, identity)
        if (inline_ok, earlier) not in versions:
            versions[(inline_ok, earlier)] = draft.posted(earlier, inline_ok=inline_ok, max_inline=MAX_INLINE)
        return versions[(inline_ok, earlier)]

    def build(inline_ok: bool, reviews):
        last[0] = reviews
        rep = version(inline_ok, reviews)
        return review_bodies(rep, marker.manifest, marker.base), [comment_payload(c) for c in rep.inline]

    posted = publisher.post_review(number, marker.head, marker, build)
    return (version(not posted.inline_moved_to_body, last[0]),
            draft.without(earlier_fingerprints(last[0], marker, identity)), posted.reviews)


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
        except GitHubError as exc:
            notes.append(f"{name}: could not report the problem on {head_sha[:12]}: {exc}")
    return created, notes
