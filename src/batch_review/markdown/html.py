"""GitHub's markdown parser and the HTML it renders, as a tree (pure).

cmarkgfm is the binding to cmark-gfm, the parser github.com renders comments with; rendering with the
GFM extensions and source positions gives the blocks, their source lines and any raw HTML exactly as
GitHub's parser sees them. html.parser turns that HTML into a small tree that records what was left open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

_UNSAFE = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_SOURCEPOS
_SAFE = Options.CMARK_OPT_SOURCEPOS


def render(markdown: str, *, unsafe: bool = True) -> str:
    """HTML as GitHub's parser produces it (GFM extensions)."""
    return cmarkgfm.github_flavored_markdown_to_html(markdown, _UNSAFE if unsafe else _SAFE)


VOID = {"br", "hr", "img", "input", "area", "base", "col", "embed", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict = field(default_factory=dict)
    children: list = field(default_factory=list)  # Node | str | Comment
    raw: str = ""  # the start tag as written
    closed: bool = False
    end_raw: str = ""


@dataclass
class Comment:
    text: str


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", closed=True)
        self.stack = [self.root]
        self.stray_end_tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), raw=self.get_starttag_text() or f"<{tag}>")
        self.stack[-1].children.append(node)
        if tag in VOID:
            node.closed = True
        else:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, dict(attrs), raw=self.get_starttag_text() or "", closed=True))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                self.stack[i].closed = True
                self.stack[i].end_raw = f"</{tag}>"
                del self.stack[i:]
                return
        self.stray_end_tags.append(tag)

    def handle_data(self, data):
        self.stack[-1].children.append(data)

    def handle_comment(self, data):
        self.stack[-1].children.append(Comment(data))

    def handle_decl(self, decl):
        self.stack[-1].children.append(f"<!{decl}>")

    def handle_pi(self, data):
        self.stack[-1].children.append(f"<?{data}>")

    def unknown_decl(self, data):  # "<![CDATA[x]]>" arrives as "CDATA[x", "<![if x]>" as "if x"
        self.stack[-1].children.append(f"<![{data}]]>" if "[" in data else f"<![{data}]>")


class UnreadableHTML(ValueError):
    pass


def parse_html(html: str) -> _Tree:
    tree = _Tree()
    try:
        tree.feed(html)
        tree.close()
    except (AssertionError, ValueError) as exc:  # html.parser gives up on some raw markup ("<![")
        raise UnreadableHTML(str(exc)) from exc
    return tree
