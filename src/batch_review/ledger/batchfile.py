"""Batch input files: one JSONL line per request, split under the Batch API's limits.

A batch input file holds at most 50,000 requests and 200 MB, and one model; with `max_tokens`
(budget.max_enqueued_tokens) also at most that many estimated input tokens, so each part fits the
provider's queue on its own (ledger/queue.py). Lines are written straight to
disk as they are made, so a run of a million changed lines never holds its whole batch input in memory.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

MAX_REQUESTS_PER_FILE = 50_000
MAX_BYTES_PER_FILE = 200 * 1024 * 1024


def encode_line(custom_id: str, url: str, body: dict) -> bytes:
    """One batch input line: {"custom_id", "method", "url", "body"}, compact UTF-8 JSON, newline-ended."""
    line = json.dumps(
        {"custom_id": custom_id, "method": "POST", "url": url, "body": body},
        ensure_ascii=False, separators=(",", ":"),
    )
    # ensure_ascii=False keeps code readable and small; a lone surrogate is not valid UTF-8 (nor valid
    # JSON text for most parsers), so it becomes U+FFFD
    if _has_surrogates(line):
        line = line.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return line.encode() + b"\n"


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@dataclass(slots=True)
class BatchPart:
    """One input file: where it is, what it holds, and its digest."""

    index: int
    path: Path
    model: str
    endpoint: str
    requests: int = 0
    bytes: int = 0
    tokens: int = 0  # estimated input tokens of its requests
    custom_ids: list[str] = field(default_factory=list)
    _sha: object = field(default_factory=hashlib.sha256, repr=False)
    sha256: str = ""


class BatchFileWriter:
    """Writes lines into input-NNN.jsonl files under `directory`, opening a new file at each limit."""

    def __init__(self, directory: Path, *, max_requests: int | None = None, max_bytes: int | None = None,
                 max_tokens: int | None = None) -> None:
        self.directory = Path(directory)
        self.max_tokens = max_tokens
        self.max_requests = max_requests or MAX_REQUESTS_PER_FILE
        self.max_bytes = max_bytes or MAX_BYTES_PER_FILE
        self.parts: list[BatchPart] = []
        self._open: dict[tuple[str, str], tuple[BatchPart, object]] = {}

    def add(self, custom_id: str, model: str, endpoint: str, line: bytes, tokens: int = 0) -> int:
        """Append one encoded line (`tokens`: its estimated input tokens); returns the index of the part
        it went into."""
        if len(line) > self.max_bytes:
            raise ValueError(f"request {custom_id} is {len(line):,} bytes, over the batch file limit")
        key = (model, endpoint)
        entry = self._open.get(key)
        if entry is not None:
            part, _ = entry
            if (part.requests >= self.max_requests or part.bytes + len(line) > self.max_bytes
                    or (self.max_tokens is not None and part.tokens + tokens > self.max_tokens)):
                self._close(key)
                entry = None
        if entry is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            part = BatchPart(len(self.parts), self.directory / f"input-{len(self.parts):03d}.jsonl", model, endpoint)
            entry = (part, part.path.open("wb"))
            self.parts.append(part)
            self._open[key] = entry
        part, handle = entry
        handle.write(line)
        part._sha.update(line)
        part.requests += 1
        part.bytes += len(line)
        part.tokens += tokens
        part.custom_ids.append(custom_id)
        return part.index

    def _close(self, key: tuple[str, str]) -> None:
        part, handle = self._open.pop(key)
        handle.close()
        part.sha256 = part._sha.hexdigest()

    def close(self) -> list[BatchPart]:
        for key in list(self._open):
            self._close(key)
        return self.parts

    def discard(self) -> None:
        """Close and delete every file written (a run that submits nothing leaves nothing behind)."""
        self.close()
        for part in self.parts:
            part.path.unlink(missing_ok=True)
        self.parts = []
