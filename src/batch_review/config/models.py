"""The configuration: pydantic models of `.github/batch-review.yml`, their defaults, and loading the file
(which provider a model name belongs to, `foreign_model`, is families.py's).

pydantic checks every type, range and choice; the same models give the JSON Schema editors check the file
with (schema/batch-review.schema.json, written by `python tools/config_schema.py`). Reading the file
safely and turning the first problem into one line (`<file>: <key>: <problem>; allowed: <what is
allowed>`, exit code 2) is config_file.py's job; no half-read configuration is ever returned. The
defaults are the values documented in config.example.yml; a test keeps the two identical.
"""

from __future__ import annotations

import functools
import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import pathspec
from pydantic import (
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema

from .. import __version__
from ..core.errors import ConfigError
from ..core.vocabulary import DEFAULT_INSTRUCTIONS
from .file import explain, problem, read_yaml
from .types import (
    Flag,
    Glob,
    Login,
    Number,
    Prefix,
    RepoPath,
    Severity,
    Text,
    Url,
    Whole,
    Word,
    Workflow,
    _Model,
    _Section,
    _spec,
)

DEFAULT_CONFIG_PATH = ".github/batch-review.yml"
ANTHROPIC_ENDPOINT = "/v1/messages"  # provider anthropic: the Message Batches API's requests
SCHEMA_URL = (f"https://raw.githubusercontent.com/batch-review/batch-review/v{__version__}/"
              "schema/batch-review.schema.json")

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


# --- the configuration -------------------------------------------------------------------------------------

class PathInstruction(_Model):
    path: Glob
    instructions: Text

    @cached_property
    def spec(self) -> pathspec.GitIgnoreSpec:
        return _spec((self.path,))


class RoutingRule(_Model):
    """Requests of files matching this rule go to `model` (one batch per model)."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [  # editors see the rule _narrows checks
        {"required": ["max_changed_lines"], "properties": {"max_changed_lines": {"type": "integer"}}},
        {"required": ["paths"], "properties": {"paths": {"minItems": 1}}}]})
    model: Text
    max_changed_lines: Whole | None = Field(None, ge=0)
    paths: tuple[Glob, ...] = ()

    @model_validator(mode="after")
    def _narrows(self) -> RoutingRule:
        if self.max_changed_lines is None and not self.paths:
            raise problem("needs max_changed_lines or paths (a rule without either would take every file)")
        return self

    @cached_property
    def spec(self) -> pathspec.GitIgnoreSpec:
        return _spec(self.paths)

    def matches(self, path: str, changed_lines: int) -> bool:
        if self.max_changed_lines is not None and changed_lines > self.max_changed_lines:
            return False
        return not self.paths or self.spec.match_file(path)


class FilesConfig(_Section):
    include: tuple[Glob, ...] = ("**",)
    exclude: tuple[Glob, ...] = ()
    default_excludes: Flag = True
    max_file_bytes: Whole = Field(500_000, ge=1)

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


class RulesFilesConfig(_Section):
    """The repository's own rules for AI tools (planning/rules.py), read from each target's base commit."""

    enabled: Flag = True
    add: tuple[RepoPath, ...] = ()  # more files, read like AGENTS.md (NAME.instructions.md: by its applyTo)
    remove: tuple[Word, ...] = ()  # paths or applyTo-style globs of files not to read
    max_tokens: Whole = Field(2000, ge=0, le=100_000)


class PullRequestsConfig(_Section):
    enabled: Flag = True
    labels: tuple[Word, ...] = ()
    exclude_labels: tuple[Word, ...] = ("no-batch-review",)
    skip_drafts: Flag = True
    skip_authors: tuple[Word, ...] = ("dependabot[bot]", "renovate[bot]")


class BranchPair(_Model):
    base: Text
    head: Text


class TargetsConfig(_Section):
    pull_requests: PullRequestsConfig = Field(default_factory=PullRequestsConfig)
    branches: tuple[BranchPair, ...] = ()


class BudgetConfig(_Section):
    max_cost_usd: Number | None = Field(5.0, ge=0)
    max_requests: Whole | None = Field(5000, ge=0)
    on_exceed: Literal["skip", "fit"] = "skip"
    # the organization's batch queue per model (ledger/queue.py): parts fit it, and go out as it has room
    max_enqueued_tokens: Whole | None = Field(None, ge=1000, le=100_000_000_000)


class OutputConfig(_Section):
    mode: Literal["review", "check", "both"] = "review"
    min_severity: Severity = "low"
    check_name: Text = "batch-review"
    fail_on: Severity | None = None
    post_on_closed: Flag = False
    max_resubmits: Whole = Field(2, ge=0, le=10)
    sarif_dir: Text | None = None
    # who our token writes as; only its markers are believed
    bot_login: Login = "github-actions[bot]"
    summary: Flag = True
    # GitHub's secondary rate limits for content-creating requests; poll paces its writes under them and
    # stops cleanly (the next poll goes on) when the hour's are used. Lower them if other automation writes
    # as the same identity; a GitHub Enterprise Server may allow more.
    writes_per_minute: Whole = Field(80, ge=1, le=10_000)
    writes_per_hour: Whole = Field(500, ge=1, le=1_000_000)


class VerifyConfig(_Section):
    """The verify round: each finding checked a second time, in a second batch, before it is posted."""

    enabled: Flag = True
    min_severity: Severity | None = None  # null: output.min_severity (every finding that would be posted)
    model: Text | None = None  # null: the review's model
    deadline_hours: Number = Field(12.0, gt=0, le=168)  # then the findings are posted, marked unverified
    max_request_chars: Whole = Field(60_000, ge=2_000, le=1_000_000)


class ArtifactsConfig(_Section):
    prefix: Prefix = "batch-review-"
    # the workflow files whose scheduled or dispatched runs on the default branch may upload manifests
    workflows: tuple[Workflow, ...] = Field(
        (".github/workflows/batch-review-submit.yml", ".github/workflows/batch-review-poll.yml"),
        json_schema_extra={"minItems": 1})

    @model_validator(mode="after")
    def _some_workflow(self) -> ArtifactsConfig:
        if not self.workflows:
            raise problem("is empty: no artifact could be trusted", "the paths of the submit and poll workflow "
                          "files", at="workflows")
        return self


class DismissalsConfig(_Section):
    # what people did with our earlier comments (👎, a reply, a resolved thread) keeps a finding from coming back
    enabled: Flag = True
    # the team's dismissals across pull requests: a signed file the poll writes (needs the signing key)
    memory: Flag = True
    memory_dir: Text = ".batch-review-memory"
    max_entries: Whole = Field(500, ge=1, le=10_000)
    max_age_days: Whole = Field(180, ge=1, le=3650)
    max_prompt_tokens: Whole = Field(600, ge=0, le=20_000)


class PriceEntry(_Model):  # what a user writes under `prices:`; pricing.ModelPrice is the core's record

    input: Number = Field(ge=0)
    output: Number = Field(ge=0)
    cached_input: Number | None = Field(None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _priced(cls, data: Any) -> Any:
        if data is None or (isinstance(data, dict) and not {"input", "output"} <= set(data)):
            raise problem("needs input and output (US dollars per million tokens)")
        return data


class ProviderConfig(_Section):
    model_config = ConfigDict(json_schema_extra={  # editors see the rule _endpoint_is_azure checks
        "if": {"required": ["name"], "properties": {"name": {"const": "azure"}}},
        "else": {"properties": {"azure_endpoint": {"type": "null"}}}})
    name: Literal["openai", "azure", "anthropic"] = "openai"
    base_url: Url | None = None  # the API's base URL for any provider (a gateway, a compatible service)
    azure_endpoint: Url | None = None
    api_version: Text = "2024-10-21"

    @model_validator(mode="after")
    def _endpoint_is_azure(self) -> ProviderConfig:
        if self.azure_endpoint is not None and self.name != "azure":
            raise problem(f"is only used with provider.name azure, not {self.name}", "null", at="azure_endpoint")
        return self

    def batch_url(self, endpoint: str) -> str:
        """The url of each JSONL line and the batch's endpoint: Azure's batch API takes them without /v1."""
        return endpoint.removeprefix("/v1") if self.name == "azure" else endpoint


class Config(_Model):
    model: Text = "gpt-5-mini"
    # provider anthropic: the Messages API, /v1/messages (set by _messages_for_anthropic, never configured)
    endpoint: Literal["/v1/chat/completions", "/v1/responses"] = "/v1/chat/completions"
    max_output_tokens: Whole = Field(4096, ge=1, le=1_000_000)
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = "low"
    temperature: Number | None = Field(None, ge=0, le=2)
    instructions: Text | None = DEFAULT_INSTRUCTIONS  # null: the built-in instructions
    path_instructions: tuple[PathInstruction, ...] = ()
    files: FilesConfig = Field(default_factory=FilesConfig)
    context_lines: Whole = Field(3, ge=3, le=100)
    max_input_tokens: Whole = Field(16000, ge=1000, le=2_000_000)
    request_unit: Literal["target", "file"] = "target"
    max_description_chars: Whole = Field(2000, ge=0, le=100_000)
    targets: TargetsConfig = Field(default_factory=TargetsConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    verify: VerifyConfig = Field(default_factory=VerifyConfig)
    artifacts: ArtifactsConfig = Field(default_factory=ArtifactsConfig)
    dismissals: DismissalsConfig = Field(default_factory=DismissalsConfig)
    prices: dict[Annotated[str, Strict()], PriceEntry] = Field(
        {}, json_schema_extra={"propertyNames": {"description": "model names"}})
    provider: ProviderConfig = Field(default_factory=ProviderConfig)
    routing: tuple[RoutingRule, ...] = ()
    incremental: Flag = True
    rules_files: RulesFilesConfig = Field(default_factory=RulesFilesConfig)

    @model_validator(mode="before")
    @classmethod
    def _no_endpoint_for_anthropic(cls, data: Any) -> Any:
        """`endpoint` is OpenAI's and Azure's choice; provider anthropic always sends Messages API requests."""
        provider = data.get("provider") if isinstance(data, dict) else None
        if isinstance(provider, dict) and provider.get("name") == "anthropic" and "endpoint" in data:
            raise problem(f"applies to OpenAI and Azure only; provider anthropic sends {ANTHROPIC_ENDPOINT}",
                          at="endpoint")
        return data

    @model_validator(mode="after")
    def _messages_for_anthropic(self) -> Config:
        if self.provider.name == "anthropic":  # not a configurable value, so set past the Literal's check
            object.__setattr__(self, "endpoint", ANTHROPIC_ENDPOINT)
        return self

    @model_validator(mode="after")
    def _a_request_fits_the_queue(self) -> Config:
        limit = self.budget.max_enqueued_tokens
        if limit is not None and limit < self.max_input_tokens:
            raise problem(f"is {limit:,}, below max_input_tokens ({self.max_input_tokens:,}): one request could "
                          "fill the queue", "max_input_tokens or more, or null", at="budget.max_enqueued_tokens")
        return self

    @field_validator("instructions")
    @classmethod
    def _builtin_instructions(cls, value: str | None) -> str:
        return DEFAULT_INSTRUCTIONS if value is None else value

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


# --- schema and loading ----------------------------------------------------------------------------------

class _Schema(GenerateJsonSchema):
    def field_title_should_be_set(self, schema) -> bool:  # the key is the title; no "Max Output Tokens"
        return False


@functools.cache
def json_schema() -> dict:
    """The configuration's JSON Schema (draft 2020-12), as published in schema/batch-review.schema.json."""
    schema = Config.model_json_schema(schema_generator=_Schema)
    schema["title"] = "batch-review configuration (.github/batch-review.yml)"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_URL, **schema}


def from_mapping(data: Any, source: str) -> Config:
    """The configuration from parsed YAML, or a ConfigError with the first problem."""
    try:
        return Config.model_validate({} if data is None else data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {explain(exc.errors(include_url=False)[0], json_schema())}") from None


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
    return from_mapping(read_yaml(p, source), source)


def apply_overrides(cfg: Config, *, model: str | None = None) -> Config:
    if model is not None:
        if not model.strip():
            raise ConfigError("--model: must not be empty")
        cfg = cfg.model_copy(update={"model": model})
    return cfg
