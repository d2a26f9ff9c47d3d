"""The product's vocabulary: the words every module shares (pure, imports nothing of ours).

- Severities, least to most severe, and the words a model may use for them (`SEVERITY_ALIASES`).
- Sides of a diff: `RIGHT` (the new file, the head) and `LEFT` (the old file, the base), and the words a
  model may use for them (`SIDE_ALIASES`).
- `Finding`: one problem a model reported, after results.py salvaged it (every field is model text).
- `Target`: one thing under review (a pull request, or a base...head branch pair), as the manifest keeps it.
- `FilePart`: what one request shows of one file (the whole file, or one part of its hunks), as planning
  makes it and the manifest keeps it.
- `counted(2, "finding")` is "2 findings", `counted(1, "request")` "1 request": the count of anything
  people read, in the right number (never "(s)").
- `DEFAULT_INSTRUCTIONS`: what the model is asked when the configuration does not say; it defines the
  severities in words.

Configuration imports this module, never the other way round.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

SEVERITIES = ("info", "low", "medium", "high", "critical")
# the categories a model may give a finding (the schema's enum); anything else reads as "other"
CATEGORIES = (
    "bug", "security", "correctness", "concurrency", "error-handling", "resource-leak",
    "performance", "data-loss", "api-misuse", "other",
)
SEVERITY_ALIASES = {"blocker": "critical", "major": "high", "error": "high", "moderate": "medium",
                    "warning": "medium", "minor": "low", "nit": "low", "trivial": "low", "note": "info",
                    "informational": "info", "information": "info"}

RIGHT, LEFT = "RIGHT", "LEFT"
SIDE_ALIASES = {"new": RIGHT, "right": RIGHT, "+": RIGHT, "added": RIGHT, "head": RIGHT,
                "old": LEFT, "left": LEFT, "-": LEFT, "removed": LEFT, "deleted": LEFT, "base": LEFT}

DEFAULT_INSTRUCTIONS = """\
Review this change as a senior engineer. Report only concrete problems it introduces or exposes: bugs,
security holes, data loss, races, wrong error handling, leaks, broken edge cases, API misuse. No remarks
on style, naming, docs or tests unless they cause a defect; no praise, no restating the change. When
unsure, stay silent. Per problem: the exact line, a one-sentence title, a body with the consequence (what
fails, for which input) and the fix when clear. suggestion: replacement code for exactly start_line..line,
only when certain, else null. Severity: critical = exploitable hole or data loss; high = bug in normal
use; medium = edge case; low = minor risk; info = worth knowing."""


def severity_rank(severity: str) -> int:
    """Position in SEVERITIES; an unknown word ranks as medium."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else SEVERITIES.index("medium")


@dataclass(frozen=True)
class Finding:
    custom_id: str
    path: str
    line: int | None  # None when the model gave no usable line
    start_line: int | None  # None, or < line
    side: str  # RIGHT | LEFT
    severity: str  # info | low | medium | high | critical
    category: str
    title: str
    body: str
    suggestion: str | None  # replacement code for exactly start_line..line (RIGHT side only)


@dataclass(frozen=True)
class Target:
    kind: str  # "pull" | "branches"
    repository: str
    base_ref: str
    head_ref: str
    head_sha: str
    base_sha: str = ""  # the merge base the diff is taken from
    number: int | None = None
    title: str = ""
    author: str = ""
    since: str = ""  # incremental: the head of our last review; only what changed since is reviewed
    body: str = ""  # the pull request's description (the author's words), clipped

    @property
    def key(self) -> str:
        if self.kind == "pull":
            return f"pr-{self.number}"
        return branches_key(self.base_ref, self.head_ref)

    @property
    def label(self) -> str:
        return f"#{self.number}" if self.kind == "pull" else f"{self.base_ref}...{self.head_ref}"

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("repository")
        if self.kind != "pull":
            data.pop("number")
        return data

    @classmethod
    def from_json(cls, repository: str, data: dict) -> Target:
        return cls(
            kind=data["kind"], repository=repository, base_ref=data.get("base_ref", ""),
            head_ref=data.get("head_ref", ""), head_sha=data["head_sha"], base_sha=data.get("base_sha", ""),
            number=data.get("number"), title=data.get("title", ""), author=data.get("author", ""),
            since=data.get("since", ""), body=data.get("body", ""),
        )


@dataclass(frozen=True, slots=True)
class FilePart:
    """What one request shows of one file: part `part` of `parts` of its diff (0 of 1: the whole file)."""

    path: str
    old_path: str | None = None
    part: int = 0
    parts: int = 1


def branches_key(base: str, head: str) -> str:
    return "branches-" + hashlib.sha256(f"{base}...{head}".encode()).hexdigest()[:12]


def plural(n: int, noun: str) -> str:
    """The noun in the number n asks for: `finding`/`findings`; the last word of a phrase changes
    (`check run` -> `check runs`)."""
    if n == 1:
        return noun
    head, _, last = noun.rpartition(" ")
    if last.endswith(("s", "x", "ch", "sh")):
        last += "es"
    elif last.endswith("y") and last[-2:-1] not in ("a", "e", "i", "o", "u"):
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def counted(n: int, noun: str) -> str:
    """"1 finding", "2 findings", "1,200 requests"."""
    return f"{n:,} {plural(n, noun)}"
