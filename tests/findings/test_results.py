"""results.py: batch output/error lines and model answers -> findings; tolerant of anything."""

from __future__ import annotations

import dataclasses
import json

import pytest

from batch_review.core.vocabulary import Finding
from batch_review.findings.answers import MAX_BODY, MAX_FINDINGS, MAX_SUGGESTION, MAX_TITLE, parse_answer
from batch_review.findings.results import MAX_RAW, RequestResult, Usage, parse_output_lines

CID = "pr-12:0003:0"


def item(**kw) -> dict:
    base = {"path": "src/a.py", "line": 12, "start_line": None, "side": "new", "severity": "high",
            "category": "bug", "title": "Off by one", "body": "The loop skips the last element.",
            "suggestion": None}
    base.update(kw)
    return base


def finding(**kw) -> Finding:
    base = dict(custom_id=CID, path="src/a.py", line=12, start_line=None, side="RIGHT", severity="high",
                category="bug", title="Off by one", body="The loop skips the last element.", suggestion=None)
    base.update(kw)
    return Finding(**base)


def answer(*items) -> str:
    return json.dumps({"findings": list(items)})


def chat(content, *, refusal=None, finish="stop", prompt=1000, cached=0, completion=200, reasoning=0) -> dict:
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-5-mini",
            "choices": [{"index": 0, "finish_reason": finish,
                         "message": {"role": "assistant", "content": content, "refusal": refusal}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                      "prompt_tokens_details": {"cached_tokens": cached},
                      "completion_tokens_details": {"reasoning_tokens": reasoning}}}


def responses(text=None, *, refusal=None, status="completed", reason=None, inp=900, cached=100, out=300,
              reasoning=120) -> dict:
    content = []
    if text is not None:
        content.append({"type": "output_text", "text": text, "annotations": []})
    if refusal is not None:
        content.append({"type": "refusal", "refusal": refusal})
    body = {"id": "resp_1", "object": "response", "status": status, "model": "gpt-5-mini",
            "output": [{"type": "reasoning", "id": "rs_1", "summary": []},
                       {"type": "message", "id": "msg_1", "role": "assistant", "content": content}],
            "usage": {"input_tokens": inp, "output_tokens": out, "total_tokens": inp + out,
                      "input_tokens_details": {"cached_tokens": cached},
                      "output_tokens_details": {"reasoning_tokens": reasoning}}}
    if reason:
        body["incomplete_details"] = {"reason": reason}
    return body


def out_line(cid: str, body, status: int | str = 200) -> str:
    return json.dumps({"id": "batch_req_1", "custom_id": cid,
                       "response": {"status_code": status, "request_id": "req_1", "body": body}, "error": None})


def err_line(cid: str, code: str, message: str) -> str:
    return json.dumps({"id": "batch_req_2", "custom_id": cid, "response": None,
                       "error": {"code": code, "message": message}})


def parse_findings(text: str, cid: str) -> tuple[list[Finding], str | None]:
    """(findings, what went wrong): the fatal problem, else the salvage notes joined, else None."""
    a = parse_answer(text, cid)
    return list(a.findings), a.problem or ("; ".join(a.notes) or None)


def lines(*items: str) -> str:
    return "\n".join(items) + "\n"


# --- output and error lines -----------------------------------------------------------------------------


def test_chat_completion_line_gives_findings_and_usage():
    text = answer(item(), item(line=30, side="old", severity="low", title="Dead code", body="Never runs."))
    parsed = parse_output_lines(out_line(CID, chat(text, prompt=1000, cached=600, completion=300, reasoning=50)),
                                "", [CID])
    r = parsed.by_id[CID]
    assert r == RequestResult(
        CID, "ok", (finding(), finding(line=30, side="LEFT", severity="low", title="Dead code", body="Never runs.")),
        usage=Usage(input_tokens=1000, cached_input_tokens=600, output_tokens=300, reasoning_tokens=50))
    assert parsed.unknown_ids == parsed.duplicates == parsed.malformed_lines == parsed.missing == []


def test_responses_api_line_gives_findings_and_usage():
    parsed = parse_output_lines(out_line(CID, responses(answer(item()))), "", [CID])
    r = parsed.by_id[CID]
    assert r.status == "ok" and r.findings == (finding(),) and not r.truncated
    assert r.usage == Usage(input_tokens=900, cached_input_tokens=100, output_tokens=300, reasoning_tokens=120)


def test_responses_api_output_text_convenience_field_is_read():
    body = {"object": "response", "status": "completed", "output_text": answer(item()),
            "usage": {"input_tokens": 5, "output_tokens": 7}}
    r = parse_output_lines(out_line(CID, body), "", [CID]).by_id[CID]
    assert r.status == "ok" and r.findings == (finding(),)
    assert r.usage == Usage(5, 0, 7, 0)


def test_responses_api_text_is_joined_over_parts():
    text = answer(item())
    body = responses(None)
    body["output"][1]["content"] = [{"type": "output_text", "text": text[:10]},
                                    {"type": "output_text", "text": text[10:]}]
    assert parse_output_lines(out_line(CID, body), "", [CID]).by_id[CID].findings == (finding(),)


@pytest.mark.parametrize("body", [chat(None, refusal="I can't help with that."),
                                  responses(None, refusal="I can't help with that.")])
def test_refusal_in_either_shape_is_ok_without_findings(body):
    r = parse_output_lines(out_line(CID, body), "", [CID]).by_id[CID]
    assert (r.status, r.findings, r.refusal, r.raw_text) == ("ok", (), "I can't help with that.", None)


