"""A body built from units, fitted into GitHub's size limit and checked before it is posted (pure).

Units are the pieces of a body that must each keep their own blocks (the head, one per finding, one per
section entry; a compact section's entries are the items of its one list, one unit). `fit` adds section entries while they fit and lists what does not, one line a finding
(most severe first) while that fits and counted by severity after that, pointing to where the whole list
is. `compose_checked` joins the units under our leading marker comments, renders the result with GitHub's
parser (markdown_check) and, when the check fails, builds it again with every model text literal; when
that fails too, everything is shown as one literal block, cut to the limit with a note saying how much.
Whatever path is taken, the result is never longer than the limit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..core.vocabulary import SEVERITIES
from ..markdown import safety as ms
from ..markdown.check import check, unit_ranges
from .words import counted

OVERFLOW_ROOM = 3_000  # kept free for the "not shown here" lines
FULL_LIST = ("the poll run's job summary, the SARIF file (when `output.sarif_dir` is set) and, with "
             "`output.mode: both`, the check run")
LITERAL_INTRO = "This text is shown literally because it did not pass the markdown check.\n\n"


def counts_line(severities: Iterable[str]) -> str:
    """"2 critical, 5 low": most severe first."""
    counts = Counter(severities)
    return ", ".join(f"{counts[s]} {s}" for s in SEVERITIES[::-1] if counts[s])


class Lazy:
    """A list whose items are made when read: neutralizing thousands of findings that will not fit in a
    body would cost seconds each poll."""

    def __init__(self, items: Iterable, make: Callable[..., str]) -> None:
        self.items, self.make = list(items), make

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return (self.make(*x) for x in self.items)

    def __getitem__(self, index: slice) -> Lazy:
        return Lazy(self.items[index], self.make)


@dataclass
class Section:
    title: str
    entries: Lazy
    what: str  # "finding", "answer", …: the noun of the "not shown" count (words.counted)
    severities: list[str] | None = None  # per entry, for findings
    brief: Lazy | None = None  # per entry: one line, for findings that do not fit in full
    compact: bool = False  # entries are one-line list items, shown as one list (one unit)


def fit(units: list[str], secs: list[Section], budget: int) -> list[str]:
    """Head units, then each section's entries while they fit: each entry its own unit (no entry is a
    list item, or consecutive entries would merge into one list), or, in a compact section, each entry
    one item of the section's one list. What does not fit is listed one line a finding (most severe
    first) while that fits, and counted by severity after that."""
    units = list(units)
    size = sum(len(u) + 2 for u in units)
    left: list[tuple[Section, int]] = []
    for sec in secs:
        heading = f"### {sec.title}"
        shown = 0
        for entry in sec.entries:
            extra = len(entry) + (1 if sec.compact and shown else 2) + (len(heading) + 2 if shown == 0 else 0)
            if size + extra > budget - OVERFLOW_ROOM:
                break
            if shown == 0:
                units.append(heading)
            if sec.compact and shown:
                units[-1] += "\n" + entry
            else:
                units.append(entry)
            size += extra
            shown += 1
        if shown < len(sec.entries):
            left.append((sec, shown))
    if left:
        units.append(_overflow(left, budget - size - 2))
    return units


def _overflow(left: list[tuple[Section, int]], room: int) -> str:
    counts, brief = [], []
    room -= 400 + 200 * len(left)  # the heading, the count lines and the closing line
    for sec, shown in left:
        rest = len(sec.entries) - shown
        by = f" ({counts_line(sec.severities[shown:])})" if sec.severities else ""
        counts.append(f"- {sec.title}: {counted(rest, sec.what)} not shown in full{by}")
        listed = 0
        for line in sec.brief[shown:] if sec.brief is not None else ():
            if len(line) + 1 > room:
                break
            brief.append(line)
            room -= len(line) + 1
            listed += 1
        if sec.brief is not None and listed < rest:
            brief.append(f"- … {rest - listed} more ({counts_line(sec.severities[shown + listed:])})"
                         if sec.severities else f"- … {rest - listed} more")
    text = "### Not shown in full here: GitHub's size limit\n\n" + "\n".join(counts)
    if brief:
        text += "\n\nIn brief, most severe first:\n\n" + "\n".join(brief)
    return text + f"\n\nEvery finding is listed in {FULL_LIST}."


def compose_checked(leading: list[str], build: Callable[[bool], list[str]], limit: int,
                    links: tuple[str, ...]) -> str:
    """Units from build(literal) joined under the leading comment lines, rendered and checked; the
    literal form when the check fails, and one literal block as the last resort."""
    head = "\n".join(leading) + ("\n" if leading else "")
    for literal in (False, True):
        units = build(literal)
        text = head + "\n\n".join(units)
        if len(text) <= limit and not check(text, leading=len(leading), links=links,
                                            units=unit_ranges(units, len(leading) + 1)):
            return text
    return last_resort(leading, "\n\n".join(units), limit)


def last_resort(leading: list[str], visible: str, limit: int) -> str:
    """Everything as one literal block (it cannot render as anything but text), cut to the limit. The text
    is cleaned as the fence shows it before it is measured (a tab is shown as four spaces, the fence grows
    with the backtick runs inside), and the longest beginning that fits is kept."""
    head = "\n".join(leading) + ("\n" if leading else "") + LITERAL_INTRO
    code = ms.code_text(visible).rstrip("\n")

    def body(n: int) -> str:
        cut = len(code) - n
        return head + ms.fence(code[:n], "text") + (f"\n\n({cut:,} characters cut to fit GitHub's limit)" if cut else "")

    if len(body(len(code))) <= limit:
        return body(len(code))
    low, high = 0, min(len(code), limit)  # body(low) fits (our own head is short); body(high + 1) does not
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if len(body(mid)) <= limit else (low, mid - 1)
    return body(low)
