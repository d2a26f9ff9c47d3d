"""One model answer -> the findings in it (pure).

The answer is model text, and the model read the pull request: it may be the findings list as asked, JSON
of another shape (a bare list, "issues" instead of "findings", one finding alone), JSON in a fence or in
prose, a list cut off by max_output_tokens, prose, or nothing. Nothing here raises. `parse_answer` keeps
what can be read: `problem` says why there is no findings list at all, `notes` what salvage changed or
dropped. Every field of a finding is clipped to its limit, lone surrogates replaced, and stays model text
(compose.py neutralizes it). At most MAX_FINDINGS findings per answer: the most severe, in answer order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..core.vocabulary import RIGHT, SEVERITIES, SEVERITY_ALIASES, SIDE_ALIASES, Finding
from .words import counted, plural

MAX_FINDINGS = 50  # per request; more is noise or a runaway answer (the most severe are kept)
MAX_TITLE = 200
MAX_BODY = 8_000
MAX_SUGGESTION = 8_000  # a longer suggestion is dropped, never cut: cut code is wrong code
MAX_PATH = 1_000
MAX_CATEGORY = 40
MAX_SUMMARY_LINES = 5
MAX_SUMMARY = 1_000  # characters of one request's summary of the change
MAX_JSON_STARTS = 200  # candidate "{" / "[" positions tried in prose around the JSON

@dataclass(frozen=True)
class Answer:
    findings: tuple[Finding, ...]
    problem: str | None  # set when the answer holds no findings list at all
    notes: tuple[str, ...] = ()  # what salvage changed or dropped
    summary: str = ""


_SURROGATE = re.compile("[\ud800-\udfff]")


def clip_text(text: str, limit: int) -> str:
    """At most `limit` characters of a service's or model's text, as valid Unicode: JSON may spell a lone
    surrogate (\\ud800), which no file, log or request body can encode."""
    text = _SURROGATE.sub("\ufffd", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
        notes.append("1 finding was not a JSON object and was skipped" if skipped == 1 else
                     f"{counted(skipped, 'finding')} were not JSON objects and were skipped")
    if unknown_severity:
        notes.append(f"{counted(unknown_severity, 'finding')} had no known severity and "
                     f"{'is' if unknown_severity == 1 else 'are'} shown as medium")
    if dropped_suggestions:
        notes.append(f"{counted(dropped_suggestions, 'suggestion')} over {MAX_SUGGESTION:,} characters dropped")
    return Answer(_most_severe(findings, notes), None, tuple(notes), summary_of(text))


def _most_severe(findings: list[Finding], notes: list[str]) -> tuple[Finding, ...]:
    """At most MAX_FINDINGS findings: the most severe, in answer order; what was left out is noted."""
    if len(findings) <= MAX_FINDINGS:
        return tuple(findings)
    ranked = sorted(range(len(findings)), key=lambda i: -SEVERITIES.index(findings[i].severity))
    notes.append(f"{len(findings) - MAX_FINDINGS} more {plural(len(findings) - MAX_FINDINGS, 'finding')} not shown "
                 f"(at most {MAX_FINDINGS} per request, the most severe kept)")
    return tuple(findings[i] for i in sorted(ranked[:MAX_FINDINGS]))


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
    return clip_text("\n".join(lines), MAX_SUMMARY)


# --- where the findings list is ----------------------------------------------------------------------------

# A fence is tried only where its run starts and takes the whole run (possessive): a long run of backticks
# in an answer is read once, not once per backtick (minutes for a model's 16,000 tokens of them).
_FENCED = re.compile(r"((?<!`)`{3,}+|(?<!~)~{3,}+)[ \t]*+[\w+.-]*+[ \t]*+\n(.*?)\n[ \t]*\1", re.DOTALL)
_FINDINGS_OPEN = re.compile(r'"findings"\s*:\s*\[')
_LIST_KEYS = ("findings", "issues", "comments", "problems", "results")


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
        notes.append(f"the JSON is broken or cut short; {len(items)} complete "
                     f"{plural(len(items), 'finding')} read from it")
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


def _load_json(text: str) -> tuple[object, bool]:
    """(the JSON value in an answer, whether it is the answer proper): the whole text or a fenced block,
    else what _json_in_prose finds. ValueError when there is none."""
    for candidate in (text, *(m.group(2).strip() for m in _FENCED.finditer(text))):
        try:
            return json.loads(candidate), True
        except (json.JSONDecodeError, RecursionError):
            pass
    return _json_in_prose(text)


def _json_in_prose(text: str) -> tuple[object, bool]:
    """Inside prose, the first value that looks like findings (True), else the first value at all (False),
    trying at most MAX_JSON_STARTS positions. ValueError when there is none."""
    decoder, first_error, fallback = json.JSONDecoder(), None, None
    starts = [i for i, ch in enumerate(text) if ch in "{["][:MAX_JSON_STARTS]
    for start in starts:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError as exc:
            first_error = first_error or exc.msg
            continue
        except RecursionError:
            first_error = first_error or "nested too deep to read"
            continue
        if _looks_like_findings(value):
            return value, True
        fallback = value if fallback is None else fallback
    if fallback is not None:
        return fallback, False
    if not starts:
        raise ValueError("the answer is not JSON")
    raise ValueError(f"the answer is not valid JSON ({first_error})")


def _looks_like_findings(value) -> bool:
    """An object with a findings list's key, or a list holding an object."""
    if isinstance(value, dict):
        return any(k in value for k in _LIST_KEYS)
    return isinstance(value, list) and any(isinstance(v, dict) for v in value)


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


