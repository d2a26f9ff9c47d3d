"""Our planned requests in OpenAI's terms: the Chat Completions and Responses bodies of one request (pure).

The shared prefix (contract.py) is the system message (Chat Completions) or the `instructions`
(Responses); the packed request's text is the user message (`input`). The findings schema goes out as a
strict `json_schema` response format named `review_findings`; `prompt_cache_key` (the prefix's digest) lets
every request of a run read the same cached prefix. `reasoning_effort` only goes to the models that take
it (gpt-5*, o-series, codex); the others reject it. The Batch API's output lines come back in the same
vocabulary, so results.py reads them as they are.
"""

from __future__ import annotations

import re

from .contract import Prefix

CHAT_ENDPOINT = "/v1/chat/completions"
RESPONSES_ENDPOINT = "/v1/responses"
RESPONSE_FORMAT_NAME = "review_findings"
REASONING_MODEL = re.compile(r"(ft:)?(gpt-5|o\d|codex)", re.IGNORECASE)


def is_reasoning_model(model: str) -> bool:
    """gpt-5*, o-series and codex models take reasoning_effort; the others reject it."""
    return bool(REASONING_MODEL.match(model.strip()))


def request_body(endpoint: str, *, model: str, prefix: Prefix, user: str, cap: int, reasoning_effort: str | None,
                 temperature: float | None) -> dict:
    """The body of one request to `endpoint` (/v1/responses; anything else: /v1/chat/completions)."""
    schema = prefix.schema
    effort = reasoning_effort if is_reasoning_model(model) else None
    if endpoint == RESPONSES_ENDPOINT:
        body: dict = {
            "model": model,
            "instructions": prefix.system,
            "input": user,
            "text": {"format": {"type": "json_schema", "name": RESPONSE_FORMAT_NAME, "schema": schema, "strict": True}},
            "max_output_tokens": cap,
            "store": False,
            "prompt_cache_key": prefix.cache_key,
        }
        if effort:
            body["reasoning"] = {"effort": effort}
    else:
        body = {
            "model": model,
            "messages": [
                {"role": "system", "content": prefix.system},
                {"role": "user", "content": user},
            ],
            "response_format": {"type": "json_schema", "json_schema": {
                "name": RESPONSE_FORMAT_NAME, "schema": schema, "strict": True}},
            "max_completion_tokens": cap,
            "prompt_cache_key": prefix.cache_key,
        }
        if effort:
            body["reasoning_effort"] = effort
    if temperature is not None:
        body["temperature"] = temperature
    return body
