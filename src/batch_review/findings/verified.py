"""What the verify round changed, as the developer reads it (pure).

The review body says how many candidate findings the second look dropped and how many are posted
unverified (`verify_lines`, one line each, in the body's review lines); each unverified finding is marked
where it is shown (`mark_unverified`: the inline comment's note, the body entry's reason); the job summary
lists the dropped ones with the verifier's reasons (`dropped_summary`). Every reason is model text,
clipped and neutralised by markdown/safety.py like the findings themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..core.vocabulary import counted
from ..markdown import safety as ms

UNVERIFIED = "unverified: the second look returned no verdict for it"
MAX_REASON = 300


def verify_lines(report) -> list[str]:
    """The body's lines about the verify round (none when it did not run on this target)."""
    lines = []
    dropped = len(getattr(report, "refuted", ()))
    if dropped:
        lines.append(f"{dropped} candidate finding{'s were' if dropped != 1 else ' was'} checked and dropped "
                     "(the job summary and SARIF list them with the reasons).")
    unverified = getattr(report, "unverified", 0)
    if unverified:
        why = ms.escape(getattr(report, "unverified_why", "") or "the verify round did not finish")
        lines.append(f"{counted(unverified, 'finding')} {'is' if unverified == 1 else 'are'} posted unverified: {why}.")
    return lines


def mark_unverified(report, is_unverified: Callable[[object], bool]):
    """The report with each unverified finding marked: inline, in its comment's note; in the body, in its
    reason."""
    inline = [replace(c, note=f"{c.note}; {UNVERIFIED}" if c.note else UNVERIFIED) if is_unverified(c.finding)
              else c for c in report.inline]
    unplaced = [(f, f"{why} · {UNVERIFIED}" if is_unverified(f) else why) for f, why in report.unplaced]
    return replace(report, inline=inline, unplaced=unplaced)


def dropped_summary(report) -> list[str]:
    """The job summary's lines for the findings the verify round dropped, with the verifier's reasons."""
    out = []
    for f, reason in getattr(report, "refuted", ()):
        where = ms.code_span(ms.clip(f.path or "", 300)) + (f":{f.line}" if f.line else "")
        out.append(f"- dropped after a second look: **{ms.escape(f.severity)}** {where} — "
                   f"{ms.inline(ms.clip(f.title or '', 200))}: {ms.inline(ms.clip(reason or '(no reason given)', MAX_REASON))}")
    return out
