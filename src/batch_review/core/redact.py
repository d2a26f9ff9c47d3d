"""Secrets out of everything the tool prints or writes for people: one function, `redact`.

Two nets: the values registered as secrets (the OpenAI/Azure key and the GitHub token, whatever their
shape: `register` is called where they are read), and anything shaped like a credential (OpenAI `sk-…`
keys, GitHub `ghp_/gho_/ghu_/ghs_/ghr_…` and `github_pat_…` tokens, `Bearer …`, the value of an
`Authorization:`/`api-key:` header, a password in a URL). Every printing path goes through it: the log
lines and annotations, the job summary, step outputs, and the message of every service error.
Pure: no I/O; the registry is this process's memory only.
"""

from __future__ import annotations

import re

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
