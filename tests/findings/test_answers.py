"""answers.py: one model answer -> its findings, whatever the model wrote (fences, prose, other shapes,
a list cut off by max_output_tokens, aliases and synonyms, text past its cap); nothing raises."""

from __future__ import annotations

import json

import pytest

from batch_review.core.vocabulary import Finding
from batch_review.findings.answers import MAX_BODY, MAX_FINDINGS, MAX_SUGGESTION, MAX_TITLE, parse_answer

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


def parse_findings(text: str, cid: str) -> tuple[list[Finding], str | None]:
    """(findings, what went wrong): the fatal problem, else the salvage notes joined, else None."""
    a = parse_answer(text, cid)
    return list(a.findings), a.problem or ("; ".join(a.notes) or None)


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


def test_compact_json_cut_short_keeps_every_complete_finding():
    """A model may answer without spaces: `},{` must be read as the next finding, not skipped into it."""
    text = json.dumps({"findings": [item(), item(line=13), item(line=14)]}, separators=(",", ":"))
    cut = text[: text.index('{"path"', text.index('"line":14') - 20)] + '{"pa'
    findings, problem = parse_findings(cut, CID)
    assert findings == [finding(), finding(line=13)]
    assert problem == "the JSON is broken or cut short; 2 complete findings read from it"