def test_chat_finish_reason_length_salvages_complete_findings_and_flags_truncation():
    cut = answer(item(), item(line=20), item(line=30))[:-40]
    r = parse_output_lines(out_line(CID, chat(cut, finish="length")), "", [CID]).by_id[CID]
    assert r.status == "ok" and r.truncated
    assert r.findings == (finding(), finding(line=20))
    assert r.notes == ("the JSON is broken or cut short; 2 complete findings read from it",
                       "the answer hit max_output_tokens; findings may be missing")


def test_chat_finish_reason_length_with_an_empty_answer_is_unparsable():
    r = parse_output_lines(out_line(CID, chat("", finish="length", reasoning=4096)), "", [CID]).by_id[CID]
    assert (r.status, r.error_message, r.raw_text, r.truncated) == (
        "unparsable", "empty answer (the answer hit max_output_tokens)", "", True)
    assert r.usage.reasoning_tokens == 4096


def test_responses_incomplete_at_max_output_tokens_is_flagged():
    body = responses(answer(item()), status="incomplete", reason="max_output_tokens")
    r = parse_output_lines(out_line(CID, body), "", [CID]).by_id[CID]
    assert r.status == "ok" and r.truncated and r.findings == (finding(),)


def test_truncated_answer_without_any_complete_finding_is_unparsable_with_the_reason():
    r = parse_output_lines(out_line(CID, chat('{"findings": [{"path": "a', finish="length")), "",
                                    [CID]).by_id[CID]
    assert r.status == "unparsable" and r.truncated
    assert r.error_message.startswith("the answer is not valid JSON (")
    assert r.error_message.endswith(") (the answer hit max_output_tokens)")


def test_expired_batch_error_file_lines_and_finished_output_lines():
    ids = ["pr-1:0000:0", "pr-1:0001:0", "pr-1:0002:0"]
    output = lines(out_line(ids[0], chat(answer(item(path="a.py")))))
    errors = lines(err_line(ids[1], "batch_expired", "This request could not be executed before the completion "
                            "window expired."),
                   err_line(ids[2], "batch_expired", "This request could not be executed before the completion "
                            "window expired."))
    parsed = parse_output_lines(output, errors, ids)
    assert parsed.by_id[ids[0]].status == "ok" and parsed.by_id[ids[0]].findings[0].path == "a.py"
    for cid in ids[1:]:
        r = parsed.by_id[cid]
        assert (r.status, r.error_code, r.findings, r.usage) == ("error", "batch_expired", (), None)
        assert r.error_message.startswith("This request could not be executed")
    assert parsed.missing == [] and parsed.malformed_lines == []


@pytest.mark.parametrize("status, body, code, message", [
    (400, {"error": {"code": "context_length_exceeded", "message": "too long", "type": "invalid_request_error"}},
     "context_length_exceeded", "too long"),
    (400, {"error": {"code": None, "message": "bad schema", "type": "invalid_request_error"}},
     "invalid_request_error", "bad schema"),
    (429, {"error": {"code": None, "message": None, "type": None}}, "http_429", ""),
    (500, {}, "http_500", "{}"),
    (502, "<html>Bad gateway</html>", "http_502", "<html>Bad gateway</html>"),
    ("503", {"error": {"code": "server_error", "message": "boom"}}, "server_error", "boom"),
])
def test_non_200_status_is_an_error_with_the_best_code(status, body, code, message):
    r = parse_output_lines(out_line(CID, body, status=status), "", [CID]).by_id[CID]
    assert (r.status, r.error_code, r.error_message, r.findings) == ("error", code, message, ())


def test_error_status_keeps_the_usage_when_the_body_has_one():
    body = {"error": {"code": "server_error", "message": "x"}, "usage": {"prompt_tokens": 10, "completion_tokens": 0}}
    assert parse_output_lines(out_line(CID, body, 500), "", [CID]).by_id[CID].usage == Usage(10, 0, 0, 0)


def test_status_code_as_string_200_is_read():
    assert parse_output_lines(out_line(CID, chat(answer(item())), status="200"), "", [CID]).by_id[CID].status == "ok"


def test_a_200_response_wins_over_an_error_object_on_the_same_line():
    line = json.loads(out_line(CID, chat(answer(item()))))
    line["error"] = {"code": "weird", "message": "both"}
    assert parse_output_lines(json.dumps(line), "", [CID]).by_id[CID].status == "ok"


def test_error_object_wins_over_a_failed_response():
    line = json.loads(out_line(CID, {"error": {"code": "server_error", "message": "boom"}}, 500))
    line["error"] = {"code": "batch_cancelled", "message": "cancelled"}
    r = parse_output_lines(json.dumps(line), "", [CID]).by_id[CID]
    assert (r.error_code, r.error_message) == ("batch_cancelled", "cancelled")


@pytest.mark.parametrize("line, code", [
    ({"custom_id": CID, "response": None, "error": None}, "no_response"),
    ({"custom_id": CID}, "no_response"),
    ({"custom_id": CID, "response": "nope", "error": {}}, "no_response"),
    ({"custom_id": CID, "response": None, "error": {"code": None, "message": "only a message"}}, "error"),
])
def test_lines_without_a_usable_response_are_errors(line, code):
    r = parse_output_lines(json.dumps(line), "", [CID]).by_id[CID]
    assert (r.status, r.error_code) == ("error", code)


def test_response_without_status_code_but_with_a_completion_is_read():
    line = {"custom_id": CID, "response": {"body": chat(answer(item()))}}
    assert parse_output_lines(json.dumps(line), "", [CID]).by_id[CID].findings == (finding(),)