# --- one finding -------------------------------------------------------------------------------------------

_LINE = re.compile(r"\s*L?(\d{1,9})\s*", re.IGNORECASE)
_RANGE = re.compile(r"\s*L?(\d{1,9})\s*(?:-|–|\.\.|:)\s*L?(\d{1,9})\s*", re.IGNORECASE)


def _finding(item: dict, custom_id: str, default_path: str) -> tuple[Finding, bool, bool]:
    """(finding, severity was known, an over-long suggestion was dropped) from one object of the answer."""
    line, start = _span(item)
    severity, known = _severity(item.get("severity"))
    body = _text(_first(item, "body", "message", "description", "comment", "details"), MAX_BODY).strip()
    title = _text(_first(item, "title", "summary"), MAX_TITLE).strip()
    suggestion = _suggestion(item.get("suggestion"))
    dropped = suggestion is not None and len(suggestion) > MAX_SUGGESTION
    path = _text(_first(item, "path", "file", "filename", "file_path"), MAX_PATH).strip()
    category = _text(item.get("category"), MAX_CATEGORY).strip().lower()
    return Finding(
        custom_id=custom_id,
        path=path or default_path,
        line=line,
        start_line=start,
        side=_side(item.get("side")),
        severity=severity,
        category=category or "other",
        title=title or _first_sentence(body),
        body=body,
        suggestion=None if dropped else suggestion,
    ), known, dropped


def _span(item: dict) -> tuple[int | None, int | None]:
    """(line, start_line) of a finding: start_line is None or less than line; a range such as "12-15"
    in the line field counts when no start is given."""
    raw = _first(item, "line", "end_line", "line_number")
    line, start = _line(raw), _line(_first(item, "start_line", "start"))
    if line is None and start is None and isinstance(raw, str) and (m := _RANGE.fullmatch(raw)):
        start, line = int(m.group(1)) or None, int(m.group(2)) or None
    if line is None or start is None:
        return line or start, None
    return max(line, start), (min(line, start) if line != start else None)


def _line(value) -> int | None:
    """A positive line number from an int, an integral float or a string of digits ("12", "L12")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and (m := _LINE.fullmatch(value)):
        value = int(m.group(1))
    return value if isinstance(value, int) and value > 0 else None


def _side(value) -> str:
    return SIDE_ALIASES.get(value.strip().lower(), RIGHT) if isinstance(value, str) else RIGHT


def _severity(value) -> tuple[str, bool]:
    s = str(value).strip().lower() if isinstance(value, str) else ""
    s = SEVERITY_ALIASES.get(s, s)
    return (s, True) if s in SEVERITIES else ("medium", False)


def _suggestion(value) -> str | None:
    """Replacement code: a string, or a list of lines; None when there is none (blank is none)."""
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        value = "\n".join(value)
    return _SURROGATE.sub("\ufffd", value) if isinstance(value, str) and value.strip() else None


def _first(item: dict, *keys: str):
    return next((item[k] for k in keys if item.get(k) is not None), None)


def _text(value, limit: int) -> str:
    if value is None:
        return ""
    return clip_text(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False), limit)


def _first_sentence(body: str) -> str:
    """A title for a finding that has none: the first sentence of its first line, or a placeholder."""
    first = body.strip().split("\n", 1)[0].strip()
    if not first:
        return "Untitled finding"
    m = re.match(r"(.+?[.!?])(?:\s|$)", first)
    return clip_text(m.group(1) if m else first, MAX_TITLE)
