"""A packed request made into one service's request: the contract, the wire format, exact counts (pure).

`RequestBuilder` holds what every request of one model shares (the prefix of contract.py, the output
ceiling, reasoning effort, temperature) and turns a request packing.py packed (its custom_id, the files
it shows, its text and estimated tokens) into a `RequestSpec`: the body in the endpoint's wire format
(anthropic_format.py for the Message Batches API, openai_format.py otherwise), its input tokens, exact
when the builder has a counter that still counts (tokenizer.py), and its output cap (contract.output_cap).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..core.vocabulary import FilePart
from . import anthropic_format, openai_format
from .contract import MESSAGE_FRAMING, output_cap, shared_prefix
from .tokenizer import Counter


@dataclass(frozen=True, slots=True)
class RequestSpec:
    custom_id: str
    model: str
    files: tuple[FilePart, ...]  # in the order the request shows them
    body: dict
    est_input_tokens: int
    max_output_tokens: int

    @property
    def path(self) -> str:
        return self.files[0].path


class RequestBuilder:
    """Builds the request bodies of one run for one model and endpoint."""

    def __init__(
        self,
        *,
        model: str,
        endpoint: str,
        instructions: str,
        max_output_tokens: int,
        max_input_tokens: int,
        reasoning_effort: str | None = None,
        temperature: float | None = None,
        summary: bool = False,
        count: Counter | None = None,
    ) -> None:
        self.model = model
        self.endpoint = endpoint
        self.prefix = shared_prefix(instructions, summary=summary)
        self.count = count
        self.prefix_exact = (count.fixed(self.prefix.system) + count.fixed(json.dumps(self.prefix.schema))
                             + MESSAGE_FRAMING) if count is not None else None
        self.max_output_tokens = max_output_tokens
        self.max_input_tokens = max_input_tokens
        self.effort = reasoning_effort
        self.temperature = temperature

    def body(self, user: str, max_output_tokens: int | None = None) -> dict:
        cap = max_output_tokens or self.max_output_tokens
        if self.endpoint == anthropic_format.ENDPOINT:  # the Message Batches API (provider anthropic)
            return anthropic_format.messages_params(
                model=self.model, system=self.prefix.system, schema=self.prefix.schema, user=user, cap=cap,
                reasoning_effort=self.effort, temperature=self.temperature)
        return openai_format.request_body(self.endpoint, model=self.model, prefix=self.prefix, user=user, cap=cap,
                                          reasoning_effort=self.effort, temperature=self.temperature)

    def spec(self, cid: str, user: str, files: tuple[FilePart, ...], tokens: int, *, read_only: int = 0) -> RequestSpec:
        """One request of `tokens` estimated input tokens, counted exactly instead when the builder has a
        counter that still counts; its output cap scales with them, less `read_only` (text the model
        only reads, such as the repository's rules: it asks for no more answer)."""
        exact = self.count(user) if self.count is not None else None
        if exact is not None:
            tokens = self.prefix_exact + exact
        cap = output_cap(max(0, tokens - read_only), self.max_output_tokens)
        return RequestSpec(custom_id=cid, model=self.model, files=files, body=self.body(user, cap),
                           est_input_tokens=tokens, max_output_tokens=cap)
