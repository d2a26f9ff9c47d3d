"""What to review tonight: open pull requests, or branch pairs, minus what was already submitted or posted.

`select_targets` is the submit journey's first stage: the targets (pull requests picked by the config's
rules, or branch pairs), each pull request's head and base fetched into the checkout, minus every
(target, head) that is pending or that our bot already reviewed, with a `Skip` saying why for each one
left out. It talks to GitHub and git only through the objects it is given. `select_pulls` and
`drop_already_done` are pure; `Target` (vocabulary.py) is what the rest of the pipeline and the manifest
know about one thing under review.

Pull request titles, descriptions, branch names and author logins are the author's words: they are
carried as data (clipped descriptions), never trusted as markup; a marker is believed only at the start
of a review our own run wrote: our identity, and with a signing key a valid signature (provenance.py).
A head whose review carries a marker nobody can prove is ours is reviewed again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from ..core.errors import RepositoryError
from ..core.markers import Identity, Marker
from ..core.provenance import Provenance
from ..core.vocabulary import Target
from ..planning.rendering import clip_description


@dataclass(frozen=True)
class Skip:
    what: str  # "#12", "main...dev"
    reason: str


def _pull_skip_reason(p, rules) -> str | None:
    """Why the config's rules leave this open pull request out, or None."""
    labels = set(p.labels)
    if p.draft and rules.skip_drafts:
        return "draft"
    if p.author in set(rules.skip_authors):
        return f"author {p.author} is in targets.pull_requests.skip_authors"
    if labels & set(rules.exclude_labels):
        return f"label {sorted(labels & set(rules.exclude_labels))[0]!r} is excluded"
    if rules.labels and not labels & set(rules.labels):
        return "has none of targets.pull_requests.labels"
    return None


def select_pulls(pulls: Iterable, rules, *, only: Collection[int] = ()) -> tuple[list, list[Skip]]:
    """Apply targets.pull_requests rules (labels, exclude_labels, skip_drafts, skip_authors) to PullInfos.

    Pull requests named in `only` (from --pr) bypass the label, draft and author rules but must be open.
    """
    selected, skipped, seen = [], [], set()
    wanted = set(only)
    for p in pulls:
        if wanted and p.number not in wanted:
            continue
        if p.state != "open":
            reason = "merged" if p.merged else "closed"
        else:
            reason = None if wanted else _pull_skip_reason(p, rules)
        seen.add(p.number)
        if reason:
            skipped.append(Skip(f"#{p.number}", reason))
        else:
            selected.append(p)
    for number in sorted(wanted - seen):
        skipped.append(Skip(f"#{number}", "not an open pull request of this repository"))
    return selected, skipped


def drop_already_done(targets: Iterable[Target], done: Collection[tuple[str, str]]) -> tuple[list[Target], list[Skip]]:
    """Targets whose (key, head_sha) was already submitted (pending) or posted are skipped."""
    keep, skipped = [], []
    for t in targets:
        if (t.key, t.head_sha) in done:
            skipped.append(Skip(t.label, f"head {t.head_sha[:12]} already submitted or reviewed"))
        else:
            keep.append(t)
    return keep, skipped


# --- the stage ---------------------------------------------------------------------------------------------

@dataclass
class TargetSelection:
    """What tonight reviews, what it leaves out and why, and where incremental reviews start."""

    targets: list[Target]
    skipped: list[Skip] = field(default_factory=list)
    last_reviews: dict[str, Marker] = field(default_factory=dict)  # target key -> our latest review's marker
    # pull request key -> the commit its repository rules are read from, for a base that is not the default
    # branch ("" for none); a pull request on the default branch reads them from its base commit
    rules_from: dict[str, str] = field(default_factory=dict)

    def without(self, done: Collection[tuple[str, str]]) -> TargetSelection:
        """The selection minus targets whose (key, head) is in `done`, each one a Skip."""
        keep, already = drop_already_done(self.targets, done)
        return TargetSelection(keep, self.skipped + already, self.last_reviews, self.rules_from)


def select_targets(cfg, git, gh, *, repository: str, base: str | None = None, head: str | None = None,
                   only_prs: tuple[int, ...] = (), pending: Collection[tuple[str, str]] = (),
                   token: str | None = None, provenance: Provenance | None = None) -> TargetSelection:
    """Tonight's targets. Without `gh` (GitHub), one branch pair of the local checkout (`base`, `head`);
    with it, the pull requests (`only_prs`, or those the config's rules pick) and the configured branch
    pairs, minus the heads our bot already reviewed; either way minus the `pending` (key, head) pairs.
    The pull requests' commits are fetched (with `token`) when the checkout lacks them."""
    if gh is None:
        targets, skipped, posted, latest = local_targets(git, repository, base, head), [], set(), {}
    else:
        targets, skipped = github_targets(gh, cfg, git, only_prs=only_prs)
        trust = provenance or Provenance(Identity(cfg.output.bot_login), repository)
        posted, latest = posted_heads(gh, cfg, targets, trust)
    selection = TargetSelection(targets, skipped, latest).without(set(pending) | posted)
    if gh is not None:
        default = gh.default_branch
        ensure_commits(git, selection.targets, token, default=default)
        selection.rules_from = rules_from(git, selection.targets, default)
    return selection


DEFAULT_REF = "refs/remotes/batch-review/default"


