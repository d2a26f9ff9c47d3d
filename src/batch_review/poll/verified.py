"""The verify round, finished: a verify manifest's verdicts applied to the findings it kept, each target
made ready to post.

When the verify batch has finished (completed, expired, failed or cancelled), each answer is read
(planning/verify.parse_verdicts: hostile model text); when it has not finished by the round's deadline,
or its batch cannot be found on the service any more, the poll stops waiting (and asks a batch still
running to stop). Then, per target, from the first round's results the manifest kept: a confirmed finding
is posted (at a lower severity when the verifier lowered it), a refuted one is not posted inline but
counted in the body and listed with its reason in the job summary and SARIF, and a candidate without a
verdict (no answer, an unreadable one, an id answered twice, the deadline) is posted marked unverified.
Posting is the first round's: the same report, the same placement, the same exactly-once claims, under the
verify manifest's digest.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace

from ..core.errors import BatchAPIError
from ..core.vocabulary import Finding
from ..findings.results import RequestResult, answer_of, result_of
from ..findings.verified import mark_unverified
from ..ledger.manifest import Manifest
from ..ledger.store import Pending
from ..planning.verify import Verdict, parse_verdicts
from ..providers.base import BATCH_PENDING, BatchProvider, BatchState
from . import review
from .batches import add_usage

GAVE_UP = "the verify batch did not finish by its deadline"
LOST = "the verify batch could not be found"


def past_deadline(m: Manifest, now: dt.datetime) -> bool:
    """Whether the verify round of `m` has waited its deadline out (an unreadable start: it has)."""
    v = m.verify
    try:
        started = dt.datetime.fromisoformat(v.started_at.replace("Z", "+00:00"))
    except ValueError:
        return True
    if started.tzinfo is None:
        started = started.replace(tzinfo=dt.UTC)
    return now >= started + dt.timedelta(hours=v.deadline_hours)


def give_up(client: BatchProvider, states: list[BatchState | None], notes: list[str], name: str) -> None:
    """Ask the verify batches still running to stop (best effort: their answers are no longer waited for)."""
    for s in states:
        if s is not None and s.status in BATCH_PENDING:
            try:
                client.cancel(s.id)
            except BatchAPIError as exc:
                notes.append(f"{name}: verify batch {s.id} not cancelled: {exc}")


def answers(client: BatchProvider, m: Manifest, states: list[BatchState | None], usage: dict,
            problems: list[str]) -> dict[str, str]:
    """The answer text of each verify request whose batch finished (usage added); failed lines give none."""
    digest, texts, read = m.digest(), {}, {}
    for index, state in enumerate(states):
        if state is None or state.status in BATCH_PENDING or state.status == "failed":
            continue
        expected = {cid for cid, r in m.requests.items() if r.batch == index}
        output, _ = client.results(state, digest)
        for raw in output.splitlines():
            try:
                line = json.loads(raw)
            except (ValueError, RecursionError):
                continue
            cid = line.get("custom_id") if isinstance(line, dict) else None
            if cid not in expected or cid in read:
                if cid in read:
                    problems.append(f"batch {state.id}: custom_id {cid!r} answered twice; the first kept")
                continue
            read[cid] = result_of(cid, line)
            response = line.get("response")
            body = response.get("body") if isinstance(response, dict) else None
            if read[cid].status in ("ok", "unparsable") and isinstance(body, dict):
                texts[cid] = answer_of(body)[0] or ""
    add_usage(usage, m.requests, read)
    return texts


@dataclass
class Outcome:
    """One target's verdicts: findings by (request, index) replaced, dropped (with why) or unverified."""

    lowered: dict[tuple[str, int], str]
    refuted: dict[tuple[str, int], str]
    unverified: set[tuple[str, int]]