def test_200_with_a_body_that_is_not_an_object_is_unparsable():
    r = parse_output_lines(out_line(CID, "just text"), "", [CID]).by_id[CID]
    assert (r.status, r.error_message, r.raw_text) == ("unparsable", "the response body is not a JSON object",
                                                       "just text")


def test_duplicate_ids_keep_the_first_line_and_are_reported():
    first = out_line(CID, chat(answer(item(title="first"))))
    second = out_line(CID, chat(answer(item(title="second"))))
    parsed = parse_output_lines(lines(first, second), lines(err_line(CID, "batch_expired", "x")), [CID])
    assert parsed.by_id[CID].findings[0].title == "first"
    assert parsed.duplicates == [CID, CID]


def test_unknown_ids_are_reported_and_not_used():
    parsed = parse_output_lines(lines(out_line("pr-99:0000:0", chat(answer(item()))), out_line(CID, chat(answer()))),
                                "", [CID])
    assert parsed.unknown_ids == ["pr-99:0000:0"]
    assert set(parsed.by_id) == {CID} and parsed.by_id[CID].findings == ()


def test_malformed_lines_are_reported_with_file_and_number_and_blank_lines_are_skipped():
    output = "\n".join(["", "   ", "not json at all", json.dumps([1, 2]), json.dumps({"custom_id": 7}),
                        json.dumps({"response": None}), out_line(CID, chat(answer(item()))), "{\"custom_id\": "])
    errors = "garbage\n"
    parsed = parse_output_lines(output, errors, [CID])
    assert [(n, reason.split(" (")[0]) for n, reason in parsed.malformed_lines] == [
        (3, "output file: not JSON"), (4, "output file: no custom_id"), (5, "output file: no custom_id"),
        (6, "output file: no custom_id"), (8, "output file: not JSON"), (1, "error file: not JSON")]
    assert parsed.malformed_lines[0][1] == "output file: not JSON (Expecting value)"
    assert parsed.by_id[CID].status == "ok"


def test_missing_ids_get_status_missing_without_an_error_code():
    ids = ["pr-1:0000:0", "pr-1:0001:0", "pr-1:0002:0", "pr-1:0001:0"]
    parsed = parse_output_lines(out_line("pr-1:0001:0", chat(answer())), None, iter(ids))
    assert parsed.missing == ["pr-1:0000:0", "pr-1:0002:0"]
    assert list(parsed.by_id) == ["pr-1:0001:0", "pr-1:0000:0", "pr-1:0002:0"]
    assert parsed.by_id["pr-1:0000:0"] == RequestResult("pr-1:0000:0", "missing", error_code=None,
                                                        error_message="no result line for this request")


def test_default_path_for_fills_findings_without_a_path():
    text = answer(item(path=""), item(path=None), item(path="other.py"))
    parsed = parse_output_lines(out_line(CID, chat(text)), "", [CID], default_path_for=lambda cid: f"file-of-{cid}")
    assert [f.path for f in parsed.by_id[CID].findings] == [f"file-of-{CID}", f"file-of-{CID}", "other.py"]


def test_unparsable_answer_keeps_the_raw_text_truncated():
    prose = "I reviewed the file and it looks fine. " * 400
    r = parse_output_lines(out_line(CID, chat(prose)), "", [CID]).by_id[CID]
    assert r.status == "unparsable" and r.error_message == "the answer is not JSON"
    assert len(r.raw_text) == MAX_RAW and r.raw_text.endswith("…") and r.raw_text.startswith("I reviewed")


def test_usage_values_that_are_not_counts_become_zero():
    body = chat(answer())
    body["usage"] = {"prompt_tokens": "12", "completion_tokens": -3, "prompt_tokens_details": None,
                     "completion_tokens_details": {"reasoning_tokens": True}}
    assert parse_output_lines(out_line(CID, body), "", [CID]).by_id[CID].usage == Usage(0, 0, 0, 0)


def test_missing_usage_is_none():
    body = chat(answer())
    del body["usage"]
    assert parse_output_lines(out_line(CID, body), "", [CID]).by_id[CID].usage is None


def test_chat_content_given_as_parts_is_joined():
    text = answer(item())
    body = chat([{"type": "text", "text": text[:5]}, {"type": "text", "text": text[5:]}])
    assert parse_output_lines(out_line(CID, body), "", [CID]).by_id[CID].findings == (finding(),)


def test_nothing_raises_on_hostile_lines():
    hostile = ["[" * 100_000, "{" * 50_000, json.dumps({"custom_id": CID, "response": {"status_code": 200,
               "body": {"choices": [None]}}}), json.dumps({"custom_id": CID, "response": {"status_code": 200,
               "body": {"choices": "x", "output": [1, {"type": "message", "content": "x"}]}}}),
               "\x00\x01", "null", "1e999999"]
    parsed = parse_output_lines("\n".join(hostile), "\n".join(hostile), [CID])
    assert parsed.by_id[CID].status == "unparsable"
    assert len(parsed.malformed_lines) == 10 and parsed.duplicates == [CID, CID, CID]


# --- the model's answer ---------------------------------------------------------------------------------


def test_strict_schema_answer_is_exact():
    text = answer(item(start_line=10, suggestion="    return items[: n + 1]\n", category="correctness"))
    assert parse_findings(text, CID) == (
        [finding(start_line=10, suggestion="    return items[: n + 1]\n", category="correctness")], None)


