"""The configured clients and stores a command uses: GitHub, the batch service, the signing key, the store.

Each is built from the configuration and `runtime.Settings` (the environment, read once), and each secret
it needs (the GitHub token, the provider key, the signing key, any credential in the provider's base URL)
is masked in the log before the client exists. The clients' libraries are imported here, on first use, so
a dry run imports neither SDK. The one key rule lives here: `key_variables` names, in order, the variables
that may hold the configured provider's key, and `api_key` says where to put it when none does.
"""

from __future__ import annotations

from ..core.errors import UsageError
from ..core.markers import Identity
from ..core.provenance import Provenance, SigningKey
from ..core.redact import url_secrets
from ..ledger.store import ArtifactStore, LocalStore
from ..providers.base import BatchProvider
from . import actions_log
from .runtime import Settings, base_url, http_timeout


def github(settings: Settings, *, required: bool):
    """The GitHub client for GITHUB_REPOSITORY, or None without a token and repository (unless required)."""
    token, repository = settings.github_token, settings.github_repository
    if not token or not repository:
        if required:
            raise UsageError("GITHUB_TOKEN and GITHUB_REPOSITORY must be set (owner/name) to talk to GitHub")
        return None
    actions_log.mask(token)
    if repository.count("/") != 1 or not all(repository.split("/")):
        raise UsageError(f"GITHUB_REPOSITORY must be owner/name, not {repository!r}")
    from ..github.api import GitHubAPI

    return GitHubAPI(token, repository, settings.github_api_url or None, timeout=http_timeout(settings, 30))


def provenance(cfg, settings: Settings, repository: str) -> Provenance:
    """Who we write as and the signing key, if any (a bad key is one ConfigError line; the key is masked)."""
    key = None
    if settings.signing_key:
        actions_log.mask(settings.signing_key)
        key = SigningKey.parse(settings.signing_key)
    return Provenance(Identity(cfg.output.bot_login), repository, key)


def provider_base_url(cfg, settings: Settings) -> str:
    """The batch service's base URL, whole (the client needs it so); every part of it that may be a
    credential (userinfo, path segments, query values: redact.url_secrets) masked in the log first. The
    manifest records only its scheme, host and port (manifest.provider_record)."""
    url = base_url(cfg, settings)
    for secret in url_secrets(url):
        actions_log.mask(secret)
    return url


def key_variables(cfg) -> tuple[str, ...]:
    """The environment variables that may hold the API key, in order of precedence."""
    return {"azure": ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY"),
            "anthropic": ("ANTHROPIC_API_KEY",)}.get(cfg.provider.name, ("OPENAI_API_KEY",))


def api_key(cfg, settings: Settings, *, why: str = "") -> str:
    """The API key for the configured provider (masked), or a UsageError naming where to put it."""
    for variable in key_variables(cfg):
        key = settings.keys.get(variable, "")
        if key:
            actions_log.mask(key)
            return key
    names = " or ".join(key_variables(cfg))
    action_input = "anthropic-api-key" if cfg.provider.name == "anthropic" else "openai-api-key"
    raise UsageError(f"{names} is not set (the action's {action_input} input){'; ' + why if why else ''}")


def batch_client(cfg, settings: Settings) -> BatchProvider:
    """The configured batch service (providers.BatchProvider); its client library is imported here."""
    key = api_key(cfg, settings)
    if cfg.provider.name == "anthropic":
        from ..providers.anthropic_batches import AnthropicBatches

        return AnthropicBatches(key, provider_base_url(cfg, settings), timeout=http_timeout(settings, 120))
    from ..providers.openai_batches import OpenAIBatches

    azure = cfg.provider.api_version if cfg.provider.name == "azure" else None
    return OpenAIBatches(key, provider_base_url(cfg, settings), timeout=http_timeout(settings, 120),
                       azure_api_version=azure)


def manifest_store(args, cfg, gh, settings: Settings):
    if args.artifacts or (settings.in_actions and gh is not None):
        if gh is None:
            raise UsageError("--artifacts needs GITHUB_TOKEN and GITHUB_REPOSITORY")
        return ArtifactStore(gh, args.artifact_prefix or cfg.artifacts.prefix, workflows=cfg.artifacts.workflows)
    return LocalStore(args.state_dir)
