"""Our planned requests and results in the Message Batches API's terms, and back (pure).

Requests. A planned request is the same as for OpenAI (one target's files, the shared instructions, the
findings schema, an output cap); its body is the Messages API's params, sent as they are:
- the shared instructions and output contract in one `system` text block marked `cache_control:
  ephemeral`, so every request of a run reads the same cached prefix (the API caches a prefix only from
  the model's minimum length, 1,024 to 4,096 tokens, and ignores the mark below it);
- the findings schema as the JSON-schema output format (`output_config.format`), not a forced tool: the
  answer is constrained to the schema, and unlike a forced `tool_choice` it may be combined with
  thinking, which the newer models (Claude Sonnet 5.5) require; every model in the price table supports
  it. Nullable fields are spelled `anyOf [..., null]`;
- `max_tokens` the request's output cap (the configured `max_output_tokens`, scaled with the input as
  for OpenAI); thinking counts toward it;
- `reasoning_effort` mapped per model: adaptive-thinking models (Claude Opus 4.6 and later, Sonnet 4.6
  and later) get `thinking: adaptive` and `output_config.effort`; the others (Haiku 4.5, Sonnet 4.5,
  Opus 4.5) get `thinking: enabled` with `budget_tokens` a share of the cap (low 1/4, medium 1/2, high
  3/4), at least 1,024 and at most the cap minus 1,024, so the answer keeps room (below a cap of 2,048:
  no thinking). `minimal` or none: no thinking. `temperature` only without thinking, on those models.

custom_ids. Ours (`pr-12:0003:0`) do not match the API's `^[a-zA-Z0-9_-]{1,64}$`. Each request is sent
as `<16 hex of the manifest digest>_<our custom_id, ':' written '_'>`: ours never hold '_', so the map is
one-to-one and its inverse is exact; the manifest holds it (its digest and its requests). A result is
read only when its id carries this manifest's digest and maps back onto a request of that batch part:
since the API keeps no batch metadata, this is what proves a batch is the manifest's (OpenAI: the digest
in the metadata). A manifest altered after submission has another digest, and its batch's results are
refused, not posted.

Results. Each results line ({custom_id, result: {type: succeeded | errored | canceled | expired}}) is
rewritten as a Batch API output or error line, so results.py reads Claude's answers through the same
hostile-input path as OpenAI's: the answer's text blocks are the output text, `stop_reason` max_tokens
is a cut answer, refusal a refusal; errored, canceled and expired requests become error lines.
"""

from __future__ import annotations

import json
import re

from ..core.errors import BatchAPIError, InputError, ManifestError
from ..core.vocabulary import counted

ENDPOINT = "/v1/messages"
ID_PATTERN = re.compile(r"[a-zA-Z0-9_-]{1,64}")
OUR_ID = re.compile(r"[A-Za-z0-9-]+(?::[A-Za-z0-9-]+)*")
MAX_REQUESTS = 100_000
MAX_BYTES = 256 * 1024 * 1024
# adaptive thinking and the effort parameter: Opus 4.6 and later, Sonnet 4.6 and later
ADAPTIVE = re.compile(r"claude-(opus|sonnet)-(4-[6-9]|[5-9])(\b|-|$)")
EFFORT = {"minimal": "low", "low": "low", "medium": "medium", "high": "high"}
BUDGET_SHARE = {"low": 0.25, "medium": 0.5, "high": 0.75}
MIN_BUDGET = 1024
# errored results worth sending again: the service's side failed, not the request
TRANSIENT_ERRORS = frozenset({"api_error", "overloaded_error", "rate_limit_error", "timeout_error"})


# --- requests ------------------------------------------------------------------------------------------

