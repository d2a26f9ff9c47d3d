"""The verify round as a manifest records it: what the first round found, kept until it is posted.

A verify manifest is an ordinary manifest (its `requests` and `batches` are the verify requests, one per
target) with a `verify` section, derived by the poll from a finished first-round manifest before that
one is retired (store before retire). The section holds everything the poll needs to post the targets
without the first round's batches: the first round's request records of those targets (`first`), their
results as read (`results`: status, findings, summary, notes, errors; usage is not kept, it was counted
when they were read), the candidates each verify request asks about (`candidates`: our id -> the
request and the index of the finding in its result), the digest of the first-round manifest (`of`), the
deadline in hours and when the round started (`started_at`, not part of the digest: a poll killed after
creating the verify batch derives the same manifest again and finds that batch by its digest).

Everything here is read from an artifact and checked field by field first (ledger/checks.Checker): a
type, size or reference that is wrong is one ManifestError line, never a half-read round. Finding text is
model text and stays so; compose.py and sarif.py neutralise it where it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..core.vocabulary import LEFT, RIGHT, SEVERITIES, Finding
from ..findings.results import RequestResult
from .checks import DIGEST_RE, Checker

if TYPE_CHECKING:
    from .manifest import RequestRecord

_STATUSES = ("ok", "unparsable", "error", "missing")
_FINDING_TEXT = ("path", "category", "title", "body")
MAX_TEXT = 20_000  # characters of one stored text field (answers.py clips findings well under it)


def _finding_json(f: Finding) -> dict:
    return {"path": f.path, "line": f.line, "start_line": f.start_line, "side": f.side, "severity": f.severity,
            "category": f.category, "title": f.title, "body": f.body, "suggestion": f.suggestion}


@dataclass(frozen=True, slots=True)
class HeldResult:
    """One first-round request's result, as the poll read it (RequestResult without its usage)."""

    status: str
    findings: tuple[Finding, ...] = ()
    summary: str = ""
    notes: tuple[str, ...] = ()
    error_code: str | None = None
    error_message: str | None = None
    refusal: str | None = None
    truncated: bool = False
    raw_text: str | None = None

    @classmethod
    def of(cls, r: RequestResult) -> HeldResult:
        return cls(r.status, r.findings, r.summary, r.notes, r.error_code, r.error_message, r.refusal, r.truncated,
                   r.raw_text)

    def result(self, cid: str) -> RequestResult:
        return RequestResult(cid, self.status, tuple(Finding(cid, *_fields(f)) for f in self.findings),
                             raw_text=self.raw_text, error_code=self.error_code, error_message=self.error_message,
                             refusal=self.refusal, truncated=self.truncated, notes=self.notes, summary=self.summary)

    def to_json(self) -> dict:
        data: dict = {"status": self.status, "findings": [_finding_json(f) for f in self.findings]}
        for key in ("summary", "error_code", "error_message", "refusal", "raw_text"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.notes:
            data["notes"] = list(self.notes)
        if self.truncated:
            data["truncated"] = True
        return data


def _fields(f: Finding) -> tuple:
    return (f.path, f.line, f.start_line, f.side, f.severity, f.category, f.title, f.body, f.suggestion)


@dataclass(frozen=True, slots=True)
class CandidateRef:
    """A candidate of a verify request: our id for it, the first-round request and the finding's index."""

    id: str
    custom_id: str
    index: int


@dataclass
class VerifyRound:
    of: str  # the digest of the first-round manifest
    deadline_hours: float
    started_at: str  # ISO 8601 UTC; not part of the digest
    first: dict[str, RequestRecord] = field(default_factory=dict)
    results: dict[str, HeldResult] = field(default_factory=dict)
    candidates: dict[str, tuple[CandidateRef, ...]] = field(default_factory=dict)  # verify custom_id -> refs

    def to_json(self, *, for_digest: bool = False) -> dict:
        data = {"of": self.of, "deadline_hours": self.deadline_hours,
                "first": {cid: r.to_json() for cid, r in self.first.items()},
                "results": {cid: r.to_json() for cid, r in self.results.items()},
                "candidates": {vid: [[c.id, c.custom_id, c.index] for c in refs]
                               for vid, refs in self.candidates.items()}}
        if not for_digest:
            data["started_at"] = self.started_at
        return data

    def finding(self, ref: CandidateRef) -> Finding:
        return self.results[ref.custom_id].result(ref.custom_id).findings[ref.index]

    @classmethod
    def from_json(cls, data: object, source: str, targets: dict, requests: dict, default_model: str) -> VerifyRound:
        from .manifest import RequestRecord  # the manifest imports this module

        c = Checker(source)
        data = c.obj(data, "verify")
        of = c.string(data.get("of"), "verify.of", DIGEST_RE, "a sha256 digest")
        hours = data.get("deadline_hours")
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 10_000:
            raise c.fail("verify.deadline_hours", "must be a number of hours above 0")
        started = c.string(data.get("started_at", ""), "verify.started_at")
        first = {}
        for cid, r in c.obj(data.get("first"), "verify.first").items():
            c.obj(r, f"verify.first.{cid}")
            if c.string(r.get("target"), f"verify.first.{cid}.target") not in targets:
                raise c.fail(f"verify.first.{cid}", "names no target of this manifest")
            first[cid] = RequestRecord.from_json(cid, r, default_model)
        results = {cid: _held(c, r, f"verify.results.{cid}")
                   for cid, r in c.obj(data.get("results"), "verify.results").items()}
        if set(results) - set(first):
            raise c.fail("verify.results", "holds a result of a request the round does not record")
        candidates = {}
        for vid, refs in c.obj(data.get("candidates"), "verify.candidates").items():
            if vid not in requests:
                raise c.fail(f"verify.candidates.{vid}", "names no verify request of this manifest")
            candidates[vid] = tuple(_ref(c, ref, f"verify.candidates.{vid}[{i}]", results)
                                    for i, ref in enumerate(c.list(refs, f"verify.candidates.{vid}")))
        return cls(of, float(hours), started, first, results, candidates)


def _held(c: Checker, r: object, where: str) -> HeldResult:
    r = c.obj(r, where)
    status = c.string(r.get("status"), f"{where}.status")
    if status not in _STATUSES:
        raise c.fail(f"{where}.status", f"is not one of {', '.join(_STATUSES)}")
    texts = {key: _text(c, r.get(key), f"{where}.{key}") for key in ("summary", "error_code", "error_message",
                                                                      "refusal", "raw_text")}
    notes = tuple(_text(c, n, f"{where}.notes") or "" for n in c.list(r.get("notes", []), f"{where}.notes"))
    findings = tuple(_finding(c, f, f"{where}.findings[{i}]")
                     for i, f in enumerate(c.list(r.get("findings", []), f"{where}.findings")))
    return HeldResult(status, findings, texts["summary"] or "", notes, texts["error_code"], texts["error_message"],
                      texts["refusal"], c.boolean(r.get("truncated", False), f"{where}.truncated"), texts["raw_text"])


def _text(c: Checker, value: object, where: str) -> str | None:
    text = c.string(value, where, optional=True)
    if text is not None and len(text) > MAX_TEXT:
        raise c.fail(where, f"is over {MAX_TEXT:,} characters")
    return text


def _finding(c: Checker, f: object, where: str) -> Finding:
    f = c.obj(f, where)
    text = {key: _text(c, f.get(key), f"{where}.{key}") or "" for key in _FINDING_TEXT}
    side = c.string(f.get("side"), f"{where}.side")
    severity = c.string(f.get("severity"), f"{where}.severity")
    if side not in (LEFT, RIGHT) or severity not in SEVERITIES:
        raise c.fail(where, "has an unknown side or severity")
    line = c.integer(f.get("line"), f"{where}.line", 1, optional=True)
    start = c.integer(f.get("start_line"), f"{where}.start_line", 1, optional=True)
    return Finding("", text["path"], line, start, side, severity, text["category"], text["title"], text["body"],
                   _text(c, f.get("suggestion"), f"{where}.suggestion"))


def _ref(c: Checker, ref: object, where: str, results: dict[str, HeldResult]) -> CandidateRef:
    ref = c.list(ref, where)
    if len(ref) != 3:
        raise c.fail(where, "must be [id, custom_id, index]")
    cid = c.string(ref[1], f"{where}[1]")
    held = results.get(cid)
    if held is None:
        raise c.fail(where, "names a request without a recorded result")
    index = c.integer(ref[2], f"{where}[2]", 0, len(held.findings) - 1)
    return CandidateRef(c.string(ref[0], f"{where}[0]"), cid, index)
