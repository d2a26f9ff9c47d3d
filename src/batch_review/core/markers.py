"""Hidden markers that name what batch-review posted, so it can find its own work again (pure).

A review body (or a check run's external_id) carries `<!-- batch-review:v1 target=pr-12 head=<sha>
manifest=<digest prefix> -->`. Submit skips a head that already carries one; poll looks for it before
posting and after any write whose answer was lost, so nothing is posted twice.

Who may speak for the bot: a marker counts only when (1) it stands at character 0 of the body, followed
by at most one `<!-- batch-review:fingerprints ... -->` comment at the start of the next line (the
leading block: model text comes after it and can never be there), and (2) the review was written by our
own identity (`Identity`: the workflow token's `github-actions[bot]`, an App's `<slug>[bot]`, or the
account of a personal token) or, for a check run, created by our app. Anyone can type a marker into a
review of their own; nobody else can write as the bot, except that every workflow of a repository writes
as `github-actions[bot]`: provenance.py adds the signature (`sig=`) that proves our own trusted run wrote a
marker, and decides what is believed (`marker_of` asks it).

Each inline comment of ours starts with `<!-- batch-review:finding <fingerprint> -->`, so a reaction, a
reply or a resolved thread on it names the finding it dismisses; it is believed only inside a review we
believe whose fingerprints line lists it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

from .vocabulary import CATEGORIES

_MARKER_RE = re.compile(
    r"\A<!-- batch-review:v1 target=(?P<target>[A-Za-z0-9._-]+) head=(?P<head>[0-9a-f]{7,64}) "
    r"(?:base=(?P<base>[0-9a-f]{7,64}) )?manifest=(?P<manifest>[0-9a-f]{8,64})(?: part=(?P<part>\d+))?"
    r"(?: sig=(?P<sig>[0-9a-f]{32}))? -->"
)
_FINGERPRINTS_RE = re.compile(r"\n<!-- batch-review:fingerprints(?P<fps>(?: [0-9a-f]{16})*) -->(?:\n|\Z)")
_FINDING_RE = re.compile(r"\A<!-- batch-review:finding (?P<fp>[0-9a-f]{16}) -->(?:\n|\Z)")
_EXTERNAL_RE = re.compile(
    r"^batch-review:v1:(?P<target>[A-Za-z0-9._-]+):(?P<head>[0-9a-f]{7,64}):(?P<manifest>[0-9a-f]{8,64})"
    r"(?::(?P<sig>[0-9a-f]{32}))?$"
)
DIGEST_CHARS = 16
WORKFLOW_LOGIN = "github-actions[bot]"  # the workflow token's user: every workflow of the repository
SIGNATURE_ROOM = len(" sig=") + 32  # what signing adds to a marker (compose keeps room for it)


@dataclass(frozen=True)
class Marker:
    target: str
    head: str
    manifest: str
    part: int = 1
    base: str = ""  # the merge base the reviewed diff started from (reviews only)
    sig: str = ""  # the signature read with it (provenance.py checks it), not part of what it names

    def html(self) -> str:
        base = f"base={self.base} " if self.base else ""
        sig = f" sig={self.sig}" if self.sig else ""
        return (f"<!-- batch-review:v1 target={self.target} head={self.head} {base}"
                f"manifest={self.manifest[:DIGEST_CHARS]} part={self.part}{sig} -->")

    def external_id(self) -> str:
        return f"batch-review:v1:{self.target}:{self.head}:{self.manifest[:DIGEST_CHARS]}"

    def same_posting(self, other: Marker) -> bool:
        return (self.target, self.head, self.manifest[:DIGEST_CHARS]) == (
            other.target, other.head, other.manifest[:DIGEST_CHARS])


@dataclass(frozen=True)
class Identity:
    """The login our token writes as. Markers on anything written by someone else are ignored."""

    login: str = WORKFLOW_LOGIN

    def believes(self, review) -> Marker | None:
        """The marker at character 0 of a review our identity wrote (identity is the only proof here)."""
        return read_marker(getattr(review, "body", None)) if self.wrote(getattr(review, "author", None)) else None

    def wrote(self, author: str | None) -> bool:
        return bool(author) and author.casefold() == self.login.casefold()

    @property
    def app_slug(self) -> str | None:
        """The app that creates our check runs: `github-actions` for the workflow token, `<slug>` for an
        App's `<slug>[bot]`. A personal token cannot create check runs, so it has none."""
        return self.login[:-len("[bot]")] if self.login.endswith("[bot]") else None

    def ran(self, app_slug: str | None) -> bool:
        return self.app_slug is not None and bool(app_slug) and app_slug.casefold() == self.app_slug.casefold()


