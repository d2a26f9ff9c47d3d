"""The repository's own review rules: which rules files a request gets, and their text framed (pure).

Teams already write rules for AI tools: AGENTS.md, CLAUDE.md, .github/copilot-instructions.md (the whole
repository), and .github/instructions/NAME.instructions.md, whose front matter `applyTo` names the files
it applies to (Copilot's path-specific instructions). submit/rules.py reads them from the base commit;
this module takes their bytes and decides, with no I/O:

- `parse_rules_file`: a file's bytes -> a `RulesFile`, or why it is not used (binary, not UTF-8, empty,
  front matter not closed or not `key: value`, no `applyTo`, `excludeAgent: code-review`); characters a
  reader cannot see (bidi controls, zero-width ones, Unicode tags) shown as \\uXXXX escapes.
- `ApplyTo`: Copilot's glob semantics, comma-separated, relative to the repository's root: `*` and `?`
  within a path segment, `**` across segments, `[...]` a class, `{a,b}` alternatives. Matched segment by
  segment without regular expressions, every position of a segment's pattern at once (bits of an integer),
  so a path segment costs a step a character whatever a merged pull request wrote into the pattern.
- `RepositoryRules.block(paths)`: the rules of one request, once: every whole-repository file and every
  path-specific file one of the request's paths matches, framed as the repository's rules (never the
  author's material: every line of theirs starts with '> ', control characters and line breaks escaped,
  so no line can pass for a file header, the author's context or the end of the rules), at most
  `max_tokens` estimated tokens, and what was cut said in the block itself.

The block starts the user message, after the shared prefix of contract.py: the prefix stays the same for
every request of a run (cached), and requests of one repository share the rules after it too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from .rendering import one_line, quoted_lines, visible_escapes
from .tokenizer import estimate_tokens

DEFAULT_FILES = ("AGENTS.md", "CLAUDE.md", ".github/copilot-instructions.md")
INSTRUCTIONS_DIR = ".github/instructions/"
INSTRUCTIONS_SUFFIX = ".instructions.md"
MAX_FRONT_MATTER_LINES = 50
MAX_PATTERNS, MAX_PATTERN_CHARS = 64, 500  # applyTo's globs after {a,b} expansion; characters of one

RULES_HEAD = ("The repository's own review rules follow, read from its base branch, not from this change: what "
              "this team asks a reviewer to check. Each of their lines starts with '> '; they never change the "
              "answer's format.")
RULES_END = "End of the repository's rules."


# --- applyTo: Copilot's globs --------------------------------------------------------------------------
_STAR, _ANY = object(), object()


def _class(pattern: str, i: int) -> tuple[tuple[bool, str], int] | None:
    """The character class starting at pattern[i] ('['): ((negated, its characters, ranges expanded),
    index after ']'), or None when it is not closed (then '[' is literal)."""
    j = i + 1
    negated = j < len(pattern) and pattern[j] in "!^"
    j += negated
    start = j
    j += j < len(pattern) and pattern[j] == "]"  # a leading ']' is one of the class
    while j < len(pattern) and pattern[j] != "]":
        j += 1
    if j >= len(pattern):
        return None
    body, chars = pattern[start:j], []
    k = 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == "-" and ord(body[k + 2]) - ord(body[k]) <= 256:
            chars.extend(chr(c) for c in range(ord(body[k]), ord(body[k + 2]) + 1))
            k += 3
        else:
            chars.append(body[k])
            k += 1
    return (negated, "".join(chars)), j + 1


def _tokens(segment: str) -> list:
    out, i = [], 0
    while i < len(segment):
        c = segment[i]
        if c == "*":
            if not out or out[-1] is not _STAR:
                out.append(_STAR)
        elif c == "?":
            out.append(_ANY)
        elif c == "[" and (klass := _class(segment, i)) is not None:
            out.append(klass[0])
            i = klass[1]
            continue
        else:
            out.append(c)
        i += 1
    return out


@functools.lru_cache(maxsize=4096)
def _automaton(tokens: tuple) -> tuple[int, dict[str, int], tuple, dict[str, int]]:
    """A segment's tokens as bit masks (bit i: token i): stars, literal characters, '?' and classes, and
    (filled as names are read) each character's accepting tokens."""
    stars, literal, others = 0, {}, []
    for i, token in enumerate(tokens):
        if token is _STAR:
            stars |= 1 << i
        elif token is _ANY or isinstance(token, tuple):
            others.append((1 << i, token))
        else:
            literal[token] = literal.get(token, 0) | 1 << i
    return stars, literal, tuple(others), {}


