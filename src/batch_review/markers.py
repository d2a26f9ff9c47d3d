"""Hidden markers that name what batch-review posted, so it can find its own work again (pure).

A review body (or a check run's external_id) carries `<!-- batch-review:v1 target=pr-12 head=<sha>
manifest=<digest prefix> -->`. Submit skips a head that already carries one; poll looks for it before
posting and after any write whose answer was lost, so nothing is posted twice.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_MARKER_RE = re.compile(
    r"<!-- batch-review:v1 target=(?P<target>[A-Za-z0-9._-]+) head=(?P<head>[0-9a-f]{7,64}) "
    r"(?:base=(?P<base>[0-9a-f]{7,64}) )?manifest=(?P<manifest>[0-9a-f]{8,64})(?: part=(?P<part>\d+))? -->"
)
_FINGERPRINTS_RE = re.compile(r"<!-- batch-review:fingerprints(?P<fps>(?: [0-9a-f]{16})*) -->")
_EXTERNAL_RE = re.compile(
    r"^batch-review:v1:(?P<target>[A-Za-z0-9._-]+):(?P<head>[0-9a-f]{7,64}):(?P<manifest>[0-9a-f]{8,64})$"
)
DIGEST_CHARS = 16


@dataclass(frozen=True)
class Marker:
    target: str
    head: str
    manifest: str
    part: int = 1
    base: str = ""  # the merge base the reviewed diff started from (reviews only)

    def html(self) -> str:
        base = f"base={self.base} " if self.base else ""
        return (f"<!-- batch-review:v1 target={self.target} head={self.head} {base}"
                f"manifest={self.manifest[:DIGEST_CHARS]} part={self.part} -->")

    def external_id(self) -> str:
        return f"batch-review:v1:{self.target}:{self.head}:{self.manifest[:DIGEST_CHARS]}"

    def same_posting(self, other: Marker) -> bool:
        return (self.target, self.head, self.manifest[:DIGEST_CHARS]) == (
            other.target, other.head, other.manifest[:DIGEST_CHARS])


def find_markers(text: str | None) -> list[Marker]:
    return [
        Marker(m["target"], m["head"], m["manifest"], int(m["part"] or 1), m["base"] or "")
        for m in _MARKER_RE.finditer(text or "")
    ]


def fingerprint(path: str, side: str, line_hash: int | None, title: str) -> str:
    """What makes two findings the same across reviews: file, side, the commented line's content (not
    its number, which moves), and the title, normalised."""
    words = " ".join(re.sub(r"[^\w\s]", " ", title.lower()).split())
    key = f"{path}\0{side}\0{'' if line_hash is None else line_hash}\0{words}"
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:16]


def fingerprints_html(fingerprints) -> str:
    return "<!-- batch-review:fingerprints" + "".join(f" {fp}" for fp in sorted(set(fingerprints))) + " -->"


def find_fingerprints(text: str | None) -> set[str]:
    return {fp for m in _FINGERPRINTS_RE.finditer(text or "") for fp in m["fps"].split()}


def from_external_id(external_id: str | None) -> Marker | None:
    m = _EXTERNAL_RE.match(external_id or "")
    return Marker(m["target"], m["head"], m["manifest"]) if m else None
