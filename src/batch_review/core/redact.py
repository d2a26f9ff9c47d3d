"""Secrets out of everything the tool prints or writes for people: one function, `redact`.

Two nets: the values registered as secrets (the OpenAI/Azure key and the GitHub token, whatever their
shape: `register` is called where they are read), and anything shaped like a credential (OpenAI `sk-…`
keys, GitHub `ghp_/gho_/ghu_/ghs_/ghr_…` and `github_pat_…` tokens, `Bearer …`, the value of an
`Authorization:`/`api-key:` header, a password in a URL). Every printing path goes through it: the log
lines and annotations, the job summary, step outputs, and the message of every service error.
Pure: no I/O; the registry is this process's memory only.

A base URL (a gateway's, a compatible service's) may carry credentials in its userinfo, its path (an
account id, a key in a segment) or its query (`?api-key=`). `url_origin` is the part that may be written
down (scheme, host, port); `url_secrets` lists the parts the caller registers and masks.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

MASK = "[redacted]"  # not GitHub's *** : that is emphasis in markdown (job summary, review bodies)
MIN_SECRET = 6  # a shorter registered value would blank ordinary words; token shapes still apply

_known: set[str] = set()

_SHAPES: tuple[tuple[re.Pattern, str], ...] = (
    # user:password@host; a scheme is tried only where a run of scheme characters starts, so a long run of
    # them is read once, not once per letter (seconds for a 20,000-character model answer)
    (re.compile(r"(?i)(?<![a-z0-9+.-])([0-9+.-]*[a-z][a-z0-9+.-]*://)[^\s/@:]*:[^\s/@]*@"), rf"\1{MASK}@"),
    # a header named like a credential, in a log line, a dump of headers or JSON: keep the name only
    (re.compile(r"""(?i)\b((?:proxy-)?authorization|x-api-key|api-key|openai-api-key|x-access-token)"""
                r"""(["']?\s*[:=]\s*["']?)(?!(?:(?:bearer|basic|token)\s+)?\[redacted\])"""
                r"""(?:(?:bearer|basic|token)\s+)?[^\s"',;}\]]+"""), rf"\1\2{MASK}"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{6,}"), f"Bearer {MASK}"),
    (re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{8,}"), f"sk-{MASK}"),
    (re.compile(r"(?<![A-Za-z0-9])(gh[pousr]_)[A-Za-z0-9]{8,}"), rf"\1{MASK}"),
    (re.compile(r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{8,}"), f"github_pat_{MASK}"),
)


def register(value: str | None) -> None:
    """Remember a secret (each line of it) so that `redact` removes it wherever it appears."""
    for line in (value or "").splitlines():
        line = line.strip()
        if len(line) >= MIN_SECRET:
            _known.add(line)


def redact(text: str) -> str:
    """`text` with every registered secret and every credential-shaped string replaced by [redacted]."""
    if not text:
        return text
    for secret in sorted(_known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


# --- URLs ----------------------------------------------------------------------------------------------------

# path segments and query values that name a service or a version, never a credential
_PLAIN = re.compile(r"(?i)v[0-9]+(?:(?:alpha|beta|preview)[0-9]*)?|[0-9]{4}-[0-9]{2}-[0-9]{2}(?:-[a-z]+)?"
                    r"|openai|anthropic|azure|deployments|compat(?:ible|ibility)?|gateway|proxy|chat|completions"
                    r"|responses|messages|batches|files|models|inference|serving|endpoints?|api|llm|ai")
_SECRET_NAME = re.compile(r"(?i)key|token|secret|sig|pass|auth|cred|session|code|account")


def url_origin(url: str) -> str:
    """scheme://host[:port] of `url`, lower-cased: what may be recorded. "" when it has no host (or an
    unreadable port), so nothing of a malformed URL is written down."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return ""
    if not parts.scheme or not host:
        return ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme.lower()}://{host}{f':{port}' if port is not None else ''}"


def _looks_secret(value: str) -> bool:
    """A value that may be a credential: long enough to register, and not a service's or a version's name."""
    return len(value) >= MIN_SECRET and not _PLAIN.fullmatch(value)


def url_secrets(url: str) -> list[str]:
    """The parts of `url` that may be credentials, each as written and percent-decoded, at least MIN_SECRET
    long: the URL itself; the userinfo, its user and password; every path segment that does not name a
    service or a version (and then the path); every query value whose name or shape says credential, the name=value
    pair and the whole query; the fragment."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return [url] if len(url) >= MIN_SECRET else []
    found = [url.strip()]
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    if userinfo:
        found += [userinfo, *userinfo.split(":", 1)]
    segments = [s for s in parts.path.split("/") if _looks_secret(unquote(s))]
    if segments:
        found += [parts.path, *segments]
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if v and (_SECRET_NAME.search(k) or _looks_secret(v))]
    if pairs or (parts.query and _SECRET_NAME.search(parts.query)):
        found.append(parts.query)
    for name, value in pairs:
        found += [f"{name}={value}", value]
    found.append(parts.fragment)
    out = dict.fromkeys(form for item in found for form in (item, unquote(item)) if len(form) >= MIN_SECRET)
    return list(out)
