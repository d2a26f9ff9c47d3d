"""GitHub Actions' inputs and outputs: INPUT_* variables, step outputs and the job summary.

With `actions_log` (the log's workflow commands), the only code that knows GitHub Actions conventions.
Outside Actions nothing here writes anything, so the CLI behaves the same in a terminal. Inputs reach a
Docker action as INPUT_<NAME> variables, the name upper-cased with its dashes kept (INPUT_OPENAI-API-KEY);
underscores are accepted too. What is written (`set_output`, `append_summary`) passes through
`redact.redact` first.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping

from ..config.models import DEFAULT_CONFIG_PATH
from ..core.errors import InputError, from_os_error
from ..core.redact import redact, register
from .actions_log import in_actions, mask, warning

OUTPUTS = ("batch-ids", "requests-submitted", "pending-batches", "reviews-posted", "pending-reviews", "estimated-cost",
           "actual-cost")
COMMANDS = ("submit", "poll", "status", "cancel")
# input name -> environment variable the CLI reads
SECRET_INPUTS = {"openai-api-key": "OPENAI_API_KEY", "anthropic-api-key": "ANTHROPIC_API_KEY",
                 "github-token": "GITHUB_TOKEN", "signing-key": "BATCH_REVIEW_SIGNING_KEY"}
SECRET_ENV = ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GITHUB_TOKEN", "BATCH_REVIEW_SIGNING_KEY")
ENV_INPUTS = {**SECRET_INPUTS, "openai-base-url": "OPENAI_BASE_URL"}
ARG_INPUTS = ("command", "config", "model", "dry-run", "artifact-prefix", "pull-requests", "state-dir",
              "batch-ids")
INPUTS = tuple(ENV_INPUTS) + ARG_INPUTS
SUMMARY_LIMIT = 1024 * 1024 - 4096  # GitHub refuses a step summary over 1 MiB


def get_input(environ: Mapping[str, str], name: str) -> str:
    for key in (f"INPUT_{name.upper()}", f"INPUT_{name.upper().replace('-', '_')}"):
        if key in environ:
            return environ[key].strip()
    return ""


def _bool(environ: Mapping[str, str], name: str) -> bool:
    value = get_input(environ, name).lower()
    if value in ("", "false", "no", "0", "off"):
        return False
    if value in ("true", "yes", "1", "on"):
        return True
    raise InputError(f"input {name}: {value!r} is not true or false")


def environment_from_inputs(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables the CLI reads, taken from the action's inputs (secrets masked in the log first)."""
    env = {}
    for name, variable in ENV_INPUTS.items():
        value = get_input(environ, name)
        if value:
            if name in SECRET_INPUTS:
                mask(value)
            env[variable] = value
    return env


def _words(environ: Mapping[str, str], name: str) -> list[str]:
    """An input holding a list: words separated by spaces, commas or newlines."""
    return [w for w in re.split(r"[\s,]+", get_input(environ, name)) if w]


def _pull_requests(environ: Mapping[str, str]) -> list[str]:
    numbers = []
    for p in _words(environ, "pull-requests"):
        if not p.lstrip("#").isdigit():
            raise InputError(f"input pull-requests: {p!r} is not a pull request number")
        numbers.append(p.lstrip("#"))
    return numbers


def _command_flags(command: str, environ: Mapping[str, str]) -> list[str]:
    """--dry-run, --model and --pr, where the command takes them (the inputs are checked whatever it is)."""
    dry_run, prs, model = _bool(environ, "dry-run"), _pull_requests(environ), get_input(environ, "model")
    flags = ["--dry-run"] if dry_run and command in ("submit", "poll") else []
    if command == "submit":
        flags += ["--model", model] if model else []
        flags += [arg for number in prs for arg in ("--pr", number)]
    return flags


def argv_from_inputs(environ: Mapping[str, str]) -> list[str]:
    """The CLI arguments the action's inputs stand for."""
    command = get_input(environ, "command") or "submit"
    if command not in COMMANDS:
        raise InputError(f"input command: {command!r} is not one of {', '.join(COMMANDS)}")
    argv = [command]
    config = get_input(environ, "config")
    if config and config != DEFAULT_CONFIG_PATH:  # the default may be absent: then the built-in defaults apply
        argv += ["--config", config]
    state_dir = get_input(environ, "state-dir")
    argv += ["--state-dir", state_dir] if state_dir else []
    argv += _command_flags(command, environ)
    prefix = get_input(environ, "artifact-prefix")
    argv += ["--artifact-prefix", prefix] if prefix else []
    if command != "submit" or in_actions(environ):  # inside Actions, manifests live in workflow artifacts
        argv.append("--artifacts")
    if command == "cancel":
        batch_ids = _words(environ, "batch-ids")
        if not batch_ids:
            raise InputError("input batch-ids: cancel needs batch ids, or 'all'")
        argv += ["--all"] if batch_ids == ["all"] else batch_ids
    return argv


def register_secrets(environ: Mapping[str, str]) -> None:
    """Every secret the environment holds (the variables and the action inputs they come from)."""
    for variable in SECRET_ENV:
        register(environ.get(variable))
    for name in SECRET_INPUTS:
        register(get_input(environ, name))


def set_output(name: str, value: str, environ: Mapping[str, str] = os.environ) -> None:
    path = environ.get("GITHUB_OUTPUT")
    if not path:
        return
    value = redact(value)
    try:
        with open(path, "a", encoding="utf-8") as fh:
            if "\n" in value or "\r" in value:
                delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
                fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
            else:
                fh.write(f"{name}={value}\n")
    except OSError as exc:  # the runner's file: later steps would read a missing output
        raise from_os_error(f"GITHUB_OUTPUT {path}: cannot write the {name} output", exc) from exc


def check_output_file(environ: Mapping[str, str] = os.environ) -> None:
    """GITHUB_OUTPUT can be appended to: checked before anything is sent, so that a run cannot post and
    then fail for want of its outputs."""
    path = environ.get("GITHUB_OUTPUT")
    if path:
        try:
            with open(path, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise from_os_error(f"GITHUB_OUTPUT {path}: cannot write the step outputs", exc) from exc


def append_summary(markdown: str, environ: Mapping[str, str] = os.environ) -> None:
    path = environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    markdown = redact(markdown)
    try:
        _append_summary(path, markdown)
    except OSError as exc:  # the summary is a convenience: the log has the same facts
        warning(f"GITHUB_STEP_SUMMARY {path}: cannot write the job summary: {exc.strerror or exc}")


def _append_summary(path: str, markdown: str) -> None:
    used = os.path.getsize(path) if os.path.exists(path) else 0
    room = SUMMARY_LIMIT - used
    if room <= 0:
        return
    if len(markdown.encode()) > room:
        note = "\n\n(summary truncated: GitHub keeps at most 1 MiB)\n"
        markdown = markdown.encode()[: room - len(note)].decode("utf-8", "ignore") + note
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(markdown)
