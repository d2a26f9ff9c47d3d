"""The report's plot: recall against the severity threshold, one line per configuration (matplotlib, the
optional extra `eval`).

matplotlib is drawn through its object interface (Figure, no pyplot), so nothing global changes, and the
PNG is written without a timestamp or software tag: the same scores give the same file. Without
matplotlib the plot is skipped and the report says how to get it (`MISSING`).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

from ..core.vocabulary import SEVERITIES

FILENAME = "recall.png"
MISSING = "matplotlib is not installed; `pip install 'batch-review[eval]'` adds it"


def recall_plot(path: Path, series: Sequence[tuple[str, Sequence[Fraction | None]]]) -> str | None:
    """Draw `series` (label, recall at each threshold of SEVERITIES) to `path`. None when drawn, else why
    the plot was skipped."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return MISSING
    figure = Figure(figsize=(5.0, 3.2), dpi=100)
    axes = figure.add_subplot()
    positions = list(range(len(SEVERITIES)))
    for (label, values), marker in zip(series, ("o", "s", "^", "D"), strict=False):
        points = [(x, float(v)) for x, v in zip(positions, values, strict=True) if v is not None]
        if points:
            axes.plot([x for x, _ in points], [y for _, y in points], marker=marker, label=label)
    axes.set_xticks(positions, [f"≥ {s}" for s in SEVERITIES])
    axes.set_ylim(-0.05, 1.05)
    axes.set_xlabel("severity threshold")
    axes.set_ylabel("recall")
    axes.set_title("Cases caught, by the least severity counted")
    axes.grid(True, alpha=0.3)
    if len(series) > 1:
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, format="png", metadata={"Software": None})
    return None
