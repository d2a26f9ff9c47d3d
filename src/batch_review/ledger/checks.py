"""What a manifest must look like before anything reads it (pure).

A manifest arrives from a workflow artifact or a folder: it may be damaged (truncated, hand-edited, written
by a newer release) or forged. Every field poll and submit read is checked here for its type and shape, the
document for its size, its nesting depth and its numbers (none past 64 bits; one too long to convert is
read as its length, `LongNumber`), and every file name it holds for being a plain name inside the
manifest's own folder, so that code further on can index it without a KeyError, a TypeError or a
RecursionError. A failure is one `ManifestError` (errors.py) line naming the file, the key and the value;
`Manifest.from_json` attaches the targets the manifest names where they could be read (`targets_of`), so
that poll can say so on the commit.

`check_document` holds the checks every version shares; a later manifest version adds its own records and
calls the same helpers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from ..core.errors import ManifestError
from ..core.vocabulary import LEFT, RIGHT

MAX_BYTES = 256 * 1024 * 1024  # far above any real manifest (10,000 files of 100 lines: ~30 MB)
MAX_DEPTH = 16  # a real manifest nests 5 deep (files -> target -> path -> RIGHT -> range)
MAX_NUMBER = 2**63 - 1  # no number a manifest holds comes near it (sizes, counts, line numbers, crc32)
SHA_RE = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # SHA-1 or SHA-256 repositories
KEY_RE = re.compile(r"[A-Za-z0-9._-]{1,200}")  # what markers can carry as a target
FILE_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")  # a plain name: no '/', '\\', not '.' or '..'
DIGEST_RE = re.compile(r"[0-9a-f]{64}")
REPOSITORY_RE = re.compile(r"[^/\x00-\x1f\x7f]{1,200}/[^/\x00-\x1f\x7f]{1,200}")


def targets_of(exc: BaseException) -> list[tuple[str, str]]:
    """The (key, head sha) pairs a ManifestError's manifest names (set by Manifest.from_json), else []."""
    return list(getattr(exc, "targets", None) or [])


def show(value: object, limit: int = 60) -> str:
    """A hostile value as one short printable token: repr() escapes newlines and control characters. A
    number past Python's int-string conversion limit (4,300 digits: repr raises ValueError) is shown by
    its length, alone or wherever it sits in a list or an object."""
    try:
        text = repr(value)
    except ValueError:
        big = _huge_number(value)
        text = f"<a number of {big} digits>" if isinstance(value, int) else \
            f"<{kind(value)} holding a number of {big} digits>"
    except RecursionError:  # nested past the interpreter's limit (too_deep refuses it first in a document)
        text = f"<{kind(value)} nested too deep to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _huge_number(value: object) -> int:
    """The digit count of the longest number in `value` (found without recursion)."""
    stack, digits = [value], 0
    while stack:
        node = stack.pop()
        if isinstance(node, int) and not isinstance(node, bool):
            n = abs(node)
            d = int((max(n.bit_length(), 1) - 1) * math.log10(2)) + 1  # exact, or one short
            digits = max(digits, d + (n >= 10**d))
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
    return digits


def kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", int: "a number",
            float: "a number", LongNumber: "a number", type(None): "null"}.get(type(value), type(value).__name__)


class Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> ManifestError:
        return ManifestError(f"{self.source}: {where}: {problem}")

    def obj(self, value: object, where: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"must be an object, not {kind(value)}")
        return value

    def list(self, value: object, where: str) -> list:
        if not isinstance(value, list):
            raise self.fail(where, f"must be a list, not {kind(value)}")
        return value

    def string(self, value: object, where: str, pattern: re.Pattern | None = None, what: str = "",
               *, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise self.fail(where, f"must be a string, not {kind(value)}")
        if pattern is not None and not pattern.fullmatch(value):
            raise self.fail(where, f"{show(value)} is not {what}")
        return value

    def integer(self, value: object, where: str, low: int = 0, high: int | None = None, *,
                optional: bool = False) -> int | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"must be a whole number, not {kind(value)}")
        if value < low or (high is not None and value > high):
            raise self.fail(where, f"{show(value)} is out of range")
        return value

    def boolean(self, value: object, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, f"must be true or false, not {kind(value)}")
        return value

    def each(self, mapping: dict, where: str, check: Callable[[str, object, str], None],
             key_pattern: re.Pattern | None = None, what: str = "") -> None:
        for key, value in mapping.items():
            if key_pattern is not None and not key_pattern.fullmatch(key):
                raise self.fail(where, f"key {show(key)} is not {what}")
            check(key, value, f"{where}.{key}")