@pytest.mark.parametrize("wrap", [
    "```json\n{}\n```",
    "```\n{}\n```",
    "````json\n{}\n````",
    "~~~json\n{}\n~~~",
    "Here are my findings:\n\n```json\n{}\n```\n\nLet me know if you need more.",
    "Here are my findings: {} Hope this helps.",
    "Notes [1] and {{braces}} first, then: {}",
    "  \n{}\n\n",
])
def test_fences_and_prose_around_the_json_are_tolerated(wrap):
    text = wrap.replace("{}", answer(item()), 1) if "{{" not in wrap else wrap.format(answer(item()))
    assert parse_findings(text, CID) == ([finding()], None)


def test_bare_list_is_accepted():
    assert parse_findings(json.dumps([item(), item(line=14)]), CID) == ([finding(), finding(line=14)], None)


@pytest.mark.parametrize("raw, expected", [
    (12, 12), ("12", 12), (" 12 ", 12), ("L12", 12), (12.0, 12), (12.5, None), (-3, None), (0, None),
    ("-3", None), (True, None), ("twelve", None), (None, None), ([12], None), ("", None),
])
def test_line_values(raw, expected):
    (f,), problem = parse_findings(answer(item(line=raw)), CID)
    assert f.line == expected and f.start_line is None and problem is None


def test_line_range_string_gives_start_and_line():
    (f,), _ = parse_findings(answer(item(line="12-15")), CID)
    assert (f.start_line, f.line) == (12, 15)
    (f,), _ = parse_findings(answer(item(line="L15..L12")), CID)
    assert (f.start_line, f.line) == (12, 15)


@pytest.mark.parametrize("start, line, expected", [
    (10, 12, (10, 12)),       # as asked
    (15, 12, (12, 15)),       # swapped
    (12, 12, (None, 12)),     # equal: single line
    ("10", "12", (10, 12)),   # strings of digits
    (10, None, (None, 10)),   # only a start: it is the line
    (-1, 12, (None, 12)),     # unusable start dropped
    (0, 12, (None, 12)),      # line 0 does not exist: never a start
    (5, 0, (None, 5)),        # nor a line
    (10, "x", (None, 10)),
])
def test_start_line_rules(start, line, expected):
    (f,), _ = parse_findings(answer(item(start_line=start, line=line)), CID)
    assert (f.start_line, f.line) == expected


def test_line_given_as_end_line_alias():
    (f,), _ = parse_findings(answer({"path": "a.py", "end_line": 9, "start": 7, "body": "x. y"}), CID)
    assert (f.start_line, f.line) == (7, 9)


@pytest.mark.parametrize("side, expected", [
    ("new", "RIGHT"), ("old", "LEFT"), ("right", "RIGHT"), ("left", "LEFT"), ("RIGHT", "RIGHT"),
    ("LEFT", "LEFT"), (" Old ", "LEFT"), ("New", "RIGHT"), (None, "RIGHT"), ("sideways", "RIGHT"), (1, "RIGHT"),
])
def test_side_values(side, expected):
    (f,), _ = parse_findings(answer(item(side=side)), CID)
    assert f.side == expected


@pytest.mark.parametrize("severity, expected", [
    ("high", "high"), ("HIGH", "high"), (" Critical ", "critical"), ("Info", "info"), ("LOW", "low"),
    ("blocker", "critical"), ("major", "high"), ("warning", "medium"), ("minor", "low"), ("nit", "low"),
])
def test_known_severities_in_any_case_and_common_synonyms(severity, expected):
    (f,), problem = parse_findings(answer(item(severity=severity)), CID)
    assert f.severity == expected and problem is None


@pytest.mark.parametrize("severity", ["urgent", "", None, 5, "p1"])
def test_unknown_severity_is_medium_and_noted(severity):
    findings, problem = parse_findings(answer(item(severity=severity), item()), CID)
    assert [f.severity for f in findings] == ["medium", "high"]
    assert problem == "1 finding had no known severity and is shown as medium"
    result = parse_output_lines(out_line(CID, chat(answer(item(severity=severity)))), "", [CID]).by_id[CID]
    assert result.status == "ok" and result.notes == (problem,)


def test_missing_title_is_the_first_sentence_of_the_body():
    (f,), _ = parse_findings(answer(item(title=None, body="Null dereference when x is empty. Check first.")), CID)
    assert f.title == "Null dereference when x is empty."
    (f,), _ = parse_findings(answer(item(title="  ", body="Is this racy? Two threads write it.")), CID)
    assert f.title == "Is this racy?"
    (f,), _ = parse_findings(answer(item(title=None, body="no full stop here\nsecond line")), CID)
    assert f.title == "no full stop here"
    (f,), _ = parse_findings(answer(item(title=None, body=None)), CID)
    assert (f.title, f.body) == ("Untitled finding", "")
    (f,), _ = parse_findings(answer(item(title=None, body="x" * 500)), CID)
    assert len(f.title) == MAX_TITLE and f.title.endswith("…")


def test_body_aliases_path_aliases_and_category():
    raw = {"file": "./b.py", "line": 3, "message": "Leaks a handle.", "category": " Resource-Leak "}
    (f,), _ = parse_findings(answer(raw), CID)
    assert (f.path, f.body, f.title, f.category, f.severity) == (
        "./b.py", "Leaks a handle.", "Leaks a handle.", "resource-leak", "medium")
    (f,), _ = parse_findings(answer(item(category=None)), CID)
    assert f.category == "other"
    (f,), _ = parse_findings(answer(item(category="c" * 100)), CID)
    assert len(f.category) == 40


