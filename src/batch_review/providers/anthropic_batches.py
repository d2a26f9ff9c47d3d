"""The only module that talks to Anthropic: the Message Batches API, through the official `anthropic` SDK.

It is a providers.BatchProvider. A batch is created from the JSON list of its requests, not from an
uploaded file: `upload` reads and stages a planned input file (our JSONL lines, whose bodies are already
the Messages API's params, anthropic_format.py) and `create` sends it, each custom_id mapped to one the
API accepts. Limits checked before sending: at most 100,000 requests and 256 MB a batch.

State: `processing_status` in_progress / canceling / ended becomes in_progress / cancelling / and, once
ended, cancelled (a cancel was asked), expired (some requests expired) or completed; `request_counts`
keeps the API's five counts and adds total, completed (succeeded) and failed (the rest).

What the API does not have, and what follows:
- No batch metadata and no downloadable files. A batch cannot be found again by its manifest's digest,
  and no copy of the manifest can be kept on the service: `find_by_metadata` and `recent_batches` find
  nothing, `upload_bytes` keeps nothing. So batches whose manifest was never stored are not adopted (no
  record on the service could prove them ours or tell where to post them); the stored manifest is the one
  way to them, which is why submit saves it before sending and the workflows upload it `if: always()`.
  A resubmitted batch's parent manifest is kept until the new manifest is seen in the store.
- Ownership is proven on the results instead: each custom_id carries the manifest's digest
  (anthropic_format.provider_id), and results that are none of the manifest's are refused.
- The processing queue. A create the service still refuses with 429 after the client's retries (its
  queue of batch requests is full, or the requests per minute are used) raises QueueFull: the part waits
  for a later poll (ledger/queue.py).
- No idempotency key. The SDK retries a create that failed with 408, 409, 429, 5xx or a lost
  connection; a create whose answer was lost after the batch was made leaves that batch running unseen
  (billed, never posted): the cost of one part, never a second posting.

Failures are one BatchAPIError line with the status and the service's short message (redacted), never
the response body or headers.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import anthropic

from ..core.errors import BatchAPIError, QueueFull
from ..planning import anthropic_format
from .base import DEFAULT_ANTHROPIC_BASE_URL, BatchState, service_failure


def _fail(exc: Exception, what: str) -> BatchAPIError:
    return service_failure(anthropic, exc, what)


class AnthropicBatches:
    """providers.BatchProvider for Anthropic's Message Batches API."""

    name = "anthropic"
    keeps_metadata = False  # no batch metadata: poll stores what it creates itself (resume.keep_resumed)

    def __init__(self, api_key: str | None, base_url: str | None = None, *, max_retries: int = 4,
                 timeout: float = 120.0) -> None:
        if not api_key:
            raise BatchAPIError("no Anthropic API key: set ANTHROPIC_API_KEY (the action's anthropic-api-key input)",
                                transient=False)
        self.base_url = (base_url or DEFAULT_ANTHROPIC_BASE_URL).rstrip("/")
        self._client = anthropic.Anthropic(api_key=api_key, base_url=self.base_url, max_retries=max_retries,
                                           timeout=timeout)
        self._staged: dict[str, list[tuple[str, dict]]] = {}

    # --- staging and creating ----------------------------------------------------------------------
    def upload(self, path: Path) -> str:
        """Read and stage a planned input file; a handle for `create` (nothing is sent)."""
        data = Path(path).read_bytes()
        items = []
        for number, raw in enumerate(data.splitlines(), start=1):
            if not raw.strip():
                continue
            line = json.loads(raw)
            if line.get("url") != anthropic_format.ENDPOINT or not isinstance(line.get("body"), dict):
                raise BatchAPIError(f"{Path(path).name} line {number}: not a Messages API request "
                                    f"({anthropic_format.ENDPOINT})", transient=False)
            items.append((str(line["custom_id"]), line["body"]))
        handle = f"staged-{hashlib.sha256(data).hexdigest()[:32]}"
        self._staged[handle] = items
        return handle

    @staticmethod
    def upload_bytes(name: str, data: bytes, *, expires_after: int | None = None) -> None:
        """The Message Batches API keeps no files: no manifest copy (see the module docstring)."""
        return None

    def create(self, input_file_id: str, endpoint: str, metadata: dict[str, str]) -> BatchState:
        items = self._staged.get(input_file_id)
        if items is None:
            raise BatchAPIError(f"creating a batch: {input_file_id} is not an input staged by this run", transient=False)
        digest = metadata["manifest_digest"]
        requests = [{"custom_id": anthropic_format.provider_id(digest, cid), "params": params} for cid, params in items]
        size = len(json.dumps({"requests": requests}, ensure_ascii=False).encode())
        if len(requests) > anthropic_format.MAX_REQUESTS or size > anthropic_format.MAX_BYTES:
            raise BatchAPIError(f"creating a batch: {len(requests):,} requests, {size:,} bytes is over the Message "
                                "Batches API's 100,000 requests or 256 MB", transient=False)
        what = f"creating the batch (part {metadata.get('part', '?')})"
        try:
            batch = self._client.messages.batches.create(requests=requests)
        except anthropic.RateLimitError as exc:  # still 429 after the client's retries: the queue is full
            raise QueueFull(f"{_fail(exc, what)}: the Message Batches queue is full; it goes out again at a "
                            "later poll", status=429) from exc
        except Exception as exc:  # noqa: BLE001 - one line per failure, whatever the cause
            raise _fail(exc, what) from exc
        return _state(batch)

    # --- batches -----------------------------------------------------------------------------------
    def retrieve(self, batch_id: str) -> BatchState:
        try:
            return _state(self._client.messages.batches.retrieve(batch_id))
        except Exception as exc:  # noqa: BLE001
            raise _fail(exc, f"reading batch {batch_id}") from exc

    def cancel(self, batch_id: str) -> BatchState:
        try:
            return _state(self._client.messages.batches.cancel(batch_id))
        except Exception as exc:  # noqa: BLE001
            raise _fail(exc, f"cancelling batch {batch_id}") from exc

    @staticmethod
    def vouches(state: BatchState, digest: str) -> bool:
        """No batch metadata to refute it: ownership is checked on the results (`results`)."""
        return True

    def results(self, state: BatchState, digest: str) -> tuple[str, str]:
        """The batch's results stream as Batch API output and error lines, custom_ids mapped back."""
        try:
            with self._client.messages.batches.with_streaming_response.results(state.id) as response:
                text = response.read().decode("utf-8", "replace")
        except Exception as exc:  # noqa: BLE001
            raise _fail(exc, f"reading the results of batch {state.id}") from exc
        return anthropic_format.result_files(text, digest, state.id)

    @staticmethod
    def resubmittable(result, batch_status: str) -> bool:
        return anthropic_format.resubmittable(result.status, result.error_code, batch_status)

    # --- what the API does not keep ----------------------------------------------------------------
    @staticmethod
    def find_by_metadata(digest: str) -> list[BatchState]:
        return []

    @staticmethod
    def recent_batches(*, now: float | None = None) -> list[BatchState]:
        return []

    @staticmethod
    def live_files(*, now: float | None = None) -> dict[str, int]:
        return {}

    @staticmethod
    def download_bytes(file_id: str) -> bytes:
        raise BatchAPIError(f"the Message Batches API keeps no files: {file_id} cannot be downloaded", transient=False)

    @staticmethod
    def file_info(file_id: str) -> None:
        return None

    def delete_file(self, file_id: str) -> None:
        self._staged.pop(file_id, None)


def _state(batch) -> BatchState:
    counts = batch.request_counts.model_dump()
    counts = {k: int(counts.get(k) or 0) for k in ("processing", "succeeded", "errored", "canceled", "expired")}
    if batch.processing_status == "in_progress":
        status = "in_progress"
    elif batch.processing_status == "canceling":
        status = "cancelling"
    elif batch.cancel_initiated_at is not None:
        status = "cancelled"
    else:
        status = "expired" if counts["expired"] else "completed"
    counts.update(total=sum(counts.values()), completed=counts["succeeded"],
                  failed=counts["errored"] + counts["canceled"] + counts["expired"])
    return BatchState(
        id=batch.id, status=status, created_at=int(batch.created_at.timestamp()),
        expires_at=int(batch.expires_at.timestamp()) if batch.expires_at else None, input_file_id="",
        output_file_id=None, error_file_id=None,
        metadata={}, request_counts=counts, usage=None, errors=[], model=None,
        ended_at=int(batch.ended_at.timestamp()) if batch.ended_at else None,
    )
