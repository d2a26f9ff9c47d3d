"""Scores: did a finding land on, or within k lines of, a bug line? (pure, deterministic: no model judges)

A case is caught at a severity threshold when one of its findings of that severity or more is on the new
side of a file that has bug lines, and its lines (start_line..line) come within `near` lines of one of
them. Per threshold (info, low, medium, high, critical: "at least"):

- recall: caught cases / answered cases;
- findings per case: findings at or above the threshold / answered cases;
- proxy precision: findings on (within `near` of) a bug line / findings at or above the threshold.

Only answered cases count: a case some request of which got no answer (an error of the service, an
expired batch) is listed apart, since the model was never asked. An answer that held no readable
findings counts as answered, with none. Every figure is an exact Fraction; None where the denominator is
zero. What the proxy misses is in docs/eval.md.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from ..core.vocabulary import RIGHT, SEVERITIES, severity_rank

ANSWERED = ("ok", "unparsable")  # the model answered (with or without readable findings)


@dataclass(frozen=True, slots=True)
class Scored:
    """One finding as the eval keeps it (model text: path and title are never trusted, only compared).
    `shown` is False when its path is not a file its own request showed: a guess about a file the model
    did not see is counted as a finding but never catches (as poll never places it on that file)."""

    path: str
    line: int | None
    start_line: int | None
    side: str
    severity: str
    title: str
    shown: bool

    @classmethod
    def from_json(cls, data: Mapping, shown_paths: Collection[str]) -> Scored:
        def number(value) -> int | None:
            return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

        path = str(data.get("path", ""))
        return cls(path, number(data.get("line")), number(data.get("start_line")), str(data.get("side", "")),
                   str(data.get("severity", "")), str(data.get("title", "")), path in shown_paths)


def distance(f: Scored, bug_lines: Mapping[str, Sequence[int]]) -> int | None:
    """How many lines the finding's lines (start_line..line) are from the nearest bug line of its file (0:
    on one); None when it cannot be on one (old side, no line, a file without bug lines or not shown)."""
    lines = bug_lines.get(f.path)
    if not f.shown or f.side != RIGHT or f.line is None or not lines:
        return None
    first = min(f.start_line or f.line, f.line)  # a start after the line: the line alone
    return min(max(first - b, b - f.line, 0) for b in lines)


@dataclass(frozen=True)
class CaseScore:
    sha: str
    answered: bool
    findings: tuple[Scored, ...]
    hit: tuple[bool, ...]  # per finding: within `near` lines of a bug line
    closest: int | None  # lines from the nearest finding to a bug line, any severity

    @property
    def catch(self) -> Scored | None:
        """The most severe finding that catches the case (the first of equals), or None."""
        caught = [f for f, h in zip(self.findings, self.hit, strict=True) if h]
        return max(caught, key=lambda f: severity_rank(f.severity), default=None)

    @property
    def caught_at(self) -> str | None:
        """The highest threshold at which the case is caught."""
        best = self.catch
        return SEVERITIES[severity_rank(best.severity)] if best is not None else None


@dataclass(frozen=True)
class Row:
    threshold: str
    cases: int  # answered cases
    caught: int
    findings: int
    on_bug_lines: int

    @property
    def recall(self) -> Fraction | None:
        return Fraction(self.caught, self.cases) if self.cases else None

    @property
    def precision(self) -> Fraction | None:
        return Fraction(self.on_bug_lines, self.findings) if self.findings else None

    @property
    def per_case(self) -> Fraction | None:
        return Fraction(self.findings, self.cases) if self.cases else None


@dataclass(frozen=True)
class Scores:
    near: int
    rows: tuple[Row, ...]  # one per severity, least severe first
    cases: tuple[CaseScore, ...]

    @property
    def unanswered(self) -> list[str]:
        return [c.sha for c in self.cases if not c.answered]


def score_case(sha: str, bug_lines: Mapping[str, Sequence[int]], findings: Sequence[Scored] | None,
               near: int) -> CaseScore:
    """One case; `findings` None when it was not answered."""
    if findings is None:
        return CaseScore(sha, False, (), (), None)
    distances = [distance(f, bug_lines) for f in findings]
    return CaseScore(sha, True, tuple(findings), tuple(d is not None and d <= near for d in distances),
                     min((d for d in distances if d is not None), default=None))


def score(cases: Iterable[tuple[str, Mapping[str, Sequence[int]], Sequence[Scored] | None]], near: int) -> Scores:
    """Scores of (sha, bug lines, findings or None when unanswered) cases, at every severity threshold."""
    scored = tuple(score_case(sha, lines, findings, near) for sha, lines, findings in cases)
    answered = [c for c in scored if c.answered]
    rows = []
    for threshold in SEVERITIES:
        rank = severity_rank(threshold)
        caught = sum(1 for c in answered if c.caught_at is not None and severity_rank(c.caught_at) >= rank)
        kept = [h for c in answered for f, h in zip(c.findings, c.hit, strict=True) if severity_rank(f.severity) >= rank]
        rows.append(Row(threshold, len(answered), caught, len(kept), sum(kept)))
    return Scores(near, tuple(rows), scored)


def score_record(record, near: int | None = None, only: Collection[str] | None = None) -> Scores:
    """The scores of a collected eval record (record.py) at `near` lines (default: the record's), over the
    cases in `only` (default: all), in the record's order."""
    k = record.settings["near"] if near is None else near
    results = (record.results or {}).get("requests", {})
    by_case: dict[str, list[str]] = {}
    for cid, request in record.requests.items():
        by_case.setdefault(request["case"], []).append(cid)
    cases = []
    for case in record.cases:
        if only is not None and case.sha not in only:
            continue
        cids = by_case.get(case.sha, [])
        answers = [results.get(cid) if isinstance(results.get(cid), Mapping) else {} for cid in cids]
        if not cids or any(a.get("status") not in ANSWERED for a in answers):
            cases.append((case.sha, case.bug_lines, None))
            continue
        findings = [Scored.from_json(f, record.requests[cid]["files"]) for cid, a in zip(cids, answers, strict=True)
                    for f in (a.get("findings") or []) if isinstance(f, Mapping)]
        cases.append((case.sha, case.bug_lines, findings))
    return score(cases, k)
