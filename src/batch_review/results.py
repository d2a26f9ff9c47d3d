"""Batch output and error lines -> findings per request (pure).

Everything here is untrusted: the output file may have blank, broken, duplicated or unknown lines, and the
model's answer may be anything (valid findings, JSON of another shape, prose, a refusal, nothing). Nothing
raises; what cannot be used is reported with the reason, and what can be salvaged is kept.

Status of a request: "ok" (the answer held a findings list, possibly empty, or the model refused: see
`refusal`), "unparsable" (an answer, but no findings list in it: `raw_text` keeps the start of it),
"error" (the request failed: `error_code`, `error_message`), "missing" (no line for it in either file;
`error_code` is None). Salvage that changed or dropped something is listed in `notes`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .redact import redact
from .vocabulary import SEVERITIES, SEVERITY_ALIASES, SIDE_ALIASES, Finding

MAX_FINDINGS = 50  # per request; more is noise or a runaway answer (the most severe are kept)
MAX_TITLE = 200
MAX_BODY = 8_000
MAX_SUGGESTION = 8_000  # a longer suggestion is dropped, never cut: cut code is wrong code
MAX_PATH = 1_000
MAX_CATEGORY = 40
MAX_RAW = 4_000  # raw answer / refusal / error message kept for the report
MAX_SUMMARY_LINES = 5
MAX_SUMMARY = 1_000  # characters of one request's summary of the change
MAX_JSON_STARTS = 200  # candidate "{" / "[" positions tried in prose around the JSON

@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0  # includes cached_input_tokens
    cached_input_tokens: int = 0
    output_tokens: int = 0  # includes reasoning_tokens
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class RequestResult:
    custom_id: str
    status: str  # ok | unparsable | error | missing
    findings: tuple[Finding, ...] = ()
    raw_text: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    usage: Usage | None = None
    refusal: str | None = None
    truncated: bool = False  # the answer stopped at max_output_tokens
    notes: tuple[str, ...] = ()
    summary: str = ""  # the model's summary of the change (output.summary), clipped; model text

    @classmethod
    def failure(cls, custom_id: str, code: str | None, message: str, status: str = "error") -> RequestResult:
        return cls(custom_id, status, error_code=code, error_message=redact(message))


@dataclass
class ParsedResults:
    by_id: dict[str, RequestResult] = field(default_factory=dict)
    unknown_ids: list[str] = field(default_factory=list)  # answered, but not asked: ignored
    duplicates: list[str] = field(default_factory=list)  # answered twice: the first line kept
    malformed_lines: list[tuple[int, str]] = field(default_factory=list)  # (line number, "<file> file: why")
    missing: list[str] = field(default_factory=list)  # asked, never answered


@dataclass(frozen=True)
class Answer:
    findings: tuple[Finding, ...]
    problem: str | None  # set when the answer holds no findings list at all
    notes: tuple[str, ...] = ()  # what salvage changed or dropped
    summary: str = ""


_SURROGATE = re.compile("[\ud800-\udfff]")


def _clip(text: str, limit: int) -> str:
    """At most `limit` characters of a service's or model's text, as valid Unicode: JSON may spell a lone
    surrogate (\\ud800), which no file, log or request body can encode."""
    text = _SURROGATE.sub("\ufffd", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count(value) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else 0


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def usage_of(body: dict) -> Usage | None:
    """Token usage of a chat completion (prompt_/completion_tokens) or a Responses object (input_/output_)."""
    u = body.get("usage")
    if not isinstance(u, dict):
        return None
    if "prompt_tokens" in u or "completion_tokens" in u:
        return Usage(_count(u.get("prompt_tokens")), _count(_dict(u.get("prompt_tokens_details")).get("cached_tokens")),
                     _count(u.get("completion_tokens")),
                     _count(_dict(u.get("completion_tokens_details")).get("reasoning_tokens")))
    return Usage(_count(u.get("input_tokens")), _count(_dict(u.get("input_tokens_details")).get("cached_tokens")),
                 _count(u.get("output_tokens")), _count(_dict(u.get("output_tokens_details")).get("reasoning_tokens")))


def answer_of(body: dict) -> tuple[str | None, str | None, bool]:
    """(text, refusal, truncated) from a chat completion or a Responses API object."""
    if isinstance(body.get("choices"), list):
        choice = _dict(body["choices"][0]) if body["choices"] else {}
        message = _dict(choice.get("message"))
        content = message.get("content")
        if isinstance(content, list):  # content parts, as some compatible servers send
            content = "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
        text = content if isinstance(content, str) else None
        refusal = message.get("refusal") if isinstance(message.get("refusal"), str) else None
        return text, refusal, choice.get("finish_reason") == "length"
    texts, refusal = [], None
    for item in body.get("output") if isinstance(body.get("output"), list) else ():
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        for part in item.get("content") if isinstance(item.get("content"), list) else ():
            if not isinstance(part, dict):
                continue
            if part.get("type") in ("output_text", "text") and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif part.get("type") == "refusal" and isinstance(part.get("refusal"), str):
                refusal = part["refusal"]
    text = "".join(texts) if texts else None
    if text is None and isinstance(body.get("output_text"), str):
        text = body["output_text"]
    truncated = (body.get("status") == "incomplete"
                 and _dict(body.get("incomplete_details")).get("reason") == "max_output_tokens")
    return text, refusal, truncated


def parse_output_lines(output_text: str, error_text: str, expected_ids: Iterable[str], *,
                       default_path_for: Callable[[str], str] | None = None) -> ParsedResults:
    """One RequestResult per expected custom_id, from the batch's output and error files (any order)."""
    expected = list(dict.fromkeys(expected_ids))
    wanted = set(expected)
    parsed = ParsedResults()
    for source, text in (("output", output_text or ""), ("error", error_text or "")):
        for number, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except (json.JSONDecodeError, RecursionError) as exc:
                parsed.malformed_lines.append((number, f"{source} file: not JSON ({getattr(exc, 'msg', exc)})"))
                continue
            if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
                parsed.malformed_lines.append((number, f"{source} file: no custom_id"))
                continue
            cid = line["custom_id"]
            if cid not in wanted:
                parsed.unknown_ids.append(cid)
            elif cid in parsed.by_id:
                parsed.duplicates.append(cid)
            else:
                parsed.by_id[cid] = result_of(cid, line, default_path_for(cid) if default_path_for else "")
    for cid in expected:
        if cid not in parsed.by_id:
            parsed.missing.append(cid)
            parsed.by_id[cid] = RequestResult.failure(cid, None, "no result line for this request", "missing")
    return parsed


