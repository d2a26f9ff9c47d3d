"""Model text made inert for GitHub (pure).

Everything a model writes (titles, bodies, raw answers, refusals, suggestions, categories) and every string
from a manifest is hostile. GitHub renders comments with cmark-gfm and then links @mentions, issue
references (`#12`, `GH-12`, `owner/repo#12`, issue URLs) and URLs in the text. So model markdown is parsed
by cmark-gfm itself (cmarkgfm: GitHub's own parser, so what we check is what GitHub renders) and written
out again from the parse tree in a small safe subset we generate ourselves: paragraphs, lists, quotes,
emphasis, code spans and fenced code (a fence longer than any backtick run inside, so nothing closes it
early). Prose text is backslash-escaped (no link, image, HTML, heading, table or link-reference definition
can form) and a word joiner (U+2060, invisible) follows `@`, `#` before a digit, `GH-`, `www` and the `:` of
`://`, so no mention, reference or autolink survives. Raw HTML and HTML comments are shown as text. A
code block keeps its language unless GitHub would render it as something else (```suggestion, ```math,
```mermaid, maps, 3D models): then it is ```text. Any text is accepted: lone surrogates (valid in a JSON
answer) become U+FFFD, and no depth of nesting makes a function here recurse without bound.

markdown_check.check() then checks the composed body as GitHub renders it. Clip model text before
neutralizing, never after.
"""

from __future__ import annotations

import re
import string
import unicodedata

from .html import Comment, Node, UnreadableHTML, parse_html, render

JOINER = "\u2060"  # WORD JOINER: invisible, not a word character, breaks every pattern GitHub links
_KEEP = set(",'\"?;%/")  # ASCII punctuation that never starts markdown syntax
_ESCAPE = {c for c in string.punctuation if c not in _KEEP}
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_LINKED = [
    (re.compile(r"@"), "@" + JOINER),  # @user, .@user, x/@org/team, a@b.com, -@.x (an email autolink)
    (re.compile(r"#(?=[0-9])"), "#" + JOINER),  # #12, owner/repo#12
    (re.compile(r"(?i)(gh-)(?=[0-9])"), r"\1" + JOINER),  # GH-12
    (re.compile(r":(?=//)"), ":" + JOINER),  # https://…/issues/12 and every other URL
    (re.compile(r"(?i)(www)(?=\.)"), r"\1" + JOINER),  # www.example.com autolinks
]
_OUR_COMMENT = re.compile(r"<!--(?=\s*batch-review)", re.IGNORECASE)
_SURROGATE = re.compile("[\ud800-\udfff]")
# info strings GitHub renders as something other than code: a ```suggestion in an inline comment is a
# one-click change to the commented lines (only anchoring.suggestion_block may write one); the others draw
# math, diagrams, maps and 3D models from the block's text
_RENDERED_INFO = {"suggestion", "math", "mermaid", "geojson", "topojson", "stl"}
MAX_DEPTH = 12  # deeper nesting is flattened to text


def clip(text: str, limit: int | None) -> str:
    """The model's text cut to `limit` characters, marked; done BEFORE neutralizing."""
    if limit is None or len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + "…"


def _clean(text: str) -> str:
    """One kind of newline, no tab, no control or bidi character, and no lone surrogate (a JSON answer
    may spell one as \\ud800; it has no UTF-8 form, so it would stop the parser and the post)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    text = _SURROGATE.sub("\ufffd", text)
    return "".join(c for c in text if c == "\n" or (c not in _BIDI and unicodedata.category(c) != "Cc"))


def _unlink(text: str) -> str:
    for pattern, repl in _LINKED:
        text = pattern.sub(repl, text)
    return text


def escape(text: str) -> str:
    """Literal prose: every markdown character escaped, every GitHub link pattern broken. Callers drop
    the spaces that start a line, so no line can start a block."""
    return "".join("\\" + c if c in _ESCAPE else c for c in _unlink(_clean(text)))


def code_text(text: str) -> str:
    """Code shown verbatim, except that it may not spell one of our hidden markers."""
    return _OUR_COMMENT.sub("<!-" + JOINER + "-", _clean(text))


def _longest_run(text: str, ch: str = "`") -> int:
    return max((len(m.group()) for m in re.finditer(re.escape(ch) + "+", text)), default=0)


def code_span(text: str) -> str:
    """`text` as an inline code span that nothing inside can close."""
    text = code_text(text).replace("\n", " ")
    if not text:
        return ""
    ticks = "`" * (_longest_run(text) + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fence_of(code: str) -> str:
    """The backtick run that fences `code`: longer than any run inside, so no line of it closes the block
    (a fence closes on a run at least as long as the opening one), and at least three."""
    return "`" * max(3, _longest_run(code) + 1)


def fence(code: str, info: str = "", prefix: str = "") -> str:
    """A fenced code block that nothing inside can close, each line prefixed with `prefix` (list or quote
    indentation)."""
    code = code_text(code).rstrip("\n")
    ticks = fence_of(code)
    info = re.sub(r"[^A-Za-z0-9_+.#-]", "", info)[:30]
    info = "text" if info.lower() in _RENDERED_INFO else info
    lines = [f"{ticks}{info}"] + code.split("\n") + [ticks]
    return "\n".join((prefix + line).rstrip() if line else prefix.rstrip() for line in lines)


def literal(text: str, limit: int | None = None) -> str:
    """The model's text shown exactly as written (raw answers, refusals, suggestions out of place)."""
    return fence(clip(text, limit), "text")