def test_text_fields_are_capped():
    (f,), _ = parse_findings(answer(item(title="t" * 1000, body="b" * 20_000)), CID)
    assert len(f.title) == MAX_TITLE and f.title == "t" * (MAX_TITLE - 1) + "…"
    assert len(f.body) == MAX_BODY and f.body == "b" * (MAX_BODY - 1) + "…"


def test_non_string_text_fields_are_kept_as_json():
    (f,), _ = parse_findings(answer(item(title=["a", "b"], body={"why": 1})), CID)
    assert (f.title, f.body) == ('["a", "b"]', '{"why": 1}')


def test_suggestions():
    (f,), _ = parse_findings(answer(item(suggestion=["a = 1", "b = 2"])), CID)
    assert f.suggestion == "a = 1\nb = 2"
    (f,), _ = parse_findings(answer(item(suggestion="   \n")), CID)
    assert f.suggestion is None
    (f,), _ = parse_findings(answer(item(suggestion=42)), CID)
    assert f.suggestion is None
    (f,), problem = parse_findings(answer(item(suggestion="x" * 8_001)), CID)
    assert f.suggestion is None and problem == "1 suggestion over 8,000 characters dropped"
    (f,), _ = parse_findings(answer(item(suggestion="x" * 8_000)), CID)
    assert f.suggestion == "x" * 8_000 == "x" * MAX_SUGGESTION


def test_too_many_findings_keeps_the_most_severe_in_answer_order_and_counts_the_rest():
    items = [item(line=i, severity="low") for i in range(1, 61)]
    items[55]["severity"] = "critical"
    items[58]["severity"] = "high"
    findings, problem = parse_findings(answer(*items), CID)
    assert len(findings) == MAX_FINDINGS
    assert [f.line for f in findings] == list(range(1, 49)) + [56, 59]
    assert problem == "10 more findings not shown (at most 50 per request, the most severe kept)"
    r = parse_output_lines(out_line(CID, chat(answer(*items))), "", [CID]).by_id[CID]
    assert r.status == "ok" and len(r.findings) == MAX_FINDINGS and r.notes == (problem,)


def test_string_items_are_salvaged_and_other_items_skipped():
    findings, problem = parse_findings(answer("SQL injection in the query builder. Use parameters.", 7, None,
                                              item()), CID)
    assert findings == [finding(line=None, severity="medium", category="other",
                                title="SQL injection in the query builder.", path="",
                                body="SQL injection in the query builder. Use parameters."), finding()]
    assert problem == ("2 findings were not JSON objects and were skipped; "
                       "1 finding had no known severity and is shown as medium")


def test_items_that_are_all_unusable_make_the_answer_unparsable():
    assert parse_findings(answer(1, 2, None), CID) == ([], "none of the 3 findings is a JSON object")


@pytest.mark.parametrize("text, problem", [
    ("", "empty answer"),
    ("   \n", "empty answer"),
    ("Looks good to me!", "the answer is not JSON"),
    ('{"summary": "all fine"}', "the JSON has no findings list"),
    ('"no findings"', "the JSON has no findings list"),
    ("42", "the JSON has no findings list"),
    ("[1, 2]", "none of the 2 findings is a JSON object"),
])
def test_answers_without_findings(text, problem):
    assert parse_findings(text, CID) == ([], problem)


def test_broken_json_reports_the_decoder_message():
    findings, problem = parse_findings("Sorry, here is my review: the file looks fine but { not json", CID)
    assert findings == [] and problem == "the answer is not valid JSON (Expecting property name enclosed in " \
                                         "double quotes)"


@pytest.mark.parametrize("text", ['{"findings": []}', '{"findings": null}', "[]", "```json\n{\"findings\": []}\n```"])
def test_no_findings_is_ok(text):
    assert parse_findings(text, CID) == ([], None)


def test_other_list_keys_and_a_single_object_are_accepted_with_a_note():
    findings, problem = parse_findings(json.dumps({"issues": [item()]}), CID)
    assert findings == [finding()] and problem == 'findings given as "issues"'
    findings, problem = parse_findings(json.dumps(item()), CID)
    assert findings == [finding()] and problem == "a single finding instead of a findings list"


def test_broken_json_after_some_findings_keeps_the_complete_ones():
    text = '{"findings": [' + json.dumps(item()) + ", " + json.dumps(item(line=13)) + ', {"path": "a.py", "li'
    findings, problem = parse_findings(text, CID)
    assert findings == [finding(), finding(line=13)]
    assert problem == "the JSON is broken or cut short; 2 complete findings read from it"


def test_trailing_comma_json_is_salvaged():
    text = '{"findings": [' + json.dumps(item()) + ",]}"
    assert parse_findings(text, CID)[0] == [finding()]


def test_parse_answer_separates_fatal_problem_from_notes():
    a = parse_answer(answer(item(severity="?")), CID, default_path="x.py")
    assert a.problem is None and a.notes == ("1 finding had no known severity and is shown as medium",)
    assert parse_answer("nope", CID).problem == "the answer is not JSON"
    assert parse_answer(answer(item(path=None)), CID, default_path="x.py").findings[0].path == "x.py"


@pytest.mark.parametrize("text", [
    "[" * 100_000, "{" * 100_000, '{"findings": ' + "[" * 100_000, "```json\n" + "{" * 5000,
    '{"findings": [{"line": {"a": [1, {"b": null}]}, "side": {}, "severity": [], "title": 1e400}]}',
    "\x00" * 10, "{" * 300 + answer(item()),
])
def test_parse_findings_never_raises(text):
    findings, problem = parse_findings(text, CID)
    assert isinstance(findings, list) and (problem is None or isinstance(problem, str))


