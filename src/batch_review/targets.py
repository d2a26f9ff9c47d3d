"""What to review tonight: open pull requests, or branch pairs, minus what was already submitted or posted.

`select_pulls` is pure (the config's rules applied to a list of pull requests); `Target` (vocabulary.py) is
what the rest of the pipeline and the manifest know about one thing under review.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from .vocabulary import Target


@dataclass(frozen=True)
class Skip:
    what: str  # "#12", "main...dev"
    reason: str


def select_pulls(pulls: Iterable, rules, *, only: Collection[int] = ()) -> tuple[list, list[Skip]]:
    """Apply targets.pull_requests rules (labels, exclude_labels, skip_drafts, skip_authors) to PullInfos.

    Pull requests named in `only` (from --pr) bypass the label, draft and author rules but must be open.
    """
    selected, skipped = [], []
    wanted = set(only)
    for p in pulls:
        what = f"#{p.number}"
        if wanted and p.number not in wanted:
            continue
        labels = set(p.labels)
        reason = None
        if p.state != "open":
            reason = "merged" if p.merged else "closed"
        elif not wanted:
            if p.draft and rules.skip_drafts:
                reason = "draft"
            elif p.author in set(rules.skip_authors):
                reason = f"author {p.author} is in targets.pull_requests.skip_authors"
            elif labels & set(rules.exclude_labels):
                reason = f"label {sorted(labels & set(rules.exclude_labels))[0]!r} is excluded"
            elif rules.labels and not labels & set(rules.labels):
                reason = "has none of targets.pull_requests.labels"
        if reason:
            skipped.append(Skip(what, reason))
        else:
            selected.append(p)
    for number in sorted(wanted - {p.number for p in selected} - {int(s.what[1:]) for s in skipped}):
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