def _nullable(schema: object) -> object:
    """The schema with `"type": [X, "null"]` spelled `anyOf [{X}, {null}]`."""
    if isinstance(schema, list):
        return [_nullable(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _nullable(v) for k, v in schema.items()}
    kinds = out.get("type")
    if isinstance(kinds, list):
        del out["type"]
        out["anyOf"] = [{"type": k} for k in kinds]
    return out


def thinking(model: str, effort: str | None, cap: int) -> tuple[dict | None, str | None]:
    """(the `thinking` param or None, the `output_config.effort` or None) for this model and cap."""
    if effort is None or effort == "minimal":
        return None, None
    if ADAPTIVE.match(model.strip().lower()):
        return {"type": "adaptive"}, EFFORT[effort]
    if cap < 2 * MIN_BUDGET:
        return None, None
    budget = min(cap - MIN_BUDGET, max(MIN_BUDGET, int(cap * BUDGET_SHARE[effort])))
    return {"type": "enabled", "budget_tokens": budget}, None


def messages_params(*, model: str, system: str, schema: dict, user: str, cap: int,
                    reasoning_effort: str | None, temperature: float | None) -> dict:
    """The Messages API params of one request."""
    think, effort = thinking(model, reasoning_effort, cap)
    output_config: dict = {"format": {"type": "json_schema", "schema": _nullable(schema)}}
    if effort:
        output_config["effort"] = effort
    params: dict = {
        "model": model,
        "max_tokens": cap,
        "system": [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": user}],
        "output_config": output_config,
    }
    if think:
        params["thinking"] = think
    elif temperature is not None and not ADAPTIVE.match(model.strip().lower()):
        params["temperature"] = temperature
    return params


# --- custom_ids ----------------------------------------------------------------------------------------

def provider_id(digest: str, cid: str) -> str:
    """The custom_id our request `cid` of the manifest with this digest is sent under."""
    if not OUR_ID.fullmatch(cid):
        raise InputError(f"custom_id {cid!r} cannot be sent to the Message Batches API (letters, digits, "
                         "'-' and ':' only)")
    theirs = f"{digest[:16]}_{cid.replace(':', '_')}"
    if not ID_PATTERN.fullmatch(theirs):
        raise InputError(f"custom_id {cid!r} is too long for the Message Batches API (64 characters with "
                         "the manifest's 17)")
    return theirs


def our_id(digest: str, theirs: object) -> str | None:
    """The custom_id of ours that `theirs` was sent for by the manifest with this digest, or None."""
    prefix = digest[:16] + "_"
    if not isinstance(theirs, str) or not ID_PATTERN.fullmatch(theirs) or not theirs.startswith(prefix):
        return None
    return theirs[len(prefix):].replace("_", ":")


# --- results -------------------------------------------------------------------------------------------

def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _usage(u: dict) -> dict:
    cached = _count(u.get("cache_read_input_tokens"))
    total = _count(u.get("input_tokens")) + _count(u.get("cache_creation_input_tokens")) + cached
    return {"input_tokens": total, "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": _count(u.get("output_tokens")), "output_tokens_details": {"reasoning_tokens": 0}}


def _answer(message: dict) -> dict:
    """A succeeded result's message as a Responses-API body: text blocks, refusal, cut, usage."""
    blocks = message.get("content") if isinstance(message.get("content"), list) else []
    texts = [b["text"] for b in blocks if isinstance(b, dict) and b.get("type") == "text"
             and isinstance(b.get("text"), str)]
    stop = message.get("stop_reason")
    if stop == "refusal":
        content = [{"type": "refusal", "refusal": "".join(texts) or "the model declined to answer"}]
    else:
        content = [{"type": "output_text", "text": "".join(texts)}] if texts else []
    body: dict = {"output": [{"type": "message", "content": content}],
                  "status": "incomplete" if stop == "max_tokens" else "completed",
                  "usage": _usage(_dict(message.get("usage")))}
    if stop == "max_tokens":
        body["incomplete_details"] = {"reason": "max_output_tokens"}
    return body


def _failure(result: dict) -> dict:
    kind = result.get("type")
    if kind == "expired":
        return {"code": "batch_expired", "message": "the batch ended (24 hours) before this request ran"}
    if kind == "canceled":
        return {"code": "batch_cancelled", "message": "the batch was cancelled before this request ran"}
    outer = _dict(result.get("error"))
    inner = _dict(outer.get("error")) or outer
    code = inner.get("type") if isinstance(inner.get("type"), str) else "errored"
    message = inner.get("message") if isinstance(inner.get("message"), str) else "the request failed"
    return {"code": code, "message": message}


def result_line(raw: str, digest: str) -> tuple[str, str]:
    """("output" or "error", one Batch API line) for one results line of the manifest with `digest`.
    A line that is not JSON is passed on as it is (results.py reports it); an id this manifest did not
    send is renamed so it can never be taken for one of ours (ours hold no space)."""
    try:
        line = json.loads(raw)
    except (ValueError, RecursionError):
        return "output", raw
    if not isinstance(line, dict):
        return "output", raw
    theirs = line.get("custom_id")
    cid = our_id(digest, theirs)
    if cid is None:
        cid = f"{theirs!r} (not sent by this manifest)"[:200]
    result = _dict(line.get("result"))
    if result.get("type") == "succeeded":
        out = {"custom_id": cid, "response": {"status_code": 200, "body": _answer(_dict(result.get("message")))},
               "error": None}
        return "output", json.dumps(out, ensure_ascii=False)
    return "error", json.dumps({"custom_id": cid, "response": None, "error": _failure(result)}, ensure_ascii=False)


def result_files(text: str, digest: str, batch_id: str) -> tuple[str, str]:
    """(output lines, error lines) of a batch's results. ManifestError when readable lines carry ids but
    none this manifest's digest: the batch is another manifest's (an altered or mixed-up manifest); a
    transient BatchAPIError when nothing in it is readable (a damaged download: read again next run)."""
    output, errors, ours, readable = [], [], 0, 0
    for raw in text.splitlines():
        if not raw.strip():
            continue
        kind, line = result_line(raw, digest)
        (output if kind == "output" else errors).append(line)
        try:
            theirs = json.loads(raw).get("custom_id")
        except (ValueError, AttributeError, RecursionError):
            continue
        readable += isinstance(theirs, str)
        ours += our_id(digest, theirs) is not None
    if not ours and not readable:
        raise BatchAPIError(f"batch {batch_id}: its results stream holds no readable result; reading it again "
                            "next run", transient=True)
    if not ours:
        raise ManifestError(f"batch {batch_id}: none of its {counted(readable, 'result')} is a request of this manifest "
                            f"(digest {digest[:16]}): altered, or another run's batch; nothing posted")
    return "\n".join(output), "\n".join(errors)


def resubmittable(status: str, error_code: str | None, batch_status: str) -> bool:
    """Expired requests, and those that failed on the service's side (sent again, as OpenAI's expired)."""
    if status == "missing":
        return batch_status == "expired"
    return status == "error" and (error_code == "batch_expired" or error_code in TRANSIENT_ERRORS)