def test_json_after_many_brackets_is_still_found_when_it_is_within_the_scan_limit():
    text = "[x] " * 50 + answer(item())
    assert parse_findings(text, CID) == ([finding()], None)


def test_a_fenced_block_wins_over_json_quoted_in_the_prose_before_it():
    text = 'The schema asks for {"findings": []}, so:\n\n```json\n' + answer(item()) + "\n```\n"
    assert parse_findings(text, CID) == ([finding()], None)


# --- limits and edges: each test names the bug it would catch ------------------------------------------------


def test_findings_at_the_per_answer_cap_are_all_kept_and_one_over_drops_the_least_severe():
    at_cap = [item(line=i, severity="low") for i in range(1, MAX_FINDINGS + 1)]
    a = parse_answer(answer(*at_cap), CID)
    assert len(a.findings) == MAX_FINDINGS == 50 and a.notes == ()
    over = at_cap[:10] + [item(line=999, severity="high")] + at_cap[10:]  # 51: the last low one goes
    a = parse_answer(answer(*over), CID)
    assert [f.line for f in a.findings] == list(range(1, 11)) + [999] + list(range(11, MAX_FINDINGS))
    assert a.notes == ("1 more finding not shown (at most 50 per request, the most severe kept)",)


def test_the_cap_ranks_every_severity_and_keeps_answer_order_among_equals():
    severities = ["info", "critical", "low", "high", "medium"] * 11  # 55 findings, 11 of each
    a = parse_answer(answer(*[item(line=i + 1, severity=s) for i, s in enumerate(severities)]), CID)
    kept = [f.severity for f in a.findings]
    assert len(kept) == 50 and kept.count("info") == 6 and all(kept.count(s) == 11 for s in
                                                                ("critical", "high", "medium", "low"))
    assert [f.line for f in a.findings] == sorted(f.line for f in a.findings)


@pytest.mark.parametrize("title, kept", [("t" * 200, "t" * 200), ("t" * 201, "t" * 199 + "…")])
def test_a_title_at_the_limit_is_whole_and_one_over_is_clipped(title, kept):
    (f,), _ = parse_findings(answer(item(title=title)), CID)
    assert f.title == kept


def test_text_at_its_limit_is_whole_and_lone_surrogates_are_replaced():
    (f,), _ = parse_findings(answer(item(body="b" * 8_000, title="\ud800x", category="\udfff")), CID)
    assert f.body == "b" * 8_000 == "b" * MAX_BODY and f.title == "\ufffdx" and f.category == "\ufffd"
    r = parse_output_lines(out_line(CID, chat("x" * 4_000)), "", [CID]).by_id[CID]
    assert r.raw_text == "x" * 4_000 == "x" * MAX_RAW
    (f,), _ = parse_findings(answer(item(body="b" * 8_001)), CID)
    assert f.body == "b" * 7_999 + "…"


@pytest.mark.parametrize("cut", ["},", "}, ", "},\n\t ", "}"])
def test_an_answer_cut_off_right_after_a_finding_keeps_it(cut):
    """The answer stops right after `},`: salvage must stop at the end of the text, not read past it."""
    text = '{"findings": [' + json.dumps(item())[:-1] + cut
    findings, problem = parse_findings(text, CID)
    assert findings == [finding()]
    assert problem == "the JSON is broken or cut short; 1 complete finding read from it"


@pytest.mark.parametrize("side, expected", [
    ("+", "RIGHT"), ("added", "RIGHT"), ("head", "RIGHT"), ("-", "LEFT"), ("removed", "LEFT"),
    ("deleted", "LEFT"), ("base", "LEFT"), (" BASE ", "LEFT"), ("", "RIGHT"),
])
def test_every_side_alias_the_prompt_allows(side, expected):
    """A finding on a removed line must stay on the old side: on the new side it lands on another line."""
    (f,), _ = parse_findings(answer(item(side=side)), CID)
    assert f.side == expected


@pytest.mark.parametrize("severity, expected", [
    ("error", "high"), ("moderate", "medium"), ("trivial", "low"), ("note", "info"), ("informational", "info"),
    ("information", "info"), ("medium", "medium"),
])
def test_the_rest_of_the_severity_synonyms(severity, expected):
    (f,), problem = parse_findings(answer(item(severity=severity)), CID)
    assert f.severity == expected and problem is None


@pytest.mark.parametrize("raw, expected", [
    ("0-5", (None, 5)), ("5-0", (None, 5)), ("3–7", (3, 7)), ("3:7", (3, 7)), ("L3 - L7", (3, 7)),
    ("7..7", (None, 7)), ("1-2-3", (None, None)),
])
def test_line_range_strings(raw, expected):
    (f,), _ = parse_findings(answer(item(line=raw)), CID)
    assert (f.start_line, f.line) == expected


def test_a_range_in_the_line_field_is_not_read_when_start_line_is_given():
    (f,), _ = parse_findings(answer(item(line="3-7", start_line=2)), CID)
    assert (f.start_line, f.line) == (None, 2)


@pytest.mark.parametrize("key", ["line", "end_line", "line_number"])
def test_line_aliases(key):
    raw = {"path": "a.py", key: 8, "body": "x"}
    (f,), _ = parse_findings(answer(raw), CID)
    assert f.line == 8


def test_body_and_path_aliases():
    for key in ("body", "message", "description", "comment", "details"):
        (f,), _ = parse_findings(answer({key: "Leaks."}), CID)
        assert f.body == "Leaks."
    for key in ("path", "file", "filename", "file_path"):
        (f,), _ = parse_findings(answer({key: " x.py ", "body": "b"}), CID)
        assert f.path == "x.py"
    (f,), _ = parse_findings(answer({"summary": "From summary", "body": "b"}), CID)
    assert f.title == "From summary"


