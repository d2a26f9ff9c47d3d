"""What a reader sees of a body GitHub renders: the text of cmark-gfm's HTML, word joiners removed."""

from __future__ import annotations

import html
import re

from batch_review.core.markers import Marker, read_marker
from batch_review.markdown import safety as ms


def visible(markdown: str) -> str:
    """The rendered text, whitespace collapsed (markup and the invisible word joiner removed)."""
    text = re.sub(r"</?(?:p|li|ul|ol|h\d|pre|blockquote|table|thead|tbody|tr|td|th|br|hr)\b[^>]*>", " ",
                  ms.render(markdown))
    text = re.sub(r"<[^>]*>", "", text)
    return " ".join(html.unescape(text).replace(ms.JOINER, "").split())


def shows(markdown: str, text: str) -> bool:
    return " ".join(text.split()) in visible(markdown)


def find_markers(text: str | None) -> list[Marker]:
    """[the marker that counts] or []: the test's way to say "no marker but ours"."""
    marker = read_marker(text)
    return [marker] if marker else []