def _status_code(value) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _error_text(value) -> str:
    """The service's words about a failed request: they are posted, so never with a credential in them."""
    return _clip(redact(value if isinstance(value, str) else "" if value is None else json.dumps(value)), MAX_RAW)


def result_of(cid: str, line: dict, default_path: str = "") -> RequestResult:
    """The result of one output/error line (already known to carry `cid`)."""
    response = line.get("response") if isinstance(line.get("response"), dict) else None
    error = _dict(line.get("error"))
    status = _status_code(response.get("status_code")) if response else None
    body = response.get("body") if response else None
    if response and status is None and isinstance(body, dict) and not isinstance(body.get("error"), dict):
        status = 200  # no status code, but a body that is not an error: read it
    if response is None or status != 200:
        if error.get("code") or error.get("message"):
            return RequestResult.failure(cid, str(error.get("code") or "error"), _error_text(error.get("message")))
        if response is None:
            return RequestResult.failure(cid, "no_response", "the line has neither a response nor an error")
        err = _dict(_dict(body).get("error"))
        code = err.get("code") or err.get("type") or f"http_{status if status is not None else 'unknown'}"
        message = err.get("message") if err else body
        return RequestResult(cid, "error", error_code=str(code), error_message=_error_text(message),
                             usage=usage_of(_dict(body)))
    if not isinstance(body, dict):
        return RequestResult(cid, "unparsable", raw_text=_error_text(body),
                             error_message="the response body is not a JSON object")
    usage = usage_of(body)
    text, refusal, truncated = answer_of(body)
    refusal = _clip(refusal, MAX_RAW) if refusal and refusal.strip() else None
    cut = " (the answer hit max_output_tokens)" if truncated else ""
    if not text or not text.strip():
        if refusal:
            return RequestResult(cid, "ok", usage=usage, refusal=refusal, truncated=truncated)
        return RequestResult(cid, "unparsable", raw_text="", error_message="empty answer" + cut, usage=usage,
                             truncated=truncated)
    answer = parse_answer(text, cid, default_path=default_path)
    if answer.problem is not None:
        return RequestResult(cid, "unparsable", raw_text=_clip(text, MAX_RAW), error_message=answer.problem + cut,
                             usage=usage, refusal=refusal, truncated=truncated, notes=answer.notes)
    notes = answer.notes + (("the answer hit max_output_tokens; findings may be missing",) if truncated else ())
    return RequestResult(cid, "ok", answer.findings, usage=usage, refusal=refusal, truncated=truncated,
                         notes=notes, summary=answer.summary)


