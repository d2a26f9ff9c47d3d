"""Batch output and error lines -> findings per request (pure).

Everything here is untrusted: the output file may have blank, broken, duplicated or unknown lines, and the
model's answer may be anything (valid findings, JSON of another shape, prose, a refusal, nothing). Nothing
raises; what cannot be used is reported with the reason, and what can be salvaged is kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .config import SEVERITIES

MAX_FINDINGS = 50  # per request; more is noise or a runaway answer
MAX_TITLE = 200
MAX_BODY = 8_000
MAX_SUGGESTION = 8_000
MAX_RAW = 4_000


@dataclass(frozen=True)
class Finding:
    custom_id: str
    path: str
    line: int | None
    start_line: int | None
    side: str  # RIGHT | LEFT
    severity: str
    category: str
    title: str
    body: str
    suggestion: str | None


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
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
    truncated: bool = False

    @classmethod
    def failure(cls, custom_id: str, code: str, message: str, status: str = "error") -> RequestResult:
        return cls(custom_id, status, error_code=code, error_message=message)


@dataclass
class ParsedResults:
    by_id: dict[str, RequestResult] = field(default_factory=dict)
    unknown_ids: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    malformed_lines: list[tuple[int, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def usage_of(body: dict) -> Usage | None:
    u = body.get("usage")
    if not isinstance(u, dict):
        return None
    if "prompt_tokens" in u or "completion_tokens" in u:
        details = u.get("prompt_tokens_details") or {}
        out_details = u.get("completion_tokens_details") or {}
        return Usage(_int(u.get("prompt_tokens")), _int(details.get("cached_tokens")),
                     _int(u.get("completion_tokens")), _int(out_details.get("reasoning_tokens")))
    details = u.get("input_tokens_details") or {}
    out_details = u.get("output_tokens_details") or {}
    return Usage(_int(u.get("input_tokens")), _int(details.get("cached_tokens")), _int(u.get("output_tokens")),
                 _int(out_details.get("reasoning_tokens")))


def answer_of(body: dict) -> tuple[str | None, str | None, bool]:
    """(text, refusal, truncated) from a chat completion or a Responses API object."""
    if isinstance(body.get("choices"), list):
        choice = body["choices"][0] if body["choices"] else {}
        message = choice.get("message") or {} if isinstance(choice, dict) else {}
        text = message.get("content") if isinstance(message.get("content"), str) else None
        refusal = message.get("refusal") if isinstance(message.get("refusal"), str) else None
        return text, refusal, choice.get("finish_reason") == "length" if isinstance(choice, dict) else False
    if isinstance(body.get("output"), list):
        texts, refusal = [], None
        for item in body["output"]:
            if not isinstance(item, dict) or item.get("type") != "message":
                continue
            for part in item.get("content") or []:
                if not isinstance(part, dict):
                    continue
                if part.get("type") == "output_text" and isinstance(part.get("text"), str):
                    texts.append(part["text"])
                elif part.get("type") == "refusal" and isinstance(part.get("refusal"), str):
                    refusal = part["refusal"]
        truncated = (body.get("status") == "incomplete"
                     and (body.get("incomplete_details") or {}).get("reason") == "max_output_tokens")
        return ("".join(texts) if texts else None), refusal, truncated
    if isinstance(body.get("output_text"), str):
        return body["output_text"], None, False
    return None, None, False


def parse_output_lines(output_text: str, error_text: str, expected_ids: Iterable[str]) -> ParsedResults:
    expected = list(expected_ids)
    wanted = set(expected)
    parsed = ParsedResults()
    for source, text in (("output", output_text or ""), ("error", error_text or "")):
        for number, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except json.JSONDecodeError as exc:
                parsed.malformed_lines.append((number, f"{source} file: not JSON ({exc.msg})"))
                continue
            if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
                parsed.malformed_lines.append((number, f"{source} file: no custom_id"))
                continue
            cid = line["custom_id"]
            if cid not in wanted:
                parsed.unknown_ids.append(cid)
                continue
            if cid in parsed.by_id:
                parsed.duplicates.append(cid)
                continue
            parsed.by_id[cid] = result_of(cid, line)
    for cid in expected:
        if cid not in parsed.by_id:
            parsed.missing.append(cid)
            parsed.by_id[cid] = RequestResult.failure(cid, None, "no result line for this request", "missing")
    return parsed


def result_of(cid: str, line: dict) -> RequestResult:
    error = line.get("error")
    response = line.get("response")
    if isinstance(error, dict) and error:
        return RequestResult.failure(cid, str(error.get("code") or "error"), str(error.get("message") or ""))
    if not isinstance(response, dict):
        return RequestResult.failure(cid, "no_response", "the line has neither a response nor an error")
    status = response.get("status_code")
    body = response.get("body") if isinstance(response.get("body"), dict) else {}
    if status != 200:
        err = body.get("error") if isinstance(body.get("error"), dict) else {}
        return RequestResult(cid, "error", error_code=str(err.get("code") or f"http_{status}"),
                             error_message=str(err.get("message") or ""), usage=usage_of(body))
    usage = usage_of(body)
    text, refusal, truncated = answer_of(body)
    if refusal and not text:
        return RequestResult(cid, "ok", usage=usage, refusal=refusal[:MAX_RAW], truncated=truncated)
    if text is None or not text.strip():
        return RequestResult(cid, "unparsable", raw_text="", error_message="empty answer", usage=usage,
                             truncated=truncated)
    findings, problem = parse_findings(text, cid)
    if problem is not None:
        if truncated:
            problem += " (the answer hit max_output_tokens)"
        return RequestResult(cid, "unparsable", tuple(findings), raw_text=text[:MAX_RAW], error_message=problem,
                             usage=usage, truncated=truncated)
    return RequestResult(cid, "ok", tuple(findings), usage=usage, refusal=refusal, truncated=truncated)


_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n(?P<body>.*?)\n\s*```\s*$", re.DOTALL)


def _load_json(text: str):
    stripped = text.strip()
    m = _FENCE.match(stripped)
    if m:
        stripped = m["body"].strip()
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        pass
    start = min((i for i in (stripped.find("{"), stripped.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise ValueError("the answer is not JSON")
    try:
        value, _ = json.JSONDecoder().raw_decode(stripped[start:])
        return value
    except json.JSONDecodeError as exc:
        raise ValueError(f"the answer is not valid JSON ({exc.msg})") from exc


def parse_findings(text: str, custom_id: str) -> tuple[list[Finding], str | None]:
    """Findings from one answer, and the problem if the answer is not what was asked for."""
    try:
        data = _load_json(text)
    except ValueError as exc:
        return [], str(exc)
    if isinstance(data, dict) and isinstance(data.get("findings"), list):
        items = data["findings"]
    elif isinstance(data, list):
        items = data
    else:
        return [], "the JSON has no findings list"
    findings = []
    for item in items[:MAX_FINDINGS]:
        if isinstance(item, dict):
            findings.append(_finding(item, custom_id))
    problem = None
    if len(items) > MAX_FINDINGS:
        problem = f"{len(items)} findings in one answer; the first {MAX_FINDINGS} kept"
    if any(not isinstance(item, dict) for item in items[:MAX_FINDINGS]):
        problem = "some findings are not JSON objects"
    return findings, problem


def _line(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, float) and value.is_integer() and value > 0:
        return int(value)
    return None


def _text(value, limit: int) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _finding(item: dict, custom_id: str) -> Finding:
    line = _line(item.get("line"))
    start = _line(item.get("start_line"))
    if line is None and start is not None:
        line, start = start, None
    if start is not None and line is not None:
        if start > line:
            start, line = line, start
        if start == line:
            start = None
    side = str(item.get("side") or "new").strip().lower()
    severity = str(item.get("severity") or "").strip().lower()
    body = _text(item.get("body") or item.get("message") or item.get("description"), MAX_BODY)
    title = _text(item.get("title"), MAX_TITLE).strip() or (body.split(". ")[0][:MAX_TITLE] if body else "Finding")
    suggestion = item.get("suggestion")
    return Finding(
        custom_id=custom_id,
        path=_text(item.get("path") or item.get("file"), 1000).strip(),
        line=line,
        start_line=start,
        side="LEFT" if side in ("old", "left") else "RIGHT",
        severity=severity if severity in SEVERITIES else "medium",
        category=_text(item.get("category") or "other", 40).strip().lower() or "other",
        title=title,
        body=body,
        suggestion=_text(suggestion, MAX_SUGGESTION) if isinstance(suggestion, str) and suggestion.strip() else None,
    )
