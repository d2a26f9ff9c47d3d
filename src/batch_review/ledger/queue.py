"""The provider's queue: how many input tokens of one model may wait on the batch service at once.

A batch service caps what an organization has queued. OpenAI counts the input tokens of a model's batches
in progress: a batch that would pass the limit is still created, then goes to `failed` with
errors.data[].code "token_limit_exceeded" (`queue_refused`), nothing of it run or billed. Anthropic caps
the batch requests in its processing queue and refuses the create with 429 (core.errors.QueueFull).
Neither is a failed review: the part goes out again at a later poll, from the manifest's own input.

`budget.max_enqueued_tokens` lets submit and poll send only what fits (`Queue`): a part is sent while the
input tokens of our own batches in progress, plus its own, stay within the limit for its model, counted
with the manifest's estimate (the budget guard's, `RequestRecord.est_input_tokens`). A part always goes
into an empty queue, so one part larger than the limit is never stuck behind itself. Without the key
every part is sent, and the service's refusals are what hold parts back. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .manifest import Manifest

QUEUE_CODES = frozenset({"token_limit_exceeded"})  # a batch failed for the queue, never run
IN_QUEUE = frozenset({"validating", "in_progress", "finalizing"})  # a batch holding its tokens in the queue


def queue_refused(state) -> bool:
    """Whether a batch (a providers.BatchState) failed because the provider's queue was full."""
    errors = state.errors if isinstance(state.errors, list) else []
    return state.status == "failed" and any(isinstance(e, dict) and isinstance(e.get("code"), str)
                                            and e["code"] in QUEUE_CODES for e in errors)


def part_tokens(m: Manifest) -> dict[int, int]:
    """Estimated input tokens of each batch part of the manifest."""
    tokens = dict.fromkeys(range(len(m.batches)), 0)
    for r in m.requests.values():
        if r.batch in tokens:
            tokens[r.batch] += max(0, int(r.est_input_tokens))
    return tokens


@dataclass
class Queue:
    """What this run may still put in the provider's queue, per model (`limit` None: no limit)."""

    limit: int | None = None
    held: dict[str, int] = field(default_factory=dict)  # model -> tokens of our batches in the queue

    def hold(self, model: str, tokens: int) -> None:
        """Count tokens already in the queue (a batch of ours in progress)."""
        self.held[model] = self.held.get(model, 0) + tokens

    def holding(self, m: Manifest, states: Iterable) -> None:
        """Count the manifest's batches that are in the queue (`states` in part order, None: not created)."""
        tokens = part_tokens(m)
        for index, state in enumerate(states):
            if state is not None and state.status in IN_QUEUE:
                self.hold(m.batches[index].model, tokens[index])

    def take(self, model: str, tokens: int) -> bool:
        """Whether a part of `tokens` for `model` fits now; if it does, it is counted as held."""
        held = self.held.get(model, 0)
        if self.limit is not None and held and held + tokens > self.limit:
            return False
        self.hold(model, tokens)
        return True

    def admits(self, m: Manifest):
        """A predicate for ledger.send: may batch part `index` of `m` be created now?"""
        tokens = part_tokens(m)
        return lambda index: self.take(m.batches[index].model, tokens[index])


def waiting_targets(m: Manifest, parts: Iterable[int]) -> set[str]:
    """The targets with a request in one of these parts (the ones waiting for the queue)."""
    wanted = set(parts)
    return {r.target for r in m.requests.values() if r.batch in wanted}