def test_a_suggestion_list_with_anything_but_strings_is_no_suggestion():
    (f,), _ = parse_findings(answer(item(suggestion=["a = 1", 2])), CID)
    assert f.suggestion is None
    (f,), _ = parse_findings(answer(item(suggestion="x\ud800")), CID)
    assert f.suggestion == "x\ufffd"


def test_the_first_sentence_needs_a_space_or_the_end_after_its_stop():
    (f,), _ = parse_findings(answer(item(title=None, body="Use os.path.join here. Else it breaks.")), CID)
    assert f.title == "Use os.path.join here."
    (f,), _ = parse_findings(answer(item(title=None, body="  \nWhy?")), CID)
    assert f.title == "Why?"


def test_prose_around_an_empty_list_is_said_not_silent():
    a = parse_answer("I looked at it all: [] — nothing to report.", CID)
    assert a.findings == () and a.problem is None
    assert a.notes == ("the answer is prose around an empty JSON list; read as no findings",)


def test_prose_with_json_that_is_not_findings_reads_the_first_value():
    assert parse_findings('As asked: ["a", "b"] and {"x": 1}.', CID) == (
        [finding(path="", line=None, severity="medium", category="other", title="a", body="a"),
         finding(path="", line=None, severity="medium", category="other", title="b", body="b")],
        "2 findings had no known severity and are shown as medium")
    assert parse_findings('Counts [1] then {"x": 1}.', CID) == ([], "none of the 1 findings is a JSON object")


def test_json_is_searched_within_the_first_200_brackets_only():
    """A bound on the work one answer can cost: "[x] " 100,000 times must not be 100,000 decodes."""
    issues = json.dumps({"issues": [item()]})
    assert parse_findings("[x] " * 199 + issues, CID) == ([finding()], 'findings given as "issues"')
    assert parse_findings("[x] " * 200 + issues, CID) == ([], "the answer is not valid JSON (Expecting value)")


def test_the_summary_is_five_non_empty_lines_clipped():
    text = json.dumps({"findings": [], "summary": "\n".join(["one", "", "  two  ", "3", "4", "5", "6"])})
    assert parse_answer(text, CID).summary == "one\ntwo\n3\n4\n5"
    long = json.dumps({"findings": [], "summary": "s" * 5000})
    assert parse_answer(long, CID).summary == "s" * 999 + "…"
    assert parse_answer(json.dumps({"findings": [], "summary": 7}), CID).summary == ""
    assert parse_answer(json.dumps([item()]), CID).summary == ""


def test_a_refusal_beside_findings_keeps_both():
    r = parse_output_lines(out_line(CID, chat(answer(item()), refusal="Partly refused.")), "", [CID]).by_id[CID]
    assert (r.status, r.findings, r.refusal) == ("ok", (finding(),), "Partly refused.")
    r = parse_output_lines(out_line(CID, chat("", refusal="   ")), "", [CID]).by_id[CID]
    assert (r.status, r.refusal) == ("unparsable", None)


def test_an_unparsable_answer_keeps_usage_refusal_and_truncation():
    r = parse_output_lines(out_line(CID, chat("not json", refusal="no", finish="length")), "", [CID]).by_id[CID]
    assert (r.status, r.refusal, r.truncated, r.raw_text) == ("unparsable", "no", True, "not json")
    assert r.error_message == "the answer is not JSON (the answer hit max_output_tokens)"
    assert r.usage == Usage(1000, 0, 200, 0)


def test_chat_with_no_choices_or_odd_content_is_an_empty_answer():
    for body in ({"choices": []}, {"choices": [{"message": {"content": 7}}]},
                 {"choices": [{"message": {"content": [{"text": 1}, "x"]}}]}):
        r = parse_output_lines(out_line(CID, body), "", [CID]).by_id[CID]
        assert (r.status, r.error_message) == ("unparsable", "empty answer")


def test_responses_output_other_than_message_text_is_ignored():
    text = answer(item())
    body = {"status": "completed", "output": [
        "x", {"type": "reasoning", "content": [{"type": "output_text", "text": "not the answer"}]},
        {"type": "message", "content": ["x", {"type": "output_text", "text": 5}, {"type": "text", "text": text},
                                         {"type": "refusal", "refusal": 5}]}],
        "output_text": "ignored when parts have text"}
    r = parse_output_lines(out_line(CID, body), "", [CID]).by_id[CID]
    assert (r.findings, r.refusal, r.usage) == ((finding(),), None, None)


def test_responses_incomplete_for_another_reason_is_not_truncation():
    body = responses(answer(item()), status="incomplete", reason="content_filter")
    assert not parse_output_lines(out_line(CID, body), "", [CID]).by_id[CID].truncated
    body = responses(answer(item()), status="completed", reason="max_output_tokens")
    assert not parse_output_lines(out_line(CID, body), "", [CID]).by_id[CID].truncated


def test_usage_of_either_shape_with_only_some_fields():
    body = chat(answer())
    body["usage"] = {"completion_tokens": 5.0}
    assert parse_output_lines(out_line(CID, body), "", [CID]).by_id[CID].usage == Usage(0, 0, 5, 0)
    body["usage"] = {"prompt_tokens": 3}
    assert parse_output_lines(out_line(CID, body), "", [CID]).by_id[CID].usage == Usage(3, 0, 0, 0)
    body["usage"] = {"input_tokens": 1, "output_tokens": 2.5, "input_tokens_details": {"cached_tokens": 1}}
    assert parse_output_lines(out_line(CID, body), "", [CID]).by_id[CID].usage == Usage(1, 1, 0, 0)
    body["usage"] = "lots"
    assert parse_output_lines(out_line(CID, body), "", [CID]).by_id[CID].usage is None


