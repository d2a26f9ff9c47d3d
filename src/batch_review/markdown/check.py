"""A composed body checked the way GitHub renders it (pure).

`check()` renders a body with cmark-gfm (GFM extensions, unsafe so raw HTML is visible; cmarkgfm is GitHub's
own parser) and lists what is wrong: a line of our leading block that is not one of our marker comments, a
unit (one finding, one section) whose blocks leak into another, an HTML comment other than our leading
markers, raw HTML, an element left open or an end tag without a start, an image, a link we did not make, a
mention, an issue reference, a bare URL or a link-reference definition. A link is ours only when its address
stays under one of the given prefixes however browsers and servers read it (links.py). An empty list means the body is
safe to post. A body nested deeper than the checker can walk fails the check (it is never ours).
"""

from __future__ import annotations

import re

from ..core.vocabulary import counted
from .html import Comment, Node, UnreadableHTML, parse_html, render
from .links import stays_under

_OUR_MARKER = re.compile(r"<!-- batch-review:[^<>]*-->")
_SOURCEPOS = re.compile(r"(\d+):(\d+)-(\d+):(\d+)")
_LIVE = (("mention", re.compile(r"(?:^|[^A-Za-z0-9_`])@[A-Za-z0-9]", re.IGNORECASE)),
         ("issue reference", re.compile(r"#[0-9]|(?i:\bgh-[0-9])")),
         ("URL", re.compile(r"(?i)(?<![a-z0-9+.-])[0-9+.-]*[a-z][a-z0-9+.-]*://|\bwww\.")))
# A scheme is tried only where a run of scheme characters starts (the lookbehind), so each run is read once:
# `[a-z][a-z0-9+.-]*://` alone tries every letter of a run again and takes seconds on 20,000 letters.
_REF_DEF = re.compile(r"^[ \t>*+\-0-9.)]*\[[^\]]*\]:")
_IGNORED_PARENTS = {"code", "pre", "a"}  # GitHub links nothing inside these
_MARKDOWN_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "code", "em",
                  "strong", "del", "a", "hr", "br", "table", "thead", "tbody", "tr", "th", "td", "input"}


def unit_ranges(units: list[str], first_line: int = 1, sep: str = "\n\n") -> list[tuple[int, int]]:
    """The line range (1-based, inclusive) of each unit of a body made as sep.join(units)."""
    ranges, line = [], first_line
    for unit in units:
        n = unit.count("\n") + 1
        ranges.append((line, line + n - 1))
        line += n + sep.count("\n") - 1
    return ranges


def check(body: str, *, leading: int = 0, units: list[tuple[int, int]] | None = None,
          links: tuple[str, ...] = ()) -> list[str]:
    """What is wrong with a composed body as GitHub will render it ([] when nothing is).

    leading: how many first lines are our own HTML comments (marker, fingerprints); units: line ranges
    that must each hold their own blocks; links: the URL prefixes our own links start with."""
    lines = body.split("\n")
    problems = [f"line {i + 1} is not one of our marker comments" for i in range(leading)
                if i >= len(lines) or not _OUR_MARKER.fullmatch(lines[i])]
    comments = render(body, unsafe=False).count("<!--")  # safe mode drops raw HTML: only comments are left
    if comments != leading:
        problems.append(f"{counted(comments - leading, 'piece')} of raw HTML or HTML comment besides ours")
    try:
        tree = parse_html(render(body))
    except UnreadableHTML as exc:
        return problems + [f"HTML that cannot be read: {exc}"]
    if tree.stray_end_tags:
        problems.append(f"end tags without a start: {sorted(set(tree.stray_end_tags))}")
    spans = _top_level(tree.root, leading, problems)
    code_lines: set[int] = set()
    try:
        _walk(tree.root, problems, code_lines, links)
    except RecursionError:  # our own subset nests a few levels; this deep is not ours: fail closed
        problems.append("blocks nested too deep to check")
    if units:
        problems += _unit_problems(units, spans)
    problems += [f"line {number} is a link reference definition" for number, line in enumerate(lines, start=1)
                 if number > leading and number not in code_lines and _REF_DEF.match(line)]
    return problems


def _span(node: Node) -> tuple[int, int] | None:
    m = _SOURCEPOS.fullmatch(node.attrs.get("data-sourcepos") or "")
    if not m:
        return None
    start, end, end_col = int(m.group(1)), int(m.group(3)), int(m.group(4))
    return start, (end - 1 if end_col == 0 and end > start else end)


def _top_level(root: Node, leading: int, problems: list[str]) -> list[tuple[int, int]]:
    """The source line spans of the top-level blocks; what is not a markdown block is a problem."""
    spans: list[tuple[int, int]] = []
    seen_comments = 0
    for child in root.children:
        if isinstance(child, Comment):
            seen_comments += 1
            if seen_comments > leading:
                problems.append("an HTML comment that is not ours")
        elif isinstance(child, str):
            if child.strip():
                problems.append(f"text outside any block (raw HTML): {child.strip()[:40]!r}")
        elif (span := _span(child)) is None:
            problems.append(f"<{child.tag}> outside markdown (raw HTML)")
        else:
            spans.append(span)
    return spans


def _walk(node: Node, problems: list[str], code_lines: set[int], links: tuple[str, ...],
          ignored: bool = False) -> None:
    for child in node.children:
        if isinstance(child, str):
            if not ignored:
                problems += _live(child)
        elif isinstance(child, Comment):
            if node.tag != "#root":
                problems.append("an HTML comment inside the text")
        else:
            problems += _element_problems(child, links)
            if child.tag == "pre" and (span := _span(child)):
                code_lines.update(range(span[0], span[1] + 1))
            _walk(child, problems, code_lines, links, ignored or child.tag in _IGNORED_PARENTS)


def _live(text: str) -> list[str]:
    """What GitHub would link in this text: a mention, an issue reference, a URL."""
    return [f"a live {name}: {text[max(0, m.start() - 10):m.end() + 10]!r}"
            for name, pattern in _LIVE if (m := pattern.search(text))]


def _element_problems(node: Node, links: tuple[str, ...]) -> list[str]:
    problems = []
    if not node.closed:
        problems.append(f"<{node.tag}> left open")
    if node.tag not in _MARKDOWN_TAGS:
        problems.append(f"raw HTML <{node.tag}>")
    if node.tag == "img":
        problems.append("an image")
    if node.tag == "a" and not any(stays_under(node.attrs.get("href") or "", p) for p in links if p):
        problems.append(f"a link we did not make: {node.attrs.get('href')!r}")
    return problems


def _unit_problems(units: list[tuple[int, int]], spans: list[tuple[int, int]]) -> list[str]:
    problems = []
    for start, end in spans:
        owner = next((i for i, (a, b) in enumerate(units) if a <= start <= b), None)
        if owner is None or end > units[owner][1]:
            problems.append(f"a block over lines {start}-{end} crosses the edge of a unit")
    return problems
