"""runtime.py: settings read once from the environment, and the one rule per setting built on them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from batch_review.cli import runtime
from batch_review.cli.runtime import Settings
from batch_review.core.errors import UsageError

ENV = {"GITHUB_TOKEN": "ghs_token0123456789", "GITHUB_REPOSITORY": "acme/widgets", "GITHUB_ACTIONS": "true",
       "GITHUB_SERVER_URL": "https://ghe.example/", "OPENAI_API_KEY": "  sk-key0123456789  ",
       "AZURE_OPENAI_API_KEY": "", "BATCH_REVIEW_HTTP_TIMEOUT": "7.5"}


def provider(name: str = "openai", **kw) -> SimpleNamespace:
    fields = {"name": name, "base_url": None, "azure_endpoint": None, "api_version": "2025-03-01-preview"}
    return SimpleNamespace(provider=SimpleNamespace(**{**fields, **kw}))


def test_settings_are_read_once_and_later_changes_do_not_leak_in():
    env = dict(ENV)
    settings = Settings.from_environ(env)
    env["OPENAI_API_KEY"] = "sk-changed-later-000"
    assert settings.keys == {"OPENAI_API_KEY": "sk-key0123456789"}  # stripped; the blank Azure key is absent
    assert settings.in_actions and settings.github_server_url == "https://ghe.example"
    assert runtime.http_timeout(settings, 30) == 7.5 and runtime.http_timeout(Settings(), 30) == 30


def test_secrets_stay_out_of_the_settings_repr():
    text = repr(Settings.from_environ(ENV))
    assert "ghs_token" not in text and "sk-key" not in text and "acme/widgets" in text


def test_a_bad_timeout_is_one_line_naming_the_variable():
    with pytest.raises(UsageError, match=r"^BATCH_REVIEW_HTTP_TIMEOUT: 'soon' is not a number of seconds$"):
        runtime.http_timeout(Settings.from_environ({"BATCH_REVIEW_HTTP_TIMEOUT": "soon"}), 30)
