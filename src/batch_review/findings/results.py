"""Batch output and error files -> one result per request we sent (pure).

Everything here is untrusted: the files may have blank, broken, cut-off, duplicated or unknown lines, and
each answer is model text (answers.py reads the findings out of it). Nothing raises; what cannot be used
is reported with the reason, and what can be salvaged is kept. Every custom_id we sent gets exactly one
result, and no other id gets one: an id we never sent is listed in `unknown_ids`, a second line for an id
in `duplicates` (the first line wins, output file before error file).

Status of a request: "ok" (the answer held a findings list, possibly empty, or the model refused: see
`refusal`), "unparsable" (an answer, but no findings list in it: `raw_text` keeps the start of it),
"error" (the request failed: `error_code`, `error_message`), "missing" (no line for it in either file;
`error_code` is None). Salvage that changed or dropped something is listed in `notes`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..core.redact import redact
from ..core.vocabulary import Finding
from .answers import clip_text, parse_answer

MAX_RAW = 4_000  # raw answer / refusal / error message kept for the report


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


def parse_output_lines(output_text: str, error_text: str, expected_ids: Iterable[str], *,
                       default_path_for: Callable[[str], str] | None = None) -> ParsedResults:
    """One RequestResult per expected custom_id, from the batch's output and error files (any order)."""
    expected = list(dict.fromkeys(expected_ids))
    wanted = set(expected)
    parsed = ParsedResults()
    for source, text in (("output", output_text or ""), ("error", error_text or "")):
        for number, raw in enumerate(text.splitlines(), start=1):
            line, why = _read_line(raw)
            if why:
                parsed.malformed_lines.append((number, f"{source} file: {why}"))
            if line is None:
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


def _read_line(raw: str) -> tuple[dict | None, str | None]:
    """(the line as a JSON object with a string custom_id, or None; why it cannot be used, or None)."""
    if not raw.strip():
        return None, None
    try:
        line = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        return None, f"not JSON ({getattr(exc, 'msg', exc)})"
    if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
        return None, "no custom_id"
    return line, None


def result_of(cid: str, line: dict, default_path: str = "") -> RequestResult:
    """The result of one output/error line (already known to carry `cid`)."""
    response = line.get("response")
    if not isinstance(response, dict) or _http_status(response) != 200:
        return _failure(cid, _dict(line.get("error")), response if isinstance(response, dict) else None)
    return _answered(cid, response.get("body"), default_path)


def _http_status(response: dict) -> int | None:
    """The response's status code; 200 for one without a code whose body is an object but not an error."""
    status, body = _status_code(response.get("status_code")), response.get("body")
    if status is None and isinstance(body, dict) and not isinstance(body.get("error"), dict):
        return 200
    return status


def _status_code(value) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _failure(cid: str, error: dict, response: dict | None) -> RequestResult:
    """A failed request: the line's error object first, else the error in the response's body."""
    if error.get("code") or error.get("message"):
        return RequestResult.failure(cid, str(error.get("code") or "error"), _error_text(error.get("message")))
    if response is None:
        return RequestResult.failure(cid, "no_response", "the line has neither a response nor an error")
    body = response.get("body")
    err = _dict(_dict(body).get("error"))
    status = _status_code(response.get("status_code"))
    code = err.get("code") or err.get("type") or f"http_{'unknown' if status is None else status}"
    return RequestResult(cid, "error", error_code=str(code), error_message=_error_text(err.get("message") if err
                                                                                       else body),
                         usage=usage_of(_dict(body)))


def _error_text(value) -> str:
    """The service's words about a failed request: they are posted, so never with a credential in them."""
    return clip_text(redact(value if isinstance(value, str) else "" if value is None else json.dumps(value)), MAX_RAW)


def _answered(cid: str, body, default_path: str) -> RequestResult:
    """The result of a request the model answered (HTTP 200)."""
    if not isinstance(body, dict):
        return RequestResult(cid, "unparsable", raw_text=_error_text(body),
                             error_message="the response body is not a JSON object")
    usage = usage_of(body)
    text, refusal, truncated = answer_of(body)
    refusal = clip_text(refusal, MAX_RAW) if refusal and refusal.strip() else None
    cut = " (the answer hit max_output_tokens)" if truncated else ""
    if not text or not text.strip():
        if refusal:
            return RequestResult(cid, "ok", usage=usage, refusal=refusal, truncated=truncated)
        return RequestResult(cid, "unparsable", raw_text="", error_message="empty answer" + cut, usage=usage,
                             truncated=truncated)
    answer = parse_answer(text, cid, default_path=default_path)
    if answer.problem is not None:
        return RequestResult(cid, "unparsable", raw_text=clip_text(text, MAX_RAW), error_message=answer.problem + cut,
                             usage=usage, refusal=refusal, truncated=truncated, notes=answer.notes)
    notes = answer.notes + (("the answer hit max_output_tokens; findings may be missing",) if truncated else ())
    return RequestResult(cid, "ok", answer.findings, usage=usage, refusal=refusal, truncated=truncated,
                         notes=notes, summary=answer.summary)


# --- the response body: a chat completion or a Responses API object ----------------------------------------


def answer_of(body: dict) -> tuple[str | None, str | None, bool]:
    """(text, refusal, truncated) from a chat completion or a Responses API object."""
    if isinstance(body.get("choices"), list):
        return _chat_answer(body["choices"])
    texts, refusal = [], None
    for part in _message_parts(body):
        if part.get("type") in ("output_text", "text") and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif part.get("type") == "refusal" and isinstance(part.get("refusal"), str):
            refusal = part["refusal"]
    text = "".join(texts) if texts else _str(body.get("output_text"))
    truncated = (body.get("status") == "incomplete"
                 and _dict(body.get("incomplete_details")).get("reason") == "max_output_tokens")
    return text, refusal, truncated


def _chat_answer(choices: list) -> tuple[str | None, str | None, bool]:
    choice = _dict(choices[0]) if choices else {}
    message = _dict(choice.get("message"))
    content = message.get("content")
    if isinstance(content, list):  # content parts, as some compatible servers send
        content = "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return _str(content), _str(message.get("refusal")), choice.get("finish_reason") == "length"


def _message_parts(body: dict) -> Iterable[dict]:
    """The content parts of the Responses object's message items (not reasoning, not tool calls)."""
    for item in _list(body.get("output")):
        if isinstance(item, dict) and item.get("type") == "message":
            yield from (part for part in _list(item.get("content")) if isinstance(part, dict))


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


def _count(value) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else 0


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _str(value) -> str | None:
    return value if isinstance(value, str) else None
