"""The configuration's value types and base models: each type carries its check, and the JSON Schema says
the same (models.py builds the configuration from them). A value that fails its check is one line through
file.problem: what is wrong, and what is allowed."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pathspec
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, model_validator

from ..core.vocabulary import SEVERITIES
from .file import problem


def _spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


def _glob(pattern: str) -> str:
    try:
        _spec((pattern,))
    except Exception as exc:  # noqa: BLE001 - pathspec raises several types for bad patterns
        raise problem(f"invalid glob {pattern!r}: {exc}", "gitignore patterns") from exc
    return pattern


def _repo_path(path: str) -> str:
    if path.startswith("/") or "\\" in path or any(not p or p in (".", "..") for p in path.split("/")) \
            or not path.isprintable():
        raise problem(f"{path!r} is not a path inside the repository", "a path from the repository's root, "
                      "such as docs/REVIEW.md")
    return path


def _matching(pattern: str, message: str) -> Any:
    """A string matching `pattern`; `message` is what editors and our error line say when it does not."""
    return Annotated[str, Strict(), Field(pattern=pattern, json_schema_extra={"patternErrorMessage": message})]


Whole = Annotated[int, Strict()]
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Flag = Annotated[bool, Strict()]
Text = _matching(r"\S", "must not be empty")
Word = Annotated[str, Strict(), Field(min_length=1)]  # an item of a list of strings
Glob = Annotated[str, Strict(), Field(min_length=1), AfterValidator(_glob)]
RepoPath = Annotated[str, Strict(), Field(min_length=1), AfterValidator(_repo_path)]
Url = _matching(r"^https?://", "is not an http(s) URL")
Login = _matching(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}(\[bot\])?$", "is not a GitHub login; allowed: a user name, or "
                  "an app's bot login such as my-app[bot]")
Prefix = _matching(r"^[A-Za-z0-9._-]{1,64}$", "is not a valid artifact name prefix; allowed: 1 to 64 letters, "
                   "digits, '.', '_' or '-'")
Workflow = _matching(r"^\.github/workflows/([A-Za-z0-9_-][A-Za-z0-9._-]*/)*[A-Za-z0-9_-][A-Za-z0-9._-]*\.ya?ml$",
                     "is not a workflow file of this repository; allowed: a path like .github/workflows/NAME.yml")
Severity = Literal[SEVERITIES]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Section(_Model):
    """A mapping with a default for every key; `section:` with nothing under it means the defaults."""

    @model_validator(mode="before")
    @classmethod
    def _null_is_defaults(cls, data: Any) -> Any:
        return {} if data is None else data
