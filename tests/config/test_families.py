"""config.models: which provider a model name plainly belongs to, and when that refuses it (pure)."""

from __future__ import annotations

import pytest

from batch_review.config.families import family_of, foreign_model
from batch_review.config.models import Config


@pytest.mark.parametrize(("model", "family"), [
    ("gpt-5-mini", "openai"), ("GPT-4o", "openai"), ("gpt-4o-2024-08-06", "openai"), ("chatgpt-4o-latest", "openai"),
    ("o3", "openai"), ("o4-mini", "openai"), ("o1-preview", "openai"), ("codex-mini-latest", "openai"),
    ("computer-use-preview", "openai"), ("ft:gpt-4o-mini:acme::x", "openai"), (" gpt-5 ", "openai"),
    ("claude-sonnet-4-5", "anthropic"), ("Claude-3-5-Sonnet-20241022", "anthropic"), ("claude-2.1", "anthropic"),
    # nobody's own: open weights, other vendors, gateway aliases, deployment names, look-alikes
    ("gpt-oss-120b", None), ("llama-3.1-70b", None), ("mistral-large", None), ("anthropic/claude-sonnet-4.5", None),
    ("my-gpt-deployment", None), ("omni-moderation-latest", None), ("o3x", None), ("claudette", None),
])
def test_family_of(model, family):
    assert family_of(model) == family


def config(text: dict) -> Config:
    return Config.model_validate(text)


def test_the_providers_own_family_and_unclaimed_names_pass():
    openai, anthropic = config({}), config({"provider": {"name": "anthropic"}})
    for own in (True, False):
        assert foreign_model(openai, "gpt-5", own_service=own) is None
        assert foreign_model(openai, "llama-3.1-70b", own_service=own) is None
        assert foreign_model(anthropic, "claude-haiku-4-5", own_service=own) is None
        assert foreign_model(anthropic, "gpt-oss-120b", own_service=own) is None


def test_a_price_lets_another_family_through_only_where_names_are_the_users():
    priced = config({"prices": {"claude-haiku-4-5": {"input": 1, "output": 1}}})
    assert foreign_model(priced, "claude-haiku-4-5", own_service=True) is not None  # OpenAI runs no Claude
    assert foreign_model(priced, "claude-haiku-4-5", own_service=False) is None  # a gateway that says it does
    assert foreign_model(priced, "claude-opus-4-5", own_service=False) is not None  # another name: unpriced
    azure = config({"provider": {"name": "azure"}, "prices": {"claude-x": {"input": 1, "output": 1}}})
    assert foreign_model(azure, "claude-x", own_service=False) is None
    assert "your Azure OpenAI deployments" in foreign_model(azure, "claude-y", own_service=False)


def test_the_phrase_names_model_provider_and_what_to_change():
    phrase = foreign_model(config({"provider": {"name": "anthropic"}}), "o3", own_service=True, where=" (in x.yml)")
    assert phrase == ("'o3' is an OpenAI model, but provider.name is anthropic (in x.yml), which sends every request "
                      "to Anthropic's Message Batches API; set provider.name: openai to use it, or set model to a "
                      "Claude model (e.g. claude-haiku-4-5)")
    gateway = foreign_model(config({}), "claude-haiku-4-5", own_service=False)
    assert "in that API's format to the service at its base URL" in gateway
    assert gateway.endswith("if that service runs it under this name, price it under prices: to send it there")
