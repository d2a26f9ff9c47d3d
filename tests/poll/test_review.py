"""review.py (pure): one target's report, its fingerprints computed once, de-duplication, the posted version."""

from __future__ import annotations

import types
from dataclasses import replace

import pytest

from batch_review.core.markers import Identity, Marker, fingerprints_html
from batch_review.core.vocabulary import Finding
from batch_review.findings.results import RequestResult
from batch_review.ledger.manifest import Manifest
from batch_review.poll import review

HEAD = "a" * 40
BOT = "github-actions[bot]"


def manifest() -> Manifest:
    """pr-1: request 0001 shows b.py, request 0000 shows a.py then c.py (listed out of file order)."""
    def req(*paths: str) -> dict:
        return {"target": "pr-1", "batch": 0, "model": "gpt-5-mini", "est_input_tokens": 10, "max_output_tokens": 10,
                "files": [{"path": p, "old_path": None, "part": 0, "parts": 1} for p in paths]}

    return Manifest.from_json({
        "version": 2, "repository": "acme/widgets", "endpoint": "/v1/chat/completions", "model": "gpt-5-mini",
        "provider": {"name": "openai"}, "created_at": "2026-11-24T02:00:00Z", "tool": "batch-review 9.9",
        "targets": {"pr-1": {"kind": "pull", "number": 1, "head_sha": HEAD, "base_sha": "b" * 40,
                             "base_ref": "main", "head_ref": "f", "since": ""}},
        "requests": {"pr-1:0001:0": req("b.py"), "pr-1:0000:0": req("a.py", "c.py")},
        "files": {"pr-1": {p: {"RIGHT": [[1, 20]], "LEFT": [[1, 20]], "crc": [[1, list(range(100, 120))]]}
                           for p in ("a.py", "b.py", "c.py")}},
        "batches": [{"index": 0, "input_sha256": "c" * 64, "requests": 2, "bytes": 10, "model": "gpt-5-mini",
                     "endpoint": "/v1/chat/completions"}],
    })


def finding(path: str, line: int | None = 3, title: str = "Bug", severity: str = "high", cid: str = "pr-1:0000:0",
            side: str = "RIGHT") -> Finding:
    return Finding(cid, path, line, None, side, severity, "bug", title, "body", None)


def ok(cid: str, *findings: Finding, summary: str = "") -> RequestResult:
    return RequestResult(cid, "ok", findings=findings, summary=summary)


def assemble(results: dict, resubmitted=(), min_severity: str = "info") -> review.Draft:
    return review.assemble(manifest(), "pr-1", results, resubmitted, min_severity=min_severity,
                           server_url="https://github.example")


def test_requests_are_read_in_file_order_and_their_summaries_join_in_that_order():
    draft = assemble({"pr-1:0001:0": ok("pr-1:0001:0", summary="about b"),
                      "pr-1:0000:0": ok("pr-1:0000:0", summary="about a and c")})
    r = draft.report
    assert r.summary == "about a and c\nabout b"
    assert (r.label, r.head_sha, r.requests, r.files_reviewed, r.model) == ("#1", HEAD, 2, 3, "gpt-5-mini")
    assert r.server_url == "https://github.example"


def test_a_finding_on_a_file_its_request_did_not_show_goes_to_the_body():
    """The model answering request 0001 (which showed b.py) names a.py, a file of another request: it is
    never placed on a.py's lines, it is listed in the body with the reason."""
    draft = assemble({"pr-1:0001:0": ok("pr-1:0001:0", finding("a.py", cid="pr-1:0001:0")),
                      "pr-1:0000:0": ok("pr-1:0000:0", finding("./c.py"))})
    r = draft.report
    assert [c.path for c in r.inline] == ["c.py"]  # its own file, decorated path normalised
    assert [(f.path, why) for f, why in r.unplaced] == [("a.py", review.OTHER_FILE)]


def test_a_finding_without_a_path_of_a_one_file_request_is_on_that_file():
    draft = assemble({"pr-1:0001:0": ok("pr-1:0001:0", finding("", cid="pr-1:0001:0")),
                      "pr-1:0000:0": ok("pr-1:0000:0", finding(""))})  # two files shown: no guess
    assert [c.path for c in draft.report.inline] == ["b.py"]
    assert [f.path for f, _ in draft.report.unplaced] == [""]


def test_findings_below_the_threshold_are_counted_not_shown():
    draft = assemble({"pr-1:0000:0": ok("pr-1:0000:0", finding("a.py", severity="low"),
                                        finding("a.py", 4, severity="critical"))}, min_severity="medium")
    assert [c.finding.severity for c in draft.report.inline] == ["critical"]
    assert draft.report.below_threshold == 1


def test_missing_failed_refused_and_resubmitted_requests_are_each_accounted_for():
    refused = RequestResult("pr-1:0000:0", "ok", refusal="I will not")
    draft = assemble({"pr-1:0000:0": refused})  # 0001 has no result line at all
    r = draft.report
    assert r.unparsable == [("a.py, c.py", "the model refused", "I will not")]
    assert r.failed == [("b.py", "missing", "no result line for this request")]
    resubmitted = assemble({}, resubmitted={"pr-1:0001:0", "pr-1:0000:0"}).report
    assert (resubmitted.resubmitted, resubmitted.failed, resubmitted.requests) == (2, [], 2)