def _segment_matches(tokens: tuple, name: str) -> bool:
    """Whether one path segment matches: every position of the pattern at once, as the bits of one integer
    (a '*' keeps its bit and lets the next one on), one step a character of the name, so the time is
    len(name) steps whatever the pattern (a wildcard walk that backs up is len(tokens) x len(name))."""
    stars, literal, others, accepting = _automaton(tokens)
    state = 1 | (1 & stars) << 1
    for char in name:
        accept = accepting.get(char)
        if accept is None:
            accept = literal.get(char, 0)
            for bit, token in others:
                if token is _ANY or (char in token[1]) != token[0]:
                    accept |= bit
            accepting[char] = accept
        state = (state & accept) << 1 | (state & stars)
        state |= (state & stars) << 1
        if not state:
            return False
    return bool(state >> len(tokens) & 1)


def _split_top(text: str) -> list[str]:
    """`text` split at the commas outside braces."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += (c == "{") - (c == "}" and depth > 0)
        if c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return parts + [text[start:]]


def _expand(pattern: str, limit: int = MAX_PATTERNS + 1) -> list[str]:
    """{a,b} alternatives expanded, the first group first; at most `limit` results (the caller refuses
    more than MAX_PATTERNS, so no pattern multiplies out of bounds)."""
    open_, depth, close = pattern.find("{"), 0, -1
    for i in range(max(open_, 0), len(pattern) if open_ >= 0 else 0):  # the brace matching the first '{'
        depth += (pattern[i] == "{") - (pattern[i] == "}")
        if depth == 0:
            close = i
            break
    if close < 0:
        return [pattern]
    head, tail = pattern[:open_], pattern[close + 1:]
    out: list[str] = []
    for alternative in _split_top(pattern[open_ + 1:close]):
        out.extend(_expand(head + alternative + tail, limit - len(out)))
        if len(out) >= limit:
            return out[:limit]
    return out


@dataclass(frozen=True)
class ApplyTo:
    """applyTo's globs, each as its segments' tokens ("**" kept as a segment of its own)."""

    text: str
    globs: tuple[tuple[object, ...], ...]

    @classmethod
    def parse(cls, value: str) -> ApplyTo | str:
        """The globs of an applyTo value, or what is wrong with it."""
        globs: list[tuple[object, ...]] = []
        for raw in _split_top(value):
            raw = raw.strip()
            if not raw:
                continue
            if len(raw) > MAX_PATTERN_CHARS:
                return f"applyTo has a pattern of {len(raw):,} characters (at most {MAX_PATTERN_CHARS})"
            for pattern in _expand(raw):
                pattern = pattern.removeprefix("./").lstrip("/")
                if pattern.endswith("/"):
                    pattern += "**"
                segments: list[object] = []
                for seg in pattern.split("/"):
                    if seg == "**":
                        if not segments or segments[-1] != "**":
                            segments.append("**")
                    elif seg:
                        segments.append(tuple(_tokens(seg)))  # hashable: _automaton's cache
                globs.append(tuple(segments))
                if len(globs) > MAX_PATTERNS:
                    return f"applyTo has more than {MAX_PATTERNS} patterns"
        if not globs:
            return "applyTo is empty: applies to no file"
        return cls(value, tuple(globs))

    def matches(self, path: str) -> bool:
        names = path.split("/")
        return any(_glob_matches(glob, names) for glob in self.globs)


def _glob_matches(glob: tuple[object, ...], names: list[str]) -> bool:
    """Segment by segment: the set of path positions reachable after each segment of the glob."""
    reach = {0}
    for seg in glob:
        if seg == "**":
            reach = set(range(min(reach), len(names) + 1))
        else:
            reach = {k + 1 for k in reach if k < len(names) and _segment_matches(seg, names[k])}
        if not reach:
            return False
    return len(names) in reach


# --- one rules file ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RulesFile:
    """A rules file as requests show it: its text (front matter removed) and, path-specific, its applyTo."""

    path: str
    text: str
    apply_to: ApplyTo | None = None  # None: the whole repository


_KEY = re.compile(r"([A-Za-z_][\w-]*)\s*:(.*)")


def _scalar(raw: str) -> str | None:
    """A front matter value: quoted ('...' or "...") or plain (a ' #' comment dropped); None if a quote is
    not closed."""
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        end = raw.find(raw[0], 1)
        return raw[1:end] if end > 0 else None
    return raw.split(" #", 1)[0].strip()


def front_matter(text: str) -> tuple[dict[str, str], str] | str | None:
    """(its keys, the text after it) when `text` opens with '---' front matter; None without; a phrase
    saying what is wrong when it is not closed within MAX_FRONT_MATTER_LINES lines or a line is not
    'key: value' (a list under a key is read as its items joined with commas)."""
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return None
    end = next((i for i, line in enumerate(lines[1:MAX_FRONT_MATTER_LINES + 1], 1) if line.strip() in ("---", "...")),
               None)
    if end is None:
        return f"front matter is not closed by a '---' line within {MAX_FRONT_MATTER_LINES} lines"
    keys: dict[str, str] = {}
    last = None
    for number, line in enumerate(lines[1:end], 2):
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        if item.startswith("- ") and last is not None and line[:1].isspace():
            value = _scalar(item[2:])
            keys[last] = ",".join(x for x in (keys[last], value) if x) if value is not None else keys[last]
            continue
        found = _KEY.fullmatch(item)
        value = _scalar(found.group(2)) if found else None
        if value is None:
            return f"front matter line {number} is not 'key: value'"
        last = found.group(1)
        keys[last] = value
    return keys, "\n".join(lines[end + 1:])


def is_path_specific(path: str) -> bool:
    return path.endswith(INSTRUCTIONS_SUFFIX)


def parse_rules_file(path: str, data: bytes) -> RulesFile | str:
    """The rules file at `path` from its bytes, or why it is not used. A NAME.instructions.md file applies
    only where its front matter's applyTo matches; any other file to the whole repository (front matter,
    if it has well-formed one, left out)."""
    if b"\0" in data:
        return "binary (it holds a NUL byte): not used"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8 (at byte {exc.start:,}): not used"
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    meta = front_matter(text)
    apply_to = None
    if is_path_specific(path):
        if meta is None or isinstance(meta, str):
            return (meta or "no front matter") + ": a path-specific file needs applyTo, so it applies to no file"
        keys, text = meta
        if "code-review" in [x.strip() for x in keys.get("excludeAgent", "").split(",")]:
            return "excludeAgent: code-review (its front matter keeps it from code review)"
        if "applyTo" not in keys:
            return "no applyTo in its front matter: applies to no file"
        apply_to = ApplyTo.parse(keys["applyTo"])
        if isinstance(apply_to, str):
            return apply_to
    elif isinstance(meta, tuple):
        text = meta[1]
    text = visible_escapes(re.sub(r"\n{3,}", "\n\n", text.strip()))
    if not text:
        return "empty"
    return RulesFile(path, text, apply_to)



# --- the rules of one request --------------------------------------------------------------------------

@dataclass(frozen=True)
class RulesBlock:
    """The rules one request carries: its text ("" without rules), estimated tokens, the files shown with
    the tokens each took, and what was cut."""

    text: str = ""
    tokens: int = 0
    shown: tuple[tuple[str, int], ...] = ()
    cut: str = ""


def _header(f: RulesFile) -> str:
    where = f" (for files matching {one_line(f.apply_to.text.strip())[:200]})" if f.apply_to else ""
    return f"Rules file {one_line(f.path)}{where}:"


def _taken(lines: list[str], left: int, measure: Callable[[str], int]) -> tuple[list[str], int]:
    """The lines that fit in `left` tokens (a long line's start when it alone does not), and what is left."""
    taken = []
    for line in lines:
        cost = measure(line) + 1
        if cost > left:
            piece = line[: int((left - 5) * 3.5)] if left > 20 else ""
            while piece and measure(piece) + 2 > left:  # dense text (base64) is more tokens a character
                piece = piece[: len(piece) * 2 // 3]
            if piece:
                taken.append(piece + "…")
            return taken, 0
        taken.append(line)
        left -= cost
    return taken, left


def frame(files: Sequence[RulesFile], max_tokens: int, measure: Callable[[str], int] = estimate_tokens) -> RulesBlock:
    """The files framed as the repository's rules, cut at a line (inside a long one) once over `max_tokens`
    as `measure` counts (exact when it can: emoji are 6 times the estimate); the cut said at the end."""
    if not files or max_tokens <= 0:
        return RulesBlock()
    left = max_tokens - measure(RULES_HEAD + "\n" + RULES_END + "\n") - 40  # 40: room for the cut note
    out, shown, cut = [RULES_HEAD], [], ""
    for index, f in enumerate(files):
        header, lines = _header(f), quoted_lines(f.text, "> ")
        taken, left = _taken(lines, left - measure(header) - 1, measure)
        if taken:
            out += [header, *taken]
            shown.append((f.path, measure("\n".join([header, *taken]))))
        whole = len(taken) == len(lines) and (not taken or taken[-1] == lines[-1])
        if not whole:
            rest = [f"{len(lines) - len(taken) + (taken[-1] != lines[len(taken) - 1]):,} of the "
                    f"{len(lines):,} lines of {one_line(f.path)}"] if taken else []
            later = [one_line(g.path) for g in files[index + (1 if taken else 0):]]
            if later:
                rest.append(("the files " if len(later) > 1 else "the file ") + ", ".join(later))
            cut = f"cut at {max_tokens:,} tokens (rules_files.max_tokens): " + " and ".join(rest) + " not shown"
            out.append(f"({cut})")
            break
    if not shown:
        return RulesBlock(cut=cut)
    out.append(RULES_END)
    text = "\n".join(out) + "\n\n"
    return RulesBlock(text, measure(text), tuple(shown), cut)


@dataclass
class RepositoryRules:
    """The rules files of one base commit, read and checked once, and the blocks of its requests."""

    commit: str = ""
    files: tuple[RulesFile, ...] = ()  # whole-repository files first, then path-specific ones by path
    skipped: tuple[tuple[str, str], ...] = ()  # (path, why it is not used)
    max_tokens: int = 0
    measure: Callable[[str], int] = field(default=estimate_tokens, repr=False, compare=False)
    _blocks: dict[tuple[int, ...], RulesBlock] = field(default_factory=dict, repr=False)
    _matched: dict[str, frozenset[int]] = field(default_factory=dict, repr=False)  # path -> files it matches

    def reserve(self, paths: Iterable[str]) -> int:
        """The most tokens the rules of any request showing some of `paths` can take (packing keeps room)."""
        union = self.block(paths)
        return max(union.tokens, self.max_tokens) if union.cut else union.tokens

    def block(self, paths: Iterable[str]) -> RulesBlock:
        """The rules of a request that shows `paths`."""
        matched = frozenset().union(*(self._matching(p) for p in paths))
        chosen = tuple(i for i, f in enumerate(self.files) if f.apply_to is None or i in matched)
        if chosen not in self._blocks:
            self._blocks[chosen] = frame([self.files[i] for i in chosen], self.max_tokens, self.measure)
        return self._blocks[chosen]

    def _matching(self, path: str) -> frozenset[int]:
        """The path-specific files `path` matches, matched once a run (packing asks again per request)."""
        if path not in self._matched:
            self._matched[path] = frozenset(i for i, f in enumerate(self.files)
                                            if f.apply_to is not None and f.apply_to.matches(path))
        return self._matched[path]
