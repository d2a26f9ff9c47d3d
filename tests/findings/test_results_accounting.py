"""Every request we sent is accounted for exactly once, whatever the batch's output and error files hold.

The files come from the batch service, and their answers from a model that reads the pull request: any mix
of valid lines, garbage, lines cut off mid-JSON, the same custom_id twice (in one file or both), ids we
never sent (one that differs from ours only by case or a trailing space), and ids missing altogether. If
one of our ids were lost, a request's findings would vanish silently (never posted, never resubmitted); if
one were counted twice, it would be posted twice; if a foreign id were let in, a stranger's text would be
posted as our finding.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batch_review.findings.results import parse_output_lines

OURS = [f"pr-{n}:{i:04d}:0" for n in (1, 2) for i in range(3)]
FOREIGN = ["pr-9:0000:0", "PR-1:0000:0", "pr-1:0000:0 ", " pr-1:0001:0", "pr-1:0000", "pr-1:0000:0\u200b", ""]
STATUSES = ("ok", "unparsable", "error", "missing")

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _answer(findings: int) -> dict:
    text = json.dumps({"findings": [{"path": "a.py", "line": i + 1, "severity": "low", "title": f"t{i}",
                                     "body": "b"} for i in range(findings)]})
    return {"choices": [{"message": {"content": text}, "finish_reason": "stop"}]}


# A line of either file: (kind, custom_id, text). `kind` is what the line is for the oracle below:
# "answer", "error" (decides the id's fate when it is the first readable line for it), or "noise".
def _line(kind: str, cid: str, findings: int = 0, status: int = 200) -> tuple[str, str, str]:
    if kind == "answer":
        return "answer", cid, json.dumps({"id": "batch_req_1", "custom_id": cid, "response": {
            "status_code": 200, "request_id": "r", "body": _answer(findings)}, "error": None})
    if kind == "http":
        return "error", cid, json.dumps({"custom_id": cid, "response": {"status_code": status, "body": {
            "error": {"code": "server_error", "message": "boom"}}}, "error": None})
    return "error", cid, json.dumps({"custom_id": cid, "response": None,
                                     "error": {"code": "batch_expired", "message": "expired"}})


ids = st.sampled_from(OURS + FOREIGN)
readable = st.one_of(
    st.builds(_line, st.just("answer"), ids, st.integers(0, 3)),
    st.builds(_line, st.just("http"), ids, status=st.sampled_from([400, 429, 500, 503])),
    st.builds(_line, st.just("expired"), ids),
)


@st.composite
def cut(draw):
    """A readable line cut off anywhere before its end: never valid JSON, so never a result."""
    _, _, text = draw(readable)
    return "noise", None, text[: draw(st.integers(0, len(text) - 1))]


garbage = st.one_of(
    st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40).filter(
        lambda t: not t.strip().startswith("{")),
    st.sampled_from(["null", "[]", "42", '"pr-1:0000:0"', '{"custom_id": 7}', '{"custom_id": null}',
                     '{"response": {}}', "{" * 50, "[" * 2000]),
).map(lambda text: ("noise", None, text))
file_lines = st.lists(st.one_of(readable, readable, cut(), garbage), max_size=12)


def _oracle(output: list, errors: list, sent: list[str]):
    """(fate of each id we sent: ("answer", findings) / ("error",) / ("missing",), the foreign ids seen)."""
    fate, foreign = {}, []
    for kind, cid, text in output + errors:
        if kind == "noise":
            continue
        if cid not in sent:
            foreign.append(cid)
        elif cid not in fate:
            fate[cid] = ("answer", len(json.loads(json.loads(text)["response"]["body"]["choices"][0]["message"]
                                                  ["content"])["findings"])) if kind == "answer" else ("error",)
    return {cid: fate.get(cid, ("missing",)) for cid in sent}, foreign


@PROPERTY
@given(output=file_lines, errors=file_lines, sent=st.lists(st.sampled_from(OURS), min_size=1, max_size=8))
def test_every_id_we_sent_is_accounted_for_exactly_once_and_no_foreign_id_leaks_in(output, errors, sent):
    join = lambda lines: "\n".join(text for _, _, text in lines)  # noqa: E731
    parsed = parse_output_lines(join(output), join(errors), sent)
    fate, foreign = _oracle(output, errors, list(dict.fromkeys(sent)))

    assert set(parsed.by_id) == set(sent)  # every id we sent, and nothing else
    for cid, result in parsed.by_id.items():
        assert result.custom_id == cid and result.status in STATUSES
        assert all(f.custom_id == cid for f in result.findings)
        expected = fate[cid]
        if expected[0] == "answer":
            assert (result.status, len(result.findings)) == ("ok", expected[1])
        else:
            assert result.status == expected[0] and not result.findings
    assert parsed.missing == [cid for cid in dict.fromkeys(sent) if fate[cid] == ("missing",)]
    assert parsed.unknown_ids == foreign
    readable_ours = [cid for kind, cid, _ in output + errors if kind != "noise" and cid in sent]
    assert len(parsed.duplicates) == len(readable_ours) - len(set(readable_ours))
    noise = sum(1 for kind, _, text in output + errors if kind == "noise" and text.strip())
    assert len(parsed.malformed_lines) == noise


@PROPERTY
@given(output=file_lines, errors=file_lines)
def test_an_output_file_for_requests_we_never_sent_gives_only_missing(output, errors):
    join = lambda lines: "\n".join(text for _, _, text in lines)  # noqa: E731
    parsed = parse_output_lines(join(output), join(errors), [])
    assert parsed.by_id == {} and parsed.missing == [] and parsed.duplicates == []
