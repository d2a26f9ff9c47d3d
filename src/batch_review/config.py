"""Load and validate the YAML configuration (pure apart from reading the one file).

Every problem is one line: `<file>: <key>: <problem>; allowed: <what is allowed>`. The defaults here are
the values documented in config.example.yml; a test keeps the two identical.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pathspec
import yaml

from .errors import ConfigError
from .vocabulary import DEFAULT_INSTRUCTIONS, SEVERITIES

DEFAULT_CONFIG_PATH = ".github/batch-review.yml"
MAX_CONFIG_BYTES = 1024 * 1024
ENDPOINTS = ("/v1/chat/completions", "/v1/responses")
EFFORTS = ("minimal", "low", "medium", "high")

# Skipped unless files.default_excludes is false; each group has the reason reported for a skipped file.
DEFAULT_EXCLUDES: dict[str, tuple[str, ...]] = {
    "lock file": (
        "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb", "poetry.lock",
        "Pipfile.lock", "uv.lock", "pdm.lock", "Cargo.lock", "go.sum", "composer.lock", "Gemfile.lock",
        "Podfile.lock", "mix.lock", "pubspec.lock", "flake.lock", "packages.lock.json", "*.lock",
    ),
    "vendored code": ("vendor/", "third_party/", "third-party/", "node_modules/", "bower_components/"),
    "generated file": (
        "*.min.js", "*.min.css", "*.map", "*_pb2.py", "*_pb2.pyi", "*_pb2_grpc.py", "*.pb.go", "*.pb.cc",
        "*.pb.h", "*.generated.*", "*.g.dart", "*.designer.cs", "dist/", "build/", "__snapshots__/", "*.snap",
    ),
    "binary or media file": (
        "*.png", "*.jpg", "*.jpeg", "*.gif", "*.bmp", "*.ico", "*.webp", "*.svg", "*.pdf", "*.woff", "*.woff2",
        "*.ttf", "*.otf", "*.eot", "*.zip", "*.gz", "*.tgz", "*.bz2", "*.xz", "*.7z", "*.rar", "*.jar",
        "*.war", "*.class", "*.so", "*.dylib", "*.dll", "*.exe", "*.a", "*.o", "*.pyc", "*.wasm", "*.mp3",
        "*.mp4", "*.mov", "*.avi", "*.wav", "*.ogg", "*.psd", "*.sqlite", "*.db", "*.bin",
    ),
}


def _spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


@dataclass(frozen=True)
class PathInstruction:
    path: str
    instructions: str

    @cached_property
    def spec(self) -> pathspec.GitIgnoreSpec:
        return _spec((self.path,))


@dataclass(frozen=True)
class RoutingRule:
    """Requests of files matching this rule go to `model` (one batch per model)."""

    model: str
    max_changed_lines: int | None = None
    paths: tuple[str, ...] = ()

    @cached_property
    def spec(self) -> pathspec.GitIgnoreSpec:
        return _spec(self.paths)

    def matches(self, path: str, changed_lines: int) -> bool:
        if self.max_changed_lines is not None and changed_lines > self.max_changed_lines:
            return False
        return not self.paths or self.spec.match_file(path)


@dataclass(frozen=True)
class FilesConfig:
    include: tuple[str, ...] = ("**",)
    exclude: tuple[str, ...] = ()
    default_excludes: bool = True
    max_file_bytes: int = 500_000

    @cached_property
    def _include(self) -> pathspec.GitIgnoreSpec:
        return _spec(self.include)

    @cached_property
    def _exclude(self) -> pathspec.GitIgnoreSpec:
        return _spec(self.exclude)

    @cached_property
    def _defaults(self) -> list[tuple[str, pathspec.GitIgnoreSpec]]:
        return [(reason, _spec(patterns)) for reason, patterns in DEFAULT_EXCLUDES.items()]

    def is_reviewed(self, path: str) -> tuple[bool, str | None]:
        if not self._include.match_file(path):
            return False, "not in files.include"
        if self._exclude.match_file(path):
            return False, "excluded by files.exclude"
        if self.default_excludes:
            for reason, spec in self._defaults:
                if spec.match_file(path):
                    return False, f"excluded by default: {reason}"
        return True, None


@dataclass(frozen=True)
class PullRequestsConfig:
    enabled: bool = True
    labels: tuple[str, ...] = ()
    exclude_labels: tuple[str, ...] = ("no-batch-review",)
    skip_drafts: bool = True
    skip_authors: tuple[str, ...] = ("dependabot[bot]", "renovate[bot]")


@dataclass(frozen=True)
class BranchPair:
    base: str
    head: str


@dataclass(frozen=True)
class TargetsConfig:
    pull_requests: PullRequestsConfig = field(default_factory=PullRequestsConfig)
    branches: tuple[BranchPair, ...] = ()


@dataclass(frozen=True)
class BudgetConfig:
    max_cost_usd: float | None = 5.0
    max_requests: int | None = 5000
    on_exceed: str = "skip"


@dataclass(frozen=True)
class OutputConfig:
    mode: str = "review"
    min_severity: str = "low"
    check_name: str = "batch-review"
    fail_on: str | None = None
    post_on_closed: bool = False
    max_resubmits: int = 2
    sarif_dir: str | None = None
    bot_login: str = "github-actions[bot]"  # who our token writes as; only its markers are believed
    summary: bool = True


@dataclass(frozen=True)
class ArtifactsConfig:
    prefix: str = "batch-review-"
    # the workflow files whose scheduled or dispatched runs on the default branch may upload manifests
    workflows: tuple[str, ...] = (".github/workflows/batch-review-submit.yml",
                                  ".github/workflows/batch-review-poll.yml")


@dataclass(frozen=True)
class ModelPrice:
    input: float
    output: float
    cached_input: float | None = None


@dataclass(frozen=True)
class ProviderConfig:
    name: str = "openai"
    base_url: str | None = None
    azure_endpoint: str | None = None
    api_version: str = "2024-10-21"

    def batch_url(self, endpoint: str) -> str:
        """The url of each JSONL line and the batch's endpoint: Azure's batch API takes them without /v1."""
        return endpoint.removeprefix("/v1") if self.name == "azure" else endpoint


@dataclass(frozen=True)
class Config:
    model: str = "gpt-5-mini"
    endpoint: str = "/v1/chat/completions"
    max_output_tokens: int = 4096
    reasoning_effort: str | None = "low"
    temperature: float | None = None
    instructions: str = DEFAULT_INSTRUCTIONS
    path_instructions: tuple[PathInstruction, ...] = ()
    files: FilesConfig = field(default_factory=FilesConfig)
    context_lines: int = 3
    max_input_tokens: int = 16000
    request_unit: str = "target"
    max_description_chars: int = 2000
    targets: TargetsConfig = field(default_factory=TargetsConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    artifacts: ArtifactsConfig = field(default_factory=ArtifactsConfig)
    prices: dict[str, ModelPrice] = field(default_factory=dict)
    provider: ProviderConfig = field(default_factory=ProviderConfig)
    routing: tuple[RoutingRule, ...] = ()
    incremental: bool = True

    @property
    def routing_needs_line_counts(self) -> bool:
        return any(rule.max_changed_lines is not None for rule in self.routing)

    def model_for(self, path: str, changed_lines: int = 0) -> str:
        """The model of the first routing rule that matches, else `model`."""
        for rule in self.routing:
            if rule.matches(path, changed_lines):
                return rule.model
        return self.model

    def path_instructions_for(self, path: str) -> tuple[str, ...]:
        return tuple(p.instructions for p in self.path_instructions if p.spec.match_file(path))


# --- validation ----------------------------------------------------------------------------------------

class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str, allowed: str | None = None) -> ConfigError:
        return ConfigError(f"{self.source}: {key}: {problem}" + (f"; allowed: {allowed}" if allowed else ""))

    def mapping(self, value: Any, key: str, known: tuple[str, ...]) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key or "(top level)", f"must be a mapping, not {_kind(value)}")
        for name in value:
            if not isinstance(name, str) or name not in known:
                full = f"{key}.{name}" if key else str(name)
                close = difflib.get_close_matches(str(name), known, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.fail(full, f"unknown key{hint}", ", ".join(known))
        return value

    def integer(self, value: Any, key: str, low: int, high: int | None = None, *, nullable: bool = False):
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be a whole number, not {_kind(value)}", _range(low, high, nullable))
        if value < low or (high is not None and value > high):
            raise self.fail(key, f"{value} is out of range", _range(low, high, nullable))
        return value

    def number(self, value: Any, key: str, low: float, high: float | None = None, *, nullable: bool = False):
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number, not {_kind(value)}", _range(low, high, nullable))
        if value != value or value < low or (high is not None and value > high):
            raise self.fail(key, f"{value} is out of range", _range(low, high, nullable))
        return float(value)

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, not {_kind(value)}")
        return value

    def string(self, value: Any, key: str, *, nullable: bool = False, empty: bool = False):
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, not {_kind(value)}")
        if not empty and not value.strip():
            raise self.fail(key, "must not be empty")
        return value

    def choice(self, value: Any, key: str, options: tuple[str, ...], *, nullable: bool = False):
        if value is None and nullable:
            return None
        allowed = ", ".join(options) + (", null" if nullable else "")
        if not isinstance(value, str) or value not in options:
            raise self.fail(key, f"{value!r} is not allowed", allowed)
        return value

    def records(self, value: Any, key: str, fields: tuple[str, ...]) -> list[tuple[str, dict]]:
        """A list of mappings with the given fields: [(key of the item, item)]."""
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list of {{{', '.join(fields)}}}, not {_kind(value)}")
        items = []
        for i, item in enumerate(value):
            item_key = f"{key}[{i}]"
            if not isinstance(item, dict):
                raise self.fail(item_key, f"must be a mapping with {' and '.join(fields)}")
            items.append((item_key, self.mapping(item, item_key, fields)))
        return items

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list of strings, not {_kind(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise self.fail(f"{key}[{i}]", f"must be a non-empty string, not {_kind(item)}")
        return tuple(value)

    def globs(self, value: Any, key: str) -> tuple[str, ...]:
        patterns = self.strings(value, key)
        for i, pattern in enumerate(patterns):
            try:
                _spec((pattern,))
            except Exception as exc:  # noqa: BLE001 - pathspec raises several types for bad patterns
                raise self.fail(f"{key}[{i}]", f"invalid glob {pattern!r}: {exc}",
                                "gitignore patterns") from exc
        return patterns


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: f"the string {value!r}"[:60],
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def _range(low, high, nullable) -> str:
    text = f"{low} or more" if high is None else f"{low} to {high}"
    return text + (", or null" if nullable else "")


_WORKFLOW_PATH = re.compile(r"\.github/workflows/[A-Za-z0-9._/-]+\.ya?ml")


def _fields(cls) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def from_mapping(data: Any, source: str) -> Config:
    c = _Checker(source)
    top = c.mapping(data, "", _fields(Config))
    d = Config()
    files_raw = c.mapping(top.get("files"), "files", _fields(FilesConfig))
    files = FilesConfig(
        include=c.globs(files_raw["include"], "files.include") if "include" in files_raw else d.files.include,
        exclude=c.globs(files_raw["exclude"], "files.exclude") if "exclude" in files_raw else d.files.exclude,
        default_excludes=c.boolean(files_raw.get("default_excludes", True), "files.default_excludes"),
        max_file_bytes=c.integer(files_raw.get("max_file_bytes", d.files.max_file_bytes), "files.max_file_bytes", 1),
    )
    targets_raw = c.mapping(top.get("targets"), "targets", _fields(TargetsConfig))
    pr_raw = c.mapping(targets_raw.get("pull_requests"), "targets.pull_requests", _fields(PullRequestsConfig))
    dp = PullRequestsConfig()
    pulls = PullRequestsConfig(
        enabled=c.boolean(pr_raw.get("enabled", dp.enabled), "targets.pull_requests.enabled"),
        labels=c.strings(pr_raw.get("labels", list(dp.labels)), "targets.pull_requests.labels"),
        exclude_labels=c.strings(pr_raw.get("exclude_labels", list(dp.exclude_labels)),
                                 "targets.pull_requests.exclude_labels"),
        skip_drafts=c.boolean(pr_raw.get("skip_drafts", dp.skip_drafts), "targets.pull_requests.skip_drafts"),
        skip_authors=c.strings(pr_raw.get("skip_authors", list(dp.skip_authors)),
                               "targets.pull_requests.skip_authors"),
    )
    branches = []
    for key, pair in c.records(targets_raw.get("branches", []), "targets.branches", ("base", "head")):
        branches.append(BranchPair(c.string(pair.get("base"), f"{key}.base"), c.string(pair.get("head"), f"{key}.head")))
    budget_raw = c.mapping(top.get("budget"), "budget", _fields(BudgetConfig))
    db = BudgetConfig()
    budget = BudgetConfig(
        max_cost_usd=c.number(budget_raw.get("max_cost_usd", db.max_cost_usd), "budget.max_cost_usd", 0,
                              nullable=True),
        max_requests=c.integer(budget_raw.get("max_requests", db.max_requests), "budget.max_requests", 0,
                               nullable=True),
        on_exceed=c.choice(budget_raw.get("on_exceed", db.on_exceed), "budget.on_exceed", ("skip", "fit")),
    )
    out_raw = c.mapping(top.get("output"), "output", _fields(OutputConfig))
    do = OutputConfig()
    output = OutputConfig(
        mode=c.choice(out_raw.get("mode", do.mode), "output.mode", ("review", "check", "both")),
        min_severity=c.choice(out_raw.get("min_severity", do.min_severity), "output.min_severity", SEVERITIES),
        check_name=c.string(out_raw.get("check_name", do.check_name), "output.check_name"),
        fail_on=c.choice(out_raw.get("fail_on", do.fail_on), "output.fail_on", SEVERITIES, nullable=True),
        post_on_closed=c.boolean(out_raw.get("post_on_closed", do.post_on_closed), "output.post_on_closed"),
        max_resubmits=c.integer(out_raw.get("max_resubmits", do.max_resubmits), "output.max_resubmits", 0, 10),
        sarif_dir=c.string(out_raw.get("sarif_dir"), "output.sarif_dir", nullable=True),
        bot_login=c.string(out_raw.get("bot_login", do.bot_login), "output.bot_login"),
        summary=c.boolean(out_raw.get("summary", do.summary), "output.summary"),
    )
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?", output.bot_login):
        raise c.fail("output.bot_login", f"{output.bot_login!r} is not a GitHub login",
                     "a user name, or an app's bot login such as my-app[bot]")
    art_raw = c.mapping(top.get("artifacts"), "artifacts", _fields(ArtifactsConfig))
    prefix = c.string(art_raw.get("prefix", ArtifactsConfig().prefix), "artifacts.prefix")
    if len(prefix) > 64 or not all(ch.isascii() and (ch.isalnum() or ch in "._-") for ch in prefix):
        raise c.fail("artifacts.prefix", f"{prefix!r} is not a valid artifact name prefix",
                     "1 to 64 letters, digits, '.', '_' or '-'")
    workflows = c.strings(art_raw.get("workflows", list(ArtifactsConfig().workflows)), "artifacts.workflows")
    for i, path in enumerate(workflows):
        if not _WORKFLOW_PATH.fullmatch(path) or ".." in path.split("/"):
            raise c.fail(f"artifacts.workflows[{i}]", f"{path!r} is not a workflow file of this repository",
                         "a path like .github/workflows/NAME.yml")
    if not workflows:
        raise c.fail("artifacts.workflows", "is empty: no artifact could be trusted",
                     "the paths of the submit and poll workflow files")
    prices_raw = top.get("prices") or {}
    prices = {}
    if not isinstance(prices_raw, dict):
        raise c.fail("prices", f"must be a mapping of model names, not {_kind(prices_raw)}")
    for model, entry in prices_raw.items():
        key = f"prices.{model}"
        e = c.mapping(entry, key, ("input", "cached_input", "output"))
        if "input" not in e or "output" not in e:
            raise c.fail(key, "needs input and output (US dollars per million tokens)")
        prices[str(model)] = ModelPrice(
            input=c.number(e["input"], f"{key}.input", 0), output=c.number(e["output"], f"{key}.output", 0),
            cached_input=c.number(e.get("cached_input"), f"{key}.cached_input", 0, nullable=True),
        )
    prov_raw = c.mapping(top.get("provider"), "provider", _fields(ProviderConfig))
    urls = {}
    for name in ("base_url", "azure_endpoint"):
        url = c.string(prov_raw.get(name), f"provider.{name}", nullable=True)
        if url is not None and not url.startswith(("http://", "https://")):
            raise c.fail(f"provider.{name}", f"{url!r} is not an http(s) URL")
        urls[name] = url
    provider = ProviderConfig(
        name=c.choice(prov_raw.get("name", "openai"), "provider.name", ("openai", "azure")),
        api_version=c.string(prov_raw.get("api_version", ProviderConfig.api_version), "provider.api_version"),
        **urls,
    )
    path_instructions = []
    for key, item in c.records(top.get("path_instructions", []), "path_instructions", ("path", "instructions")):
        glob = c.globs([c.string(item.get("path"), f"{key}.path")], f"{key}.path")[0]
        path_instructions.append(PathInstruction(glob, c.string(item.get("instructions"), f"{key}.instructions")))
    routing = []
    for key, item in c.records(top.get("routing", []), "routing", ("model", "max_changed_lines", "paths")):
        rule = RoutingRule(
            model=c.string(item.get("model"), f"{key}.model"),
            max_changed_lines=c.integer(item.get("max_changed_lines"), f"{key}.max_changed_lines", 0, nullable=True),
            paths=c.globs(item.get("paths", []), f"{key}.paths"),
        )
        if rule.max_changed_lines is None and not rule.paths:
            raise c.fail(key, "needs max_changed_lines or paths (a rule without either would take every file)")
        routing.append(rule)
    instructions = c.string(top.get("instructions"), "instructions", nullable=True)
    return Config(
        model=c.string(top.get("model", d.model), "model"),
        endpoint=c.choice(top.get("endpoint", d.endpoint), "endpoint", ENDPOINTS),
        max_output_tokens=c.integer(top.get("max_output_tokens", d.max_output_tokens), "max_output_tokens", 1,
                                    1_000_000),
        reasoning_effort=c.choice(top.get("reasoning_effort", d.reasoning_effort), "reasoning_effort", EFFORTS,
                                  nullable=True),
        temperature=c.number(top.get("temperature"), "temperature", 0, 2, nullable=True),
        instructions=instructions if instructions is not None else DEFAULT_INSTRUCTIONS,
        path_instructions=tuple(path_instructions),
        files=files,
        context_lines=c.integer(top.get("context_lines", d.context_lines), "context_lines", 3, 100),
        max_input_tokens=c.integer(top.get("max_input_tokens", d.max_input_tokens), "max_input_tokens", 1000,
                                   2_000_000),
        request_unit=c.choice(top.get("request_unit", d.request_unit), "request_unit", ("target", "file")),
        max_description_chars=c.integer(top.get("max_description_chars", d.max_description_chars),
                                        "max_description_chars", 0, 100_000),
        targets=TargetsConfig(pull_requests=pulls, branches=tuple(branches)),
        budget=budget, output=output, artifacts=ArtifactsConfig(prefix, workflows), prices=prices, provider=provider,
        routing=tuple(routing), incremental=c.boolean(top.get("incremental", True), "incremental"),
    )


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and aliases (no silent last-wins, no alias bombs)."""

    def compose_node(self, parent, index):  # noqa: D401 - yaml API
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None, None, "aliases (*name) are not allowed in this file", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{source}: {where}{exc.problem or exc.context}".rstrip()) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {str(exc).splitlines()[0]}") from exc


def load_config(path: str | os.PathLike | None, *, required: bool = False) -> Config:
    """The configuration from `path`; defaults when path is None, or missing and not required."""
    if path is None:
        return Config()
    p = Path(path)
    source = str(path)
    if not p.is_file():
        if required:
            raise ConfigError(f"{source}: no such file")
        return Config()
    size = p.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: {size:,} bytes is too large for a configuration file (1 MiB at most)")
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not valid UTF-8 (byte {exc.start})") from exc
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror}") from exc
    return from_mapping(parse_yaml(text, source), source)


def apply_overrides(cfg: Config, *, model: str | None = None) -> Config:
    if model is not None:
        if not model.strip():
            raise ConfigError("--model: must not be empty")
        cfg = dataclasses.replace(cfg, model=model)
    return cfg
