"""Turning flags and environment variables into the configured clients and stores every command uses.

One rule per setting, used by every command: which variable holds the API key (`api_key`), where the
state directory is and that it can be written (`writable_state_dir`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from . import actions_env
from .config import DEFAULT_CONFIG_PATH, apply_overrides, load_config
from .errors import UsageError, from_os_error
from .services import DEFAULT_OPENAI_BASE_URL
from .store import ArtifactStore, LocalStore

TIMEOUT_ENV = "BATCH_REVIEW_HTTP_TIMEOUT"  # seconds per HTTP request to either service


def http_timeout(default: float) -> float:
    value = os.environ.get(TIMEOUT_ENV, "")
    try:
        return float(value) if value else default
    except ValueError:
        raise UsageError(f"{TIMEOUT_ENV}: {value!r} is not a number of seconds") from None


def load(args):
    """The configuration: --config, else .github/batch-review.yml in the repository if it exists."""
    path = args.config or str(Path(getattr(args, "repo", ".")) / DEFAULT_CONFIG_PATH)
    cfg = load_config(path, required=bool(args.config))
    if getattr(args, "model", None):
        cfg = apply_overrides(cfg, model=args.model)
    return cfg


def github_from_env(*, required: bool):
    token = os.environ.get("GITHUB_TOKEN", "")
    repository = os.environ.get("GITHUB_REPOSITORY", "")
    if not token or not repository:
        if required:
            raise UsageError("GITHUB_TOKEN and GITHUB_REPOSITORY must be set (owner/name) to talk to GitHub")
        return None
    actions_env.mask(token)
    if repository.count("/") != 1 or not all(repository.split("/")):
        raise UsageError(f"GITHUB_REPOSITORY must be owner/name, not {repository!r}")
    from .github_api import GitHubAPI

    return GitHubAPI(token, repository, os.environ.get("GITHUB_API_URL") or None, timeout=http_timeout(30))


def provider_base_url(cfg) -> str:
    if cfg.provider.name == "azure":
        endpoint = cfg.provider.azure_endpoint or os.environ.get("AZURE_OPENAI_ENDPOINT")
        if not endpoint:
            raise UsageError("provider.name azure needs provider.azure_endpoint or AZURE_OPENAI_ENDPOINT")
        return endpoint.rstrip("/")
    return (cfg.provider.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_OPENAI_BASE_URL).rstrip("/")


def key_variables(cfg) -> tuple[str, ...]:
    """The environment variables that may hold the API key, in order of precedence."""
    return ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY") if cfg.provider.name == "azure" else ("OPENAI_API_KEY",)


def api_key(cfg, *, why: str = "") -> str:
    """The API key for the configured provider (masked), or a UsageError naming where to put it."""
    for variable in key_variables(cfg):
        key = os.environ.get(variable, "").strip()
        if key:
            actions_env.mask(key)
            return key
    names = " or ".join(key_variables(cfg))
    raise UsageError(f"{names} is not set (the action's openai-api-key input){'; ' + why if why else ''}")


def batch_client(cfg):
    key = api_key(cfg)
    from .openai_batches import BatchClient

    azure = cfg.provider.api_version if cfg.provider.name == "azure" else None
    return BatchClient(key, provider_base_url(cfg), timeout=http_timeout(120), azure_api_version=azure)


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


def manifest_store(args, cfg, gh):
    if args.artifacts or (actions_env.in_actions(os.environ) and gh is not None):
        if gh is None:
            raise UsageError("--artifacts needs GITHUB_TOKEN and GITHUB_REPOSITORY")
        return ArtifactStore(gh, args.artifact_prefix or cfg.artifacts.prefix, workflows=cfg.artifacts.workflows)
    return LocalStore(args.state_dir)
