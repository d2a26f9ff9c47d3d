"""The only module that talks to OpenAI (or an OpenAI-compatible batch service): files and batches.

The official client retries connection errors, timeouts, 408, 409, 429 and 5xx with exponential backoff
and honours Retry-After; this module sets how many times and turns every failure into one BatchAPIError
line. That line keeps the status and at most the service's own short `error.message` (one line, clipped,
redacted), never the response body or headers: a service that echoes the request cannot leak the key
through us. Uploads are not retried blindly by us: a retried upload at worst leaves an unused file, which
submit deletes or reports.

Listings are bounded: batches and files are read newest first, only as far back as FILES_LIVE (the
30 days a batch-purpose file lives by default; an older batch's manifest copy is gone anyway), and at
most MAX_LIST_PAGES pages.
"""

from __future__ import annotations

import time
from pathlib import Path

import openai

from ..core.errors import BatchAPIError
from .base import DEFAULT_OPENAI_BASE_URL, BatchState, expired_only, service_failure

FILES_LIVE = 30 * 86400  # seconds a batch-purpose file lives by default (and the most expires_after allows)
MAX_LIST_PAGES = 50  # 5,000 batches: a listing never walks an organisation's whole history


__all__ = ["OpenAIBatches", "BatchState"]


def _fail(exc: Exception, what: str) -> BatchAPIError:
    return service_failure(openai, exc, what)


class OpenAIBatches:
    """providers.BatchProvider for OpenAI's Files and Batches API (and Azure OpenAI's)."""

    name = "openai"
    keeps_metadata = True  # batches are found again by their manifest's digest (find_by_metadata)

    def __init__(self, api_key: str | None, base_url: str | None = None, *, max_retries: int = 4,
                 timeout: float = 120.0, azure_api_version: str | None = None) -> None:
        """OpenAI or any compatible service at `base_url`; with `azure_api_version`, Azure OpenAI, where
        `base_url` is the resource endpoint (https://NAME.openai.azure.com)."""
        if not api_key:
            raise BatchAPIError("no OpenAI API key: set OPENAI_API_KEY (the action's openai-api-key input)",
                                transient=False)
        self.base_url = (base_url or DEFAULT_OPENAI_BASE_URL).rstrip("/")
        self.max_retries = max_retries
        if azure_api_version:
            self._client = openai.AzureOpenAI(api_key=api_key, azure_endpoint=self.base_url,
                                              api_version=azure_api_version, max_retries=max_retries,
                                              timeout=timeout)
        else:
            self._client = openai.OpenAI(api_key=api_key, base_url=self.base_url, max_retries=max_retries,
                                         timeout=timeout)

    def upload(self, path: Path) -> str:
        try:
            with open(path, "rb") as fh:
                return self._client.files.create(file=(path.name, fh, "application/jsonl"), purpose="batch").id
        except Exception as exc:  # noqa: BLE001 - one line per failure, whatever the cause
            raise _fail(exc, f"uploading {path.name}") from exc

    def upload_bytes(self, name: str, data: bytes, *, expires_after: int | None = None) -> str:
        """Upload `data` as a batch-purpose file (the one purpose whose content can be downloaded again);
        `expires_after` seconds from now, 3600 to 2592000, when given."""
        extra = {"expires_after": {"anchor": "created_at", "seconds": expires_after}} if expires_after else {}
        try:
            return self._client.files.create(file=(name, data, "application/jsonl"), purpose="batch", **extra).id
        except Exception as exc:  # noqa: BLE001
            raise _fail(exc, f"uploading {name}") from exc

    def create(self, input_file_id: str, endpoint: str, metadata: dict[str, str]) -> BatchState:
        """Create a batch exactly once. The client's own retries are off for this call: a create whose
        answer was lost may have happened, so before each retry the batches are searched for this one's
        metadata (manifest digest and part), and a batch found there is the answer."""
        client = self._client.with_options(max_retries=0)
        for attempt in range(self.max_retries + 1):
            try:
                batch = client.batches.create(
                    input_file_id=input_file_id, endpoint=endpoint, completion_window="24h", metadata=metadata
                )
                return _state(batch)
            except (openai.APIConnectionError, openai.InternalServerError, openai.RateLimitError) as exc:
                if attempt == self.max_retries:
                    raise _fail(exc, f"creating the batch for {input_file_id}") from exc
                time.sleep(_retry_after(exc) or min(8.0, 0.5 * 2**attempt))
                landed = [s for s in self.find_by_metadata(metadata.get("manifest_digest", ""))
                          if s.metadata.get("part") == metadata.get("part")]
                if landed:
                    return landed[0]
            except Exception as exc:  # noqa: BLE001
                raise _fail(exc, f"creating the batch for {input_file_id}") from exc
        raise AssertionError("unreachable")

    def vouches(self, state: BatchState, digest: str) -> bool:
        """The batch's metadata carries this manifest's digest."""
        return state.metadata.get("manifest_digest") == digest

    def results(self, state: BatchState, digest: str) -> tuple[str, str]:
        """The batch's output and error files, as the service wrote them."""
        output = self.download(state.output_file_id) if state.output_file_id else ""
        errors = self.download(state.error_file_id) if state.error_file_id else ""
        return output, errors

    resubmittable = staticmethod(expired_only)

    def retrieve(self, batch_id: str) -> BatchState:
        try:
            return _state(self._client.batches.retrieve(batch_id))
        except Exception as exc:  # noqa: BLE001
            raise _fail(exc, f"reading batch {batch_id}") from exc

    def find_by_metadata(self, digest: str) -> list[BatchState]:
        """Batches whose metadata carries this manifest digest (recovers ids a killed submit never wrote)."""
        return [s for s in self.recent_batches() if s.metadata.get("manifest_digest") == digest]

    def recent_batches(self, *, now: float | None = None) -> list[BatchState]:
        """Every batch created in the last FILES_LIVE seconds, newest first (at most MAX_LIST_PAGES pages)."""
        return [_state(b) for b in _newest(lambda: self._client.batches.list(limit=100), now, "listing batches")]

    def live_files(self, *, now: float | None = None) -> dict[str, int]:
        """id -> size in bytes of the batch-purpose files created in the last FILES_LIVE seconds."""
        first = lambda: self._client.files.list(purpose="batch", limit=10_000, order="desc")  # noqa: E731
        return {f.id: int(f.bytes or 0) for f in _newest(first, now, "listing files")}

    def cancel(self, batch_id: str) -> BatchState:
        try:
            return _state(self._client.batches.cancel(batch_id))
        except Exception as exc:  # noqa: BLE001
            raise _fail(exc, f"cancelling batch {batch_id}") from exc

    def download(self, file_id: str) -> str:
        try:
            return self._client.files.content(file_id).text
        except Exception as exc:  # noqa: BLE001
            raise _fail(exc, f"downloading file {file_id}") from exc

    def download_bytes(self, file_id: str) -> bytes:
        try:
            return self._client.files.content(file_id).content
        except Exception as exc:  # noqa: BLE001
            raise _fail(exc, f"downloading file {file_id}") from exc

    def file_info(self, file_id: str) -> tuple[str, int, str] | None:
        """(filename, bytes, purpose) of an uploaded file, or None when there is no such file."""
        try:
            f = self._client.files.retrieve(file_id)
        except openai.NotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001
            raise _fail(exc, f"reading file {file_id}") from exc
        return str(f.filename or ""), int(f.bytes or 0), str(f.purpose or "")

    def delete_file(self, file_id: str) -> None:
        try:
            self._client.files.delete(file_id)
        except openai.NotFoundError:
            return
        except Exception as exc:  # noqa: BLE001
            raise _fail(exc, f"deleting file {file_id}") from exc


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return min(60.0, float(value)) if value else None
    except ValueError:
        return None


