"""Token counts: the offline estimate every plan uses (pure), and exact o200k_base counts from tiktoken,
when it is installed and the encoding is on disk.

`estimate_tokens` is calibrated against o200k_base on the requests built from real release diffs (see
tests/planning/test_tokenizer.py); packing decisions always use it. `tokens_at_most` is the count not
to fall short of for text nobody tuned it on (a hostile repository's rules, capped in real tokens).

tiktoken finds an encoding in TIKTOKEN_CACHE_DIR, as a file named by the sha1 of the encoding's URL, and
downloads it when it is missing or its sha256 differs. Planning a review must never reach the network for
this, nor trust a file someone left there: the file is looked up and its sha256 checked here first, and
without TIKTOKEN_CACHE_DIR, tiktoken, or the right file, the count is None and the requests keep the
calibrated estimate. The Docker image fetches the file at build time, pinned by its sha256, and sets
TIKTOKEN_CACHE_DIR.

Counting is exact for the first EXACT_CHARS characters a run counts (a few dozen pull requests); past
that, the estimate: tiktoken reads about 6 MB a second, and a night with a million changed lines must
not spend more time counting its requests than reading its diff.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

ENCODING_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
ENCODING_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
CACHE_NAME = hashlib.sha1(ENCODING_URL.encode()).hexdigest()  # tiktoken's name for the cached file
EXACT_CHARS = 1_000_000

# Calibrated on o200k_base over the requests built from real release diffs (six PyPI packages): about
# 3.8 characters a token plus half a token a line, runs of indentation folded as the tokenizer folds
# them, and base64-like runs (keys, certificates, hashes) at 1.5 characters a token.
CHARS_PER_TOKEN = 3.8
TOKENS_PER_LINE = 0.5
DENSE_CHARS_PER_TOKEN = 1.5
DENSE_SPACES = 0.08  # a text with fewer spaces per character than this is searched for dense runs
_INDENT = re.compile(r"\n {4,}")
_DENSE = re.compile(r"[A-Za-z0-9+/]{32,}")


def estimate_tokens(text: str) -> int:
    """Offline estimate of a text's o200k_base tokens."""
    runs = _INDENT.findall(text)
    folded = sum(map(len, runs)) - 2 * len(runs)
    # base64 and the like have almost no spaces: only then is it worth looking for their runs
    dense = sum(len(m) for m in _DENSE.findall(text)) if text.count(" ") < len(text) * DENSE_SPACES else 0
    return int((len(text) - folded - dense) / CHARS_PER_TOKEN + dense / DENSE_CHARS_PER_TOKEN
               + text.count("\n") * TOKENS_PER_LINE) + 1


_WORDS = re.compile(r"[A-Za-z0-9\s]")


def tokens_at_most(text: str) -> int:
    """A count o200k_base does not exceed on any text a tokenizer was not tuned for (a hostile rules file):
    letters, digits and spaces as the estimate has them, any other ASCII character a token, any other
    character a token a UTF-8 byte (a byte-level tokenizer's worst: a rare ideograph of 4 bytes is 4), a
    \\u escape eight. English prose is about 1.5 times its count, other scripts up to 9 times: exact
    counts (the encoding on disk) do better."""
    extra_bytes = len(text.encode("utf-8", "surrogatepass")) - len(text)
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    words = len(_WORDS.findall(text))
    other = len(text) - non_ascii - words
    escapes = text.count("\\u") + text.count("\\U")
    return max(estimate_tokens(text), int(words / CHARS_PER_TOKEN + other + extra_bytes + non_ascii + 4 * escapes
                                          + text.count("\n") * TOKENS_PER_LINE) + 1)


class Counter(Protocol):
    """Exact token counts (`TokenCounter`): None once the run's counting budget is spent."""

    def __call__(self, text: str) -> int | None: ...

    def fixed(self, text: str) -> int: ...


class TokenCounter:
    """Counts with `encode` while the characters counted stay within `budget`; None past it."""

    def __init__(self, encode: Callable[[str], list[int]], budget: int = EXACT_CHARS) -> None:
        self.encode = encode
        self.left = budget

    def __call__(self, text: str) -> int | None:
        if len(text) > self.left:
            self.left = 0  # once over, the rest of the run is estimated alike
            return None
        self.left -= len(text)
        return len(self.encode(text))

    def fixed(self, text: str) -> int:
        """The count of text every request repeats (instructions, schema): outside the budget."""
        return len(self.encode(text))


def o200k_counter() -> TokenCounter | None:
    """A counter when tiktoken is installed and TIKTOKEN_CACHE_DIR holds the o200k_base file; else None."""
    folder = os.environ.get("TIKTOKEN_CACHE_DIR")
    if not folder:
        return None
    path = Path(folder) / CACHE_NAME
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != ENCODING_SHA256:
        return None  # tiktoken would download it again: not here
    try:
        import tiktoken

        # reads the file just checked (tiktoken checks the same sha256 again before using it)
        encoding = tiktoken.get_encoding("o200k_base")
    except (ImportError, ValueError, OSError):
        return None
    return TokenCounter(lambda text: encoding.encode(text, disallowed_special=()))