def read_marker(text: str | None) -> Marker | None:
    """The marker at character 0 of a body, or None. A marker anywhere else is text, not ours."""
    m = _MARKER_RE.match(text or "")
    if not m:
        return None
    return Marker(m["target"], m["head"], m["manifest"], int(m["part"] or 1), m["base"] or "", m["sig"] or "")


def with_signature(marker_line: str, signature: str) -> str:
    """The marker line (a review body's first line) carrying `signature`."""
    marker = read_marker(marker_line)
    if marker is None or not marker_line.startswith(marker.html()):
        raise ValueError("not a marker line as we write it")
    return replace(marker, sig=signature).html() + marker_line[len(marker.html()):]


def read_fingerprints(text: str | None) -> set[str]:
    """Fingerprints from the leading block only: the comment on the line right after the marker."""
    m = _MARKER_RE.match(text or "")
    if not m:
        return set()
    fps = _FINGERPRINTS_RE.match(text, m.end())
    return set(fps["fps"].split()) if fps else set()


def marker_of(review, judge) -> Marker | None:
    """The marker of a review (anything with .body and .author) when `judge` (an Identity, or a
    provenance.Provenance that also checks signatures) believes our own run wrote it."""
    return judge.believes(review)


def normal_title(title: str) -> str:
    """A title as fingerprints compare it: lower case, punctuation as spaces, whitespace collapsed."""
    return " ".join(re.sub(r"[^\w\s]", " ", (title or "").lower()).split())


def normal_category(category: str | None) -> str:
    """A category as fingerprints compare it: one of CATEGORIES (anything else is "other")."""
    word = (category or "").strip().lower()
    return word if word in CATEGORIES else "other"


def fingerprint(path: str, side: str, line_hash: int | None, title: str, category: str | None = None) -> str:
    """What makes two findings the same across reviews, rebases and re-wordings: file, side, the commented
    line's content (its crc, whitespace at both ends ignored; not its number, which moves), the category and
    the title, normalised. Without `category`: the form releases before issue 20 wrote (still read, so a
    finding they posted is not posted again)."""
    key = f"{path}\0{side}\0{'' if line_hash is None else line_hash}\0{normal_title(title)}"
    if category is not None:
        key += f"\0{normal_category(category)}"
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:16]


def finding_html(fp: str) -> str:
    """The first line of an inline comment of ours: the fingerprint of its finding (hidden when rendered)."""
    return f"<!-- batch-review:finding {fp} -->"


def read_finding(text: str | None) -> str | None:
    """The fingerprint an inline comment names at character 0, or None. Believed only for a comment of a
    review whose marker we believe, when that review's fingerprints line lists it (poll/dismissals.py)."""
    m = _FINDING_RE.match(text or "")
    return m["fp"] if m else None


def fingerprints_html(fingerprints) -> str:
    return "<!-- batch-review:fingerprints" + "".join(f" {fp}" for fp in sorted(set(fingerprints))) + " -->"


def from_external_id(external_id: str | None) -> Marker | None:
    m = _EXTERNAL_RE.match(external_id or "")
    return Marker(m["target"], m["head"], m["manifest"], sig=m["sig"] or "") if m else None
