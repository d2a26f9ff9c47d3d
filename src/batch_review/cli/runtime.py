"""Settings read once from the environment, and the rules every command applies to them.

`Settings.from_environ` reads every variable the commands use, once, after the action's inputs have become
variables (actions_env.environment_from_inputs); nothing else in the package reads the environment for
them. One rule per setting, used by every command (the clients built from them are in `clients`): which
repository this is (`repository`), where the state directory is and that it can be written
(`writable_state_dir`), which models the configuration may send (`check_models`: each of the provider's
family, exit 2; `check_prices`: each priced while budget.max_cost_usd is set, exit 3), and which refs a
branch pair names (`one_kind_of_target`, `branch_pair`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..config.families import foreign_model
from ..config.models import DEFAULT_CONFIG_PATH, apply_overrides, load_config
from ..core.errors import BadInput, ConfigError, OverBudget, RepositoryError, UsageError, from_os_error
from ..core.provenance import KEY_ENV as SIGNING_KEY_ENV
from ..planning.budget import unpriced
from ..providers.base import DEFAULT_ANTHROPIC_BASE_URL, DEFAULT_OPENAI_BASE_URL
from . import actions_log

TIMEOUT_ENV = "BATCH_REVIEW_HTTP_TIMEOUT"  # seconds per HTTP request to either service
KEY_ENV = ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "ANTHROPIC_API_KEY")


@dataclass(frozen=True)
class Settings:
    """What the environment says, read once (variables that are unset or blank are empty strings)."""

    github_token: str = field(default="", repr=False)
    github_repository: str = ""
    github_api_url: str = ""
    github_server_url: str = "https://github.com"
    in_actions: bool = False
    openai_base_url: str = ""
    anthropic_base_url: str = ""
    azure_endpoint: str = ""
    http_timeout: str = ""  # TIMEOUT_ENV as written; checked when a client is made
    keys: Mapping[str, str] = field(default_factory=dict, repr=False)  # KEY_ENV variable -> key
    signing_key: str = field(default="", repr=False)  # provenance.KEY_ENV as written; parsed by `provenance`

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        get = environ.get
        return cls(
            github_token=get("GITHUB_TOKEN", ""), github_repository=get("GITHUB_REPOSITORY", ""),
            github_api_url=get("GITHUB_API_URL", ""),
            github_server_url=(get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/"),
            in_actions=actions_log.in_actions(environ), openai_base_url=get("OPENAI_BASE_URL", ""),
            anthropic_base_url=get("ANTHROPIC_BASE_URL", ""),
            azure_endpoint=get("AZURE_OPENAI_ENDPOINT", ""), http_timeout=get(TIMEOUT_ENV, ""),
            keys={v: get(v, "").strip() for v in KEY_ENV if get(v, "").strip()},
            signing_key=get(SIGNING_KEY_ENV, "").strip(),
        )


def http_timeout(settings: Settings, default: float) -> float:
    value = settings.http_timeout
    try:
        return float(value) if value else default
    except ValueError:
        raise UsageError(f"{TIMEOUT_ENV}: {value!r} is not a number of seconds") from None


def load(args, settings: Settings | None = None):
    """The configuration: --config, else .github/batch-review.yml in the repository if it exists, with
    --model applied; every model it can send must belong to the provider (`check_models`)."""
    path = config_path(args)
    cfg = load_config(path, required=bool(args.config))
    if getattr(args, "model", None):
        cfg = apply_overrides(cfg, model=args.model)
    check_models(cfg, model_sources(cfg, path, args), own_service=own_service(cfg, settings or Settings()),
                 provider_from=path if Path(path).is_file() else "")
    return cfg


def config_path(args) -> str:
    return args.config or str(Path(getattr(args, "repo", ".")) / DEFAULT_CONFIG_PATH)


def model_sources(cfg, path: str, args) -> list[tuple[str, type[BadInput], str]]:
    """(where it was set, the error that names it, model) for every model the configuration can send."""
    if getattr(args, "model", None):
        flag = "the action's model input" if getattr(args, "via_action", False) else "--model"
        sources = [(flag, UsageError, cfg.model)]
    else:
        sources = [(f"{path}: model", ConfigError, cfg.model)]
    verify = [(f"{path}: verify.model", ConfigError, cfg.verify.model)] if cfg.verify.model else []
    return sources + [(f"{path}: routing[{i}].model", ConfigError, r.model) for i, r in enumerate(cfg.routing)] + verify


def own_service(cfg, settings: Settings) -> bool:
    """Whether requests go to the provider's own service (its default URL), not a gateway or Azure."""
    if cfg.provider.name == "azure":
        return False
    return base_url(cfg, settings) in (DEFAULT_OPENAI_BASE_URL, DEFAULT_ANTHROPIC_BASE_URL)