# --- the model's answer ------------------------------------------------------------------------------------

_FENCED = re.compile(r"(`{3,}|~{3,})[ \t]*[\w+.-]*[ \t]*\n(.*?)\n[ \t]*\1", re.DOTALL)
_FINDINGS_OPEN = re.compile(r'"findings"\s*:\s*\[')
_LIST_KEYS = ("findings", "issues", "comments", "problems", "results")


def _candidates(text: str) -> Iterable[str]:
    yield text
    for m in _FENCED.finditer(text):
        yield m.group(2).strip()


def _load_json(text: str) -> tuple[object, bool]:
    """(the JSON value in an answer, whether it is the answer proper): the whole text or a fenced block,
    or inside prose the first value that looks like findings (True), else the first value at all (False).
    ValueError when there is none."""
    for candidate in _candidates(text):
        try:
            return json.loads(candidate), True
        except (json.JSONDecodeError, RecursionError):
            pass
    decoder, first_error, fallback = json.JSONDecoder(), None, None
    starts = [i for i, ch in enumerate(text) if ch in "{["][:MAX_JSON_STARTS]
    for start in starts:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError as exc:
            first_error = first_error or exc.msg
            continue
        except RecursionError:
            continue
        if (isinstance(value, dict) and any(k in value for k in _LIST_KEYS)) or (
                isinstance(value, list) and any(isinstance(v, dict) for v in value)):
            return value, True
        fallback = value if fallback is None else fallback
    if fallback is not None:
        return fallback, False
    if not starts:
        raise ValueError("the answer is not JSON")
    raise ValueError(f"the answer is not valid JSON ({first_error})")


def _salvage_cut_list(text: str) -> list | None:
    """The complete objects of a `"findings": [` list that was cut short, or None."""
    m = _FINDINGS_OPEN.search(text)
    if not m:
        return None
    decoder, items, pos = json.JSONDecoder(), [], m.end()
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        try:
            value, pos = decoder.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError):
            return items
        items.append(value)


def _items_of(data) -> tuple[list | None, str | None]:
    """(the list of findings, a note on its shape) from decoded JSON; (None, None) when there is none."""
    if isinstance(data, list):
        return data, None
    if not isinstance(data, dict):
        return None, None
    for key in _LIST_KEYS:
        if isinstance(data.get(key), list):
            return data[key], None if key == "findings" else f'findings given as "{key}"'
    if "findings" in data and data["findings"] is None:
        return [], None
    if any(k in data for k in ("line", "body", "title")):
        return [data], "a single finding instead of a findings list"
    return None, None


def _answer_items(text: str) -> tuple[list | None, str | None, list[str]]:
    """(the items of the findings list, the problem when there is none, notes on how they were read)."""
    notes: list[str] = []
    try:
        data, proper = _load_json(text)
    except ValueError as exc:
        data, proper, error = None, False, str(exc)
    salvaged = None if proper else _salvage_cut_list(text)
    if salvaged:
        items, shape = salvaged, None
        notes.append(f"the JSON is broken or cut short; {len(items)} complete finding(s) read from it")
    elif data is None and not proper:
        return None, error, notes
    else:
        items, shape = _items_of(data)
    if items is None:
        return None, "the JSON has no findings list", notes
    if shape:
        notes.append(shape)
    if not proper and not salvaged and not items:  # "[]" inside prose: said, not silently "no findings"
        notes.append("the answer is prose around an empty JSON list; read as no findings")
    return items, None, notes


def parse_answer(text: str, custom_id: str, *, default_path: str = "") -> Answer:
    """Findings from one model answer; `problem` when no findings list can be found at all."""
    text = (text or "").strip()
    if not text:
        return Answer((), "empty answer")
    items, problem, notes = _answer_items(text)
    if items is None:
        return Answer((), problem)
    findings, skipped, unknown_severity, dropped_suggestions = [], 0, 0, 0
    for item in items:
        if isinstance(item, str) and item.strip():
            item = {"body": item}
        if not isinstance(item, dict):
            skipped += 1
            continue
        finding, known, dropped = _finding(item, custom_id, default_path)
        findings.append(finding)
        unknown_severity += not known
        dropped_suggestions += dropped
    if skipped and not findings:
        return Answer((), f"none of the {skipped} findings is a JSON object")
    if skipped:
        notes.append(f"{skipped} finding(s) were not JSON objects and were skipped")
    if unknown_severity:
        notes.append(f"{unknown_severity} finding(s) had no known severity and are shown as medium")
    if dropped_suggestions:
        notes.append(f"{dropped_suggestions} suggestion(s) over {MAX_SUGGESTION:,} characters dropped")
    if len(findings) > MAX_FINDINGS:
        ranked = sorted(range(len(findings)), key=lambda i: -SEVERITIES.index(findings[i].severity))
        keep = sorted(ranked[:MAX_FINDINGS])
        notes.append(f"{len(findings) - MAX_FINDINGS} more finding(s) not shown "
                     f"(at most {MAX_FINDINGS} per request, the most severe kept)")
        findings = [findings[i] for i in keep]
    return Answer(tuple(findings), None, tuple(notes), summary_of(text))


