"""What a pull request's people dismissed of our earlier findings, and whose word counts (pure).

A dismissal is a 👎 reaction on one of our inline comments, a reply to it, or its thread resolved. The
comment must be ours, proven: its first line names a fingerprint (markers.read_finding), it was written by
our identity, in a review whose marker provenance.py believes for this target, and that review's signed
fingerprints line lists the fingerprint. Anything else (a comment quoting our marker, another workflow's
comment as github-actions[bot]) names nothing.

Who may dismiss (the attacker model, docs/security.md):
- the pull request's author: the finding is not posted again on that pull request, but a critical or high
  one stays named in the review ("dismissed by the author"); it never reaches the repository's memory,
  or an author could silence a finding on every pull request;
- a user whose base role is write or admin (maintain reads as write) and who is not the author: the
  finding is not posted again on that pull request, and the dismissal goes to the memory;
- anyone else, our own identity included: nothing. Their reactions and replies are counted, never used.
Permissions cost a REST read each: at most MAX_PERMISSION_LOOKUPS distinct users a run are asked, the
resolver first, then repliers, then reactors, so a flood of reactions cannot spend the token's budget.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from ..core.markers import Marker, normal_category, normal_title, read_finding, read_fingerprints
from ..github.threads import PullThreads, ThreadComment

WRITE_ROLES = ("admin", "write")
MAX_PERMISSION_LOOKUPS = 40
_HEADING = re.compile(r"(?:[^\s*]+ )?\*\*(?P<severity>[a-z]+)\*\* · (?P<category>.*?) — (?P<title>.*)")  # words.label, then ours
_ESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class Dismissal:
    fingerprint: str
    by: str  # the login whose dismissal counts
    author: bool  # the pull request's author (else a user with write access)
    path: str
    severity: str
    category: str
    title: str  # as our comment showed it, markdown escapes undone (model text: data, never instructions)


@dataclass
class Dismissed:
    """One pull request's dismissals that count, by fingerprint (a team member's before the author's)."""

    counted: dict[str, Dismissal] = field(default_factory=dict)
    ignored: int = 0  # reactions, replies and resolutions by users whose word does not count
    notes: list[str] = field(default_factory=list)

    def hidden(self) -> dict[str, str]:
        """fingerprint -> the author's login to name in the body, or "" (a team dismissal)."""
        return {fp: d.by if d.author else "" for fp, d in self.counted.items()}

    def for_memory(self) -> list[Dismissal]:
        return [d for d in self.counted.values() if not d.author]


class Permissions:
    """A user's role, asked at most `limit` times a run (`ask`: login -> admin, write, read or none)."""

    def __init__(self, ask: Callable[[str], str], limit: int = MAX_PERMISSION_LOOKUPS) -> None:
        self.ask, self.limit, self.known = ask, limit, {}
        self.skipped = 0

    def can_write(self, login: str) -> bool:
        if login not in self.known:
            if len(self.known) >= self.limit:
                self.skipped += 1
                return False
            self.known[login] = self.ask(login)
        return self.known[login] in WRITE_ROLES


def proven_reviews(reviews: Iterable, key: str, trust) -> dict[int, frozenset[str]]:
    """review id -> its fingerprints, for the submitted reviews of target `key` our own run wrote."""
    out = {}
    for r in reviews:
        marker: Marker | None = None if getattr(r, "pending", False) else trust.believes(r)
        if marker is not None and marker.target == key:
            out[r.id] = frozenset(read_fingerprints(r.body))
    return out


def _posted(snap, w, trust) -> bool:
    """Whether this Work's review is already posted (a rerun): then there is nothing to decide."""
    marker = Marker(w.key, w.target.head_sha, w.manifest.digest())
    return any(not r.pending and (m := trust.believes(r)) is not None and m.same_posting(marker) for r in snap.reviews)


def _ours(c: ThreadComment, proven: dict[int, frozenset[str]], trust) -> str | None:
    """The fingerprint our own proven comment names, or None."""
    fp = read_finding(c.body)
    if fp is None or not trust.identity.wrote(c.author) or c.review_id not in proven:
        return None
    return fp if fp in proven[c.review_id] else None


