"""clients.py: the key rule (which variables may hold the provider's key) and the provider's base URL."""

from __future__ import annotations

import pytest

from batch_review.cli import clients
from batch_review.cli.runtime import Settings
from batch_review.core.errors import UsageError

from .test_runtime import ENV, provider


def test_the_key_rule_names_the_variables_to_set():
    settings = Settings.from_environ({**ENV, "OPENAI_API_KEY": ""})
    with pytest.raises(UsageError, match=r"^OPENAI_API_KEY is not set \(the action's openai-api-key input\); why$"):
        clients.api_key(provider(), settings, why="why")
    azure = Settings.from_environ({**ENV, "OPENAI_API_KEY": "", "AZURE_OPENAI_API_KEY": "azure-key-0123"})
    assert clients.api_key(provider("azure"), azure) == "azure-key-0123"


def test_the_provider_url_comes_from_the_config_then_the_environment():
    settings = Settings.from_environ({"OPENAI_BASE_URL": "http://127.0.0.1:9/v1/", "AZURE_OPENAI_ENDPOINT": ""})
    assert clients.provider_base_url(provider(), settings) == "http://127.0.0.1:9/v1"
    assert clients.provider_base_url(provider(base_url="https://x.test/v1"), settings) == "https://x.test/v1"
    with pytest.raises(UsageError, match="AZURE_OPENAI_ENDPOINT"):
        clients.provider_base_url(provider("azure"), settings)
