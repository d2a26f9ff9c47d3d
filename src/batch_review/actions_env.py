"""The only module that knows GitHub Actions conventions: inputs, outputs, job summary, log commands.

Outside Actions the same calls print plain lines ("error: …") to stderr and write nothing else, so the
CLI behaves the same in a terminal. Inputs reach a Docker action as INPUT_<NAME> variables, the name
upper-cased with its dashes kept (INPUT_OPENAI-API-KEY); underscores are accepted too.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import sys
from collections.abc import Iterator, Mapping

OUTPUTS = ("batch-ids", "requests-submitted", "pending-batches", "reviews-posted", "estimated-cost", "actual-cost")
COMMANDS = ("submit", "poll", "status", "cancel")
# input name -> environment variable the CLI reads
SECRET_INPUTS = {"openai-api-key": "OPENAI_API_KEY", "github-token": "GITHUB_TOKEN"}
ENV_INPUTS = {**SECRET_INPUTS, "openai-base-url": "OPENAI_BASE_URL"}
ARG_INPUTS = ("command", "config", "model", "dry-run", "artifact-prefix", "pull-requests", "state-dir",
              "batch-ids")
INPUTS = tuple(ENV_INPUTS) + ARG_INPUTS
DEFAULT_CONFIG = ".github/batch-review.yml"
SUMMARY_LIMIT = 1024 * 1024 - 4096  # GitHub refuses a step summary over 1 MiB


class InputError(ValueError):
    """An action input with a value the action cannot use (one line naming the input)."""


def in_actions(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true"


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


def argv_from_inputs(environ: Mapping[str, str]) -> list[str]:
    """The CLI arguments the action's inputs stand for."""
    command = get_input(environ, "command") or "submit"
    if command not in COMMANDS:
        raise InputError(f"input command: {command!r} is not one of {', '.join(COMMANDS)}")
    argv = [command]
    config = get_input(environ, "config")
    if config and config != DEFAULT_CONFIG:  # the default may be absent: then the built-in defaults apply
        argv += ["--config", config]
    state_dir = get_input(environ, "state-dir")
    if state_dir:
        argv += ["--state-dir", state_dir]
    dry_run = _bool(environ, "dry-run")
    prefix = get_input(environ, "artifact-prefix")
    model = get_input(environ, "model")
    prs = [p for p in re.split(r"[\s,]+", get_input(environ, "pull-requests")) if p]
    for p in prs:
        if not p.lstrip("#").isdigit():
            raise InputError(f"input pull-requests: {p!r} is not a pull request number")
    batch_ids = [b for b in re.split(r"[\s,]+", get_input(environ, "batch-ids")) if b]
    if command == "submit":
        if dry_run:
            argv.append("--dry-run")
        if model:
            argv += ["--model", model]
        for p in prs:
            argv += ["--pr", p.lstrip("#")]
    elif command == "poll" and dry_run:
        argv.append("--dry-run")
    if prefix:
        argv += ["--artifact-prefix", prefix]
    if command in ("poll", "status", "cancel") or (command == "submit" and in_actions(environ)):
        argv.append("--artifacts")
    if command == "cancel":
        if not batch_ids:
            raise InputError("input batch-ids: cancel needs batch ids, or 'all'")
        argv += ["--all"] if batch_ids == ["all"] else batch_ids
    return argv


# --- workflow commands ---------------------------------------------------------------------------------

def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(kind: str, message: str, properties: Mapping[str, object]) -> None:
    if in_actions():
        props = ",".join(f"{k}={_escape_property(str(v))}" for k, v in properties.items() if v is not None)
        print(f"::{kind}{' ' + props if props else ''}::{_escape_data(message)}", flush=True)
    else:
        where = ""
        if properties.get("file"):
            where = f"{properties['file']}{':' + str(properties['line']) if properties.get('line') else ''}: "
        print(f"{kind}: {where}{message}", file=sys.stderr, flush=True)


def error(message: str, file: str | None = None, line: int | None = None) -> None:
    _command("error", message, {"file": file, "line": line})


def warning(message: str, file: str | None = None, line: int | None = None) -> None:
    _command("warning", message, {"file": file, "line": line})


def notice(message: str) -> None:
    _command("notice", message, {})


def mask(value: str, environ: Mapping[str, str] = os.environ) -> None:
    if value and in_actions(environ):
        for line in value.splitlines():
            if line.strip():
                print(f"::add-mask::{line}", flush=True)


@contextlib.contextmanager
def group(title: str) -> Iterator[None]:
    if in_actions():
        print(f"::group::{_escape_data(title)}", flush=True)
        try:
            yield
        finally:
            print("::endgroup::", flush=True)
    else:
        yield


def set_output(name: str, value: str, environ: Mapping[str, str] = os.environ) -> None:
    path = environ.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        if "\n" in value or "\r" in value:
            delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
            fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            fh.write(f"{name}={value}\n")


def append_summary(markdown: str, environ: Mapping[str, str] = os.environ) -> None:
    path = environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    used = os.path.getsize(path) if os.path.exists(path) else 0
    room = SUMMARY_LIMIT - used
    if room <= 0:
        return
    if len(markdown.encode()) > room:
        note = "\n\n(summary truncated: GitHub keeps at most 1 MiB)\n"
        markdown = markdown.encode()[: room - len(note)].decode("utf-8", "ignore") + note
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(markdown)
