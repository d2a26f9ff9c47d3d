"""verified.py: the verify round's deadline, why a finding stays unverified, and verdicts applied to the
first round's results as the manifest kept them (the end-to-end journeys: tests/poll/test_verify.py)."""

from __future__ import annotations

import datetime as dt
import json

from batch_review.ledger.manifest import Manifest
from batch_review.poll import verified
from batch_review.providers.base import BatchState

from ..ledger.test_verify_round import FINDING, document


def manifest(findings: list[dict]) -> Manifest:
    data = document()
    data["verify"]["results"]["pr-1:0000:0"]["findings"] = findings
    data["verify"]["candidates"]["pr-1:verify"] = [[f"c{i + 1}", "pr-1:0000:0", i] for i in range(len(findings))]
    return Manifest.from_json(data)


def state(status: str) -> BatchState:
    return BatchState("b", status, 0, None, "f", None, None, {}, {}, None, [], None)


def test_the_deadline_counts_from_the_rounds_start_and_an_unreadable_start_has_passed_it():
    m = manifest([FINDING])
    start = dt.datetime(2026, 11, 25, 2, tzinfo=dt.UTC)
    assert not verified.past_deadline(m, start + dt.timedelta(hours=11, minutes=59))
    assert verified.past_deadline(m, start + dt.timedelta(hours=12))
    m.verify.started_at = "yesterday"
    assert verified.past_deadline(m, start)


def test_why_a_finding_stays_unverified():
    assert verified.why_unverified([state("completed")], True, False) == verified.GAVE_UP
    assert verified.why_unverified([None], True, True) == verified.LOST
    assert verified.why_unverified([state("expired")], False, False) == "the verify batch ended expired"


def test_verdicts_drop_lower_or_leave_unverified_and_never_raise():
    m = manifest([FINDING, dict(FINDING, line=4, title="Two"), dict(FINDING, line=5, title="Three")])
    answer = json.dumps({"verdicts": [
        {"id": "c1", "verdict": "refuted", "reason": "handled above", "severity": None},
        {"id": "c2", "verdict": "confirmed", "reason": "real", "severity": "low"},
        {"id": "c3", "verdict": "confirmed", "reason": "real", "severity": "critical"}]})
    draft, refuted = verified.draft(m, "pr-1", answer, "", min_severity="info", server_url="https://github.com")
    assert [(f.title, why) for f, why in refuted] == [("Boom", "handled above")]
    shown = {f.title: f.severity for f in draft.report.findings}
    assert shown == {"Two": "low", "Three": "high"} and draft.report.unverified == 0
    draft, refuted = verified.draft(m, "pr-1", None, verified.GAVE_UP, min_severity="info",
                                    server_url="https://github.com")
    assert refuted == [] and draft.report.unverified == 3 and draft.report.unverified_why == verified.GAVE_UP
    located = verified.dropped_located(m, "pr-1", [(m.verify.finding(m.verify.candidates["pr-1:verify"][0]), "x")])
    assert located[0][1] == "x.py" and located[0][3] == "x" and len(located[0][2]) > 8