def too_deep(data: object, limit: int = MAX_DEPTH) -> bool:
    """Whether containers nest deeper than `limit`, found without recursion."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class LongNumber:
    """A whole number as `Manifest.load` reads it when it has more digits than any manifest field holds: kept
    as its digit count, never converted (Python refuses past 4,300 digits with ValueError, and converting
    is quadratic in the length). `check_document` refuses it, naming where it is."""

    __slots__ = ("digits",)

    def __init__(self, text: str) -> None:
        self.digits = len(text.lstrip("-"))

    def __repr__(self) -> str:
        return f"<a number of {self.digits} digits>"


def read_number(text: str) -> int | LongNumber:
    """json.loads' parse_int for manifests: a number of up to 20 characters is an int, a longer one not."""
    return int(text) if len(text) <= 20 else LongNumber(text)


def long_number(data: object, limit: int = MAX_NUMBER) -> tuple[str, object] | None:
    """(where, the number) of the first whole number in `data` past `limit` either way, found without
    recursion, or None. Such a number would pass a check that does not read it and then stop the digest
    (json.dumps past Python's 4,300-digit conversion limit)."""
    stack: list[tuple[object, str]] = [(data, "")]
    while stack:
        node, where = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            kind_ = type(value)
            if kind_ is LongNumber or (kind_ is int and not -limit <= value <= limit):
                return (f"{where}.{key}" if isinstance(key, str) else f"{where}[{key}]").lstrip("."), value
            if kind_ is dict or kind_ is list:
                stack.append((value, f"{where}.{key}" if isinstance(key, str) else f"{where}[{key}]"))
    return None


def named_targets(data: object) -> list[tuple[str, str]]:
    """(key, head sha) of the targets a (possibly broken) manifest names, where both are well formed."""
    targets = data.get("targets") if isinstance(data, dict) else None
    if not isinstance(targets, dict):
        return []
    return [(key, t["head_sha"]) for key, t in targets.items()
            if isinstance(key, str) and KEY_RE.fullmatch(key) and isinstance(t, dict)
            and isinstance(t.get("head_sha"), str) and SHA_RE.fullmatch(t["head_sha"])]


def check_document(data: object, source: str, required: tuple[str, ...]) -> dict:
    """The checks every manifest version shares: an object, not too deep, the required keys present,
    the scalar fields of the right types. Returns the object."""
    c = Checker(source)
    if not isinstance(data, dict):
        raise ManifestError(f"{source}: not a JSON object")
    if too_deep(data):
        raise ManifestError(f"{source}: nested deeper than {MAX_DEPTH} levels; a manifest is never that deep")
    if (long := long_number(data)) is not None:
        raise ManifestError(f"{source}: {long[0]}: {show(long[1])} is past any number a manifest holds")
    missing = [k for k in required if k not in data]
    if missing:
        raise ManifestError(f"{source}: missing {', '.join(missing)}")
    c.string(data["repository"], "repository", REPOSITORY_RE, "an owner/name repository")
    for key in ("endpoint", "model"):
        c.string(data[key], key)
    for key in ("created_at", "tool"):
        c.string(data.get(key, ""), key)
    c.string(data.get("parent"), "parent", DIGEST_RE, "a manifest digest", optional=True)
    c.integer(data.get("attempt", 0), "attempt", 0, 1000)
    c.boolean(data.get("dry_run", False), "dry_run")
    for key in ("provider", "estimate", "skipped"):
        if data.get(key) is not None:
            c.obj(data[key], key)
    return data


def check_targets(c: Checker, targets: object) -> dict:
    def target(key: str, t: object, where: str) -> None:
        t = c.obj(t, where)
        kind_ = c.string(t.get("kind"), f"{where}.kind")
        if kind_ not in ("pull", "branches"):
            raise c.fail(f"{where}.kind", f"{show(kind_)} is not pull or branches")
        c.string(t.get("head_sha"), f"{where}.head_sha", SHA_RE, "a commit id")
        for field in ("base_sha", "since"):  # optional: absent or empty, else a commit id
            if c.string(t.get(field, ""), f"{where}.{field}"):
                c.string(t[field], f"{where}.{field}", SHA_RE, "a commit id")
        if kind_ == "pull":
            c.integer(t.get("number"), f"{where}.number", 1)
            if key != f"pr-{t['number']}":
                raise c.fail(where, f"a pull request target's key must be pr-{t['number']}")
        for field in ("base_ref", "head_ref") if kind_ == "branches" else ():
            c.string(t.get(field), f"{where}.{field}")
        for field in ("base_ref", "head_ref", "title", "author", "body"):
            c.string(t.get(field, ""), f"{where}.{field}")

    targets = c.obj(targets, "targets")
    c.each(targets, "targets", target, KEY_RE, "a target key")
    return targets


