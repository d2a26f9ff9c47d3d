"""The GitHub Actions log: workflow commands (error, warning, notice, group, add-mask) and plain lines.

Outside Actions the same calls print plain lines ("error: …") to stderr, so the CLI behaves the same in a
terminal. Everything printed here passes through `redact.redact` first: `error`, `warning`, `notice`,
`echo` and (through `redacting_streams`, which `cli.main` wraps every command in) any other line on stdout
or stderr. The one exception is `mask`, whose `::add-mask::` command has to name the secret for the runner
to hide it. Text that anyone else wrote (a pull request's title, a model's words) goes out through `echo`
or `inert`, so it cannot become a workflow command.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from collections.abc import Iterator, Mapping

from ..core.redact import redact, register


def in_actions(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(kind: str, message: str, properties: Mapping[str, object]) -> None:
    message = redact(message)
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


# What the Actions runner reads as a workflow command in a line of a step's output (actions/runner,
# ActionCommand.TryParseV2: the line, leading whitespace trimmed, starts with "::"; TryParse: "##[" anywhere);
# it splits lines at \r as well as \n
_RUNNER_COMMAND = re.compile(r"(?:^|(?<=[\r\n]))[^\S\r\n]*:(?=:)|##(?=\[)")


def inert(text: str) -> str:
    """`text` that the runner shows and does not execute: a pull request's title or file name, a model's or
    a service's words cannot annotate, mask, set outputs or stop commands. A word joiner (invisible)
    goes between the two characters that would start a command."""
    return _RUNNER_COMMAND.sub(lambda m: m.group(0) + "\u2060", text)


def echo(text: str = "") -> None:
    """A plain line (or lines) on stdout: never a workflow command, whoever wrote the text."""
    print(inert(redact(str(text))), flush=True)


def mask(value: str, environ: Mapping[str, str] = os.environ) -> None:
    """Hide a secret: from our own output (always) and, inside Actions, from the runner's log."""
    register(value)
    if value and in_actions(environ):
        out = _unredacted(sys.stdout)
        for line in value.splitlines():
            if line.strip():
                out.write(f"::add-mask::{line}\n")
        out.flush()


class _Redacting(io.TextIOBase):
    """A text stream that redacts each whole line before passing it on (a secret split over two writes
    is still caught: nothing goes out before its line ends, or on flush)."""

    def __init__(self, inner) -> None:
        super().__init__()
        self.inner = inner
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            done, self._pending = self._pending.rsplit("\n", 1)
            self.inner.write(redact(done) + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self.inner.write(redact(self._pending))
            self._pending = ""
        self.inner.flush()

    def isatty(self) -> bool:
        return self.inner.isatty()

    @property
    def encoding(self):  # noqa: D401 - mirrors the wrapped stream
        return getattr(self.inner, "encoding", "utf-8")


def redacted_excepthook(kind, value, tb) -> None:
    """A bug's traceback, as Python prints it, with secrets redacted (for sys.excepthook)."""
    import traceback

    sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb))))


def _unredacted(stream):
    if isinstance(stream, _Redacting):
        stream.flush()
        return stream.inner
    return stream


@contextlib.contextmanager
def redacting_streams() -> Iterator[None]:
    """stdout and stderr redacted line by line for the duration (tracebacks and stray prints included)."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Redacting(saved[0]), _Redacting(saved[1])
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        sys.stdout, sys.stderr = saved


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
