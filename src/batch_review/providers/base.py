"""The batch service as the journeys see it: one small interface, one module per provider (pure).

submit, poll, resume, resubmit and adoption talk to "the batch service" only through `BatchProvider`;
openai_batches.OpenAIBatches (OpenAI and Azure OpenAI) and anthropic_batches.AnthropicBatches (the Message
Batches API) implement it. A batch, whichever service runs it, is seen as a `BatchState` in OpenAI's
vocabulary of statuses (BATCH_PENDING and validating, in_progress, finalizing, cancelling,
completed, expired, cancelled, failed), and its results as output/error lines in the Batch API's format,
which results.py reads.

What differs between services, and where the interface says so:
- Staging the input. OpenAI uploads the input file (`upload` gives a file id the manifest records) and
  creates the batch from it. A service that takes the requests inline (Anthropic) stages them in the
  client: `upload` gives a local handle, `create` sends them.
- The manifest's copy (adoption.py). `upload_bytes` returns None when the service keeps no files: then
  no copy exists, and only the stored manifest leads to the batches.
- Ownership. `vouches(state, digest)` is False when the service's own record of a batch says it is not
  this manifest's (OpenAI: the digest in its metadata). A service without batch metadata checks it on
  the results instead: `results(state, digest)` refuses results that are not this manifest's requests.
- What goes out again. `resubmittable(result, status)`: the requests whose batch ended before they ran
  (expired), and for Anthropic also those that failed on the service's side (overloaded, api errors).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..core.errors import BatchAPIError, service_text

if TYPE_CHECKING:  # the records only: nothing here imports a client
    from ..findings.results import RequestResult

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_ANTHROPIC_BASE_URL = "https://api.anthropic.com"
# a batch in one of these states has not finished; every other state is final
BATCH_PENDING = frozenset({"validating", "in_progress", "finalizing", "cancelling"})


@dataclass(frozen=True)
class BatchState:
    id: str
    status: str
    created_at: int
    expires_at: int | None
    input_file_id: str
    output_file_id: str | None
    error_file_id: str | None
    metadata: dict
    request_counts: dict  # at least total, completed, failed (the status table's columns)
    usage: dict | None
    errors: list[dict]
    model: str | None
    ended_at: int | None = None  # when it finished (completed, failed, expired, cancelled); None while pending


@runtime_checkable
class BatchProvider(Protocol):
    """What the journeys call. Every failure is a BatchAPIError line (errors.py)."""

    name: str
    keeps_metadata: bool  # batches can be found again by their manifest's digest (find_by_metadata)

    def upload(self, path: Path) -> str:
        """Stage one batch input file (JSONL of {custom_id, method, url, body}); its id or handle."""

    def upload_bytes(self, name: str, data: bytes, *, expires_after: int | None = None) -> str | None:
        """Keep `data` on the service as a file that can be downloaded again; None when it keeps none."""

    def create(self, input_file_id: str, endpoint: str, metadata: dict[str, str]) -> BatchState:
        """Create the batch of a staged input exactly once, with the manifest's batch metadata."""

    def retrieve(self, batch_id: str) -> BatchState: ...

    def cancel(self, batch_id: str) -> BatchState: ...

    def vouches(self, state: BatchState, digest: str) -> bool:
        """False when the service's record of the batch names another manifest."""

    def results(self, state: BatchState, digest: str) -> tuple[str, str]:
        """(output lines, error lines) of a finished batch of the manifest with this digest, in the Batch
        API's line format."""

    def resubmittable(self, result: RequestResult, batch_status: str) -> bool:
        """Whether this request goes out again in a new batch (expired, or failed on the service's side)."""

    def find_by_metadata(self, digest: str) -> list[BatchState]:
        """Batches created for the manifest with this digest (ids a killed run never wrote); [] when the
        service keeps no metadata to find them by."""

    def recent_batches(self, *, now: float | None = None) -> list[BatchState]:
        """Batches of the last 30 days that may be ours (adoption); [] when none can be told ours."""

    def live_files(self, *, now: float | None = None) -> dict[str, int]: ...

    def download_bytes(self, file_id: str) -> bytes: ...

    def file_info(self, file_id: str) -> tuple[str, int, str] | None: ...

    def delete_file(self, file_id: str) -> None: ...


def expired_only(result: RequestResult, batch_status: str) -> bool:
    """OpenAI's rule of what goes out again: a request the batch's expiry stopped, in the error file as
    batch_expired or in neither file."""
    return (batch_status == "expired" and result.status in ("error", "missing")
            and result.error_code in ("batch_expired", None))


def service_failure(sdk: ModuleType, exc: Exception, what: str) -> BatchAPIError:
    """One line for a failed call through either SDK (openai and anthropic name their errors alike):
    the HTTP status and the service's own message, timeouts and connection failures, else the type."""
    if isinstance(exc, sdk.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        err = body.get("error", body)
        message = err.get("message") if isinstance(err, dict) else None
        said = f": {service_text(message)}" if isinstance(message, str) and message.strip() else ""
        return BatchAPIError(f"{what}: HTTP {exc.status_code}{said}", status=exc.status_code)
    if isinstance(exc, sdk.APITimeoutError):
        return BatchAPIError(f"{what}: timed out")
    if isinstance(exc, sdk.APIConnectionError):
        return BatchAPIError(f"{what}: cannot connect ({service_text(exc.__cause__ or exc)})")
    return BatchAPIError(f"{what}: {type(exc).__name__}: {service_text(exc)}")
