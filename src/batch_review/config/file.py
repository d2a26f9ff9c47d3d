"""Reading a configuration file someone may have written to harm us, and saying what is wrong in one line.

The file may come from a pull request's branch (the workflows read the default branch's, a local run
reads the checkout). `read_yaml` refuses what a configuration never needs and an attacker could use:
more than 1 MiB, bytes that are not UTF-8, aliases (no alias bombs), duplicate keys (no silent last-wins),
keys that are lists or mappings, nesting deeper than MAX_DEPTH, numbers longer than MAX_NUMBER characters,
tags beyond JSON's types (sets, binary, ordered pairs; unquoted dates stay strings, as in YAML 1.2 and in
editors). `explain` turns a pydantic error into `<key>: <problem>; allowed: <what is allowed>`, reading
what is allowed from the same JSON Schema editors use; a check of our own raises `problem(...)`. Knows
nothing of the configuration's keys: config.py holds them.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic_core import PydanticCustomError

from ..core.errors import ConfigError

MAX_CONFIG_BYTES = 1024 * 1024
MAX_DEPTH = 20  # the configuration nests 4 deep (targets.branches[0].base); a deeper file is hostile
MAX_NUMBER = 100  # characters of one number (Python refuses to convert more than 4,300 digits)
RANGE_ERRORS = ("greater_than_equal", "less_than_equal", "finite_number")


def problem(text: str, allowed: str | None = None, *, at: str | None = None) -> PydanticCustomError:
    """A check of ours failed: `text` is the problem as shown, `at` a key below the failing model."""
    return PydanticCustomError("config", "{problem}", {"problem": text, "allowed": allowed, "at": at})


# --- one line per problem --------------------------------------------------------------------------------

def _shown(value: Any, limit: int = 80) -> str:
    """`value` as a line shows it: printable, clipped (a key or a value may be any length, any bytes)."""
    text = value if isinstance(value, str) and value.isprintable() else repr(value).strip("'")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _quoted(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"the string {value!r}"[:60]
    kinds = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "a mapping"}
    return kinds.get(type(value), type(value).__name__)


def _key(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + _shown(part)
    return text or "(top level)"


def _range(node: dict, nullable: bool) -> str:
    low, high = node.get("minimum"), node.get("maximum")
    return (f"{low} or more" if high is None else f"{low} to {high}") + (", or null" if nullable else "")


class _Schema:
    def __init__(self, schema: dict) -> None:
        self.schema = schema

    def resolve(self, node: dict) -> tuple[dict, bool]:
        """The schema `node` stands for ($ref followed, null taken out), and whether null is allowed."""
        options = [n for n in node.get("anyOf", [node]) if n.get("type") != "null"]
        nullable = len(options) < len(node.get("anyOf", [node]))
        node = options[0] if options else {}
        if "$ref" in node:
            node = self.schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
        return node, nullable

    def at(self, loc: tuple) -> tuple[dict, bool]:
        node, nullable = self.schema, False
        for part in loc:
            if isinstance(part, int):
                node = node.get("items", {})
            else:
                node = node.get("properties", {}).get(part) or node.get("additionalProperties") or {}
            node, nullable = self.resolve(node)
        return node, nullable

    def wrong_type(self, loc: tuple, value: Any) -> tuple[str, str | None]:
        """`must be <what the schema says>, not <what it is>`, and what is allowed."""
        node, nullable = self.at(loc)
        item, kind, got = bool(loc) and isinstance(loc[-1], int), node.get("type"), _kind(value)
        if kind in ("integer", "number"):
            return f"must be a {'whole number' if kind == 'integer' else 'number'}, not {got}", _range(node, nullable)
        if kind in ("boolean", "string"):
            what = "true or false" if kind == "boolean" else "a non-empty string" if item else "a string"
            return f"must be {what}, not {got}", None
        if kind == "array":
            fields = self.resolve(node.get("items", {}))[0].get("properties")
            return f"must be a list of {'{' + ', '.join(fields) + '}' if fields else 'strings'}, not {got}", None
        if "properties" not in node:
            return f"must be a mapping of {node.get('propertyNames', {}).get('description', 'names')}, not {got}", None
        if item:
            return f"must be a mapping with {' and '.join(node['properties'])}", None
        return f"must be a mapping, not {got}", None

    def value_problem(self, kind: str, loc: tuple, value: Any) -> tuple[str, str | None]:
        if kind == "string_pattern_mismatch":  # the schema's own message, as editors show it
            text, _, allowed = self.at(loc)[0].get("patternErrorMessage", "does not match").partition("; allowed: ")
            return (f"{_quoted(value)} {text}" if text.startswith("is ") else text), allowed or None
        if kind == "string_too_short" and not isinstance(loc[-1], int):
            return "must not be empty", None
        if kind in RANGE_ERRORS:
            return f"{_shown(value)} is out of range", _range(*self.at(loc))
        if kind == "literal_error":
            node, nullable = self.at(loc)
            return f"{_quoted(value)} is not allowed", ", ".join(node["enum"]) + ", null" * nullable
        # a value of the wrong type, or a required key missing (shown as null)
        return self.wrong_type(loc, None if kind == "missing" else value)

    def unknown_key(self, loc: tuple) -> str:
        known = list(self.at(loc[:-1])[0].get("properties", {}))
        name = str(loc[-1])
        close = difflib.get_close_matches(name, known, n=1) if len(name) <= 100 else []
        key = (_key(loc[:-1]) + "." if loc[:-1] else "") + _shown(name)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{key}: unknown key{hint}; allowed: {', '.join(known)}"


def explain(error: dict, schema: dict) -> str:
    """One pydantic error (`ValidationError.errors()` item) as `<key>: <problem>; allowed: <what>`."""
    kind, loc, value, ctx = error["type"], tuple(error["loc"]), error.get("input"), error.get("ctx") or {}
    s = _Schema(schema)
    if kind in ("extra_forbidden", "invalid_key"):
        return s.unknown_key(loc)
    if kind == "config":
        loc, text, allowed = loc + ((ctx["at"],) if ctx.get("at") else ()), ctx["problem"], ctx.get("allowed")
    elif loc and loc[-1] == "[key]":
        loc, text, allowed = loc[:-2] + (_shown(loc[-2]),), f"the key must be a string, not {_kind(value)}", None
    else:
        text, allowed = s.value_problem(kind, loc, value)
    return f"{_key(loc)}: {text}" + (f"; allowed: {allowed}" if allowed else "")


# --- reading the file --------------------------------------------------------------------------------------

def _refuse(text: str, mark) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(None, None, text, mark)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without aliases, duplicate or non-scalar keys, deep nesting, long numbers, exotic tags."""

    yaml_constructors = {tag: make for tag, make in yaml.SafeLoader.yaml_constructors.items()
                         if str(tag).rsplit(":", 1)[-1] not in ("set", "binary", "omap", "pairs")}
    depth = 0

    def compose_node(self, parent, index):  # noqa: D401 - yaml API
        if self.check_event(yaml.AliasEvent):
            raise _refuse("aliases (*name) are not allowed in this file", self.peek_event().start_mark)
        if self.depth >= MAX_DEPTH:
            raise _refuse(f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _refuse("a key must be a plain word, not a list or a mapping", key_node.start_mark)
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _refuse(f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):
        if len(node.value) > MAX_NUMBER:
            raise _refuse(f"a number of {len(node.value):,} characters is too long", node.start_mark)
        return super().construct_yaml_int(node)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_str)


def parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{source}: {where}{exc.problem or exc.context}".rstrip()) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {str(exc).splitlines()[0]}") from exc


def read_yaml(path: Path, source: str) -> Any:
    """The parsed file at `path` (an existing file), or a ConfigError naming `source`."""
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: {size:,} bytes is too large for a configuration file (1 MiB at most)")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not valid UTF-8 (byte {exc.start})") from exc
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror}") from exc
    return parse_yaml(text, source)