def test_a_truncated_answer_is_said_once():
    cut = RequestResult("pr-1:0001:0", "ok", truncated=True)
    assert assemble({"pr-1:0001:0": cut}).report.notes == [
        ("b.py", "the answer hit max_output_tokens; findings may be missing")]


def test_every_fingerprint_is_computed_once(monkeypatch):
    calls = []
    real = review.fingerprint
    monkeypatch.setattr(review, "fingerprint", lambda *a: calls.append(a) or real(*a))
    draft = assemble({"pr-1:0000:0": ok("pr-1:0000:0", finding("a.py"), finding("a.py", 5, "Leak"),
                                        finding("nowhere.py"))})
    assert len(calls) == 6  # each finding's fingerprint, and its form without the category (older releases)
    earlier = {draft.fingerprints[draft.report.inline[0].finding]}
    draft.without(earlier)
    draft.posted(earlier, inline_ok=False, max_inline=1)
    draft.located()
    assert len(calls) == 6


def test_fingerprints_follow_the_line_content_not_its_number():
    f = finding("a.py", 3)
    files = manifest().files["pr-1"]
    assert review.finding_fingerprint(files, f) != review.finding_fingerprint(files, finding("a.py", 4))
    moved = {"a.py": replace(files["a.py"], crc=[[1, list(range(99, 120))]])}  # one line added above
    assert review.finding_fingerprint(moved, finding("a.py", 4)) == review.finding_fingerprint(files, f)
    assert review.finding_fingerprint(files, finding("./a.py")) == review.finding_fingerprint(files, f)


def test_without_drops_what_an_earlier_review_posted_and_carries_the_rest():
    draft = assemble({"pr-1:0000:0": ok("pr-1:0000:0", finding("a.py"), finding("a.py", 5, "Leak"),
                                        finding("nowhere.py"))})
    fp = draft.fingerprints
    first, second = (c.finding for c in draft.report.inline)
    rep = draft.without({fp[first]})
    assert [c.finding for c in rep.inline] == [second] and rep.repeated == 1
    assert rep.fingerprints == [fp[second], fp[draft.report.unplaced[0][0]]]
    assert draft.report.repeated == 0 and len(draft.report.inline) == 2  # the draft itself is untouched


def test_the_posted_version_caps_inline_and_moves_everything_to_the_body_when_inline_is_refused():
    draft = assemble({"pr-1:0000:0": ok("pr-1:0000:0", finding("a.py", 3, "One", "low"),
                                        finding("a.py", 5, "Two", "critical"))})
    capped = draft.posted(set(), inline_ok=True, max_inline=1)
    assert [c.finding.title for c in capped.inline] == ["Two"]
    assert [f.title for f, _ in capped.unplaced] == ["One"]
    refused = draft.posted(set(), inline_ok=False, max_inline=30)
    assert refused.inline == [] and {why for _, why in refused.unplaced} == {review.REFUSED_INLINE}
    assert len(refused.fingerprints) == 2


def _review(body: str, author: str = BOT, pending: bool = False):
    return types.SimpleNamespace(body=body, author=author, pending=pending)


MARKER = Marker("pr-1", HEAD, "1" * 64)


@pytest.mark.parametrize(("who", "what", "counted"), [
    ("octocat", "someone else writes our marker and fingerprints", False),
    (BOT, "our own earlier review of this target", True),
])
def test_only_our_own_earlier_reviews_hide_findings(who, what, counted):
    earlier = Marker("pr-1", "c" * 40, "2" * 64).html()
    found = review.earlier_fingerprints([_review(f"{earlier}\n{fingerprints_html(['ab' * 8])}\nx", who)],
                                        MARKER, Identity(BOT))
    assert found == ({"ab" * 8} if counted else set()), what


def test_fingerprints_that_do_not_count():
    fps = fingerprints_html(["ab" * 8])
    other_target = Marker("pr-2", "c" * 40, "2" * 64).html()
    same_posting = Marker("pr-1", HEAD, "1" * 64, part=2).html()
    earlier = Marker("pr-1", "c" * 40, "2" * 64).html()
    reviews = [_review(f"{other_target}\n{fps}"),  # another pull request's review
               _review(f"{same_posting}\n{fps}"),  # this posting's own part
               _review(f"{earlier}\n{fps}", pending=True),  # a pending review is not posted yet
               _review(f"{earlier}\nvisible text\n{fps}"),  # further down the body: text
               _review(f"quoted:\n{earlier}\n{fps}")]  # not at character 0
    assert review.earlier_fingerprints(reviews, MARKER, Identity(BOT)) == set()


def test_comment_payload_single_and_multi_line():
    draft = assemble({"pr-1:0000:0": ok("pr-1:0000:0", finding("a.py", 3),
                                        Finding("pr-1:0000:0", "c.py", 6, 4, "RIGHT", "high", "bug", "Span", "b",
                                                None))})
    single, multi = (review.comment_payload(c) for c in draft.report.inline)
    assert (single["path"], single["line"], single["side"]) == ("a.py", 3, "RIGHT") and "start_line" not in single
    assert (multi["start_line"], multi["line"], multi["start_side"]) == (4, 6, "RIGHT")
