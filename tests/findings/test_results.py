"""results.py: batch output and error lines -> one result per request, its answer read (answers.py, tested
in test_answers.py), its usage and its error; tolerant of anything."""

from __future__ import annotations

import dataclasses
import json

import pytest

from batch_review.findings.answers import MAX_BODY, MAX_FINDINGS, parse_answer
from batch_review.findings.results import MAX_RAW, RequestResult, Usage, parse_output_lines

from .test_answers import CID, answer, finding, item, parse_findings


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


@pytest.mark.parametrize("severity", ["urgent", "", None, 5, "p1"])
def test_unknown_severity_is_medium_and_noted(severity):
    findings, problem = parse_findings(answer(item(severity=severity), item()), CID)
    assert [f.severity for f in findings] == ["medium", "high"]
    assert problem == "1 finding had no known severity and is shown as medium"
    result = parse_output_lines(out_line(CID, chat(answer(item(severity=severity)))), "", [CID]).by_id[CID]
    assert result.status == "ok" and result.notes == (problem,)


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


def test_text_at_its_limit_is_whole_and_lone_surrogates_are_replaced():
    (f,), _ = parse_findings(answer(item(body="b" * 8_000, title="\ud800x", category="\udfff")), CID)
    assert f.body == "b" * 8_000 == "b" * MAX_BODY and f.title == "\ufffdx" and f.category == "\ufffd"
    r = parse_output_lines(out_line(CID, chat("x" * 4_000)), "", [CID]).by_id[CID]
    assert r.raw_text == "x" * 4_000 == "x" * MAX_RAW
    (f,), _ = parse_findings(answer(item(body="b" * 8_001)), CID)
    assert f.body == "b" * 7_999 + "…"


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


def test_results_are_values_that_no_later_stage_can_change():
    """Results are shared by the report, the posting and the cost line: none may alter them for the others."""
    r = parse_output_lines(out_line(CID, chat(answer(item()))), "", [CID]).by_id[CID]
    for obj, attr in ((r, "status"), (r.usage, "input_tokens"), (r.findings[0], "title"),
                      (parse_answer(answer(item()), CID), "problem")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, attr, None)
    assert Usage() == Usage(0, 0, 0, 0) and {Usage(1, 2, 3, 4): 1}[Usage(1, 2, 3, 4)] == 1


def test_the_first_choice_is_the_answer():
    """We ask for one choice; a server that sends more is read by its first, as the request asked."""
    body = chat(answer(item()))
    body["choices"].append({"index": 1, "finish_reason": "length", "message": {"content": "second"}})
    r = parse_output_lines(out_line(CID, body), "", [CID]).by_id[CID]
    assert (r.status, r.findings, r.truncated) == ("ok", (finding(),), False)