def _shown(c: ThreadComment) -> tuple[str, str, str]:
    """(severity, category, title) as the comment's heading (its second line) shows them."""
    lines = c.body.split("\n")
    m = _HEADING.fullmatch(lines[1]) if len(lines) > 1 else None
    if m is None:
        return "medium", "other", ""
    return (m["severity"], _ESCAPE.sub(r"\1", m["category"]).strip("`"),
            _ESCAPE.sub(r"\1", m["title"]).strip("`")[:300])


def judge(pull: PullThreads, proven: dict[int, frozenset[str]], trust, permissions: Permissions) -> Dismissed:
    """The dismissals of one pull request that count, and how many did not."""
    out = Dismissed(notes=[f"#{pull.number}: {cut}" for cut in pull.cut])
    author = pull.author.casefold()
    for thread in pull.threads:
        if not thread.comments:
            continue
        first = thread.comments[0]
        fp = _ours(first, proven, trust)
        if fp is None:
            continue
        actors = ([thread.resolved_by] if thread.resolved_by else []) + [c.author for c in thread.comments[1:]] + list(
            first.thumbs_down)
        for login in dict.fromkeys(a for a in actors if a):
            if trust.identity.wrote(login):
                continue
            is_author = login.casefold() == author
            if not is_author and not permissions.can_write(login):
                out.ignored += 1
                continue
            if fp in out.counted and (is_author or not out.counted[fp].author):
                continue  # a team member's dismissal stands before the author's
            severity, category, title = _shown(first)
            out.counted[fp] = Dismissal(fp, login, is_author, first.path, severity, category, title)
    return out


@dataclass
class Reading:
    """One poll's dismissals: on (config `dismissals.enabled`), the memory's fingerprints, the permissions
    asked, and the team's dismissals seen this run (what the memory gains)."""

    enabled: bool = True
    remembered: frozenset[str] = frozenset()
    permissions: Permissions | None = None
    found: list[Dismissal] = field(default_factory=list)
    ignored: int = 0
    loaded: object | None = None  # ledger.memory.Memory read at the start (None: no memory this run)

    def read(self, github, trust, works: list, snaps: dict) -> None:
        """Each pull request's dismissals that count into its Work's `hidden` (the memory's too): one bulk
        read of threads for the pull requests our proven reviews are on (none on a first review)."""
        proven = {}
        for w in works:
            w.hidden = dict.fromkeys(self.remembered, "")
            snap = snaps.get(w.target.number) if w.target.kind == "pull" else None
            if self.enabled and snap is not None and not _posted(snap, w, trust):
                proven[w.target.number] = (w, proven_reviews(snap.reviews, w.key, trust))
        numbers = [n for n, (_, p) in proven.items() if p]
        if not numbers:
            return
        pulls = github.review_threads(numbers)
        self.permissions = self.permissions or Permissions(github.permission)
        for n in numbers:
            w, reviews = proven[n]
            if n not in pulls:
                continue
            dismissed = judge(pulls[n], reviews, trust, self.permissions)
            w.hidden.update(dismissed.hidden())
            w.notes.extend(dismissed.notes)
            self.found.extend(_as_drafted(dismissed.for_memory(), w.draft))
            self.ignored += dismissed.ignored


def _as_drafted(dismissals: list[Dismissal], draft) -> list[Dismissal]:
    """The memory's entries, held to tonight's own draft of the same finding: the comment's heading is not
    signed, and any workflow that writes as our bot can edit it. Its words are kept only where they are the
    draft's up to what a fingerprint ignores (case, punctuation, spacing); else the draft's words are taken.
    A dismissed finding this night does not raise again stays out of the memory (its fingerprint still
    hides it on this pull request)."""
    ours = {fp: f for f, fp in draft.fingerprints.items()}
    ours.update({fp: f for f, fp in getattr(draft, "legacy", {}).items() if fp})
    out = []
    for d in dismissals:
        f = ours.get(d.fingerprint)
        if f is None:
            continue
        same = normal_title(d.title) == normal_title(f.title) and normal_category(d.category) == normal_category(
            f.category)
        out.append(d if same else replace(d, severity=f.severity, category=normal_category(f.category),
                                          title=(f.title or "")[:300]))
    return out