def summary_of(text: str) -> str:
    """The answer's "summary": at most five non-empty lines, clipped (still model text: neutralize it)."""
    try:
        data, _ = _load_json(text)
    except ValueError:
        return ""
    value = data.get("summary") if isinstance(data, dict) else None
    if not isinstance(value, str):
        return ""
    lines = [line.strip() for line in value.splitlines() if line.strip()][:MAX_SUMMARY_LINES]
    return _clip("\n".join(lines), MAX_SUMMARY)


_LINE = re.compile(r"\s*L?(\d{1,9})\s*", re.IGNORECASE)
_RANGE = re.compile(r"\s*L?(\d{1,9})\s*(?:-|–|\.\.|:)\s*L?(\d{1,9})\s*", re.IGNORECASE)


def _line(value) -> int | None:
    """A positive line number from an int, an integral float or a string of digits ("12", "L12")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and (m := _LINE.fullmatch(value)):
        value = int(m.group(1))
    return value if isinstance(value, int) and value > 0 else None


def _first(item: dict, *keys: str):
    return next((item[k] for k in keys if item.get(k) is not None), None)


def _text(value, limit: int) -> str:
    if value is None:
        return ""
    return _clip(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False), limit)


def _first_sentence(body: str) -> str:
    first = body.strip().split("\n", 1)[0].strip()
    m = re.match(r"(.+?[.!?])(?:\s|$)", first)
    return _clip(m.group(1) if m else first, MAX_TITLE)


def _severity(value) -> tuple[str, bool]:
    s = str(value).strip().lower() if isinstance(value, str) else ""
    s = SEVERITY_ALIASES.get(s, s)
    return (s, True) if s in SEVERITIES else ("medium", False)


def _finding(item: dict, custom_id: str, default_path: str) -> tuple[Finding, bool, bool]:
    """(finding, severity was known, an over-long suggestion was dropped) from one object of the answer."""
    raw_line = _first(item, "line", "end_line", "line_number")
    line, start = _line(raw_line), _line(_first(item, "start_line", "start"))
    if line is None and start is None and isinstance(raw_line, str) and (m := _RANGE.fullmatch(raw_line)):
        start, line = int(m.group(1)) or None, int(m.group(2)) or None
    if line is None:
        line, start = start, None
    if start is not None and line is not None:
        start, line = min(start, line), max(start, line)
        if start == line:
            start = None
    side_raw = item.get("side")
    side = SIDE_ALIASES.get(side_raw.strip().lower(), "RIGHT") if isinstance(side_raw, str) else "RIGHT"
    severity, known = _severity(item.get("severity"))
    body = _text(_first(item, "body", "message", "description", "comment", "details"), MAX_BODY).strip()
    title = _text(_first(item, "title", "summary"), MAX_TITLE).strip()
    suggestion = item.get("suggestion")
    if isinstance(suggestion, list) and all(isinstance(s, str) for s in suggestion):
        suggestion = "\n".join(suggestion)
    suggestion = _SURROGATE.sub("\ufffd", suggestion) if isinstance(suggestion, str) and suggestion.strip() else None
    dropped = suggestion is not None and len(suggestion) > MAX_SUGGESTION
    path = _text(_first(item, "path", "file", "filename", "file_path"), MAX_PATH).strip()
    category = _text(item.get("category"), MAX_CATEGORY).strip().lower()
    return Finding(
        custom_id=custom_id,
        path=path or default_path,
        line=line,
        start_line=start,
        side=side,
        severity=severity,
        category=category or "other",
        title=title or (_first_sentence(body) if body else "Untitled finding"),
        body=body,
        suggestion=None if dropped else suggestion,
    ), known, dropped