def plain(text: str, limit: int | None = None, *, one_line: bool = False) -> str:
    """Plain text for fields GitHub does not render as markdown (annotation titles and messages, SARIF
    message.text): control characters dropped, mentions and markers broken, one line if asked, and at most
    `limit` characters in the end (breaking a mention adds one: the text is clipped shorter until it fits)."""
    cut = limit
    while True:
        out = _OUR_COMMENT.sub("<!-" + JOINER + "-", _unlink(_clean(clip(text, cut))))
        out = " ".join(out.split()) if one_line else out
        if limit is None or len(out) <= limit or cut <= 1:
            return out
        cut -= len(out) - limit


def as_text(text: str) -> str:
    """Model markdown as a reader sees it rendered, for fields GitHub shows as plain text (annotation
    messages and titles): the markup gone (`code` is code, **b** is b, [t](u) is t), code blocks kept as
    their lines, one block a paragraph. Still model text: `plain` makes it inert."""
    text = _clean(text or "")
    try:
        tree = parse_html(render(text))
    except UnreadableHTML:
        return text
    parts, stack = [], [tree.root]
    while stack:  # no recursion: 8,000 nested quotes are a valid answer
        node = stack.pop()
        if isinstance(node, str):
            parts.append("" if node == "\n" else node)  # the newline between two tags is no text
        elif isinstance(node, Node):
            if node.tag in _BLOCK:
                parts.append({"li": "\n- ", "tr": "\n", "div": "\n"}.get(node.tag, "\n\n"))
            if node.tag in ("th", "td"):
                stack.append(" ")  # after the cell's text: cells apart on their row
            stack.extend(reversed(node.children))
    lines = "".join(parts).split("\n")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in lines)).strip("\n")


# --- model markdown -> safe markdown -----------------------------------------------------------------------

_BLOCK = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "hr", "table",
          "thead", "tbody", "tr", "div"}


def _text_of(node) -> str:
    """All text under a node, however deep (no recursion: 8,000 nested quotes are a valid answer)."""
    parts, stack = [], [node]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, Comment):
            parts.append(f"<!--{node.text}-->")
        else:
            stack.extend(reversed(node.children))
    return "".join(parts)


def _is_block(node, depth: int = 0) -> bool:
    if not isinstance(node, Node):
        return False
    return node.tag in _BLOCK or (depth < MAX_DEPTH and any(_is_block(c, depth + 1) for c in node.children))


def _inline(node, depth: int = 0) -> str:
    """Safe inline markdown for a node of the parsed model text."""
    if isinstance(node, str):
        return escape(node)
    if isinstance(node, Comment):
        return escape(f"<!--{node.text}-->")
    if depth > MAX_DEPTH:
        return escape(_text_of(node))
    inner = "".join(_inline(c, depth + 1) for c in node.children)
    write = _INLINE_WRITERS.get(node.tag)
    text = write(node, inner) if write else None
    if text is not None:
        return text
    if node.tag in _BLOCK or node.tag in ("td", "th"):
        return inner
    # anything else came from raw HTML in the answer: shown as the text it is
    return escape(node.raw) + inner + (escape(node.end_raw) if node.end_raw else "")


def _emphasis(node: Node, inner: str) -> str:  # not ~~del~~: nested, it would start a line with a ~~~~ fence
    mark = "*" if node.tag == "em" else "**"
    return f"{mark}{inner}{mark}" if inner.strip() and inner == inner.strip() else inner


def _link(node: Node, inner: str) -> str:
    """The link's text, and its address as text when the text does not already show it."""
    href = node.attrs.get("href") or ""
    shown = _text_of(node).strip()
    return inner if not href or href in (shown, "http://" + shown, "mailto:" + shown) else (
        f"{inner} ({escape(href)})")


def _image(node: Node, inner: str) -> str:
    return escape(f"[image: {node.attrs.get('alt') or ''}] ({node.attrs.get('src') or ''})")


def _checkbox(node: Node, inner: str) -> str | None:
    if node.attrs.get("type") != "checkbox":
        return None  # any other <input> is raw HTML
    return escape("[x] " if "checked" in node.attrs else "[ ] ")