def _state(batch) -> BatchState:
    counts = batch.request_counts.model_dump() if batch.request_counts else {}
    usage = batch.usage.model_dump() if getattr(batch, "usage", None) else None
    errors = [e.model_dump() for e in (batch.errors.data or [])] if batch.errors and batch.errors.data else []
    return BatchState(
        id=batch.id, status=batch.status, created_at=batch.created_at, expires_at=batch.expires_at,
        input_file_id=batch.input_file_id, output_file_id=batch.output_file_id,
        error_file_id=batch.error_file_id, metadata=dict(batch.metadata or {}), request_counts=counts,
        usage=usage, errors=errors, model=getattr(batch, "model", None),
        ended_at=batch.completed_at or batch.failed_at or batch.expired_at or batch.cancelled_at,
    )


def _newest(first_page, now: float | None, what: str) -> list:
    """The items of a newest-first listing created in the last FILES_LIVE seconds, at most MAX_LIST_PAGES
    pages read; `first_page()` asks for the first page."""
    since = (time.time() if now is None else now) - FILES_LIVE
    found = []
    try:
        page = first_page()
        for read in range(1, MAX_LIST_PAGES + 1):
            for item in page.data:
                if item.created_at < since:
                    return found
                found.append(item)
            if read == MAX_LIST_PAGES or not page.has_next_page():
                break
            page = page.get_next_page()
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc, what) from exc
    return found
