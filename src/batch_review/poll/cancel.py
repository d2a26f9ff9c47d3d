"""The cancel journey: the batches named, or every batch a pending manifest records, asked to stop.

A batch that is still validating, running or finalizing is cancelled; one already cancelling, finished,
failed or expired is left as it is and only reported. Requests completed before the stop are billed
either way, and poll posts their results once the cancellation has finished (the manifests stay).
Takes the batch client and the store's listing as objects; returns one row per batch for present.py.
"""

from __future__ import annotations

from ..ledger.store import Listing
from ..providers.base import BATCH_PENDING, BatchProvider


def pending_batch_ids(listing: Listing) -> list[str]:
    """Every created batch the pending manifests record, in listing order."""
    return [b.id for p in listing.pending for b in p.manifest.batches if b.id]


def cancel_batches(client: BatchProvider, batch_ids: list[str]) -> list[list]:
    """[batch, status, completed, failed, total] per batch (each named once), after asking it to stop."""
    rows = []
    for batch_id in dict.fromkeys(batch_ids):
        state = client.retrieve(batch_id)
        if state.status in BATCH_PENDING - {"cancelling"}:
            state = client.cancel(batch_id)
        counts = state.request_counts or {}
        rows.append([batch_id, state.status, counts.get("completed", 0), counts.get("failed", 0),
                     counts.get("total", 0)])
    return rows
