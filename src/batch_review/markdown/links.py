"""Where a link really goes: whether an address stays under one of our prefixes however it is read (pure).

A link's address is hostile when any part of it came from a pull request or a model (a file name, a path
the model chose). Browsers and servers rewrite an address before they follow it, so a prefix check on
the text alone proves nothing: `blob/<sha>/src/app.py%20…%20/../../../../attacker/phish/issues/1` starts
with `blob/<sha>/` and opens another repository's issue. `stays_under` reads the address the way the most
generous reader would and refuses it when any reading could leave the prefix:

- the WHATWG URL parser (browsers): every tab and newline removed, leading and trailing spaces and C0
  controls stripped, `\\` read as `/` in http(s) URLs, `.`, `..` and their `%2e` spellings
  (`.%2e`, `%2E.`, `%2e%2e`) taken as dot segments and resolved (RFC 3986 section 5.2.4);
- servers and proxies that decode the path before routing, once or again (`%2f` and `%5c` become
  separators, `%252e` becomes `.`), that treat `;…` as segment parameters (`..;x`) or fold compatibility
  characters (NFKC: `．．` is `..`).

So the whole path (after the host) is percent-decoded until it no longer changes, `\\` read as `/`, and no
segment may be empty, all dots (after NFKC, parameters and surrounding spaces dropped), or hold a control
character; no query is allowed; the fragment is free (it never leaves the page). Links we make are
`quote()`d file names under `…/blob/<sha>/`, which pass unless the name itself is hostile.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

_C0_OR_SPACE = "".join(chr(i) for i in range(0x21))
_TAB_OR_NEWLINE = str.maketrans("", "", "\t\n\r")
MAX_DECODES = 8  # an address still changing after this many decodings is no address we make


def as_followed(href: str) -> str:
    """The address as the WHATWG parser starts reading it: no tab or newline anywhere, no leading or
    trailing space or C0 control."""
    return href.translate(_TAB_OR_NEWLINE).strip(_C0_OR_SPACE)


def decoded(path: str) -> str | None:
    """The path percent-decoded until it stops changing, `\\` as `/`; None if it never stops."""
    for _ in range(MAX_DECODES):
        once = unquote(path, errors="replace")
        if once == path:
            return path.replace("\\", "/")
        path = once
    return None


def plain_segment(segment: str) -> bool:
    """A segment no reader takes as `.` or `..`, empty, or as holding a control character."""
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in segment):
        return False
    core = unicodedata.normalize("NFKC", segment).partition(";")[0].strip()
    return bool(core.strip("."))


def stays_under(href: str, prefix: str) -> bool:
    """Whether `href` starts with `prefix` (an absolute http(s) URL ending in `/`) and no reading of it
    leaves the prefix or walks above any of its own segments."""
    href = as_followed(href).partition("#")[0]
    if not prefix.endswith("/") or not href.startswith(prefix) or "?" in href:
        return False
    whole = decoded(urlsplit(href).path)
    return whole is not None and all(plain_segment(s) for s in whole.split("/")[1:])