def check_files(c: Checker, files: object, targets: dict) -> None:
    def ranges(value: object, where: str) -> None:
        for i, item in enumerate(c.list(value, where)):
            pair = c.list(item, f"{where}[{i}]")
            if len(pair) != 2:
                raise c.fail(f"{where}[{i}]", "must be [first line, last line]")
            start = c.integer(pair[0], f"{where}[{i}]", 1)
            c.integer(pair[1], f"{where}[{i}]", start)

    def file(_path: str, entry: object, where: str) -> None:
        entry = c.obj(entry, where)
        for side in (RIGHT, LEFT):
            ranges(entry.get(side, []), f"{where}.{side}")
        for i, hunk in enumerate(c.list(entry.get("crc", []), f"{where}.crc")):
            pair = c.list(hunk, f"{where}.crc[{i}]")
            if len(pair) != 2 or not isinstance(pair[1], list) or not all(
                    isinstance(v, int) and not isinstance(v, bool) for v in pair[1]):
                raise c.fail(f"{where}.crc[{i}]", "must be [first line, [line hashes]]")
            c.integer(pair[0], f"{where}.crc[{i}]", 1)
        for i, item in enumerate(c.list(entry.get("invisible", []), f"{where}.invisible")):
            pair = c.list(item, f"{where}.invisible[{i}]")  # [new line, the invisible characters it holds]
            if len(pair) != 2:
                raise c.fail(f"{where}.invisible[{i}]", "must be [line, characters]")
            c.integer(pair[0], f"{where}.invisible[{i}]", 1)
            c.string(pair[1], f"{where}.invisible[{i}]")

    def per_target(key: str, paths: object, where: str) -> None:
        if key not in targets:
            raise c.fail(where, "names no known target")
        c.each(c.obj(paths, where), where, file)

    c.each(c.obj(files, "files"), "files", per_target)


def check_batches(c: Checker, batches: object) -> list:
    batches = c.list(batches, "batches")
    files = set()
    for i, b in enumerate(batches):
        where = f"batches[{i}]"
        b = c.obj(b, where)
        if c.integer(b.get("index"), f"{where}.index") != i:
            raise c.fail(f"{where}.index", f"must be {i}")
        name = c.string(b.get("file", f"input-{i:03d}.jsonl"), f"{where}.file", FILE_RE,
                        "a plain file name inside the manifest's folder")
        if name in files or name == "manifest.json":
            raise c.fail(f"{where}.file", f"{show(name)} is used twice")
        files.add(name)
        c.string(b.get("input_sha256"), f"{where}.input_sha256", DIGEST_RE, "a sha256 digest")
        c.integer(b.get("requests"), f"{where}.requests", 0)
        c.integer(b.get("bytes"), f"{where}.bytes", 0)
        c.string(b.get("model"), f"{where}.model")
        c.string(b.get("endpoint"), f"{where}.endpoint")
        c.string(b.get("id"), f"{where}.id", optional=True)
        c.string(b.get("input_file_id"), f"{where}.input_file_id", optional=True)
    return batches


def check_requests(c: Checker, requests: object, targets: dict, batches: list) -> None:
    def request(_cid: str, r: object, where: str) -> None:
        r = c.obj(r, where)
        if c.string(r.get("target"), f"{where}.target") not in targets:
            raise c.fail(where, "names no known target")
        if "files" in r:  # version 2: the files one request showed, in order
            shown = c.list(r["files"], f"{where}.files")
            if not shown:
                raise c.fail(f"{where}.files", "names no file")
            for i, f in enumerate(shown):
                f = c.obj(f, f"{where}.files[{i}]")
                c.string(f.get("path"), f"{where}.files[{i}].path")
                c.string(f.get("old_path"), f"{where}.files[{i}].old_path", optional=True)
                c.integer(f.get("part", 0), f"{where}.files[{i}].part")
                c.integer(f.get("parts", 1), f"{where}.files[{i}].parts", 1)
        else:  # version 1: one file, one chunk of it
            c.string(r.get("path"), f"{where}.path")
            c.string(r.get("old_path"), f"{where}.old_path", optional=True)
        c.integer(r.get("batch"), f"{where}.batch", 0, len(batches) - 1)
        c.string(r.get("model", ""), f"{where}.model")
        for field in ("chunk", "chunks", "est_input_tokens", "max_output_tokens"):
            c.integer(r.get(field, 0), f"{where}.{field}")

    c.each(c.obj(requests, "requests"), "requests", request)


def check_fields(data: dict, source: str) -> None:
    """Everything a manifest (version 1 or 2) holds that the tool reads."""
    c = Checker(source)
    targets = check_targets(c, data["targets"])
    batches = check_batches(c, data["batches"])
    check_requests(c, data["requests"], targets, batches)
    check_files(c, data["files"], targets)
    skipped = c.obj(data.get("skipped") if data.get("skipped") is not None else {}, "skipped")
    for key, items in skipped.items():
        for i, item in enumerate(c.list(items, f"skipped.{key}")):
            item = c.obj(item, f"skipped.{key}[{i}]")
            c.string(item.get("path"), f"skipped.{key}[{i}].path")
            c.string(item.get("reason"), f"skipped.{key}[{i}].reason")