def base_url(cfg, settings: Settings) -> str:
    """The batch service's base URL as configured (clients.provider_base_url masks its credentials)."""
    if cfg.provider.name == "anthropic":
        return (cfg.provider.base_url or settings.anthropic_base_url or DEFAULT_ANTHROPIC_BASE_URL).rstrip("/")
    if cfg.provider.name == "azure":
        endpoint = cfg.provider.azure_endpoint or settings.azure_endpoint
        if not endpoint:
            raise UsageError("provider.name azure needs provider.azure_endpoint or AZURE_OPENAI_ENDPOINT")
        return endpoint.rstrip("/")
    return (cfg.provider.base_url or settings.openai_base_url or DEFAULT_OPENAI_BASE_URL).rstrip("/")


def check_models(cfg, sources, *, own_service: bool, provider_from: str) -> None:
    """A model of the other provider's family (a Claude model with provider openai) is one line, exit 2,
    before anything is built or sent; the line says where the model and the provider were set."""
    where = f" (in {provider_from})" if provider_from else " (the default)"
    for source, error, model in sources:
        problem = foreign_model(cfg, model, own_service=own_service, where=where)
        if problem:
            raise error(f"{source}: {problem}")


def check_prices(cfg, args) -> None:
    """With budget.max_cost_usd set, a model with no known price is one line, exit 3 (the cost guard
    cannot hold), the dry run included: nothing is built or sent."""
    for source, _, model in model_sources(cfg, config_path(args), args):
        problem = unpriced(cfg, model)
        if problem:
            raise OverBudget(f"{source}: {problem}")


def one_kind_of_target(args) -> None:
    """--base/--head review a branch pair of the checkout and --pr picks pull requests: not both."""
    if args.pr and (args.base or args.head):
        flags = " and ".join(f for f, v in (("--base", args.base), ("--head", args.head)) if v)
        raise UsageError(f"--pr cannot be combined with {flags}: --pr reviews pull requests of GITHUB_REPOSITORY, "
                         "--base/--head a branch pair of the checkout; pass one or the other")


def branch_pair(args, git, settings: Settings) -> None:
    """Each ref --base/--head name must be in the checkout; if not, one line names the flag and the
    `git fetch` that brings it (in Actions also the checkout's fetch-depth)."""
    for flag, ref in (("--base", args.base), ("--head", args.head)):
        if ref:
            try:
                git.rev_parse(ref, flag=flag)
            except RepositoryError as exc:
                if settings.in_actions and "git fetch" in str(exc):
                    raise RepositoryError(f"{exc} (in GitHub Actions, actions/checkout with fetch-depth: 0 "
                                          "fetches every branch)") from None
                raise


def repository(settings: Settings, git) -> str:
    """owner/name of the repository under review: GITHUB_REPOSITORY, else the checkout's GitHub remote,
    else local/<folder name>."""
    return settings.github_repository or git.remote_repository() or f"local/{git.toplevel().name}"


def writable_dir(path: str | os.PathLike, what: str) -> Path:
    """A folder the command will write into, created if needed and proven writable before anything is
    sent or posted: a StateError naming `what` otherwise."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise from_os_error(f"{what} {path}: cannot write there", exc) from exc
    return path


def writable_state_dir(args) -> Path:
    return writable_dir(args.state_dir, "--state-dir")
