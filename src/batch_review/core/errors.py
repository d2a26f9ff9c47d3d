"""The product's errors: what went wrong, the exit code it stands for, and whether a later run may help.

Every failure the tool means to report is a BatchReviewError. `cli.main` prints its one line (redacted)
and exits with its `exit_code`; any other exception is a bug and shows its traceback.

    0  done
    1  a service failed (OpenAI, GitHub, or git fetching from the remote): `transient` says whether
       running again may succeed; the state is kept, so the next run resumes where this one stopped
    2  bad input: flags, environment, action inputs, configuration, the checkout, a manifest, the state
       directory. Nothing was sent; fix what the message names and run again
    3  over budget: nothing was sent

A service error's message is built from a service's answer, so it is clipped to one line and redacted
here, where it is made: wherever it goes next (log, job summary, a check run) it carries no secret.
Pure: imports no client.
"""

from __future__ import annotations

from .redact import redact

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_OVER_BUDGET = 0, 1, 2, 3
SERVICE_TEXT_LIMIT = 300  # characters of a service's own message kept in ours


class BatchReviewError(Exception):
    """Base of every error the tool reports on purpose."""

    exit_code = EXIT_FAILED
    transient = False
    label = ""  # printed before the message, e.g. "over budget"

    def line(self) -> str:
        """The one line the user sees."""
        return f"{self.label}: {self}" if self.label else str(self)


# --- bad input (2): the user must change something; running again as is gives the same answer ----------

class BadInput(BatchReviewError):
    exit_code = EXIT_BAD_INPUT


class UsageError(BadInput):
    """Bad flags or environment variables."""


class InputError(UsageError):
    """An action input with a value the action cannot use (one line naming the input)."""


class ConfigError(BadInput):
    """The configuration file cannot be used; the message names the file and the key."""


class ManifestError(BadInput):
    """A manifest that cannot be used; the message names what is wrong."""


class RepositoryError(BadInput):
    """The git checkout cannot be used; the message carries git's own words."""


class StateError(BadInput):
    """A folder or file the tool must write (the state directory, GITHUB_OUTPUT) cannot be written."""


# --- services (1) --------------------------------------------------------------------------------------

def _transient_status(status: int | None) -> bool:
    """No status (connection failure, timeout), 408, 409, 429 and 5xx may pass; other answers will not."""
    return not status or status in (408, 409, 429) or status >= 500


class ServiceError(BatchReviewError):
    """A service failed after the client's retries; `status` is the HTTP status (0/None: no answer)."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 transient: bool | None = None) -> None:
        super().__init__(service_text(message, limit=4 * SERVICE_TEXT_LIMIT))
        self.status = status
        self.retry_after = retry_after
        self.transient = _transient_status(status) if transient is None else transient


class BatchAPIError(ServiceError):
    """An OpenAI (or compatible service) call failed after the client's retries."""


class QueueFull(BatchAPIError):
    """The batch service refused to create a batch because its queue is full (Anthropic's 429): nothing
    was created or billed; the batch goes out again at a later run (ledger/queue.py)."""


class GitHubError(ServiceError):
    """A GitHub request failed; `status` is the HTTP status (0 for a connection failure)."""

    def __init__(self, status: int, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, status=status, retry_after=retry_after)


class FetchError(ServiceError):
    """`git fetch` from the remote failed: the remote (GitHub) or the network, not the checkout."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=None, transient=True)


# --- budget (3) ----------------------------------------------------------------------------------------

class OverBudget(BatchReviewError):
    """The requests would cost more than the configured budget and on_exceed is fail."""

    exit_code = EXIT_OVER_BUDGET
    label = "over budget"


# --- helpers -------------------------------------------------------------------------------------------

def service_text(text: object, *, limit: int = SERVICE_TEXT_LIMIT) -> str:
    """A service's words made safe to repeat: one line, no control characters, at most `limit`
    characters, secrets redacted. Never a whole response body."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())
    flat = redact(flat)
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def with_context(exc: BaseException, message: str) -> BatchReviewError | None:
    """An error of the same class (same exit code, same `transient`) as `exc` with a new message, for
    "…; nothing submitted" style context; a StateError for an OSError; None for anything else (a bug:
    let it propagate)."""
    if isinstance(exc, BatchReviewError):
        new = type(exc).__new__(type(exc))
        new.__dict__.update(exc.__dict__)
        new.args = (service_text(message, limit=4 * SERVICE_TEXT_LIMIT) if isinstance(exc, ServiceError)
                    else message,)
        return new
    if isinstance(exc, OSError):
        return StateError(message)
    return None


def from_os_error(what: str, exc: OSError) -> StateError:
    """`what: reason` for a file the tool had to read or write, as a StateError."""
    reason = exc.strerror or type(exc).__name__
    return StateError(f"{what}: {reason}")
