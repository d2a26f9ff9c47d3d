"""Loopback emulator of Anthropic's Message Batches API, for the real `anthropic` client.

What it rejects, it rejects as the service does (https://platform.claude.com/docs/en/api/creating-message-batches
and the SDK's own request types): a missing or wrong key (401 authentication_error; the key comes as
`x-api-key` or, as SDK 2.x sends it, `Authorization: Bearer`), no dated `anthropic-version` header (400), a create body with anything but `requests`, no requests or more than
100,000, more than 256 MB (413 request_too_large), a request that is not exactly {custom_id, params}, a
custom_id outside ^[a-zA-Z0-9_-]{1,64}$ or used twice, params the SDK's MessageCreateParamsNonStreaming
does not accept (unknown keys, a missing model / max_tokens / messages, wrong types, checked strictly),
`stream`, and thinking whose budget_tokens is under 1,024 or not under max_tokens. Results exist only
once a batch has ended (404 before); unknown batches are 404; lists are newest first with before_id /
after_id paging and a limit of 1 to 1,000.

Batches move through in_progress -> (canceling ->) ended, driven by the test (`advance`, `complete_all`);
request_counts hold processing until the end, then succeeded / errored / canceled / expired, as the
service counts them. A responder scripts each request's result: a Claude Message (or an OpenAI chat
completion, converted, so one scripted answer serves both providers' tests), a (status, error body)
tuple for an errored request, or NO_RESULT for one that did not run before the batch ended. Fault
injection (HTTP statuses, resets, timeouts, malformed bodies, lost responses, echoed headers) is the
shared one of base.py.
The processing queue (`queue_limit`; None: no limit): Anthropic's rate limits cap the batch requests in
the processing queue at once, shared across models (100,000 at tier 1, 500,000 at tier 4; the rate-limits
page of its docs). A create that would take the requests still processing over it is refused with 429
rate_limit_error (and a Retry-After the client obeys) and nothing is created.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import re
from collections.abc import Callable

from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from pydantic import TypeAdapter, ValidationError

from .base import Emulator, HttpError, Response, now

API_VERSION = re.compile(r"20\d\d-\d\d-\d\d")  # the SDK sends its own dated version
ID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_REQUESTS = 100_000
MAX_BYTES = 256 * 1024 * 1024
PARAMS = TypeAdapter(MessageCreateParamsNonStreaming)
PARAM_KEYS = set(MessageCreateParamsNonStreaming.__annotations__)
REQUIRED = {"model", "max_tokens", "messages"}
NO_RESULT = object()
_BATCH_PATH = re.compile(r"^/v1/messages/batches(?:/([^/]+))?(?:/(results|cancel))?$")


def claude_message(text: str | None, *, input_tokens: int = 1000, output_tokens: int = 200,
                   cache_read: int = 0, cache_write: int = 0, stop_reason: str = "end_turn") -> dict:
    content = [] if text is None else [{"type": "text", "text": text}]
    return {"id": "msg_emu", "type": "message", "role": "assistant", "model": "emulated", "content": content,
            "stop_reason": stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                      "cache_read_input_tokens": cache_read, "cache_creation_input_tokens": cache_write}}


def from_chat_completion(body: dict) -> dict:
    """An OpenAI chat completion (a scripted answer) as the Claude Message it stands for."""
    choice = body["choices"][0]
    message = choice["message"]
    usage = body.get("usage") or {}
    stop = {"length": "max_tokens"}.get(choice.get("finish_reason"), "end_turn")
    text = message.get("content")
    if message.get("refusal"):
        stop, text = "refusal", message["refusal"]
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
    return claude_message(text, input_tokens=usage.get("prompt_tokens", 0) - cached,
                          output_tokens=usage.get("completion_tokens", 0), cache_read=cached, stop_reason=stop)


def default_responder(custom_id: str, params: dict):
    return claude_message(json.dumps({"findings": []}))


def _iso(t: float | None) -> str | None:
    return None if t is None else dt.datetime.fromtimestamp(t, dt.UTC).isoformat().replace("+00:00", "Z")


class AnthropicEmulator(Emulator):
    def __init__(self, api_key: str = "sk-ant-test-emulator") -> None:
        super().__init__()
        self.api_key = api_key
        self.batches: dict[str, dict] = {}
        self.responder: Callable = default_responder
        self.id_view: Callable[[str], str] = lambda cid: cid  # what responder and finished() are given
        self._ids = itertools.count(1)
        self.rng = random.Random(7)
        self.queue_limit: int | None = None  # batch requests in the processing queue at once
        self.queue_refusals = 0  # creates refused with 429 for the queue
        self.queue_retry_after_ms = "10"  # the wait the 429 asks for (the SDK retries it): short in tests

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def processing(self) -> int:
        """Requests of every batch that has not ended: what the processing queue holds."""
        return sum(b["request_counts"]["processing"] for b in self.batches.values()
                   if b["processing_status"] != "ended")

    def error_body(self, status: int, message: str) -> dict:
        kind = {401: "authentication_error", 404: "not_found_error", 413: "request_too_large",
                429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error" if status >= 500 else
                                                                       "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def _fail(self, status: int, message: str) -> HttpError:
        return HttpError(status, self.error_body(status, message))

    # --- control API -----------------------------------------------------------------------------
    def set_responder(self, fn: Callable) -> None:
        self.responder = fn

    def requests_of(self, batch_id: str) -> list[dict]:
        return self.batches[batch_id]["requests"]

    def advance(self, batch_id: str, to: str, *, finished: Callable[[str], bool] | None = None) -> dict:
        """Drive a batch: "in_progress", or end it: "completed" (everything ran), "expired" (the
        requests `finished` rejects expire) or "cancelled" (they are canceled)."""
        with self.lock:
            b = self.batches[batch_id]
            if to == "in_progress":
                return b
            if b["processing_status"] == "ended":
                raise AssertionError(f"batch {batch_id} has ended; the service does not move it again")
            if to == "cancelled":
                b["cancel_initiated_at"] = b["cancel_initiated_at"] or now()
            self._end(b, finished or (lambda cid: to == "completed"),
                      unfinished="canceled" if to == "cancelled" else "expired")
            return b

    def complete_all(self) -> None:
        for batch_id, b in list(self.batches.items()):
            if b["processing_status"] != "ended":
                self.advance(batch_id, "completed" if b["processing_status"] == "in_progress" else "cancelled")

    def _end(self, b: dict, finished: Callable[[str], bool], unfinished: str) -> None:
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        lines = []
        for request in b["requests"]:
            cid = request["custom_id"]
            answer = self.responder(self.id_view(cid), request["params"]) if finished(self.id_view(cid)) \
                else NO_RESULT
            if answer is NO_RESULT:
                result = {"type": unfinished}
            elif isinstance(answer, tuple):
                status, body = answer
                err = (body or {}).get("error") or {}
                result = {"type": "errored", "error": {"type": "error", "error": {
                    "type": err.get("type") or self.error_body(status, "")["error"]["type"],
                    "message": err.get("message") or f"HTTP {status}"}}}
            else:
                message = from_chat_completion(answer) if "choices" in answer else answer
                result = {"type": "succeeded", "message": message}
            counts[result["type"]] += 1
            lines.append({"custom_id": cid, "result": result})
        self.rng.shuffle(lines)  # results come in any order
        b["results"] = b"".join(json.dumps(x).encode() + b"\n" for x in lines)
        b.update(processing_status="ended", ended_at=now(), request_counts=counts,
                 results_url=f"{self.base_url}/v1/messages/batches/{b['id']}/results")

    # --- HTTP --------------------------------------------------------------------------------------
    def route(self, method, path, query, headers, body) -> Response:
        bearer = (headers.get("authorization") or "").removeprefix("Bearer ")
        if self.api_key not in (headers.get("x-api-key"), bearer):
            raise self._fail(401, "invalid x-api-key")
        if not API_VERSION.fullmatch(headers.get("anthropic-version") or ""):
            raise self._fail(400, "anthropic-version: header is required (a dated version, e.g. 2023-06-01)")
        m = _BATCH_PATH.match(path)
        if m is None:
            raise self._fail(404, f"Not found: {path}")
        batch_id, action = m.groups()
        if batch_id is None:
            if method == "POST":
                return self._create(body)
            if method == "GET":
                return self._list(query)
            raise self._fail(405, "method not allowed")
        with self.lock:
            b = self.batches.get(batch_id)
            if b is None:
                raise self._fail(404, f"message batch {batch_id} not found")
            if action == "cancel" and method == "POST":
                if b["processing_status"] == "in_progress":
                    b.update(processing_status="canceling", cancel_initiated_at=now())
                return Response(200, self._public(b))
            if action == "results" and method == "GET":
                if b["processing_status"] != "ended":
                    raise self._fail(404, f"message batch {batch_id} has no results yet")
                return Response(200, b["results"], {"Content-Type": "application/binary"})
            if action is None and method == "GET":
                return Response(200, self._public(b))
        raise self._fail(405, "method not allowed")

    def _create(self, body: bytes) -> Response:
        if len(body) > MAX_BYTES:
            raise self._fail(413, f"request is {len(body)} bytes, over 256 MB")
        try:
            doc = json.loads(body)
        except ValueError:
            raise self._fail(400, "body is not JSON") from None
        if not isinstance(doc, dict) or set(doc) != {"requests"}:
            raise self._fail(400, "the body takes requests only")
        requests = doc["requests"]
        if not isinstance(requests, list) or not 1 <= len(requests) <= MAX_REQUESTS:
            raise self._fail(400, "requests: between 1 and 100,000 requests")
        seen: set[str] = set()
        for i, r in enumerate(requests):
            problem = request_problem(r, seen)
            if problem:
                raise self._fail(400, f"requests.{i}: {problem}")
        with self.lock:
            if self.queue_limit is not None and self.processing() + len(requests) > self.queue_limit:
                self.queue_refusals += 1
                raise HttpError(429, self.error_body(429, f"Number of batch requests in the processing queue "
                                                          f"would exceed your rate limit of {self.queue_limit:,}; "
                                                          "please try again once some batches have ended."),
                                {"retry-after-ms": self.queue_retry_after_ms})
            bid = f"msgbatch_{next(self._ids):08d}emu"
            t = now()
            self.batches[bid] = {"id": bid, "type": "message_batch", "processing_status": "in_progress",
                                 "request_counts": {"processing": len(requests), "succeeded": 0, "errored": 0,
                                                    "canceled": 0, "expired": 0},
                                 "ended_at": None, "created_at": t, "expires_at": t + 86400, "archived_at": None,
                                 "cancel_initiated_at": None, "results_url": None, "requests": requests}
            return Response(200, self._public(self.batches[bid]))

    def _list(self, query) -> Response:
        try:
            limit = int((query.get("limit") or ["20"])[0])
        except ValueError:
            raise self._fail(400, "limit: an integer") from None
        if not 1 <= limit <= 1000:
            raise self._fail(400, "limit: between 1 and 1000")
        with self.lock:
            ordered = sorted(self.batches.values(), key=lambda b: (b["created_at"], b["id"]), reverse=True)
            ids = [b["id"] for b in ordered]
            if query.get("after_id"):
                ordered = ordered[ids.index(query["after_id"][0]) + 1:] if query["after_id"][0] in ids else []
            page = ordered[:limit]
            data = [self._public(b) for b in page]
        return Response(200, {"data": data, "has_more": len(ordered) > limit,
                              "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None})

    @staticmethod
    def _public(b: dict) -> dict:
        out = {k: v for k, v in b.items() if k not in ("requests", "results")}
        for key in ("created_at", "expires_at", "ended_at", "archived_at", "cancel_initiated_at"):
            out[key] = _iso(b[key])
        return out


def request_problem(r: object, seen: set[str]) -> str | None:
    """Why one request of a create body would be refused (None when it is fine)."""
    if not isinstance(r, dict) or set(r) != {"custom_id", "params"}:
        return "each request is {custom_id, params}"
    cid = r["custom_id"]
    if not isinstance(cid, str) or not ID_PATTERN.match(cid):
        return f"custom_id: {cid!r} does not match ^[a-zA-Z0-9_-]{{1,64}}$"
    if cid in seen:
        return f"custom_id: {cid!r} is used by another request of this batch"
    seen.add(cid)
    return params_problem(r["params"])


def params_problem(params: object) -> str | None:
    if not isinstance(params, dict):
        return "params: an object"
    unknown = set(params) - PARAM_KEYS
    if unknown or "stream" in params:
        return f"params.{sorted(unknown or {'stream'})[0]}: Extra inputs are not permitted"
    missing = REQUIRED - set(params)
    if missing:
        return f"params.{sorted(missing)[0]}: Field required"
    try:
        PARAMS.validate_python(params, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        return f"params.{'.'.join(map(str, first['loc']))}: {first['msg']}"
    if params["max_tokens"] < 1:
        return "params.max_tokens: at least 1"
    thinking = params.get("thinking") or {}
    if thinking.get("type") == "enabled" and not 1024 <= thinking.get("budget_tokens", 0) < params["max_tokens"]:
        return "params.thinking.budget_tokens: at least 1024 and less than max_tokens"
    return None
