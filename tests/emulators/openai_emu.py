"""Loopback emulator of the OpenAI Files and Batches API, for the real `openai` client.

What it rejects, it rejects as the service does: a wrong key (401), a createBatch body outside the
official schema or the metadata limits (400), an unknown file (404), a file whose purpose is not "batch",
an upload whose purpose or expires_after is outside the official schema, a batch-purpose upload that is
not a .jsonl file of at most 200 MB, a download of a file whose purpose does not allow it (user_data,
assistants, fine-tune, evals: 400 "Not allowed to download files of purpose: …"), a list `limit` out of
range (batches 1-100, files 1-10,000). Files vanish when they expire (batch-purpose files after 30 days
unless expires_after says otherwise); lists are newest first. `backdate` moves a batch or file into the
past, so listings bounded by age can be tested without waiting.
Batch input is checked when the batch leaves `validating`, like the service: every line must be JSON
with a unique custom_id, method POST, the batch's url, one model, and a body that the official request
types accept (the openai SDK's own TypedDicts, generated from the OpenAPI description, strictly); a bad
file makes the batch `failed` with errors.data[{code, line, message, param}].
The organization's batch queue (`enqueued_token_limit`, per model; None: no limit): a batch is checked
when it leaves `validating`, like the service (../shared/FACTS.md): when its input tokens and those of
the model's batches in progress (in_progress, finalizing) are over the limit, creating it has already
succeeded, and it goes to `failed` with errors.data[].code "token_limit_exceeded", no output, nothing
billed. Input tokens are counted by `count_tokens` (a line's body; by default a quarter of its message
text's characters), not with the product's estimate. `start_all` moves every validating batch into
progress in the order they were created, as a busy queue would.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import random
import re
from collections.abc import Callable
from pathlib import Path

import jsonschema
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming
from pydantic import TypeAdapter, ValidationError

from .base import Emulator, HttpError, Response, now

SCHEMAS = json.loads((Path(__file__).parent / "schemas" / "openai.json").read_text())
BODY_TYPES = {
    "/v1/chat/completions": CompletionCreateParamsNonStreaming,
    "/v1/responses": ResponseCreateParamsNonStreaming,
}
_ADAPTERS = {url: TypeAdapter(t) for url, t in BODY_TYPES.items()}
AZURE_ENDPOINTS = {"/chat/completions": "/v1/chat/completions", "/responses": "/v1/responses",
                   "/embeddings": "/v1/embeddings"}  # Azure batch endpoint -> the request type it takes
MAX_LINES = 50_000
MAX_BYTES = 200 * 1024 * 1024
FILES_LIVE = 30 * 86400  # batch-purpose files expire after 30 days by default
NOT_DOWNLOADABLE = {"assistants", "user_data", "fine-tune", "evals"}  # the service answers 400 for these
NO_RESULT = object()  # a responder's answer for "this request did not finish"
ENQUEUED = ("in_progress", "finalizing")  # a batch in these states holds its tokens in the model's queue


def body_tokens(body: dict) -> int:
    """The emulator's own count of a request's input tokens: a quarter of its message text's characters."""
    if not isinstance(body, dict):
        return 0
    parts = body.get("messages") if "messages" in body else body.get("input")
    text = json.dumps(parts, ensure_ascii=False) if not isinstance(parts, str) else parts
    return len(text) // 4 + len(body.get("instructions") or "") // 4


