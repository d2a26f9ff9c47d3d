"""Which provider a model name belongs to (`family_of`), and why a model cannot go to the configured
provider (`foreign_model`): a name of the other provider's family would fail there and be priced as the
other's."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Config

# Names plainly of a provider's own family (gpt-oss is open-weight: no one's); any other name fits any provider.
FAMILIES = {"anthropic": ("a Claude model", re.compile(r"claude-", re.IGNORECASE)),
            "openai": ("an OpenAI model", re.compile(r"(?:ft:)?(?:gpt-(?!oss)|chatgpt-|o\d+(?:-|$)|codex-|computer-use-)",
                                                    re.IGNORECASE))}
PROVIDERS = {"openai": ("openai", "OpenAI's Batch API"), "azure": ("openai", "your Azure OpenAI deployments"),
             "anthropic": ("anthropic", "Anthropic's Message Batches API")}  # name -> (family it runs, where)


def family_of(model: str) -> str | None:
    """The provider whose own family `model` is plainly named in ("openai", "anthropic"), or None."""
    return next((name for name, (_, pattern) in FAMILIES.items() if pattern.match(model.strip())), None)


def foreign_model(cfg: Config, model: str, *, own_service: bool, where: str = "") -> str | None:
    """Why `model` cannot go to cfg's provider (a phrase naming `where` the provider was set), or None: a
    name of the other provider's family would fail there and be priced as the other's. Final on the
    provider's own service (`own_service`); where names are the user's (an Azure deployment, a gateway at
    a base URL) it passes once priced under `prices:`, which says that this service runs it at that price."""
    provider, family = cfg.provider.name, family_of(model)
    runs, service = PROVIDERS[provider]
    if family is None or family == runs or (not own_service and model in cfg.prices):
        return None
    sent = (f"which sends every request to {service}" if own_service or provider == "azure"
            else "which sends every request in that API's format to the service at its base URL")
    use = ("set provider.name: anthropic to review with Claude, or choose an OpenAI model" if family == "anthropic"
           else "set provider.name: openai to use it, or set model to a Claude model (e.g. claude-haiku-4-5)")
    if not own_service:
        use += (f"; if {'one of your deployments' if provider == 'azure' else 'that service'} runs it under this "
                "name, price it under prices: to send it there")
    return f"{model!r} is {FAMILIES[family][0]}, but provider.name is {provider}{where}, {sent}; {use}"