def rules_from(git, targets: Iterable[Target], default: str) -> dict[str, str]:
    """For each pull request whose base branch is not `default`, the commit its repository rules are read
    from: where its base meets the default branch (DEFAULT_REF), or "" when they share no history. The
    author of a pull request picks its base, and anyone who can push a branch can make one: only the
    default branch's history, written by those who may merge there, says what the rules are."""
    return {t.key: _meeting(git, t.base_sha) for t in targets if t.kind == "pull" and t.base_ref != default}


def _meeting(git, base_sha: str) -> str:
    try:
        return git.merge_base(base_sha, DEFAULT_REF)
    except RepositoryError:
        return ""


def local_targets(git, repository: str, base: str | None, head: str | None) -> list[Target]:
    """One branch pair from the local checkout: head (default HEAD) against base (default branch).

    With neither given and HEAD already on the default branch (nothing to compare), the last commit is
    reviewed instead, so the dry run shows something useful on a fresh clone.
    """
    base_ref = base or git.default_branch()
    head_ref = head or git.current_branch() or "HEAD"
    head_sha = git.rev_parse(head or "HEAD")
    base_sha = git.rev_parse(base_ref)
    if base is None and head is None and git.merge_base(base_sha, head_sha) == head_sha:
        parent = git.parent(head_sha)
        if parent:
            base_ref = f"{head_sha[:12]}~1"
    return [Target(kind="branches", repository=repository, base_ref=base_ref, head_ref=head_ref,
                   head_sha=head_sha)]


def github_targets(gh, cfg, git, *, only_prs: tuple[int, ...]) -> tuple[list[Target], list[Skip]]:
    targets: list[Target] = []
    skipped: list[Skip] = []
    if only_prs or cfg.targets.pull_requests.enabled:
        pulls, skips = select_pulls(gh.open_pulls(), cfg.targets.pull_requests, only=only_prs)
        skipped.extend(skips)
        targets.extend(
            Target(kind="pull", repository=gh.repository, base_ref=p.base_ref, head_ref=p.head_ref,
                   head_sha=p.head_sha, base_sha=p.base_sha, number=p.number, title=p.title, author=p.author,
                   body=clip_description(p.body, cfg.max_description_chars))
            for p in pulls
        )
    if not only_prs:
        for pair in cfg.targets.branches:
            try:
                targets.extend(local_targets(git, gh.repository, pair.base, pair.head))
            except RepositoryError as exc:
                skipped.append(Skip(f"{pair.base}...{pair.head}", str(exc)))
    return targets, skipped


def _reviewed(reviews, t: Target, trust: Provenance) -> list[Marker]:
    """The markers of our submitted reviews of this pull request, oldest first."""
    markers = []
    for review in sorted(reviews, key=lambda r: r.id):
        m = None if review.pending else trust.believes(review)
        if m is not None and m.target == t.key:
            markers.append(m)
    return markers


def _checked(gh, t: Target, trust: Provenance, check_name: str) -> bool:
    """Whether a check run of ours already covers this target's head."""
    for run in gh.check_runs(t.head_sha, check_name):
        marker = trust.check_marker(run)
        if marker and marker.target == t.key and marker.head == t.head_sha:
            return True
    return False


def posted_heads(gh, cfg, targets: list[Target], trust: Provenance) -> tuple[set[tuple[str, str]], dict[str, Marker]]:
    """(target key, head sha) pairs that already carry a review or check run of ours, and per pull
    request the marker of our latest review (where an incremental review starts).

    Ours means written by output.bot_login (check runs: created by its app), with the marker at
    character 0 of the body, and with a signing key signed by it (`trust`): a marker anyone else writes, or
    one quoted inside a review's text, would otherwise make tonight skip a head, or narrow an incremental
    review to what came after a commit of the author's choosing. Only a review's marker for its own pull
    request counts."""
    done: set[tuple[str, str]] = set()
    latest: dict[str, Marker] = {}
    reviews, checks = cfg.output.mode in ("review", "both"), cfg.output.mode in ("check", "both")
    pulls = [t.number for t in targets if t.kind == "pull"] if reviews else []
    snaps = gh.pull_snapshots(pulls)[0] if pulls else {}  # in bulk: a share of one request per pull request
    for t in targets:
        if t.kind == "pull" and reviews:
            snap = snaps.get(t.number)
            markers = _reviewed(snap.reviews if snap else (), t, trust)
            done.update((m.target, m.head) for m in markers)
            if markers:
                latest[t.key] = markers[-1]
        if (t.kind != "pull" or checks) and _checked(gh, t, trust, cfg.output.check_name):
            done.add((t.key, t.head_sha))
    return done, latest


def ensure_commits(git, targets: list[Target], token: str | None, *, default: str = "") -> None:
    """Fetch the pull request heads (and bases) the checkout does not have, in one git call; and the
    `default` branch (as DEFAULT_REF) when a pull request's base is another branch."""
    specs = []
    for t in targets:
        if t.kind != "pull":
            continue
        if default and t.base_ref != default:
            specs.append(f"+refs/heads/{default}:{DEFAULT_REF}")
        if not git.has_commit(t.head_sha):
            specs.append(f"+refs/pull/{t.number}/head:refs/remotes/batch-review/pull/{t.number}")
        if t.base_sha and not git.has_commit(t.base_sha):
            specs.append(f"+refs/heads/{t.base_ref}:refs/remotes/batch-review/base/{t.base_ref}")
    git.fetch(sorted(set(specs)), token=token)