@pytest.mark.parametrize("status", [200.0, True, "2OO", None, [200]])
def test_a_status_code_that_is_no_number_is_judged_by_the_body(status):
    r = parse_output_lines(out_line(CID, {"error": {"message": "m"}}, status=status), "", [CID]).by_id[CID]
    assert (r.status, r.error_code, r.error_message) == ("error", "http_unknown", "m")
    r = parse_output_lines(out_line(CID, chat(answer(item())), status=status), "", [CID]).by_id[CID]
    assert (r.status, r.findings) == ("ok", (finding(),))


def test_a_status_code_string_with_spaces_is_read():
    r = parse_output_lines(out_line(CID, chat(answer(item())), status=" 200 "), "", [CID]).by_id[CID]
    assert r.status == "ok"
    r = parse_output_lines(out_line(CID, {"error": {"code": "x"}}, status=" 500"), "", [CID]).by_id[CID]
    assert (r.status, r.error_code) == ("error", "x")


def test_an_error_code_without_a_message_and_a_message_without_a_code():
    line = {"custom_id": CID, "response": None, "error": {"code": "batch_expired"}}
    r = parse_output_lines(json.dumps(line), "", [CID]).by_id[CID]
    assert (r.status, r.error_code, r.error_message) == ("error", "batch_expired", "")
    line["error"] = {"message": {"detail": "x"}}
    r = parse_output_lines(json.dumps(line), "", [CID]).by_id[CID]
    assert (r.error_code, r.error_message) == ("error", '{"detail": "x"}')


def test_a_credential_in_an_error_message_is_redacted():
    key = "sk-proj-" + "A1b2C3d4" * 6
    r = parse_output_lines(err_line(CID, "invalid_api_key", f"Incorrect API key provided: {key}"), "", [CID])
    assert key not in r.by_id[CID].error_message
    body = {"error": {"type": "auth", "message": f"bad key {key}"}}
    r = parse_output_lines(out_line(CID, body, 401), "", [CID]).by_id[CID]
    assert r.error_code == "auth" and key not in r.error_message


def test_a_path_at_its_limit_is_whole_and_one_over_is_clipped():
    (f,), _ = parse_findings(answer(item(path="p" * 1000)), CID)
    assert f.path == "p" * 1000
    (f,), _ = parse_findings(answer(item(path="p" * 1001)), CID)
    assert f.path == "p" * 999 + "…"


def test_a_null_field_falls_through_to_its_alias():
    (f,), _ = parse_findings(answer({"title": None, "summary": "From summary", "body": None, "message": "M",
                                     "line": None, "end_line": 4, "path": None, "file": "f.py"}), CID)
    assert (f.title, f.body, f.line, f.path) == ("From summary", "M", 4, "f.py")


@pytest.mark.parametrize("data, found", [
    ({"line": 3}, [3]), ({"title": "T"}, [None]), ({"body": "B"}, [None]),
    ({"issues": "x"}, None), ({"findings": "x"}, None), ({"path": "a.py"}, None),
])
def test_a_single_object_is_a_finding_only_when_it_has_a_line_body_or_title(data, found):
    a = parse_answer(json.dumps(data), CID)
    if found is None:
        assert (a.findings, a.problem) == ((), "the JSON has no findings list")
    else:
        assert [f.line for f in a.findings] == found
        assert a.notes[0] == "a single finding instead of a findings list"


def test_a_field_given_as_json_keeps_its_text_readable():
    """A model that answers a body as an object: shown as JSON, its words as written, not \\u escapes."""
    (f,), _ = parse_findings(answer(item(title=["Fehler: ä"], body={"warum": "Größe"})), CID)
    assert (f.title, f.body) == ('["Fehler: ä"]', '{"warum": "Größe"}')


def test_results_are_values_that_no_later_stage_can_change():
    """Results are shared by the report, the posting and the cost line: none may alter them for the others."""
    r = parse_output_lines(out_line(CID, chat(answer(item()))), "", [CID]).by_id[CID]
    for obj, attr in ((r, "status"), (r.usage, "input_tokens"), (r.findings[0], "title"),
                      (parse_answer(answer(item()), CID), "problem")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, attr, None)
    assert Usage() == Usage(0, 0, 0, 0) and {Usage(1, 2, 3, 4): 1}[Usage(1, 2, 3, 4)] == 1


def test_compact_json_cut_short_keeps_every_complete_finding():
    """A model may answer without spaces: `},{` must be read as the next finding, not skipped into it."""
    text = json.dumps({"findings": [item(), item(line=13), item(line=14)]}, separators=(",", ":"))
    cut = text[: text.index('{"path"', text.index('"line":14') - 20)] + '{"pa'
    findings, problem = parse_findings(cut, CID)
    assert findings == [finding(), finding(line=13)]
    assert problem == "the JSON is broken or cut short; 2 complete findings read from it"


def test_the_first_choice_is_the_answer():
    """We ask for one choice; a server that sends more is read by its first, as the request asked."""
    body = chat(answer(item()))
    body["choices"].append({"index": 1, "finish_reason": "length", "message": {"content": "second"}})
    r = parse_output_lines(out_line(CID, body), "", [CID]).by_id[CID]
    assert (r.status, r.findings, r.truncated) == ("ok", (finding(),), False)