_INLINE_WRITERS = {"em": _emphasis, "strong": _emphasis, "a": _link, "img": _image, "input": _checkbox,
                   "code": lambda node, inner: code_span(_text_of(node)), "br": lambda node, inner: "\\\n"}


def _prefixed(lines: list[str], first: str, rest: str) -> list[str]:
    return [((first if i == 0 else rest) + line).rstrip() if line else "" for i, line in enumerate(lines)]


def _blocks(container: Node, depth: int = 0) -> list[list[str]]:
    """The container's children as blocks of safe markdown lines."""
    blocks: list[list[str]] = []
    pending: list = []

    def flush():
        text = "".join(_inline(n, depth + 1) for n in pending).strip("\n")
        pending.clear()
        if text.strip():
            blocks.append([line.lstrip(" ") for line in text.split("\n") if line.strip()])

    for child in container.children:
        if isinstance(child, str) and not child.strip() and not pending:
            continue
        if depth > MAX_DEPTH or not _is_block(child):
            pending.append(child)
            continue
        flush()
        blocks.extend(_block(child, depth + 1))
    flush()
    return blocks


def _block(node: Node, depth: int) -> list[list[str]]:
    write = _BLOCK_WRITERS.get(node.tag)
    if write:
        return write(node, depth)
    # raw HTML holding blocks (<details> … </details>): its tags shown as text around its content
    inner = _blocks(node, depth)
    return [[escape(node.raw)]] + inner + ([[escape(node.end_raw)]] if node.end_raw else [])


def _heading(node: Node, depth: int) -> list[list[str]]:
    text = " ".join(_inline(c, depth) for c in node.children).replace("\n", " ").strip()
    return [[f"**{text}**"]] if text else []


def _quote(node: Node, depth: int) -> list[list[str]]:
    lines = _join(_blocks(node, depth))
    return [[(">" + (" " + line if line else "")) for line in lines]] if lines else []


def _list(node: Node, depth: int) -> list[list[str]]:
    out: list[str] = []
    start = str(node.attrs.get("start") or "1")
    number = int(start) if start.isdigit() else 1
    for item in (c for c in node.children if isinstance(c, Node)):
        marker = "- " if node.tag == "ul" else f"{number}. "
        number += 1
        lines = _join(_blocks(item, depth)) or [""]
        out += _prefixed(lines, marker, " " * len(marker))
    return [out] if out else []


def _table(node: Node, depth: int) -> list[list[str]]:
    return [line for c in node.children if isinstance(c, Node) for line in _block(c, depth)]


def _row(node: Node, depth: int) -> list[list[str]]:
    cells = [" ".join(_inline(c, depth).split("\n")).strip() for c in node.children if isinstance(c, Node)]
    return [[" · ".join(cells)]]


_BLOCK_WRITERS = {
    "pre": lambda node, depth: [fence(_text_of(node), node.attrs.get("lang") or "").split("\n")],
    "hr": lambda node, depth: [["* * *"]],
    **dict.fromkeys(("h1", "h2", "h3", "h4", "h5", "h6"), _heading),
    "blockquote": _quote, "ul": _list, "ol": _list, "table": _table, "thead": _table, "tbody": _table,
    "tr": _row, "p": _blocks, "li": _blocks, "div": _blocks,
}


def _join(blocks: list[list[str]]) -> list[str]:
    out: list[str] = []
    for block in blocks:
        if out:
            out.append("")
        out.extend(block)
    return out


def block(text: str, limit: int | None = None) -> str:
    """Model markdown (a finding's body) as safe markdown: clipped first, then parsed by cmark-gfm and
    written out again in the safe subset."""
    text = _clean(clip(text or "", limit))
    if not text.strip():
        return ""
    try:
        tree = parse_html(render(text))
    except UnreadableHTML:
        return fence(text, "text")
    return "\n".join(_join(_blocks(tree.root)))


def inline(text: str, limit: int | None = None) -> str:
    """Model markdown that must stay on one line (titles, categories, messages): clipped, parsed, and
    flattened to safe inline markdown; code spans are kept."""
    text = " ".join(_clean(clip(text or "", limit)).split())
    if not text:
        return ""
    try:
        tree = parse_html(render(text))
    except UnreadableHTML:
        return code_span(text)
    parts = []
    for node in tree.root.children:
        parts.append(_flat(node))
    return " ".join(" ".join(parts).split())


def _flat(node, depth: int = 0) -> str:
    if isinstance(node, Node) and depth <= MAX_DEPTH and _is_block(node):
        if node.tag == "pre":
            return code_span(_text_of(node))
        return " ".join(_flat(c, depth + 1) for c in node.children if not (isinstance(c, str) and not c.strip()))
    return _inline(node, depth).replace("\\\n", " ").replace("\n", " ")