def chat_completion(content: str | None, *, prompt_tokens: int = 1000, completion_tokens: int = 200,
                    cached_tokens: int = 0, refusal: str | None = None, finish_reason: str = "stop") -> dict:
    return {
        "id": "chatcmpl-emu", "object": "chat.completion", "created": now(), "model": "emulated",
        "choices": [{"index": 0, "finish_reason": finish_reason, "logprobs": None,
                     "message": {"role": "assistant", "content": content, "refusal": refusal}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens,
                  "prompt_tokens_details": {"cached_tokens": cached_tokens},
                  "completion_tokens_details": {"reasoning_tokens": 0}},
    }


def response_object(text: str, *, input_tokens: int = 1000, output_tokens: int = 200) -> dict:
    return {
        "id": "resp_emu", "object": "response", "created_at": now(), "status": "completed", "model": "emulated",
        "output": [{"type": "message", "id": "msg_emu", "role": "assistant", "status": "completed",
                    "content": [{"type": "output_text", "text": text, "annotations": []}]}],
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                  "total_tokens": input_tokens + output_tokens,
                  "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
    }


def default_responder(custom_id: str, body: dict):
    text = json.dumps({"findings": []})
    return chat_completion(text) if "messages" in body else response_object(text)


class OpenAIEmulator(Emulator):
    def __init__(self, api_key: str = "sk-test-emulator", dialect: str = "openai") -> None:
        """dialect "azure": Azure OpenAI's paths (/openai/...?api-version=), its api-key header, and its
        batch endpoints and line urls without /v1."""
        super().__init__()
        self.api_key = api_key
        self.dialect = dialect
        self.files: dict[str, dict] = {}
        self.batches: dict[str, dict] = {}
        self.responder: Callable = default_responder
        self._ids = itertools.count(1)
        self.rng = random.Random(7)
        self.enqueued_token_limit: int | dict[str, int] | None = None  # per model (a dict) or for every model
        self.count_tokens: Callable[[dict], int] = body_tokens
        self.organization = "org-emulator"
        self.queue_refusals: list[str] = []  # batches failed with token_limit_exceeded, in order
        self._tokens: dict[str, int] = {}  # batch -> its input tokens, counted at validation

    @property
    def base_url(self) -> str:
        """The client's base_url (OpenAI) or azure_endpoint (Azure)."""
        if self.dialect == "azure":
            return f"http://127.0.0.1:{self.port}"
        return f"http://127.0.0.1:{self.port}/v1"

    def error_body(self, status: int, message: str) -> dict:
        return {"error": {"message": message, "type": "server_error" if status >= 500 else "invalid_request_error",
                          "param": None, "code": None}}

    def _fail(self, status: int, message: str, code: str | None = None, param: str | None = None):
        return HttpError(status, {"error": {"message": message, "type": "invalid_request_error", "param": param,
                                            "code": code}})

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}emu"

    # --- control API -----------------------------------------------------------------------------
    def set_responder(self, fn: Callable) -> None:
        self.responder = fn

    def lines(self, file_id: str) -> list[dict]:
        return [json.loads(x) for x in self.files[file_id]["data"].splitlines() if x.strip()]

    def add_file(self, data: bytes, purpose: str, filename: str = "file.jsonl", *,
                 expires_after: int | None = None) -> dict:
        with self.lock:
            fid = self._new_id("file-")
            t = now()
            lifetime = expires_after or (FILES_LIVE if purpose.startswith("batch") else None)
            self.files[fid] = {"id": fid, "object": "file", "bytes": len(data), "created_at": t,
                               "filename": filename, "purpose": purpose, "status": "processed",
                               "expires_at": t + lifetime if lifetime else None,
                               "status_details": None, "data": data}
            return self.files[fid]

    def backdate(self, object_id: str, seconds: int) -> None:
        """Make a batch or file `seconds` older (its creation and expiry move back together)."""
        with self.lock:
            record = self.batches.get(object_id) or self.files[object_id]
            for key in ("created_at", "expires_at"):
                if record.get(key):
                    record[key] -= seconds

    def _live_file(self, fid: str) -> dict | None:
        record = self.files.get(fid)
        if record is not None and record["expires_at"] is not None and record["expires_at"] <= now():
            del self.files[fid]  # expired files are deleted by the service
            return None
        return record

    def advance(self, batch_id: str, to: str, *, finished: Callable[[str], bool] | None = None) -> dict:
        """Drive a batch through the real state machine. `finished(custom_id)` picks, for expired and
        cancelled batches, which requests completed before the end."""
        with self.lock:
            b = self.batches[batch_id]
            path = {"in_progress": ["in_progress"], "finalizing": ["in_progress", "finalizing"],
                    "completed": ["in_progress", "finalizing", "completed"], "expired": ["in_progress", "expired"],
                    "failed": ["failed"], "cancelled": ["cancelled"]}[to]
            for step in path:
                if b["status"] == step:
                    continue
                self._step(b, step, finished)
                if b["status"] == "failed":
                    break
            return b

    def complete_all(self) -> None:
        for batch_id in list(self.batches):
            if self.batches[batch_id]["status"] in ("validating", "in_progress", "finalizing"):
                self.advance(batch_id, "completed")

    def start_all(self) -> list[str]:
        """Every validating batch validated and, if the queue has room, put in progress, oldest first; the
        ones the queue refused."""
        refused = []
        for batch_id in list(self.batches):
            if self.batches[batch_id]["status"] == "validating":
                if self.advance(batch_id, "in_progress")["status"] == "failed":
                    refused.append(batch_id)
        return refused

    def batch_tokens(self, batch_id: str) -> int:
        """The input tokens a batch holds in its model's queue, by the emulator's count (counted once, when
        it is validated: its input file may be deleted later)."""
        if batch_id not in self._tokens:
            lines = self.lines(self.batches[batch_id]["input_file_id"])
            self._tokens[batch_id] = sum(self.count_tokens(line.get("body")) for line in lines)
        return self._tokens[batch_id]

    def enqueued_tokens(self, model: str) -> int:
        return sum(self.batch_tokens(b["id"]) for b in self.batches.values()
                   if b["status"] in ENQUEUED and b["model"] == model)

    def _queue_error(self, b: dict) -> dict | None:
        """token_limit_exceeded when this batch would take its model's queue over the limit."""
        limit = self.enqueued_token_limit
        model = b["model"]
        if isinstance(limit, dict):
            limit = limit.get(model)
        if limit is None or self.enqueued_tokens(model) + self.batch_tokens(b["id"]) <= limit:
            return None
        return {"code": "token_limit_exceeded", "line": None, "param": None,
                "message": f"Enqueued token limit reached for {model} in organization {self.organization}. "
                           f"Limit: {limit:,} enqueued tokens. Please try again once some in_progress batches "
                           "have been completed."}

    def _step(self, b: dict, to: str, finished) -> None:
        allowed = {"validating": {"in_progress", "failed", "cancelled"},
                   "in_progress": {"finalizing", "expired", "cancelled"},
                   "finalizing": {"completed", "expired"}, "cancelling": {"cancelled"}}
        if to not in allowed.get(b["status"], set()):
            raise AssertionError(f"batch {b['id']}: {b['status']} -> {to} is not a transition the service makes")
        t = now()
        if b["status"] == "validating" and to in ("in_progress", "failed"):
            errors = self._validate_input(b)
            if errors:
                b.update(status="failed", failed_at=t, errors={"object": "list", "data": errors})
                return
            self.batch_tokens(b["id"])
            refused = self._queue_error(b)
            if refused:  # validated, then refused by the queue: no output, nothing billed
                b.update(status="failed", failed_at=t, errors={"object": "list", "data": [refused]})
                self.queue_refusals.append(b["id"])
                return
        if to == "in_progress":
            b.update(status="in_progress", in_progress_at=t)
        elif to == "finalizing":
            b.update(status="finalizing", finalizing_at=t)
        elif to == "completed":
            self._write_results(b, lambda cid: True)
            b.update(status="completed", completed_at=t)
        elif to == "expired":
            self._write_results(b, finished or (lambda cid: False), unfinished_code="batch_expired")
            b.update(status="expired", expired_at=t)
        elif to == "cancelled":
            self._write_results(b, finished or (lambda cid: False), unfinished_code=None)
            b.update(status="cancelled", cancelled_at=t)
        elif to == "failed":
            b.update(status="failed", failed_at=t)

    def _validate_input(self, b: dict) -> list[dict]:
        data = self.files[b["input_file_id"]]["data"]
        errors = []
        if len(data) > MAX_BYTES:
            return [{"code": "file_too_large", "line": None, "param": None,
                     "message": f"The input file is larger than the {MAX_BYTES} byte limit."}]
        seen, models = set(), set()
        lines = data.splitlines()
        if len(lines) > MAX_LINES:
            return [{"code": "too_many_requests", "line": None, "param": None,
                     "message": f"The input file has more than {MAX_LINES} requests."}]
        for number, raw in enumerate(lines, start=1):
            def err(code, message, param=None, number=number):
                errors.append({"code": code, "line": number, "message": message, "param": param})
            try:
                line = json.loads(raw)
            except ValueError:
                err("invalid_json_line", "This line is not parseable as valid JSON.")
                continue
            if not isinstance(line, dict) or set(line) - {"custom_id", "method", "url", "body"}:
                err("invalid_request", "Unexpected fields in the request line.")
                continue
            cid = line.get("custom_id")
            if not isinstance(cid, str) or not cid:
                err("missing_required_parameter", "Missing custom_id.", "custom_id")
            elif cid in seen:
                err("duplicate_custom_id", "The custom_id for this request is a duplicate of another request.",
                    "custom_id")
            seen.add(cid)
            if line.get("method") != "POST":
                err("invalid_method", "Only POST is supported.", "method")
            if line.get("url") != b["endpoint"]:
                err("invalid_url", f"The url must match the batch endpoint {b['endpoint']}.", "url")
                continue
            body = line.get("body")
            problem = body_problem(AZURE_ENDPOINTS.get(b["endpoint"], b["endpoint"]), body)
            if problem:
                err("invalid_request", problem, "body")
                continue
            models.add(body.get("model"))
        if len(models) > 1:
            errors.append({"code": "mismatched_model", "line": None, "param": "body.model",
                           "message": "All requests in a batch must use the same model."})
        if not errors:
            b["model"] = next(iter(models), None)
            b["request_counts"]["total"] = len(lines)
        return errors

    def _write_results(self, b: dict, finished: Callable[[str], bool], unfinished_code: str | None = "") -> None:
        out, err = [], []
        completed = failed = 0
        usage = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0,
                 "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}
        for line in self.lines(b["input_file_id"]):
            cid = line["custom_id"]
            answer = self.responder(cid, line["body"]) if finished(cid) else NO_RESULT
            if answer is NO_RESULT:
                if unfinished_code:
                    err.append({"id": f"batch_req_{self.rng.getrandbits(48):012x}", "custom_id": cid,
                                "response": None, "error": {"code": unfinished_code,
                                                            "message": "This request could not be executed "
                                                                       "before the completion window expired."}})
                    failed += 1
                continue
            if isinstance(answer, tuple):
                status, body = answer
            else:
                status, body = 200, answer
            record = {"id": f"batch_req_{self.rng.getrandbits(48):012x}", "custom_id": cid,
                      "response": {"status_code": status, "request_id": f"req_{self.rng.getrandbits(48):012x}",
                                   "body": body}, "error": None}
            if status == 200:
                completed += 1
                out.append(record)
                u = body.get("usage", {}) if isinstance(body, dict) else {}
                usage["input_tokens"] += u.get("prompt_tokens", u.get("input_tokens", 0))
                usage["output_tokens"] += u.get("completion_tokens", u.get("output_tokens", 0))
            else:
                failed += 1
                err.append(record)
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        self.rng.shuffle(out)  # the service returns lines in any order
        if out:
            b["output_file_id"] = self.add_file(_jsonl(out), "batch_output", "batch_output.jsonl")["id"]
        if err:
            b["error_file_id"] = self.add_file(_jsonl(err), "batch_output", "batch_errors.jsonl")["id"]
        b["request_counts"].update(completed=completed, failed=failed)
        b["usage"] = usage

    # --- HTTP --------------------------------------------------------------------------------------
    def route(self, method, path, query, headers, body) -> Response:
        if self.dialect == "azure":
            if headers.get("api-key") != self.api_key:
                raise self._fail(401, "Access denied due to invalid subscription key or wrong API endpoint.", "401")
            if not query.get("api-version"):
                raise self._fail(404, "Resource not found")
            if not path.startswith("/openai/"):
                raise self._fail(404, "Resource not found")
            path = "/v1/" + path.removeprefix("/openai/")
        elif headers.get("authorization") != f"Bearer {self.api_key}":
            raise self._fail(401, "Incorrect API key provided.", "invalid_api_key")
        with self.lock:
            m = re.fullmatch(r"/v1/files(?:/(?P<id>[^/]+)(?P<content>/content)?)?", path)
            if m and m["id"] is None and method == "GET":
                return self._list_files(query)
            if m:
                return self._files(method, m["id"], bool(m["content"]), headers, body)
            m = re.fullmatch(r"/v1/batches(?:/(?P<id>[^/]+)(?P<cancel>/cancel)?)?", path)
            if m:
                return self._batches(method, m["id"], bool(m["cancel"]), query, body)
        raise self._fail(404, f"Invalid URL ({method} {path})")

    def _files(self, method, fid, content, headers, body) -> Response:
        if fid is None and method == "POST":
            fields = parse_multipart(headers.get("content-type", ""), body)
            purpose = fields.get("purpose", (None, b""))[1].decode()
            if "file" not in fields or not purpose:
                raise self._fail(400, "Missing file or purpose.", param="file" if "file" not in fields else "purpose")
            if purpose not in SCHEMAS["createFile"]["body"]["properties"]["purpose"]["enum"]:
                raise self._fail(400, f"'{purpose}' is not one of the supported purposes.", param="purpose")
            filename, data = fields["file"]
            filename = filename or "upload.jsonl"
            if purpose == "batch" and not filename.endswith(".jsonl"):
                raise self._fail(400, "Invalid file format for Batch API. Must be .jsonl", param="file")
            if purpose == "batch" and len(data) > MAX_BYTES:
                raise self._fail(400, f"File is larger than the {MAX_BYTES} byte limit for the Batch API.",
                                 param="file")
            record = self.add_file(data, purpose, filename, expires_after=self._expires_after(fields))
            return Response(200, _public_file(record))
        if fid is None:
            raise self._fail(405, "Method not allowed")
        record = self._live_file(fid)
        if record is None:
            raise self._fail(404, f"No such File object: {fid}", param="id")
        if method == "DELETE" and not content:
            del self.files[fid]
            return Response(200, {"id": fid, "object": "file", "deleted": True})
        if method == "GET" and content:
            if record["purpose"] in NOT_DOWNLOADABLE:
                raise self._fail(400, f"Not allowed to download files of purpose: {record['purpose']}")
            return Response(200, record["data"], {"Content-Type": "application/octet-stream"})
        if method == "GET":
            return Response(200, _public_file(record))
        raise self._fail(405, "Method not allowed")

    def _expires_after(self, fields: dict) -> int | None:
        """createFile's expires_after (multipart fields expires_after[anchor] and expires_after[seconds])."""
        raw = {k[len("expires_after["):-1]: v.decode() for k, (_, v) in fields.items()
               if k.startswith("expires_after[")}
        if not raw:
            return None
        try:
            value = {"anchor": raw.get("anchor"), "seconds": int(raw.get("seconds", ""))}
        except ValueError:
            raise self._fail(400, "Invalid 'expires_after[seconds]': expected an integer.",
                             param="expires_after.seconds") from None
        try:
            jsonschema.validate(value, SCHEMAS["createFile"]["body"]["properties"]["expires_after"])
        except jsonschema.ValidationError as exc:
            raise self._fail(400, f"Invalid 'expires_after': {exc.message}", param="expires_after") from None
        return value["seconds"]

    def _list_files(self, query) -> Response:
        limit = self._limit(query, 10_000, 10_000)
        purpose = (query.get("purpose") or [None])[0]
        order = (query.get("order") or ["desc"])[0]
        if order not in ("asc", "desc"):
            raise self._fail(400, f"Invalid 'order': {order!r}.", param="order")
        live = [r for fid in list(self.files) if (r := self._live_file(fid)) is not None
                and (purpose is None or r["purpose"] == purpose)]
        live.sort(key=lambda r: (r["created_at"], r["id"]), reverse=order == "desc")
        return self._page([_public_file(r) for r in live], query, limit)

    def _limit(self, query, default: int, most: int) -> int:
        raw = (query.get("limit") or [str(default)])[0]
        if not raw.isdigit() or not 1 <= int(raw) <= most:
            raise self._fail(400, f"Invalid 'limit': {raw!r}; expected 1 to {most}.", param="limit")
        return int(raw)

    def _page(self, ordered: list[dict], query, limit: int) -> Response:
        after = (query.get("after") or [None])[0]
        if after:
            ids = [x["id"] for x in ordered]
            ordered = ordered[ids.index(after) + 1:] if after in ids else []
        page = ordered[:limit]
        return Response(200, {"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                              "last_id": page[-1]["id"] if page else None, "has_more": len(ordered) > limit})

    def _batches(self, method, bid, cancel, query, body) -> Response:
        if bid is None and method == "POST":
            try:
                payload = json.loads(body or b"null")
            except ValueError:
                raise self._fail(400, "We could not parse the JSON body of your request.") from None
            try:
                jsonschema.validate(payload, self._create_batch_schema())
            except jsonschema.ValidationError as exc:
                raise self._fail(400, f"Invalid request: {exc.message}",
                                 param=".".join(map(str, exc.absolute_path)) or None) from None
            metadata = payload.get("metadata") or {}
            if len(metadata) > 16 or any(len(k) > 64 or len(v) > 512 for k, v in metadata.items()):
                raise self._fail(400, "Invalid 'metadata': at most 16 pairs, keys up to 64 and values up to "
                                 "512 characters.", "invalid_value", "metadata")
            file = self._live_file(payload["input_file_id"])
            if file is None:
                raise self._fail(404, f"No such File object: {payload['input_file_id']}", param="input_file_id")
            if file["purpose"] != "batch":
                raise self._fail(400, "The input file must have purpose 'batch'.", param="input_file_id")
            bid = self._new_id("batch_")
            t = now()
            self.batches[bid] = {
                "id": bid, "object": "batch", "endpoint": payload["endpoint"], "model": None, "errors": None,
                "input_file_id": payload["input_file_id"], "completion_window": "24h", "status": "validating",
                "output_file_id": None, "error_file_id": None, "created_at": t, "in_progress_at": None,
                "expires_at": t + 86400, "finalizing_at": None, "completed_at": None, "failed_at": None,
                "expired_at": None, "cancelling_at": None, "cancelled_at": None,
                "request_counts": {"total": 0, "completed": 0, "failed": 0}, "usage": None,
                "metadata": metadata or None,
            }
            return Response(200, self.batches[bid])
        if bid is None and method == "GET":
            limit = self._limit(query, 20, 100)
            ordered = sorted(self.batches.values(), key=lambda b: (b["created_at"], b["id"]), reverse=True)
            return self._page(ordered, query, limit)
        if bid not in self.batches:
            raise self._fail(404, f"No batch found with id '{bid}'.", param="batch_id")
        b = self.batches[bid]
        if cancel and method == "POST":
            if b["status"] in ("completed", "failed", "expired", "cancelled"):
                raise self._fail(409, f"Cannot cancel a batch with status '{b['status']}'.")
            if b["status"] != "cancelling":
                b.update(status="cancelling", cancelling_at=now())
            return Response(200, b)
        if method == "GET" and not cancel:
            return Response(200, b)
        raise self._fail(405, "Method not allowed")

    def _create_batch_schema(self) -> dict:
        schema = SCHEMAS["createBatch"]["body"]
        if self.dialect != "azure":
            return schema
        endpoint = {**schema["properties"]["endpoint"], "enum": list(AZURE_ENDPOINTS)}
        return {**schema, "properties": {**schema["properties"], "endpoint": endpoint}}

    def finish_cancel(self, batch_id: str, finished: Callable[[str], bool] | None = None) -> None:
        with self.lock:
            self._step(self.batches[batch_id], "cancelled", finished)


def body_problem(endpoint: str, body) -> str | None:
    """Why a request body would be refused, by the official request types (None when it is fine)."""
    if not isinstance(body, dict):
        return "body must be an object"
    params = BODY_TYPES[endpoint]
    unknown = set(body) - set(params.__annotations__)
    if unknown:
        return f"Unrecognized request argument supplied: {sorted(unknown)[0]}"
    required = {"model", "messages"} if endpoint == "/v1/chat/completions" else {"model"}
    missing = required - set(body)
    if missing:
        return f"Missing required parameter: '{sorted(missing)[0]}'."
    try:
        _ADAPTERS[endpoint].validate_python(body, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        return f"Invalid value for '{'.'.join(map(str, first['loc']))}': {first['msg']}"
    return None


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    if not content_type.startswith("multipart/form-data"):
        return {}
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[name] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return fields


def _jsonl(records: list[dict]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def _public_file(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "data"}