def outcome(m: Manifest, vid: str, text: str | None, why_unverified: str, notes: list) -> Outcome:
    v = m.verify
    refs = v.candidates.get(vid, ())
    asked = {ref.id: v.finding(ref) for ref in refs}
    verdicts: dict[str, Verdict] = {}
    if text is not None:
        verdicts, said = parse_verdicts(text, asked)
        notes.extend(("verify round", n) for n in said)
    out = Outcome({}, {}, set())
    for ref in refs:
        at, verdict = (ref.custom_id, ref.index), verdicts.get(ref.id)
        if verdict is None:
            out.unverified.add(at)
        elif not verdict.confirmed:
            out.refuted[at] = verdict.reason
        elif verdict.severity:
            out.lowered[at] = verdict.severity
    if text is None and refs:
        notes.append(("verify round", why_unverified))
    return out


def _results(m: Manifest, key: str, o: Outcome) -> tuple[dict[str, RequestResult], list, set]:
    """The first round's results of `key` with the verdicts applied; (refuted findings with why), and the
    unverified findings' identities."""
    results, refuted, unverified = {}, [], set()
    for cid in m.verify.first:
        if m.verify.first[cid].target != key or cid not in m.verify.results:
            continue
        r = m.verify.results[cid].result(cid)
        kept = []
        for i, f in enumerate(r.findings):
            if (cid, i) in o.refuted:
                refuted.append((f, o.refuted[(cid, i)]))
                continue
            f = replace(f, severity=o.lowered.get((cid, i), f.severity))
            if (cid, i) in o.unverified:
                unverified.add(_identity(f))
            kept.append(f)
        results[cid] = replace(r, findings=tuple(kept))
    return results, refuted, unverified


def _identity(f: Finding) -> tuple:
    """A finding as known whatever its path became when placed (a one-file request's pathless finding)."""
    return (f.custom_id, f.line, f.side, f.title, f.body, f.severity)


def draft(m: Manifest, key: str, text: str | None, why_unverified: str, *, min_severity: str,
          server_url: str) -> tuple[review.Draft, list]:
    """(one target's draft with the verdicts applied, its refuted findings with the verifier's reasons)."""
    notes: list = []
    if text is not None:  # the batch answered: what lacks a verdict lacks it in the answer
        why_unverified = "the verify answer gave no usable verdict for them"
    vid = next((cid for cid, r in m.requests.items() if r.target == key), "")
    o = outcome(m, vid, text, why_unverified, notes)
    results, refuted, unverified = _results(m, key, o)
    first = replace(m, requests=m.verify.first, verify=None)
    resubmitted = {cid for cid in m.verify.first if cid not in m.verify.results}
    report = review.build_report(first, key, results, resubmitted, min_severity=min_severity, server_url=server_url)
    report = mark_unverified(report, lambda f: _identity(f) in unverified)
    report.notes.extend(notes)
    report.refuted = refuted
    report.unverified = sum(1 for f in report.findings if _identity(f) in unverified)
    report.unverified_why = why_unverified if report.unverified else ""
    files = m.files.get(key, {})
    return review.Draft(report, {f: review.finding_fingerprint(files, f) for f in report.findings}), refuted


def dropped_located(m: Manifest, key: str, refuted: list) -> list[tuple[Finding, str, str, str]]:
    """(finding, path, fingerprint, reason) of the refuted findings, for SARIF's suppressions."""
    files = m.files.get(key, {})
    return [(f, f.path, review.finding_fingerprint(files, f), why) for f, why in refuted]


def why_unverified(states: list[BatchState | None], waited_out: bool, lost: bool) -> str:
    if lost:
        return LOST
    if waited_out:
        return GAVE_UP
    final = sorted({s.status for s in states if s is not None and s.status != "completed"})
    return f"the verify batch ended {', '.join(final)}" if final else "the verify answer had no verdict for it"


def texts_by_target(m: Manifest, texts: Mapping[str, str]) -> dict[str, str | None]:
    return {r.target: texts.get(cid) for cid, r in m.requests.items()}


def note_for(pending: Pending, why: str) -> str:
    return f"{pending.name}: {why}; its findings are posted marked unverified"
